// ChainVerifier: checks one tenant's stream of stored event lines, in order, as exported —
// each line's framing, canonical form and hash, tenant_seq continuity, and the chain of
// prev_hash links from its anchor. Used offline by `custos verify` and by the server's audit
// verification.
//
// Anchors: a stream that starts at tenant_seq 1 must start from the zero hash. A stream that
// starts later (after a retention purge, or a range export) starts from the anchor the
// caller gives, or, without one, from its first line's prev_hash, which the summary reports
// so that it can be compared with the purge's `audit.retention_purged` event.
//
// Thread-safety: one verifier per thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/event_log.h"
#include "core/result.h"

namespace custos::core {

struct ChainSummary {
  uint64_t checked = 0;
  std::string tenant;
  uint64_t first_tenant_seq = 0;
  uint64_t last_tenant_seq = 0;
  std::string anchor;     // prev_hash of the first event
  std::string head_hash;  // hash of the last event
  // With AllowGaps: how many times tenant_seq jumped (a filtered export), and the first.
  uint64_t gaps = 0;
  uint64_t first_gap_line = 0;
  std::string first_gap;  // "line N: tenant_seq A follows B (expected B+1): …"
};

class ChainVerifier {
 public:
  explicit ChainVerifier(std::optional<std::string> anchor = std::nullopt)
      : expected_anchor_(std::move(anchor)) {}

  // Lets tenant_seq jump forward (a filtered export): each line's own hash is still checked,
  // the chain only across consecutive lines, and the jumps are counted in the summary for the
  // caller to judge against what the export says it holds.
  void AllowGaps() { allow_gaps_ = true; }

  // Checks the next line. The error (kCorruption) starts with "line N: " (1-based, counting
  // every line fed). After an error the verifier stays failed.
  [[nodiscard]] Status Feed(std::string_view line);

  [[nodiscard]] const ChainSummary& summary() const { return summary_; }

 private:
  Status Fail(std::string reason);

  std::optional<std::string> expected_anchor_;
  bool allow_gaps_ = false;
  ChainSummary summary_;
  uint64_t line_no_ = 0;
  bool failed_ = false;
};

// Feeds `verifier` the tenant's stored events with tenant_seq in [from, to], in order,
// straight from the log, and stops at the first that fails. The Result fails only when the
// log cannot be read; the Status inside is the verdict, "events A..B are missing" when the
// stored stream stops short of `to`.
[[nodiscard]] Result<Status> VerifyStored(const EventLog& log, const TenantId& tenant,
                                          uint64_t from, uint64_t to, ChainVerifier& verifier);

// The prev_hash the tenant's first stored event (tenant_seq `first_kept`) must carry: 64 zeros
// when it is event 1, else the anchor the last retention purge recorded with its deletion.
// The Status inside is the verdict: events missing from the start that no purge removed (or
// a purge anchor that does not end where the stream begins) fail it.
[[nodiscard]] Result<std::pair<std::string, Status>> FirstKeptAnchor(const EventLog& log,
                                                                     const TenantId& tenant,
                                                                     uint64_t first_kept);

}  // namespace custos::core
