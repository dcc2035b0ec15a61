#include "storage/rocks_store.h"

#include <sys/statvfs.h>

#include <rocksdb/cache.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "core/event_id.h"
#include "core/hex.h"
#include "core/histogram.h"
#include "core/thread_annotations.h"
#include "storage/internal/keys.h"
#include "storage/internal/rocks_status.h"
#include "storage/internal/tenant_prefix.h"

namespace custos::storage {
namespace {

using core::Error;
using core::Result;
using core::Status;
using internal::FromRocks;

enum Cf : size_t {
  kDefaultCf,
  kEventsCf,
  kGroupsCf,
  kCheckpointCf,
  kStateCf,
  kCredentialsCf,
  kIndexCf,
  kAuditCf,
  kCfCount,
};
constexpr const char* kCfNames[kCfCount] = {"default", "events",      "groups", "checkpoints",
                                            "state",   "credentials", "index",  "audit"};

size_t CfOf(core::Space space) {
  switch (space) {
    case core::Space::kState:
      return kStateCf;
    case core::Space::kCredentials:
      return kCredentialsCf;
    case core::Space::kIndex:
      return kIndexCf;
    case core::Space::kAudit:
      return kAuditCf;
    case core::Space::kCheckpoint:
      return kCheckpointCf;
  }
  return kStateCf;
}

// A group may hold this many events; a single request is never split.
constexpr size_t kMaxGroupEvents = 16384;

// A request waiting for the commit thread (its events rendered, so valid), or a follower's
// write (committed in a group of its own; its answer goes to done with no events).
struct Pending {
  core::AppendRequest request;
  core::AppendCallback done;
  std::shared_ptr<core::ReplicatedWrite> replicated;
};

// LZ4 where the library has it (a fraction of Snappy's cost to compress and decompress),
// else Snappy, else none.
rocksdb::CompressionType FastCompression() {
  const std::vector<rocksdb::CompressionType> supported = rocksdb::GetSupportedCompressions();
  auto has = [&](rocksdb::CompressionType t) {
    return std::find(supported.begin(), supported.end(), t) != supported.end();
  };
  return has(rocksdb::kLZ4Compression)      ? rocksdb::kLZ4Compression
         : has(rocksdb::kSnappyCompression) ? rocksdb::kSnappyCompression
                                            : rocksdb::kNoCompression;
}

rocksdb::ColumnFamilyOptions EventsCfOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  // Queries fetch single events at random (a page of 100 of one actor): each costs a block
  // read and its decompression, so blocks stay small; exports read ahead anyway.
  table.block_size = 4 * 1024;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.write_buffer_size = 64 << 20;
  cf.memtable_insert_with_hint_prefix_extractor =
      std::make_shared<internal::TenantPrefixTransform>();
  cf.compression = FastCompression();
  // LZ4 down to the bottom level too: ZSTD saves disk but costs every point read of old
  // events several times LZ4's decompression.
  return cf;
}

// Each tenant's first stored tenant_seq, below which its derived data is dead.
class TenantFloors {
 public:
  void Set(const std::string& tenant, uint64_t floor) {
    core::WriterLock lock(mu_);
    uint64_t& f = floors_[tenant];
    f = std::max(f, floor);
  }
  // Called per event by Read and per key by compaction: looks up without allocating.
  [[nodiscard]] uint64_t Get(std::string_view tenant) const {
    core::ReaderLock lock(mu_);
    auto it = floors_.find(tenant);
    return it == floors_.end() ? 0 : it->second;
  }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  mutable core::SharedMutex mu_;
  std::unordered_map<std::string, uint64_t, Hash, std::equal_to<>> floors_ CUSTOS_GUARDED_BY(mu_);
};

// Drops audit-index keys (tenant \0 … BE64(tenant_seq)) below their tenant's floor as
// compaction meets them: a purge costs one range delete of events, and the index's entries,
// spread over many key ranges, go without any write at all. Queries never see them meanwhile:
// they are bounded by the tenant's first stored event.
class BelowFloorFilter final : public rocksdb::CompactionFilter {
 public:
  explicit BelowFloorFilter(std::shared_ptr<const TenantFloors> floors)
      : floors_(std::move(floors)) {}
  bool Filter(int, const rocksdb::Slice& key, const rocksdb::Slice&, std::string*,
              bool*) const override {
    const std::string_view k(key.data(), key.size());
    const size_t nul = k.find('\0');
    if (nul == std::string_view::npos || k.size() < nul + 1 + 8) return false;
    const uint64_t floor = floors_->Get(k.substr(0, nul));
    return floor != 0 && internal::GetBE64(k.substr(k.size() - 8)) < floor;
  }
  const char* Name() const override { return "custos.BelowFloorFilter"; }

 private:
  std::shared_ptr<const TenantFloors> floors_;
};

rocksdb::ColumnFamilyOptions SmallCfOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.write_buffer_size = 16 << 20;
  return cf;
}

// The directory of the files IngestSorted writes before RocksDB takes them in (RocksDB does
// not look into subdirectories of its own). What a crash left there is removed at open.
std::string IngestDir(const std::string& path) { return path + "/ingest"; }

// The audit index: read only by seeks (a run's blocks, an event id's key), which a whole-key
// Bloom filter cannot answer, so it has none; written in bulk by rebuilds.
rocksdb::ColumnFamilyOptions AuditCfOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.write_buffer_size = 64 << 20;
  cf.compression = FastCompression();
  return cf;
}

// 5 % of the file system under `path`, at most 64 MiB (0 if it cannot be told).
uint64_t DefaultReserve(const std::string& path) {
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) != 0) {
    // Not made yet: its parent's file system.
    const size_t slash = path.find_last_of('/');
    if (slash == std::string::npos || ::statvfs(path.substr(0, slash).c_str(), &fs) != 0) {
      return 0;
    }
  }
  const uint64_t size = static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize;
  return std::min<uint64_t>(size / 20, uint64_t{64} << 20);
}

}  // namespace

