#include "projections/audit_index.h"

#include <algorithm>
#include <future>
#include <limits>

#include "core/event.h"
#include "core/ids.h"
#include "core/sha256.h"
#include "projections/internal/audit_postings.h"

namespace custos::projections {
namespace {

using core::GetBE64;
using core::PutBE64;
using internal::BlockBuilder;
using internal::Posting;
using internal::SortedBlocks;

// The checkpoint of the layout of one key per posting, which earlier versions kept.
constexpr std::string_view kPostingsCheckpoint = "audit";

// Block runs take upper-case kinds: the layout of one key per posting used the lower-case
// ones, so neither version reads the other's keys (the event id's key is the same in both).
constexpr char kActorKind = 'A';
constexpr char kTypeKind = 'Y';
constexpr char kPrefixKind = 'P';
constexpr char kTargetKind = 'G';
constexpr char kEventKind = 'e';
constexpr char kTimeKind = 'T';

// Events indexed per batch written.
constexpr size_t kIndexBatch = 16384;
// An indexing batch is read from the log in pages of this many events, and ends early once
// its lines reach kMaxBatchBytes.
constexpr size_t kReadPage = 4096;
constexpr size_t kMaxBatchBytes = 32 << 20;

// tenant \0 kind value \0: the prefix of one sorted run, written over `key`.
void AssignRunPrefix(std::string& key, std::string_view tenant, char kind, std::string_view value) {
  key.clear();
  key.append(tenant).push_back('\0');
  key.push_back(kind);
  key.append(value).push_back('\0');
}

std::string RunPrefix(std::string_view tenant, char kind, std::string_view value) {
  std::string key;
  key.reserve(tenant.size() + value.size() + 3);
  AssignRunPrefix(key, tenant, kind, value);
  return key;
}

std::string TimePrefix(std::string_view tenant) {
  std::string key(tenant);
  key.push_back('\0');
  key.push_back(kTimeKind);
  return key;
}

// A value usable inside a key: no \0 (it separates the parts).
bool Keyable(std::string_view v) { return !v.empty() && v.find('\0') == std::string_view::npos; }

// Any of several runs (the values of one filter).
class Union {
 public:
  explicit Union(bool descending) : descending_(descending) {}
  void Add(Posting run) { runs_.push_back(std::move(run)); }
  [[nodiscard]] size_t size() const { return runs_.size(); }

  std::optional<uint64_t> SeekTo(uint64_t x) {
    std::optional<uint64_t> best;
    for (Posting& run : runs_) {
      std::optional<uint64_t> v = run.SeekTo(x);
      if (v && (!best || (descending_ ? *v > *best : *v < *best))) best = v;
    }
    return best;
  }

  [[nodiscard]] core::Status status() const {
    for (const Posting& run : runs_) CUSTOS_RETURN_IF_ERROR(run.status());
    return core::OkStatus();
  }

