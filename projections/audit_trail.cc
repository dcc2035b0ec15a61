#include "projections/audit_trail.h"

#include <algorithm>

#include "core/audit_formats.h"
#include "core/chain_verifier.h"
#include "core/event.h"
#include "core/json_value.h"

namespace custos::projections {

core::Result<Visible> AuditTrail::VisibleOf(const core::TenantId& tenant,
                                            int retention_days) const {
  Visible v;
  v.cutoff = RetentionCutoff(clock_.Now(), retention_days);
  CUSTOS_ASSIGN_OR_RETURN(std::optional<core::TenantSeq> first, log_.FirstTenantSeq(tenant));
  if (first) v.first_tenant_seq = first->value();
  return v;
}

core::Result<VerifyReport> AuditTrail::Verify(const core::TenantId& tenant,
                                              std::optional<uint64_t> from,
                                              std::optional<uint64_t> to) const {
  const std::optional<core::TenantHead> head = log_.Head(tenant);
  CUSTOS_ASSIGN_OR_RETURN(std::optional<core::TenantSeq> first, log_.FirstTenantSeq(tenant));
  const uint64_t lo = std::max(from.value_or(1), first ? first->value() : 1);
  const uint64_t hi = std::min(to.value_or(UINT64_MAX), head ? head->tenant_seq.value() : 0);
  // The anchor: the hash of the event before the range when it is still stored; from the
  // first kept event, the anchor its purge recorded (events gone without a purge fail).
  std::optional<std::string> anchor;
  core::Status start = core::OkStatus();
  const uint64_t first_kept = first ? first->value() : 1;
  if (lo <= hi && lo == first_kept) {
    CUSTOS_ASSIGN_OR_RETURN(auto kept, core::FirstKeptAnchor(log_, tenant, first_kept));
    if (kept.second.ok()) anchor = kept.first;
    start = kept.second;
  } else if (lo > 1 && lo <= hi) {
    CUSTOS_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> before,
                            log_.GetTenantEvents(tenant, {core::TenantSeq(lo - 1)}));
    if (before[0]) {
      CUSTOS_ASSIGN_OR_RETURN(core::LineFields f, core::ParseLineFields(*before[0]));
      anchor = std::string(f.hash);
    }
  }
  core::ChainVerifier verifier(anchor);
  core::Status status = start;
  if (status.ok()) {
    CUSTOS_ASSIGN_OR_RETURN(status, core::VerifyStored(log_, tenant, lo, hi, verifier));
  }
  const core::ChainSummary& sum = verifier.summary();
  VerifyReport report;
  report.ok = status.ok();
  report.checked = sum.checked;
  report.first_tenant_seq = sum.first_tenant_seq;
  report.last_tenant_seq = sum.last_tenant_seq;
  report.head_hash = sum.head_hash;
  if (!status.ok()) report.error = status.error().message;
  return report;
}

std::shared_ptr<Retention::Lease> AuditTrail::Hold(const core::TenantId& tenant) {
  return retention_.Hold(tenant);
}

core::Result<std::unique_ptr<AuditExport>> AuditTrail::PrepareExport(
    AuditQuery query, ExportFormat format, std::shared_ptr<Retention::Lease> lease,
    std::chrono::milliseconds catch_up_timeout) {
  // The export ends at the head as of now; the index is then brought up to at least it.
  const std::optional<core::TenantHead> head = log_.Head(query.tenant);
  CUSTOS_RETURN_IF_ERROR(index_.CatchUp(catch_up_timeout));
  query.max_tenant_seq = head ? head->tenant_seq.value() : 0;
  CUSTOS_ASSIGN_OR_RETURN(core::ExportReceipt receipt, ReceiptSkeleton(query, head));
  return std::unique_ptr<AuditExport>(
      new AuditExport(*this, std::move(query), format, head, std::move(lease), std::move(receipt)));
}

core::Result<core::ExportReceipt> AuditTrail::ReceiptSkeleton(
    const AuditQuery& q, const std::optional<core::TenantHead>& head) const {
  core::ExportReceipt r;
  r.tenant = q.tenant.value();
  r.head_tenant_seq = head ? head->tenant_seq.value() : 0;
  r.head_hash = head ? head->hash : "";
  // The first retained event: not purged, not past the retention window.
  CUSTOS_ASSIGN_OR_RETURN(std::optional<uint64_t> in_window,
                          index_.FirstSeqAtOrAfter(q.tenant, q.not_before.value_or(core::Time{})));
  r.retained_from_tenant_seq =
      in_window ? std::max(*in_window, q.min_tenant_seq) : r.head_tenant_seq + 1;
  r.purge_anchor = std::string(core::kZeroHash);
  if (r.retained_from_tenant_seq > r.head_tenant_seq) {
    if (head) r.purge_anchor = head->hash;
  } else if (r.retained_from_tenant_seq > 1) {
    CUSTOS_ASSIGN_OR_RETURN(
        std::vector<std::optional<std::string>> first,
        log_.GetTenantEvents(q.tenant, {core::TenantSeq(r.retained_from_tenant_seq)}));
    if (!first[0]) return core::Corruption("the first retained event is not stored");
    CUSTOS_ASSIGN_OR_RETURN(core::LineFields f, core::ParseLineFields(*first[0]));
    r.purge_anchor = std::string(f.prev_hash);
  }
  auto list = [&](const char* name, const std::vector<std::string>& values) {
    if (values.empty()) return;
    core::JsonValue a = core::JsonValue::Array();
    for (const std::string& v : values) a.items().push_back(core::JsonValue::String(v));
    r.filters.members().emplace_back(name, std::move(a));
  };
  list("actor", q.actors);
  list("action", q.actions);
  if (q.from) {
    r.filters.members().emplace_back("from", core::JsonValue::String(core::FormatTime(*q.from)));
  }
  if (q.to) {
    r.filters.members().emplace_back("to", core::JsonValue::String(core::FormatTime(*q.to)));
  }
  return r;
}

