#include "core/result.h"

#include <gtest/gtest.h>

namespace custos::core {
namespace {

Result<int> Half(int v) {
  if (v % 2 != 0) return InvalidField("v", "must be even");
  return v / 2;
}

Result<int> Quarter(int v) {
  CUSTOS_ASSIGN_OR_RETURN(int half, Half(v));
  CUSTOS_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

Status CheckPositive(int v) {
  if (v <= 0) return Conflict("not positive");
  return OkStatus();
}

Status CheckBoth(int v) {
  CUSTOS_RETURN_IF_ERROR(CheckPositive(v));
  CUSTOS_RETURN_IF_ERROR(Half(v));
  return OkStatus();
}

TEST(ResultTest, AssignOrReturnPassesValuesAndErrorsThrough) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> odd = Quarter(6);
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.error().code, Errc::kInvalidArgument);
  ASSERT_EQ(odd.error().fields.size(), 1u);
  EXPECT_EQ(odd.error().fields[0].field, "v");
}

TEST(ResultTest, ReturnIfErrorStopsAtTheFirstFailure) {
  EXPECT_TRUE(CheckBoth(4).ok());
  EXPECT_EQ(CheckBoth(-2).error().code, Errc::kConflict);
  EXPECT_EQ(CheckBoth(3).error().code, Errc::kInvalidArgument);
}

TEST(ResultTest, ErrorToStringNamesCodeAndFields) {
  EXPECT_EQ(InvalidField("email", "is required").ToString(),
            "invalid_argument: email: is required; email: is required");
  EXPECT_EQ(NotFound("no user usr_1").ToString(), "not_found: no user usr_1");
}

}  // namespace
// ../shared/spec/API.md: a 422 lists every failing field — up to a bound, so that a body failing on
// thousands of members answers small; other errors wait until no field failed.
TEST(FieldChecksTest, GathersFieldsBoundedAndKeepsOtherErrorsBehind) {
  FieldChecks one;
  one.Add(OkStatus());
  one.Add(InvalidField("email", "must be a valid email address"));
  Status first = std::move(one).Take();
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().message, "email: must be a valid email address");

  FieldChecks many;
  many.Add(Conflict("taken"));
  for (int i = 0; i < 250; ++i) many.Add(InvalidField("f" + std::to_string(i), "bad"));
  Status all = std::move(many).Take();
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(all.error().fields.size(), FieldChecks::kMaxListed);
  EXPECT_EQ(all.error().message.rfind("250 fields are invalid: f0, f1,", 0), 0u);
  EXPECT_NE(all.error().message.find("and 150 more"), std::string::npos);

  FieldChecks other;
  other.Add(Conflict("taken"));
  EXPECT_EQ(std::move(other).Take().error().code, Errc::kConflict);
}

}  // namespace custos::core
