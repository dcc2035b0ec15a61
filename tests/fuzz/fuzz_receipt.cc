// libFuzzer target: the export receipt reader of `custos verify` (core/export_receipt.h).
// Whatever ParseReceiptLine accepts must describe itself, be judged against lines without a
// crash, and survive a round trip: written back with ReceiptLine, it parses to the same
// receipt.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/export_receipt.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace custos::core;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<ExportReceipt> r = ParseReceiptLine(text);
  if (!r.ok()) return 0;
  (void)DescribeReceipt(*r);
  const ExportLines lines{r->tenant,          r->count,           r->first_tenant_seq,
                          r->first_prev_hash, r->last_tenant_seq, r->last_hash};
  (void)CheckReceipt(*r, lines, CheckpointKeys());
  Result<ExportReceipt> again = ParseReceiptLine(ReceiptLine(*r));
  if (!again.ok() || ReceiptLine(*again) != ReceiptLine(*r) ||
      ReceiptSigningInput(*again) != ReceiptSigningInput(*r)) {
    std::fprintf(stderr, "receipt: a parsed receipt does not read back the same\n");
    std::abort();
  }
  return 0;
}
