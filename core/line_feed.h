// LineFeed: the port through which a follower reads the leader's audit topic (the stored lines,
// key = tenant). The adapter is storage::KafkaFeed (librdkafka); the follower
// (projections/follower.h) checks the chains, applies, and keeps the positions in its own store.
//
// Positions are per partition: the offset of the next record to read. Records of one partition
// come in offset order.
//
// Thread-safety: one thread drives a LineFeed (Start, Poll); Lag and Reachable from any.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace custos::core {

struct FeedRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
};

class LineFeed {
 public:
  virtual ~LineFeed() = default;

  // (Re)starts reading every partition of the topic: each from its offset in `next`, or from
  // its beginning. Records polled before and not applied are read again.
  [[nodiscard]] virtual Status Start(const std::map<int32_t, int64_t>& next) = 0;
  // Up to `max` records, waiting at most `timeout` for them; none is an answer too.
  [[nodiscard]] virtual Result<std::vector<FeedRecord>> Poll(size_t max,
                                                             std::chrono::milliseconds timeout) = 0;
  // Records in the topic not returned by Poll yet (the partitions' ends minus the positions),
  // as last learnt from the brokers; nullopt before anything is known.
  [[nodiscard]] virtual std::optional<uint64_t> Lag() const = 0;
  // False while no broker answers.
  [[nodiscard]] virtual bool Reachable() const = 0;
};

}  // namespace custos::core
