#include "projections/follower.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "core/event.h"
#include "core/iam/password.h"
#include "core/ids.h"
#include "core/json_value.h"
#include "core/json_writer.h"
#include "core/log.h"

namespace custos::projections {
namespace {

// Checkpoints "follow/<partition>": the offset of the partition's next record to apply.
constexpr std::string_view kOffsetPrefix = "follow/";
// Space kIndex: "follow-halted\0" tenant → why the tenant stopped.
const std::string kHaltedPrefix("follow-halted\0", 14);
// Space kIndex: "follow-purge\0" tenant → the tenant's last retention record applied and not
// purged yet: stored with it, removed once its purge is made, so a crash between the two
// leaves the purge to the next start, not undone.
const std::string kPurgePrefix("follow-purge\0", 13);

std::string OffsetKey(int32_t partition) {
  return std::string(kOffsetPrefix) + std::to_string(partition);
}

}  // namespace

// One poll's worth, checked: what is stored in one write.
struct Follower::Batch {
  core::ReplicatedWrite write;
  std::map<std::string, size_t> chain_of;         // tenant → index in write.chains
  std::map<std::string, core::TenantHead> heads;  // as this batch leaves them
  std::map<std::string, std::string> halted;      // halted in this batch
  std::map<std::string, uint64_t> seqs;           // tenant → highest leader seq in it
  std::vector<Credentials::RevokedRoot> root_revocations;
  std::vector<std::pair<std::string, std::string>> purges;  // tenant, retention record
  std::vector<core::Time> times;                            // of the applied events
  uint64_t applied = 0;
  uint64_t duplicates = 0;
  uint64_t unauthenticated = 0;
  uint64_t max_seq = 0;
  core::Time last_time{};
};

Follower::Follower(IdentityService& identity, core::EventLog& log, core::KvStore& kv,
                   Credentials& credentials, core::LineFeed& feed, const core::Clock& clock,
                   FollowerOptions options)
    : identity_(identity),
      log_(log),
      kv_(kv),
      credentials_(credentials),
      feed_(feed),
      clock_(clock),
      options_(options),
      lag_ms_([] {
        std::vector<double> bounds(10000);
        for (size_t i = 0; i < bounds.size(); ++i) bounds[i] = static_cast<double>(i + 1);
        return bounds;
      }()) {}

Follower::~Follower() { Stop(); }

core::Result<std::map<int32_t, int64_t>> Follower::StoredOffsets(const core::KvStore& kv) {
  std::map<int32_t, int64_t> out;
  core::Status bad;
  CUSTOS_RETURN_IF_ERROR(kv.Scan(
      core::Space::kCheckpoint, kOffsetPrefix, [&](std::string_view key, std::string_view value) {
        const std::string p(key.substr(kOffsetPrefix.size()));
        std::optional<core::Seq> next = core::DecodeCheckpoint(value);
        if (p.empty() || p.size() > 9 || !next ||
            p.find_first_not_of("0123456789") != std::string::npos) {
          bad = core::Corruption("bad follower offset " + std::string(key));
          return false;
        }
        out[std::stoi(p)] = static_cast<int64_t>(next->value());
        return true;
      }));
  CUSTOS_RETURN_IF_ERROR(bad);
  return out;
}

core::Status Follower::Start() {
  std::map<std::string, std::string> halted;
  CUSTOS_RETURN_IF_ERROR(
      kv_.Scan(core::Space::kIndex, kHaltedPrefix, [&](std::string_view key, std::string_view v) {
        halted.emplace(std::string(key.substr(kHaltedPrefix.size())), std::string(v));
        return true;
      }));
  // Where each tenant stands, in the leader's seqs (what Custos-Min-Seq names).
  std::map<std::string, uint64_t> seqs;
  uint64_t applied_seq = 0;
  for (const core::TenantId& tenant : log_.Tenants()) {
    std::optional<core::TenantHead> head = log_.Head(tenant);
    if (!head) continue;
    CUSTOS_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> last,
                            log_.GetTenantEvents(tenant, {head->tenant_seq}));
    if (!last[0]) continue;
    core::Result<core::LineFields> f = core::ParseLineFields(*last[0]);
    if (!f.ok()) return f.error();
    seqs[tenant.value()] = f->seq;
    applied_seq = std::max(applied_seq, f->seq);
  }
  using Offsets = std::map<int32_t, int64_t>;
  CUSTOS_ASSIGN_OR_RETURN(Offsets offsets, StoredOffsets(kv_));
  {
    std::lock_guard lock(mu_);
    halted_ = std::move(halted);
    tenant_seq_ = std::move(seqs);
    applied_seq_ = applied_seq;
  }
  for (const auto& [tenant, why] : halted_) {
    core::log::Error("follower: tenant halted", {{"tenant", tenant}, {"reason", why}});
  }
  // Purges stored and not made before a stop or a crash.
  std::vector<std::pair<std::string, std::string>> purges;
  CUSTOS_RETURN_IF_ERROR(
      kv_.Scan(core::Space::kIndex, kPurgePrefix, [&](std::string_view key, std::string_view v) {
        purges.emplace_back(std::string(key.substr(kPurgePrefix.size())), std::string(v));
        return true;
      }));
  for (const auto& [tenant, line] : purges) PurgeAfter(tenant, line);
  stop_.store(false);
  thread_ = std::thread([this, offsets = std::move(offsets)] {
    // The topic may not exist yet (a leader that has published nothing): try until it does.
    while (!stop_.load()) {
      core::Status started = feed_.Start(offsets);
      if (started.ok()) break;
      core::log::Warn("follower: the feed did not start", {{"reason", started.error().message}});
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, options_.retry, [&] { return stop_.load(); });
    }
    Run();
  });
  return core::OkStatus();
}

