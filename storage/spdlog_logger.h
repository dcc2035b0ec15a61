// SpdlogLogger: the core::log::Logger `custos serve` installs — spdlog writing one line per
// message to stderr, as text ("2026-12-01T02:31:52.123Z info listening on … tenant=acme") or
// as JSON lines ({"time","level","msg", and each field as a member}), from `--log-level` up.
// librdkafka's own log lines come through it too (KafkaLogCallback in kafka_producer.cc).
//
// Thread-safety: Write from any thread (spdlog's _mt sink).
#pragma once

#include <memory>

#include "core/log.h"

namespace spdlog {
class logger;
}

namespace custos::storage {

struct LogOptions {
  bool json = false;
  core::log::Level level = core::log::Level::kInfo;
};

class SpdlogLogger final : public core::log::Logger {
 public:
  explicit SpdlogLogger(LogOptions options);
  ~SpdlogLogger() override;

  void Write(core::log::Level level, std::string_view message,
             std::initializer_list<core::log::Field> fields) override;
  [[nodiscard]] bool Enabled(core::log::Level level) const override {
    return level >= options_.level;
  }

 private:
  LogOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace custos::storage