std::string StorePathForDataDir(const std::string& data_dir) {
  return data_dir + (data_dir.empty() || data_dir.back() == '/' ? "db" : "/db");
}

struct RocksStore::Impl {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs;
  const core::Clock* clock = nullptr;
  std::string path;
  uint64_t reserve_bytes = 0;
  bool read_only = false;
  std::atomic<uint64_t> ingest_files{0};  // names the files IngestSorted writes

  // Requests waiting for the commit thread.
  core::Mutex queue_mu;
  std::condition_variable_any queue_cv;
  std::vector<Pending> queue CUSTOS_GUARDED_BY(queue_mu);
  bool committer_idle CUSTOS_GUARDED_BY(queue_mu) = false;  // waiting on queue_cv
  bool stopping CUSTOS_GUARDED_BY(queue_mu) = false;
  std::thread committer;

  // Touched only by the commit thread.
  core::EventIdGenerator ids;
  bool needs_resume = false;

  // Committed heads, read by anyone.
  mutable core::SharedMutex heads_mu;
  std::unordered_map<std::string, core::TenantHead> heads CUSTOS_GUARDED_BY(heads_mu);
  std::shared_ptr<TenantFloors> floors = std::make_shared<TenantFloors>();
  std::unique_ptr<BelowFloorFilter> audit_filter;

  std::atomic<uint64_t> last_seq{0};
  std::atomic<uint64_t> groups_committed{0};
  std::atomic<uint64_t> events_committed{0};
  core::Histogram batch_events{core::Histogram::Powers(14)};  // events per synced write
  core::Histogram sync_seconds{{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                0.1, 0.25, 0.5, 1, 2.5}};  // its db->Write, fsync included
  // last_seq's waiters (WaitForAppend); the seq itself is atomic.
  mutable core::Mutex seq_mu;
  mutable std::condition_variable_any seq_cv;

  ~Impl() {
    if (committer.joinable()) {
      {
        core::MutexLock lock(queue_mu);
        stopping = true;
      }
      queue_cv.notify_one();
      committer.join();  // commits what was queued before returning
    }
    if (db && !read_only) {
      // A clean close leaves no log to replay: the next open is quick (restart to ready).
      std::vector<rocksdb::ColumnFamilyHandle*> all;
      for (rocksdb::ColumnFamilyHandle* h : cfs) {
        if (h != nullptr) all.push_back(h);
      }
      rocksdb::FlushOptions flush;
      flush.allow_write_stall = true;
      (void)db->Flush(flush, all);
    }
    if (db) {
      for (rocksdb::ColumnFamilyHandle* h : cfs) {
        if (h != nullptr) (void)db->DestroyColumnFamilyHandle(h);
      }
      (void)db->Close();
    }
  }

  rocksdb::ColumnFamilyHandle* cf(size_t i) const { return cfs[i]; }