void Follower::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_.store(true);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Follower::Run() {
  while (!stop_.load()) {
    core::Result<bool> stepped = Step();
    if (feed_.Lag() == std::optional<uint64_t>(0) && feed_.Reachable()) {
      std::lock_guard lock(mu_);
      last_current_ = clock_.Now();
    }
    if (stepped.ok()) continue;
    core::log::Error("follower: a batch was not stored; reading it again",
                     {{"reason", stepped.error().message}});
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, options_.retry, [&] { return stop_.load(); });
    }
    // Back to what is stored, before anything more is polled: the batch is read again.
    while (!stop_.load()) {
      core::Result<std::map<int32_t, int64_t>> offsets = StoredOffsets(kv_);
      core::Status s = offsets.ok() ? feed_.Start(*offsets) : core::Status(offsets.error());
      if (s.ok()) break;
      core::log::Warn("follower: the feed did not go back to the stored offsets",
                      {{"reason", s.error().message}});
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, options_.retry, [&] { return stop_.load(); });
    }
  }
}

core::Result<bool> Follower::SameAsApplied(const std::string& tenant, const core::TenantHead& head,
                                           const core::LineFields& f) const {
  if (f.tenant_seq == head.tenant_seq.value()) return f.hash == head.hash;
  CUSTOS_ASSIGN_OR_RETURN(
      std::vector<std::optional<std::string>> stored,
      log_.GetTenantEvents(core::TenantId(tenant), {core::TenantSeq(f.tenant_seq)}));
  // In this batch, not stored yet (it was applied a few records ago), or purged: the chain
  // check of what follows still holds.
  if (!stored[0]) return true;
  core::Result<core::LineFields> applied = core::ParseLineFields(*stored[0]);
  if (!applied.ok()) return applied.error();
  return applied->hash == f.hash;
}

void Follower::Halt(Batch& batch, const std::string& tenant, const std::string& why) {
  if (batch.halted.contains(tenant)) return;
  batch.halted.emplace(tenant, why);
  batch.write.side_writes.Put(core::Space::kIndex, kHaltedPrefix + tenant, why);
}

