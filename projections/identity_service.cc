#include "projections/identity_service.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/iam/events.h"
#include "core/json_value.h"
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
  Result<core::LineFields> f = core::ParseLineFields(stored);
  if (!f.ok()) return f.error();
  if (!core::iam::IsCatalogType(f->type) || f->type.starts_with("audit.")) return core::OkStatus();
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

Result<std::unique_ptr<IdentityService>> IdentityService::Open(core::EventLog& log,
                                                               core::KvStore& kv,
                                                               const core::Clock& clock,
                                                               core::Random& random,
                                                               core::iam::Notifier* notifier) {
  std::unique_ptr<IdentityService> service(new IdentityService(log, kv, clock, random, notifier));
  IdentityService* self = service.get();
  service->recovery_thread_ = std::thread([self, recovery = service->recovery_] {
    pthread_setname_np(pthread_self(), "custos-recover");
    std::unique_lock lock(recovery->mu);
    while (true) {
      recovery->cv.wait(lock, [&] { return recovery->stop || !recovery->queue.empty(); });
      if (recovery->stop) return;
      std::shared_ptr<TenantSlot> slot = std::move(recovery->queue.front());
      recovery->queue.pop_front();
      lock.unlock();
      self->RecoverSlot(slot);
      lock.lock();
    }
  });
  // Every tenant's records, tenants loaded in parallel (one per core at a time): parsing the
  // records is most of a restart. A tenant has state only if it has events.
  std::vector<std::shared_ptr<TenantSlot>> slots;
  for (const core::TenantId& tenant : log.Tenants()) {
    auto slot = std::make_shared<TenantSlot>(tenant.value());
    service->slots_.emplace(tenant.value(), slot);
    slots.push_back(std::move(slot));
  }
  std::atomic<size_t> next{0};
  std::mutex failed_mu;
  Status failed;
  auto load = [&] {
    for (size_t i = next++; i < slots.size(); i = next++) {
      Status s = service->LoadSlot(*slots[i]);
      if (!s.ok()) {
        std::lock_guard lock(failed_mu);
        if (failed.ok()) failed = std::move(s);
      }
    }
  };
  std::vector<std::thread> loaders;
  const size_t threads =
      std::min<size_t>(slots.size(), std::max(1u, std::thread::hardware_concurrency()));
  for (size_t t = 1; t < threads; ++t) loaders.emplace_back(load);
  load();
  for (std::thread& t : loaders) t.join();
  CUSTOS_RETURN_IF_ERROR(failed);
  // Tenants whose events made no state (none yet) get their slot when first used.
  for (auto it = service->slots_.begin(); it != service->slots_.end();) {
    it = it->second->state.exists() ? std::next(it) : service->slots_.erase(it);
  }
  return service;
}

std::shared_ptr<IdentityService::TenantSlot> IdentityService::FindSlot(
    const core::TenantId& tenant) const {
  std::shared_lock lock(slots_mu_);
  auto it = slots_.find(tenant.value());
  return it == slots_.end() ? nullptr : it->second;
}

std::shared_ptr<IdentityService::TenantSlot> IdentityService::GetOrCreateSlot(
    const core::TenantId& tenant) {
  if (std::shared_ptr<TenantSlot> slot = FindSlot(tenant)) return slot;
  std::unique_lock lock(slots_mu_);
  auto [it, inserted] = slots_.try_emplace(tenant.value());
  if (inserted) {
    it->second = std::make_shared<TenantSlot>(tenant.value());
    std::optional<core::TenantHead> head = log_.Head(tenant);
    it->second->next_tenant_seq = head ? head->tenant_seq.value() : 0;
    it->second->last_time = head ? head->time : core::Time{};
  }
  return it->second;
}

IdentityService::~IdentityService() {
  {
    std::lock_guard lock(recovery_->mu);
    recovery_->stop = true;
  }
  recovery_->cv.notify_all();
  if (recovery_thread_.joinable()) recovery_thread_.join();
}

Status IdentityService::LoadState(core::iam::TenantState& fresh) const {
  Status failed;
  CUSTOS_RETURN_IF_ERROR(kv_.Scan(core::Space::kState, StateKey(fresh.tenant_id(), ""),
                                  [&](std::string_view key, std::string_view value) {
                                    failed = fresh.LoadRecord(
                                        key.substr(fresh.tenant_id().size() + 1), value);
                                    return failed.ok();
                                  }));
  CUSTOS_RETURN_IF_ERROR(failed);
  return fresh.FinishLoad();
}

