// Relay: a consumer of the log that publishes every event to Kafka (../shared/spec/EVENTS.md
// "Kafka"): the stored line to the audit topic, its OCSF record (core/audit_formats.h) to the OCSF
// topic, key = tenant id, headers `type`, `tenant`, `schema`.
//
// Delivery is at-least-once and in log order per tenant. The relay's cursor (the checkpoint
// `kafka`, which retention never purges past) is the last seq whose messages were both
// delivered, and every seq before it too: it moves only on delivery reports, contiguously.
// At most `max_in_flight` events are sent and not yet acknowledged. A failed delivery drops
// what is in flight and sends again from the cursor (the topic may then hold an event twice,
// never out of order per tenant); a restart resumes from the stored cursor. The relay runs on
// a thread of its own and only reads the log: a broker away never blocks or slows a write.
//
// Thread-safety: Start and Stop from one thread; stats, WaitDelivered and the lag histogram
// from any.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/event_log.h"
#include "core/kv_store.h"
#include "core/publisher.h"
#include "core/result.h"
#include "core/thread_annotations.h"

namespace custos::projections {

struct RelayOptions {
  std::string audit_topic = "custos.audit.v1";
  std::string ocsf_topic = "custos.audit.ocsf.v1";
  size_t max_in_flight = 20000;  // events sent and not yet acknowledged
  std::string product_version;   // metadata.product.version of the OCSF records
  // Deliver the whole log from its start, whatever the stored cursor: the embedded dev cluster
  // (`--kafka embedded`) holds nothing at a start, and a follower needs every event.
  bool from_start = false;
  // With a key: each audit record carries its custos-mac under it (core::RecordMac), so that
  // followers holding the key take lines from this relay only.
  std::string replication_key;
};

struct RelayStats {
  uint64_t cursor = 0;      // the last seq delivered, with all before it
  uint64_t lag_events = 0;  // events appended and not yet delivered
  double lag_seconds = 0;   // age of the oldest event not yet delivered (0 when none)
  uint64_t delivered = 0;   // events delivered since start
  uint64_t resends = 0;     // times the relay went back to its cursor after a failure
  bool reachable = false;   // a broker answers
};

class Relay {
 public:
  Relay(const core::EventLog& log, core::KvStore& kv, core::Publisher& publisher,
        const core::Clock& clock, RelayOptions options);
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Reads the cursor and starts publishing from the event after it.
  [[nodiscard]] core::Status Start();
  // Gives what is in flight a moment (up to `drain`) to be acknowledged, stores the cursor
  // and stops.
  void Stop(std::chrono::milliseconds drain = std::chrono::milliseconds(2000));

  [[nodiscard]] RelayStats stats() const;
  // Waits until the cursor reaches `seq` (kUnavailable when `timeout` passes first).
  [[nodiscard]] core::Status WaitDelivered(core::Seq seq, std::chrono::milliseconds timeout) const;

  // Delivery lag of each event (delivery report minus the event's time), in milliseconds:
  // the p-th percentile (0 < p ≤ 1) of what was recorded since the last ResetLag.
  [[nodiscard]] double LagPercentileMs(double p) const;
  void ResetLag();

 private:
  struct Pending {
    uint64_t seq = 0;
    int64_t time_ms = 0;
    int remaining = 2;  // messages of this event not yet acknowledged
  };
  // What the messages of one event need beyond its stored line.
  struct Rendered {
    std::string_view type;  // into the line
    int64_t time_ms = 0;
    std::string ocsf;
    std::string mac;    // custos-mac, with a replication key
    std::string error;  // why the line could not be read, if it could not
  };
  // A page of the log and its renderings (filled by Render, possibly on another thread).
  struct Page {
    std::vector<core::StoredEvent> events;
    std::vector<Rendered> rendered;
    std::future<void> rendering;
  };
  void Run();
  // Fills page.rendered; never throws (an exception marks the rest of the page failed).
  void Render(Page& page) const;
  void RenderFrom(Page& page, size_t& i) const;
  void StoreCursor(uint64_t cursor);
  void RecordLag(int64_t ms);

  const core::EventLog& log_;
  core::KvStore& kv_;
  core::Publisher& publisher_;
  const core::Clock& clock_;
  const RelayOptions options_;

  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::chrono::milliseconds drain_{0};

  // Every field the relay thread shares is atomic: mu_ guards no data, only the waits on
  // delivered_cv_ (WaitForDelivery, the backoffs that Stop interrupts).
  mutable core::Mutex mu_;
  mutable std::condition_variable_any delivered_cv_;
  std::atomic<uint64_t> cursor_{0};
  std::atomic<int64_t> oldest_pending_ms_{0};  // 0 when nothing is pending
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> resends_{0};

  static constexpr size_t kLagBuckets = 10001;  // 1 ms each; the last holds ≥ 10 s
  std::array<std::atomic<uint64_t>, kLagBuckets> lag_ms_{};
};

}  // namespace custos::projections
