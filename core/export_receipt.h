// Export receipts (../shared/spec/EVENTS.md "Export receipts"): the signed last line of a JSONL
// export, saying what the export holds — its first and last event, how many, with which filters —
// and where the tenant's chain stood when it was made, so that an export cut at either end,
// filtered or bounded by `to=` can never pass for the whole trail.
//
//   line   = {"receipt":{"tenant","first_tenant_seq","first_prev_hash","last_tenant_seq",
//             "last_hash","count","complete","retained_from_tenant_seq","purge_anchor",
//             "head_tenant_seq","head_hash","filters","time","kid","signature"}}
//   signed = the compact canonical JSON of the receipt object without "signature", members in
//            that order (Ed25519, the checkpoint keys; CheckpointSigner::SignBytes)
//
// An export holding no event has first/last tenant_seq 0 and empty first_prev_hash and
// last_hash. `complete` is true only when the export holds every retained event, from
// retained_from_tenant_seq to head_tenant_seq, with no filter (`filters` is {}).
//
// CheckReceipt is what `custos verify --key` applies to an export: the signature, then that
// the event lines match the receipt's bounds, first_prev_hash, count and last_hash; Describe
// says, in words, whether the export is complete or what it leaves out.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/checkpoint.h"
#include "core/json_value.h"
#include "core/result.h"

namespace custos::core {

struct ExportReceipt {
  std::string tenant;
  uint64_t first_tenant_seq = 0;
  std::string first_prev_hash;
  uint64_t last_tenant_seq = 0;
  std::string last_hash;
  uint64_t count = 0;
  bool complete = false;
  uint64_t retained_from_tenant_seq = 1;
  std::string purge_anchor;  // 64 zeros when nothing before retained_from was purged
  uint64_t head_tenant_seq = 0;
  std::string head_hash;
  JsonValue filters = JsonValue::Object();  // actor, action (arrays), from, to (times)
  std::string time;
  std::string kid;
  std::string signature;
};

// The signed bytes: the receipt's canonical JSON without "signature".
[[nodiscard]] std::string ReceiptSigningInput(const ExportReceipt& receipt);
// {"receipt":{…,"signature":…}}
[[nodiscard]] std::string ReceiptLine(const ExportReceipt& receipt);
// Fills kid and signature.
void SignReceipt(const CheckpointSigner& signer, ExportReceipt& receipt);

// True if `line` starts with {"receipt": (an event line starts with {"id":).
[[nodiscard]] bool IsReceiptLine(std::string_view line);
// Parses a receipt line strictly: exactly the member "receipt" holding exactly the fifteen
// members, well-formed (tenant id, hashes of 64 lowercase hex or empty where allowed, times,
// a signature of 64 bytes). kInvalidArgument naming what is wrong; the signature itself is
// checked by CheckReceipt.
[[nodiscard]] Result<ExportReceipt> ParseReceiptLine(std::string_view line);

// What the event lines of an export were, as a verifier saw them.
struct ExportLines {
  std::string tenant;
  uint64_t count = 0;
  uint64_t first_tenant_seq = 0;
  std::string first_prev_hash;
  uint64_t last_tenant_seq = 0;
  std::string last_hash;
};

// The receipt's signature by `keys`, then its claims against the lines; kCorruption naming
// the first disagreement (kUnauthenticated for the signature).
[[nodiscard]] Status CheckReceipt(const ExportReceipt& receipt, const ExportLines& lines,
                                  const CheckpointKeys& keys);

// "complete: every retained event, tenant_seq R..H" or "partial: leaves out the start
// (tenant_seq R..F-1), the end (L+1..H), filtered by actor, action, from, to".
[[nodiscard]] std::string DescribeReceipt(const ExportReceipt& receipt);

}  // namespace custos::core
