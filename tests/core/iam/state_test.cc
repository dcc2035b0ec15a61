#include "core/iam/state.h"

#include <gtest/gtest.h>

#include <set>

#include "core/iam/identity_events.h"

#include "tests/support/iam_fixture.h"

namespace custos::core::iam {
namespace {

using testing::IamFixture;

// A tenant with a bit of everything.
void Populate(IamFixture& f) {
  f.CreateTenant();
  const std::string prj =
      f.Must(CreateNode{"project", "P", f.NodeIdByName("Production"), "", "", true}).id;
  f.Must(CreateNode{"resource", "W", prj, "workflow", "foundation", false});
  f.Must(DefineProperty{"employee_id", PropertyType::kNumber, ""});
  CreateUser c;
  c.email = "ada@example.com";
  c.first_name = "Ada";
  c.last_name = "Lovelace";
  c.tags = {{"Region", "EU"}};
  c.properties = {{"employee_id", JsonValue::Number("7")}};
  c.bindings = {Grant{f.RoleId("Viewer"), prj}};
  c.group_ids = {f.GroupId("P Operator")};
  const std::string ada = f.Must(c).id;
  const std::string role =
      f.Must(CreateRole{
                 "R", "", {Permission{"*", "workflow", "*", Level::kEdit}}, {f.RoleId("Viewer")}})
          .id;
  const std::string client = f.Must(CreateClient{"erp", "", "", {{role, "root"}}}).id;
  f.Must(CreateInvitation{"dev@example.com", {}, {}, {}});
  f.Must(RevokeToken{Subject{SubjectType::kApiClient, client}, "jti-1",
                     f.clock().Now() + std::chrono::hours(1), false});
  f.Must(SetUserTag{ada, "Warehouse", "W1"});
}

TEST(TenantStateTest, RecordsRoundTripToTheSameDigest) {
  IamFixture f;
  Populate(f);
  TenantState copy("acme");
  f.state().ForEachRecord([&](const std::string& key, const std::string& value) {
    ASSERT_TRUE(copy.LoadRecord(key, value).ok()) << key;
  });
  ASSERT_TRUE(copy.FinishLoad().ok());
  EXPECT_EQ(StateDigest(copy), StateDigest(f.state()));
  // Indexes came back too.
  EXPECT_NE(copy.FindUserByEmail("ADA@example.com"), nullptr);
  EXPECT_NE(copy.FindGroupByName("p operator"), nullptr);
  EXPECT_EQ(copy.ExpandedPermissions(f.RoleId("R")).size(), 2u);
  EXPECT_EQ(copy.GroupsOf(Subject{SubjectType::kUser, copy.FindUserByEmail("ada@example.com")->id})
                .size(),
            1u);
}

TEST(TenantStateTest, DirtyRecordsAreExactlyTheChangedOnes) {
  IamFixture f;
  f.CreateTenant();
  (void)f.state().TakeDirty();
  const std::string ada = f.NewUser("ada");
  auto dirty = f.state().TakeDirty();
  ASSERT_EQ(dirty.size(), 1u);
  EXPECT_EQ(dirty.begin()->first, "u/" + ada);
  EXPECT_TRUE(dirty.begin()->second.has_value());
  const std::string role = f.Must(CreateRole{"R", "", {}, {}}).id;
  (void)f.state().TakeDirty();
  f.Must(DeleteRole{role});
  dirty = f.state().TakeDirty();
  ASSERT_EQ(dirty.size(), 1u);
  EXPECT_FALSE(dirty.at("r/" + role).has_value());
  EXPECT_TRUE(f.state().TakeDirty().empty());
}

TEST(TenantStateTest, ApplyRefusesEventsThatDoNotFit) {
  TenantState s("acme");
  EXPECT_EQ(s.Apply("user.created", "{}", FromUnixMillis(0)).error().code, Errc::kCorruption);
  EXPECT_TRUE(s.Apply("workflow.executed", "{}", FromUnixMillis(0)).ok());  // not identity
  IamFixture f;
  f.CreateTenant();
  EXPECT_EQ(
      f.state().Apply("user.updated", "{\"user_id\":\"usr_x\"}", FromUnixMillis(0)).error().code,
      Errc::kCorruption);
  EXPECT_EQ(f.state().Apply("role.created", "{\"role_id\":1}", FromUnixMillis(0)).error().code,
            Errc::kCorruption);
}

TEST(TenantStateTest, AnUnknownRecordKindIsAnError) {
  TenantState s("acme");
  EXPECT_EQ(s.LoadRecord("z/1", "{}").error().code, Errc::kCorruption);
  EXPECT_EQ(s.LoadRecord("", "{}").error().code, Errc::kCorruption);
  EXPECT_EQ(s.LoadRecord("u/usr_1", "{\"id\":7}").error().code, Errc::kCorruption);
}

TEST(IdentityEventsTest, EveryTypeParsesToItsOwnAlternative) {
  // Each alternative with a fixed type is found by that type, and no two share one.
  std::set<std::string_view> types;
  std::set<size_t> indexes;
  auto check = [&]<size_t... I>(std::index_sequence<I...>) {
    auto one = [&]<class E>(E*, size_t index) {
      if constexpr (requires { E::type(); }) {
        EXPECT_TRUE(types.insert(E::type()).second) << E::type();
        EXPECT_TRUE(IsCatalogType(E::type())) << E::type();
        // Bad data is refused as corruption naming the type, never taken as another type.
        Result<IdentityEvent> bad = ParseIdentityEvent(E::type(), JsonValue::Number("1"));
        ASSERT_FALSE(bad.ok());
        EXPECT_EQ(bad.error().code, Errc::kCorruption);
        EXPECT_NE(bad.error().message.find(std::string(E::type())), std::string::npos);
        indexes.insert(index);
      }
    };
    (one(static_cast<std::variant_alternative_t<I, IdentityEvent>*>(nullptr), I), ...);
  };
  check(std::make_index_sequence<std::variant_size_v<IdentityEvent>>());
  EXPECT_EQ(indexes.size() + 3, std::variant_size_v<IdentityEvent>);  // + the node events
  EXPECT_EQ(ParseIdentityEvent("user.renamed", JsonValue::Object()).error().code,
            Errc::kCorruption);
  EXPECT_EQ(ParseIdentityEvent("audit.exported", JsonValue::Object()).error().code,
            Errc::kCorruption);
  EXPECT_FALSE(ChangesIdentityState("audit.exported"));
  EXPECT_FALSE(ChangesIdentityState("workflow.executed"));
  EXPECT_TRUE(ChangesIdentityState("folder.deleted"));
}

TEST(IdentityEventsTest, NodeEventsOfEveryKindParseByTheirVerb) {
  Result<JsonValue> ref = ParseJson(R"({"node_id":"n1","name":"N"})");
  ASSERT_TRUE(ref.ok());
  for (std::string_view kind : {"environment", "project", "folder", "resource"}) {
    Result<IdentityEvent> e = ParseIdentityEvent(NodeEventType(kind, "deleted"), *ref);
    ASSERT_TRUE(e.ok()) << kind;
    EXPECT_TRUE(std::holds_alternative<NodeDeleted>(*e));
    EXPECT_EQ(std::get<NodeDeleted>(*e).data.node_id, "n1");
    EXPECT_FALSE(ParseIdentityEvent(NodeEventType(kind, "archived"), *ref).ok());
  }
}

}  // namespace
}  // namespace custos::core::iam
