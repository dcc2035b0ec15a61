// custos dump --data-dir DIR --tenant T: writes the tenant's stored events as JSONL, byte for
// byte as stored, in tenant_seq order. Opens the store read-only, so it may run beside a
// server that holds the data dir.
#include <cstdio>

#include "core/ids.h"
#include "storage/rocks_store.h"
#include "tools/commands.h"

namespace custos::tools {

int RunDump(const Args& args) {
  Flags flags;
  if (auto exit =
          ParseCommandFlags("dump", "--data-dir DIR --tenant TENANT [--from-tenant-seq N]", args,
                            {{"data-dir", true, "", "the server's data directory"},
                             {"tenant", true, "", "the tenant whose events to write"},
                             {"from-tenant-seq", true, "1", "the first tenant_seq to write"}},
                            flags)) {
    return *exit;
  }
  core::Result<std::string> data_dir = flags.Require("data-dir");
  if (!data_dir.ok()) return ReportError("dump", data_dir.error());
  core::Result<std::string> tenant_text = flags.Require("tenant");
  if (!tenant_text.ok()) return ReportError("dump", tenant_text.error());
  core::Result<core::TenantId> tenant = core::ParseTenantId(*tenant_text);
  if (!tenant.ok()) return ReportError("dump", tenant.error());
  core::Result<uint64_t> from = flags.GetUInt("from-tenant-seq", 1, UINT64_MAX);
  if (!from.ok()) return ReportError("dump", from.error());

  auto store = OpenDataDirStore(*data_dir, nullptr);
  if (!store.ok()) return ReportError("dump", store.error());
  if (!(*store)->Head(*tenant)) {
    return ReportError("dump", core::NotFound("tenant " + tenant->value() + " has no events"));
  }
  core::TenantSeq next(*from);
  while (true) {
    auto page = (*store)->ReadTenant(*tenant, next, 4096);
    if (!page.ok()) return ReportError("dump", page.error());
    if (page->empty()) break;
    for (const core::StoredEvent& e : *page) {
      std::fwrite(e.line.data(), 1, e.line.size(), stdout);
      std::fputc('\n', stdout);
    }
    next = page->back().tenant_seq.Next();
  }
  if (std::fflush(stdout) != 0) {
    return ReportError("dump", core::Unavailable("error writing to standard output"));
  }
  return kExitOk;
}

}  // namespace custos::tools
