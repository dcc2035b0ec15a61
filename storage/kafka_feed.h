// KafkaFeed: the follower's reader of the leader's audit topic (core::LineFeed) on librdkafka.
// Every partition is assigned to this one consumer (no group balancing: each follower reads the
// whole topic), at the offsets the follower stored; nothing is committed for it to resume from.
// `group` names the consumer to the brokers; nothing is committed to it (the follower's
// offsets live in its store, in the batch of what they applied).
//
// Thread-safety: as core::LineFeed.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/line_feed.h"

namespace custos::storage {

struct KafkaFeedOptions {
  std::string brokers;  // bootstrap servers, HOST:PORT,…
  std::string topic = "custos.audit.v1";
  std::string group = "custos-follower";
  // Further librdkafka properties (security.protocol, sasl.*, ssl.*, …), applied last.
  std::vector<std::pair<std::string, std::string>> properties;
};

class KafkaFeed final : public core::LineFeed {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<KafkaFeed>> Create(KafkaFeedOptions options);
  ~KafkaFeed() override;
  KafkaFeed(const KafkaFeed&) = delete;
  KafkaFeed& operator=(const KafkaFeed&) = delete;

  [[nodiscard]] core::Status Start(const std::map<int32_t, int64_t>& next) override;
  [[nodiscard]] core::Result<std::vector<core::FeedRecord>> Poll(
      size_t max, std::chrono::milliseconds timeout) override;
  [[nodiscard]] std::optional<uint64_t> Lag() const override;
  // False after a transport error, or when no broker has sent anything for 3 s (they are
  // fetched from every 10 ms).
  [[nodiscard]] bool Reachable() const override;

 private:
  struct Impl;
  explicit KafkaFeed(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> reachable_{false};
};

}  // namespace custos::storage
