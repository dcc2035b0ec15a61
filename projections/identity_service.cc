#include "projections/identity_service.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "core/iam/events.h"
#include "core/json_value.h"
#include "core/log.h"
#include "core/sha256.h"

namespace custos::projections {
namespace {

using core::Result;
using core::Status;

constexpr size_t kReplayPage = 4096;

void AddRecords(core::KvBatch& batch, std::string_view tenant,
                const std::map<std::string, std::optional<std::string>>& dirty) {
  for (const auto& [key, value] : dirty) {
    if (value) {
      batch.Put(core::Space::kState, StateKey(tenant, key), *value);
    } else {
      batch.Delete(core::Space::kState, StateKey(tenant, key));
    }
  }
}

// Retention snapshots (space kIndex): "snapshot\0" tenant "\0" record key → the record, and
// "snapshot-at\0" tenant → BE64(the tenant_seq the snapshot is the state after).
std::string SnapshotPrefix(std::string_view tenant) {
  std::string k("snapshot\0", 9);
  k += tenant;
  k += '\0';
  return k;
}
std::string SnapshotAtKey(std::string_view tenant) {
  std::string k("snapshot-at\0", 12);
  k += tenant;
  return k;
}

// Feeds one stored line to a state, if it is an identity event (application and audit events
// change no state and are not parsed further).
Status ApplyStored(core::iam::TenantState& state, std::string_view stored) {
  Result<std::string_view> type = core::ParseLineType(stored);
  if (!type.ok()) return type.error();
  if (!core::iam::IsCatalogType(*type) || type->starts_with("audit.")) return core::OkStatus();
  Result<core::LineFields> f = core::ParseLineFields(stored);
  if (!f.ok()) return f.error();
  Result<core::JsonValue> line = core::ParseJson(stored);
  if (!line.ok()) {
    return core::Corruption("event " + std::to_string(f->seq) + ": " + line.error().message);
  }
  const core::JsonValue* data = line->Find("data");
  if (data == nullptr) return core::Corruption("event without data");
  Status s = state.Apply(f->type, *data, f->time);
  if (!s.ok()) {
    return core::Corruption("replaying seq " + std::to_string(f->seq) + ": " + s.error().message);
  }
  return core::OkStatus();
}

}  // namespace

std::string StateKey(std::string_view tenant, std::string_view record_key) {
  std::string key(tenant);
  key.push_back('\0');
  key.append(record_key);
  return key;
}

static Status LoadStoredState(const core::KvStore& kv, core::iam::TenantState& fresh) {
  Status failed;
  CUSTOS_RETURN_IF_ERROR(kv.Scan(core::Space::kState, StateKey(fresh.tenant_id(), ""),
                                 [&](std::string_view key, std::string_view value) {
                                   failed = fresh.LoadRecord(
                                       key.substr(fresh.tenant_id().size() + 1), value);
                                   return failed.ok();
                                 }));
  CUSTOS_RETURN_IF_ERROR(failed);
  return fresh.FinishLoad();
}

Status IdentityService::StateSlot::LoadStored() {
  core::iam::TenantState fresh(tenant().value());
  CUSTOS_RETURN_IF_ERROR(LoadStoredState(kv_, fresh));
  loaded_ = std::move(fresh);
  return core::OkStatus();
}

void IdentityService::StateSlot::InstallLoaded() {
  state = std::move(*loaded_);
  loaded_.reset();
}

Result<std::unique_ptr<IdentityService>> IdentityService::Open(
    core::EventLog& log, core::KvStore& kv, const core::Clock& clock, core::Random& random,
    core::iam::Notifier* notifier, Warming warming) {
  std::unique_ptr<IdentityService> service(new IdentityService(log, kv, clock, random, notifier));
  // A tenant has state once its tenant record is stored; its records are read later (Ensure).
  // Its clients' ids are read now: a token request names a client, not a tenant.
  size_t unloaded = 0;
  std::unordered_map<std::string, core::TenantId> stored_clients;
  for (const core::TenantId& tenant : log.Tenants()) {
    CUSTOS_ASSIGN_OR_RETURN(
        std::optional<std::string> record,
        kv.Get(core::Space::kState,
               StateKey(tenant.value(), core::iam::TenantState::kTenantRecordKey)));
    if (!record) continue;  // its slot is made when it is first used
    const std::string clients =
        StateKey(tenant.value(), core::iam::TenantState::kClientRecordPrefix);
    CUSTOS_RETURN_IF_ERROR(
        kv.Scan(core::Space::kState, clients, [&](std::string_view key, std::string_view) {
          stored_clients.emplace(std::string(key.substr(clients.size())), tenant);
          return true;
        }));
    auto slot = std::make_shared<StateSlot>(tenant, kv);
    slot->ready.store(false);
    service->writer_.Add(std::move(slot));
    ++unloaded;
  }
  {
    core::MutexLock lock(service->clients_mu_);
    service->stored_clients_ = std::move(stored_clients);
  }
  service->unloaded_.store(unloaded);
  if (warming == Warming::kInBackground) {
    service->warmer_ = std::thread([s = service.get()] { s->Warm(); });
  }
  return service;
}

Status IdentityService::Ensure(StateSlot& slot) const {
  if (slot.ready.load(std::memory_order_acquire)) return core::OkStatus();
  std::lock_guard load(slot.load_mu);
  if (slot.ready.load(std::memory_order_acquire)) return core::OkStatus();
  const auto now = std::chrono::steady_clock::now();
  if (slot.load_error && now - slot.failed_at < kLoadRetry) return *slot.load_error;
  if (Status loaded = slot.LoadStored(); !loaded.ok()) {
    if (!slot.load_error) failed_.fetch_add(1);
    slot.load_error = loaded.error();
    slot.failed_at = now;
    return loaded;
  }
  if (slot.load_error) {
    slot.load_error.reset();
    failed_.fetch_sub(1);
  }
  {
    std::unique_lock lock(slot.mutex());
    slot.InstallLoaded();
  }
  slot.ready.store(true, std::memory_order_release);
  if (unloaded_.fetch_sub(1) == 1) {
    core::MutexLock lock(clients_mu_);
    stored_clients_.clear();
  }
  return core::OkStatus();
}

void IdentityService::Warm() {
  const auto start = std::chrono::steady_clock::now();
  size_t failed = 0;
  const std::vector<std::shared_ptr<TenantWriter::Slot>> slots = writer_.Slots();
  for (const std::shared_ptr<TenantWriter::Slot>& slot : slots) {
    if (stop_.load()) return;
    Status s = Ensure(static_cast<StateSlot&>(*slot));
    if (!s.ok()) {
      ++failed;
      core::log::Error("a tenant's stored state does not load; its requests fail until it does",
                       {{"tenant", slot->tenant().value()}, {"error", s.error().message}});
    }
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  core::log::Info("identity state loaded", {{"tenants", std::to_string(slots.size())},
                                            {"failed", std::to_string(failed)},
                                            {"ms", std::to_string(ms)}});
}

IdentityService::~IdentityService() {
  stop_.store(true);
  if (warmer_.joinable()) warmer_.join();
}

void IdentityService::ExecuteAsync(ExecuteRequest request, ExecuteCallback done) {
  Result<core::TenantId> tenant = core::ParseTenantId(request.tenant.value());
  if (!tenant.ok()) return done(tenant.error());
  // The node's own chain holds no tenant and takes no command.
  if (tenant->value() == core::kSystemChain)
    return done(core::NotFound("no tenant " + tenant->value()));
  auto slot = std::static_pointer_cast<StateSlot>(writer_.FindOrAdd(
      *tenant, [this](const core::TenantId& t) { return std::make_shared<StateSlot>(t, kv_); }));
  if (Status loaded = Ensure(*slot); !loaded.ok()) return done(std::move(loaded).error());
  TenantWriter::Locked locked = writer_.Lock(slot);
  if (locked.poisoned()) {
    locked.Unlock();
    return done(slot->Recovering());
  }
  // The caller's name on its events comes from the state, never from a request.
  if (request.caller) request.actor.name = slot->state.NameOf(*request.caller);
  core::iam::CommandContext ctx;
  ctx.actor = request.actor;
  ctx.caller = request.caller;
  ctx.now = locked.NextTime();
  ctx.random = &random_;
  ctx.if_match = request.if_match;
  ctx.notifications = notifier_ != nullptr && notifier_->CarriesUnaddressed();
  ctx.mail = notifier_ != nullptr;
  Result<core::iam::Decision> decided = core::iam::Decide(slot->state, request.command, ctx);
  if (!decided.ok()) {
    locked.Unlock();
    return done(std::move(decided).error());
  }
  auto decision = std::make_shared<core::iam::Decision>(std::move(decided).value());
  if (decision->events.empty()) {
    locked.Unlock();
    return done(ExecuteResult{std::move(*decision), {}});
  }
  // Rendered (and so validated) before anything is applied: an event the log would refuse
  // is answered as the log would have answered it, with the state left as it was.
  core::AppendRequest append;
  append.checkpoint = std::string(kStateCheckpoint);
  append.time = ctx.now;
  append.events.reserve(decision->events.size());
  for (size_t i = 0; i < decision->events.size(); ++i) {
    const core::iam::DomainEvent& e = decision->events[i];
    core::Result<core::RenderedDraft> rendered = core::RenderDraft(core::EventDraft{
        e.type, request.actor, e.target, e.data, e.changes, request.request_id, request.trace_id});
    if (!rendered.ok()) {
      locked.Unlock();
      return done(core::AtItem(std::move(rendered).error(), "events", i));
    }
    append.events.push_back(std::move(rendered).value());
  }
  // Apply at once, so that the next command of the tenant is decided on this one's effects.
  for (const core::iam::DomainEvent& e : decision->events) {
    Status applied = slot->state.Apply(e.type, e.data, ctx.now);
    if (!applied.ok()) {
      // Decide made an event Apply refuses: a bug. Put the state back as stored.
      std::move(locked).Poison();
      return done(core::Internal("decided event does not apply: " + applied.error().message));
    }
  }
  AddRecords(append.side_writes, tenant->value(), slot->state.TakeDirty());
  append.side_writes.Append(decision->credentials);
  std::move(locked).Append(std::move(append), [decision, notifier = notifier_,
                                               done = std::move(done)](core::AppendResult r) {
    if (!r.ok()) {
      core::Error e = std::move(r).error();
      if (e.code == core::Errc::kConflict) {
        e = core::Unavailable("an earlier write of this tenant failed: " + e.message);
      }
      return done(std::move(e));
    }
    if (notifier != nullptr) {
      for (const core::iam::Notification& n : decision->notifications) notifier->Publish(n);
    }
    done(ExecuteResult{std::move(*decision), std::move(r).value()});
  });
}

Status IdentityService::ApplyReplicated(core::ReplicatedWrite write, const Refuse& refuse) {
  std::sort(write.chains.begin(), write.chains.end(),
            [](const core::ReplicatedChain& a, const core::ReplicatedChain& b) {
              return a.tenant.value() < b.tenant.value();
            });
  // Locked in tenant order; the only writer of a follower's states.
  std::vector<std::shared_ptr<StateSlot>> slots;
  std::vector<std::unique_lock<std::shared_mutex>> locks;
  // The state as stored, in place of what was applied (under the slot's exclusive lock).
  auto read_back = [](StateSlot& slot) {
    if (Status loaded = slot.LoadStored(); loaded.ok()) {
      slot.InstallLoaded();
      (void)slot.state.TakeDirty();
    } else {
      core::log::Error("a follower's tenant state did not load back after a failed apply",
                       {{"tenant", slot.tenant().value()}, {"reason", loaded.error().message}});
    }
  };
  auto reload = [&](Status failed) {
    for (const std::shared_ptr<StateSlot>& slot : slots) read_back(*slot);
    return failed;
  };
  // A tenant whose lines do not apply is left out of the write: its lines dropped, its state
  // read back, the caller told.
  auto leave_out = [&](core::ReplicatedChain& chain, StateSlot* slot, const Status& why) {
    if (slot != nullptr) read_back(*slot);
    chain.lines.clear();
    if (refuse) refuse(chain.tenant, why.error().message, write.side_writes);
  };
  for (core::ReplicatedChain& chain : write.chains) {
    if (chain.tenant.value() == core::kSystemChain || chain.lines.empty()) continue;
    auto slot = std::static_pointer_cast<StateSlot>(writer_.FindOrAdd(
        chain.tenant,
        [this](const core::TenantId& t) { return std::make_shared<StateSlot>(t, kv_); }));
    if (Status loaded = Ensure(*slot); !loaded.ok()) {
      leave_out(chain, nullptr, loaded);
      continue;
    }
    locks.emplace_back(slot->mutex());
    slots.push_back(slot);
    core::KvBatch snapshots;
    Status applied;
    for (const std::string& line : chain.lines) {
      applied = ApplyStored(slot->state, line);
      if (!applied.ok()) break;
      Result<std::string_view> type = core::ParseLineType(line);
      if (type.ok() && *type == "audit.retention_purged") {
        // The leader's snapshot with its purge record: what a rebuild starts from.
        Result<core::LineFields> f = core::ParseLineFields(line);
        if (!f.ok()) {
          applied = f.error();
          break;
        }
        AddSnapshot(snapshots, slot->state, f->tenant_seq);
      }
    }
    if (!applied.ok()) {
      leave_out(chain, slot.get(), applied);
      continue;
    }
    write.side_writes.Append(snapshots);
    AddRecords(write.side_writes, chain.tenant.value(), slot->state.TakeDirty());
  }
  if (Status stored = log_.AppendReplicated(std::move(write)); !stored.ok()) return reload(stored);
  for (const std::shared_ptr<StateSlot>& slot : slots) writer_.Resync(*slot);
  return core::OkStatus();
}

Result<ExecuteResult> IdentityService::Execute(ExecuteRequest request) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<ExecuteResult>> result;
  ExecuteAsync(std::move(request), [&](Result<ExecuteResult> r) {
    std::lock_guard lock(mu);
    result = std::move(r);
    cv.notify_one();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return result.has_value(); });
  return std::move(*result);
}

void IdentityService::AppendEventsAsync(const core::TenantId& tenant,
                                        const std::vector<core::EventDraft>& events,
                                        core::AppendCallback done, Origin origin,
                                        const Precondition& precondition) {
  core::Result<std::vector<core::RenderedDraft>> rendered = core::RenderDrafts(events);
  if (!rendered.ok()) return done(std::move(rendered).error());
  AppendRenderedAsync(tenant, std::move(rendered).value(), std::move(done), origin, precondition);
}

void IdentityService::AppendRenderedAsync(const core::TenantId& tenant,
                                          std::vector<core::RenderedDraft> events,
                                          core::AppendCallback done, Origin origin,
                                          const Precondition& precondition) {
  if (events.empty()) return done(core::InvalidField("events", "must not be empty"));
  for (size_t i = 0; i < events.size(); ++i) {
    const std::string& type = events[i].type();
    Status allowed = core::OkStatus();
    if (origin != Origin::kApplication && !type.starts_with("audit.")) {
      allowed = core::InvalidField("type", "the audit trail records only audit.* events");
    } else if (origin == Origin::kApplication && core::iam::IsCatalogType(type)) {
      allowed = core::InvalidField(
          "type", "'" + type + "' belongs to the identity catalog; applications may not report it");
    }
    if (!allowed.ok()) return done(core::AtItem(std::move(allowed).error(), "events", i));
  }
  std::shared_ptr<StateSlot> slot = FindSlot(tenant);
  if (slot == nullptr) return done(core::NotFound("no tenant " + tenant.value()));
  if (Status loaded = Ensure(*slot); !loaded.ok()) return done(std::move(loaded).error());
  TenantWriter::Locked locked = writer_.Lock(slot);
  if (!slot->state.exists()) {
    locked.Unlock();
    return done(core::NotFound("no tenant " + tenant.value()));
  }
  if (locked.poisoned()) {
    locked.Unlock();
    return done(slot->Recovering());
  }
  if (precondition) {
    if (Status s = precondition(slot->state); !s.ok()) {
      locked.Unlock();
      return done(std::move(s).error());
    }
  }
  core::AppendRequest append;
  if (origin == Origin::kRetention) {
    // The state in memory is the state after next_tenant_seq, appends in flight included: if
    // one of those fails, this record (expecting next_tenant_seq) fails with it.
    AddSnapshot(append.side_writes, slot->state, locked.next_tenant_seq() + events.size());
    append.use_reserve = true;  // a purge frees space: it must be able to run on a full disk
  }
  append.events = std::move(events);
  std::move(locked).Append(std::move(append), std::move(done));
}

std::vector<core::TenantId> IdentityService::Tenants() const {
  std::vector<core::TenantId> out;
  writer_.ForEach([&](const TenantWriter::Slot& s) {
    const auto& slot = static_cast<const StateSlot&>(s);
    if (!slot.ready.load(std::memory_order_acquire)) {
      out.push_back(slot.tenant());  // Open found its tenant record
      return;
    }
    std::shared_lock lock(slot.mutex());
    if (slot.state.exists()) out.push_back(slot.tenant());
  });
  return out;
}

std::optional<core::TenantId> IdentityService::TenantOfClient(std::string_view client_id) const {
  // A tenant not loaded has not changed since Open read its clients.
  {
    core::MutexLock lock(clients_mu_);
    auto it = stored_clients_.find(std::string(client_id));
    if (it != stored_clients_.end()) {
      std::shared_ptr<StateSlot> slot = FindSlot(it->second);
      if (slot != nullptr && !slot->ready.load(std::memory_order_acquire)) return it->second;
    }
  }
  std::optional<core::TenantId> found;
  writer_.ForEach([&](const TenantWriter::Slot& s) {
    const auto& slot = static_cast<const StateSlot&>(s);
    if (found || !slot.ready.load(std::memory_order_acquire)) return;
    std::shared_lock lock(slot.mutex());
    if (slot.state.FindClient(client_id) != nullptr) found = slot.tenant();
  });
  return found;
}

Result<std::string> IdentityService::Digest() const {
  core::Sha256 hasher;
  for (const std::shared_ptr<TenantWriter::Slot>& s : writer_.Slots()) {  // in key order
    auto& slot = static_cast<StateSlot&>(*s);
    CUSTOS_RETURN_IF_ERROR(Ensure(slot));
    std::shared_lock lock(slot.mutex());
    slot.state.ForEachRecord([&](const std::string& key, const std::string& value) {
      hasher.Update(StateKey(slot.tenant().value(), key));
      hasher.Update("\n");
      hasher.Update(value);
      hasher.Update("\n");
    });
  }
  return core::DigestHex(hasher.Finish());
}

Result<IdentityService::TenantDigest> IdentityService::DigestOf(
    const core::TenantId& tenant, std::chrono::milliseconds timeout) const {
  std::shared_ptr<StateSlot> slot = FindSlot(tenant);
  if (slot == nullptr) return core::NotFound("no tenant " + tenant.value());
  CUSTOS_RETURN_IF_ERROR(Ensure(*slot));
  // Held shared, the lock lets no append start; those in flight come back without it, within an
  // fsync.
  std::shared_lock lock(slot->mutex());
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!slot->settled()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return core::Unavailable("the tenant's writes did not settle in time");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  if (slot->poisoned()) return slot->Recovering();
  if (!slot->state.exists()) return core::NotFound("no tenant " + tenant.value());
  core::Sha256 hasher;
  slot->state.ForEachRecord([&](const std::string& key, const std::string& value) {
    hasher.Update(StateKey(tenant.value(), key));
    hasher.Update("\n");
    hasher.Update(value);
    hasher.Update("\n");
  });
  return TenantDigest{slot->decided_tenant_seq(), core::DigestHex(hasher.Finish())};
}

Result<std::string> IdentityService::StoredDigest(const core::KvStore& kv) {
  core::Sha256 hasher;
  CUSTOS_RETURN_IF_ERROR(
      kv.Scan(core::Space::kState, "", [&](std::string_view key, std::string_view value) {
        hasher.Update(key);
        hasher.Update("\n");
        hasher.Update(value);
        hasher.Update("\n");
        return true;
      }));
  return core::DigestHex(hasher.Finish());
}

void IdentityService::AddSnapshot(core::KvBatch& batch, const core::iam::TenantState& state,
                                  uint64_t at_tenant_seq) {
  const std::string prefix = SnapshotPrefix(state.tenant_id());
  std::string end = prefix;
  end.back() = '\1';
  batch.DeleteRange(core::Space::kIndex, prefix, end);
  state.ForEachRecord([&](const std::string& key, const std::string& value) {
    batch.Put(core::Space::kIndex, prefix + key, value);
  });
  std::string at;
  core::PutBE64(at, at_tenant_seq);
  batch.Put(core::Space::kIndex, SnapshotAtKey(state.tenant_id()), at);
}

Status IdentityService::RebuildState(const core::EventLog& log, core::KvStore& kv) {
  // Tenants purged by retention start from their snapshot.
  std::map<std::string, uint64_t> snapshot_at;
  CUSTOS_RETURN_IF_ERROR(kv.Scan(core::Space::kIndex, std::string("snapshot-at\0", 12),
                                 [&](std::string_view key, std::string_view value) {
                                   snapshot_at.emplace(std::string(key.substr(12)),
                                                       core::GetBE64(value));
                                   return true;
                                 }));
  core::KvBatch clear;
  clear.DeleteRange(core::Space::kState, std::string(1, '\0'), std::string(2, '\xff'));
  clear.DeleteRange(core::Space::kState, "", std::string(1, '\0'));
  CUSTOS_RETURN_IF_ERROR(kv.Write(clear, core::Durability::kSync));
  // Tenant by tenant (a state depends on its own tenant's events only), each from its
  // snapshot if it has one, reading its events in key order: a sequential scan. The events
  // that change no state are passed over on their type alone.
  const core::Seq last = log.LastSeq();
  std::vector<std::string> tenants;
  for (const core::TenantId& t : log.Tenants()) {
    if (t.value() != core::kSystemChain) tenants.push_back(t.value());  // no tenant state
  }
  for (const auto& entry : snapshot_at) {
    if (!std::binary_search(tenants.begin(), tenants.end(), entry.first)) {
      tenants.insert(std::lower_bound(tenants.begin(), tenants.end(), entry.first), entry.first);
    }
  }
  auto rebuild = [&](const std::string& tenant) -> Status {
    core::iam::TenantState state(tenant);
    uint64_t from = 1;
    if (auto at = snapshot_at.find(tenant); at != snapshot_at.end()) {
      core::KvBatch copy;
      Status failed;
      const std::string prefix = SnapshotPrefix(tenant);
      CUSTOS_RETURN_IF_ERROR(
          kv.Scan(core::Space::kIndex, prefix, [&](std::string_view key, std::string_view value) {
            const std::string_view record = key.substr(prefix.size());
            copy.Put(core::Space::kState, StateKey(tenant, record), value);
            failed = state.LoadRecord(record, value);
            return failed.ok();
          }));
      CUSTOS_RETURN_IF_ERROR(failed);
      CUSTOS_RETURN_IF_ERROR(state.FinishLoad());
      CUSTOS_RETURN_IF_ERROR(kv.Write(copy, core::Durability::kNoSync));
      from = at->second + 1;
    }
    const std::optional<core::TenantHead> head = log.Head(core::TenantId(tenant));
    if (head && head->tenant_seq.value() >= from) {
      Status failed;
      size_t applied = 0;
      Result<uint64_t> scanned =
          log.ScanTenant(core::TenantId(tenant), core::TenantSeq(from), head->tenant_seq,
                         [&](uint64_t, std::string_view line) {
                           failed = ApplyStored(state, line);
                           if (failed.ok() && ++applied % kReplayPage == 0) {
                             core::KvBatch batch;
                             AddRecords(batch, tenant, state.TakeDirty());
                             failed = kv.Write(batch, core::Durability::kNoSync);
                           }
                           return failed.ok();
                         });
      if (!scanned.ok()) return scanned.error();
      CUSTOS_RETURN_IF_ERROR(failed);
    }
    core::KvBatch batch;
    AddRecords(batch, tenant, state.TakeDirty());
    return kv.Write(batch, core::Durability::kNoSync);
  };
  // Tenants in parallel, one per core at a time.
  std::atomic<size_t> next{0};
  std::mutex failed_mu;
  Status failed;
  auto work = [&] {
    for (size_t i = next++; i < tenants.size(); i = next++) {
      Status s = rebuild(tenants[i]);
      if (s.ok()) continue;
      std::lock_guard lock(failed_mu);
      if (failed.ok()) failed = std::move(s);
      next = tenants.size();  // the others stop at their next tenant
    }
  };
  std::vector<std::thread> workers;
  const size_t threads =
      std::min<size_t>(tenants.size(), std::max(1u, std::thread::hardware_concurrency()));
  for (size_t t = 1; t < threads; ++t) workers.emplace_back(work);
  work();
  for (std::thread& t : workers) t.join();
  CUSTOS_RETURN_IF_ERROR(failed);
  core::KvBatch done;
  done.SetCheckpoint(kStateCheckpoint, last);
  return kv.Write(done, core::Durability::kSync);
}

}  // namespace custos::projections