 private:
  bool descending_;
  std::vector<Posting> runs_;
};

// Adds one stored line's entries to the batch's blocks (the event id's as a key of its own:
// ids are looked up one at a time, never walked).
core::Status IndexLine(const core::LineFields& f, std::string_view line, BlockBuilder& blocks) {
  CUSTOS_ASSIGN_OR_RETURN(core::LineParties p, core::ParseLineParties(line));
  std::string prefix;
  bool in_order = true;
  auto add = [&](char kind, std::string_view value) {
    if (!Keyable(value)) return;
    AssignRunPrefix(prefix, f.tenant, kind, value);  // reused: no allocation per entry
    in_order = blocks.Add(prefix, f.tenant_seq) && in_order;
  };
  add(kActorKind, p.actor_id);
  add(kTypeKind, f.type);
  // Prefixes up to the longest type an event may be written with: a longer one (stored before
  // the limit) would cost its square in keys.
  for (size_t dot = f.type.find('.');
       dot != std::string_view::npos && dot < core::kMaxEventTypeBytes;
       dot = f.type.find('.', dot + 1)) {
    add(kPrefixKind, f.type.substr(0, dot));
  }
  if (!p.target_id.empty()) add(kTargetKind, p.target_id);
  if (Keyable(f.id)) {
    std::string key = RunPrefix(f.tenant, kEventKind, f.id);
    PutBE64(key, f.tenant_seq);
    blocks.AddKey(std::move(key));
  }
  const auto time_ms = static_cast<uint64_t>(std::max<int64_t>(0, core::ToUnixMillis(f.time)));
  in_order = blocks.AddTime(TimePrefix(f.tenant), time_ms, f.tenant_seq) && in_order;
  if (!in_order) {
    return core::Corruption("event " + std::to_string(f.seq) + " of " + std::string(f.tenant) +
                            " is out of its tenant's order or time");
  }
  return core::OkStatus();
}

}  // namespace

core::Status ValidateAuditActions(const std::vector<std::string>& actions) {
  for (const std::string& a : actions) {
    const bool prefix = a.ends_with(".*");
    const std::string_view type = prefix ? std::string_view(a).substr(0, a.size() - 2) : a;
    // A prefix may be a single segment ("user"): check it as if it had one more.
    const bool valid =
        prefix ? core::IsValidEventType(std::string(type) + ".x") : core::IsValidEventType(type);
    if (!valid) {
      return core::InvalidField(
          "action", "'" + a.substr(0, 80) + "' is neither an event type nor a prefix ending in .*");
    }
  }
  return core::OkStatus();
}

core::Result<std::unique_ptr<AuditIndex>> AuditIndex::Open(const core::EventLog& log,
                                                           core::KvStore& kv,
                                                           AuditIndexOptions options) {
  std::unique_ptr<AuditIndex> index(new AuditIndex(log, kv, options));
  CUSTOS_ASSIGN_OR_RETURN(std::optional<core::Seq> checkpoint, kv.GetCheckpoint(kAuditCheckpoint));
  // Heads first, then everything up to at least them: each tenant is indexed up to its head.
  std::vector<std::pair<std::string, uint64_t>> heads;
  for (const core::TenantId& t : log.Tenants()) {
    if (std::optional<core::TenantHead> h = log.Head(t)) {
      heads.emplace_back(t.value(), h->tenant_seq.value());
    }
  }
  if (!checkpoint || (checkpoint->value() == 0 && log.LastSeq().value() > 0)) {
    // No block index yet (a new data dir, or one indexed by an earlier version), or blocks
    // without their checkpoint (a bulk build cut short): whatever is there is dropped, so
    // that indexing from the start never lays blocks over others, and built in bulk. An
    // earlier version started again on this data dir re-indexes from the start too, in its
    // own keys.
    CUSTOS_ASSIGN_OR_RETURN(uint64_t indexed, index->IndexAllInBulk());
    (void)indexed;
    checkpoint = core::Seq(index->indexed_.load());
  }
  index->indexed_.store(checkpoint->value());
  while (index->indexed_.load() < log.LastSeq().value()) {
    CUSTOS_RETURN_IF_ERROR(index->IndexMore(kIndexBatch));
  }
  {
    std::unique_lock lock(index->heads_mu_);
    for (const auto& [tenant, seq] : heads) {
      uint64_t& h = index->indexed_heads_[tenant];
      h = std::max(h, seq);
    }
  }
  if (options.follow) {
    AuditIndex* self = index.get();
    index->thread_ = std::thread([self] { self->Run(); });
  }
  return index;
}

AuditIndex::~AuditIndex() {
  {
    std::lock_guard lock(mu_);
    stop_.store(true);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AuditIndex::Run() {
  while (!stop_.load()) {
    core::Result<uint64_t> n = IndexMore(kIndexBatch);
    if (!n.ok()) {
      std::unique_lock lock(mu_);
      error_ = n.error().message;
      cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stop_.load(); });
      continue;
    }
    if (*n == 0)
      (void)log_.WaitForAppend(core::Seq(indexed_.load()), std::chrono::milliseconds(50));
  }
}

core::Result<uint64_t> AuditIndex::IndexMore(size_t max) {
  std::lock_guard index_lock(index_mu_);
  return IndexMoreLocked(max);
}

core::Result<uint64_t> AuditIndex::IndexMoreLocked(size_t max) {
  if (bulk_pending_) return IndexAllInBulk();  // the last one failed: start it again
  const uint64_t from = indexed_.load();
  // Captured first: every event up to here is readable now, or purged.
  const uint64_t last = log_.LastSeq().value();
  if (last <= from) return uint64_t{0};
  // Read in pages until `max` events or kMaxBatchBytes of lines: a batch of big events
  // stays bounded in memory.
  std::vector<core::StoredEvent> events;
  size_t bytes = 0;
  bool at_end = false;
  uint64_t next = from + 1;
  while (!at_end && events.size() < max && bytes < kMaxBatchBytes) {
    const size_t want = std::min(kReadPage, max - events.size());
    CUSTOS_ASSIGN_OR_RETURN(std::vector<core::StoredEvent> page, log_.Read(core::Seq(next), want));
    at_end = page.size() < want;  // a short page is the end of the log
    if (page.empty()) break;
    next = page.back().seq.value() + 1;
    for (core::StoredEvent& e : page) {
      bytes += e.line.size();
      events.push_back(std::move(e));
    }
  }
  uint64_t upto = at_end ? last : 0;
  core::KvBatch batch;
  BlockBuilder blocks(options_.max_block_entries);
  for (const core::StoredEvent& e : events) {
    CUSTOS_ASSIGN_OR_RETURN(core::LineFields f, core::ParseLineFields(e.line));
    CUSTOS_RETURN_IF_ERROR(IndexLine(f, e.line, blocks));
    upto = std::max(upto, e.seq.value());
  }
  blocks.WriteTo(batch);
  batch.SetCheckpoint(kAuditCheckpoint, core::Seq(upto));
  CUSTOS_RETURN_IF_ERROR(kv_.Write(batch, core::Durability::kNoSync));
  std::unordered_map<std::string, uint64_t> heads;
  for (const core::StoredEvent& e : events) {
    uint64_t& h = heads[e.tenant.value()];
    h = std::max(h, e.tenant_seq.value());
  }
  Advance(heads, upto);
  return static_cast<uint64_t>(events.size());
}

void AuditIndex::Advance(const std::unordered_map<std::string, uint64_t>& heads, uint64_t upto) {
  {
    std::unique_lock lock(heads_mu_);
    for (const auto& [tenant, seq] : heads) {
      uint64_t& h = indexed_heads_[tenant];
      h = std::max(h, seq);
    }
  }
  {
    std::lock_guard lock(mu_);
    indexed_.store(upto);
    error_.clear();
  }
  cv_.notify_all();
}

core::Result<uint64_t> AuditIndex::IndexAllInBulk() {
  // Until a bulk build ends well, indexing means building in bulk again: blocks of a build
  // cut short must not stay under the indexing thread's.
  bulk_pending_ = true;
  core::KvBatch drop;
  drop.Delete(core::Space::kCheckpoint, kAuditCheckpoint);
  drop.SetCheckpoint(kPostingsCheckpoint, core::Seq(0));
  CUSTOS_RETURN_IF_ERROR(kv_.Write(drop, core::Durability::kSync));
  CUSTOS_RETURN_IF_ERROR(kv_.ClearSpace(core::Space::kAudit));
  indexed_.store(0);
  {
    std::unique_lock lock(heads_mu_);
    indexed_heads_.clear();
  }
  // Everything up to `last` is indexed at the end: each tenant's stream read in order (one
  // sequential scan of the tenant's keys, not the log's interleaving of tenants) up to its
  // last event at or below `last`; what comes after is the indexing thread's.
  // The heads and `last` as of one commit: a tenant's events up to its head are exactly its
  // events up to `last` (on a follower the lines' seqs are the leader's, not this log's).
  const core::EventLog::HeadsAt at = log_.Heads();
  const uint64_t last = at.last.value();
  // In key order (a tenant's keys all start with it and \0), so that the files written for
  // successive tenants do not overlap.

  BlockBuilder blocks(options_.max_block_entries);
  std::vector<SortedBlocks> file;  // for the next ingest, in order
  size_t file_items = 0;
  std::unordered_map<std::string, uint64_t> heads;
  uint64_t total = 0;
  size_t gathered = 0;  // events in `blocks`
  // One file is written and ingested on a thread of its own while the next is gathered.
  std::future<core::Status> writing;
  auto ingest = [&]() -> core::Status {
    try {
      if (writing.valid()) CUSTOS_RETURN_IF_ERROR(writing.get());
      if (file.empty()) return core::OkStatus();
      writing = std::async(std::launch::async, [&kv = kv_, parts = std::move(file)] {
        size_t part = 0;
        size_t at = 0;
        return kv.IngestSorted(core::Space::kAudit,
                               [&](std::string_view& key, std::string_view& value) {
                                 while (part < parts.size() && at == parts[part].size()) {
                                   ++part;
                                   at = 0;
                                 }
                                 if (part == parts.size()) return false;
                                 key = parts[part].key(at);
                                 value = parts[part].value(at);
                                 ++at;
                                 return true;
                               });
      });
    } catch (const std::exception& e) {  // no thread, or no memory, for the file
      return core::Internal(std::string("writing the audit index: ") + e.what());
    }
    file.clear();
    file_items = 0;
    return core::OkStatus();
  };
  // A tenant's blocks follow the file's keys (those of tenants before it); part of a tenant
  // does too, but the rest of it then goes into the next file.
  auto take_blocks = [&]() {
    file.emplace_back();
    blocks.Finish(file.back());
    file_items += file.back().size();
    gathered = 0;
  };
  for (const auto& [tenant, tenant_head] : at.heads) {
    core::Status failed;
    uint64_t head = 0;
    CUSTOS_ASSIGN_OR_RETURN(uint64_t scanned,
                            log_.ScanTenant(tenant, core::TenantSeq(1), tenant_head.tenant_seq,
                                            [&](uint64_t tenant_seq, std::string_view line) {
                                              core::Result<core::LineFields> f =
                                                  core::ParseLineFields(line);
                                              if (!f.ok()) {
                                                failed = f.error();
                                                return false;
                                              }
                                              failed = IndexLine(*f, line, blocks);
                                              if (!failed.ok()) return false;
                                              head = tenant_seq;
                                              ++total;
                                              if (++gathered >= options_.bulk_events) {
                                                take_blocks();
                                                failed = ingest();
                                                if (!failed.ok()) return false;
                                              }
                                              return true;
                                            }));
    (void)scanned;
    CUSTOS_RETURN_IF_ERROR(failed);
    if (head != 0) heads[tenant.value()] = head;
    take_blocks();
    if (file_items >= options_.bulk_events) CUSTOS_RETURN_IF_ERROR(ingest());
  }
  CUSTOS_RETURN_IF_ERROR(ingest());
  CUSTOS_RETURN_IF_ERROR(ingest());  // waits for the last file
  // The checkpoint first: whoever is woken by Advance (CatchUp) finds the build recorded.
  core::KvBatch done;
  done.SetCheckpoint(kAuditCheckpoint, core::Seq(last));
  CUSTOS_RETURN_IF_ERROR(kv_.Write(done, core::Durability::kSync));
  bulk_pending_ = false;
  Advance(heads, last);
  return total;
}

core::Status AuditIndex::WaitFor(core::Seq seq, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  if (cv_.wait_for(lock, timeout, [&] { return indexed_.load() >= seq.value() || stop_.load(); }) &&
      indexed_.load() >= seq.value()) {
    return core::OkStatus();
  }
  return core::Unavailable("the audit index is behind the log (indexed " +
                           std::to_string(indexed_.load()) + " of " + std::to_string(seq.value()) +
                           ")" + (error_.empty() ? std::string() : ": " + error_));
}

uint64_t AuditIndex::IndexedTenantSeq(const core::TenantId& tenant) const {
  std::shared_lock lock(heads_mu_);
  auto it = indexed_heads_.find(tenant.value());
  return it == indexed_heads_.end() ? 0 : it->second;
}

core::Status AuditIndex::CatchUp(std::chrono::milliseconds timeout) const {
  return WaitFor(log_.LastSeq(), timeout);
}

core::Result<std::string> AuditIndex::Digest(const core::TenantId& tenant, uint64_t from,
                                             uint64_t to, std::chrono::milliseconds timeout) const {
  if (IndexedTenantSeq(tenant) < to) {
    CUSTOS_RETURN_IF_ERROR(CatchUp(timeout));
    if (IndexedTenantSeq(tenant) < to) {
      return core::Unavailable("the audit index of " + tenant.value() + " is behind " +
                               std::to_string(to));
    }
  }
  core::Sha256 hasher;
  std::string buffer;  // hashed in pieces
  std::string run;     // the run whose name was hashed last
  std::vector<uint64_t> seqs;
  std::vector<std::pair<uint64_t, uint64_t>> times;
  // A run's name is hashed before its first entry in range: a block below the purge floor that
  // one node's compaction dropped and another's kept changes nothing.
  auto entry = [&](std::string_view name, uint64_t tenant_seq, std::optional<uint64_t> time_ms) {
    if (tenant_seq < from || tenant_seq > to) return;
    if (name != run) {
      run.assign(name);
      buffer.append("\n").append(name).push_back('\0');
    }
    PutBE64(buffer, tenant_seq);
    if (time_ms) PutBE64(buffer, *time_ms);
    if (buffer.size() >= 65536) {
      hasher.Update(buffer);
      buffer.clear();
    }
  };
  const std::string prefix = tenant.value() + std::string(1, '\0');
  core::Status bad;
  CUSTOS_RETURN_IF_ERROR(
      kv_.Scan(core::Space::kAudit, prefix, [&](std::string_view key, std::string_view value) {
        const std::string_view rest = key.substr(prefix.size());
        const size_t tail = !rest.empty() && rest[0] == kTimeKind ? 16 : 8;
        if (rest.empty() || rest.size() < tail + 1) {
          bad = core::Corruption("an audit index key of " + tenant.value() + " is cut short");
          return false;
        }
        const std::string_view name = key.substr(0, key.size() - tail);
        switch (rest[0]) {
          case kEventKind:
            entry(name, GetBE64(key.substr(key.size() - 8)), std::nullopt);
            return true;
          case kTimeKind:
            if (bad = internal::DecodeTimeBlock(value, times); !bad.ok()) return false;
            for (const auto& [time_ms, tenant_seq] : times) entry(name, tenant_seq, time_ms);
            return true;
          case kActorKind:
          case kTypeKind:
          case kPrefixKind:
          case kTargetKind:
            if (bad = internal::DecodeBlock(value, seqs); !bad.ok()) return false;
            for (uint64_t tenant_seq : seqs) entry(name, tenant_seq, std::nullopt);
            return true;
          default:
            bad = core::Corruption("an audit index key of " + tenant.value() +
                                   " is of no known kind");
            return false;
        }
      }));
  CUSTOS_RETURN_IF_ERROR(bad);
  hasher.Update(buffer);
  return core::DigestHex(hasher.Finish());
}

core::Result<std::optional<uint64_t>> AuditIndex::FirstSeqAtOrAfter(const core::TenantId& tenant,
                                                                    core::Time t) const {
  const std::string prefix = TimePrefix(tenant.value());
  std::string key = prefix;
  PutBE64(key, static_cast<uint64_t>(std::max<int64_t>(0, core::ToUnixMillis(t))));
  std::unique_ptr<core::KvIterator> it = kv_.NewIterator(core::Space::kAudit);
  it->Seek(key);  // the first time block whose last time is >= t
  CUSTOS_RETURN_IF_ERROR(it->status());
  if (!it->Valid() || it->key().size() != prefix.size() + 16 || !it->key().starts_with(prefix)) {
    return std::optional<uint64_t>();
  }
  std::vector<std::pair<uint64_t, uint64_t>> entries;
  CUSTOS_RETURN_IF_ERROR(internal::DecodeTimeBlock(it->value(), entries));
  const std::string_view tail = it->key().substr(prefix.size());
  if (entries.back() != std::make_pair(GetBE64(tail.substr(0, 8)), GetBE64(tail.substr(8)))) {
    return core::Corruption("an audit index time block does not end where its key says");
  }
  const uint64_t ms = static_cast<uint64_t>(std::max<int64_t>(0, core::ToUnixMillis(t)));
  for (const auto& [time, seq] : entries) {
    if (time >= ms) return std::optional<uint64_t>(seq);
  }
  return core::Corruption("an audit index time block ends before its key says");
}

core::Result<std::optional<uint64_t>> AuditIndex::FindEvent(const core::TenantId& tenant,
                                                            std::string_view event_id) const {
  if (!Keyable(event_id)) return std::optional<uint64_t>();
  const std::string prefix = RunPrefix(tenant.value(), kEventKind, event_id);
  std::unique_ptr<core::KvIterator> it = kv_.NewIterator(core::Space::kAudit);
  it->Seek(prefix);
  CUSTOS_RETURN_IF_ERROR(it->status());
  if (!it->Valid() || it->key().size() != prefix.size() + 8 || !it->key().starts_with(prefix)) {
    return std::optional<uint64_t>();
  }
  return std::optional<uint64_t>(GetBE64(it->key().substr(prefix.size())));
}

core::Result<std::optional<std::pair<uint64_t, uint64_t>>> AuditIndex::Bounds(
    const AuditQuery& q) const {
  using Range = std::optional<std::pair<uint64_t, uint64_t>>;
  const std::optional<core::TenantHead> head = log_.Head(q.tenant);
  if (!head) return Range();

  // The tenant_seq range [lo, hi] the bounds allow.
  uint64_t lo = std::max<uint64_t>(1, q.min_tenant_seq);
  uint64_t hi = std::min(head->tenant_seq.value(), IndexedTenantSeq(q.tenant));
  if (q.max_tenant_seq) hi = std::min(hi, *q.max_tenant_seq);
  for (const std::optional<core::Time>& bound : {q.from, q.not_before}) {
    if (!bound) continue;
    CUSTOS_ASSIGN_OR_RETURN(std::optional<uint64_t> first, FirstSeqAtOrAfter(q.tenant, *bound));
    if (!first) return Range();
    lo = std::max(lo, *first);
  }
  if (q.to) {
    CUSTOS_ASSIGN_OR_RETURN(std::optional<uint64_t> first, FirstSeqAtOrAfter(q.tenant, *q.to));
    if (first) {
      if (*first == 0) return Range();
      hi = std::min(hi, *first - 1);
    }
  }
  if (q.after) {
    if (q.descending) {
      if (*q.after == 0) return Range();
      hi = std::min(hi, *q.after - 1);
    } else {
      lo = std::max(lo, *q.after + 1);
    }
  }
  if (lo > hi) return Range();
  return Range(std::make_pair(lo, hi));
}

namespace {

bool AnyOf(const std::vector<std::string>& values, std::string_view v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

// Whether a stored line passes a query's filters and time bounds, as the index would find
// it (the tenant_seq bounds are the caller's).
//
// The parties first: in the tail of a busy tenant most lines are some other actor's, and
// reading who acted (one search for the actor, ids read in place) costs less than the
// framing's checks. A line whose parties match no filter is passed over before its framing
// is read, so a damaged framing shows only on lines the query would return.
core::Result<bool> LineMatches(const AuditQuery& q, std::string_view line) {
  if (!q.actors.empty() || !q.targets.empty()) {
    CUSTOS_ASSIGN_OR_RETURN(core::LineParties p, core::ParseLineParties(line));
    if (!q.actors.empty() && !(Keyable(p.actor_id) && AnyOf(q.actors, p.actor_id))) {
      return false;
    }
    if (!q.targets.empty() && !(Keyable(p.target_id) && AnyOf(q.targets, p.target_id))) {
      return false;
    }
  }
  CUSTOS_ASSIGN_OR_RETURN(core::LineFields f, core::ParseLineFields(line));
  if (q.from && f.time < *q.from) return false;
  if (q.to && f.time >= *q.to) return false;
  if (q.not_before && f.time < *q.not_before) return false;
  if (!q.actions.empty()) {
    bool any = false;
    for (const std::string& a : q.actions) {
      any = a.ends_with(".*") ? f.type.starts_with(std::string_view(a).substr(0, a.size() - 1))
                              : f.type == a;
      if (any) break;
    }
    if (!any) return false;
  }
  return true;
}

}  // namespace

uint64_t AuditIndex::Unindexed(const core::TenantId& tenant) const {
  const std::optional<core::TenantHead> head = log_.Head(tenant);
  if (!head) return 0;
  const uint64_t indexed = IndexedTenantSeq(tenant);
  return head->tenant_seq.value() > indexed ? head->tenant_seq.value() - indexed : 0;
}

core::Status AuditIndex::ForEachMatch(const AuditQuery& q, const std::function<bool(uint64_t)>& fn,
                                      Progress* progress) const {
  CUSTOS_RETURN_IF_ERROR(ValidateAuditActions(q.actions));
  // The tenant's head and indexed head now: what lies between (the tail) is matched line by
  // line, and the index answers below it, so a query need not wait for the index.
  const std::optional<core::TenantHead> head = log_.Head(q.tenant);
  if (!head) return core::OkStatus();
  const uint64_t indexed = IndexedTenantSeq(q.tenant);
  if (indexed >= head->tenant_seq.value()) return ForEachIndexed(q, fn, progress);

  uint64_t lo = std::max({indexed + 1, q.min_tenant_seq, uint64_t{1}});
  uint64_t hi = std::min(head->tenant_seq.value(), q.max_tenant_seq.value_or(UINT64_MAX));
  if (q.after) {
    if (q.descending) {
      if (*q.after == 0) return core::OkStatus();
      hi = std::min(hi, *q.after - 1);
    } else {
      lo = std::max(lo, *q.after + 1);
    }
  }
  AuditQuery below = q;  // the index's part: up to the indexed head taken above
  below.max_tenant_seq = std::min(indexed, q.max_tenant_seq.value_or(UINT64_MAX));
  Progress local;
  Progress& out = progress != nullptr ? *progress : local;
  // LineMatches; false (ending the scan) on a line it cannot read, kept in `failed`.
  core::Status failed;
  auto match = [&](std::string_view line, bool& matched) {
    core::Result<bool> m = LineMatches(q, line);
    if (!m.ok()) {
      failed = m.error();
      return false;
    }
    matched = *m;
    return true;
  };
  // The tail's lines are counted as work after the index part has had its whole budget, so
  // a long tail never ends a page before the index part has moved it on.
  if (q.descending) {
    // Newest first: the tail is read backwards only as far as the page needs.
    bool stopped = false;
    uint64_t scanned_lines = 0;
    if (lo <= hi) {
      CUSTOS_ASSIGN_OR_RETURN(
          uint64_t reached,
          log_.ScanTenantBackward(q.tenant, core::TenantSeq(lo), core::TenantSeq(hi),
                                  [&](uint64_t tenant_seq, std::string_view line) {
                                    ++scanned_lines;
                                    bool matched = false;
                                    if (!match(line, matched)) return false;
                                    if (matched && !fn(tenant_seq)) {
                                      stopped = true;
                                      return false;
                                    }
                                    return true;
                                  }));
      (void)reached;
      CUSTOS_RETURN_IF_ERROR(failed);
    }
    if (!stopped) CUSTOS_RETURN_IF_ERROR(ForEachIndexed(below, fn, &out));
    out.work += scanned_lines;
    return core::OkStatus();
  }
  std::vector<uint64_t> tail;
  if (lo <= hi) {
    CUSTOS_ASSIGN_OR_RETURN(uint64_t scanned,
                            log_.ScanTenant(q.tenant, core::TenantSeq(lo), core::TenantSeq(hi),
                                            [&](uint64_t tenant_seq, std::string_view line) {
                                              bool matched = false;
                                              if (!match(line, matched)) return false;
                                              if (matched) tail.push_back(tenant_seq);
                                              return true;
                                            }));
    (void)scanned;
    CUSTOS_RETURN_IF_ERROR(failed);
  }
  const uint64_t tail_work = lo <= hi ? hi - lo + 1 : 0;
  bool stopped = false;
  CUSTOS_RETURN_IF_ERROR(ForEachIndexed(
      below,
      [&](uint64_t s) {
        stopped = !fn(s);
        return !stopped;
      },
      &out));
  out.work += tail_work;
  if (stopped || out.ran_out_at) return core::OkStatus();
  for (uint64_t s : tail) {
    if (!fn(s)) break;
  }
  return core::OkStatus();
}

core::Status AuditIndex::ForEachIndexed(const AuditQuery& q,
                                        const std::function<bool(uint64_t)>& fn,
                                        Progress* progress) const {
  Progress ignored;
  Progress& out = progress != nullptr ? *progress : ignored;
  CUSTOS_ASSIGN_OR_RETURN(auto range, Bounds(q));
  if (!range) return core::OkStatus();
  const uint64_t lo = range->first;
  const uint64_t hi = range->second;

  std::vector<Union> filters;
  auto add_filter = [&](const std::vector<std::string>& values, auto&& prefix_of) {
    if (values.empty()) return;
    Union u(q.descending);
    for (const std::string& v : values) {
      u.Add(Posting(kv_.NewIterator(core::Space::kAudit), prefix_of(v), q.descending));
    }
    filters.push_back(std::move(u));
  };
  const std::string& tenant = q.tenant.value();
  add_filter(q.actors, [&](const std::string& v) { return RunPrefix(tenant, kActorKind, v); });
  add_filter(q.targets, [&](const std::string& v) { return RunPrefix(tenant, kTargetKind, v); });
  add_filter(q.actions, [&](const std::string& v) {
    return v.ends_with(".*")
               ? RunPrefix(tenant, kPrefixKind, std::string_view(v).substr(0, v.size() - 2))
               : RunPrefix(tenant, kTypeKind, v);
  });

  uint64_t candidate = q.descending ? hi : lo;
  auto in_range = [&](uint64_t v) { return v >= lo && v <= hi; };
  uint64_t& work = out.work;
  while (in_range(candidate)) {
    if (q.work_budget != 0 && work >= q.work_budget) {
      out.ran_out_at = candidate;
      break;
    }
    // Leapfrog: every filter must land on the candidate; one that lands further moves it.
    bool agreed = true;
    for (Union& f : filters) {
      work += f.size();
      std::optional<uint64_t> v = f.SeekTo(candidate);
      if (!v || !in_range(*v)) {
        for (const Union& g : filters) CUSTOS_RETURN_IF_ERROR(g.status());
        return core::OkStatus();
      }
      if (*v != candidate) {
        candidate = *v;
        agreed = false;
        break;
      }
    }
    if (!agreed) continue;
    ++work;
    if (!fn(candidate)) break;
    if (q.descending) {
      if (candidate == 0) break;
      --candidate;
    } else {
      ++candidate;
    }
  }
  for (const Union& f : filters) CUSTOS_RETURN_IF_ERROR(f.status());
  return core::OkStatus();
}

core::Result<AuditPage> AuditIndex::Query(const AuditQuery& q) const {
  std::vector<core::TenantSeq> seqs;
  const size_t limit = std::max<size_t>(1, q.limit);
  bool more = false;
  Progress progress;
  CUSTOS_RETURN_IF_ERROR(ForEachMatch(
      q,
      [&](uint64_t tenant_seq) {
        if (seqs.size() == limit) {
          more = true;
          return false;
        }
        seqs.emplace_back(tenant_seq);
        return true;
      },
      &progress));
  AuditPage page;
  page.work = progress.work;
  if (const std::optional<uint64_t>& ran_out_at = progress.ran_out_at) {
    // Out of work: the next page starts where the search stopped (a cursor names the last
    // tenant_seq already covered, in the query's order).
    page.next = q.descending ? *ran_out_at + 1 : *ran_out_at - 1;
  } else if (more) {
    page.next = seqs.back().value();
  }
  // The lines, a few at a time, until the page's bytes run out (at least one line).
  constexpr size_t kFetch = 64;
  size_t bytes = 0;
  for (size_t at = 0; at < seqs.size(); at += kFetch) {
    const std::vector<core::TenantSeq> some(
        seqs.begin() + static_cast<std::ptrdiff_t>(at),
        seqs.begin() + static_cast<std::ptrdiff_t>(std::min(seqs.size(), at + kFetch)));
    CUSTOS_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> lines,
                            log_.GetTenantEvents(q.tenant, some));
    for (size_t i = 0; i < lines.size(); ++i) {
      if (q.max_bytes != 0 && bytes > 0 && bytes + lines[i].value_or("").size() > q.max_bytes) {
        page.next = at + i > 0 ? seqs[at + i - 1].value() : seqs[0].value();
        return page;
      }
      if (!lines[i]) continue;  // purged meanwhile
      bytes += lines[i]->size();
      page.lines.push_back(std::move(*lines[i]));
    }
  }
  return page;
}

core::Result<uint64_t> AuditIndex::Rebuild() {
  // The indexing thread waits on index_mu_ until the rebuild is done.
  std::lock_guard index_lock(index_mu_);
  return IndexAllInBulk();
}

}  // namespace custos::projections
