// The access decision, table-driven, for each admin console the product was made from
// (../shared/seeds/000–004).
#include "core/iam/access.h"

#include <gtest/gtest.h>

#include "tests/support/iam_fixture.h"

namespace custos::core::iam {
namespace {

using testing::IamFixture;

struct Case {
  std::string who;     // a name in the fixture's subjects
  std::string action;  // read, execute, update, delete, administer, create
  std::string where;   // a name in the fixture's targets
  bool allowed;
  Level level;
};

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override { f_.CreateTenant(); }

  Subject User(const std::string& first) {
    const iam::User* u = f_.state().FindUserByEmail(first + "@example.com");
    EXPECT_NE(u, nullptr) << first;
    return Subject{SubjectType::kUser, u == nullptr ? "" : u->id};
  }
  std::string Node(const std::string& kind, const std::string& name, const std::string& parent,
                   const std::string& type = "", const std::string& app = "", bool inherit = true) {
    return f_.Must(CreateNode{kind, name, parent, type, app, inherit}).id;
  }
  std::string Role(const std::string& name, std::vector<Permission> perms,
                   std::vector<std::string> includes = {}) {
    return f_.Must(CreateRole{name, "", std::move(perms), std::move(includes)}).id;
  }
  CheckResult Check(const Subject& s, const std::string& action, const AccessTarget& target) {
    Result<CheckResult> r = AccessEvaluator(f_.state(), f_.clock().Now()).Check(s, action, target);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : CheckResult{};
  }
  void RunTable(const std::vector<Case>& cases,
                const std::map<std::string, AccessTarget>& targets) {
    for (const Case& c : cases) {
      ASSERT_TRUE(targets.count(c.where)) << c.where;
      CheckResult r = Check(User(c.who), c.action, targets.at(c.where));
      EXPECT_EQ(r.allowed, c.allowed)
          << c.who << " " << c.action << " " << c.where << ": " << r.reason;
      EXPECT_EQ(r.level, c.level) << c.who << " " << c.action << " " << c.where;
    }
  }
  AccessTarget At(const std::string& node_id) {
    return AccessTarget::ForNode(*f_.state().FindNode(node_id));
  }

