// Retention (../shared/spec/EVENTS.md "Retention"): a tenant's events older than its plan's window
// leave the log. Queries and exports hide them from the moment they pass the window (the API bounds
// every read by the cutoff); the purge reclaims the space later, in the background or on
// request.
//
// A purge of tenant T as of time A, with cutoff C = A − retention_days:
//   1. nothing under legal hold;
//   2. the events to purge are tenant_seq first..last, the ones with time < C (found through
//      the audit index's time keys), never past the Kafka relay's delivery cursor;
//   3. `audit.retention_purged` {cutoff, count, first_tenant_seq, last_tenant_seq, anchor} is
//      appended — with a snapshot of T's state in the same batch — before anything is
//      deleted: the anchor (hash of event `last`) is where an export of what remains picks
//      up the chain, and the snapshot is where a rebuild of T's state starts;
//   4. one range delete of T's events [first, last]; the audit index's entries below the new
//      first event are dropped by compaction. Writers never wait on either.
// A crash between 3 and 4 leaves the events in place; the next purge records and deletes
// them again.
//
// Thread-safety: every method may be called from any thread; Start runs one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/event_log.h"
#include "core/kv_store.h"
#include "core/result.h"
#include "projections/audit_index.h"
#include "projections/identity_service.h"
#include "projections/internal/periodic.h"

namespace custos::projections {

// The start of the retention window as of `as_of`: older events are invisible to readers and
// purged by the next run.
[[nodiscard]] inline core::Time RetentionCutoff(core::Time as_of, int retention_days) {
  return as_of - std::chrono::hours(24) * retention_days;
}

// The Kafka relay's checkpoint: a purge never removes what it has not delivered.
inline constexpr std::string_view kRelayCheckpoint = "kafka";
// (The webhook sink's is projections/webhook_sink.h kWebhookCheckpoint.)

struct PurgeOutcome {
  core::Time cutoff;
  bool legal_hold = false;
  uint64_t purged = 0;
  uint64_t first_tenant_seq = 0;  // of the purged range, when purged > 0
  uint64_t last_tenant_seq = 0;
  std::string anchor;  // hash of the last purged event
  uint64_t seq = 0;    // the seq of the audit.retention_purged record, when one was appended
};

class Retention {
 public:
  // `sinks`: the checkpoints of the sinks that deliver the log now (the Kafka relay's
  // kRelayCheckpoint, the webhook's kWebhookCheckpoint). A purge never passes any of their
  // cursors; with a sink on and no cursor yet, nothing is purged. The cursor of a sink that is
  // off holds nothing: retention is an obligation, and a sink switched off delivers no more.
  Retention(IdentityService& identity, core::EventLog& log, const core::KvStore& kv,
            const AuditIndex& audit, const core::Clock& clock, std::vector<std::string> sinks = {})
      : identity_(identity),
        log_(log),
        kv_(kv),
        audit_(audit),
        clock_(clock),
        sinks_(std::move(sinks)) {}
  ~Retention();
  Retention(const Retention&) = delete;
  Retention& operator=(const Retention&) = delete;

  // Purges what is past the tenant's window as of `as_of`.
  [[nodiscard]] core::Result<PurgeOutcome> Purge(const core::TenantId& tenant, core::Time as_of);
  // Purges every tenant as of now; returns the number of events purged.
  [[nodiscard]] core::Result<uint64_t> PurgeAll();

  // A reader that must see a tenant's stream without holes (an export) holds it: a purge of
  // the tenant refuses to start meanwhile (kUnavailable, retried at the next interval), and
  // Hold waits for a purge in progress to end.
  class Lease {
   public:
    Lease(Retention& r, std::string tenant) : r_(&r), tenant_(std::move(tenant)) {}
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

   private:
    Retention* r_;
    std::string tenant_;
  };
  [[nodiscard]] std::unique_ptr<Lease> Hold(const core::TenantId& tenant);

  // Runs PurgeAll every `interval` on a thread of its own until Stop (or destruction).
  void Start(std::chrono::milliseconds interval);
  void Stop();

  // Since start: purges that removed events, the events they removed, and runs that failed.
  struct Stats {
    uint64_t purges = 0;
    uint64_t purged_events = 0;
    uint64_t failures = 0;
  };
  [[nodiscard]] Stats stats() const {
    return Stats{purges_.load(), purged_events_.load(), failures_.load()};
  }

  // Called between a purge's durable record and its deletion: for tests, to set a legal hold
  // exactly there.
  void SetAfterRecordForTest(std::function<void()> hook) { after_record_ = std::move(hook); }

 private:
  // Purge without the counting.
  [[nodiscard]] core::Result<PurgeOutcome> PurgeOnce(const core::TenantId& tenant,
                                                     core::Time as_of);
  // The last tenant_seq in [first, last] whose seq is at most `seq`, if any.
  [[nodiscard]] core::Result<std::optional<uint64_t>> LastDeliveredUpTo(
      const core::TenantId& tenant, uint64_t first, uint64_t last, uint64_t seq) const;

  IdentityService& identity_;
  core::EventLog& log_;
  const core::KvStore& kv_;
  const AuditIndex& audit_;
  const core::Clock& clock_;
  const std::vector<std::string> sinks_;
  std::function<void()> after_record_;
  std::atomic<uint64_t> purges_{0};
  std::atomic<uint64_t> purged_events_{0};
  std::atomic<uint64_t> failures_{0};
  std::mutex purge_mu_;  // one purge at a time
  std::mutex holds_mu_;
  std::condition_variable holds_cv_;
  std::unordered_map<std::string, int> holds_;  // tenant → readers holding it
  std::string purging_;                         // the tenant being purged, if any
  internal::Periodic periodic_;
};

}  // namespace custos::projections
