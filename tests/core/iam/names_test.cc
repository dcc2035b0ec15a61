// Names as an attacker would pick them: control characters that rewrite a console or a log
// line, bidirectional overrides that reverse what a reader sees, zero-width and full-width
// look-alikes of the built-in names. The first are refused (422); the look-alikes are the
// same name (409), so "Tenant Admin" + U+200B can never sit beside the real one.
#include "core/iam/names.h"

#include <gtest/gtest.h>

#include "tests/support/iam_fixture.h"

namespace custos::core::iam {
namespace {

using testing::IamFixture;

Errc CodeOf(const Result<Decision>& r) { return r.ok() ? Errc::kInternal : r.error().code; }

TEST(NamesTest, ControlAndBidirectionalCharactersAreRefusedNamingTheCodePoint) {
  for (const std::string& bad : std::vector<std::string>{
           std::string("Ops\0Team", 8), "Ops\x1b[2JTeam", "Ops\tTeam", "Ops\x7f", "Ops\xc2\x85",
           "Viewer\xe2\x80\xae", "\xe2\x80\x8f" "Admin", "Ops\xe2\x81\xa6x", "Ops\xe2\x80\xa8",
           "\xf3\xa0\x80\x81tag"}) {
    EXPECT_TRUE(NameProblem(bad).has_value()) << ::testing::PrintToString(bad);
  }
  EXPECT_EQ(*NameProblem("Ops\x1b"), "contains the control character U+001B");
  EXPECT_EQ(*NameProblem("Viewer\xe2\x80\xae"),
            "contains the bidirectional or layout control U+202E");
  EXPECT_EQ(*NameProblem("\xe2\x80\x8b\xe2\x80\x8b"), "has no visible character");
  for (const std::string& good : std::vector<std::string>{
           "Ops", "Zoë Müller", "Ørsted", "日本語チーム", "Ops - EU (2)", "עברית", "مرحبا"}) {
    EXPECT_FALSE(NameProblem(good).has_value()) << good;
  }
}

TEST(NamesTest, LookAlikesShareAKey) {
  const std::string key = NameKey("Tenant Admin");
  EXPECT_EQ(key, "tenant admin");
  for (const std::string& alike : std::vector<std::string>{
           "Tenant Admin\xe2\x80\x8b",                 // + zero-width space
           "Tenant\xe2\x80\x8d Admin",                 // zero-width joiner inside
           "\xef\xbb\xbfTenant Admin",                 // byte-order mark
           "TENANT ADMIN", "Tenant\xc2\xa0" "Admin",   // no-break space
           "\xef\xbc\xb4\xef\xbd\x85nant Admin",       // full-width T, e
           "Tenant  Admin ", "Tenant\xe3\x80\x80" "Admin"}) {  // ideographic space
    EXPECT_EQ(NameKey(alike), key) << ::testing::PrintToString(alike);
  }
  EXPECT_NE(NameKey("Tenant Admins"), key);
  EXPECT_EQ(NameKey("ﬁle"), NameKey("file"));  // the ligature
}

class NameRulesTest : public ::testing::Test {
 protected:
  void SetUp() override { f.CreateTenant(); }
  IamFixture f;
};

TEST_F(NameRulesTest, EveryKindOfNameRefusesControlsAndLookAlikesOfTakenNames) {
  // A role "Viewer" + RLO holding admin, a group "Tenant Admin" + ZWSP: neither can be made.
  EXPECT_EQ(CodeOf(f.Run(CreateRole{"Viewer\xe2\x80\xae", "", {}, {}})), Errc::kInvalidArgument);
  EXPECT_EQ(CodeOf(f.Run(CreateRole{"Viewer\xe2\x80\x8b", "", {}, {}})), Errc::kConflict);
  EXPECT_EQ(CodeOf(f.Run(CreateRole{"\xef\xbc\xb6iewer", "", {}, {}})), Errc::kConflict);
  EXPECT_EQ(CodeOf(f.Run(CreateGroup{"Tenant Admin\xe2\x80\x8b", "", GroupType::kConfigured})),
            Errc::kConflict);
  EXPECT_EQ(CodeOf(f.Run(CreateGroup{"Ops\x1b[31m", "", GroupType::kConfigured})),
            Errc::kInvalidArgument);
  EXPECT_EQ(CodeOf(f.Run(CreateClient{std::string("Bot\0", 4), "", "", {}})),
            Errc::kInvalidArgument);
  EXPECT_TRUE(f.Run(CreateClient{"Bot", "", "", {}}).ok());
  EXPECT_EQ(CodeOf(f.Run(CreateClient{"BOT\xe2\x80\x8c", "", "", {}})), Errc::kConflict);
  EXPECT_EQ(CodeOf(f.Run(CreateNode{"environment", "Staging\xe2\x80\xae", "", "", "", true})),
            Errc::kInvalidArgument);
  EXPECT_EQ(CodeOf(f.Run(CreateNode{"environment", "ＴＥＮＡＮＴ", "", "", "", true})),
            Errc::kInvalidArgument);  // 'Tenant' is reserved, in any look
  CreateUser u;
  u.email = "eve@example.com";
  u.first_name = "Eve\x1b]0;owned\x07";
  u.last_name = "X";
  EXPECT_EQ(CodeOf(f.Run(u)), Errc::kInvalidArgument);
  u.first_name = "Eve";
  u.tags = {{"Region\xe2\x80\xae", "EU"}};
  EXPECT_EQ(CodeOf(f.Run(u)), Errc::kInvalidArgument);
  u.tags = {{"Region", "EU"}};
  EXPECT_TRUE(f.Run(u).ok());
  // Renames follow the same rules.
  const std::string ops = f.Must(CreateGroup{"Ops", "", GroupType::kConfigured}).id;
  EXPECT_EQ(CodeOf(f.Run(UpdateGroup{ops, std::string("Tenant\xc2\xa0" "Admin"), {}})),
            Errc::kConflict);
}

}  // namespace
}  // namespace custos::core::iam
