// AuditIndex: the audit trail's indexes — per tenant by actor, by exact type, by type
// prefix ("user" for user.*), by target, by time and by event id — kept in the KV store (space
// kAudit) by a consumer of the log with its own checkpoint ("audit-blocks"), so that the writers'
// fsync path does not carry them. A query first waits until the index holds everything
// appended before it started (read-your-writes), then walks only the entries of its filters:
// one sorted run per filter value, a union within a filter and a leapfrog intersection
// across filters, so its cost follows the matches, not the tenant's size.
//
// Keys (every key starts with the tenant and ends with BE64(tenant_seq), which lets
// retention drop a tenant's entries below its purge floor without reading them):
//   tenant \0 'A' actor_id \0 last     tenant \0 'Y' type \0 last     tenant \0 'P' prefix \0 last
//   tenant \0 'G' target_id \0 last    tenant \0 'T' BE64(last time ms) last
//   tenant \0 'e' event_id \0 seq  (empty value)
// Each indexing batch writes one block per run it touches (internal/audit_postings.h): the
// key ends with the block's last tenant_seq (and the time run's with its last time first),
// and the value holds the block's tenant_seqs (time: time and tenant_seq pairs) as varint
// differences, so a batch of thousands of events costs one key per actor, type, prefix,
// target and tenant in it, plus one per event id. tenant_seq orders a tenant's events by time
// too (time never decreases within a tenant), so a date range is a tenant_seq range found
// with the 'T' blocks. Without its checkpoint at open (a new data dir, one indexed by an
// earlier version in its lower-case kinds, or blocks whose checkpoint is gone) the space is
// dropped and built again, so that blocks never overlap.
//
// Built from nothing (at open, or Rebuild), the index is built in bulk: each tenant's stream
// read in order by one sequential scan, its blocks gathered and sorted in memory, and tenants
// written in key order as sorted files that the store takes in whole (KvStore::IngestSorted),
// one written while the next is gathered; the checkpoint is written only at the end, so a
// build cut short is dropped and done again at the next open. After that the indexing thread
// follows the log in batches through the store's write path.
//
// Thread-safety: every method may be called from any thread; one indexing thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/event_log.h"
#include "core/kv_store.h"
#include "core/result.h"
#include "core/time.h"

namespace custos::projections {

struct AuditQuery {
  core::TenantId tenant;
  std::vector<std::string> actors;         // any of these actor ids
  std::vector<std::string> actions;        // any of these types, or "prefix.*"
  std::vector<std::string> targets;        // any of these target ids
  std::optional<core::Time> from;          // inclusive
  std::optional<core::Time> to;            // exclusive
  std::optional<core::Time> not_before;    // the retention cutoff: older events are invisible
  uint64_t min_tenant_seq = 1;             // the first tenant_seq kept (after a purge)
  std::optional<uint64_t> max_tenant_seq;  // the last tenant_seq wanted (default: the head)
  bool descending = true;
  size_t limit = 50;
  std::optional<uint64_t> after;  // the cursor: the last tenant_seq already returned
  // Bounds on one page (0: none): index entries sought — a query that matches little or
  // nothing stops there with a `next` instead of scanning the tenant — and the lines' bytes.
  uint64_t work_budget = 0;
  size_t max_bytes = 0;
};

struct AuditPage {
  std::vector<std::string> lines;  // stored lines, in order
  std::optional<uint64_t> next;    // the tenant_seq to continue after, if there may be more
                                   // (also when the work budget or max_bytes ended the page)
  uint64_t work = 0;               // index entries sought for it
};

inline constexpr std::string_view kAuditCheckpoint = "audit-blocks";

struct AuditIndexOptions {
  // Indexing from nothing (a new index, a rebuild) gathers this many events' blocks and
  // writes them as one sorted file (KvStore::IngestSorted) instead of through the memtable.
  size_t bulk_events = size_t{1} << 20;
  // The most entries in one block (a query decodes a whole block to seek into it).
  size_t max_block_entries = 4096;
  // False: no indexing thread after open (tests of what is not indexed yet).
  bool follow = true;
};

// Checks a query's action filters: exact types, or a prefix followed by ".*".
[[nodiscard]] core::Status ValidateAuditActions(const std::vector<std::string>& actions);

class AuditIndex {
 public:
  // Opens the index, indexes what the log holds beyond its checkpoint (a crash loses at most
  // the last unsynced batches), then keeps indexing on its own thread.
  [[nodiscard]] static core::Result<std::unique_ptr<AuditIndex>> Open(
      const core::EventLog& log, core::KvStore& kv, AuditIndexOptions options = {});
  ~AuditIndex();
  AuditIndex(const AuditIndex&) = delete;
  AuditIndex& operator=(const AuditIndex&) = delete;

