// AuditCheckpoints: signed chain heads (../shared/spec/EVENTS.md "Signed checkpoints"). A hash
// chain can be recomputed by whoever can write the disk; a head signed with a key the server keeps
// cannot. The server signs each tenant's head every interval when it moved, and the last event of
// every export. Signed checkpoints are kept in space kIndex under
// `"checkpoint\0" tenant \0 BE64(tenant_seq)` (newest per tenant_seq), listed newest first.
//
// Thread-safety: every method may be called from any thread; Start runs one thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/checkpoint.h"
#include "core/clock.h"
#include "core/event_log.h"
#include "core/kv_store.h"
#include "core/result.h"
#include "projections/internal/periodic.h"

namespace custos::projections {

class AuditCheckpoints {
 public:
  AuditCheckpoints(const core::EventLog& log, core::KvStore& kv, const core::Clock& clock,
                   const core::CheckpointSigner& signer);
  ~AuditCheckpoints();
  AuditCheckpoints(const AuditCheckpoints&) = delete;
  AuditCheckpoints& operator=(const AuditCheckpoints&) = delete;

  // Signs (tenant, tenant_seq, hash) at the clock's time and keeps it.
  [[nodiscard]] core::Result<core::Checkpoint> Sign(const core::TenantId& tenant,
                                                    uint64_t tenant_seq, const std::string& hash);
  // Signs (tenant, tenant_seq, hash) once the stored chain is verified up to `head` (which
  // holds tenant_seq): kCorruption, and nothing signed, if it does not lead there.
  [[nodiscard]] core::Result<core::Checkpoint> SignVerified(const core::TenantId& tenant,
                                                            uint64_t tenant_seq,
                                                            const std::string& hash,
                                                            const core::TenantHead& head);
  // Signs the head of each tenant whose head moved since its last signature here, once the
  // chain from the last verified (or signed) head leads to it; a tenant whose chain does not
  // is reported on stderr and left unsigned.
  [[nodiscard]] core::Status SignMovedHeads(const std::vector<core::TenantId>& tenants);
  // The tenant's checkpoints, newest first.
  [[nodiscard]] core::Result<std::vector<core::Checkpoint>> List(const core::TenantId& tenant,
                                                                 size_t limit) const;

  // Signs moved heads every `interval` on a thread of its own until Stop (or destruction).
  void Start(std::chrono::milliseconds interval,
             std::function<std::vector<core::TenantId>()> tenants);
  void Stop();

  [[nodiscard]] const core::CheckpointSigner& signer() const { return signer_; }

 private:
  const core::EventLog& log_;
  core::KvStore& kv_;
  const core::Clock& clock_;
  const core::CheckpointSigner& signer_;
  std::mutex mu_;
  // Verifies the chain of stored lines from the last verified head up to `head`.
  [[nodiscard]] core::Status VerifyUpTo(const core::TenantId& tenant, const core::TenantHead& head);

  std::unordered_map<std::string, uint64_t> signed_;  // tenant → last tenant_seq signed
  std::unordered_map<std::string, std::pair<uint64_t, std::string>> verified_;
  internal::Periodic periodic_;
};

}  // namespace custos::projections
