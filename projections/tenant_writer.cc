#include "projections/tenant_writer.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>

namespace custos::projections {

core::Error TenantWriter::Slot::Recovering() const {
  return core::Unavailable("an earlier write of tenant " + tenant_.value() +
                           " failed and its state is being reloaded; retry shortly");
}

TenantWriter::TenantWriter(core::EventLog& log, const core::Clock& clock)
    : log_(log), clock_(clock) {
  recovery_thread_ = std::thread([this, recovery = recovery_] {
    pthread_setname_np(pthread_self(), "custos-recover");
    core::MutexLock lock(recovery->mu);
    while (true) {
      while (!recovery->stop && recovery->queue.empty()) recovery->cv.wait(lock);
      if (recovery->stop) return;
      std::shared_ptr<Slot> slot = std::move(recovery->queue.front());
      recovery->queue.pop_front();
      lock.unlock();
      Recover(slot);
      lock.lock();
    }
  });
}

TenantWriter::~TenantWriter() {
  {
    core::MutexLock lock(recovery_->mu);
    recovery_->stop = true;
  }
  recovery_->cv.notify_all();
  if (recovery_thread_.joinable()) recovery_thread_.join();
  // Failures that were waiting for a reload that will not come now are answered as they are.
  core::ReaderLock lock(slots_mu_);
  for (const auto& entry : slots_) {
    for (std::function<void()>& answer : TakeFailedAnswers(*entry.second)) answer();
  }
}

std::shared_ptr<TenantWriter::Slot> TenantWriter::Find(const core::TenantId& tenant) const {
  core::ReaderLock lock(slots_mu_);
  auto it = slots_.find(tenant.value());
  return it == slots_.end() ? nullptr : it->second;
}

std::shared_ptr<TenantWriter::Slot> TenantWriter::FindOrAdd(
    const core::TenantId& tenant,
    const std::function<std::shared_ptr<Slot>(const core::TenantId&)>& make) {
  if (std::shared_ptr<Slot> slot = Find(tenant)) return slot;
  core::WriterLock lock(slots_mu_);
  std::shared_ptr<Slot>& slot = slots_[tenant.value()];
  if (slot == nullptr) {
    slot = make(tenant);
    SyncWithHead(*slot);
  }
  return slot;
}

void TenantWriter::Add(std::shared_ptr<Slot> slot) {
  SyncWithHead(*slot);
  core::WriterLock lock(slots_mu_);
  slots_[slot->tenant().value()] = std::move(slot);
}

void TenantWriter::ForEach(const std::function<void(const Slot&)>& fn) const {
  core::ReaderLock lock(slots_mu_);
  for (const auto& entry : slots_) fn(*entry.second);
}

std::vector<std::shared_ptr<TenantWriter::Slot>> TenantWriter::Slots() const {
  core::ReaderLock lock(slots_mu_);
  std::vector<std::shared_ptr<Slot>> out;
  out.reserve(slots_.size());
  for (const auto& entry : slots_) out.push_back(entry.second);
  return out;
}

void TenantWriter::SyncWithHead(Slot& slot) const {
  std::optional<core::TenantHead> head = log_.Head(slot.tenant());
  slot.next_tenant_seq_ = head ? head->tenant_seq.value() : 0;
  slot.last_time_ = std::max(slot.last_time_, head ? head->time : core::Time{});
}

core::Time TenantWriter::Locked::NextTime() {
  slot_->last_time_ = std::max(writer_->clock_.Now(), slot_->last_time_);
  return slot_->last_time_;
}

void TenantWriter::Locked::Append(core::AppendRequest request, core::AppendCallback done) && {
  Slot& slot = *slot_;
  if (slot.poisoned()) {  // a failure came back since the caller looked: nothing more goes in
    lock_.unlock();
    return done(slot.Recovering());
  }
  request.tenant = slot.tenant_;
  request.expected_tenant_seq = core::TenantSeq(slot.next_tenant_seq_);
  if (!request.time) request.time = NextTime();
  slot.next_tenant_seq_ += request.events.size();
  slot.in_flight_.fetch_add(1);
  auto finish = [slot = slot_, done = std::move(done),
                 recovery = writer_->recovery_](core::AppendResult r) {
    if (!r.ok()) {
      slot->poisoned_.store(true);
      return AnswerAfterRecovery(
          *recovery, slot, [done, e = std::move(r).error()]() mutable { done(std::move(e)); });
    }
    if (slot->in_flight_.fetch_sub(1) == 1 && slot->poisoned_.load()) {
      (void)ScheduleRecovery(*recovery, slot);
    }
    done(std::move(r));
  };
  // Submitted under the tenant's lock, so that the log sees the tenant's appends in the order
  // they were decided. A refusal poisons the slot before anyone else decides on the model it
  // left behind, and is answered once the lock is released.
  core::Status queued = writer_->log_.AppendAsync(std::move(request), finish);
  if (!queued.ok()) slot.poisoned_.store(true);
  lock_.unlock();
  if (!queued.ok()) finish(std::move(queued).error());
}

void TenantWriter::Locked::Poison() && {
  slot_->poisoned_.store(true);
  lock_.unlock();
  (void)ScheduleRecovery(*writer_->recovery_, slot_);
}

bool TenantWriter::ScheduleRecovery(Recovery& recovery, const std::shared_ptr<Slot>& slot) {
  if (slot->in_flight_.load() != 0 || slot->recovering_.exchange(true)) return true;
  {
    core::MutexLock lock(recovery.mu);
    if (recovery.stop) return false;
    recovery.queue.push_back(slot);
  }
  recovery.cv.notify_one();
  return true;
}

std::vector<std::function<void()>> TenantWriter::TakeFailedAnswers(Slot& slot) {
  std::vector<std::function<void()>> answers;
  core::MutexLock failed(slot.failed_mu_);
  answers.swap(slot.failed_answers_);
  return answers;
}

void TenantWriter::AnswerAfterRecovery(Recovery& recovery, const std::shared_ptr<Slot>& slot,
                                       std::function<void()> answer) {
  {
    core::MutexLock lock(slot->failed_mu_);
    slot->failed_answers_.push_back(std::move(answer));
  }
  if (slot->in_flight_.fetch_sub(1) == 1 && !ScheduleRecovery(recovery, slot)) {
    // The writer is stopping and reloads nothing more: the failures are answered as they are.
    for (std::function<void()>& a : TakeFailedAnswers(*slot)) a();
  }
}

void TenantWriter::Recover(const std::shared_ptr<Slot>& slot) {
  {
    std::unique_lock lock(slot->mu_);
    // Cleared before in_flight_ is read: the last append to come back after this schedules
    // the slot again.
    slot->recovering_.store(false);
    // Queued twice, or reloaded since: nothing to do. Something in flight: its return
    // schedules this again.
    if (!slot->poisoned_.load() || slot->in_flight_.load() != 0) return;
  }
  // Poisoned with nothing in flight, the tenant's store holds still: appends are refused
  // while it is poisoned and only this thread clears it. So read it off the slot's lock.
  const core::Status loaded = slot->LoadStored();
  std::unique_lock lock(slot->mu_);
  if (!loaded.ok()) {
    std::vector<std::function<void()>> answers = TakeFailedAnswers(*slot);
    lock.unlock();
    for (std::function<void()>& answer : answers) answer();  // nobody waits on a bad store
    // A store that cannot be read yet: try again shortly.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    (void)ScheduleRecovery(*recovery_, slot);
    return;
  }
  slot->InstallLoaded();
  SyncWithHead(*slot);
  // Taken before the poison is cleared: a failure after it waits for its own reload.
  std::vector<std::function<void()>> answers = TakeFailedAnswers(*slot);
  slot->poisoned_.store(false);
  lock.unlock();
  for (std::function<void()>& answer : answers) answer();
}

}  // namespace custos::projections
