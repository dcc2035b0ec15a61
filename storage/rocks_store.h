// RocksStore: the RocksDB adapter. One database per data directory; it implements the
// EventLog port (the hash-chained log with group commit) and the KvStore port (projection
// state, credentials, indexes and consumer checkpoints) over the same database, so that an
// append and its side writes, or a projection's data and its checkpoint, commit atomically.
//
// Group commit: Append and AppendAsync queue requests whose events their callers rendered
// (core::RenderDraft, which validates); one commit thread takes every queued request, assigns
// positions, hashes, writes one WriteBatch with sync, publishes the new heads, and answers each
// request. While it writes, the next group queues behind it.
//
// After a failed write (disk full) the store answers kUnavailable; each later Append first
// tries to resume the database and reloads its heads, so writes come back once space does.
//
// Thread-safety: all methods may be called from any thread. Destroy only when no call is in
// flight; destruction commits what is queued and answers every callback first. RocksDB types stay
// out of this header.
#pragma once

#include <memory>
#include <string>

#include "core/clock.h"
#include "core/event_log.h"
#include "core/histogram.h"
#include "core/kv_store.h"
#include "core/result.h"

namespace custos::storage {

struct StoreOptions {
  std::string path;                    // the RocksDB directory; created if missing
  const core::Clock* clock = nullptr;  // required unless read_only
  bool read_only = false;              // another process may hold the database open
  size_t block_cache_bytes = size_t{128} << 20;
  // Free space kept back from appends, so that the audit index and the other projections can
  // always write what they still owe for events already appended (a disk that fills while
  // they are behind would otherwise leave audit queries unanswerable). Default: 5 % of the
  // file system, at most 64 MiB. Appends past it answer kUnavailable; they resume once there
  // is room again.
  std::optional<uint64_t> reserve_bytes;
};

// Where a data directory keeps its database.
[[nodiscard]] std::string StorePathForDataDir(const std::string& data_dir);

class RocksStore final : public core::EventLog, public core::KvStore {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<RocksStore>> Open(const StoreOptions& options);
  ~RocksStore() override;
  RocksStore(const RocksStore&) = delete;
  RocksStore& operator=(const RocksStore&) = delete;

  // core::EventLog
  core::AppendResult Append(core::AppendRequest request) override;
  [[nodiscard]] core::Status AppendAsync(core::AppendRequest request,
                                         core::AppendCallback done) override;
  [[nodiscard]] core::Status AppendReplicated(core::ReplicatedWrite write) override;
  [[nodiscard]] HeadsAt Heads() const override;
  core::Result<std::vector<core::StoredEvent>> Read(core::Seq from, size_t limit) const override;
  core::Result<std::vector<core::StoredEvent>> ReadTenant(const core::TenantId& tenant,
                                                          core::TenantSeq from,
                                                          size_t limit) const override;
  core::Result<uint64_t> ScanTenant(
      const core::TenantId& tenant, core::TenantSeq from, core::TenantSeq to,
      const std::function<bool(uint64_t, std::string_view)>& fn) const override;
  core::Result<uint64_t> ScanTenantBackward(
      const core::TenantId& tenant, core::TenantSeq from, core::TenantSeq to,
      const std::function<bool(uint64_t, std::string_view)>& fn) const override;
  core::Result<std::vector<std::optional<std::string>>> GetTenantEvents(
      const core::TenantId& tenant, const std::vector<core::TenantSeq>& tenant_seqs) const override;
  core::Result<std::optional<core::TenantSeq>> FirstTenantSeq(
      const core::TenantId& tenant) const override;
  core::Status PurgeTenant(const core::TenantId& tenant, core::TenantSeq below) override;
  core::Result<std::optional<PurgeAnchor>> PurgeAnchorOf(
      const core::TenantId& tenant) const override;
  std::optional<core::TenantHead> Head(const core::TenantId& tenant) const override;
  core::Seq LastSeq() const override;
  core::Seq WaitForAppend(core::Seq after, std::chrono::milliseconds timeout) const override;

  // core::KvStore
  core::Status Write(const core::KvBatch& batch, core::Durability durability) override;
  core::Result<std::optional<std::string>> Get(core::Space space,
                                               std::string_view key) const override;
  core::Status Scan(
      core::Space space, std::string_view prefix,
      const std::function<bool(std::string_view, std::string_view)>& fn) const override;
  core::Result<std::optional<core::Seq>> GetCheckpoint(std::string_view consumer) const override;
  std::unique_ptr<core::KvIterator> NewIterator(core::Space space) const override;
  core::Status IngestSorted(core::Space space, const KvSource& next) override;
  core::Status ClearSpace(core::Space space) override;

  // Compacts a space's whole key range now (otherwise RocksDB does it when it sees fit):
  // for operators after a large purge, and for tests of what compaction drops.
  [[nodiscard]] core::Status CompactSpace(core::Space space);

  // Waits until RocksDB has no flush or compaction running or pending (benchmarks measure a
  // settled store, as PostgreSQL's peer is measured after its CHECKPOINT).
  [[nodiscard]] core::Status Quiesce(std::chrono::milliseconds timeout);

  // A consistent copy of the whole database, as of now, in `dir` (which must not exist): a
  // RocksDB checkpoint — the memtables flushed, SST files hard-linked when `dir` is on the
  // same file system (they are immutable) and copied otherwise. Appends go on meanwhile; the
  // copy holds a prefix of the log and everything written with it.
  [[nodiscard]] core::Status CreateCheckpoint(const std::string& dir);

  std::vector<core::TenantId> Tenants() const override;

  // Counters since open: synced append batches (one fsync each) and the events in them;
  // events per batch, and the time of each batch's synced write.
  struct Stats {
    uint64_t groups = 0;
    uint64_t events = 0;
    core::Histogram::Snapshot batch_events;
    core::Histogram::Snapshot sync_seconds;
  };
  [[nodiscard]] Stats stats() const;

 private:
  struct Impl;
  explicit RocksStore(std::unique_ptr<Impl> impl);
  // Reads up to `want` stored events from seq `from` on, appending them to `out`; returns the
  // last seq it looked at (from − 1 at the end of the log).
  [[nodiscard]] core::Result<uint64_t> ReadSome(uint64_t from, size_t want,
                                                std::vector<core::StoredEvent>& out) const;
  std::unique_ptr<Impl> impl_;
};

}  // namespace custos::storage
