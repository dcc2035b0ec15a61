// EventLog: the port of the durable, hash-chained event log — the source of truth.
//
// Append assigns each event its id, seq, tenant_seq, time, prev_hash and hash, writes the
// events, their index keys and the request's side writes in one atomic batch, fsyncs it, and
// only then returns. Concurrent appends are gathered into one batch and one fsync (group
// commit); each caller gets its own result. A request whose expected_tenant_seq is stale
// fails with kConflict and writes nothing; the others in its group are unaffected.
//
// AppendAsync is the same without blocking the caller (for I/O threads, which must never
// wait for an fsync): a request refused before it is queued (invalid, or the log closing) is
// answered by the returned Status, and `done` is never called; otherwise `done` runs once,
// on the log's commit thread, after the fsync — never inside AppendAsync, so a caller may hold
// its own locks across the call. It must be quick and must not block (post the result
// elsewhere).
//
// Event time is the server's clock, never decreasing within a tenant. An appender that derives
// state from the time (the identity service: created_at, expiries) decides it and passes it
// as `time`, so that replaying the events gives that state again; the log never lets it go
// below the tenant's last event.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/ids.h"
#include "core/kv_store.h"
#include "core/result.h"
#include "core/time.h"

namespace custos::core {

struct AppendRequest {
  TenantId tenant;
  // At least one; appended contiguously, in order. Rendered (and so validated) by the caller,
  // on its own thread.
  std::vector<RenderedDraft> events;
  // The tenant's tenant_seq this request was decided on (0 for a tenant with no events).
  std::optional<TenantSeq> expected_tenant_seq;
  // Written in the same atomic batch as the events (credential hashes, for instance).
  KvBatch side_writes;
  // If set, this consumer's checkpoint is set to the request's last seq in the same batch
  // (a projection whose side writes are its data).
  std::string checkpoint;
  // The events' time as the appender decided it; the log's clock when unset. Raised to the
  // tenant's last event time if below it.
  std::optional<Time> time;
  // May use the free space the log keeps back from appends (StoreOptions::reserve_bytes): only
  // for what frees space (a retention purge's record, which must be written before the purge).
  bool use_reserve = false;
};

struct AppendedEvent {
  EventId id;
  Seq seq;
  TenantSeq tenant_seq;
  Time time;
  std::string hash;
  std::string line;  // the stored canonical line
};

struct StoredEvent {
  Seq seq;
  TenantId tenant;
  TenantSeq tenant_seq;
  std::string line;
};

// The last event of a tenant's chain.
struct TenantHead {
  TenantSeq tenant_seq;
  std::string hash;
  Time time;
};

// A follower's write (EventLog::AppendReplicated): lines another node's log made.
struct ReplicatedChain {
  TenantId tenant;
  std::vector<std::string> lines;  // the tenant's next lines, in tenant_seq order
};
struct ReplicatedWrite {
  std::vector<ReplicatedChain> chains;  // at most one per tenant
  // Written in the same batch: what the lines change (state records), the feed's offsets.
  KvBatch side_writes;
};

using AppendResult = Result<std::vector<AppendedEvent>>;
using AppendCallback = std::function<void(AppendResult)>;

class EventLog {
 public:
  virtual ~EventLog() = default;

  [[nodiscard]] virtual AppendResult Append(AppendRequest request) = 0;
  [[nodiscard]] virtual Status AppendAsync(AppendRequest request, AppendCallback done) = 0;
  // A follower's append: stores lines another node's log made — their ids, seqs, times and
  // hashes as they are — as each tenant's next, with the side writes, in one synced batch;
  // each line also takes this log's own next seq, which orders this node's readers (the line's
  // `seq` stays the leader's). The caller has verified each line (core::VerifyLine: the
  // canonical form of its whole text is not checked again here); each must still have its own
  // hash (core::VerifyLineHash), name its chain's tenant and follow the tenant's head
  // (tenant_seq one more, prev_hash the head's hash): otherwise kCorruption naming the tenant
  // and the tenant_seq, and nothing is written. A write with no lines writes its side writes
  // alone.
  [[nodiscard]] virtual Status AppendReplicated(ReplicatedWrite write) = 0;

