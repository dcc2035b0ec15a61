#include "core/ids.h"

#include <gtest/gtest.h>

namespace custos::core {
namespace {

TEST(IdsTest, TenantIdRules) {
  for (const char* ok : {"acme", "a1", "0-x", "acme-corp-2", "ab"}) {
    EXPECT_TRUE(IsValidTenantId(ok)) << ok;
  }
  for (const char* bad : {"", "a", "-acme", "Acme", "acme_corp", "acme corp", "ac.me", "a\0b"}) {
    EXPECT_FALSE(IsValidTenantId(bad)) << bad;
  }
  EXPECT_TRUE(IsValidTenantId(std::string(63, 'a')));
  EXPECT_FALSE(IsValidTenantId(std::string(64, 'a')));
  Result<TenantId> parsed = ParseTenantId("Bad");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().fields[0].field, "tenant");
}

TEST(IdsTest, EventTypeRules) {
  for (const char* ok : {"user.created", "workflow.executed", "a.b.c", "x1_y.z_2"}) {
    EXPECT_TRUE(IsValidEventType(ok)) << ok;
  }
  for (const char* bad : {"", "user", "user.", ".user", "User.created", "user..created",
                          "user.1created", "user.created ", "user-x.created", "_a.b"}) {
    EXPECT_FALSE(IsValidEventType(bad)) << bad;
  }
}

TEST(IdsTest, StrongIdsCompareByValue) {
  EXPECT_EQ(TenantId("a"), TenantId("a"));
  EXPECT_LT(TenantId("a"), TenantId("b"));
  EXPECT_EQ(Seq(4).Next(), Seq(5));
  EXPECT_LT(TenantSeq(1), TenantSeq(2));
}

}  // namespace
}  // namespace custos::core