Status IdentityService::LoadSlot(TenantSlot& slot) {
  core::iam::TenantState fresh(slot.state.tenant_id());
  CUSTOS_RETURN_IF_ERROR(LoadState(fresh));
  slot.state = std::move(fresh);
  std::optional<core::TenantHead> head = log_.Head(core::TenantId(slot.state.tenant_id()));
  slot.next_tenant_seq = head ? head->tenant_seq.value() : 0;
  slot.last_time = head ? head->time : core::Time{};
  return core::OkStatus();
}

core::Time IdentityService::NextTime(TenantSlot& slot) const {
  slot.last_time = std::max(clock_.Now(), slot.last_time);
  return slot.last_time;
}

core::Error IdentityService::Recovering(const TenantSlot& slot) {
  return core::Unavailable("an earlier write of tenant " + slot.state.tenant_id() +
                           " failed and its state is being reloaded; retry shortly");
}

void IdentityService::ScheduleRecovery(Recovery& recovery,
                                       const std::shared_ptr<TenantSlot>& slot) {
  if (slot->in_flight.load() != 0 || slot->recovering.exchange(true)) return;
  {
    std::lock_guard lock(recovery.mu);
    if (recovery.stop) return;
    recovery.queue.push_back(slot);
  }
  recovery.cv.notify_one();
}

void IdentityService::AnswerAfterRecovery(Recovery& recovery,
                                          const std::shared_ptr<TenantSlot>& slot,
                                          std::function<void()> answer) {
  {
    std::lock_guard lock(slot->failed_mu);
    slot->failed_answers.push_back(std::move(answer));
  }
  if (slot->in_flight.fetch_sub(1) == 1) ScheduleRecovery(recovery, slot);
}

void IdentityService::RecoverSlot(const std::shared_ptr<TenantSlot>& slot) {
  // Nothing of the tenant is in flight and nothing new is accepted while it is poisoned, so
  // the store holds still: read it off the slot's lock, swap under it.
  core::iam::TenantState fresh(slot->state.tenant_id());
  Status loaded = LoadState(fresh);
  std::unique_lock lock(slot->mu);
  slot->recovering.store(false);
  auto answer_failed = [&slot] {
    std::vector<std::function<void()>> answers;
    {
      std::lock_guard failed(slot->failed_mu);
      answers.swap(slot->failed_answers);
    }
    for (std::function<void()>& a : answers) a();
  };
  if (!loaded.ok() || slot->in_flight.load() != 0) {
    lock.unlock();
    answer_failed();  // nobody waits on a store that cannot be read
    // A store that cannot be read yet: try again shortly.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return ScheduleRecovery(*recovery_, slot);
  }
  slot->state = std::move(fresh);
  std::optional<core::TenantHead> head = log_.Head(core::TenantId(slot->state.tenant_id()));
  slot->next_tenant_seq = head ? head->tenant_seq.value() : 0;
  slot->last_time = std::max(slot->last_time, head ? head->time : core::Time{});
  slot->poisoned.store(false);
  lock.unlock();
  answer_failed();
}