  // Up to `limit` events with seq >= from, in seq order (purged events are skipped).
  [[nodiscard]] virtual Result<std::vector<StoredEvent>> Read(Seq from, size_t limit) const = 0;
  // Up to `limit` events of one tenant with tenant_seq >= from, in order.
  [[nodiscard]] virtual Result<std::vector<StoredEvent>> ReadTenant(const TenantId& tenant,
                                                                    TenantSeq from,
                                                                    size_t limit) const = 0;
  // Bulk reading (exports): calls fn(tenant_seq, line) for the tenant's stored events with
  // tenant_seq in [from, to], in order, without parsing them, until fn returns false; the
  // line is valid only during the call. Returns the last tenant_seq passed to fn (from − 1
  // if none).
  [[nodiscard]] virtual Result<uint64_t> ScanTenant(
      const TenantId& tenant, TenantSeq from, TenantSeq to,
      const std::function<bool(uint64_t tenant_seq, std::string_view line)>& fn) const = 0;
  // The same, newest first: tenant_seq from `to` down to `from`. Returns the last tenant_seq
  // passed to fn (to + 1 if none).
  [[nodiscard]] virtual Result<uint64_t> ScanTenantBackward(
      const TenantId& tenant, TenantSeq from, TenantSeq to,
      const std::function<bool(uint64_t tenant_seq, std::string_view line)>& fn) const = 0;
  // The stored lines of the given tenant_seqs, in the same order (nullopt where purged or
  // not yet written).
  [[nodiscard]] virtual Result<std::vector<std::optional<std::string>>> GetTenantEvents(
      const TenantId& tenant, const std::vector<TenantSeq>& tenant_seqs) const = 0;
  // The tenant's first stored tenant_seq (1, or past the last retention purge), or nullopt
  // for a tenant with no events.
  [[nodiscard]] virtual Result<std::optional<TenantSeq>> FirstTenantSeq(
      const TenantId& tenant) const = 0;
  // Retention: removes the tenant's events below `below` (one range delete, synced). Never
  // the chain head: `below` must not pass it (kInvalidArgument). Derived data keyed by
  // tenant_seq below the new first event (space kAudit) is dropped lazily by compaction.
  // The range delete records, in the same write, the purge anchor: the last tenant_seq
  // removed and its hash, which the first kept event must follow.
  [[nodiscard]] virtual Status PurgeTenant(const TenantId& tenant, TenantSeq below) = 0;
  // The tenant's purge anchor (nullopt when nothing was ever purged): what verification
  // checks the first kept event against, so that events removed without a purge are caught.
  struct PurgeAnchor {
    uint64_t last_purged = 0;
    std::string hash;
  };
  [[nodiscard]] virtual Result<std::optional<PurgeAnchor>> PurgeAnchorOf(
      const TenantId& tenant) const = 0;
  // Every tenant that has events, in id order.
  [[nodiscard]] virtual std::vector<TenantId> Tenants() const = 0;
  // The tenant's chain head, or nullopt for a tenant with no events.
  [[nodiscard]] virtual std::optional<TenantHead> Head(const TenantId& tenant) const = 0;
  // Every tenant's head and the last seq as of one commit: an event is at or below its tenant's
  // head here exactly when its seq (this log's, which on a follower is not the line's) is at or
  // below `last`.
  struct HeadsAt {
    Seq last;
    std::vector<std::pair<TenantId, TenantHead>> heads;  // in tenant order
  };
  [[nodiscard]] virtual HeadsAt Heads() const = 0;
  // The highest seq appended so far (0 when empty).
  [[nodiscard]] virtual Seq LastSeq() const = 0;
  // Waits until LastSeq() > after or `timeout` passes; returns LastSeq().
  [[nodiscard]] virtual Seq WaitForAppend(Seq after, std::chrono::milliseconds timeout) const = 0;
};

}  // namespace custos::core
