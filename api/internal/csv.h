// RFC 4180 CSV: reading rows with their line numbers, and writing quoted fields. Private to
// api/.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/audit_formats.h"
#include "core/result.h"

namespace custos::api::internal {

struct CsvRow {
  size_t line = 0;  // 1-based line where the row starts
  std::vector<std::string> fields;
};

// Parses the whole text; kInvalidArgument naming the line on an unterminated quote or a
// quote inside an unquoted field. Accepts CRLF and LF line ends; skips empty lines.
[[nodiscard]] core::Result<std::vector<CsvRow>> ParseCsv(std::string_view text);

// Fields are written by the one CSV writer of core (core/audit_formats.h).
using core::AppendCsvField;

}  // namespace custos::api::internal