  // Reads every tenant's chain head (its last event), its floor (its first event, past any
  // purge) and the last seq back from the data.
  Status LoadHeads() {
    std::unordered_map<std::string, core::TenantHead> loaded;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf(kEventsCf)));
    it->SeekToFirst();
    while (it->Valid()) {
      std::string_view tenant;
      uint64_t first_seq = 0;
      if (!internal::SplitEventKey(std::string_view(it->key().data(), it->key().size()), tenant,
                                   first_seq)) {
        return core::Corruption("bad events key in the store");
      }
      if (first_seq > 1) floors->Set(std::string(tenant), first_seq);
      const std::string end = internal::TenantEnd(tenant);
      it->SeekForPrev(end);  // the tenant's last event
      if (!it->Valid()) break;
      std::string_view line(it->value().data(), it->value().size());
      Result<core::LineFields> f = core::ParseLineFields(line);
      if (!f.ok()) {
        return core::Corruption("last event of tenant " + std::string(tenant) + ": " +
                                f.error().message);
      }
      loaded.emplace(std::string(f->tenant), core::TenantHead{core::TenantSeq(f->tenant_seq),
                                                              std::string(f->hash), f->time});
      it->Seek(end);  // the next tenant
    }
    if (!it->status().ok()) return FromRocks(it->status(), "loading tenant heads");

    uint64_t seq = 0;
    std::unique_ptr<rocksdb::Iterator> groups(
        db->NewIterator(rocksdb::ReadOptions(), cf(kGroupsCf)));
    groups->SeekToLast();
    if (groups->Valid()) {
      std::vector<internal::GroupEntry> entries;
      if (!internal::DecodeGroup(std::string_view(groups->value().data(), groups->value().size()),
                                 entries)) {
        return core::Corruption("bad group record in the store");
      }
      seq = internal::GetBE64(std::string_view(groups->key().data(), groups->key().size())) +
            entries.size() - 1;
    }
    if (!groups->status().ok()) return FromRocks(groups->status(), "loading the last seq");
    {
      core::WriterLock lock(heads_mu);
      heads = std::move(loaded);
    }
    last_seq.store(seq);
    return core::OkStatus();
  }

  core::TenantHead CommittedHead(const std::string& tenant) const {
    core::ReaderLock lock(heads_mu);
    auto it = heads.find(tenant);
    if (it != heads.end()) return it->second;
    return core::TenantHead{core::TenantSeq(0), std::string(core::kZeroHash), core::Time{}};
  }

  void AddKvWrites(rocksdb::WriteBatch& batch, const core::KvBatch& writes) const {
    for (const core::KvWrite& w : writes.writes()) {
      rocksdb::ColumnFamilyHandle* h = cf(CfOf(w.space));
      switch (w.op) {
        case core::KvWrite::Op::kPut:
          batch.Put(h, w.key, w.value);
          break;
        case core::KvWrite::Op::kDelete:
          batch.Delete(h, w.key);
          break;
        case core::KvWrite::Op::kDeleteRange:
          batch.DeleteRange(h, w.key, w.value);
          break;
      }
    }
  }

  // The commit thread: takes every queued request, commits them as one group, answers each.
  void CommitLoop() {
    std::vector<Pending> group;
    std::vector<core::AppendResult> results;
    while (true) {
      {
        core::MutexLock lock(queue_mu);
        committer_idle = true;
        while (queue.empty() && !stopping) queue_cv.wait(lock);
        committer_idle = false;
        if (queue.empty()) return;  // stopping, and nothing left to commit
        size_t events = 0;
        size_t take = 0;
        // A follower's write is a group of its own.
        while (take < queue.size() &&
               (take == 0 || (queue[0].replicated == nullptr && queue[take].replicated == nullptr &&
                              events + queue[take].request.events.size() <= kMaxGroupEvents))) {
          events += queue[take].request.events.size();
          ++take;
        }
        if (take == queue.size()) {
          group.swap(queue);
        } else {
          group.assign(std::make_move_iterator(queue.begin()),
                       std::make_move_iterator(queue.begin() + static_cast<ptrdiff_t>(take)));
          queue.erase(queue.begin(), queue.begin() + static_cast<ptrdiff_t>(take));
        }
      }
      results.clear();
      results.resize(group.size(), core::AppendResult(core::Internal("not committed")));
      CommitGroup(group, results);
      for (size_t i = 0; i < group.size(); ++i) group[i].done(std::move(results[i]));
      group.clear();
    }
  }

  // Appends only while more than the reserve is free (StoreOptions::reserve_bytes).
  Status CheckRoom() const {
    struct statvfs fs {};
    if (reserve_bytes == 0 || ::statvfs(path.c_str(), &fs) != 0) return core::OkStatus();
    const uint64_t free = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
    if (free >= reserve_bytes) return core::OkStatus();
    return core::Unavailable("the disk is nearly full (" + std::to_string(free >> 10) +
                             " KiB free): the last " + std::to_string(reserve_bytes >> 10) +
                             " KiB are kept for the indexes to catch up, so no event is "
                             "appended until there is room");
  }

  // Assigns positions to every request of the group, writes them in one synced batch, and
  // publishes the new heads. Sets each request's result.
  void CommitGroup(std::vector<Pending>& group, std::vector<core::AppendResult>& results) {
    if (needs_resume) {
      rocksdb::Status s = db->Resume();
      Status loaded = s.ok() ? LoadHeads() : Status(FromRocks(s, "resuming the store"));
      if (!loaded.ok()) {
        for (core::AppendResult& r : results) r = loaded.error();
        return;
      }
      needs_resume = false;
    }
    const Status room = CheckRoom();
    if (group.size() == 1 && group[0].replicated != nullptr) {
      results[0] = CommitReplicated(*group[0].replicated, room);
      return;
    }

    rocksdb::WriteBatch batch;
    std::unordered_map<std::string_view, core::TenantHead> pending;
    std::string group_record;
    const uint64_t first_seq = last_seq.load();
    uint64_t seq = first_seq;
    const core::Time now = clock->Now();
    bool any = false;

    for (size_t g = 0; g < group.size(); ++g) {
      Pending& w = group[g];
      if (!room.ok() && !w.request.use_reserve) {
        results[g] = room.error();
        continue;
      }
      const std::string& tenant = w.request.tenant.value();
      auto pit = pending.find(tenant);
      core::TenantHead head = pit != pending.end() ? pit->second : CommittedHead(tenant);
      const auto& expected = w.request.expected_tenant_seq;
      if (expected && *expected != head.tenant_seq) {
        results[g] = core::Conflict("tenant " + tenant + " is at tenant_seq " +
                                    std::to_string(head.tenant_seq.value()) +
                                    ", the request expected " + std::to_string(expected->value()));
        continue;
      }
      const core::Time time = std::max(w.request.time.value_or(now), head.time);
      std::vector<core::AppendedEvent> out;
      out.reserve(w.request.events.size());
      for (const core::RenderedDraft& r : w.request.events) {
        ++seq;
        const core::TenantSeq tenant_seq = head.tenant_seq.Next();
        core::EventId id = ids.Next(now);
        core::AssembledLine line = core::AssembleLine(
            r, core::EventPosition{id.value(), seq, tenant, tenant_seq.value(), time, head.hash});
        batch.Put(cf(kEventsCf), internal::EventKey(tenant, tenant_seq.value()), line.line);
        internal::AppendGroupEntry(group_record, tenant, tenant_seq.value());
        head = core::TenantHead{tenant_seq, line.hash, time};
        out.push_back(core::AppendedEvent{std::move(id), core::Seq(seq), tenant_seq, time,
                                          std::move(line.hash), std::move(line.line)});
      }
      AddKvWrites(batch, w.request.side_writes);
      if (!w.request.checkpoint.empty()) {
        batch.Put(cf(kCheckpointCf), w.request.checkpoint, core::EncodeCheckpoint(core::Seq(seq)));
      }
      pending[tenant] = head;
      results[g] = std::move(out);
      any = true;
    }
    if (!any) return;
    if (Status written = WriteGroup(batch, group_record, first_seq, seq, pending); !written.ok()) {
      for (core::AppendResult& r : results) {
        if (r.ok()) r = written.error();
      }
    }
  }

  // Writes a group's batch with its group record (seqs first_seq + 1 … last), synced, and
  // publishes the new heads and the last seq.
  Status WriteGroup(rocksdb::WriteBatch& batch, const std::string& group_record, uint64_t first_seq,
                    uint64_t last,
                    std::unordered_map<std::string_view, core::TenantHead>& pending) {
    if (last > first_seq) {
      batch.Put(cf(kGroupsCf), internal::SeqKey(first_seq + 1), group_record);
    }
    rocksdb::WriteOptions options;
    options.sync = true;
    const auto write_began = std::chrono::steady_clock::now();
    rocksdb::Status s = db->Write(options, &batch);
    sync_seconds.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - write_began).count());
    if (!s.ok()) {
      needs_resume = true;
      return FromRocks(s, "appending to the event log");
    }
    {
      // The heads and the last seq change together (Heads reads both under heads_mu).
      core::WriterLock lock(heads_mu);
      for (auto& [tenant, head] : pending) heads[std::string(tenant)] = std::move(head);
      core::MutexLock seq_lock(seq_mu);
      last_seq.store(last);
    }
    groups_committed.fetch_add(1, std::memory_order_relaxed);
    events_committed.fetch_add(last - first_seq, std::memory_order_relaxed);
    batch_events.Observe(static_cast<double>(last - first_seq));
    seq_cv.notify_all();
    return core::OkStatus();
  }

  // A follower's write: every line's framing and hash checked against its tenant's head
  // before anything is written (the canonical form of the whole text is the caller's check).
  core::AppendResult CommitReplicated(const core::ReplicatedWrite& write, const Status& room) {
    size_t lines = 0;
    for (const core::ReplicatedChain& c : write.chains) lines += c.lines.size();
    if (!room.ok() && lines > 0) return room.error();
    rocksdb::WriteBatch batch;
    std::unordered_map<std::string_view, core::TenantHead> pending;
    std::string group_record;
    const uint64_t first_seq = last_seq.load();
    uint64_t seq = first_seq;
    for (const core::ReplicatedChain& c : write.chains) {
      const std::string& tenant = c.tenant.value();
      if (pending.contains(tenant)) {
        return core::InvalidArgument("tenant " + tenant + " has two chains in one write");
      }
      core::TenantHead head = CommittedHead(tenant);
      for (const std::string& line : c.lines) {
        Result<core::LineFields> f = core::VerifyLineHash(line);
        auto refuse = [&](const std::string& why) {
          return core::Corruption("tenant " + tenant + " at tenant_seq " +
                                  std::to_string(head.tenant_seq.value() + 1) + ": " + why);
        };
        if (!f.ok()) return refuse(f.error().message);
        if (f->tenant != tenant) return refuse("the line is of tenant " + std::string(f->tenant));
        if (f->tenant_seq != head.tenant_seq.value() + 1) {
          return refuse("the line's tenant_seq is " + std::to_string(f->tenant_seq));
        }
        if (f->prev_hash != head.hash) {
          return refuse("its prev_hash is not the hash of the event before it");
        }
        ++seq;
        batch.Put(cf(kEventsCf), internal::EventKey(tenant, f->tenant_seq), line);
        internal::AppendGroupEntry(group_record, tenant, f->tenant_seq);
        head = core::TenantHead{core::TenantSeq(f->tenant_seq), std::string(f->hash), f->time};
      }
      pending[tenant] = head;
    }
    AddKvWrites(batch, write.side_writes);
    CUSTOS_RETURN_IF_ERROR(WriteGroup(batch, group_record, first_seq, seq, pending));
    return std::vector<core::AppendedEvent>{};
  }
};

