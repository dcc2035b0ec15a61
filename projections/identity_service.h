// IdentityService: the identity state of every tenant, kept current with the log, and the
// one way commands and events reach the log.
//
// Commands: ExecuteAsync decides a command against the tenant's current state, applies its
// events to the state at once, and appends them — with the changed state records and the
// credential writes as side writes of the same atomic batch — through the tenant's
// TenantWriter slot, without waiting: the next command of the tenant is decided on the state
// that includes the previous one, so many commands of one tenant share one fsync. The callback
// runs once the batch is durable; only then is the command acknowledged and its notifications
// published. Reads may see a command's effects up to one fsync before it is acknowledged. After
// a failed append the writer reloads the tenant's state (StateSlot::LoadStored) before it
// answers the failure; meanwhile the tenant's reads and commands are answered kUnavailable.
//
// Application events (AppendEventsAsync) go through the same writer, so that the expected
// tenant_seq stays exact.
//
// State on disk (core::Space::kState): "<tenant>\0<record key>" → the record's JSON, written
// with the events that change it; checkpoint "state". RebuildState drops it and replays the
// log; Digest equals before and after.
//
// Open does not replay the log, nor does it read the records: it finds the tenants that have
// state (their tenant record) and their API clients' ids (for TenantOfClient), and is ready.
// A tenant's records are read into memory the first time it is used, or before that by the
// warmer thread Open starts, which loads the tenants one after the other. Nothing is ever
// written to a tenant that is not loaded, so what is stored of it is current until it is.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/event_log.h"
#include "core/iam/commands.h"
#include "core/iam/decide.h"
#include "core/iam/notifier.h"
#include "core/iam/state.h"
#include "core/kv_store.h"
#include "core/random.h"
#include "core/thread_annotations.h"
#include "projections/tenant_writer.h"

namespace custos::projections {

struct ExecuteRequest {
  core::TenantId tenant;
  core::iam::Command command;
  core::Actor actor;
  std::optional<core::iam::Subject> caller;  // none: root (or the system)
  std::string request_id;
  std::optional<int64_t> if_match;
  std::string trace_id;  // W3C trace-id of the request, or empty
};

struct ExecuteResult {
  core::iam::Decision decision;  // id, the one-time secret, notifications
  std::vector<core::AppendedEvent> events;
};

using ExecuteCallback = std::function<void(core::Result<ExecuteResult>)>;

inline constexpr std::string_view kStateCheckpoint = "state";

class IdentityService {
 public:
  // When the tenants Open finds are loaded: by the warmer thread in the background (and any
  // on first use before it gets to them), or only on first use.
  enum class Warming : uint8_t { kInBackground, kOnFirstUse };

  [[nodiscard]] static core::Result<std::unique_ptr<IdentityService>> Open(
      core::EventLog& log, core::KvStore& kv, const core::Clock& clock, core::Random& random,
      core::iam::Notifier* notifier, Warming warming = Warming::kInBackground);
  ~IdentityService();
  IdentityService(const IdentityService&) = delete;
  IdentityService& operator=(const IdentityService&) = delete;

  void ExecuteAsync(ExecuteRequest request, ExecuteCallback done);
  [[nodiscard]] core::Result<ExecuteResult> Execute(ExecuteRequest request);

  // Who may append which types through AppendEventsAsync: applications anything outside the
  // identity catalog; the audit trail itself only its own `audit.*` records (exports).
  // kRetention (an `audit.retention_purged` record) also writes, in the record's own batch, a
  // snapshot of the tenant's state as of the record: what a rebuild starts from once the
  // events before it are purged.
  enum class Origin : uint8_t { kApplication, kAudit, kRetention };

  // What must hold of the tenant's state, checked under its lock, for an append to go ahead.
  using Precondition = std::function<core::Status(const core::iam::TenantState&)>;

