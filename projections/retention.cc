#include "projections/retention.h"

#include <cstdio>
#include <future>

#include "core/event.h"
#include "core/json_writer.h"
#include "core/time.h"

namespace custos::projections {
namespace {

constexpr std::chrono::seconds kCatchUpTimeout{30};

struct Policy {
  int retention_days = 30;
  bool legal_hold = false;
};

}  // namespace

Retention::~Retention() { Stop(); }

core::Result<std::optional<uint64_t>> Retention::LastDeliveredUpTo(const core::TenantId& tenant,
                                                                   uint64_t first, uint64_t last,
                                                                   uint64_t seq) const {
  // seq grows with tenant_seq within a tenant: a binary search over the range.
  std::optional<uint64_t> found;
  uint64_t lo = first;
  uint64_t hi = last;
  while (lo <= hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    CUSTOS_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> line,
                            log_.GetTenantEvents(tenant, {core::TenantSeq(mid)}));
    if (!line[0])
      return core::Corruption("event " + std::to_string(mid) + " of tenant " + tenant.value() +
                              " is missing");
    CUSTOS_ASSIGN_OR_RETURN(core::LineFields f, core::ParseLineFields(*line[0]));
    if (f.seq <= seq) {
      found = mid;
      lo = mid + 1;
    } else {
      if (mid == 0) break;
      hi = mid - 1;
    }
  }
  return found;
}

core::Result<PurgeOutcome> Retention::Purge(const core::TenantId& tenant, core::Time as_of) {
  std::lock_guard purge_lock(purge_mu_);
  CUSTOS_ASSIGN_OR_RETURN(Policy policy,
                          identity_.Read(tenant, [](const core::iam::TenantState& st) {
                            return Policy{st.tenant().retention_days, st.tenant().legal_hold};
                          }));
  PurgeOutcome out;
  out.cutoff = as_of - std::chrono::hours(24) * policy.retention_days;
  if (policy.legal_hold) {
    out.legal_hold = true;
    return out;
  }
  CUSTOS_RETURN_IF_ERROR(audit_.CatchUp(kCatchUpTimeout));
  CUSTOS_ASSIGN_OR_RETURN(std::optional<core::TenantSeq> first, log_.FirstTenantSeq(tenant));
  const std::optional<core::TenantHead> head = log_.Head(tenant);
  if (!first || !head) return out;
  CUSTOS_ASSIGN_OR_RETURN(std::optional<uint64_t> kept,
                          audit_.FirstSeqAtOrAfter(tenant, out.cutoff));
  uint64_t last = kept ? *kept - 1 : head->tenant_seq.value();
  CUSTOS_ASSIGN_OR_RETURN(std::optional<core::Seq> relay, kv_.GetCheckpoint(kRelayCheckpoint));
  if (relay && last >= first->value()) {
    CUSTOS_ASSIGN_OR_RETURN(std::optional<uint64_t> delivered,
                            LastDeliveredUpTo(tenant, first->value(), last, relay->value()));
    last = delivered ? *delivered : 0;
  }
  if (last < first->value()) return out;

  CUSTOS_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> last_line,
                          log_.GetTenantEvents(tenant, {core::TenantSeq(last)}));
  if (!last_line[0]) return core::Corruption("the last event to purge is missing");
  CUSTOS_ASSIGN_OR_RETURN(core::LineFields f, core::ParseLineFields(*last_line[0]));
  out.first_tenant_seq = first->value();
  out.last_tenant_seq = last;
  out.purged = last - first->value() + 1;
  out.anchor = std::string(f.hash);

  core::EventDraft record;
  record.type = "audit.retention_purged";
  record.actor = core::Actor{"system", "retention", "", "", ""};
  core::JsonWriter w;
  w.BeginObject().Key("cutoff").String(core::FormatTime(out.cutoff));
  w.Key("count").UInt(out.purged).Key("first_tenant_seq").UInt(out.first_tenant_seq);
  w.Key("last_tenant_seq").UInt(out.last_tenant_seq).Key("anchor").String(out.anchor);
  w.Key("retention_days").Int(policy.retention_days).EndObject();
  record.data = w.Take();
  std::promise<core::AppendResult> appended;
  std::vector<core::EventDraft> drafts;
  drafts.push_back(std::move(record));
  identity_.AppendEventsAsync(
      tenant, std::move(drafts),
      [&appended](core::AppendResult r) { appended.set_value(std::move(r)); },
      IdentityService::Origin::kRetention);
  core::AppendResult result = appended.get_future().get();
  if (!result.ok()) return result.error();
  CUSTOS_RETURN_IF_ERROR(log_.PurgeTenant(tenant, core::TenantSeq(last + 1)));
  return out;
}

core::Result<uint64_t> Retention::PurgeAll() {
  uint64_t total = 0;
  const core::Time now = clock_.Now();
  for (const core::TenantId& tenant : identity_.Tenants()) {
    CUSTOS_ASSIGN_OR_RETURN(PurgeOutcome o, Purge(tenant, now));
    total += o.purged;
  }
  return total;
}

void Retention::Start(std::chrono::milliseconds interval) {
  periodic_.Start(interval, [this] {
    core::Result<uint64_t> purged = PurgeAll();
    if (!purged.ok()) {
      std::fprintf(stderr, "custos: retention purge failed (retried next interval): %s\n",
                   purged.error().message.c_str());
    } else if (*purged > 0) {
      std::fprintf(stderr, "custos: retention purged %llu events\n",
                   static_cast<unsigned long long>(*purged));
    }
  });
}

void Retention::Stop() { periodic_.Stop(); }

}  // namespace custos::projections
