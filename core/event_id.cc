#include "core/event_id.h"

#include <string>

#include "core/hex.h"

namespace custos::core {
namespace {

constexpr uint64_t kCounterBits = 42;
constexpr uint64_t kCounterLimit = uint64_t{1} << kCounterBits;

}  // namespace

EventIdGenerator::EventIdGenerator() : rng_(std::random_device{}()) {}

EventId EventIdGenerator::Next(Time now) {
  int64_t ms = ToUnixMillis(now);
  if (ms > last_ms_) {
    last_ms_ = ms;
    // Start each millisecond at a random point of the lower half, leaving room to count.
    counter_ = rng_() & ((kCounterLimit >> 1) - 1);
  } else if (++counter_ == kCounterLimit) {
    ++last_ms_;  // borrow the next millisecond rather than wrap
    counter_ = rng_() & ((kCounterLimit >> 1) - 1);
  }
  ms = last_ms_;
  const uint64_t rand_a = counter_ >> 30;                    // 12 bits
  const uint64_t counter_low = counter_ & ((1u << 30) - 1);  // 30 bits
  const uint64_t hi = (static_cast<uint64_t>(ms) << 16) | (uint64_t{7} << 12) | rand_a;
  const uint64_t lo = (uint64_t{0b10} << 62) | (counter_low << 32) | (rng_() & 0xffffffffu);
  unsigned char bytes[16];
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<unsigned char>(hi >> (56 - 8 * i));
    bytes[8 + i] = static_cast<unsigned char>(lo >> (56 - 8 * i));
  }
  std::string id = "evt_";
  id.reserve(36);
  AppendHex(id, bytes, sizeof bytes);
  return EventId(std::move(id));
}

bool IsValidEventId(std::string_view id) {
  if (id.size() != 36 || id.substr(0, 4) != "evt_" || !IsLowerHex(id.substr(4))) return false;
  const char version = id[4 + 12];
  const char variant = id[4 + 16];
  return version == '7' && (variant == '8' || variant == '9' || variant == 'a' || variant == 'b');
}

Time EventIdTime(std::string_view id) {
  int64_t ms = 0;
  for (char c : id.substr(4, 12)) {
    ms = ms * 16 + (c <= '9' ? c - '0' : c - 'a' + 10);
  }
  return FromUnixMillis(ms);
}

}  // namespace custos::core
