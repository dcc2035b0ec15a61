// SpdlogLogger: the core::log::Logger `custos serve` installs — spdlog writing one line per
// message to stderr, as text ("2026-12-01T02:31:52.123Z info listening on … tenant=acme") or
// as JSON lines ({"time","level","msg", and each field as a member}), from `--log-level` up.
// librdkafka's own log lines come through it too (KafkaLogCallback in kafka_producer.cc).
//
// Lines are written by a thread of the logger's own: a caller formats its line and queues
// it, and never waits for stderr — a slow reader of the log (a full pipe, a stalled
// journald) holds no request. Past kMaxQueued lines waiting, info and debug lines are dropped
// (and counted); warnings and errors are always kept.
//
// Thread-safety: Write from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

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
  // Returns once every line queued before it is written.
  void Flush();
  // Info and debug lines dropped because too many were waiting.
  [[nodiscard]] uint64_t dropped() const;

  static constexpr size_t kMaxQueued = 16384;

 private:
  void WriteLoop();

  LogOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::deque<std::pair<core::log::Level, std::string>> queue_;
  bool writing_ = false;
  bool stop_ = false;
  bool flush_wanted_ = false;
  static constexpr std::chrono::milliseconds kGather{20};
  uint64_t dropped_ = 0;
  std::thread writer_;  // last: started once the rest is ready
};

}  // namespace custos::storage