RocksStore::RocksStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RocksStore::~RocksStore() = default;

namespace {

// Calls fn(tenant_seq, line) for the events `it` stands on, moving on (or back) until a key
// is not one of `tenant`'s events, the iterator ends, or fn returns false. Returns the last
// tenant_seq passed to fn, or `none` when fn saw nothing.
Result<uint64_t> WalkTenant(rocksdb::Iterator& it, const core::TenantId& tenant, bool backward,
                            uint64_t none,
                            const std::function<bool(uint64_t, std::string_view)>& fn) {
  const size_t prefix_size = tenant.value().size() + 1;
  uint64_t last = none;
  for (; it.Valid(); backward ? it.Prev() : it.Next()) {
    // Between the caller's bounds every key is one of the tenant's events.
    if (it.key().size() != prefix_size + 8) break;
    const uint64_t tenant_seq =
        internal::GetBE64(std::string_view(it.key().data() + prefix_size, 8));
    last = tenant_seq;
    if (!fn(tenant_seq, std::string_view(it.value().data(), it.value().size()))) break;
  }
  if (!it.status().ok()) return FromRocks(it.status(), "reading tenant " + tenant.value());
  return last;
}

class ManualRecovery final : public rocksdb::EventListener {
 public:
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status bg_error,
                            bool* auto_recovery) override {
    bg_error.PermitUncheckedError();
    *auto_recovery = false;
  }
};

}  // namespace

