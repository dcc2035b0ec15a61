// The Clock port: where "now" comes from. The server uses SystemClock; tests use FakeClock
// to move time (retention windows, expiry, lockout) without waiting.
//
// Thread-safety: both implementations may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>

#include "core/time.h"

namespace custos::core {

class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual Time Now() const = 0;
};

// The wall clock, in milliseconds. It may step back; the log keeps event times monotonic.
class SystemClock final : public Clock {
 public:
  [[nodiscard]] Time Now() const override;
};

// A clock that moves only when told to.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Time start) : now_ms_(ToUnixMillis(start)) {}

  [[nodiscard]] Time Now() const override { return FromUnixMillis(now_ms_.load()); }
  void Set(Time t) { now_ms_.store(ToUnixMillis(t)); }
  void Advance(std::chrono::milliseconds d) { now_ms_.fetch_add(d.count()); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace custos::core
