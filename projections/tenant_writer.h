// TenantWriter: the write order of each tenant's chain — one lock per tenant, the tenant_seq
// its next append expects, the time of its next append, and recovery after a failed append —
// apart from what is written.
//
// An appender keeps its read model in a Slot (the identity service's TenantState): the model
// is changed under the slot's lock before the append is durable, so the next write of the
// tenant is decided on it and many writes share one fsync. Appends are submitted under the
// lock, so the log sees them in the order they were decided, each expecting the tenant_seq
// after the previous one.
//
// When an append fails, every later one of the tenant in flight fails too (its expected
// tenant_seq no longer matches), and the slot is poisoned: its model may hold effects that
// never became durable. Once the last of them is back, the writer's recovery thread reloads the
// model from the store (Slot::LoadStored, then Slot::InstallLoaded under the lock) and the
// tenant's sequence from the log's head, and only then answers the failed appends — a caller
// told its write failed reads a model without it. Meanwhile the slot's users answer
// kUnavailable at once (Slot::Recovering); nobody waits on a caller's thread.
//
// Thread-safety: all methods may be called from any thread. A Slot's model is guarded by its
// mutex(): shared to read, exclusive (a Locked) to change and append.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/event_log.h"
#include "core/ids.h"
#include "core/result.h"
#include "core/thread_annotations.h"

namespace custos::projections {

class TenantWriter {
 public:
  // One tenant's writer state; an appender derives from it to keep its read model.
  class Slot {
   public:
    explicit Slot(core::TenantId tenant) : tenant_(std::move(tenant)) {}
    virtual ~Slot() = default;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

    [[nodiscard]] const core::TenantId& tenant() const { return tenant_; }
    // Shared to read the model, exclusive to change it.
    [[nodiscard]] std::shared_mutex& mutex() const { return mu_; }
    // True from a failed append until the model is reloaded: the model is not to be read.
    [[nodiscard]] bool poisoned() const { return poisoned_.load(); }
    // The answer while poisoned.
    [[nodiscard]] core::Error Recovering() const;
    // Under the lock (shared is enough): the tenant_seq of the last append decided, and whether
    // every append decided is back from the log. While the lock is held shared no append starts,
    // so a holder that waits for settled() sees the model exactly as the log holds it.
    [[nodiscard]] uint64_t decided_tenant_seq() const { return next_tenant_seq_; }
    [[nodiscard]] bool settled() const { return in_flight_.load() == 0; }

    // Reads the model as stored into a copy the slot keeps aside. Called without the lock:
    // while poisoned with nothing in flight, the store holds still for the tenant.
    [[nodiscard]] virtual core::Status LoadStored() = 0;
    // Puts the copy LoadStored read in place (under the exclusive lock).
    virtual void InstallLoaded() = 0;

   private:
    friend class TenantWriter;
    const core::TenantId tenant_;
    mutable std::shared_mutex mu_;
    // Under mu_ (exclusive), and only while not poisoned:
    uint64_t next_tenant_seq_ = 0;  // the tenant_seq the next append expects (speculative)
    core::Time last_time_;          // of the last decided append; never decreases
    std::atomic<int> in_flight_{0};
    std::atomic<bool> poisoned_{false};
    std::atomic<bool> recovering_{false};  // queued for the recovery thread
    // The answers to the failed appends, given once the model is reloaded.
    core::Mutex failed_mu_;
    std::vector<std::function<void()>> failed_answers_ CUSTOS_GUARDED_BY(failed_mu_);
  };

  // A slot held exclusively: what a write is decided and appended under. Releases the lock
  // when destroyed, or by Unlock, Append or Poison.
  class Locked {
   public:
    Locked(Locked&&) = default;
    Locked& operator=(Locked&&) = default;

    [[nodiscard]] bool poisoned() const { return slot_->poisoned(); }
    // The time of the tenant's next append: the clock, or the last one if the clock is behind
    // it. A model decided with it and events carrying it replay to the same model.
    [[nodiscard]] core::Time NextTime();
    // The tenant_seq the next append expects (the model is the state after it).
    [[nodiscard]] uint64_t next_tenant_seq() const { return slot_->next_tenant_seq_; }
    void Unlock() { lock_.unlock(); }

