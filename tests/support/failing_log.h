// FailingLog: an EventLog that forwards to a real one and fails the appends a test asks it
// to, the way a full disk fails a write (the write fails after queueing; later appends of the
// tenant, decided on it, then fail their expected tenant_seq).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/event_log.h"

namespace custos::testing {

class FailingLog final : public core::EventLog {
 public:
  explicit FailingLog(core::EventLog& inner) : inner_(inner) {}
  std::atomic<int> fail_next{0};         // the next AppendAsync fails when set
  std::atomic<bool> fail_purges{false};  // every PurgeTenant fails while set
  // Runs on the commit thread before the failure is reported (a test holds it there).
  std::function<void()> before_failing;

  core::AppendResult Append(core::AppendRequest r) override { return inner_.Append(std::move(r)); }
  HeadsAt Heads() const override { return inner_.Heads(); }
  core::Status AppendReplicated(core::ReplicatedWrite w) override {
    return inner_.AppendReplicated(std::move(w));
  }
  core::Status AppendAsync(core::AppendRequest r, core::AppendCallback done) override {
    if (fail_next.exchange(0) != 0) {
      // As a full disk would: the write fails, and the rest of the queue is decided later.
      return inner_.AppendAsync(
          core::AppendRequest{r.tenant, r.events, core::TenantSeq(UINT64_MAX), {}, ""},
          [this, done = std::move(done)](core::AppendResult) {
            if (before_failing) before_failing();
            done(core::Unavailable("injected: no space left on device"));
          });
    }
    return inner_.AppendAsync(std::move(r), std::move(done));
  }
  core::Result<std::vector<core::StoredEvent>> Read(core::Seq f, size_t l) const override {
    return inner_.Read(f, l);
  }
  core::Result<std::vector<core::StoredEvent>> ReadTenant(const core::TenantId& t,
                                                          core::TenantSeq f,
                                                          size_t l) const override {
    return inner_.ReadTenant(t, f, l);
  }
  core::Result<std::vector<std::optional<std::string>>> GetTenantEvents(
      const core::TenantId& t, const std::vector<core::TenantSeq>& s) const override {
    return inner_.GetTenantEvents(t, s);
  }
  core::Result<std::optional<core::TenantSeq>> FirstTenantSeq(
      const core::TenantId& t) const override {
    return inner_.FirstTenantSeq(t);
  }
  std::vector<core::TenantId> Tenants() const override { return inner_.Tenants(); }
  core::Result<uint64_t> ScanTenant(
      const core::TenantId& t, core::TenantSeq from, core::TenantSeq to,
      const std::function<bool(uint64_t, std::string_view)>& fn) const override {
    return inner_.ScanTenant(t, from, to, fn);
  }
  core::Result<uint64_t> ScanTenantBackward(
      const core::TenantId& t, core::TenantSeq from, core::TenantSeq to,
      const std::function<bool(uint64_t, std::string_view)>& fn) const override {
    return inner_.ScanTenantBackward(t, from, to, fn);
  }
  core::Result<std::optional<PurgeAnchor>> PurgeAnchorOf(const core::TenantId& t) const override {
    return inner_.PurgeAnchorOf(t);
  }
  core::Status PurgeTenant(const core::TenantId& t, core::TenantSeq below) override {
    if (fail_purges.load()) return core::Unavailable("injected: the purge failed");
    return inner_.PurgeTenant(t, below);
  }
  std::optional<core::TenantHead> Head(const core::TenantId& t) const override {
    return inner_.Head(t);
  }
  core::Seq LastSeq() const override { return inner_.LastSeq(); }
  core::Seq WaitForAppend(core::Seq a, std::chrono::milliseconds t) const override {
    return inner_.WaitForAppend(a, t);
  }

 private:
  core::EventLog& inner_;
};

}  // namespace custos::testing
