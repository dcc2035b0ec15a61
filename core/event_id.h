// Time-ordered event ids: "evt_" + 32 lowercase hex digits of a UUIDv7 (RFC 9562).
//
// The generator is monotonic: ids it makes sort (as strings) in the order they were made,
// also within one millisecond and when the wall clock steps back, using the 12 bits of
// rand_a and the top 30 bits of rand_b as a counter (RFC 9562 §6.2, method 1).
//
// Thread-safety: Next() is not synchronized; the log's single committing thread owns one.
#pragma once

#include <cstdint>
#include <random>

#include "core/ids.h"
#include "core/time.h"

namespace custos::core {

class EventIdGenerator {
 public:
  EventIdGenerator();

  // An id whose timestamp is max(now, the last one used).
  [[nodiscard]] EventId Next(Time now);

 private:
  std::mt19937_64 rng_;
  int64_t last_ms_ = 0;
  uint64_t counter_ = 0;  // 42 bits
};

// True for "evt_" followed by a version-7, variant-10 UUID in 32 lowercase hex digits.
[[nodiscard]] bool IsValidEventId(std::string_view id);
// The millisecond timestamp inside a valid event id.
[[nodiscard]] Time EventIdTime(std::string_view id);

}  // namespace custos::core