core::Result<bool> Follower::Step() {
  CUSTOS_ASSIGN_OR_RETURN(std::vector<core::FeedRecord> records,
                          feed_.Poll(options_.max_batch, options_.poll));
  if (records.empty()) {
    {
      std::lock_guard lock(mu_);
      ++batches_;
    }
    cv_.notify_all();
    return false;
  }
  std::map<std::string, std::string> halted;
  {
    std::lock_guard lock(mu_);
    halted = halted_;
  }
  Batch b;
  std::map<int32_t, int64_t> next_offsets;
  for (const core::FeedRecord& r : records) {
    // First, before anything of the line is parsed: a record not the leader's costs no more.
    // Nor does it move its partition's stored offset (the leader's next record does): a
    // follower given the wrong key, or following a leader without one, has skipped nothing
    // for good once it is restarted with the right one.
    if (!options_.replication_key.empty() &&
        !core::iam::ConstantTimeEquals(r.mac,
                                       core::RecordMac(options_.replication_key, r.key, r.value))) {
      // Whoever else can write to the topic adds nothing.
      if (b.unauthenticated++ == 0) {
        core::log::Error(
            "follower: a record without the replication key's custos-mac; skipped",
            {{"key", std::string(core::TruncateUtf8(r.key, 64))},
             {"partition", std::to_string(r.partition)},
             {"offset", std::to_string(r.offset)},
             {"reason", r.mac.empty() ? "no custos-mac header" : "a custos-mac of another key"}});
      }
      continue;
    }
    next_offsets[r.partition] = r.offset + 1;
    core::Result<core::LineFields> f = core::VerifyLine(r.value);
    std::string tenant;
    if (f.ok()) {
      tenant = f->tenant;
    } else {
      core::Result<core::LineFields> framing = core::ParseLineFields(r.value);
      tenant = framing.ok() ? std::string(framing->tenant) : r.key;
    }
    if (!core::IsValidTenantId(tenant)) {
      core::log::Error(
          "follower: a record names no tenant; skipped",
          {{"partition", std::to_string(r.partition)}, {"offset", std::to_string(r.offset)}});
      continue;
    }
    if (halted.contains(tenant) || b.halted.contains(tenant)) continue;
    auto at = b.heads.find(tenant);
    if (at == b.heads.end()) {
      std::optional<core::TenantHead> head = log_.Head(core::TenantId(tenant));
      at =
          b.heads
              .emplace(tenant, head.value_or(core::TenantHead{
                                   core::TenantSeq(0), std::string(core::kZeroHash), core::Time{}}))
              .first;
    }
    core::TenantHead& head = at->second;
    const std::string where =
        "partition " + std::to_string(r.partition) + " offset " + std::to_string(r.offset) + ": ";
    if (!f.ok()) {
      Halt(b, tenant, where + f.error().message);
      continue;
    }
    if (r.key != tenant) {
      Halt(b, tenant, where + "the record's key names another tenant than its line");
      continue;
    }
    if (f->tenant_seq <= head.tenant_seq.value()) {
      // A copy (at-least-once) has the hash of the line applied at its place; anything else
      // is a fork of the chain.
      core::Result<bool> same = SameAsApplied(tenant, head, *f);
      if (!same.ok()) return same.error();
      if (!*same) {
        Halt(b, tenant,
             where + "tenant_seq " + std::to_string(f->tenant_seq) +
                 " again, with another hash than the line applied: the topic holds a fork");
        continue;
      }
      ++b.duplicates;
      continue;
    }
    if (f->tenant_seq != head.tenant_seq.value() + 1) {
      Halt(b, tenant,
           where + "tenant_seq " + std::to_string(f->tenant_seq) + " follows " +
               std::to_string(head.tenant_seq.value()) + ": events are missing");
      continue;
    }
    if (f->prev_hash != head.hash) {
      Halt(b, tenant,
           where + "tenant_seq " + std::to_string(f->tenant_seq) +
               ": prev_hash is not the hash of the event before it");
      continue;
    }
    head = core::TenantHead{core::TenantSeq(f->tenant_seq), std::string(f->hash), f->time};
    auto [chain, added] = b.chain_of.emplace(tenant, b.write.chains.size());
    if (added) b.write.chains.push_back(core::ReplicatedChain{core::TenantId(tenant), {}});
    b.write.chains[chain->second].lines.push_back(r.value);
    if (tenant == core::kSystemChain) {
      if (auto revoked = Credentials::RootRevocationIn(r.value)) {
        // Never shortened: a later record cannot give a revoked token back its life.
        const std::optional<core::Time> until = credentials_.RootRevokedUntil(revoked->jti);
        if (!until || *until < revoked->expires_at) {
          Credentials::AddRootRevocation(b.write.side_writes, *revoked);
          b.root_revocations.push_back(std::move(*revoked));
        }
      }
    } else if (f->type == "audit.retention_purged") {
      b.purges.emplace_back(tenant, r.value);
      b.write.side_writes.Put(core::Space::kIndex, kPurgePrefix + tenant, r.value);
    }
    b.seqs[tenant] = std::max(b.seqs[tenant], f->seq);
    b.max_seq = std::max(b.max_seq, f->seq);
    b.last_time = std::max(b.last_time, f->time);
    b.times.push_back(f->time);
    ++b.applied;
  }
  for (const auto& [partition, next] : next_offsets) {
    b.write.side_writes.SetCheckpoint(OffsetKey(partition), core::Seq(static_cast<uint64_t>(next)));
  }
  // Root revocations take effect before their lines are visible (a reader that sees the line
  // finds the token revoked); should the write fail, a revocation a little early is on the
  // safe side, and the line comes again.
  for (const Credentials::RevokedRoot& r : b.root_revocations) {
    credentials_.RememberRootRevocation(r);
  }
  // The states, the lines and the offsets in one write; then what follows from them.
  CUSTOS_RETURN_IF_ERROR(identity_.ApplyReplicated(
      std::move(b.write),
      [&](const core::TenantId& tenant, const std::string& why, core::KvBatch& side_writes) {
        // Lines that verify and follow the chain but do not apply to the tenant's state.
        const std::string reason = "its lines do not apply to its state: " + why;
        b.halted.emplace(tenant.value(), reason);
        side_writes.Put(core::Space::kIndex, kHaltedPrefix + tenant.value(), reason);
        side_writes.Delete(core::Space::kIndex, kPurgePrefix + tenant.value());  // not stored
        b.seqs.erase(tenant.value());
        std::erase_if(b.purges, [&](const auto& p) { return p.first == tenant.value(); });
      }));
  const core::Time durable = clock_.Now();
  for (core::Time t : b.times) {
    lag_ms_.Observe(std::max(0.0, std::chrono::duration<double, std::milli>(durable - t).count()));
  }
  for (const auto& [tenant, line] : b.purges) PurgeAfter(tenant, line);
  for (const auto& [tenant, why] : b.halted) {
    core::log::Error("follower: tenant halted: nothing more of it is applied",
                     {{"tenant", tenant}, {"reason", why}});
  }
  {
    std::lock_guard lock(mu_);
    for (auto& [tenant, why] : b.halted) halted_.emplace(tenant, std::move(why));
    for (const auto& [tenant, seq] : b.seqs) {
      uint64_t& at = tenant_seq_[tenant];
      at = std::max(at, seq);
    }
    applied_seq_ = std::max(applied_seq_, b.max_seq);
    applied_ += b.applied;
    duplicates_ += b.duplicates;
    unauthenticated_ += b.unauthenticated;
    last_time_ = std::max(last_time_, b.last_time);
    ++batches_;
  }
  cv_.notify_all();
  return true;
}

