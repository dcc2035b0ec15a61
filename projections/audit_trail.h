// AuditTrail: a tenant's trail as readers see it, over the log, the audit index, the signed
// checkpoints and retention — what is visible (nothing older than the retention window, nothing
// below the last purge), verification of a stored range, and exports (../shared/spec/API.md
// "Audit",
// ../shared/spec/EVENTS.md "Export receipts"). The API's audit routes read the trail only through
// here and the index's queries.
//
// An export: PrepareExport fixes the head as of now, brings the index up to it and reads what
// its receipt will say before any event; the caller records `audit.exported` (durable before
// the first byte) and then pulls the body with AuditExport::Next, one piece at a time. Without
// actor or action filters an export is one stretch of the tenant's stream, read straight from
// the log; with them, through the index. At the end it signs the tenant's head as of its start
// (every format) once the stored chain verifies up to it — never what does not verify — and a
// JSONL export ends with its signed receipt.
//
// Thread-safety: AuditTrail from any thread; one AuditExport is pulled by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/event_log.h"
#include "core/export_receipt.h"
#include "core/result.h"
#include "projections/audit_checkpoints.h"
#include "projections/audit_index.h"
#include "projections/retention.h"

namespace custos::projections {

// What of a tenant's stream a reader may see.
struct Visible {
  core::Time cutoff;              // older events are invisible (the retention window)
  uint64_t first_tenant_seq = 1;  // the first kept (after a purge)
};

// The result of verifying a stored range (GET …/audit/verify).
struct VerifyReport {
  bool ok = true;
  uint64_t checked = 0;
  uint64_t first_tenant_seq = 0;
  uint64_t last_tenant_seq = 0;
  std::string head_hash;
  std::string error;  // when not ok: the failing line and why
};

enum class ExportFormat : uint8_t { kJsonl, kCsv, kOcsf };

class AuditTrail;

class AuditExport {
 public:
  enum class Step : uint8_t { kMore, kEnd };

  // Appends about `hint` bytes of the body to `out`; kEnd once the last piece (the receipt
  // of a JSONL export) is in it. An error ends the export: a reader must not take what it
  // got for the whole.
  [[nodiscard]] core::Result<Step> Next(std::string& out, size_t hint);

  [[nodiscard]] const AuditQuery& query() const { return query_; }
  // The head it ends at: its own audit.exported record comes after it.
  [[nodiscard]] uint64_t to_tenant_seq() const { return head_ ? head_->tenant_seq.value() : 0; }

 private:
  friend class AuditTrail;
  AuditExport(const AuditTrail& trail, AuditQuery query, ExportFormat format,
              std::optional<core::TenantHead> head, std::shared_ptr<Retention::Lease> lease,
              core::ExportReceipt receipt);

  static constexpr size_t kPage = 1000;

  core::Result<Step> Scan(std::string& out, size_t hint);
  core::Status Fetch();
  core::Status Render(std::string_view line, std::string& out);
  core::Status Finish(std::string& out);

  const AuditTrail& trail_;
  AuditQuery query_;
  ExportFormat format_;
  std::optional<core::TenantHead> head_;
  std::shared_ptr<Retention::Lease> lease_;  // no purge of the tenant while it runs
  core::ExportReceipt receipt_;
  bool contiguous_;
  bool started_ = false;
  bool done_ = false;
  uint64_t next_ = 0;  // contiguous: the next tenant_seq to read, up to last_
  uint64_t last_ = 0;
  std::vector<std::string> lines_;  // filtered: the page being rendered
  size_t pos_ = 0;
};

class AuditTrail {
 public:
  // `product_version`: Custos's own, as OCSF records name it (metadata.product.version).
  AuditTrail(const core::EventLog& log, AuditIndex& index, AuditCheckpoints& checkpoints,
             Retention& retention, const core::Clock& clock, std::string product_version)
      : log_(log),
        index_(index),
        checkpoints_(checkpoints),
        retention_(retention),
        clock_(clock),
        product_version_(std::move(product_version)) {}

  // The tenant's visible window as of now, given its retention in days.
  [[nodiscard]] core::Result<Visible> VisibleOf(const core::TenantId& tenant,
                                                int retention_days) const;

  // Verifies the stored stream over [from, to] (defaults: all of it that is kept): hashes,
  // links and tenant_seq continuity, from the anchor before the range (or, from the first kept
  // event, the one its purge recorded).
  [[nodiscard]] core::Result<VerifyReport> Verify(const core::TenantId& tenant,
                                                  std::optional<uint64_t> from,
                                                  std::optional<uint64_t> to) const;

  // Holds off purges of the tenant while the lease lives; take it before reading the query's
  // visible window.
  [[nodiscard]] std::shared_ptr<Retention::Lease> Hold(const core::TenantId& tenant);

  // An export of `query` (with its visible window), ending at the head as of now.
  [[nodiscard]] core::Result<std::unique_ptr<AuditExport>> PrepareExport(
      AuditQuery query, ExportFormat format, std::shared_ptr<Retention::Lease> lease,
      std::chrono::milliseconds catch_up_timeout);

 private:
  friend class AuditExport;
  // What a JSONL export's receipt says before its events are read.
  [[nodiscard]] core::Result<core::ExportReceipt> ReceiptSkeleton(
      const AuditQuery& q, const std::optional<core::TenantHead>& head) const;

  const core::EventLog& log_;
  AuditIndex& index_;
  AuditCheckpoints& checkpoints_;
  Retention& retention_;
  const core::Clock& clock_;
  std::string product_version_;
};

}  // namespace custos::projections
