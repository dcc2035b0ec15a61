// custos verify FILE.jsonl: checks an exported tenant stream offline, and the signed
// checkpoint that ends it (docs/events.md "Hash chain").
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>

#include "core/chain_verifier.h"
#include "core/checkpoint.h"
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
            "JWK(S) file (/.well-known/custos-audit-keys) to check the checkpoint signature"}},
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

  core::ChainVerifier verifier(anchor);
  // Event lines go to the verifier, which numbers them itself; that numbering stays right
  // because nothing is accepted after the checkpoint line.
  std::optional<core::Checkpoint> checkpoint;
  uint64_t checkpoint_line_no = 0;
  uint64_t line_no = 0;
  auto check = [&](std::string_view l) -> core::Status {
    ++line_no;
    if (checkpoint) {
      // A checkpoint vouches for the chain up to its tenant_seq; lines after it would be
      // unvouched for while looking covered.
      return core::Corruption(LinePrefix(line_no) + "nothing may follow the checkpoint (line " +
                              std::to_string(checkpoint_line_no) + ")");
    }
    if (!core::IsCheckpointLine(l)) return verifier.Feed(l);
    core::Result<core::Checkpoint> parsed = core::ParseCheckpointLine(l);
    if (!parsed.ok()) return core::Corruption(LinePrefix(line_no) + parsed.error().message);
    checkpoint = std::move(parsed).value();
    checkpoint_line_no = line_no;
    return core::OkStatus();
  };

  std::string line;
  std::string pending;  // a line is checked once we know it is not the final empty one
  bool have_pending = false;
  while (std::getline(*in, line)) {
    if (have_pending) {
      if (core::Status s = check(pending); !s.ok()) return fail(s.error().message);
    }
    pending.swap(line);
    have_pending = true;
  }
  if (in->bad()) return ReportError("verify", core::Unavailable("error reading " + path));
  if (have_pending && !pending.empty()) {
    if (core::Status s = check(pending); !s.ok()) return fail(s.error().message);
  }
  const core::ChainSummary& sum = verifier.summary();
  if (sum.checked == 0) return fail("no events");
  if (keys && !checkpoint) return fail("no checkpoint to verify with --key");

  std::string checkpoint_note;
  if (checkpoint) {
    const std::string at = LinePrefix(checkpoint_line_no);
    // The signature first: an unsigned or forged checkpoint says nothing about the events,
    // so its disagreeing with them would be the lesser finding.
    if (keys) {
      if (core::Status s = keys->Verify(*checkpoint); !s.ok()) {
        return fail(at + "checkpoint signature rejected: " + s.error().message);
      }
      checkpoint_note = ", checkpoint signed by kid " + checkpoint->kid;
    } else {
      checkpoint_note = ", checkpoint not verified (no --key)";
    }
    if (checkpoint->tenant != sum.tenant) {
      return fail(at + "checkpoint tenant '" + checkpoint->tenant +
                  "' differs from the stream's tenant '" + sum.tenant + "'");
    }
    if (checkpoint->tenant_seq != sum.last_tenant_seq) {
      return fail(at + "checkpoint is at tenant_seq " + std::to_string(checkpoint->tenant_seq) +
                  " but the last event is at tenant_seq " + std::to_string(sum.last_tenant_seq));
    }
    if (checkpoint->hash != sum.head_hash) {
      return fail(at + "checkpoint hash " + checkpoint->hash +
                  " does not match the hash of the last event (tenant_seq " +
                  std::to_string(sum.last_tenant_seq) + ") " + sum.head_hash);
    }
  }
  std::printf(
      "ok: %llu events of tenant %s, tenant_seq %llu..%llu, chain anchored at %s, head %s%s\n",
      static_cast<unsigned long long>(sum.checked), sum.tenant.c_str(),
      static_cast<unsigned long long>(sum.first_tenant_seq),
      static_cast<unsigned long long>(sum.last_tenant_seq), sum.anchor.c_str(),
      sum.head_hash.c_str(), checkpoint_note.c_str());
  return kExitOk;
}

}  // namespace custos::tools
