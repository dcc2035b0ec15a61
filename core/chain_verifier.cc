#include "core/chain_verifier.h"

#include "core/event.h"

namespace custos::core {

Status ChainVerifier::Fail(std::string reason) {
  failed_ = true;
  return Corruption("line " + std::to_string(line_no_) + ": " + reason);
}

Status ChainVerifier::Feed(std::string_view line) {
  ++line_no_;
  if (failed_) return Fail("verification already failed on an earlier line");
  if (line.empty()) return Fail("empty line");
  Result<LineFields> parsed = VerifyLine(line);
  if (!parsed.ok()) return Fail(parsed.error().message);
  const LineFields& f = *parsed;

  if (summary_.checked == 0) {
    if (f.tenant_seq == 1 && f.prev_hash != kZeroHash) {
      return Fail("the tenant's first event (tenant_seq 1) must have prev_hash of 64 zeros");
    }
    if (expected_anchor_ && f.prev_hash != *expected_anchor_) {
      return Fail("prev_hash " + std::string(f.prev_hash) + " is not the expected anchor " +
                  *expected_anchor_);
    }
    summary_.tenant = std::string(f.tenant);
    summary_.first_tenant_seq = f.tenant_seq;
    summary_.anchor = std::string(f.prev_hash);
  } else {
    if (f.tenant != summary_.tenant) {
      return Fail("tenant '" + std::string(f.tenant) + "' differs from the stream's tenant '" +
                  summary_.tenant + "'");
    }
    const bool gap = f.tenant_seq > summary_.last_tenant_seq + 1;
    if (gap && allow_gaps_) {
      if (summary_.gaps++ == 0) {
        summary_.first_gap_line = line_no_;
        summary_.first_gap =
            "line " + std::to_string(line_no_) + ": tenant_seq " + std::to_string(f.tenant_seq) +
            " follows " + std::to_string(summary_.last_tenant_seq) + " (expected " +
            std::to_string(summary_.last_tenant_seq + 1) + "): an event is missing or out of order";
      }
    } else if (f.tenant_seq != summary_.last_tenant_seq + 1) {
      return Fail("tenant_seq " + std::to_string(f.tenant_seq) + " follows " +
                  std::to_string(summary_.last_tenant_seq) + " (expected " +
                  std::to_string(summary_.last_tenant_seq + 1) +
                  "): an event is missing or out of order");
    }
    if (!gap && f.prev_hash != summary_.head_hash) {
      return Fail("prev_hash does not match the hash of the previous event (tenant_seq " +
                  std::to_string(summary_.last_tenant_seq) + ")");
    }
  }
  summary_.last_tenant_seq = f.tenant_seq;
  summary_.head_hash = std::string(f.hash);
  ++summary_.checked;
  return OkStatus();
}

Result<Status> VerifyStored(const EventLog& log, const TenantId& tenant, uint64_t from, uint64_t to,
                            ChainVerifier& verifier) {
  if (from > to) return OkStatus();
  Status verdict = OkStatus();
  CUSTOS_RETURN_IF_ERROR(
      log.ScanTenant(tenant, TenantSeq(from), TenantSeq(to), [&](uint64_t, std::string_view line) {
        verdict = verifier.Feed(line);
        return verdict.ok();
      }));
  if (verdict.ok() && verifier.summary().last_tenant_seq != to) {
    const uint64_t next =
        verifier.summary().checked == 0 ? from : verifier.summary().last_tenant_seq + 1;
    verdict =
        Corruption("events " + std::to_string(next) + ".." + std::to_string(to) + " are missing");
  }
  return verdict;
}

Result<std::pair<std::string, Status>> FirstKeptAnchor(const EventLog& log,
                                                       const TenantId& tenant,
                                                       uint64_t first_kept) {
  if (first_kept <= 1) return std::make_pair(std::string(kZeroHash), OkStatus());
  CUSTOS_ASSIGN_OR_RETURN(std::optional<EventLog::PurgeAnchor> anchor, log.PurgeAnchorOf(tenant));
  if (!anchor) {
    return std::make_pair(std::string(),
                          Status(Error{Errc::kCorruption,
                                       "events 1.." + std::to_string(first_kept - 1) +
                                           " are missing and no retention purge removed them",
                                       {}}));
  }
  if (anchor->last_purged + 1 != first_kept) {
    return std::make_pair(
        std::string(),
        Status(Error{Errc::kCorruption,
                     "the last purge removed events up to " + std::to_string(anchor->last_purged) +
                         " but the stream begins at " + std::to_string(first_kept),
                     {}}));
  }
  return std::make_pair(anchor->hash, OkStatus());
}

}  // namespace custos::core
