// The CSV reader and writer of user import/export (RFC 4180), including what fuzzing found.
#include "api/internal/csv.h"

#include <gtest/gtest.h>

namespace custos::api::internal {
namespace {

std::vector<std::vector<std::string>> Fields(std::string_view text) {
  auto rows = ParseCsv(text);
  EXPECT_TRUE(rows.ok());
  std::vector<std::vector<std::string>> out;
  for (const CsvRow& r : *rows) out.push_back(r.fields);
  return out;
}

TEST(CsvTest, QuotedFieldsAndLineEnds) {
  EXPECT_EQ(Fields("a,\"b,c\"\r\n\"d\"\"e\",\"multi\nline\"\n"),
            (std::vector<std::vector<std::string>>{{"a", "b,c"}, {"d\"e", "multi\nline"}}));
  EXPECT_FALSE(ParseCsv("a,\"open").ok());
  EXPECT_FALSE(ParseCsv("a,b\"c\n").ok());
}

TEST(CsvTest, AFieldStartingWithAByteOrderMarkSurvivesARoundTrip) {
  const std::string bom_field =
      "\xEF\xBB\xBF"
      "b";
  std::string written;
  AppendCsvField(written, bom_field);
  written += ",x\r\n";
  EXPECT_EQ(written.front(), '"') << "quoted, so that a reader does not drop it as a BOM";
  EXPECT_EQ(Fields(written), (std::vector<std::vector<std::string>>{{bom_field, "x"}}));
  // A real byte order mark at the start of a file is still dropped.
  EXPECT_EQ(Fields("\xEF\xBB\xBF"
                   "a,b\n"),
            (std::vector<std::vector<std::string>>{{"a", "b"}}));
}

TEST(CsvTest, FormulasAreNeutralizedInEveryWriter) {
  // OWASP: a cell beginning with =, +, -, @, TAB or CR gets a leading '.
  for (const std::string formula :
       {"=HYPERLINK(\"http://x\")", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"}) {
    std::string written;
    AppendCsvField(written, formula);
    written += "\r\n";
    EXPECT_EQ(Fields(written), (std::vector<std::vector<std::string>>{{"'" + formula}})) << formula;
  }
  std::string plain;
  AppendCsvField(plain, "a=b");
  EXPECT_EQ(plain, "a=b");
}

}  // namespace
}  // namespace custos::api::internal
