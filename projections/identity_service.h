// IdentityService: the identity state of every tenant, kept current with the log, and the
// one way commands and events reach the log.
//
// Commands: ExecuteAsync decides a command against the tenant's current state (commands of
// one tenant are serialized by the tenant's lock), applies its events to the state at once,
// and appends them — with the changed state records and the credential writes as side
// writes of the same atomic batch, and the tenant's expected tenant_seq — without waiting:
// the next command of the tenant is decided on the state that includes the previous one, so
// many commands of one tenant share one fsync. The callback runs once the batch is durable;
// only then is the command acknowledged and its notifications published. Reads may see a
// command's effects up to one fsync before it is acknowledged. If an append fails, every
// later in-flight append of that tenant fails too (its expected tenant_seq no longer
// matches), and the tenant's state is reloaded from the store by the service's recovery
// thread once the last of them is back; the failed appends are answered once that is done,
// so a caller told its write failed reads a state without it. Meanwhile the tenant's reads
// and commands are answered kUnavailable at once (never a wait on the caller's thread).
//
// Application events (AppendEventsAsync) go through the same per-tenant order, so that the
// expected tenant_seq stays exact.
//
// State on disk (core::Space::kState): "<tenant>\0<record key>" → the record's JSON, written
// with the events that change it; checkpoint "state". Open loads it; it does not replay the
// log. RebuildState drops it and replays the log; Digest equals before and after.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "core/clock.h"
#include "core/event_log.h"
#include "core/iam/commands.h"
#include "core/iam/decide.h"
#include "core/iam/notifier.h"
#include "core/iam/state.h"
#include "core/kv_store.h"
#include "core/random.h"

namespace custos::projections {

struct ExecuteRequest {
  core::TenantId tenant;
  core::iam::Command command;
  core::Actor actor;
  std::optional<core::iam::Subject> caller;  // none: root (or the system)
  std::string request_id;
  std::optional<int64_t> if_match;
};

struct ExecuteResult {
  core::iam::Decision decision;  // id, the one-time secret, notifications
  std::vector<core::AppendedEvent> events;
};

using ExecuteCallback = std::function<void(core::Result<ExecuteResult>)>;

inline constexpr std::string_view kStateCheckpoint = "state";

class IdentityService {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<IdentityService>> Open(
      core::EventLog& log, core::KvStore& kv, const core::Clock& clock, core::Random& random,
      core::iam::Notifier* notifier);
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
  // the tenant's order. kNotFound for an unknown tenant.
  void AppendEventsAsync(const core::TenantId& tenant, std::vector<core::EventDraft> events,
                         core::AppendCallback done, Origin origin = Origin::kApplication,
                         const Precondition& precondition = nullptr);

  // Runs fn(const TenantState&) under the tenant's read lock; kNotFound if no such tenant.
  template <class Fn>
  auto Read(const core::TenantId& tenant, Fn&& fn) const
      -> core::Result<std::invoke_result_t<Fn, const core::iam::TenantState&>>;

  [[nodiscard]] std::vector<core::TenantId> Tenants() const;
  // The tenant an API client id belongs to.
  [[nodiscard]] std::optional<core::TenantId> TenantOfClient(std::string_view client_id) const;
  [[nodiscard]] const core::Clock& clock() const { return clock_; }

  // SHA-256 over every tenant's records in key order; equal to StoredDigest of the store.
  [[nodiscard]] std::string Digest() const;

  // Drops the stored state and replays the log into it: each tenant from its latest
  // retention snapshot, if it has one, then the events after it.
  [[nodiscard]] static core::Status RebuildState(const core::EventLog& log, core::KvStore& kv);
  // The digest of the state as stored.
  [[nodiscard]] static core::Result<std::string> StoredDigest(const core::KvStore& kv);

