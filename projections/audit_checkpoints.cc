#include "projections/audit_checkpoints.h"

#include "core/json_value.h"
#include "core/time.h"

namespace custos::projections {
namespace {

std::string Prefix(const core::TenantId& tenant) {
  std::string key = tenant.value();
  key += '\0';
  key += 'k';
  return key;
}

std::string Key(const core::TenantId& tenant, uint64_t tenant_seq) {
  std::string key = Prefix(tenant);
  for (int shift = 56; shift >= 0; shift -= 8) key += static_cast<char>(tenant_seq >> shift);
  return key;
}

}  // namespace

AuditCheckpoints::AuditCheckpoints(const core::EventLog& log, core::KvStore& kv,
                                   const core::Clock& clock, const core::CheckpointSigner& signer)
    : log_(log), kv_(kv), clock_(clock), signer_(signer) {}

AuditCheckpoints::~AuditCheckpoints() { Stop(); }

core::Result<core::Checkpoint> AuditCheckpoints::Sign(const core::TenantId& tenant,
                                                      uint64_t tenant_seq,
                                                      const std::string& hash) {
  core::Checkpoint c =
      signer_.Sign(tenant.value(), tenant_seq, hash, core::FormatTime(clock_.Now()));
  core::KvBatch batch;
  batch.Put(core::Space::kAudit, Key(tenant, tenant_seq), core::CheckpointJson(c));
  // Synced: a checkpoint handed out in an export must still be listed after a crash.
  CUSTOS_RETURN_IF_ERROR(kv_.Write(batch, core::Durability::kSync));
  std::lock_guard lock(mu_);
  uint64_t& last = signed_[tenant.value()];
  last = std::max(last, tenant_seq);
  return c;
}

core::Status AuditCheckpoints::SignMovedHeads(const std::vector<core::TenantId>& tenants) {
  for (const core::TenantId& tenant : tenants) {
    const std::optional<core::TenantHead> head = log_.Head(tenant);
    if (!head) continue;
    {
      std::lock_guard lock(mu_);
      auto it = signed_.find(tenant.value());
      if (it != signed_.end() && it->second >= head->tenant_seq.value()) continue;
    }
    core::Result<core::Checkpoint> signed_head = Sign(tenant, head->tenant_seq.value(), head->hash);
    if (!signed_head.ok()) return signed_head.error();
  }
  return core::OkStatus();
}

core::Result<std::vector<core::Checkpoint>> AuditCheckpoints::List(const core::TenantId& tenant,
                                                                   size_t limit) const {
  std::vector<core::Checkpoint> out;
  const std::string prefix = Prefix(tenant);
  std::unique_ptr<core::KvIterator> it = kv_.NewIterator(core::Space::kAudit);
  it->SeekForPrev(prefix + std::string(8, '\xff'));
  for (; it->Valid() && out.size() < limit && it->key().starts_with(prefix); it->Prev()) {
    CUSTOS_ASSIGN_OR_RETURN(
        core::Checkpoint c,
        core::ParseCheckpointLine("{\"checkpoint\":" + std::string(it->value()) + "}"));
    out.push_back(std::move(c));
  }
  CUSTOS_RETURN_IF_ERROR(it->status());
  return out;
}

void AuditCheckpoints::Start(std::chrono::milliseconds interval,
                             std::function<std::vector<core::TenantId>()> tenants) {
  periodic_.Start(interval, [this, tenants = std::move(tenants)] {
    // A failure (disk full) is retried at the next interval; the heads stay unsigned.
    (void)SignMovedHeads(tenants());
  });
}

void AuditCheckpoints::Stop() { periodic_.Stop(); }

}  // namespace custos::projections