void IdentityService::ExecuteAsync(ExecuteRequest request, ExecuteCallback done) {
  Result<core::TenantId> tenant = core::ParseTenantId(request.tenant.value());
  if (!tenant.ok()) return done(tenant.error());
  std::shared_ptr<TenantSlot> slot = GetOrCreateSlot(*tenant);
  std::unique_lock lock(slot->mu);
  if (slot->poisoned.load()) {
    lock.unlock();
    return done(Recovering(*slot));
  }
  // The caller's name on its events comes from the state, never from a request.
  if (request.caller) request.actor.name = slot->state.NameOf(*request.caller);
  core::iam::CommandContext ctx;
  ctx.actor = request.actor;
  ctx.caller = request.caller;
  ctx.now = NextTime(*slot);
  ctx.random = &random_;
  ctx.if_match = request.if_match;
  ctx.notifications = notifier_ != nullptr && notifier_->CarriesUnaddressed();
  ctx.mail = notifier_ != nullptr;
  Result<core::iam::Decision> decided = core::iam::Decide(slot->state, request.command, ctx);
  if (!decided.ok()) {
    lock.unlock();
    return done(std::move(decided).error());
  }
  auto decision = std::make_shared<core::iam::Decision>(std::move(decided).value());
  if (decision->events.empty()) {
    lock.unlock();
    return done(ExecuteResult{std::move(*decision), {}});
  }
  // Apply at once, so that the next command of the tenant is decided on this one's effects.
  for (const core::iam::DomainEvent& e : decision->events) {
    Status applied = slot->state.Apply(e.type, e.data, ctx.now);
    if (!applied.ok()) {
      // Decide made an event Apply refuses: a bug. Put the state back as stored.
      slot->poisoned.store(true);
      lock.unlock();
      ScheduleRecovery(*recovery_, slot);
      return done(core::Internal("decided event does not apply: " + applied.error().message));
    }
  }
  core::AppendRequest append;
  append.tenant = *tenant;
  append.expected_tenant_seq = core::TenantSeq(slot->next_tenant_seq);
  append.checkpoint = std::string(kStateCheckpoint);
  append.time = ctx.now;
  append.events.reserve(decision->events.size());
  for (core::iam::DomainEvent& e : decision->events) {
    append.events.push_back(core::EventDraft{std::move(e.type), request.actor, std::move(e.target),
                                             std::move(e.data), std::move(e.changes),
                                             request.request_id});
  }
  AddRecords(append.side_writes, tenant->value(), slot->state.TakeDirty());
  for (const core::KvWrite& w : decision->credentials.writes()) {
    if (w.op == core::KvWrite::Op::kPut) {
      append.side_writes.Put(w.space, w.key, w.value);
    } else if (w.op == core::KvWrite::Op::kDelete) {
      append.side_writes.Delete(w.space, w.key);
    } else {
      append.side_writes.DeleteRange(w.space, w.key, w.value);
    }
  }
  slot->next_tenant_seq += append.events.size();
  slot->in_flight.fetch_add(1);
  core::iam::Notifier* notifier = notifier_;
  auto finish = [slot, decision, notifier, done = std::move(done),
                 recovery = recovery_](core::AppendResult r) {
    if (!r.ok()) {
      slot->poisoned.store(true);
      core::Error e = std::move(r).error();
      if (e.code == core::Errc::kConflict) {
        e = core::Unavailable("an earlier write of this tenant failed: " + e.message);
      }
      return AnswerAfterRecovery(*recovery, slot,
                                 [done, e = std::move(e)]() mutable { done(std::move(e)); });
    }
    if (slot->in_flight.fetch_sub(1) == 1 && slot->poisoned.load()) {
      ScheduleRecovery(*recovery, slot);
    }
    if (notifier != nullptr) {
      for (const core::iam::Notification& n : decision->notifications) notifier->Publish(n);
    }
    done(ExecuteResult{std::move(*decision), std::move(r).value()});
  };
  // Submitted under the tenant's lock, so that the log sees the tenant's appends in the
  // order they were decided; a refusal is answered once the lock is released.
  core::Status queued = log_.AppendAsync(std::move(append), finish);
  // A refusal poisons the slot before anyone else decides on the state it left behind.
  if (!queued.ok()) slot->poisoned.store(true);
  lock.unlock();
  if (!queued.ok()) finish(std::move(queued).error());
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
                                        std::vector<core::EventDraft> events,
                                        core::AppendCallback done, Origin origin,
                                        const Precondition& precondition) {
  std::shared_ptr<TenantSlot> slot = FindSlot(tenant);
  if (slot == nullptr) return done(core::NotFound("no tenant " + tenant.value()));
  std::unique_lock lock(slot->mu);
  if (!slot->state.exists()) {
    lock.unlock();
    return done(core::NotFound("no tenant " + tenant.value()));
  }
  if (slot->poisoned.load()) {
    lock.unlock();
    return done(Recovering(*slot));
  }
  if (events.empty()) {
    lock.unlock();
    return done(core::InvalidField("events", "must not be empty"));
  }
  if (precondition) {
    if (Status s = precondition(slot->state); !s.ok()) {
      lock.unlock();
      return done(std::move(s).error());
    }
  }
  Status valid = core::ValidateDrafts(events, [origin](const core::EventDraft& e) -> Status {
    if (origin != Origin::kApplication && !std::string_view(e.type).starts_with("audit.")) {
      return core::InvalidField("type", "the audit trail records only audit.* events");
    }
    if (origin == Origin::kApplication && core::iam::IsCatalogType(e.type)) {
      return core::InvalidField("type", "'" + e.type +
                                            "' belongs to the identity catalog; applications "
                                            "may not report it");
    }
    return core::OkStatus();
  });
  if (!valid.ok()) {
    lock.unlock();
    return done(std::move(valid).error());
  }
  core::AppendRequest append;
  if (origin == Origin::kRetention) {
    // The state in memory is the state after next_tenant_seq, appends in flight included: if
    // one of those fails, this record (expecting next_tenant_seq) fails with it.
    AddSnapshot(append.side_writes, slot->state, slot->next_tenant_seq + events.size());
    append.use_reserve = true;  // a purge frees space: it must be able to run on a full disk
  }
  append.tenant = tenant;
  append.expected_tenant_seq = core::TenantSeq(slot->next_tenant_seq);
  append.time = NextTime(*slot);
  append.events = std::move(events);
  slot->next_tenant_seq += append.events.size();
  slot->in_flight.fetch_add(1);
  // Any failure (even a refusal before queueing, like a closing store) poisons the slot: the
  // next call reloads next_tenant_seq from the log.
  auto finish = [slot, done = std::move(done), recovery = recovery_](core::AppendResult r) {
    if (!r.ok()) {
      slot->poisoned.store(true);
      return AnswerAfterRecovery(*recovery, slot,
                                 [done, e = std::move(r).error()]() mutable { done(std::move(e)); });
    }
    if (slot->in_flight.fetch_sub(1) == 1 && slot->poisoned.load()) {
      ScheduleRecovery(*recovery, slot);
    }
    done(std::move(r));
  };
  core::Status queued = log_.AppendAsync(std::move(append), finish);
  // A refusal poisons the slot before anyone else decides on the state it left behind.
  if (!queued.ok()) slot->poisoned.store(true);
  lock.unlock();
  if (!queued.ok()) finish(std::move(queued).error());
}

