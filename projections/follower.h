// Follower: a read replica's writer (../shared/spec/REPLICATION.md). It reads the leader's audit
// topic through a core::LineFeed, checks each tenant's chain as it goes, and stores what follows
// — the lines byte for byte, the identity state they make (IdentityService::ApplyReplicated, the
// same projection as the leader's), the feed's offsets — in one synced batch per poll. The audit
// index follows the local log as it does on a leader.
//
// Per tenant, a record is:
// - a duplicate (the relay delivers at least once) when its tenant_seq is at or below the
//   tenant's head: skipped;
// - the tenant's next when it verifies (core::VerifyLine), has tenant_seq one more than the head
//   and prev_hash the head's hash: applied;
// - anything else halts the tenant: nothing more of it is applied, the reason is stored (so a
//   restart keeps it halted), logged, and reported by stats(); the other tenants go on.
// A record whose key or line names no tenant is logged and skipped; with a replication key, so
// is a record without the right custos-mac (core/line_feed.h), and it is counted.
//
// Root token revocations on the node's own chain take effect (Credentials) before their batch
// is written; after it is durable, a retention record deletes what it says the leader purged, unless the
// tenant's state at that point holds it (legal hold, a longer window), as the leader's does.
// The record is marked in the batch that stores it and unmarked once its purge is made, so a
// purge a stop, a crash or a failed write left undone is made at the next Start.
//
// A failed write (the disk) stores nothing: the feed goes back to the stored offsets and the
// batch is read again after a pause.
//
// Thread-safety: Start and Stop from one thread; the rest from any.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/event_log.h"
#include "core/histogram.h"
#include "core/kv_store.h"
#include "core/line_feed.h"
#include "core/result.h"
#include "projections/credentials.h"
#include "projections/identity_service.h"

namespace custos::projections {

struct FollowerOptions {
  size_t max_batch = 8192;                // records per poll and per write
  std::chrono::milliseconds poll{100};    // the longest wait for a record
  std::chrono::milliseconds retry{1000};  // the pause after a failed write or start
  // With a key: a record without its custos-mac under it (core::RecordMac) is not the leader's
  // and is skipped, before its line is read: only a holder of the key (the leader's relay)
  // adds to a chain.
  std::string replication_key;
};

struct FollowerStats {
  uint64_t applied_seq = 0;            // the highest leader seq applied
  uint64_t applied = 0;                // records applied since start
  uint64_t duplicates = 0;             // records skipped as already applied, since start
  uint64_t unauthenticated = 0;        // records skipped for want of the custos-mac, since start
  std::optional<uint64_t> lag_events;  // records in the topic not read yet (unknown: nullopt)
  // While lagging: now minus the last applied event's time; with the brokers away, at least
  // now minus when the follower last had the whole topic.
  double lag_seconds = 0;
  bool reachable = false;                     // a broker answered within the last few seconds
  std::map<std::string, std::string> halted;  // tenant → why
};

class Follower {
 public:
  Follower(IdentityService& identity, core::EventLog& log, core::KvStore& kv,
           Credentials& credentials, core::LineFeed& feed, const core::Clock& clock,
           FollowerOptions options = {});
  ~Follower();
  Follower(const Follower&) = delete;
  Follower& operator=(const Follower&) = delete;

  // Reads the stored offsets and halted tenants, and starts following on a thread of its own.
  [[nodiscard]] core::Status Start();
  void Stop();

  [[nodiscard]] FollowerStats stats() const;
  // Why the tenant is halted; nullopt when it is not.
  [[nodiscard]] std::optional<std::string> HaltedWhy(const core::TenantId& tenant) const;
  // Waits until the tenant's chain has applied an event of leader seq `seq` or later — or, for
  // a tenant with nothing that recent, until the follower has read the whole topic as it was
  // when the wait began and applied it (kUnavailable when `timeout` passes first).
  [[nodiscard]] core::Status WaitApplied(const core::TenantId& tenant, uint64_t seq,
                                         std::chrono::milliseconds timeout) const;

  // Replication lag of each applied event, in milliseconds: when its batch was durable here
  // minus the event's time on the leader (1 ms buckets up to 10 s).
  [[nodiscard]] const core::Histogram& lag_ms() const { return lag_ms_; }

  // The stored positions: partition → the offset of the next record to apply.
  [[nodiscard]] static core::Result<std::map<int32_t, int64_t>> StoredOffsets(
      const core::KvStore& kv);

 private:
  struct Batch;
  void Run();
  // Reads, checks, and stores one poll's worth; false when nothing was read.
  core::Result<bool> Step();
  void Halt(Batch& batch, const std::string& tenant, const std::string& why);
  // Whether a record at or below the tenant's head is a copy of the line applied there.
  [[nodiscard]] core::Result<bool> SameAsApplied(const std::string& tenant,
                                                 const core::TenantHead& head,
                                                 const core::LineFields& f) const;
  // A retention record's purge, once the record is stored: the events it names must be this
  // chain's (the anchor is the hash of the last) and older than its cutoff, or nothing is
  // deleted.
  void PurgeAfter(const std::string& tenant, std::string_view line);
  [[nodiscard]] core::Status Purge(const std::string& tenant, std::string_view line);

  IdentityService& identity_;
  core::EventLog& log_;
  core::KvStore& kv_;
  Credentials& credentials_;
  core::LineFeed& feed_;
  const core::Clock& clock_;
  const FollowerOptions options_;

  std::thread thread_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;  // stop_, and each applied batch
  // Under mu_.
  std::map<std::string, std::string> halted_;
  std::map<std::string, uint64_t> tenant_seq_;  // tenant → the highest leader seq applied
  uint64_t applied_seq_ = 0;
  uint64_t applied_ = 0;
  uint64_t duplicates_ = 0;
  uint64_t unauthenticated_ = 0;
  uint64_t batches_ = 0;       // batches stored (and polls that found nothing), since start
  core::Time last_time_{};     // the last applied event's time
  core::Time last_current_{};  // when it last had the whole topic, brokers answering
  core::Histogram lag_ms_;
};

}  // namespace custos::projections
