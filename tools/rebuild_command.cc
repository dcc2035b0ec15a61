// custos rebuild --data-dir DIR [--check]: with the server stopped, verifies every tenant's
// stored chain, then drops the identity state and replays it from the log (each purged
// tenant from its retention snapshot), printing the state digest before and after. With
// --check, exits 1 when a chain fails or the digests differ: the state as the server left it
// must be exactly what the log says (the crash harness runs it after every SIGKILL). Records
// that differ are named on stderr.
#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include "core/chain_verifier.h"
#include "core/clock.h"
#include "projections/identity_service.h"
#include "storage/rocks_store.h"
#include "tools/commands.h"

namespace custos::tools {

int RunRebuild(const Args& args) {
  Flags flags;
  if (auto exit = ParseCommandFlags(
          "rebuild", "--data-dir DIR [--check]", args,
          {{"data-dir", true, "", "the server's data directory (the server must be stopped)"},
           {"check", false, "", "exit 1 if a chain fails or the rebuilt state differs"}},
          flags)) {
    return *exit;
  }
  core::Result<std::string> data_dir = flags.Require("data-dir");
  if (!data_dir.ok()) return ReportError("rebuild", data_dir.error());
  const bool check = flags.IsSet("check");

  core::SystemClock clock;
  auto store = OpenDataDirStore(*data_dir, &clock);
  if (!store.ok()) return ReportError("rebuild", store.error());
  storage::RocksStore& s = **store;

  // Every chain, from each tenant's first stored event (past a purge: from its anchor).
  bool chains_ok = true;
  uint64_t events = 0;
  for (const core::TenantId& tenant : s.Tenants()) {
    const std::optional<core::TenantHead> head = s.Head(tenant);
    auto first = s.FirstTenantSeq(tenant);
    if (!first.ok()) return ReportError("rebuild", first.error());
    if (!head || !*first) continue;
    core::ChainVerifier verifier;
    auto verdict =
        core::VerifyStored(s, tenant, (*first)->value(), head->tenant_seq.value(), verifier);
    if (!verdict.ok()) return ReportError("rebuild", verdict.error());
    if (!verdict->ok()) {
      chains_ok = false;
      std::fprintf(stderr, "rebuild: tenant %s: %s\n", tenant.value().c_str(),
                   verdict->error().message.c_str());
    }
    events += head->tenant_seq.value() - (*first)->value() + 1;
  }

  auto before = projections::IdentityService::StoredDigest(s);
  if (!before.ok()) return ReportError("rebuild", before.error());
  // The records as stored, to name those the rebuild changes.
  auto records = [&s]() -> core::Result<std::map<std::string, std::string>> {
    std::map<std::string, std::string> out;
    CUSTOS_RETURN_IF_ERROR(
        s.Scan(core::Space::kState, "", [&](std::string_view k, std::string_view v) {
          out.emplace(k, v);
          return true;
        }));
    return out;
  };
  auto stored = records();
  if (!stored.ok()) return ReportError("rebuild", stored.error());
  const auto start = std::chrono::steady_clock::now();
  if (core::Status r = projections::IdentityService::RebuildState(s, s); !r.ok()) {
    return ReportError("rebuild", r.error());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto after = projections::IdentityService::StoredDigest(s);
  if (!after.ok()) return ReportError("rebuild", after.error());
  if (*before != *after) {
    auto rebuilt = records();
    if (!rebuilt.ok()) return ReportError("rebuild", rebuilt.error());
    int shown = 0;
    auto show = [&](const std::string& key, const std::string* was, const std::string* now) {
      if (++shown > 10) return;
      std::string printable = key;
      for (char& c : printable) c = c == '\0' ? '/' : c;
      std::fprintf(stderr, "rebuild: record %s\n  stored:  %s\n  rebuilt: %s\n", printable.c_str(),
                   was ? was->c_str() : "(none)", now ? now->c_str() : "(none)");
    };
    for (const auto& [key, value] : *stored) {
      auto it = rebuilt->find(key);
      if (it == rebuilt->end()) {
        show(key, &value, nullptr);
      } else if (it->second != value) {
        show(key, &value, &it->second);
      }
    }
    for (const auto& [key, value] : *rebuilt) {
      if (stored->count(key) == 0) show(key, nullptr, &value);
    }
  }

  std::printf(
      "{\"tenants\":%zu,\"events\":%llu,\"chains_ok\":%s,\"digest_before\":\"%s\","
      "\"digest_after\":\"%s\",\"equal\":%s,\"rebuild_seconds\":%.3f}\n",
      s.Tenants().size(), static_cast<unsigned long long>(events), chains_ok ? "true" : "false",
      before->c_str(), after->c_str(), *before == *after ? "true" : "false", seconds);
  if (check && (!chains_ok || *before != *after)) {
    std::fprintf(stderr, "rebuild: %s\n",
                 !chains_ok ? "a chain does not verify"
                            : "the stored state differs from the state the log gives");
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace custos::tools