Result<std::unique_ptr<RocksStore>> RocksStore::Open(const StoreOptions& options) {
  if (options.path.empty()) return core::InvalidArgument("the store needs a path");
  if (!options.read_only && options.clock == nullptr) {
    return core::InvalidArgument("a writable store needs a clock");
  }
  auto impl = std::make_unique<Impl>();
  impl->clock = options.clock;
  impl->path = options.path;
  impl->reserve_bytes = options.reserve_bytes.value_or(DefaultReserve(options.path));
  impl->read_only = options.read_only;

  std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = !options.read_only;
  db_options.create_missing_column_families = !options.read_only;
  db_options.max_background_jobs = 2;
  db_options.bytes_per_sync = 1 << 20;
  db_options.keep_log_file_num = 3;
  db_options.max_log_file_size = 8 << 20;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  // Reusing WAL files means a synced append rewrites blocks already allocated, so fdatasync
  // need not also flush the file's size.
  db_options.recycle_log_file_num = 4;
  // After a write error (a full disk) the commit thread calls DB::Resume() before its next
  // group, which succeeds once there is room; RocksDB's own recovery would poll for space in
  // the background and make Resume answer Busy meanwhile.
  db_options.listeners.push_back(std::make_shared<ManualRecovery>());

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  impl->audit_filter = std::make_unique<BelowFloorFilter>(impl->floors);
  for (size_t i = 0; i < kCfCount; ++i) {
    descriptors.emplace_back(kCfNames[i], i == kEventsCf  ? EventsCfOptions(cache)
                                          : i == kAuditCf ? AuditCfOptions(cache)
                                                          : SmallCfOptions(cache));
  }
  descriptors[kAuditCf].options.compaction_filter = impl->audit_filter.get();
  // No memtable insert hint on the audit index: it writes each batch in key order, which the
  // skip list's own sequential-insert splice serves better than per-prefix hints (whose map
  // grew by one entry per event id).
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (options.read_only) {
    s = rocksdb::DB::OpenForReadOnly(db_options, options.path, descriptors, &impl->cfs, &raw);
  } else {
    s = rocksdb::DB::Open(db_options, options.path, descriptors, &impl->cfs, &raw);
  }
  if (!s.ok()) return FromRocks(s, "opening the store at " + options.path);
  impl->db.reset(raw);
  if (!options.read_only) {
    std::error_code error;
    std::filesystem::remove_all(IngestDir(options.path), error);
    if (!error) std::filesystem::create_directories(IngestDir(options.path), error);
    if (error) {
      return core::Internal("preparing " + IngestDir(options.path) + ": " + error.message());
    }
  }
  CUSTOS_RETURN_IF_ERROR(impl->LoadHeads());
  if (!options.read_only) {
    Impl* p = impl.get();
    impl->committer = std::thread([p] { p->CommitLoop(); });
  }
  return std::unique_ptr<RocksStore>(new RocksStore(std::move(impl)));
}

core::Status RocksStore::PurgeTenant(const core::TenantId& tenant, core::TenantSeq below) {
  if (impl_->read_only) return core::Unavailable("the store is open read-only");
  const std::optional<core::TenantHead> head = Head(tenant);
  if (!head || below.value() > head->tenant_seq.value()) {
    return core::InvalidArgument("a purge of tenant " + tenant.value() +
                                 " must stop below its chain head");
  }
  // The range starts at the bare tenant id (below all its keys, above any other tenant's):
  // a key without \0 is outside the memtable insert hint's domain. RocksDB shares one hint
  // per prefix between a memtable's point and range-deletion lists, so a tombstone inside the
  // domain would be linked through a point entry's hint and corrupt the list.
  // The anchor: the hash of the last event removed, kept beside the range delete.
  std::string anchor;
  if (below.value() > 1) {
    std::string last;
    rocksdb::Status got =
        impl_->db->Get(rocksdb::ReadOptions(), impl_->cf(kEventsCf),
                       internal::EventKey(tenant.value(), below.value() - 1), &last);
    if (got.ok()) {
      CUSTOS_ASSIGN_OR_RETURN(core::LineFields f, core::ParseLineFields(last));
      anchor = internal::PurgeAnchorValue(below.value() - 1, f.hash);
    } else if (!got.IsNotFound()) {
      return FromRocks(got, "reading tenant " + tenant.value());
    }
  }
  rocksdb::WriteBatch batch;
  batch.DeleteRange(impl_->cf(kEventsCf), tenant.value(),
                    internal::EventKey(tenant.value(), below.value()));
  if (!anchor.empty()) {
    batch.Put(impl_->cf(kIndexCf), internal::PurgeAnchorKey(tenant.value()), anchor);
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = impl_->db->Write(wo, &batch);
  if (!s.ok()) return FromRocks(s, "purging tenant " + tenant.value());
  impl_->floors->Set(tenant.value(), below.value());
  return core::OkStatus();
}

core::Status RocksStore::CreateCheckpoint(const std::string& dir) {
  if (impl_->read_only) return core::Unavailable("the store is open read-only");
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(impl_->db.get(), &raw);
  if (!s.ok()) return FromRocks(s, "starting a checkpoint");
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  s = checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0);
  if (!s.ok()) return FromRocks(s, "writing a checkpoint to " + dir);
  return core::OkStatus();
}

core::Status RocksStore::Quiesce(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto busy = [&] {
    for (const char* property :
         {"rocksdb.compaction-pending", "rocksdb.num-running-compactions",
          "rocksdb.num-running-flushes", "rocksdb.mem-table-flush-pending"}) {
      for (rocksdb::ColumnFamilyHandle* cf : impl_->cfs) {
        uint64_t v = 0;
        if (impl_->db->GetIntProperty(cf, property, &v) && v != 0) return true;
      }
    }
    return false;
  };
  while (busy()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return core::Unavailable("RocksDB's background work did not settle");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return core::OkStatus();
}

core::Status RocksStore::CompactSpace(core::Space space) {
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  rocksdb::Status s = impl_->db->CompactRange(options, impl_->cf(CfOf(space)), nullptr, nullptr);
  if (!s.ok()) return FromRocks(s, "compacting");
  return core::OkStatus();
}

core::Status RocksStore::AppendAsync(core::AppendRequest request, core::AppendCallback done) {
  if (impl_->read_only) return core::Unavailable("the store is open read-only");
  if (!core::IsValidTenantId(request.tenant.value())) {
    return core::InvalidField(
        "tenant", "'" + request.tenant.value().substr(0, 80) + "' is not a valid tenant id");
  }
  if (request.events.empty()) return core::InvalidField("events", "must not be empty");

  Pending pending;
  pending.request = std::move(request);
  pending.done = std::move(done);

  bool wake = false;
  bool closing = false;
  {
    core::MutexLock lock(impl_->queue_mu);
    closing = impl_->stopping;
    if (!closing) {
      impl_->queue.push_back(std::move(pending));
      wake = impl_->committer_idle;
    }
  }
  if (closing) return core::Unavailable("the store is closing");
  if (wake) impl_->queue_cv.notify_one();
  return core::OkStatus();
}

core::Status RocksStore::AppendReplicated(core::ReplicatedWrite write) {
  if (impl_->read_only) return core::Unavailable("the store is open read-only");
  for (const core::ReplicatedChain& c : write.chains) {
    if (!core::IsValidTenantId(c.tenant.value())) {
      return core::InvalidField(
          "tenant", "'" + c.tenant.value().substr(0, 80) + "' is not a valid tenant id");
    }
  }
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<core::AppendResult> result;
  };
  auto waiter = std::make_shared<Waiter>();
  Pending pending;
  pending.replicated = std::make_shared<core::ReplicatedWrite>(std::move(write));
  pending.done = [waiter](core::AppendResult r) {
    std::lock_guard lock(waiter->mu);
    waiter->result = std::move(r);
    waiter->cv.notify_one();
  };
  bool wake = false;
  {
    core::MutexLock lock(impl_->queue_mu);
    if (impl_->stopping) return core::Unavailable("the store is closing");
    impl_->queue.push_back(std::move(pending));
    wake = impl_->committer_idle;
  }
  if (wake) impl_->queue_cv.notify_one();
  std::unique_lock lock(waiter->mu);
  waiter->cv.wait(lock, [&] { return waiter->result.has_value(); });
  if (!waiter->result->ok()) return waiter->result->error();
  return core::OkStatus();
}