void Follower::PurgeAfter(const std::string& tenant, std::string_view line) {
  core::Status s = Purge(tenant, line);
  if (!s.ok()) {
    core::log::Error("follower: a purge the leader recorded was not made here",
                     {{"tenant", tenant}, {"reason", s.error().message}});
    // A record that does not say what it purged never will: only a failure of the store is
    // tried again, at the next start.
    if (s.error().code != core::Errc::kCorruption) return;
  }
  core::KvBatch done;
  done.Delete(core::Space::kIndex, kPurgePrefix + tenant);
  if (core::Status forgotten = kv_.Write(done, core::Durability::kNoSync); !forgotten.ok()) {
    core::log::Warn("follower: a purge made here stays marked to be made again",
                    {{"tenant", tenant}, {"reason", forgotten.error().message}});
  }
}

core::Status Follower::Purge(const std::string& tenant, std::string_view line) {
  CUSTOS_ASSIGN_OR_RETURN(core::LineFields record, core::ParseLineFields(line));
  CUSTOS_ASSIGN_OR_RETURN(core::JsonValue v, core::ParseJson(line));
  const core::JsonValue* data = v.Find("data");
  auto member = [&](std::string_view name) -> const core::JsonValue* {
    const core::JsonValue* m = data != nullptr ? data->Find(std::string(name)) : nullptr;
    return m != nullptr && (m->is_number() || m->is_string()) ? m : nullptr;
  };
  const core::JsonValue* last_member = member("last_tenant_seq");
  const core::JsonValue* anchor = member("anchor");
  const core::JsonValue* cutoff_member = member("cutoff");
  const core::JsonValue* days_member = member("retention_days");
  uint64_t last = 0;
  int days = 0;
  if (last_member == nullptr || anchor == nullptr || cutoff_member == nullptr ||
      !last_member->is_number() ||
      std::from_chars(last_member->text().data(),
                      last_member->text().data() + last_member->text().size(), last)
              .ec != std::errc() ||
      last == 0 || last >= record.tenant_seq || days_member == nullptr ||
      std::from_chars(days_member->text().data(),
                      days_member->text().data() + days_member->text().size(), days)
              .ec != std::errc()) {
    return core::Corruption("the retention record does not say what it purged");
  }
  CUSTOS_ASSIGN_OR_RETURN(core::Time cutoff, core::ParseTime(cutoff_member->text()));
  const core::TenantId id(tenant);
  // What the record names must be what this follower holds, and as old as the leader's own
  // rules let it purge: a record that says otherwise deletes nothing.
  CUSTOS_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> at,
                          log_.GetTenantEvents(id, {core::TenantSeq(last)}));
  if (!at[0]) return core::OkStatus();  // purged already
  CUSTOS_ASSIGN_OR_RETURN(core::LineFields purged_last, core::ParseLineFields(*at[0]));
  if (purged_last.hash != anchor->text() || purged_last.time >= cutoff) {
    return core::Corruption("the retention record's anchor or cutoff is not this chain's");
  }
  CUSTOS_ASSIGN_OR_RETURN(core::Status deleted,
                          identity_.Read(id, [&](const core::iam::TenantState& st) -> core::Status {
                            // As the leader: a legal hold, or a window longer than the purge's,
                            // keeps every event.
                            if (st.tenant().legal_hold || st.tenant().retention_days > days)
                              return core::OkStatus();
                            return log_.PurgeTenant(id, core::TenantSeq(last + 1));
                          }));
  return deleted;
}

