#include "projections/retention.h"

#include <future>

#include "core/event.h"
#include "core/json_writer.h"
#include "core/log.h"
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

std::unique_ptr<Retention::Lease> Retention::Hold(const core::TenantId& tenant) {
  std::unique_lock lock(holds_mu_);
  holds_cv_.wait(lock, [&] { return purging_ != tenant.value(); });
  ++holds_[tenant.value()];
  return std::make_unique<Lease>(*this, tenant.value());
}

Retention::Lease::~Lease() {
  std::lock_guard lock(r_->holds_mu_);
  if (--r_->holds_[tenant_] == 0) r_->holds_.erase(tenant_);
}

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
  core::Result<PurgeOutcome> out = PurgeOnce(tenant, as_of);
  if (!out.ok()) {
    failures_.fetch_add(1, std::memory_order_relaxed);
  } else if (out->purged > 0) {
    purges_.fetch_add(1, std::memory_order_relaxed);
    purged_events_.fetch_add(out->purged, std::memory_order_relaxed);
  }
  return out;
}

core::Result<PurgeOutcome> Retention::PurgeOnce(const core::TenantId& tenant, core::Time as_of) {
  std::lock_guard purge_lock(purge_mu_);
  CUSTOS_ASSIGN_OR_RETURN(Policy policy,
                          identity_.Read(tenant, [](const core::iam::TenantState& st) {
                            return Policy{st.tenant().retention_days, st.tenant().legal_hold};
                          }));
  PurgeOutcome out;
  out.cutoff = RetentionCutoff(as_of, policy.retention_days);
  if (policy.legal_hold) {
    out.legal_hold = true;
    return out;
  }
  // The head first, then the index up to it: every event up to the head is in the time index,
  // so none appended meanwhile can be mistaken for an old one.
  const std::optional<core::TenantHead> head = log_.Head(tenant);
  CUSTOS_RETURN_IF_ERROR(audit_.CatchUp(kCatchUpTimeout));
  CUSTOS_ASSIGN_OR_RETURN(std::optional<core::TenantSeq> first, log_.FirstTenantSeq(tenant));
  if (!first || !head) return out;
  CUSTOS_ASSIGN_OR_RETURN(std::optional<uint64_t> kept,
                          audit_.FirstSeqAtOrAfter(tenant, out.cutoff));
  if (kept && *kept == 0) return core::Corruption("the audit index gave tenant_seq 0");
  uint64_t last = kept ? std::min(*kept - 1, head->tenant_seq.value()) : head->tenant_seq.value();
  // What every sink has delivered: the least of their cursors.
  std::optional<uint64_t> delivered_seq;
  for (const std::string& sink : sinks_) {
    CUSTOS_ASSIGN_OR_RETURN(std::optional<core::Seq> cursor, kv_.GetCheckpoint(sink));
    if (!cursor) return out;  // this sink has delivered nothing yet
    delivered_seq = std::min(delivered_seq.value_or(cursor->value()), cursor->value());
  }
  if (delivered_seq && last >= first->value()) {
    CUSTOS_ASSIGN_OR_RETURN(std::optional<uint64_t> delivered,
                            LastDeliveredUpTo(tenant, first->value(), last, *delivered_seq));
    last = delivered ? *delivered : 0;
  }
  if (last < first->value()) return out;

  // No reader may see the stream with a hole: refuse while one holds the tenant, and make new
  // ones wait until the purge is over.
  {
    std::lock_guard lock(holds_mu_);
    if (holds_.count(tenant.value()) != 0) {
      return core::Unavailable("an export of tenant " + tenant.value() +
                               " is running; the purge runs again at its next interval");
    }
    purging_ = tenant.value();
  }
  struct EndPurge {
    Retention* r;
    ~EndPurge() {
      {
        std::lock_guard lock(r->holds_mu_);
        r->purging_.clear();
      }
      r->holds_cv_.notify_all();
    }
  } end_purge{this};

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
  record.actor = core::Actor{"system", "retention", "retention", "", ""};
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
      IdentityService::Origin::kRetention,
      [&policy](const core::iam::TenantState& st) {
        // A legal hold or a longer window committed since the policy was read wins.
        if (st.tenant().legal_hold || st.tenant().retention_days > policy.retention_days) {
          return core::Status(core::Error{core::Errc::kConflict,
                                          "the tenant's retention changed during the purge; "
                                          "run it again",
                                          {}});
        }
        return core::OkStatus();
      });
  core::AppendResult result = appended.get_future().get();
  if (!result.ok()) return result.error();
  if (!result->empty()) out.seq = result->back().seq.value();
  if (after_record_) after_record_();
  // The deletion runs holding the tenant's state (no command of it is decided meanwhile), and
  // looks at the hold once more: a legal hold decided since the record — even one not yet
  // acknowledged — keeps every event. The record then stands alone, as after a crash between
  // record and deletion.
  CUSTOS_ASSIGN_OR_RETURN(
      core::Status deleted,
      identity_.Read(tenant, [&](const core::iam::TenantState& st) -> core::Status {
        if (st.tenant().legal_hold || st.tenant().retention_days > policy.retention_days) {
          return core::Error{core::Errc::kConflict,
                             "a legal hold or a longer window came during the purge; nothing "
                             "was deleted",
                             {}};
        }
        return log_.PurgeTenant(tenant, core::TenantSeq(last + 1));
      }));
  if (!deleted.ok() && deleted.error().code == core::Errc::kConflict) {
    out.purged = 0;
    out.legal_hold = true;
    return out;
  }
  CUSTOS_RETURN_IF_ERROR(deleted);
  return out;
}

core::Result<uint64_t> Retention::PurgeAll() {
  uint64_t total = 0;
  const core::Time now = clock_.Now();
  std::optional<core::Error> first_error;
  // One tenant that cannot be purged now does not hold back the others.
  for (const core::TenantId& tenant : identity_.Tenants()) {
    core::Result<PurgeOutcome> o = Purge(tenant, now);
    if (o.ok()) {
      total += o->purged;
    } else if (!first_error) {
      first_error =
          core::Error{o.error().code, "tenant " + tenant.value() + ": " + o.error().message, {}};
    }
  }
  if (first_error) return *first_error;
  return total;
}

void Retention::Start(std::chrono::milliseconds interval) {
  periodic_.Start(interval, [this] {
    core::Result<uint64_t> purged = PurgeAll();
    if (!purged.ok()) {
      core::log::Warn("a retention purge failed (retried next interval)",
                      {{"error", purged.error().message}});
    } else if (*purged > 0) {
      core::log::Info("retention purged events", {{"events", std::to_string(*purged)}});
    }
  });
}

void Retention::Stop() { periodic_.Stop(); }

}  // namespace custos::projections
