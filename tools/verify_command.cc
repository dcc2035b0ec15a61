// custos verify FILE.jsonl: checks an exported tenant stream offline, and the signed
// checkpoint that ends it (docs/events.md "Hash chain").
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>

#include "core/chain_verifier.h"
#include "core/checkpoint.h"
#include "core/export_receipt.h"
#include "core/hex.h"
#include "tools/commands.h"

namespace custos::tools {
namespace {

// A JWKS is a few hundred bytes; the bound only keeps a wrong path (a log, an export) from
// being read whole.
constexpr std::streamsize kMaxKeyFileBytes = 1 << 20;

core::Result<core::CheckpointKeys> LoadKeys(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return core::NotFound("cannot open --key " + path);
  std::string json(static_cast<size_t>(kMaxKeyFileBytes) + 1, '\0');
  file.read(json.data(), kMaxKeyFileBytes + 1);
  if (file.bad()) return core::Unavailable("error reading --key " + path);
  json.resize(static_cast<size_t>(file.gcount()));
  if (json.size() > static_cast<size_t>(kMaxKeyFileBytes)) {
    return core::InvalidArgument("--key " + path + " is not a JWK or JWKS file (too large)");
  }
  core::Result<core::CheckpointKeys> keys = core::CheckpointKeys::FromJson(json);
  if (!keys.ok()) return core::InvalidArgument("--key " + path + ": " + keys.error().message);
  return keys;
}

std::string LinePrefix(uint64_t line_no) { return "line " + std::to_string(line_no) + ": "; }

}  // namespace

int RunVerify(const Args& args) {
  Flags flags;
  if (auto exit = ParseCommandFlags(
          "verify", "FILE.jsonl (or - for stdin)", args,
          {{"anchor", true, "",
            "the prev_hash the first event must carry (from audit.retention_purged)"},
           {"key", true, "",
            "JWK(S) file (/.well-known/custos-audit-keys) to check the export's signed receipt"},
           {"require-complete", false, "",
            "exit 1 unless the receipt says the export holds the whole retained trail"}},
          flags, {.positional = true})) {
    return *exit;
  }
  if (flags.positional().size() != 1) {
    return ReportError("verify", core::InvalidArgument("expects exactly one FILE.jsonl (or -)"));
  }
  std::optional<std::string> anchor = flags.Get("anchor");
  if (anchor && (anchor->size() != 64 || !core::IsLowerHex(*anchor))) {
    return ReportError("verify", core::InvalidArgument("--anchor must be 64 lowercase hex digits"));
  }
  const bool require_complete = flags.IsSet("require-complete");
  // The keys are read before the export, so that a wrong --key is reported without waiting
  // for a long stream.
  std::optional<core::CheckpointKeys> keys;
  if (std::optional<std::string> key_path = flags.Get("key")) {
    core::Result<core::CheckpointKeys> loaded = LoadKeys(*key_path);
    if (!loaded.ok()) return ReportError("verify", loaded.error());
    keys = std::move(loaded).value();
  }
  const std::string& path = flags.positional()[0];
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) return ReportError("verify", core::NotFound("cannot open " + path));
    in = &file;
  }
  auto fail = [&](const std::string& message) {
    std::fprintf(stderr, "custos verify: %s: %s\n", path.c_str(), message.c_str());
    return kExitFailure;
  };

  // Gaps in tenant_seq are judged at the end, against what the receipt says (a filtered
  // export has them; a whole one must not).
  core::ChainVerifier verifier(anchor);
  verifier.AllowGaps();
  std::optional<core::Checkpoint> checkpoint;
  std::optional<core::ExportReceipt> receipt;
  uint64_t closing_line_no = 0;
  uint64_t line_no = 0;
  auto check = [&](std::string_view l) -> core::Status {
    ++line_no;
    if (checkpoint || receipt) {
      // A receipt (or a checkpoint) vouches for what comes before it; lines after it would
      // look covered while they are not.
      return core::Corruption(LinePrefix(line_no) + "nothing may follow the " +
                              (receipt ? "receipt" : "checkpoint") + " (line " +
                              std::to_string(closing_line_no) + ")");
    }
    if (core::IsReceiptLine(l)) {
      core::Result<core::ExportReceipt> parsed = core::ParseReceiptLine(l);
      if (!parsed.ok()) return core::Corruption(LinePrefix(line_no) + parsed.error().message);
      receipt = std::move(parsed).value();
      closing_line_no = line_no;
      return core::OkStatus();
    }
    if (core::IsCheckpointLine(l)) {
      core::Result<core::Checkpoint> parsed = core::ParseCheckpointLine(l);
      if (!parsed.ok()) return core::Corruption(LinePrefix(line_no) + parsed.error().message);
      checkpoint = std::move(parsed).value();
      closing_line_no = line_no;
      return core::OkStatus();
    }
    return verifier.Feed(l);
  };

  // After a failure the rest is read only to see whether the export ends with a receipt that
  // says it is filtered: if not, an earlier jump in tenant_seq was the first thing wrong.
  std::optional<std::string> failure;
  uint64_t failure_line = 0;
  std::string last_line;
  auto take = [&](const std::string& l) {
    if (failure) {
      last_line = l;
      return;
    }
    if (core::Status s = check(l); !s.ok()) {
      failure = s.error().message;
      failure_line = line_no;
    }
  };
  std::string line;
  std::string pending;  // a line is checked once we know it is not the final empty one
  bool have_pending = false;
  while (std::getline(*in, line)) {
    if (have_pending) take(pending);
    pending.swap(line);
    have_pending = true;
  }
  if (in->bad()) return ReportError("verify", core::Unavailable("error reading " + path));
  if (have_pending && !pending.empty()) take(pending);
  const core::ChainSummary& sum = verifier.summary();
  if (failure) {
    bool filtered = false;
    if (core::IsReceiptLine(last_line)) {
      core::Result<core::ExportReceipt> r = core::ParseReceiptLine(last_line);
      filtered = r.ok() && !r->filters.members().empty();
    }
    if (sum.gaps > 0 && sum.first_gap_line < failure_line && !filtered) {
      return fail(sum.first_gap);
    }
    return fail(*failure);
  }
  // With a key, only a signed receipt says what the export holds: a bare checkpoint (even a
  // genuine older one spliced onto a cut file) proves nothing about its ends.
  if (keys && !receipt) return fail("no receipt: cannot tell what the export holds");
  if (require_complete && !receipt) {
    return fail("no receipt: cannot tell whether the export is complete");
  }
  const bool filtered = receipt && !receipt->filters.members().empty();
  if (sum.gaps > 0 && !filtered) return fail(sum.first_gap);

  std::string note;
  if (receipt) {
    const std::string at = LinePrefix(closing_line_no);
    const core::ExportLines lines{sum.tenant, sum.checked,         sum.first_tenant_seq,
                                  sum.anchor, sum.last_tenant_seq, sum.head_hash};
    if (keys) {
      if (core::Status s = core::CheckReceipt(*receipt, lines, *keys); !s.ok()) {
        return fail(at + s.error().message);
      }
      note = ", receipt signed by kid " + receipt->kid;
    } else {
      // Without a key the claims are still compared, but nothing vouches for them.
      core::Status s = core::CheckReceipt(*receipt, lines, core::CheckpointKeys());
      if (!s.ok() && s.error().code != core::Errc::kUnauthenticated) {
        return fail(at + s.error().message);
      }
      note = ", receipt not verified (no --key)";
    }
    note += "\n" + core::DescribeReceipt(*receipt);
  } else if (checkpoint) {
    const std::string at = LinePrefix(closing_line_no);
    note = ", checkpoint not verified (no --key)";
    if (checkpoint->tenant != sum.tenant || checkpoint->tenant_seq != sum.last_tenant_seq ||
        checkpoint->hash != sum.head_hash) {
      return fail(at + "checkpoint does not match the last event (tenant_seq " +
                  std::to_string(sum.last_tenant_seq) + ")");
    }
  }
  if (sum.checked == 0 && !receipt) return fail("no events");
  std::printf(
      "ok: %llu events of tenant %s, tenant_seq %llu..%llu, chain anchored at %s, head %s%s\n",
      static_cast<unsigned long long>(sum.checked),
      (sum.tenant.empty() && receipt ? receipt->tenant : sum.tenant).c_str(),
      static_cast<unsigned long long>(sum.first_tenant_seq),
      static_cast<unsigned long long>(sum.last_tenant_seq), sum.anchor.c_str(),
      sum.head_hash.c_str(), note.c_str());
  if (require_complete && !receipt->complete) {
    std::fprintf(stderr, "custos verify: %s: the export is partial (--require-complete)\n",
                 path.c_str());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace custos::tools