    // Appends `request` as the tenant's next (its expected_tenant_seq, and its time if unset,
    // set here) and releases the lock. `done` runs once: with the appended events, on the
    // log's commit thread; or with the error, once the model is reloaded. Any failure, a
    // refusal before queueing included, poisons the slot. On a slot poisoned since the caller
    // looked, nothing is appended and `done` is answered kUnavailable at once (the model,
    // which is not read while poisoned, is reloaded anyway).
    void Append(core::AppendRequest request, core::AppendCallback done) &&;
    // The model holds an effect that must not stay (a decided event it refused): poisons the
    // slot, releases the lock, and has the model reloaded.
    void Poison() &&;

   private:
    friend class TenantWriter;
    Locked(TenantWriter& writer, std::shared_ptr<Slot> slot)
        : writer_(&writer), slot_(std::move(slot)), lock_(slot_->mu_) {}
    TenantWriter* writer_;
    std::shared_ptr<Slot> slot_;
    std::unique_lock<std::shared_mutex> lock_;
  };

  TenantWriter(core::EventLog& log, const core::Clock& clock);
  // Stops the recovery thread; failures waiting for a reload are answered as they are, and so
  // are appends still in flight when they come back.
  ~TenantWriter();
  TenantWriter(const TenantWriter&) = delete;
  TenantWriter& operator=(const TenantWriter&) = delete;

  [[nodiscard]] std::shared_ptr<Slot> Find(const core::TenantId& tenant) const;
  // The tenant's slot; one made by `make` if it has none yet (its sequence from the log).
  [[nodiscard]] std::shared_ptr<Slot> FindOrAdd(
      const core::TenantId& tenant,
      const std::function<std::shared_ptr<Slot>(const core::TenantId&)>& make);
  // Adds a slot whose model is loaded (at start), its sequence from the log's head.
  void Add(std::shared_ptr<Slot> slot);
  // fn(const Slot&) for every slot, in tenant order, while no slot is added.
  void ForEach(const std::function<void(const Slot&)>& fn) const;
  // Every slot, in tenant order.
  [[nodiscard]] std::vector<std::shared_ptr<Slot>> Slots() const;

  [[nodiscard]] Locked Lock(std::shared_ptr<Slot> slot) { return Locked(*this, std::move(slot)); }
  // A follower's: after lines were stored for the slot's tenant (EventLog::AppendReplicated),
  // under the slot's exclusive lock, takes its sequence and time from the log's head.
  void Resync(Slot& slot) const { SyncWithHead(slot); }

 private:
  // The recovery thread's queue; append callbacks hold it, not the writer.
  struct Recovery {
    core::Mutex mu;
    std::condition_variable_any cv;
    std::deque<std::shared_ptr<Slot>> queue CUSTOS_GUARDED_BY(mu);
    bool stop CUSTOS_GUARDED_BY(mu) = false;
  };
  // Queues a poisoned slot for reloading, once nothing of it is in flight; false when the
  // writer is stopping (nothing is reloaded any more).
  static bool ScheduleRecovery(Recovery& recovery, const std::shared_ptr<Slot>& slot);
  static std::vector<std::function<void()>> TakeFailedAnswers(Slot& slot);
  // Keeps a failed append's answer until the slot is reloaded (or, once the writer is
  // stopping, gives it at once).
  static void AnswerAfterRecovery(Recovery& recovery, const std::shared_ptr<Slot>& slot,
                                  std::function<void()> answer);
  void Recover(const std::shared_ptr<Slot>& slot);
  // The slot's sequence and time as the log's head has them.
  void SyncWithHead(Slot& slot) const;

  core::EventLog& log_;
  const core::Clock& clock_;
  mutable core::SharedMutex slots_mu_;
  std::map<std::string, std::shared_ptr<Slot>> slots_ CUSTOS_GUARDED_BY(slots_mu_);
  std::shared_ptr<Recovery> recovery_ = std::make_shared<Recovery>();
  std::thread recovery_thread_;
};

}  // namespace custos::projections