core::AppendResult RocksStore::Append(core::AppendRequest request) {
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<core::AppendResult> result;
  } waiter;
  CUSTOS_RETURN_IF_ERROR(AppendAsync(std::move(request), [&waiter](core::AppendResult r) {
    std::lock_guard lock(waiter.mu);
    waiter.result = std::move(r);
    waiter.cv.notify_one();
  }));
  std::unique_lock lock(waiter.mu);
  waiter.cv.wait(lock, [&] { return waiter.result.has_value(); });
  return std::move(*waiter.result);
}

Result<std::vector<core::StoredEvent>> RocksStore::Read(core::Seq from, size_t limit) const {
  std::vector<core::StoredEvent> out;
  uint64_t next = from.value();
  // Purged events do not count toward `limit`: a short (or empty) page means the end of the
  // log, which is what every consumer relies on. Entries below their tenant's floor are
  // skipped without a lookup; one purged while this reads is skipped after it.
  while (out.size() < limit) {
    CUSTOS_ASSIGN_OR_RETURN(uint64_t scanned_to, ReadSome(next, limit - out.size(), out));
    if (scanned_to < next) break;  // the end of the log
    next = scanned_to + 1;
  }
  return out;
}

Result<uint64_t> RocksStore::ReadSome(uint64_t from, size_t want,
                                      std::vector<core::StoredEvent>& out) const {
  rocksdb::ReadOptions ro;
  const rocksdb::Snapshot* snapshot = impl_->db->GetSnapshot();
  ro.snapshot = snapshot;
  struct Wanted {
    uint64_t seq;
    std::string key;
  };
  std::vector<Wanted> wanted;
  uint64_t scanned_to = from - 1;
  {
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->cf(kGroupsCf)));
    std::vector<internal::GroupEntry> entries;
    // The group holding `from` starts at or before it.
    it->SeekForPrev(internal::SeqKey(from));
    if (!it->Valid()) it->SeekToFirst();
    for (; it->Valid() && wanted.size() < want; it->Next()) {
      const uint64_t first = internal::GetBE64(std::string_view(it->key().data(), 8));
      if (!internal::DecodeGroup(std::string_view(it->value().data(), it->value().size()),
                                 entries)) {
        impl_->db->ReleaseSnapshot(snapshot);
        return core::Corruption("bad group record at seq " + std::to_string(first));
      }
      for (size_t i = 0; i < entries.size() && wanted.size() < want; ++i) {
        if (first + i < from) continue;
        scanned_to = first + i;
        if (entries[i].tenant_seq < impl_->floors->Get(entries[i].tenant)) continue;
        wanted.push_back(
            Wanted{first + i, internal::EventKey(entries[i].tenant, entries[i].tenant_seq)});
      }
    }
    if (!it->status().ok()) {
      impl_->db->ReleaseSnapshot(snapshot);
      return FromRocks(it->status(), "reading the log");
    }
  }
  std::vector<rocksdb::Slice> slices;
  slices.reserve(wanted.size());
  for (const Wanted& w : wanted) slices.emplace_back(w.key);
  std::vector<rocksdb::PinnableSlice> values(wanted.size());
  std::vector<rocksdb::Status> statuses(wanted.size());
  impl_->db->MultiGet(ro, impl_->cf(kEventsCf), wanted.size(), slices.data(), values.data(),
                      statuses.data());
  impl_->db->ReleaseSnapshot(snapshot);
  out.reserve(out.size() + wanted.size());
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;  // purged by retention meanwhile
    if (!statuses[i].ok()) return FromRocks(statuses[i], "reading the log");
    std::string_view tenant;
    uint64_t tenant_seq = 0;
    (void)internal::SplitEventKey(wanted[i].key, tenant, tenant_seq);
    out.push_back(core::StoredEvent{core::Seq(wanted[i].seq), core::TenantId(std::string(tenant)),
                                    core::TenantSeq(tenant_seq), values[i].ToString()});
  }
  return scanned_to;
}

Result<std::vector<core::StoredEvent>> RocksStore::ReadTenant(const core::TenantId& tenant,
                                                              core::TenantSeq from,
                                                              size_t limit) const {
  std::vector<core::StoredEvent> out;
  if (limit == 0) return out;
  Status parsed = core::OkStatus();
  CUSTOS_RETURN_IF_ERROR(ScanTenant(
      tenant, from, core::TenantSeq(UINT64_MAX - 1),
      [&](uint64_t tenant_seq, std::string_view line) {
        Result<core::LineFields> fields = core::ParseLineFields(line);
        if (!fields.ok()) {
          parsed = core::Corruption("stored event " + tenant.value() + "/" +
                                    std::to_string(tenant_seq) + ": " + fields.error().message);
          return false;
        }
        out.push_back(core::StoredEvent{core::Seq(fields->seq), tenant, core::TenantSeq(tenant_seq),
                                        std::string(line)});
        return out.size() < limit;
      }));
  CUSTOS_RETURN_IF_ERROR(parsed);
  return out;
}