  IamFixture f_;
};

// 001: user groups — system groups per tenant, environment and project; the most
// permissive group wins; Tenant Admin administers but sees no project.
TEST_F(AccessTest, Seed001SystemGroups) {
  const std::string prod = f_.NodeIdByName("Production");
  const std::string dev = f_.NodeIdByName("Development");
  const std::string acme = Node("project", "Acme Integration", prod);
  const std::string other = Node("project", "Other", prod);
  const std::string devp = Node("project", "Dev Project", dev);
  const std::string wf = Node("resource", "Sync", acme, "workflow");
  const std::string wf_other = Node("resource", "Sync", other, "workflow");
  const std::string wf_dev = Node("resource", "Sync", devp, "workflow");
  f_.NewUser("pat", {}, {f_.GroupId("Production User"), f_.GroupId("Acme Integration Designer")});
  f_.NewUser("oli", {}, {f_.GroupId("Production Operator")});
  f_.NewUser("tam", {}, {f_.GroupId("Tenant Admin")});
  f_.NewUser("mia", {}, {f_.GroupId("Acme Integration Manager")});
  f_.NewUser("nob");
  const std::map<std::string, AccessTarget> t = {{"wf", At(wf)},
                                                 {"wf_other", At(wf_other)},
                                                 {"wf_dev", At(wf_dev)},
                                                 {"acme", At(acme)},
                                                 {"users", AccessTarget::ForIam("iam.user")}};
  RunTable(
      {
          {"pat", "update", "wf", true, Level::kEdit},      // Designer wins over User
          {"pat", "read", "wf_other", true, Level::kView},  // Production User
          {"pat", "update", "wf_other", false, Level::kView},
          {"pat", "read", "wf_dev", false, Level::kNone},
          {"oli", "execute", "wf", true, Level::kOperate},  // any Production project
          {"oli", "execute", "wf_other", true, Level::kOperate},
          {"oli", "update", "wf", false, Level::kOperate},
          {"oli", "execute", "wf_dev", false, Level::kNone},
          {"tam", "create", "users", true, Level::kAdmin},  // manages users
          {"tam", "read", "wf", false, Level::kNone},       // not the workflows
          {"mia", "delete", "wf", true, Level::kManage},
          {"mia", "delete", "wf_other", false, Level::kNone},
          {"nob", "read", "wf", false, Level::kNone},  // no groups, no access
          {"pat", "create", "users", false, Level::kNone},
      },
      t);
}

// 000: roles of app + resource type + one named resource + Read/Write/All; admin users;
// API clients with combined roles; a deactivated role denies at once.
TEST_F(AccessTest, Seed000AppResourceRoles) {
  const std::string prj = Node("project", "Main", f_.NodeIdByName("Production"));
  const std::string export_wf = Node("resource", "Diwakar Export", prj, "workflow", "foundation");
  const std::string other_wf = Node("resource", "Other", prj, "workflow", "foundation");
  const std::string plain_wf = Node("resource", "Plain", prj, "workflow");
  const std::string table = Node("resource", "Stock", prj, "table", "foundation");
  const std::string read_export =
      Role("Export Reader", {Permission{"foundation", "workflow", export_wf, Level::kView}});
  const std::string write_tables =
      Role("Table Writer", {Permission{"foundation", "table", "*", Level::kEdit}});
  const std::string all_workflows =
      Role("Workflow All", {Permission{"foundation", "workflow", "*", Level::kManage}});
  f_.NewUser("rea", {{read_export, "root"}});
  f_.NewUser("wri", {{write_tables, "root"}, {read_export, "root"}});
  f_.NewUser("all", {{all_workflows, "root"}});
  CreateUser admin;
  admin.email = "adm@example.com";
  admin.first_name = "Adm";
  admin.last_name = "In";
  admin.kind = UserKind::kAdmin;
  f_.Must(admin);
  f_.NewUser("non");
  const std::map<std::string, AccessTarget> t = {{"export", At(export_wf)},
                                                 {"other", At(other_wf)},
                                                 {"plain", At(plain_wf)},
                                                 {"table", At(table)},
                                                 {"roles", AccessTarget::ForIam("iam.role")}};
  RunTable(
      {
          {"rea", "read", "export", true, Level::kView},
          {"rea", "update", "export", false, Level::kView},
          {"rea", "read", "other", false, Level::kNone},  // one named resource only
          {"wri", "update", "table", true, Level::kEdit},
          {"wri", "delete", "table", false, Level::kEdit},
          {"wri", "read", "export", true, Level::kView},  // roles add up
          {"all", "delete", "other", true, Level::kManage},
          {"all", "read", "plain", false, Level::kNone},  // a named app needs that app
          {"all", "read", "table", false, Level::kNone},
          {"adm", "administer", "roles", true, Level::kAdmin},
          {"adm", "delete", "plain", true, Level::kAdmin},
          {"non", "read", "plain", false, Level::kNone},
      },
      t);
  // An API client with two roles gets both; deactivating one takes it away at once.
  Decision client =
      f_.Must(CreateClient{"etl", "", "", {{read_export, "root"}, {write_tables, "root"}}});
  const Subject cli{SubjectType::kApiClient, client.id};
  EXPECT_TRUE(Check(cli, "update", At(table)).allowed);
  EXPECT_TRUE(Check(cli, "read", At(export_wf)).allowed);
  f_.Must(ChangeRoleStatus{write_tables, false});
  EXPECT_FALSE(Check(cli, "update", At(table)).allowed);
  EXPECT_TRUE(Check(cli, "read", At(export_wf)).allowed);
  f_.Must(ChangeClientStatus{client.id, false});
  CheckResult off = Check(cli, "read", At(export_wf));
  EXPECT_FALSE(off.allowed);
  EXPECT_EQ(off.reason, "api_client is not active");
}

// 002: groups holding roles with read/edit/manage/administrate per entity type.
TEST_F(AccessTest, Seed002GroupRolesPerEntityType) {
  const std::string prj = Node("project", "Commerce", f_.NodeIdByName("Production"));
  const std::string product = Node("resource", "Sku 1", prj, "product");
  const std::string order = Node("resource", "Order 1", prj, "order");
  const std::string editor = Role(
      "OE Editor Rights",
      {Permission{"*", "product", "*", Level::kEdit}, Permission{"*", "order", "*", Level::kView}});
  const std::string manager =
      Role("OE Manager Rights", {Permission{"*", "product", "*", Level::kManage}});
  const std::string admin =
      Role("OE Admin Rights", {Permission{"*", "product", "*", Level::kAdmin},
                               Permission{"*", "iam.user", "*", Level::kAdmin}});
  auto group = [&](const std::string& name, const std::string& role) {
    const std::string g = f_.Must(CreateGroup{name, "", GroupType::kConfigured, "root"}).id;
    f_.Must(CreateBinding{{SubjectType::kGroup, g}, role, "root"});
    return g;
  };
  const std::string g_edit = group("OE Editor", editor);
  const std::string g_manage = group("OE Manager", manager);
  const std::string g_admin = group("OE Admin", admin);
  f_.NewUser("edi", {}, {g_edit});
  f_.NewUser("man", {}, {g_manage, g_edit});
  f_.NewUser("adm", {}, {g_admin});
  const std::map<std::string, AccessTarget> t = {
      {"product", At(product)}, {"order", At(order)}, {"users", AccessTarget::ForIam("iam.user")}};
  RunTable(
      {
          {"edi", "update", "product", true, Level::kEdit},
          {"edi", "delete", "product", false, Level::kEdit},
          {"edi", "read", "order", true, Level::kView},
          {"edi", "update", "order", false, Level::kView},
          {"man", "delete", "product", true, Level::kManage},
          {"man", "update", "order", false, Level::kView},
          {"adm", "administer", "product", true, Level::kAdmin},
          {"adm", "create", "users", true, Level::kAdmin},
          {"adm", "read", "order", false, Level::kNone},  // none selected
      },
      t);
  // Leaving the group takes the access away.
  f_.Must(RemoveGroupMember{g_edit, User("edi").id});
  EXPECT_FALSE(Check(User("edi"), "read", At(product)).allowed);
}

// 003: permissions are context specific — a role bound on one project grants nothing on
// another.
TEST_F(AccessTest, Seed003ContextSpecificRoles) {
  const std::string prod = f_.NodeIdByName("Production");
  const std::string space_a = Node("project", "Space A", prod);
  const std::string space_b = Node("project", "Space B", prod);
  const std::string tpl_a = Node("resource", "Home", space_a, "template");
  const std::string tpl_b = Node("resource", "Home", space_b, "template");
  const std::string dev_role =
      Role("Web Developer", {Permission{"*", "template", "*", Level::kEdit}});
  f_.NewUser("web", {{dev_role, space_a}});
  const std::map<std::string, AccessTarget> t = {{"a", At(tpl_a)}, {"b", At(tpl_b)}};
  RunTable({{"web", "update", "a", true, Level::kEdit}, {"web", "read", "b", false, Level::kNone}},
           t);
  CheckResult r = Check(User("web"), "update", At(tpl_a));
  const std::vector<GrantDetail> grants = r.Details();
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_EQ(grants[0].scope, space_a);
  EXPECT_EQ(grants[0].role_id, dev_role);
  EXPECT_FALSE(grants[0].via_group.has_value());
}

// 004: folders pass access down; an item with inherit: false overrides; the
// Owner/Editor/Viewer/None table; composite roles; a suspended user is denied at once.
TEST_F(AccessTest, Seed004FolderInheritanceAndOverrides) {
  const std::string prj = Node("project", "Flows", f_.NodeIdByName("Production"));
  const std::string folder = Node("folder", "Finance", prj);
  const std::string flow = Node("resource", "Invoices", folder, "flow");
  const std::string secret = Node("resource", "Payroll", folder, "flow", "", false);
  const std::string owner = f_.RoleId("Manager");
  const std::string editor = f_.RoleId("Designer");
  const std::string viewer = f_.RoleId("Viewer");
  f_.NewUser("own", {{owner, folder}});
  f_.NewUser("edi", {{editor, folder}});
  f_.NewUser("vie", {{viewer, folder}});
  f_.NewUser("non");
  f_.NewUser("pay", {{viewer, secret}});  // bound on the item itself
  const std::map<std::string, AccessTarget> t = {{"flow", At(flow)}, {"secret", At(secret)}};
  RunTable(
      {
          // Owner / Editor / Viewer / None × view, edit, execute on the flow.
          {"own", "read", "flow", true, Level::kManage},
          {"own", "update", "flow", true, Level::kManage},
          {"own", "execute", "flow", true, Level::kManage},
          {"edi", "read", "flow", true, Level::kEdit},
          {"edi", "update", "flow", true, Level::kEdit},
          {"edi", "execute", "flow", true, Level::kEdit},
          {"vie", "read", "flow", true, Level::kView},
          {"vie", "update", "flow", false, Level::kView},
          {"vie", "execute", "flow", false, Level::kView},
          {"non", "read", "flow", false, Level::kNone},
          {"non", "update", "flow", false, Level::kNone},
          {"non", "execute", "flow", false, Level::kNone},
          // The override: folder grants stop at the item; its own binding applies.
          {"own", "read", "secret", false, Level::kNone},
          {"edi", "read", "secret", false, Level::kNone},
          {"pay", "read", "secret", true, Level::kView},
          {"pay", "read", "flow", false, Level::kNone},
      },
      t);
  // A composite role: Flow Lead includes Designer and adds delete on flows.
  const std::string lead =
      Role("Flow Lead", {Permission{"*", "flow", "*", Level::kManage}}, {editor});
  const std::string lead_user = f_.NewUser("lea", {{lead, prj}});
  EXPECT_EQ(Check(User("lea"), "delete", At(flow)).level, Level::kManage);
  EXPECT_TRUE(Check(User("lea"), "update", At(Node("resource", "Table", prj, "table"))).allowed);
  // Suspension denies at once, and activation restores.
  f_.Must(ChangeUserStatus{lead_user, UserAction::kSuspend, ""});
  CheckResult suspended = Check(User("lea"), "read", At(flow));
  EXPECT_FALSE(suspended.allowed);
  EXPECT_EQ(suspended.reason, "user is suspended");
  f_.Must(ChangeUserStatus{lead_user, UserAction::kActivate, ""});
  EXPECT_TRUE(Check(User("lea"), "read", At(flow)).allowed);
}

TEST_F(AccessTest, WhoListsEverySubjectWithItsLevel) {
  const std::string prj = Node("project", "Review", f_.NodeIdByName("Production"));
  const std::string wf = Node("resource", "Close", prj, "workflow");
  const std::string a = f_.NewUser("aaa", {}, {f_.GroupId("Review Operator")});
  const std::string b = f_.NewUser("bbb", {{f_.RoleId("Manager"), wf}});
  f_.NewUser("ccc");
  const std::string d = f_.NewUser("ddd", {}, {f_.GroupId("Review User")});
  f_.Must(ChangeUserStatus{d, UserAction::kSuspend, ""});
  std::vector<WhoEntry> who =
      AccessEvaluator(f_.state(), f_.clock().Now()).Who(*f_.state().FindNode(wf));
  std::map<std::string, Level> levels;
  for (const WhoEntry& e : who) levels[e.subject.id] = e.level;
  EXPECT_EQ(levels, (std::map<std::string, Level>{{a, Level::kOperate}, {b, Level::kManage}}));
}

TEST_F(AccessTest, EffectiveGrantsAndErrors) {
  const std::string u =
      f_.NewUser("ggg", {{f_.RoleId("Viewer"), "root"}}, {f_.GroupId("Production Designer")});
  std::vector<GrantDetail> grants =
      AccessEvaluator(f_.state(), f_.clock().Now()).EffectiveGrants(Subject{SubjectType::kUser, u});
  ASSERT_EQ(grants.size(), 2u);
  int via_group = 0;
  for (const GrantDetail& g : grants) via_group += g.via_group.has_value();
  EXPECT_EQ(via_group, 1);
  AccessEvaluator ev(f_.state(), f_.clock().Now());
  EXPECT_EQ(ev.Check(Subject{SubjectType::kUser, u}, "fly", AccessTarget::ForIam("iam.user"))
                .error()
                .fields[0]
                .field,
            "action");
  EXPECT_EQ(
      ev.Check(Subject{SubjectType::kUser, "usr_nope"}, "read", AccessTarget::ForIam("iam.user"))
          .error()
          .code,
      Errc::kNotFound);
}

}  // namespace
}  // namespace custos::core::iam