  // Appends events that do not change identity state (application events, audit records) in
  // the tenant's order. kNotFound for an unknown tenant. The drafts are rendered (and so
  // validated, core::RenderDraft) on the caller's thread, before the tenant's lock.
  void AppendEventsAsync(const core::TenantId& tenant, const std::vector<core::EventDraft>& events,
                         core::AppendCallback done, Origin origin = Origin::kApplication,
                         const Precondition& precondition = nullptr);
  // The same for drafts the caller rendered (the ingest routes, which name a bad field as
  // their body does); only the origin's rule on types is checked here.
  void AppendRenderedAsync(const core::TenantId& tenant, std::vector<core::RenderedDraft> events,
                           core::AppendCallback done, Origin origin = Origin::kApplication,
                           const Precondition& precondition = nullptr);

  // A follower's apply (projections/follower.h): the write's lines — each tenant's next, from
  // the leader's log — are applied to their tenants' states (a tenant's made by its
  // tenant.created), the records they change and the snapshot each retention record takes are
  // added to the write's side writes, and the whole is stored by EventLog::AppendReplicated.
  // Every tenant's lock is held throughout, so no read sees a state the log does not hold. On
  // any failure to store nothing is stored and the states are read back from the store. A
  // tenant whose lines do not apply to its state (or whose state does not load) is left out
  // of the write — its state read back — and `refuse` is called with why, to add what it
  // will (a halt) to the write's side writes. A chain of core::kSystemChain changes no state.
  using Refuse = std::function<void(const core::TenantId& tenant, const std::string& why,
                                    core::KvBatch& side_writes)>;
  [[nodiscard]] core::Status ApplyReplicated(core::ReplicatedWrite write, const Refuse& refuse);

  // Runs fn(const TenantState&) under the tenant's read lock; kNotFound if no such tenant.
  template <class Fn>
  auto Read(const core::TenantId& tenant, Fn&& fn) const
      -> core::Result<std::invoke_result_t<Fn, const core::iam::TenantState&>>;

  [[nodiscard]] std::vector<core::TenantId> Tenants() const;
  // The tenant an API client id belongs to.
  [[nodiscard]] std::optional<core::TenantId> TenantOfClient(std::string_view client_id) const;
  [[nodiscard]] const core::Clock& clock() const { return clock_; }

  // SHA-256 over every tenant's records in key order; equal to StoredDigest of the store.
  // Loads every tenant first; a tenant whose records do not load is an error.
  [[nodiscard]] core::Result<std::string> Digest() const;
  // One tenant's state as of a tenant_seq: SHA-256 over its records as Digest hashes them. Waits
  // (at most `timeout`, then kUnavailable) until every append of the tenant decided so far is
  // durable, so the digest is of the state the log holds at `tenant_seq` — the same on every
  // node that applied the same events (GET …/digest, ../shared/spec/REPLICATION.md).
  struct TenantDigest {
    uint64_t tenant_seq = 0;
    std::string digest;
  };
  [[nodiscard]] core::Result<TenantDigest> DigestOf(const core::TenantId& tenant,
                                                    std::chrono::milliseconds timeout) const;
  // Tenants whose stored state is not in memory yet (0 once the warmer is done).
  [[nodiscard]] size_t UnloadedTenants() const { return unloaded_.load(); }
  // Of those, the ones whose last load failed (their records do not read: a rebuild's work).
  [[nodiscard]] size_t FailedTenants() const { return failed_.load(); }
  // False while the tenant has stored state that is not in memory yet: its first use will
  // read it (which a caller on a thread that must not block hands to a pool).
  [[nodiscard]] bool Loaded(const core::TenantId& tenant) const {
    std::shared_ptr<StateSlot> slot = FindSlot(tenant);
    return slot == nullptr || slot->ready.load(std::memory_order_acquire);
  }

