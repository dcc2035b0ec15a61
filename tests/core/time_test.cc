#include "core/time.h"

#include <gtest/gtest.h>

namespace custos::core {
namespace {

TEST(TimeTest, FormatsRfc3339WithMilliseconds) {
  EXPECT_EQ(FormatTime(FromUnixMillis(0)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatTime(FromUnixMillis(1795521600123)), "2026-11-24T12:00:00.123Z");
  EXPECT_EQ(FormatTime(FromUnixMillis(951782400000)), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(FormatTime(FromUnixMillis(-1)), "1969-12-31T23:59:59.999Z");
}

TEST(TimeTest, ParsesWhatItFormats) {
  for (int64_t ms : {int64_t{0}, int64_t{1795521600123}, int64_t{-86400001},
                     int64_t{253402300799999}, int64_t{951782400000}}) {
    Result<Time> t = ParseTime(FormatTime(FromUnixMillis(ms)));
    ASSERT_TRUE(t.ok()) << ms;
    EXPECT_EQ(ToUnixMillis(*t), ms);
  }
}

TEST(TimeTest, ParsesOffsetsAndFractions) {
  EXPECT_EQ(ToUnixMillis(*ParseTime("2026-11-24T13:00:00+01:00")), 1795521600000);
  EXPECT_EQ(ToUnixMillis(*ParseTime("2026-11-24T11:30:00-00:30")), 1795521600000);
  EXPECT_EQ(ToUnixMillis(*ParseTime("2026-11-24T12:00:00.1Z")), 1795521600100);
  EXPECT_EQ(ToUnixMillis(*ParseTime("2026-11-24T12:00:00.123456Z")), 1795521600123);
  EXPECT_EQ(ToUnixMillis(*ParseTime("2026-11-24t12:00:00z")), 1795521600000);
}

TEST(TimeTest, RejectsWhatIsNotRfc3339) {
  for (const char* bad :
       {"", "2026-11-24", "2026-11-24T12:00:00", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
        "2026-11-24T24:00:00Z", "2026-11-24T12:00:00.Z", "2026-11-24 12:00:00Z",
        "2026-11-24T12:00:00+0100", "2026-11-24T12:00:00Zjunk", "20261124T120000Z"}) {
    EXPECT_FALSE(ParseTime(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace custos::core
