// OneTimeValues (MFA tokens, pending enrolments): used once, gone when expired, and bounded
// per owner and in all without one owner pushing out another's.
#include <gtest/gtest.h>

#include "api/internal/call.h"

namespace custos::api::internal {
namespace {

const core::Time t0 = core::FromUnixMillis(1'800'000'000'000);

TEST(OneTimeValuesTest, UsedOnceAndNotAfterExpiry) {
  OneTimeValues v;
  v.Put("a", "1", t0, t0 + std::chrono::minutes(5));
  EXPECT_EQ(v.Find("a", t0), "1");
  EXPECT_EQ(v.Take("a", t0), "1");
  EXPECT_EQ(v.Take("a", t0), std::nullopt);
  v.Put("b", "2", t0, t0 + std::chrono::minutes(5));
  EXPECT_EQ(v.Take("b", t0 + std::chrono::minutes(5)), std::nullopt);
}

TEST(OneTimeValuesTest, AnOwnersOldestGoFirstAndOthersAreKept) {
  OneTimeValues v(/*capacity=*/100, /*per_owner=*/3);
  v.Put("other", "x", t0, t0 + std::chrono::minutes(5), "acme/usr_2");
  for (int i = 0; i < 10; ++i) {
    v.Put("k" + std::to_string(i), std::to_string(i), t0, t0 + std::chrono::minutes(5),
          "acme/usr_1");
  }
  for (int i = 0; i < 7; ++i) EXPECT_EQ(v.Find("k" + std::to_string(i), t0), std::nullopt) << i;
  for (int i = 7; i < 10; ++i) EXPECT_EQ(v.Find("k" + std::to_string(i), t0), std::to_string(i));
  EXPECT_EQ(v.Find("other", t0), "x");
  // A value taken frees its owner's place.
  EXPECT_EQ(v.Take("k9", t0), "9");
  v.Put("k10", "10", t0, t0 + std::chrono::minutes(5), "acme/usr_1");
  EXPECT_EQ(v.Find("k7", t0), "7");
}

TEST(OneTimeValuesTest, WhenFullTheExpiredThenTheSoonestGo) {
  OneTimeValues v(/*capacity=*/2);
  v.Put("a", "1", t0, t0 + std::chrono::minutes(1));
  v.Put("b", "2", t0, t0 + std::chrono::minutes(9));
  v.Put("c", "3", t0, t0 + std::chrono::minutes(5));  // full: "a" expires soonest
  EXPECT_EQ(v.Find("a", t0), std::nullopt);
  EXPECT_EQ(v.Find("b", t0), "2");
  EXPECT_EQ(v.Find("c", t0), "3");
}

}  // namespace
}  // namespace custos::api::internal