 private:
  struct TenantSlot {
    explicit TenantSlot(std::string tenant) : state(std::move(tenant)) {}
    mutable std::shared_mutex mu;
    core::iam::TenantState state;
    uint64_t next_tenant_seq = 0;  // the tenant_seq the next append expects, speculative
    core::Time last_time;          // of the tenant's last decided append (never decreases)
    std::atomic<int> in_flight{0};
    std::atomic<bool> poisoned{false};
    std::atomic<bool> recovering{false};  // queued for the recovery thread
    // The answers to the failed appends, given once the state is reloaded: whoever is told
    // its write failed then reads a state without it.
    std::mutex failed_mu;
    std::vector<std::function<void()>> failed_answers;
  };

  // The recovery thread's queue; callbacks of the log hold it, not the service.
  struct Recovery {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::shared_ptr<TenantSlot>> queue;
    bool stop = false;
  };
  // Holds a failed append's answer until the slot is reloaded (the last one in flight
  // schedules the reload).
  static void AnswerAfterRecovery(Recovery& recovery, const std::shared_ptr<TenantSlot>& slot,
                                  std::function<void()> answer);
  // Queues a poisoned slot for reloading (once nothing of it is in flight).
  static void ScheduleRecovery(Recovery& recovery, const std::shared_ptr<TenantSlot>& slot);
  // The recovery thread's work: reloads a poisoned slot from the store.
  void RecoverSlot(const std::shared_ptr<TenantSlot>& slot);
  [[nodiscard]] static core::Error Recovering(const TenantSlot& slot);

  IdentityService(core::EventLog& log, core::KvStore& kv, const core::Clock& clock,
                  core::Random& random, core::iam::Notifier* notifier)
      : log_(log), kv_(kv), clock_(clock), random_(random), notifier_(notifier) {}

  // The time of the tenant's next append: the clock, or the last one if the clock is behind
  // it. State is decided with it and the events carry it, so a replay gives the same state.
  [[nodiscard]] core::Time NextTime(TenantSlot& slot) const;
  [[nodiscard]] std::shared_ptr<TenantSlot> FindSlot(const core::TenantId& tenant) const;
  [[nodiscard]] std::shared_ptr<TenantSlot> GetOrCreateSlot(const core::TenantId& tenant);
  [[nodiscard]] core::Status LoadSlot(TenantSlot& slot);
  // The tenant's state as stored.
  [[nodiscard]] core::Status LoadState(core::iam::TenantState& out) const;
  // Adds to `batch` the tenant's records as the state after `at_tenant_seq`.
  static void AddSnapshot(core::KvBatch& batch, const core::iam::TenantState& state,
                          uint64_t at_tenant_seq);

  core::EventLog& log_;
  core::KvStore& kv_;
  const core::Clock& clock_;
  core::Random& random_;
  core::iam::Notifier* notifier_;

  mutable std::shared_mutex slots_mu_;
  std::map<std::string, std::shared_ptr<TenantSlot>> slots_;
  std::shared_ptr<Recovery> recovery_ = std::make_shared<Recovery>();
  std::thread recovery_thread_;
};

template <class Fn>
auto IdentityService::Read(const core::TenantId& tenant, Fn&& fn) const
    -> core::Result<std::invoke_result_t<Fn, const core::iam::TenantState&>> {
  std::shared_ptr<TenantSlot> slot = FindSlot(tenant);
  if (slot == nullptr) return core::NotFound("no tenant " + tenant.value());
  std::shared_lock lock(slot->mu);
  // After a failed append the state in memory holds effects that never became durable: it is
  // not read until the recovery thread has reloaded it.
  if (slot->poisoned.load()) return Recovering(*slot);
  if (!slot->state.exists()) return core::NotFound("no tenant " + tenant.value());
  return fn(static_cast<const core::iam::TenantState&>(slot->state));
}

// The state space key of a tenant's record.
[[nodiscard]] std::string StateKey(std::string_view tenant, std::string_view record_key);

}  // namespace custos::projections