FollowerStats Follower::stats() const {
  FollowerStats s;
  s.lag_events = feed_.Lag();
  s.reachable = feed_.Reachable();
  std::lock_guard lock(mu_);
  s.applied_seq = applied_seq_;
  s.applied = applied_;
  s.duplicates = duplicates_;
  s.unauthenticated = unauthenticated_;
  s.halted = halted_;
  if (s.lag_events.value_or(1) > 0 && last_time_ != core::Time{}) {
    s.lag_seconds = std::max(0.0, std::chrono::duration<double>(clock_.Now() - last_time_).count());
  }
  // With the brokers away, what is missing is unknown: it is stale since it last had it all.
  if (!s.reachable && last_current_ != core::Time{}) {
    s.lag_seconds = std::max(s.lag_seconds,
                             std::chrono::duration<double>(clock_.Now() - last_current_).count());
  }
  return s;
}

std::optional<std::string> Follower::HaltedWhy(const core::TenantId& tenant) const {
  std::lock_guard lock(mu_);
  auto it = halted_.find(tenant.value());
  if (it == halted_.end()) return std::nullopt;
  return it->second;
}

core::Status Follower::WaitApplied(const core::TenantId& tenant, uint64_t seq,
                                   std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  const uint64_t batches_at_start = batches_;
  bool halted = false;
  const bool done = cv_.wait_for(lock, timeout, [&] {
    if (halted_.contains(tenant.value())) return halted = true;
    auto it = tenant_seq_.find(tenant.value());
    if (it != tenant_seq_.end() && it->second >= seq) return true;
    // Nothing of the tenant that recent, though the follower has applied that far elsewhere
    // and read the whole topic since the wait began.
    return applied_seq_ >= seq && batches_ > batches_at_start + 1 &&
           feed_.Lag() == std::optional<uint64_t>(0);
  });
  if (halted) return core::Unavailable("tenant " + tenant.value() + " is halted on this follower");
  if (done) return core::OkStatus();
  return core::Unavailable("this follower has not applied seq " + std::to_string(seq) + " yet");
}

}  // namespace custos::projections
