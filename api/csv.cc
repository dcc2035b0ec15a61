#include "api/internal/csv.h"

namespace custos::api::internal {

core::Result<std::vector<CsvRow>> ParseCsv(std::string_view text) {
  std::vector<CsvRow> rows;
  size_t i = 0;
  size_t line = 1;
  if (text.starts_with("\xEF\xBB\xBF")) i = 3;  // a UTF-8 byte order mark
  while (i < text.size()) {
    CsvRow row;
    row.line = line;
    std::string field;
    bool row_done = false;
    while (!row_done) {
      field.clear();
      if (i < text.size() && text[i] == '"') {
        ++i;
        while (true) {
          if (i >= text.size()) {
            return core::InvalidArgument("CSV line " + std::to_string(row.line) +
                                         ": unterminated quoted field");
          }
          const char c = text[i++];
          if (c == '"') {
            if (i < text.size() && text[i] == '"') {
              field.push_back('"');
              ++i;
            } else {
              break;
            }
          } else {
            if (c == '\n') ++line;
            field.push_back(c);
          }
        }
        if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          return core::InvalidArgument("CSV line " + std::to_string(line) +
                                       ": characters after a closing quote");
        }
      } else {
        while (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          if (text[i] == '"') {
            return core::InvalidArgument("CSV line " + std::to_string(line) +
                                         ": a quote inside an unquoted field");
          }
          field.push_back(text[i++]);
        }
      }
      row.fields.push_back(field);
      if (i >= text.size()) {
        row_done = true;
      } else if (text[i] == ',') {
        ++i;
      } else {
        if (text[i] == '\r') ++i;
        if (i < text.size() && text[i] == '\n') ++i;
        ++line;
        row_done = true;
      }
    }
    const bool empty = row.fields.size() == 1 && row.fields[0].empty();
    if (!empty) rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace custos::api::internal