Result<uint64_t> RocksStore::ScanTenant(
    const core::TenantId& tenant, core::TenantSeq from, core::TenantSeq to,
    const std::function<bool(uint64_t, std::string_view)>& fn) const {
  rocksdb::ReadOptions ro;
  // A long sequential read: read ahead, and leave the block cache to point reads.
  ro.fill_cache = false;
  ro.readahead_size = 2 << 20;
  const std::string upper = internal::EventKey(tenant.value(), to.value() + 1);
  rocksdb::Slice upper_slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->cf(kEventsCf)));
  it->Seek(internal::EventKey(tenant.value(), from.value()));
  return WalkTenant(*it, tenant, /*backward=*/false, from.value() - 1, fn);
}

Result<uint64_t> RocksStore::ScanTenantBackward(
    const core::TenantId& tenant, core::TenantSeq from, core::TenantSeq to,
    const std::function<bool(uint64_t, std::string_view)>& fn) const {
  if (to.value() < from.value()) return to.value() + 1;
  rocksdb::ReadOptions ro;
  // The newest lines of a tenant, read until the caller has enough: recent, so most likely in
  // the memtable; kept out of the block cache like the forward scan.
  ro.fill_cache = false;
  const std::string lower = internal::EventKey(tenant.value(), from.value());
  rocksdb::Slice lower_slice(lower);
  ro.iterate_lower_bound = &lower_slice;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->cf(kEventsCf)));
  it->SeekForPrev(internal::EventKey(tenant.value(), to.value()));
  return WalkTenant(*it, tenant, /*backward=*/true, to.value() + 1, fn);
}

core::Result<std::vector<std::optional<std::string>>> RocksStore::GetTenantEvents(
    const core::TenantId& tenant, const std::vector<core::TenantSeq>& tenant_seqs) const {
  std::vector<std::string> keys;
  keys.reserve(tenant_seqs.size());
  for (core::TenantSeq s : tenant_seqs)
    keys.push_back(internal::EventKey(tenant.value(), s.value()));
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  impl_->db->MultiGet(rocksdb::ReadOptions(), impl_->cf(kEventsCf), keys.size(), slices.data(),
                      values.data(), statuses.data());
  std::vector<std::optional<std::string>> out(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].ok()) {
      out[i] = values[i].ToString();
    } else if (!statuses[i].IsNotFound()) {
      return FromRocks(statuses[i], "reading events of " + tenant.value());
    }
  }
  return out;
}

core::Result<std::optional<core::EventLog::PurgeAnchor>> RocksStore::PurgeAnchorOf(
    const core::TenantId& tenant) const {
  std::string value;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->cf(kIndexCf),
                                     internal::PurgeAnchorKey(tenant.value()), &value);
  if (s.IsNotFound()) return std::optional<PurgeAnchor>();
  if (!s.ok()) return FromRocks(s, "reading the purge anchor of " + tenant.value());
  if (value.size() != 8 + 64) return core::Corruption("bad purge anchor of " + tenant.value());
  return std::optional<PurgeAnchor>(
      PurgeAnchor{internal::GetBE64(std::string_view(value).substr(0, 8)), value.substr(8)});
}

core::Result<std::optional<core::TenantSeq>> RocksStore::FirstTenantSeq(
    const core::TenantId& tenant) const {
  const std::string prefix = internal::TenantPrefix(tenant.value());
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(kEventsCf)));
  it->Seek(prefix);
  if (!it->status().ok()) return FromRocks(it->status(), "reading tenant " + tenant.value());
  if (!it->Valid()) return std::optional<core::TenantSeq>();
  std::string_view key(it->key().data(), it->key().size());
  if (!key.starts_with(prefix) || key.size() != prefix.size() + 8) {
    return std::optional<core::TenantSeq>();
  }
  return std::optional<core::TenantSeq>(
      core::TenantSeq(internal::GetBE64(key.substr(prefix.size()))));
}

std::optional<core::TenantHead> RocksStore::Head(const core::TenantId& tenant) const {
  core::ReaderLock lock(impl_->heads_mu);
  auto it = impl_->heads.find(tenant.value());
  if (it == impl_->heads.end()) return std::nullopt;
  return it->second;
}

std::vector<core::TenantId> RocksStore::Tenants() const {
  std::vector<core::TenantId> out;
  {
    core::ReaderLock lock(impl_->heads_mu);
    out.reserve(impl_->heads.size());
    for (const auto& [tenant, head] : impl_->heads) out.emplace_back(tenant);
  }
  std::sort(out.begin(), out.end());
  return out;
}

RocksStore::Stats RocksStore::stats() const {
  return Stats{impl_->groups_committed.load(), impl_->events_committed.load(),
               impl_->batch_events.Read(), impl_->sync_seconds.Read()};
}

core::Seq RocksStore::LastSeq() const { return core::Seq(impl_->last_seq.load()); }

core::EventLog::HeadsAt RocksStore::Heads() const {
  HeadsAt out;
  core::ReaderLock lock(impl_->heads_mu);
  out.last = core::Seq(impl_->last_seq.load());
  out.heads.reserve(impl_->heads.size());
  for (const auto& [tenant, head] : impl_->heads)
    out.heads.emplace_back(core::TenantId(tenant), head);
  std::sort(out.heads.begin(), out.heads.end(),
            [](const auto& a, const auto& b) { return a.first.value() < b.first.value(); });
  return out;
}

