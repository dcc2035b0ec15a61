// The audit data of the query, export and purge workloads, generated the same way on our
// side (events appended through the log) and on PostgreSQL's (one INSERT … SELECT over
// generate_series with the same formulas, PostgresPeer::LoadAudit): event i of n.
//
//   tenant  hot tenant "t0000" for i % 10 < 3 (30%), else "t" + 4 digits of
//           1 + (i * 7919) % (tenants − 1)            (with tenants == 1: always "t0000")
//   actor   "user-" + (i * 2654435761 / 128) % 5000   (hashed: independent of the tenant)
//   type    kAuditTypes[(i * 13) % 8]
//   target  "wf-" + (i * 40503 / 8) % 20000
//   time    start + (i / kAuditBlock) * step: events come in blocks of kAuditBlock sharing a
//           millisecond, so both sides hold the very same times
//   data    {"n": i, "note": 200 × "x"}   (a stored line of about 450 bytes)
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace custos::tools::bench {

inline constexpr std::array<std::string_view, 8> kAuditTypes = {
    "workflow.executed", "workflow.failed",  "workflow.step.started", "workflow.step.failed",
    "connector.changed", "connector.tested", "engine.restarted",      "settings.changed"};
inline constexpr uint64_t kAuditBlock = 1000;

struct AuditDataSpec {
  uint64_t events = 0;
  int tenants = 1000;        // 1: every event in "t0000"
  int64_t start_ms = 0;      // time of block 0
  int64_t step_ms = 60'000;  // between blocks
};

inline int AuditTenantOf(const AuditDataSpec& spec, uint64_t i) {
  if (spec.tenants <= 1 || i % 10 < 3) return 0;
  return 1 + static_cast<int>((i * 7919) % static_cast<uint64_t>(spec.tenants - 1));
}
inline std::string AuditTenantName(int t) { return fmt::format("t{:04d}", t); }
inline std::string AuditActorOf(uint64_t i) {
  return fmt::format("user-{}", (i * 2654435761u / 128) % 5000);
}
inline std::string_view AuditTypeOf(uint64_t i) { return kAuditTypes[(i * 13) % 8]; }
inline std::string AuditTargetOf(uint64_t i) {
  return fmt::format("wf-{}", (i * 40503 / 8) % 20000);
}
inline int64_t AuditTimeOf(const AuditDataSpec& spec, uint64_t i) {
  return spec.start_ms + static_cast<int64_t>(i / kAuditBlock) * spec.step_ms;
}
inline std::string AuditDataOf(uint64_t i) {
  return fmt::format("{{\"n\":{},\"note\":\"{}\"}}", i, std::string(200, 'x'));
}

}  // namespace custos::tools::bench
