#include "projections/audit_checkpoints.h"

#include "core/chain_verifier.h"
#include "core/json_value.h"
#include "core/log.h"
#include "core/time.h"

namespace custos::projections {
namespace {

// Space kIndex, beside the API's lookups: not in the audit index's space, which a rebuild
// drops and compaction trims below the purge floor — checkpoints outlive both.
std::string Prefix(const core::TenantId& tenant) {
  std::string key("checkpoint\0", 11);
  key += tenant.value();
  key += '\0';
  return key;
}

std::string Key(const core::TenantId& tenant, uint64_t tenant_seq) {
  std::string key = Prefix(tenant);
  core::PutBE64(key, tenant_seq);
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
  batch.Put(core::Space::kIndex, Key(tenant, tenant_seq), core::CheckpointJson(c));
  // Synced: a checkpoint handed out in an export must still be listed after a crash.
  CUSTOS_RETURN_IF_ERROR(kv_.Write(batch, core::Durability::kSync));
  std::lock_guard lock(mu_);
  uint64_t& last = signed_[tenant.value()];
  last = std::max(last, tenant_seq);
  return c;
}

core::Status AuditCheckpoints::VerifyUpTo(const core::TenantId& tenant,
                                          const core::TenantHead& head) {
  // From the last head verified (this run, else the last signed), the chain must lead to
  // this head: a history rewritten on disk is never signed.
  std::optional<std::pair<uint64_t, std::string>> from;
  {
    std::lock_guard lock(mu_);
    auto it = verified_.find(tenant.value());
    if (it != verified_.end()) from = it->second;
  }
  if (!from) {
    CUSTOS_ASSIGN_OR_RETURN(std::vector<core::Checkpoint> last, List(tenant, 1));
    if (!last.empty()) from = std::make_pair(last[0].tenant_seq, last[0].hash);
  }
  CUSTOS_ASSIGN_OR_RETURN(std::optional<core::TenantSeq> first, log_.FirstTenantSeq(tenant));
  const uint64_t first_kept = first ? first->value() : 1;
  std::optional<std::string> anchor;
  uint64_t next = first_kept;
  if (from && from->first + 1 >= first_kept) {
    next = from->first + 1;
    anchor = from->second;
  } else {
    // From the first kept event: 64 zeros, or the anchor its purge recorded with the
    // deletion — events removed without a purge are refused here.
    CUSTOS_ASSIGN_OR_RETURN(auto kept, core::FirstKeptAnchor(log_, tenant, first_kept));
    CUSTOS_RETURN_IF_ERROR(kept.second);
    anchor = kept.first;
  }
  if (next > head.tenant_seq.value() + 1) {
    return core::Corruption("tenant " + tenant.value() + "'s head went back below a signed one");
  }
  core::ChainVerifier verifier(anchor);
  CUSTOS_ASSIGN_OR_RETURN(
      core::Status verdict,
      core::VerifyStored(log_, tenant, next, head.tenant_seq.value(), verifier));
  CUSTOS_RETURN_IF_ERROR(verdict);
  if (verifier.summary().checked > 0 && verifier.summary().head_hash != head.hash) {
    return core::Corruption("tenant " + tenant.value() + "'s chain does not lead to its head");
  }
  std::lock_guard lock(mu_);
  verified_[tenant.value()] = {head.tenant_seq.value(), head.hash};
  return core::OkStatus();
}

core::Result<core::Checkpoint> AuditCheckpoints::SignVerified(const core::TenantId& tenant,
                                                              uint64_t tenant_seq,
                                                              const std::string& hash,
                                                              const core::TenantHead& head) {
  CUSTOS_RETURN_IF_ERROR(VerifyUpTo(tenant, head));
  return Sign(tenant, tenant_seq, hash);
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
    if (core::Status s = VerifyUpTo(tenant, *head); !s.ok()) {
      core::log::Warn("not signing a tenant's chain head",
                      {{"tenant", tenant.value()}, {"error", s.error().message}});
      continue;
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
  std::unique_ptr<core::KvIterator> it = kv_.NewIterator(core::Space::kIndex);
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