  // Drops the stored state and replays the log into it: each tenant from its latest
  // retention snapshot, if it has one, then the events after it.
  [[nodiscard]] static core::Status RebuildState(const core::EventLog& log, core::KvStore& kv);
  // The digest of the state as stored.
  [[nodiscard]] static core::Result<std::string> StoredDigest(const core::KvStore& kv);

 private:
  // A tenant's identity state, kept in its writer slot and guarded by the slot's mutex.
  struct StateSlot final : TenantWriter::Slot {
    StateSlot(const core::TenantId& tenant, const core::KvStore& kv)
        : Slot(tenant), state(tenant.value()), kv_(kv) {}
    [[nodiscard]] core::Status LoadStored() override;
    void InstallLoaded() override;

    core::iam::TenantState state;
    std::optional<core::iam::TenantState> loaded_;  // LoadStored's copy, until installed
    const core::KvStore& kv_;
    // False until the stored records are in `state` (a tenant Open found); `state` is not
    // read before. Loading is serialized by load_mu.
    std::atomic<bool> ready{true};
    std::mutex load_mu;
    // Under load_mu: the last load's error, and when; the next try waits kLoadRetry.
    std::optional<core::Error> load_error;
    std::chrono::steady_clock::time_point failed_at;
  };
  static constexpr std::chrono::seconds kLoadRetry{10};

  IdentityService(core::EventLog& log, core::KvStore& kv, const core::Clock& clock,
                  core::Random& random, core::iam::Notifier* notifier)
      : log_(log),
        kv_(kv),
        clock_(clock),
        random_(random),
        notifier_(notifier),
        writer_(log, clock) {}

  [[nodiscard]] std::shared_ptr<StateSlot> FindSlot(const core::TenantId& tenant) const {
    return std::static_pointer_cast<StateSlot>(writer_.Find(tenant));
  }
  // Loads the slot's stored state if it is not loaded yet (once; concurrent callers wait).
  // After a failed load the same error is answered, without reading, for kLoadRetry.
  [[nodiscard]] core::Status Ensure(StateSlot& slot) const;
  // The warmer thread: loads the tenants not loaded yet, in order, until done or stopped.
  void Warm();
  // Adds to `batch` the tenant's records as the state after `at_tenant_seq`.
  static void AddSnapshot(core::KvBatch& batch, const core::iam::TenantState& state,
                          uint64_t at_tenant_seq);

  core::EventLog& log_;
  core::KvStore& kv_;
  const core::Clock& clock_;
  core::Random& random_;
  core::iam::Notifier* notifier_;
  TenantWriter writer_;
  mutable std::atomic<size_t> unloaded_{0};
  mutable std::atomic<size_t> failed_{0};
  // client id → tenant, read at Open, for the tenants not loaded yet (a loaded tenant is
  // asked directly); emptied once every tenant is loaded.
  mutable core::Mutex clients_mu_;
  mutable std::unordered_map<std::string, core::TenantId> stored_clients_
      CUSTOS_GUARDED_BY(clients_mu_);
  std::atomic<bool> stop_{false};
  std::thread warmer_;
};

template <class Fn>
auto IdentityService::Read(const core::TenantId& tenant, Fn&& fn) const
    -> core::Result<std::invoke_result_t<Fn, const core::iam::TenantState&>> {
  std::shared_ptr<StateSlot> slot = FindSlot(tenant);
  if (slot == nullptr) return core::NotFound("no tenant " + tenant.value());
  if (core::Status loaded = Ensure(*slot); !loaded.ok()) return std::move(loaded).error();
  std::shared_lock lock(slot->mutex());
  // After a failed append the state in memory holds effects that never became durable: it is
  // not read until the writer has reloaded it.
  if (slot->poisoned()) return slot->Recovering();
  if (!slot->state.exists()) return core::NotFound("no tenant " + tenant.value());
  return fn(static_cast<const core::iam::TenantState&>(slot->state));
}

// The state space key of a tenant's record.
[[nodiscard]] std::string StateKey(std::string_view tenant, std::string_view record_key);

}  // namespace custos::projections
