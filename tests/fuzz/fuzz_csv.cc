// libFuzzer target: CSV import's reader (RFC 4180). Whatever it accepts must survive a round
// trip: each row's fields written back with AppendCsvField read again as the same fields
// (formula-looking ones with the leading `'` that neutralizes them).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "api/internal/csv.h"
#include "core/audit_formats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using custos::api::internal::AppendCsvField;
  using custos::api::internal::ParseCsv;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto rows = ParseCsv(text);
  if (!rows.ok()) return 0;
  std::string again;
  for (const auto& row : *rows) {
    for (size_t i = 0; i < row.fields.size(); ++i) {
      if (i > 0) again += ',';
      AppendCsvField(again, row.fields[i]);
    }
    again += "\r\n";
  }
  auto reread = ParseCsv(again);
  if (!reread.ok() || reread->size() != rows->size()) {
    std::fprintf(stderr, "csv: %zu rows did not read back\n", rows->size());
    std::abort();
  }
  for (size_t r = 0; r < rows->size(); ++r) {
    std::vector<std::string> expected;
    for (const std::string& f : (*rows)[r].fields)
      expected.push_back(custos::core::CsvSafeValue(f));
    if (expected != (*reread)[r].fields) {
      std::fprintf(stderr, "csv: row %zu differs after a round trip\n", r);
      std::abort();
    }
  }
  return 0;
}