core::Seq RocksStore::WaitForAppend(core::Seq after, std::chrono::milliseconds timeout) const {
  core::MutexLock lock(impl_->seq_mu);
  impl_->seq_cv.wait_for(lock, timeout, [&] { return impl_->last_seq.load() > after.value(); });
  return core::Seq(impl_->last_seq.load());
}

Status RocksStore::Write(const core::KvBatch& batch, core::Durability durability) {
  if (impl_->read_only) return core::Unavailable("the store is open read-only");
  rocksdb::WriteBatch wb;
  impl_->AddKvWrites(wb, batch);
  rocksdb::WriteOptions options;
  options.sync = durability == core::Durability::kSync;
  rocksdb::Status s = impl_->db->Write(options, &wb);
  if (!s.ok()) return FromRocks(s, "writing to the store");
  return core::OkStatus();
}

Status RocksStore::IngestSorted(core::Space space, const KvSource& next) {
  if (impl_->read_only) return core::Unavailable("the store is open read-only");
  rocksdb::ColumnFamilyHandle* cf = impl_->cf(CfOf(space));
  const rocksdb::Options options(impl_->db->GetDBOptions(), impl_->db->GetOptions(cf));
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), options, cf);
  const std::string file =
      IngestDir(impl_->path) + "/" + std::to_string(impl_->ingest_files.fetch_add(1)) + ".sst";
  std::string_view key;
  std::string_view value;
  bool opened = false;
  auto fail = [&](const rocksdb::Status& s) {
    std::error_code ignored;
    std::filesystem::remove(file, ignored);
    return FromRocks(s, "ingesting sorted keys");
  };
  while (next(key, value)) {
    if (!opened) {
      if (rocksdb::Status s = writer.Open(file); !s.ok()) return fail(s);
      opened = true;
    }
    // SstFileWriter refuses a key not above the one before it.
    rocksdb::Status s = writer.Put(rocksdb::Slice(key.data(), key.size()),
                                   rocksdb::Slice(value.data(), value.size()));
    if (!s.ok()) return fail(s);
  }
  if (!opened) return core::OkStatus();  // nothing to ingest
  if (rocksdb::Status s = writer.Finish(); !s.ok()) return fail(s);
  rocksdb::IngestExternalFileOptions ingest;
  ingest.move_files = true;
  if (rocksdb::Status s = impl_->db->IngestExternalFile(cf, {file}, ingest); !s.ok()) {
    return fail(s);
  }
  return core::OkStatus();
}

Status RocksStore::ClearSpace(core::Space space) {
  if (impl_->read_only) return core::Unavailable("the store is open read-only");
  rocksdb::ColumnFamilyHandle* cf = impl_->cf(CfOf(space));
  // Whole files go first (no compaction reads them); then what the memtable and files that
  // straddle other spaces' keys hold, by a range deletion; then that deletion is flushed and
  // compacted away, over nothing now, so it leaves no file behind.
  rocksdb::Status s = rocksdb::DeleteFilesInRange(impl_->db.get(), cf, nullptr, nullptr);
  rocksdb::WriteBatch wb;
  if (s.ok()) s = wb.DeleteRange(cf, rocksdb::Slice(), rocksdb::Slice("\xff\xff\xff\xff", 4));
  if (s.ok()) s = impl_->db->Write(rocksdb::WriteOptions(), &wb);
  if (s.ok()) s = impl_->db->Flush(rocksdb::FlushOptions(), cf);
  if (s.ok()) {
    rocksdb::CompactRangeOptions options;
    options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    s = impl_->db->CompactRange(options, cf, nullptr, nullptr);
  }
  if (!s.ok()) return FromRocks(s, "clearing a space");
  return core::OkStatus();
}

Result<std::optional<std::string>> RocksStore::Get(core::Space space, std::string_view key) const {
  std::string value;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->cf(CfOf(space)), key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "reading from the store");
  return std::optional<std::string>(std::move(value));
}

Status RocksStore::Scan(core::Space space, std::string_view prefix,
                        const std::function<bool(std::string_view, std::string_view)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(CfOf(space))));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    std::string_view key(it->key().data(), it->key().size());
    if (!key.starts_with(prefix)) break;
    if (!fn(key, std::string_view(it->value().data(), it->value().size()))) break;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scanning the store");
  return core::OkStatus();
}

namespace {

class RocksKvIterator final : public core::KvIterator {
 public:
  explicit RocksKvIterator(rocksdb::Iterator* it) : it_(it) {}
  void Seek(std::string_view key) override { it_->Seek(rocksdb::Slice(key.data(), key.size())); }
  void SeekForPrev(std::string_view key) override {
    it_->SeekForPrev(rocksdb::Slice(key.data(), key.size()));
  }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  bool Valid() const override { return it_->Valid(); }
  std::string_view key() const override {
    return std::string_view(it_->key().data(), it_->key().size());
  }
  std::string_view value() const override {
    return std::string_view(it_->value().data(), it_->value().size());
  }
  Status status() const override {
    if (it_->status().ok()) return core::OkStatus();
    return FromRocks(it_->status(), "iterating the store");
  }

 private:
  std::unique_ptr<rocksdb::Iterator> it_;
};

}  // namespace

std::unique_ptr<core::KvIterator> RocksStore::NewIterator(core::Space space) const {
  return std::make_unique<RocksKvIterator>(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(CfOf(space))));
}

Result<std::optional<core::Seq>> RocksStore::GetCheckpoint(std::string_view consumer) const {
  CUSTOS_ASSIGN_OR_RETURN(std::optional<std::string> value,
                          Get(core::Space::kCheckpoint, consumer));
  if (!value) return std::optional<core::Seq>();
  std::optional<core::Seq> seq = core::DecodeCheckpoint(*value);
  if (!seq) return core::Corruption("bad checkpoint for " + std::string(consumer));
  return seq;
}

}  // namespace custos::storage