std::vector<core::TenantId> IdentityService::Tenants() const {
  std::vector<core::TenantId> out;
  std::shared_lock lock(slots_mu_);
  for (const auto& [tenant, slot] : slots_) {
    std::shared_lock slot_lock(slot->mu);
    if (slot->state.exists()) out.emplace_back(tenant);
  }
  return out;
}

std::optional<core::TenantId> IdentityService::TenantOfClient(std::string_view client_id) const {
  std::shared_lock lock(slots_mu_);
  for (const auto& [tenant, slot] : slots_) {
    std::shared_lock slot_lock(slot->mu);
    if (slot->state.FindClient(client_id) != nullptr) return core::TenantId(tenant);
  }
  return std::nullopt;
}

std::string IdentityService::Digest() const {
  core::Sha256 hasher;
  std::shared_lock lock(slots_mu_);
  for (const auto& entry : slots_) {  // std::map: tenant order = key order
    const std::string& tenant = entry.first;
    const auto& slot = entry.second;
    std::shared_lock slot_lock(slot->mu);
    slot->state.ForEachRecord([&](const std::string& key, const std::string& value) {
      hasher.Update(StateKey(tenant, key));
      hasher.Update("\n");
      hasher.Update(value);
      hasher.Update("\n");
    });
  }
  return core::DigestHex(hasher.Finish());
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
  // snapshot if it has one, reading its events in key order: a sequential scan.
  const core::Seq last = log.LastSeq();
  std::vector<std::string> tenants;
  for (const core::TenantId& t : log.Tenants()) tenants.push_back(t.value());
  for (const auto& entry : snapshot_at) {
    if (!std::binary_search(tenants.begin(), tenants.end(), entry.first)) {
      tenants.insert(std::lower_bound(tenants.begin(), tenants.end(), entry.first), entry.first);
    }
  }
  for (const std::string& tenant : tenants) {
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
    CUSTOS_RETURN_IF_ERROR(kv.Write(batch, core::Durability::kNoSync));
  }
  core::KvBatch done;
  done.SetCheckpoint(kStateCheckpoint, last);
  return kv.Write(done, core::Durability::kSync);
}

}  // namespace custos::projections
