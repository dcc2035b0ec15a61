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
// `offset` moves it forward by a fixed amount: `custos serve --clock-offset`, for drills and
// end-to-end tests of what happens after weeks (inactivity reviews, secret age).
class SystemClock final : public Clock {
 public:
  explicit SystemClock(std::chrono::milliseconds offset = {}) : offset_(offset) {}
  [[nodiscard]] Time Now() const override;

 private:
  std::chrono::milliseconds offset_;
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
