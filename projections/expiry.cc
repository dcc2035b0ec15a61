#include "projections/expiry.h"

#include <optional>

#include "core/log.h"

namespace custos::projections {

core::Result<uint64_t> Expiry::SweepAll() {
  uint64_t written = 0;
  std::optional<core::Error> first_error;
  for (const core::TenantId& tenant : identity_.Tenants()) {
    const core::Time now = clock_.Now();
    core::Result<bool> due = identity_.Read(
        tenant, [now](const core::iam::TenantState& st) { return !st.DueBy(now, 1).empty(); });
    if (!due.ok()) {
      // A tenant that is gone since the list was taken has nothing due; any other failure
      // (its state does not load, it is recovering) is reported, and tried again next time.
      if (due.error().code != core::Errc::kNotFound && !first_error) {
        first_error = core::Error{
            due.error().code, "tenant " + tenant.value() + ": " + due.error().message, {}};
      }
      continue;
    }
    if (!*due) continue;
    // Batches of at most 1,000 events a command, until nothing is due.
    for (;;) {
      ExecuteRequest request{tenant, core::iam::ExpireDue{}, {}, std::nullopt, "", std::nullopt};
      request.actor = core::Actor{"system", "expiry", "expiry", "", ""};
      core::Result<ExecuteResult> r = identity_.Execute(std::move(request));
      if (!r.ok()) {
        if (!first_error) {
          first_error = core::Error{
              r.error().code, "tenant " + tenant.value() + ": " + r.error().message, {}};
        }
        break;
      }
      written += r->events.size();
      if (r->events.size() < core::iam::ExpireDue{}.max) break;
    }
  }
  if (first_error) return *first_error;
  return written;
}

void Expiry::Start(std::chrono::milliseconds interval) {
  periodic_.Start(interval, [this] {
    core::Result<uint64_t> swept = SweepAll();
    if (!swept.ok()) {
      core::log::Warn("recording expiries failed (retried next interval)",
                      {{"error", swept.error().message}});
    }
  });
}

}  // namespace custos::projections