// ---- AuditExport ----

AuditExport::AuditExport(const AuditTrail& trail, AuditQuery query, ExportFormat format,
                         std::optional<core::TenantHead> head,
                         std::shared_ptr<Retention::Lease> lease, core::ExportReceipt receipt)
    : trail_(trail),
      query_(std::move(query)),
      format_(format),
      head_(std::move(head)),
      lease_(std::move(lease)),
      receipt_(std::move(receipt)),
      contiguous_(query_.actors.empty() && query_.actions.empty() && query_.targets.empty()) {
  query_.descending = false;
  query_.limit = kPage;
}

core::Result<AuditExport::Step> AuditExport::Next(std::string& out, size_t hint) {
  if (!started_) {
    started_ = true;
    if (format_ == ExportFormat::kCsv) out += core::AuditCsvHeader();
    if (contiguous_) {
      using Range = std::optional<std::pair<uint64_t, uint64_t>>;
      CUSTOS_ASSIGN_OR_RETURN(Range range, trail_.index_.Bounds(query_));
      if (!range) {
        done_ = true;
      } else {
        next_ = range->first;
        last_ = range->second;
      }
    }
  }
  if (contiguous_) return Scan(out, hint);
  while (out.size() < hint) {
    if (pos_ == lines_.size()) {
      if (done_) {
        CUSTOS_RETURN_IF_ERROR(Finish(out));
        return Step::kEnd;
      }
      CUSTOS_RETURN_IF_ERROR(Fetch());
      continue;
    }
    CUSTOS_RETURN_IF_ERROR(Render(lines_[pos_++], out));
  }
  return Step::kMore;
}

// One stretch of the stream: straight from the log into the piece, about `hint` bytes.
core::Result<AuditExport::Step> AuditExport::Scan(std::string& out, size_t hint) {
  if (!done_ && next_ <= last_) {
    core::Status rendered = core::OkStatus();
    CUSTOS_ASSIGN_OR_RETURN(
        uint64_t scanned,
        trail_.log_.ScanTenant(query_.tenant, core::TenantSeq(next_), core::TenantSeq(last_),
                               [&](uint64_t tenant_seq, std::string_view line) {
                                 if (tenant_seq != next_) {
                                   rendered = core::Corruption("event " + std::to_string(next_) +
                                                               " is missing");
                                   return false;
                                 }
                                 rendered = Render(line, out);
                                 if (!rendered.ok()) return false;
                                 ++next_;
                                 return out.size() < hint;
                               }));
    CUSTOS_RETURN_IF_ERROR(rendered);
    if (next_ <= last_ && scanned < next_ && out.size() < hint) {
      return core::Corruption("event " + std::to_string(next_) + " is missing");
    }
    if (next_ <= last_) return Step::kMore;
  }
  done_ = true;
  CUSTOS_RETURN_IF_ERROR(Finish(out));
  return Step::kEnd;
}

core::Status AuditExport::Fetch() {
  pos_ = 0;
  lines_.clear();
  CUSTOS_ASSIGN_OR_RETURN(AuditPage page, trail_.index_.Query(query_));
  lines_ = std::move(page.lines);
  if (page.next) {
    query_.after = *page.next;
  } else {
    done_ = true;
  }
  return core::OkStatus();
}

core::Status AuditExport::Render(std::string_view line, std::string& out) {
  switch (format_) {
    case ExportFormat::kJsonl: {
      // What the receipt will say the export holds.
      CUSTOS_ASSIGN_OR_RETURN(core::LineFields f, core::ParseLineFields(line));
      if (receipt_.count++ == 0) {
        receipt_.first_tenant_seq = f.tenant_seq;
        receipt_.first_prev_hash = std::string(f.prev_hash);
      }
      receipt_.last_tenant_seq = f.tenant_seq;
      receipt_.last_hash = std::string(f.hash);
      out += line;
      out += '\n';
      break;
    }
    case ExportFormat::kCsv: {
      CUSTOS_ASSIGN_OR_RETURN(std::string row, core::AuditCsvRow(line));
      out += row;
      break;
    }
    case ExportFormat::kOcsf: {
      CUSTOS_ASSIGN_OR_RETURN(std::string record,
                              core::AuditOcsfRecord(line, trail_.product_version_));
      out += record;
      out += '\n';
      break;
    }
  }
  return core::OkStatus();
}

core::Status AuditExport::Finish(std::string& out) {
  if (!head_) return core::OkStatus();  // a tenant without events: nothing to sign
  core::Result<core::Checkpoint> signed_head = trail_.checkpoints_.SignVerified(
      query_.tenant, head_->tenant_seq.value(), head_->hash, *head_);
  if (!signed_head.ok()) return signed_head.error();
  if (format_ != ExportFormat::kJsonl) return core::OkStatus();
  // Complete only when it holds every retained event up to the head, unfiltered.
  receipt_.complete =
      receipt_.filters.members().empty() &&
      receipt_.count ==
          receipt_.head_tenant_seq + 1 -
              std::min(receipt_.retained_from_tenant_seq, receipt_.head_tenant_seq + 1) &&
      (receipt_.count == 0 || (receipt_.first_tenant_seq == receipt_.retained_from_tenant_seq &&
                               receipt_.last_tenant_seq == receipt_.head_tenant_seq));
  receipt_.time = core::FormatTime(trail_.clock_.Now());
  core::SignReceipt(trail_.checkpoints_.signer(), receipt_);
  out += core::ReceiptLine(receipt_);
  out += '\n';
  return core::OkStatus();
}

}  // namespace custos::projections
