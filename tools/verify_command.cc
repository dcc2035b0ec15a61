// custos verify FILE.jsonl: checks an exported tenant stream offline.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "core/chain_verifier.h"
#include "core/hex.h"
#include "tools/commands.h"

namespace custos::tools {

int RunVerify(const Args& args) {
  Flags flags;
  if (auto exit = ParseCommandFlags(
          "verify", "FILE.jsonl (or - for stdin)", args,
          {{"anchor", true, "",
            "the prev_hash the first event must carry (from audit.retention_purged)"}},
          flags)) {
    return *exit;
  }
  if (flags.positional().size() != 1) {
    return ReportError("verify", core::InvalidArgument("expects exactly one FILE.jsonl (or -)"));
  }
  std::optional<std::string> anchor = flags.Get("anchor");
  if (anchor && (anchor->size() != 64 || !core::IsLowerHex(*anchor))) {
    return ReportError("verify", core::InvalidArgument("--anchor must be 64 lowercase hex digits"));
  }
  const std::string& path = flags.positional()[0];
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) return ReportError("verify", core::NotFound("cannot open " + path));
    in = &file;
  }
  core::ChainVerifier verifier(anchor);
  std::string line;
  std::string pending;  // a line is checked once we know it is not the final empty one
  bool have_pending = false;
  while (std::getline(*in, line)) {
    if (have_pending) {
      if (core::Status s = verifier.Feed(pending); !s.ok()) {
        std::fprintf(stderr, "custos verify: %s: %s\n", path.c_str(), s.error().message.c_str());
        return kExitFailure;
      }
    }
    pending.swap(line);
    have_pending = true;
  }
  if (in->bad()) return ReportError("verify", core::Unavailable("error reading " + path));
  if (have_pending && !pending.empty()) {
    if (core::Status s = verifier.Feed(pending); !s.ok()) {
      std::fprintf(stderr, "custos verify: %s: %s\n", path.c_str(), s.error().message.c_str());
      return kExitFailure;
    }
  }
  const core::ChainSummary& sum = verifier.summary();
  if (sum.checked == 0) {
    std::fprintf(stderr, "custos verify: %s: no events\n", path.c_str());
    return kExitFailure;
  }
  std::printf(
      "ok: %llu events of tenant %s, tenant_seq %llu..%llu, chain anchored at %s, head %s\n",
      static_cast<unsigned long long>(sum.checked), sum.tenant.c_str(),
      static_cast<unsigned long long>(sum.first_tenant_seq),
      static_cast<unsigned long long>(sum.last_tenant_seq), sum.anchor.c_str(),
      sum.head_hash.c_str());
  return kExitOk;
}

}  // namespace custos::tools
