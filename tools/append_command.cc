// custos append --data-dir DIR --tenant T --type TYPE [--data JSON] [--count N]: appends
// application events to a data dir's log (the server must not be running on it), and prints
// each stored line. For operators and demos; the HTTP ingest route is the product's way in.
#include <unistd.h>

#include <cstdio>

#include "core/clock.h"
#include "core/iam/events.h"
#include "core/json_canonical.h"
#include "storage/rocks_store.h"
#include "tools/commands.h"

namespace custos::tools {

int RunAppend(const Args& args) {
  Flags flags;
  if (auto exit = ParseCommandFlags(
          "append", "--data-dir DIR --tenant TENANT --type TYPE [flags]", args,
          {{"data-dir", true, "", "the data directory (not in use by a server)"},
           {"tenant", true, "", "the tenant to append to"},
           {"type", true, "", "the event type, e.g. workflow.executed"},
           {"data", true, "{}", "the event's data, a JSON object"},
           {"actor-type", true, "system", "user | api_client | root | system"},
           {"actor-id", true, "cli", "the actor's id"},
           {"target-type", true, "", "the target's type (optional)"},
           {"target-id", true, "", "the target's id (with --target-type)"},
           {"count", true, "1", "how many events to append (one request, one fsync)"}},
          flags)) {
    return *exit;
  }
  core::Result<std::string> data_dir = flags.Require("data-dir");
  if (!data_dir.ok()) return ReportError("append", data_dir.error());
  core::Result<std::string> tenant_text = flags.Require("tenant");
  if (!tenant_text.ok()) return ReportError("append", tenant_text.error());
  core::Result<core::TenantId> tenant = core::ParseTenantId(*tenant_text);
  if (!tenant.ok()) return ReportError("append", tenant.error());
  if (tenant->value() == core::kSystemChain) {
    return ReportError("append", core::InvalidField("tenant", "is the node's own chain"));
  }
  core::Result<std::string> type = flags.Require("type");
  if (!type.ok()) return ReportError("append", type.error());
  core::Result<std::string> data = core::CanonicalizeJson(*flags.Get("data"));
  if (!data.ok())
    return ReportError("append", core::InvalidArgument("--data: " + data.error().message));
  if (data->front() != '{') {
    return ReportError("append", core::InvalidArgument("--data must be a JSON object"));
  }
  if (core::iam::IsCatalogType(*type)) {
    return ReportError("append",
                       core::InvalidArgument("--type " + *type +
                                             " belongs to the identity catalog: only the server's "
                                             "commands make those events"));
  }
  core::Result<uint64_t> count = flags.GetUInt("count", 1, 100000);
  if (!count.ok()) return ReportError("append", count.error());

  core::EventDraft draft;
  draft.type = *type;
  draft.actor.type = *flags.Get("actor-type");
  draft.actor.id = *flags.Get("actor-id");
  if (std::optional<std::string> tt = flags.Get("target-type")) {
    draft.target = core::Target{*tt, flags.Get("target-id").value_or(""), ""};
  }
  draft.data = *data;
  draft.request_id = "cli-" + std::to_string(::getpid()) + "-" +
                     std::to_string(core::ToUnixMillis(core::SystemClock().Now()));

  core::Result<core::RenderedDraft> rendered = core::RenderDraft(draft);
  if (!rendered.ok()) return ReportError("append", rendered.error());

  core::SystemClock clock;
  auto store = OpenDataDirStore(*data_dir, &clock);
  if (!store.ok()) return ReportError("append", store.error());

  core::AppendRequest request;
  request.tenant = *tenant;
  request.events.assign(*count, *rendered);
  auto appended = (*store)->Append(std::move(request));
  if (!appended.ok()) return ReportError("append", appended.error());
  for (const core::AppendedEvent& e : *appended) std::printf("%s\n", e.line.c_str());
  return kExitOk;
}

}  // namespace custos::tools
