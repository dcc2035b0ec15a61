// Given/when/then for roles, groups, bindings and API clients.
#include <gtest/gtest.h>

#include "core/iam/credentials.h"
#include "core/sha256.h"
#include "tests/support/iam_fixture.h"

namespace custos::core::iam {
namespace {

using testing::FieldOf;
using testing::IamFixture;
using testing::Types;

Permission Perm(std::string type, Level level, std::string app = "*", std::string res = "*") {
  return Permission{std::move(app), std::move(type), std::move(res), level};
}

TEST(DecideRoleTest, CreateUpdateDeactivateDelete) {
  IamFixture f;
  f.CreateTenant();
  Decision d = f.Must(CreateRole{"Workflow Runner", "", {Perm("workflow", Level::kOperate)}, {}});
  EXPECT_EQ(Types(d), std::vector<std::string>{"role.created"});
  EXPECT_EQ(f.Run(CreateRole{"workflow runner", "", {}, {}}).error().code, Errc::kConflict);
  UpdateRole u{d.id, {}, std::string("Runs workflows"), {}, {}};
  Decision upd = f.Must(u);
  EXPECT_EQ(Types(upd), std::vector<std::string>{"role.updated"});
  EXPECT_NE(upd.events[0].changes.find("\"description\""), std::string::npos);
  EXPECT_EQ(Types(f.Must(ChangeRoleStatus{d.id, false})),
            std::vector<std::string>{"role.deactivated"});
  EXPECT_EQ(f.state().FindRole(d.id)->status, ActiveStatus::kInactive);
  EXPECT_TRUE(Types(f.Must(ChangeRoleStatus{d.id, false})).empty());
  f.NewUser("ada", {{d.id, "root"}});
  Decision del = f.Must(DeleteRole{d.id});
  EXPECT_EQ(Types(del), (std::vector<std::string>{"binding.deleted", "role.deleted"}));
  EXPECT_EQ(f.state().FindRole(d.id), nullptr);
  EXPECT_EQ(f.Run(DeleteRole{d.id}).error().code, Errc::kNotFound);
}

TEST(DecideRoleTest, PermissionsAreValidated) {
  IamFixture f;
  f.CreateTenant();
  EXPECT_EQ(FieldOf(f.Run(CreateRole{"r", "", {Perm("", Level::kView)}, {}})),
            "permissions[0].resource_type");
  EXPECT_EQ(FieldOf(f.Run(CreateRole{"r", "", {Perm("workflow", Level::kNone)}, {}})),
            "permissions[0].level");
  EXPECT_EQ(FieldOf(f.Run(CreateRole{"r", "", {Perm("iam.nothing", Level::kView)}, {}})),
            "permissions[0].resource_type");
  EXPECT_EQ(FieldOf(f.Run(CreateRole{"r", "", {Perm("workflow", Level::kView, "")}, {}})),
            "permissions[0].app");
  EXPECT_EQ(FieldOf(f.Run(CreateRole{"", "", {}, {}})), "name");
  EXPECT_EQ(FieldOf(f.Run(CreateRole{"r", "", {}, {"rol_nope"}})), "includes[0]");
}

TEST(DecideRoleTest, IncludedRolesMayNotFormACycle) {
  IamFixture f;
  f.CreateTenant();
  const std::string a = f.Must(CreateRole{"A", "", {Perm("workflow", Level::kView)}, {}}).id;
  const std::string b = f.Must(CreateRole{"B", "", {}, {a}}).id;
  const std::string c = f.Must(CreateRole{"C", "", {}, {b}}).id;
  EXPECT_EQ(FieldOf(f.Run(UpdateRole{a, {}, {}, {}, std::vector<std::string>{c}})), "includes[0]");
  EXPECT_EQ(FieldOf(f.Run(UpdateRole{a, {}, {}, {}, std::vector<std::string>{a}})), "includes[0]");
  // C's expansion holds A's permission; deleting A takes it out of B.
  EXPECT_EQ(f.state().ExpandedPermissions(c).size(), 1u);
  Decision del = f.Must(DeleteRole{a});
  EXPECT_EQ(Types(del), (std::vector<std::string>{"role.updated", "role.deleted"}));
  EXPECT_TRUE(f.state().FindRole(b)->includes.empty());
  EXPECT_TRUE(f.state().ExpandedPermissions(c).empty());
}

TEST(DecideRoleTest, BuiltInRolesCannotBeEditedOrDeleted) {
  IamFixture f;
  f.CreateTenant();
  const std::string viewer = f.RoleId("Viewer");
  EXPECT_EQ(f.Run(UpdateRole{viewer, std::string("x"), {}, {}, {}}).error().code, Errc::kConflict);
  EXPECT_EQ(f.Run(DeleteRole{viewer}).error().code, Errc::kConflict);
  EXPECT_EQ(f.Run(ChangeRoleStatus{viewer, false}).error().code, Errc::kConflict);
}

TEST(DecideGroupTest, NamesAreUniqueAcrossAllGroupsAndSystemGroupsAreFixed) {
  IamFixture f;
  f.CreateTenant();
  EXPECT_EQ(f.Run(CreateGroup{"production user", "", GroupType::kConfigured, "root"}).error().code,
            Errc::kConflict);
  EXPECT_EQ(FieldOf(f.Run(CreateGroup{"x", "", GroupType::kSystem, "root"})), "type");
  EXPECT_EQ(FieldOf(f.Run(CreateGroup{"x", "", GroupType::kApp, "root"})), "scope");
  const std::string sys = f.GroupId("Production User");
  EXPECT_EQ(f.Run(UpdateGroup{sys, std::string("Renamed"), {}}).error().code, Errc::kConflict);
  EXPECT_EQ(f.Run(DeleteGroup{sys}).error().code, Errc::kConflict);
  const std::string g = f.Must(CreateGroup{"Sales", "EU sales", GroupType::kConfigured, "root"}).id;
  EXPECT_EQ(Types(f.Must(UpdateGroup{g, std::string("Sales EU"), {}})),
            std::vector<std::string>{"group.updated"});
  const std::string prj =
      f.Must(CreateNode{"project", "P", f.NodeIdByName("Production"), "", "", true}).id;
  Decision app = f.Must(CreateGroup{"P Reviewers", "", GroupType::kApp, prj});
  EXPECT_EQ(f.state().FindGroup(app.id)->scope, prj);
}

TEST(DecideGroupTest, MembersComeAndGo) {
  IamFixture f;
  f.CreateTenant();
  const std::string g = f.GroupId("Production Operator");
  const std::string ada = f.NewUser("ada");
  const std::string client = f.Must(CreateClient{"erp", "", "", {}}).id;
  Decision add = f.Must(AddGroupMembers{
      g,
      {{SubjectType::kUser, ada}, {SubjectType::kApiClient, client}, {SubjectType::kUser, ada}}});
  EXPECT_EQ(Types(add), (std::vector<std::string>{"group.member_added", "group.member_added"}));
  EXPECT_TRUE(Types(f.Must(AddGroupMembers{g, {{SubjectType::kUser, ada}}})).empty());
  EXPECT_EQ(FieldOf(f.Run(AddGroupMembers{g, {{SubjectType::kGroup, g}}})), "members[0].type");
  EXPECT_EQ(FieldOf(f.Run(AddGroupMembers{g, {{SubjectType::kUser, "usr_nope"}}})),
            "members[0].id");
  EXPECT_EQ(FieldOf(f.Run(AddGroupMembers{g, {}})), "members");
  EXPECT_EQ(Types(f.Must(RemoveGroupMember{g, ada})),
            std::vector<std::string>{"group.member_removed"});
  EXPECT_EQ(f.Run(RemoveGroupMember{g, ada}).error().code, Errc::kNotFound);
  EXPECT_EQ(f.state().FindGroup(g)->members.size(), 1u);
}

TEST(DecideGroupTest, DeletingAGroupRemovesItsBindings) {
  IamFixture f;
  f.CreateTenant();
  const std::string g = f.Must(CreateGroup{"Auditors", "", GroupType::kConfigured, "root"}).id;
  f.Must(CreateBinding{{SubjectType::kGroup, g}, f.RoleId("Viewer"), "root"});
  EXPECT_EQ(Types(f.Must(DeleteGroup{g})),
            (std::vector<std::string>{"binding.deleted", "group.deleted"}));
  EXPECT_EQ(f.state().FindGroup(g), nullptr);
}

TEST(DecideBindingTest, CreateAndDelete) {
  IamFixture f;
  f.CreateTenant();
  const std::string ada = f.NewUser("ada");
  const std::string viewer = f.RoleId("Viewer");
  Decision d = f.Must(CreateBinding{{SubjectType::kUser, ada}, viewer, "root"});
  EXPECT_EQ(Types(d), std::vector<std::string>{"binding.created"});
  EXPECT_EQ(d.id.rfind("bnd_", 0), 0u);
  EXPECT_EQ(f.Run(CreateBinding{{SubjectType::kUser, ada}, viewer, "root"}).error().code,
            Errc::kConflict);
  EXPECT_EQ(FieldOf(f.Run(CreateBinding{{SubjectType::kUser, "usr_x"}, viewer, "root"})),
            "subject.id");
  EXPECT_EQ(FieldOf(f.Run(CreateBinding{{SubjectType::kUser, ada}, "rol_x", "root"})), "role_id");
  EXPECT_EQ(FieldOf(f.Run(CreateBinding{{SubjectType::kUser, ada}, viewer, "fld_x"})), "scope");
  EXPECT_EQ(Types(f.Must(DeleteBinding{d.id})), std::vector<std::string>{"binding.deleted"});
  EXPECT_EQ(f.Run(DeleteBinding{d.id}).error().code, Errc::kNotFound);
  const std::string sys =
      *f.state().BindingsOf(Subject{SubjectType::kGroup, f.GroupId("Tenant User")}).begin();
  EXPECT_EQ(f.Run(DeleteBinding{sys}).error().code, Errc::kConflict);
}

TEST(DecideBindingTest, NoEscalation) {
  IamFixture f;
  f.CreateTenant();
  // A binder: admin on iam.binding, edit on iam.user, nothing else.
  const std::string binder_role =
      f.Must(CreateRole{"Binder",
                        "",
                        {Perm("iam.binding", Level::kAdmin), Perm("iam.user", Level::kEdit)},
                        {}})
          .id;
  const std::string binder = f.NewUser("binder", {{binder_role, "root"}});
  const std::string target = f.NewUser("target");
  const std::string user_viewer =
      f.Must(CreateRole{"User Viewer", "", {Perm("iam.user", Level::kView)}, {}}).id;
  const Subject caller{SubjectType::kUser, binder};
  EXPECT_TRUE(
      f.Run(CreateBinding{{SubjectType::kUser, target}, user_viewer, "root"}, f.As(caller)).ok());
  auto denied = f.Run(CreateBinding{{SubjectType::kUser, target}, f.RoleId("Tenant Admin"), "root"},
                      f.As(caller));
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, Errc::kPermissionDenied);
  // Its own role it may pass on: it holds every permission of it.
  EXPECT_TRUE(
      f.Run(CreateBinding{{SubjectType::kUser, target}, binder_role, "root"}, f.As(caller)).ok());
  // A role with admin on iam.user it does not hold.
  const std::string user_admin =
      f.Must(CreateRole{"User Admin", "", {Perm("iam.user", Level::kAdmin)}, {}}).id;
  EXPECT_EQ(f.Run(CreateBinding{{SubjectType::kUser, target}, user_admin, "root"}, f.As(caller))
                .error()
                .code,
            Errc::kPermissionDenied);
  // Through user creation too.
  CreateUser c;
  c.email = "x@example.com";
  c.first_name = "X";
  c.last_name = "Y";
  c.bindings = {Grant{f.RoleId("Viewer"), "root"}};
  EXPECT_EQ(f.Run(c, f.As(caller)).error().code, Errc::kPermissionDenied);
  c.kind = UserKind::kAdmin;
  c.bindings.clear();
  EXPECT_EQ(f.Run(c, f.As(caller)).error().code, Errc::kPermissionDenied);
}

TEST(DecideClientTest, SecretsAreShownOnceAndRotate) {
  IamFixture f;
  f.CreateTenant();
  Decision c = f.Must(CreateClient{"ERP Export", "exports", "ERP", {{f.RoleId("Viewer"), "root"}}});
  EXPECT_EQ(Types(c), (std::vector<std::string>{"api_client.created", "api_client.secret_created",
                                                "binding.created"}));
  ASSERT_TRUE(c.secret && c.key_id);
  EXPECT_GE(c.secret->size(), 43u);
  for (const DomainEvent& e : c.events) EXPECT_EQ(e.data.find(*c.secret), std::string::npos);
  EXPECT_EQ(c.credentials.writes()[0].key, ClientSecretKey("acme", c.id, *c.key_id));
  EXPECT_EQ(c.credentials.writes()[0].value, Sha256Hex(*c.secret));
  EXPECT_EQ(f.Run(CreateClient{"erp export", "", "", {}}).error().code, Errc::kConflict);

  Decision second = f.Must(CreateClientSecret{c.id});
  EXPECT_NE(second.key_id, c.key_id);
  EXPECT_EQ(f.state().FindClient(c.id)->secrets.size(), 2u);
  EXPECT_EQ(Types(f.Must(RevokeClientSecret{c.id, *c.key_id})),
            std::vector<std::string>{"api_client.secret_revoked"});
  EXPECT_EQ(f.Run(RevokeClientSecret{c.id, *c.key_id}).error().code, Errc::kNotFound);
  EXPECT_EQ(Types(f.Must(ChangeClientStatus{c.id, false})),
            std::vector<std::string>{"api_client.deactivated"});
  Decision del = f.Must(DeleteClient{c.id});
  EXPECT_EQ(Types(del), (std::vector<std::string>{"binding.deleted", "api_client.deleted"}));
  ASSERT_EQ(del.credentials.writes().size(), 1u);
  EXPECT_EQ(del.credentials.writes()[0].op, KvWrite::Op::kDelete);
  EXPECT_EQ(f.state().FindClientByName("ERP Export"), nullptr);
}

TEST(DecideClientTest, UpdateKeepsNamesUnique) {
  IamFixture f;
  f.CreateTenant();
  const std::string a = f.Must(CreateClient{"A", "", "", {}}).id;
  f.Must(CreateClient{"B", "", "", {}});
  Decision d = f.Must(UpdateClient{a, {}, std::string("Exports to ERP"), std::string("ERP")});
  EXPECT_EQ(Types(d), std::vector<std::string>{"api_client.updated"});
  EXPECT_EQ(d.events[0].changes,
            "{\"description\":{\"from\":\"\",\"to\":\"Exports to ERP\"},"
            "\"label\":{\"from\":\"\",\"to\":\"ERP\"}}");
  EXPECT_EQ(f.Run(UpdateClient{a, std::string("b"), {}, {}}).error().code, Errc::kConflict);
  EXPECT_EQ(FieldOf(f.Run(UpdateClient{a, std::string(""), {}, {}})), "name");
  EXPECT_EQ(f.Run(UpdateClient{"cli_nope", {}, {}, {}}).error().code, Errc::kNotFound);
}

// Seed 004's off-boarding: "revoke any API keys they created". A client made by a user is
// owned by it; deactivating (suspending, deleting) the user with deactivate_owned_clients
// also deactivates what it owns, in the same decision; an owner must be a user of the tenant.
TEST(DecideClientTest, OffBoardingAUserDeactivatesTheClientsItOwns) {
  IamFixture f;
  f.CreateTenant();
  const std::string dev = f.NewUser("dev", {Grant{f.RoleId("Tenant Admin"), "root"}});
  const std::string other = f.NewUser("other");
  Decision made = f.Must(CreateClient{"ci", "", "", {}, std::nullopt},
                         f.As(Subject{SubjectType::kUser, dev}));
  EXPECT_EQ(f.state().FindClient(made.id)->owner_id, dev);
  Decision rooted = f.Must(CreateClient{"by-root", "", "", {}, std::nullopt});
  EXPECT_FALSE(f.state().FindClient(rooted.id)->owner_id.has_value());
  Decision given = f.Must(CreateClient{"given", "", "", {}, other});
  EXPECT_EQ(f.state().FindClient(given.id)->owner_id, other);
  EXPECT_EQ(FieldOf(f.Run(CreateClient{"bad", "", "", {}, std::string("usr_nope")})), "owner_id");
  // A change of owner is recorded; "" clears it.
  Decision moved = f.Must(UpdateClient{given.id, {}, {}, {}, dev});
  EXPECT_NE(moved.events[0].changes.find("owner_id"), std::string::npos);
  // Off-boarding dev: both of its clients go with it, the others stay.
  Decision off = f.Must(ChangeUserStatus{dev, UserAction::kDeactivate, "left", true});
  EXPECT_EQ(Types(off), (std::vector<std::string>{"user.deactivated", "api_client.deactivated",
                                                  "api_client.deactivated"}));
  EXPECT_EQ(f.state().FindClient(made.id)->status, ActiveStatus::kInactive);
  EXPECT_EQ(f.state().FindClient(given.id)->status, ActiveStatus::kInactive);
  EXPECT_EQ(f.state().FindClient(rooted.id)->status, ActiveStatus::kActive);
  // Without the flag a deactivation leaves clients alone.
  Decision plain = f.Must(ChangeUserStatus{other, UserAction::kDeactivate, "", false});
  EXPECT_EQ(Types(plain), std::vector<std::string>{"user.deactivated"});
  EXPECT_TRUE(f.Must(UpdateClient{given.id, {}, {}, {}, std::string()}).events.size() == 1);
  EXPECT_FALSE(f.state().FindClient(given.id)->owner_id.has_value());
}

}  // namespace
}  // namespace custos::core::iam