  // Waits until every event up to `seq` is indexed; kUnavailable past the timeout.
  [[nodiscard]] core::Status WaitFor(core::Seq seq, std::chrono::milliseconds timeout) const;
  // Waits until everything appended so far is indexed.
  [[nodiscard]] core::Status CatchUp(std::chrono::milliseconds timeout) const;
  [[nodiscard]] core::Seq indexed() const { return core::Seq(indexed_.load()); }
  // The tenant's last tenant_seq indexed (0 if none).
  [[nodiscard]] uint64_t IndexedTenantSeq(const core::TenantId& tenant) const;

  // A page of the tenant's events matching the query. Everything the tenant held when it
  // started is in it: the index answers up to the tenant's indexed head, and the events above
  // it (those not indexed yet) are read and matched one by one, so a query need not wait for
  // the index (callers bound that tail with Unindexed, waiting with CatchUp past it).
  [[nodiscard]] core::Result<AuditPage> Query(const AuditQuery& query) const;
  // How many of the tenant's events are not indexed yet.
  [[nodiscard]] uint64_t Unindexed(const core::TenantId& tenant) const;
  // The matching tenant_seqs of a query, in its order, calling fn for each until it returns
  // false (export walks a whole range this way in constant memory).
  // How far a search went: index entries sought, and with a work budget spent, the
  // tenant_seq it would have looked at next.
  struct Progress {
    uint64_t work = 0;
    std::optional<uint64_t> ran_out_at;
  };
  [[nodiscard]] core::Status ForEachMatch(const AuditQuery& query,
                                          const std::function<bool(uint64_t)>& fn,
                                          Progress* progress = nullptr) const;
  // The tenant_seq range [lo, hi] a query's bounds allow — retention, purge floor, dates,
  // cursor, the indexed head — before its filters (nullopt when empty).
  [[nodiscard]] core::Result<std::optional<std::pair<uint64_t, uint64_t>>> Bounds(
      const AuditQuery& query) const;
  // The tenant_seq of an event of the tenant by its id (nullopt if unknown).
  [[nodiscard]] core::Result<std::optional<uint64_t>> FindEvent(const core::TenantId& tenant,
                                                                std::string_view event_id) const;
  // The first tenant_seq whose time is at or after `t` (nullopt when none).
  [[nodiscard]] core::Result<std::optional<uint64_t>> FirstSeqAtOrAfter(
      const core::TenantId& tenant, core::Time t) const;

  // SHA-256 over the tenant's postings with tenant_seq in [from, to] — each run's name and its
  // entries, in key order — once the tenant is indexed up to `to` (kUnavailable past the
  // timeout). How indexing batches cut runs into blocks does not change it, so it is the same on
  // every node that indexed the same events (GET …/digest). Reads the whole of the tenant's
  // index: an operator's check, not a request path.
  [[nodiscard]] core::Result<std::string> Digest(const core::TenantId& tenant, uint64_t from,
                                                 uint64_t to,
                                                 std::chrono::milliseconds timeout) const;

  // Drops the index and indexes the whole log again, synchronously; the indexing thread
  // pauses meanwhile. Returns the number of events indexed.
  [[nodiscard]] core::Result<uint64_t> Rebuild();

 private:
  AuditIndex(const core::EventLog& log, core::KvStore& kv, AuditIndexOptions options)
      : log_(log), kv_(kv), options_(options) {}
  void Run();
  // ForEachMatch over the index alone: up to the tenant's indexed head.
  core::Status ForEachIndexed(const AuditQuery& query, const std::function<bool(uint64_t)>& fn,
                              Progress* progress) const;
  // Indexes what follows `indexed_` (at most `max` events); the number indexed.
  core::Result<uint64_t> IndexMore(size_t max);
  core::Result<uint64_t> IndexMoreLocked(size_t max);  // with index_mu_ held
  // Drops the space and indexes the whole log in sorted files (with index_mu_ held, or before
  // the thread starts); the number of events indexed. The checkpoint is gone until the end,
  // so a crash midway leaves an index that the next open drops and builds again.
  core::Result<uint64_t> IndexAllInBulk();
  // Marks the log as indexed up to `upto` and each tenant up to its tenant_seq in `heads`
  // (after their blocks are written).
  void Advance(const std::unordered_map<std::string, uint64_t>& heads, uint64_t upto);

  const core::EventLog& log_;
  core::KvStore& kv_;
  const AuditIndexOptions options_;
  std::atomic<uint64_t> indexed_{0};
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::mutex index_mu_;        // one indexer at a time (the thread, or Rebuild)
  bool bulk_pending_ = false;  // under index_mu_: a bulk build started and has not ended well
  std::string error_;          // the indexing thread's last failure, under mu_
  // Per tenant, the last tenant_seq indexed: queries never look past it, so a page never
  // skips an event appended but not yet indexed (it comes in a later page instead).
  mutable std::shared_mutex heads_mu_;
  std::unordered_map<std::string, uint64_t> indexed_heads_;
  std::thread thread_;
};

}  // namespace custos::projections
