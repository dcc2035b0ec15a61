// Given/when/then for tenants and the resource tree.
#include <gtest/gtest.h>

#include "core/iam/access.h"
#include "tests/support/iam_fixture.h"

namespace custos::core::iam {
namespace {

using testing::FieldOf;
using testing::IamFixture;
using testing::Types;

TEST(DecideTenantTest, CreatingATenantMakesBuiltInRolesSystemGroupsAndEnvironments) {
  IamFixture f;
  Decision d = f.Must(CreateTenant{"acme", "Acme", Plan::kPro, {}, {"Production", "UAT"}});
  std::vector<std::string> types = Types(d);
  ASSERT_FALSE(types.empty());
  EXPECT_EQ(types[0], "tenant.created");
  EXPECT_EQ(std::count(types.begin(), types.end(), "role.created"), 5);
  // 5 tenant groups + 4 per environment, each bound once.
  EXPECT_EQ(std::count(types.begin(), types.end(), "group.created"), 13);
  EXPECT_EQ(std::count(types.begin(), types.end(), "binding.created"), 13);
  EXPECT_EQ(std::count(types.begin(), types.end(), "environment.created"), 2);
  EXPECT_EQ(f.state().tenant().plan, Plan::kPro);
  EXPECT_EQ(f.state().tenant().retention_days, 90);
  for (const char* name : {"Viewer", "Operator", "Designer", "Manager", "Tenant Admin"}) {
    const Role* r = f.state().FindRoleByName(name);
    ASSERT_NE(r, nullptr) << name;
    EXPECT_TRUE(r->built_in);
  }
  EXPECT_EQ(f.state().FindRoleByName("Tenant Admin")->permissions[0].resource_type, "iam.*");
  for (const char* name :
       {"Tenant User", "Tenant Operator", "Tenant Designer", "Tenant Manager", "Tenant Admin",
        "Production User", "Production Manager", "UAT Designer"}) {
    const Group* g = f.state().FindGroupByName(name);
    ASSERT_NE(g, nullptr) << name;
    EXPECT_EQ(g->type, GroupType::kSystem);
  }
  // Production Operator is bound to Operator at Production.
  const Group* g = f.state().FindGroupByName("Production Operator");
  const std::set<std::string>& bindings = f.state().BindingsOf(Subject{SubjectType::kGroup, g->id});
  ASSERT_EQ(bindings.size(), 1u);
  const Binding* b = f.state().FindBinding(*bindings.begin());
  EXPECT_EQ(b->role_id, f.RoleId("Operator"));
  EXPECT_EQ(b->scope, f.NodeIdByName("Production"));
  EXPECT_TRUE(b->system);
}

TEST(DecideTenantTest, CreateTenantErrors) {
  IamFixture f("acme");
  EXPECT_EQ(FieldOf(f.Run(CreateTenant{"acme", "", {}, {}, {}})), "name");
  EXPECT_EQ(FieldOf(f.Run(CreateTenant{"acme", "Acme", Plan::kFree, 90, {}})), "retention_days");
  EXPECT_EQ(FieldOf(f.Run(CreateTenant{"acme", "Acme", Plan::kEnterprise, 100, {}})),
            "retention_days");
  EXPECT_EQ(FieldOf(f.Run(CreateTenant{"acme", "Acme", {}, {}, {"Prod", "prod"}})),
            "environments[1]");
  EXPECT_EQ(f.Run(CreateTenant{"acme", "Acme", {}, {}, {}},
                  f.As(Subject{SubjectType::kApiClient, "cli_x"}))
                .error()
                .code,
            Errc::kPermissionDenied);
  EXPECT_TRUE(f.Run(CreateTenant{"acme", "Acme", Plan::kEnterprise, 3650, {}}).ok());
  EXPECT_EQ(f.state().tenant().retention_days, 3650);
  EXPECT_EQ(f.Run(CreateTenant{"acme", "Acme", {}, {}, {}}).error().code, Errc::kConflict);
  IamFixture bad("Bad_Id");
  EXPECT_EQ(FieldOf(bad.Run(CreateTenant{"Bad_Id", "Bad", {}, {}, {}})), "tenant");
}

TEST(DecideTenantTest, UpdateTenantRecordsChangesAndKeepsPlansForRoot) {
  IamFixture f;
  f.CreateTenant();
  UpdateTenant u;
  u.name = "Acme Corp";
  u.settings = TenantSettingsPatch{3, 0, {}, {}, {}, {}};
  Decision d = f.Must(u);
  ASSERT_EQ(Types(d), std::vector<std::string>{"tenant.updated"});
  EXPECT_NE(d.events[0].changes.find("\"name\":{\"from\":\"Acme\",\"to\":\"Acme Corp\"}"),
            std::string::npos)
      << d.events[0].changes;
  EXPECT_EQ(f.state().tenant().settings.lockout_threshold, 3);
  EXPECT_EQ(f.state().tenant().settings.lockout_minutes, 0);
  EXPECT_TRUE(Types(f.Must(u)).empty());  // nothing changes the second time

  UpdateTenant plan;
  plan.plan = Plan::kEnterprise;
  EXPECT_EQ(f.Run(plan, f.As(Subject{SubjectType::kUser, "usr_x"})).error().code,
            Errc::kPermissionDenied);
  EXPECT_EQ(Types(f.Must(plan)), std::vector<std::string>{"tenant.plan_changed"});
  EXPECT_EQ(f.state().tenant().retention_days, 365);
  plan.retention_days = 5000;
  EXPECT_EQ(FieldOf(f.Run(plan)), "retention_days");
  UpdateTenant bad;
  bad.settings = TenantSettingsPatch{0, {}, {}, {}, {}, {}};
  EXPECT_EQ(FieldOf(f.Run(bad)), "settings.lockout_threshold");
  CommandContext stale = f.Root();
  stale.if_match = 1;
  EXPECT_EQ(f.Run(u, stale).error().code, Errc::kPreconditionFailed);
}

TEST(DecideTenantTest, LegalHoldIsRootOnlyAndNeedsAReason) {
  IamFixture f;
  f.CreateTenant();
  EXPECT_EQ(FieldOf(f.Run(SetLegalHold{true, ""})), "reason");
  EXPECT_EQ(f.Run(SetLegalHold{true, "litigation"}, f.As(Subject{SubjectType::kUser, "usr_x"}))
                .error()
                .code,
            Errc::kPermissionDenied);
  EXPECT_EQ(Types(f.Must(SetLegalHold{true, "litigation"})),
            std::vector<std::string>{"tenant.legal_hold_changed"});
  EXPECT_TRUE(f.state().tenant().legal_hold);
  f.Must(SetLegalHold{false, ""});
  EXPECT_FALSE(f.state().tenant().legal_hold);
}

TEST(DecideTenantTest, CommandsForAMissingTenantAreNotFound) {
  IamFixture f;
  EXPECT_EQ(f.Run(CreateRole{"x", "", {}, {}}).error().code, Errc::kNotFound);
}

TEST(DecideTreeTest, ProjectsGetFourSystemGroupsAndUniqueNames) {
  IamFixture f;
  f.CreateTenant();
  const std::string prod = f.NodeIdByName("Production");
  Decision d = f.Must(CreateNode{"project", "Acme Integration", prod, "", "", true});
  EXPECT_EQ(Types(d)[0], "project.created");
  for (const char* level : {"User", "Operator", "Designer", "Manager"}) {
    const Group* g = f.state().FindGroupByName(std::string("Acme Integration ") + level);
    ASSERT_NE(g, nullptr) << level;
    EXPECT_EQ(g->scope, d.id);
  }
  EXPECT_EQ(f.Run(CreateNode{"project", "acme integration", prod, "", "", true}).error().code,
            Errc::kConflict);
  EXPECT_EQ(FieldOf(f.Run(CreateNode{"project", "Other", "root", "", "", true})), "environment_id");
  // A configured group already named like a would-be system group blocks the project.
  f.Must(CreateGroup{"Beta User", "", GroupType::kConfigured, "root"});
  EXPECT_EQ(f.Run(CreateNode{"project", "Beta", prod, "", "", true}).error().code, Errc::kConflict);
}

TEST(DecideTreeTest, FoldersAndResourcesNestUnderProjects) {
  IamFixture f;
  f.CreateTenant();
  const std::string prj =
      f.Must(CreateNode{"project", "P", f.NodeIdByName("Production"), "", "", true}).id;
  const std::string fld = f.Must(CreateNode{"folder", "Sales", prj, "", "", true}).id;
  const std::string sub = f.Must(CreateNode{"folder", "EU", fld, "", "", false}).id;
  Decision r = f.Must(CreateNode{"resource", "Nightly", sub, "workflow", "foundation", true});
  EXPECT_EQ(Types(r), std::vector<std::string>{"resource.created"});
  const Node* n = f.state().FindNode(r.id);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->type, "workflow");
  EXPECT_EQ(n->app, "foundation");
  EXPECT_FALSE(f.state().FindNode(sub)->inherit);
  EXPECT_EQ(FieldOf(f.Run(CreateNode{"resource", "x", sub, "iam.user", "", true})), "type");
  EXPECT_EQ(FieldOf(f.Run(CreateNode{"resource", "x", sub, "project", "", true})), "type");
  EXPECT_EQ(FieldOf(f.Run(CreateNode{"folder", "x", f.NodeIdByName("Production"), "", "", true})),
            "parent_id");
  EXPECT_EQ(FieldOf(f.Run(CreateNode{"gizmo", "x", prj, "", "", true})), "kind");
  EXPECT_EQ(FieldOf(f.Run(CreateNode{"folder", "", prj, "", "", true})), "name");
}

TEST(DecideTreeTest, DeletingAProjectDeletesItsSystemGroupsAndBindings) {
  IamFixture f;
  f.CreateTenant();
  const std::string prj =
      f.Must(CreateNode{"project", "Gamma", f.NodeIdByName("Production"), "", "", true}).id;
  const std::string fld = f.Must(CreateNode{"folder", "F", prj, "", "", true}).id;
  const std::string user = f.NewUser("ada", {{f.RoleId("Viewer"), prj}});
  EXPECT_EQ(f.Run(DeleteNode{prj}).error().code, Errc::kConflict);  // not empty
  f.Must(DeleteNode{fld});
  Decision d = f.Must(DeleteNode{prj});
  std::vector<std::string> types = Types(d);
  EXPECT_EQ(std::count(types.begin(), types.end(), "group.deleted"), 4);
  // 4 system-group bindings and the user's binding at the project.
  EXPECT_EQ(std::count(types.begin(), types.end(), "binding.deleted"), 5);
  EXPECT_EQ(types.back(), "project.deleted");
  EXPECT_EQ(f.state().FindGroupByName("Gamma User"), nullptr);
  EXPECT_TRUE(f.state().BindingsOf(Subject{SubjectType::kUser, user}).empty());
  EXPECT_EQ(f.Run(DeleteNode{prj}).error().code, Errc::kNotFound);
  EXPECT_EQ(f.Run(DeleteNode{"root"}).error().code, Errc::kNotFound);
}

TEST(DecideTreeTest, RenamingAProjectRenamesItsSystemGroups) {
  IamFixture f;
  f.CreateTenant();
  const std::string prj =
      f.Must(CreateNode{"project", "Old", f.NodeIdByName("Production"), "", "", true}).id;
  Decision d = f.Must(UpdateNode{prj, std::string("New"), {}, {}});
  EXPECT_EQ(Types(d)[0], "project.updated");
  EXPECT_NE(f.state().FindGroupByName("New Designer"), nullptr);
  EXPECT_EQ(f.state().FindGroupByName("Old Designer"), nullptr);
  EXPECT_EQ(f.state().FindNode(prj)->version, 2);
}

}  // namespace
}  // namespace custos::core::iam
