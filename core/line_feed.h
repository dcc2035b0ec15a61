// LineFeed: the port through which a follower reads the leader's audit topic (the stored lines,
// key = tenant). The adapter is storage::KafkaFeed (librdkafka); the follower
// (projections/follower.h) checks the chains, applies, and keeps the positions in its own store.
//
// Positions are per partition: the offset of the next record to read. Records of one partition
// come in offset order.
//
// Authenticated records: the chain proves a line follows the one before it, not who wrote it
// (anyone can hash). With a replication key shared by the leader and its followers, the leader's
// relay adds to each audit record a header `custos-mac`, the hex HMAC-SHA256 under that key of
// the record's key (the tenant) and its line (RecordMac), and a follower holding the key skips a
// record without the right one: only a holder of the key can add to a chain on the topic, or
// move a line to another tenant's key.
//
// Thread-safety: one thread drives a LineFeed (Start, Poll); Lag and Reachable from any.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/sha256.h"

namespace custos::core {

inline constexpr std::string_view kRecordMacHeader = "custos-mac";

// The `custos-mac` of a record (its Kafka key, the tenant, and its line) under the replication
// key: 64 lowercase hex digits, HMAC-SHA256 of "custos-record-v1\0" TENANT "\0" LINE.
[[nodiscard]] inline std::string RecordMac(std::string_view replication_key,
                                           std::string_view tenant, std::string_view line) {
  constexpr std::string_view kNul("\0", 1);
  return DigestHex(HmacSha256(replication_key, {"custos-record-v1", kNul, tenant, kNul, line}));
}

struct FeedRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  std::string mac;  // the record's custos-mac header (empty: none)
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
