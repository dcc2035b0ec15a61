// ../shared/spec/ACCESS.md "No escalation, on every path", rule by rule, as given/when/then
// examples of Decide with non-root callers. The whole rule set is also held as a property by
// escalation_property_test.cc.
#include <gtest/gtest.h>

#include "core/iam/authority.h"
#include "core/iam/events.h"
#include "tests/support/iam_fixture.h"

namespace custos::core::iam {
namespace {

using testing::IamFixture;
using testing::Types;

Permission Perm(std::string type, Level level, std::string app = "*", std::string res = "*") {
  return Permission{std::move(app), std::move(type), std::move(res), level};
}

Subject U(const std::string& id) { return Subject{SubjectType::kUser, id}; }
Subject C(const std::string& id) { return Subject{SubjectType::kApiClient, id}; }

CreateUser NewUserCommand(const std::string& first, std::vector<std::string> groups = {}) {
  CreateUser c;
  c.email = first + "@example.com";
  c.first_name = first;
  c.last_name = "Tester";
  c.group_ids = std::move(groups);
  return c;
}

Errc CodeOf(const Result<Decision>& r) { return r.ok() ? Errc::kInternal : r.error().code; }

// A tenant with Production/Development, a project "Acme" in Production holding a workflow,
// and three callers: a Tenant Admin (member of the Tenant Admin group), an editor of roles
// and groups (edit on iam.role, iam.group, iam.user and iam.api_client, iam.invitation) and
// an admin-kind user.
class EscalationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    f.CreateTenant();
    prod = f.NodeIdByName("Production");
    acme = f.Must(CreateNode{"project", "Acme", prod, "", "", true}).id;
    wf = f.Must(CreateNode{"resource", "Sync", acme, "workflow", "", true}).id;
    tenant_admin = f.NewUser("tam", {}, {f.GroupId("Tenant Admin")});
    editor_role =
        f.Must(CreateRole{"IAM Editor",
                          "",
                          {Perm("iam.role", Level::kEdit), Perm("iam.group", Level::kEdit),
                           Perm("iam.user", Level::kEdit), Perm("iam.api_client", Level::kEdit),
                           Perm("iam.invitation", Level::kEdit)},
                          {}})
            .id;
    editor = f.NewUser("eddie", {{editor_role, "root"}});
    CreateUser admin = NewUserCommand("alice");
    admin.kind = UserKind::kAdmin;
    admin_kind = f.Must(admin).id;
  }

  Result<Decision> As(const std::string& user, const Command& c, bool notifications = true) {
    CommandContext ctx = f.As(U(user));
    ctx.notifications = notifications;
    return f.Run(c, ctx);
  }

  IamFixture f;
  std::string prod, acme, wf, tenant_admin, editor_role, editor, admin_kind;
};

// ---- rule 1: grants ----

TEST_F(EscalationTest, EditingARoleOneHoldsCannotWidenIt) {
  // Given the editor holds its own role; when it adds admin on iam.* or *, or includes
  // Tenant Admin and Manager, then 403 — its holders (itself) would gain what it cannot give.
  UpdateRole widen{editor_role, {}, {}, std::vector<Permission>{Perm("iam.*", Level::kAdmin)}, {}};
  EXPECT_EQ(CodeOf(As(editor, widen)), Errc::kPermissionDenied);
  UpdateRole star{editor_role, {}, {}, std::vector<Permission>{Perm("*", Level::kAdmin)}, {}};
  EXPECT_EQ(CodeOf(As(editor, star)), Errc::kPermissionDenied);
  UpdateRole include{editor_role,
                     {},
                     {},
                     {},
                     std::vector<std::string>{f.RoleId("Tenant Admin"), f.RoleId("Manager")}};
  EXPECT_EQ(CodeOf(As(editor, include)), Errc::kPermissionDenied);
  // Narrowing, or a role nobody holds, is fine.
  UpdateRole narrow{
      editor_role, {}, {}, std::vector<Permission>{Perm("iam.role", Level::kEdit)}, {}};
  const std::string spare = f.Must(CreateRole{"Spare", "", {}, {}}).id;
  EXPECT_TRUE(
      As(editor, UpdateRole{spare, {}, {}, std::vector<Permission>{Perm("*", Level::kAdmin)}, {}})
          .ok());
  EXPECT_TRUE(As(editor, narrow).ok());
}

TEST_F(EscalationTest, ARoleChangeCountsForRolesThatIncludeItAndPendingInvitations) {
  const std::string inner = f.Must(CreateRole{"Inner", "", {}, {}}).id;
  const std::string outer = f.Must(CreateRole{"Outer", "", {}, {inner}}).id;
  f.NewUser("bob", {{outer, acme}});
  // Holders of Outer at Acme would gain manage on workflows there.
  UpdateRole grow{inner, {}, {}, std::vector<Permission>{Perm("workflow", Level::kManage)}, {}};
  Result<Decision> r = As(editor, grow);
  ASSERT_EQ(CodeOf(r), Errc::kPermissionDenied);
  EXPECT_NE(r.error().message.find("Outer"), std::string::npos) << r.error().message;
  // A pending invitation to Inner counts as holding it.
  const std::string lone = f.Must(CreateRole{"Lone", "", {}, {}}).id;
  f.Must(CreateInvitation{"new@example.com", {{lone, "root"}}, {}, {}});
  EXPECT_EQ(
      CodeOf(As(editor,
                UpdateRole{lone, {}, {}, std::vector<Permission>{Perm("*", Level::kView)}, {}})),
      Errc::kPermissionDenied);
}

TEST_F(EscalationTest, ReactivatingARoleIsAGrant) {
  const std::string viewers = f.Must(CreateRole{"Viewers", "", {Perm("*", Level::kView)}, {}}).id;
  f.NewUser("bob", {{viewers, "root"}});
  f.Must(ChangeRoleStatus{viewers, false});
  EXPECT_EQ(CodeOf(As(editor, ChangeRoleStatus{viewers, true})), Errc::kPermissionDenied);
  EXPECT_TRUE(As(admin_kind, ChangeRoleStatus{viewers, true}).ok());
  // Deactivating takes away only: anyone with the route may.
  EXPECT_TRUE(As(editor, ChangeRoleStatus{viewers, false}).ok());
}

TEST_F(EscalationTest, MembershipsOnEveryPathNeedCanBind) {
  const std::string tam_group = f.GroupId("Tenant Admin");
  const std::string manager_group = f.GroupId("Tenant Manager");
  // The members route: the editor (edit on iam.group, no delegation) adds itself.
  EXPECT_EQ(CodeOf(As(editor, AddGroupMembers{tam_group, {U(editor)}})), Errc::kPermissionDenied);
  EXPECT_EQ(CodeOf(As(editor, AddGroupMembers{manager_group, {U(editor)}})),
            Errc::kPermissionDenied);
  // group_ids on user create.
  EXPECT_EQ(CodeOf(As(editor, NewUserCommand("x", {tam_group}))), Errc::kPermissionDenied);
  // An invitation's groups.
  EXPECT_EQ(CodeOf(As(editor, CreateInvitation{"y@example.com", {}, {manager_group}, {}})),
            Errc::kPermissionDenied);
  // A CSV import's groups column.
  ImportUsers import;
  import.users = {NewUserCommand("z", {tam_group})};
  Result<Decision> imported = As(editor, import);
  ASSERT_TRUE(imported.ok());  // all or nothing: the refused line is reported, none created
  EXPECT_EQ(imported->created, 0u);
  EXPECT_TRUE(imported->events.empty());
  ASSERT_EQ(imported->rejected.size(), 1u);
  EXPECT_NE(imported->rejected[0].second.find("Tenant Admin"), std::string::npos);
  EXPECT_EQ(f.state().FindUserByEmail("z@example.com"), nullptr);
  EXPECT_EQ(f.state().FindUserByEmail("x@example.com"), nullptr);
}

// ---- rule 2: delegated administration ----

TEST_F(EscalationTest, TenantAdminDelegatesSystemGroupsToOthersWithoutSeeingTheirCredential) {
  const std::string designers = f.GroupId("Acme Designer");
  // Ada made with the group: the Tenant Admin does not outrank her (Designer at Acme), so her
  // temporary password goes by notification alone, and the delegated membership stands.
  Result<Decision> ada = As(tenant_admin, NewUserCommand("ada", {designers}));
  ASSERT_TRUE(ada.ok()) << ada.error().ToString();
  EXPECT_FALSE(ada->secret.has_value());
  EXPECT_EQ(ada->credential_delivery, CredentialDelivery::kNotification);
  ASSERT_EQ(ada->notifications.size(), 1u);
  EXPECT_TRUE(f.state().FindUser(ada->id)->credential_known_by.empty());
  // With no notification channel the same request is refused, and nothing is made.
  EXPECT_EQ(CodeOf(As(tenant_admin, NewUserCommand("bea", {designers}), false)), Errc::kConflict);
  // Through the members route, for an existing user it never saw the credential of.
  const std::string carl = f.NewUser("carl");
  EXPECT_TRUE(As(tenant_admin, AddGroupMembers{designers, {U(carl)}}).ok());
  // Off-boarding: out of the group, suspended.
  EXPECT_TRUE(As(tenant_admin, RemoveGroupMember{designers, carl}).ok());
  EXPECT_TRUE(As(tenant_admin, ChangeUserStatus{ada->id, UserAction::kSuspend, ""}).ok());
  // But never itself, never an API client, never a configured group.
  EXPECT_EQ(CodeOf(As(tenant_admin, AddGroupMembers{designers, {U(tenant_admin)}})),
            Errc::kPermissionDenied);
  const std::string client = f.Must(CreateClient{"Bot", "", "", {}}).id;
  EXPECT_EQ(CodeOf(As(tenant_admin, AddGroupMembers{designers, {C(client)}})),
            Errc::kPermissionDenied);
  const std::string configured = f.Must(CreateGroup{"Ops", "", GroupType::kConfigured}).id;
  f.Must(CreateBinding{{SubjectType::kGroup, configured}, f.RoleId("Designer"), acme});
  EXPECT_EQ(CodeOf(As(tenant_admin, AddGroupMembers{configured, {U(carl)}})),
            Errc::kPermissionDenied);
}

TEST_F(EscalationTest, APuppetWhoseCredentialTheCallerSawGetsNoDelegatedGrants) {
  const std::string designers = f.GroupId("Acme Designer");
  // The Tenant Admin makes a user with nothing: it outranks it and sees the password.
  Result<Decision> puppet = As(tenant_admin, NewUserCommand("puppet"));
  ASSERT_TRUE(puppet.ok());
  ASSERT_TRUE(puppet->secret.has_value());
  EXPECT_EQ(f.state().FindUser(puppet->id)->credential_known_by,
            std::vector<Subject>{U(tenant_admin)});
  EXPECT_EQ(CodeOf(As(tenant_admin, AddGroupMembers{designers, {U(puppet->id)}})),
            Errc::kPermissionDenied);
  // Still known after the puppet changes its password (the caller could have)…
  f.Must(ChangePassword{puppet->id, "$argon2id$x", 20}, f.As(U(puppet->id)));
  EXPECT_EQ(CodeOf(As(tenant_admin, AddGroupMembers{designers, {U(puppet->id)}})),
            Errc::kPermissionDenied);
  // …and after a reset the caller saw. A reset delivered by notification alone clears it.
  Result<Decision> seen = As(tenant_admin, ResetPassword{puppet->id});
  ASSERT_TRUE(seen.ok());
  EXPECT_TRUE(seen->secret.has_value());
  EXPECT_EQ(CodeOf(As(tenant_admin, AddGroupMembers{designers, {U(puppet->id)}})),
            Errc::kPermissionDenied);
  Result<Decision> mailed = As(puppet->id, ResetPassword{puppet->id});  // not outranked: itself
  ASSERT_TRUE(mailed.ok()) << mailed.error().ToString();
  EXPECT_EQ(mailed->credential_delivery, CredentialDelivery::kNotification);
  EXPECT_TRUE(As(tenant_admin, AddGroupMembers{designers, {U(puppet->id)}}).ok());
}

TEST_F(EscalationTest, NoDelegationThroughAPuppetClientOrBetweenPuppets) {
  const std::string designers = f.GroupId("Acme Designer");
  // The Tenant Admin makes a client that may make users, and sees its secret…
  Result<Decision> bot = As(tenant_admin, CreateClient{"Bot", "", "", {{editor_role, "root"}}});
  ASSERT_TRUE(bot.ok()) << bot.error().ToString();
  ASSERT_TRUE(bot->secret.has_value());
  EXPECT_EQ(f.state().FindClient(bot->id)->credential_known_by,
            std::vector<Subject>{U(tenant_admin)});
  // …the client makes a user and sees its password: the Tenant Admin controls that user too,
  // so it may not hand it a system group's grants.
  Result<Decision> made = f.Run(NewUserCommand("made"), f.As(C(bot->id)));
  ASSERT_TRUE(made.ok()) << made.error().ToString();
  ASSERT_TRUE(made->secret.has_value());
  EXPECT_EQ(CodeOf(As(tenant_admin, AddGroupMembers{designers, {U(made->id)}})),
            Errc::kPermissionDenied);
  // Deleting the client does not cut the chain: its controller could have kept what it saw.
  ASSERT_TRUE(As(tenant_admin, DeleteClient{bot->id}).ok());
  EXPECT_EQ(f.state().FindUser(made->id)->credential_known_by,
            (std::vector<Subject>{U(tenant_admin), C(bot->id)}));
  EXPECT_EQ(CodeOf(As(tenant_admin, AddGroupMembers{designers, {U(made->id)}})),
            Errc::kPermissionDenied);
  // Nor through an invitation the client saw the token of, accepted after its deletion.
  Result<Decision> bot2 = As(tenant_admin, CreateClient{"Bot2", "", "", {{editor_role, "root"}}});
  ASSERT_TRUE(bot2.ok());
  Result<Decision> inv = f.Run(CreateInvitation{"late@example.com", {}, {}, {}}, f.As(C(bot2->id)));
  ASSERT_TRUE(inv.ok()) << inv.error().ToString();
  ASSERT_TRUE(inv->secret.has_value());
  ASSERT_TRUE(As(tenant_admin, DeleteClient{bot2->id}).ok());
  Decision late = f.Must(AcceptInvitation{inv->id, "Late", "Comer", "$argon2id$x", 20}, f.Root());
  EXPECT_EQ(CodeOf(As(tenant_admin, AddGroupMembers{designers, {U(late.id)}})),
            Errc::kPermissionDenied);
  // Two puppets of one controller: one made a Tenant Admin may not delegate to the other.
  Result<Decision> first = As(tenant_admin, NewUserCommand("first"));
  Result<Decision> second = As(tenant_admin, NewUserCommand("second"));
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE(As(tenant_admin, CreateBinding{U(first->id), f.RoleId("Tenant Admin"), "root"}).ok());
  EXPECT_EQ(CodeOf(As(first->id, AddGroupMembers{designers, {U(second->id)}})),
            Errc::kPermissionDenied);
  // Nor to its controller.
  EXPECT_EQ(CodeOf(As(first->id, AddGroupMembers{designers, {U(tenant_admin)}})),
            Errc::kPermissionDenied);
  // A stranger to both is fine.
  const std::string carl = f.NewUser("carl");
  EXPECT_TRUE(As(first->id, AddGroupMembers{designers, {U(carl)}}).ok());
}

TEST_F(EscalationTest, AnInvitationWhoseTokenTheCallerSawMakesAKnownUser) {
  // An invitation with nothing: the Tenant Admin outranks the invitee and sees the token.
  Result<Decision> inv = As(tenant_admin, CreateInvitation{"pup@example.com", {}, {}, {}});
  ASSERT_TRUE(inv.ok());
  ASSERT_TRUE(inv->secret.has_value());
  Decision accepted = f.Must(AcceptInvitation{inv->id, "Pup", "Pet", "$argon2id$x", 20}, f.Root());
  EXPECT_EQ(f.state().FindUser(accepted.id)->credential_known_by,
            std::vector<Subject>{U(tenant_admin)});
  EXPECT_EQ(CodeOf(As(tenant_admin, AddGroupMembers{f.GroupId("Acme Manager"), {U(accepted.id)}})),
            Errc::kPermissionDenied);
  // An invitation into a project's group goes by notification; its user is not known.
  Result<Decision> inv2 =
      As(tenant_admin, CreateInvitation{"dev@example.com", {}, {f.GroupId("Acme Designer")}, {}});
  ASSERT_TRUE(inv2.ok()) << inv2.error().ToString();
  EXPECT_FALSE(inv2->secret.has_value());
  Decision dev = f.Must(AcceptInvitation{inv2->id, "Dev", "Eloper", "$argon2id$x", 20}, f.Root());
  EXPECT_TRUE(f.state().FindUser(dev.id)->credential_known_by.empty());
  EXPECT_EQ(f.state().GroupsOf(U(dev.id)).count(f.GroupId("Acme Designer")), 1u);
}

TEST_F(EscalationTest, AcceptingReChecksTheInvitersAuthority) {
  // The editor may bind a role of nothing, invites with it, then the role grows by someone
  // who may give it (root); accepting would pass the editor's authority: 409.
  const std::string empty = f.Must(CreateRole{"Empty", "", {}, {}}).id;
  f.Must(CreateBinding{{SubjectType::kUser, editor}, f.RoleId("Tenant Admin"), "root"});
  Result<Decision> inv = As(editor, CreateInvitation{"x@example.com", {{empty, "root"}}, {}, {}});
  ASSERT_TRUE(inv.ok()) << inv.error().ToString();
  f.Must(UpdateRole{empty, {}, {}, std::vector<Permission>{Perm("*", Level::kManage)}, {}});
  EXPECT_EQ(CodeOf(f.Run(AcceptInvitation{inv->id, "X", "Y", "$argon2id$x", 20}, f.Root())),
            Errc::kConflict);
  EXPECT_EQ(f.state().FindUserByEmail("x@example.com"), nullptr);
}

// ---- rule 3: admin kind ----

TEST_F(EscalationTest, OnlyRootOrAdminKindMakesOrUnmakesAdminKind) {
  CreateUser admin = NewUserCommand("boss");
  admin.kind = UserKind::kAdmin;
  EXPECT_EQ(CodeOf(As(tenant_admin, admin)), Errc::kPermissionDenied);
  Result<Decision> made = As(admin_kind, admin);
  ASSERT_TRUE(made.ok()) << made.error().ToString();
  UpdateUser demote;
  demote.user_id = made->id;
  demote.kind = UserKind::kUser;
  EXPECT_EQ(CodeOf(As(tenant_admin, demote)), Errc::kPermissionDenied);
  EXPECT_TRUE(As(admin_kind, demote).ok());
  UpdateUser promote;
  promote.user_id = editor;
  promote.kind = UserKind::kAdmin;
  EXPECT_EQ(CodeOf(As(editor, promote)), Errc::kPermissionDenied);
}

// ---- rule 4: credentials follow rank ----

TEST_F(EscalationTest, CredentialsOfHigherPrincipalsGoByNotificationOnly) {
  // A password reset of an admin-kind user by an editor of users.
  Result<Decision> reset = As(editor, ResetPassword{admin_kind});
  ASSERT_TRUE(reset.ok()) << reset.error().ToString();
  EXPECT_FALSE(reset->secret.has_value());
  EXPECT_EQ(reset->credential_delivery, CredentialDelivery::kNotification);
  ASSERT_EQ(reset->notifications.size(), 1u);
  EXPECT_EQ(reset->notifications[0].subject_id, admin_kind);
  EXPECT_EQ(CodeOf(As(editor, ResetPassword{admin_kind}, false)), Errc::kConflict);
  // A new secret for a client holding Tenant Admin.
  const std::string bot =
      f.Must(CreateClient{"Bot", "", "", {{f.RoleId("Tenant Admin"), "root"}}}).id;
  Result<Decision> secret = As(editor, CreateClientSecret{bot});
  ASSERT_TRUE(secret.ok());
  EXPECT_FALSE(secret->secret.has_value());
  ASSERT_EQ(secret->notifications.size(), 1u);
  EXPECT_EQ(secret->notifications[0].type, "api_client.secret");
  // Resending a Tenant Admin invitation.
  const Decision inv =
      f.Must(CreateInvitation{"ta@example.com", {}, {f.GroupId("Tenant Admin")}, {}});
  Result<Decision> resent = As(editor, ResendInvitation{inv.id});
  ASSERT_TRUE(resent.ok());
  EXPECT_FALSE(resent->secret.has_value());
  // The email of a higher principal (where its credentials go) stays.
  UpdateUser email;
  email.user_id = tenant_admin;
  email.email = "mine@example.com";
  EXPECT_EQ(CodeOf(As(editor, email)), Errc::kPermissionDenied);
  // What the caller outranks, it sees.
  const std::string plain = f.NewUser("plain");
  Result<Decision> own = As(editor, ResetPassword{plain});
  ASSERT_TRUE(own.ok());
  EXPECT_TRUE(own->secret.has_value());
  EXPECT_EQ(own->credential_delivery, CredentialDelivery::kResponse);
}

// ---- rule 5: acting on principals ----

TEST_F(EscalationTest, ActingOnAPrincipalNeedsRank) {
  for (UserAction a : {UserAction::kSuspend, UserAction::kDeactivate, UserAction::kDelete}) {
    EXPECT_EQ(CodeOf(As(editor, ChangeUserStatus{admin_kind, a, ""})), Errc::kPermissionDenied);
    EXPECT_EQ(CodeOf(As(tenant_admin, ChangeUserStatus{admin_kind, a, ""})),
              Errc::kPermissionDenied);
  }
  // A Tenant Admin off-boards a project's Manager (a delegated grant counts as passing)…
  const std::string mgr = f.NewUser("mgr", {}, {f.GroupId("Acme Manager")});
  EXPECT_TRUE(As(tenant_admin, RemoveGroupMember{f.GroupId("Acme Manager"), mgr}).ok());
  EXPECT_TRUE(As(tenant_admin, ChangeUserStatus{mgr, UserAction::kDeactivate, ""}).ok());
  // …but not someone holding access bound directly, which it cannot give.
  const std::string direct = f.NewUser("direct", {{f.RoleId("Manager"), "root"}});
  EXPECT_EQ(CodeOf(As(tenant_admin, ChangeUserStatus{direct, UserAction::kSuspend, ""})),
            Errc::kPermissionDenied);
  // Clients: deactivating, deleting, revoking a secret of one that holds more.
  const Decision bot = f.Must(CreateClient{"Bot", "", "", {{f.RoleId("Manager"), "root"}}});
  EXPECT_EQ(CodeOf(As(editor, ChangeClientStatus{bot.id, false})), Errc::kPermissionDenied);
  EXPECT_EQ(CodeOf(As(editor, DeleteClient{bot.id})), Errc::kPermissionDenied);
  EXPECT_EQ(CodeOf(As(editor, RevokeClientSecret{bot.id, *bot.key_id})), Errc::kPermissionDenied);
  // Nobody acts on itself this way.
  EXPECT_EQ(CodeOf(As(editor, ChangeUserStatus{editor, UserAction::kSuspend, ""})),
            Errc::kPermissionDenied);
}

TEST_F(EscalationTest, DeactivatingARoleDoesNotLowerItsHoldersRank) {
  // Bob holds Manager at the root, more than the editor may give. Deactivating Manager is
  // allowed (it takes away), but the editor still does not outrank Bob: reactivation by an
  // admin would restore it all.
  const std::string power = f.Must(CreateRole{"Power", "", {Perm("*", Level::kManage)}, {}}).id;
  const std::string bob = f.NewUser("bob", {{power, "root"}});
  EXPECT_TRUE(As(editor, ChangeRoleStatus{power, false}).ok());
  EXPECT_EQ(CodeOf(As(editor, ChangeUserStatus{bob, UserAction::kSuspend, ""})),
            Errc::kPermissionDenied);
  Result<Decision> reset = As(editor, ResetPassword{bob});
  ASSERT_TRUE(reset.ok()) << reset.error().ToString();
  EXPECT_EQ(reset->credential_delivery, CredentialDelivery::kNotification);
}

TEST_F(EscalationTest, TakingABindingOrAGroupAwayNeedsRankOnItsHolders) {
  const std::string power = f.Must(CreateRole{"Power", "", {Perm("*", Level::kManage)}, {}}).id;
  const std::string bob = f.NewUser("bob", {{power, "root"}});
  const std::string bobs = *f.state().BindingsOf(U(bob)).begin();
  EXPECT_EQ(CodeOf(As(editor, DeleteBinding{bobs})), Errc::kPermissionDenied);
  // A group holding a viewer binding, with Bob in it: removing the binding or the group acts
  // on Bob.
  const std::string crew = f.Must(CreateGroup{"Crew", "", GroupType::kConfigured}).id;
  f.Must(CreateBinding{{SubjectType::kGroup, crew}, f.RoleId("Viewer"), acme});
  f.Must(AddGroupMembers{crew, {U(bob)}});
  const std::string crews = *f.state().BindingsOf(Subject{SubjectType::kGroup, crew}).begin();
  EXPECT_EQ(CodeOf(As(editor, DeleteBinding{crews})), Errc::kPermissionDenied);
  EXPECT_EQ(CodeOf(As(editor, DeleteGroup{crew})), Errc::kPermissionDenied);
  // Without Bob, the editor may do both; admin-kind may anyway.
  EXPECT_TRUE(As(admin_kind, DeleteBinding{bobs}).ok());
  f.Must(RemoveGroupMember{crew, bob});
  EXPECT_TRUE(As(editor, DeleteBinding{crews}).ok());
  EXPECT_TRUE(As(editor, DeleteGroup{crew}).ok());
}

// ---- rule 6: the tree ----

TEST_F(EscalationTest, AnItemLevelOverrideIsLiftedOnlyFromInsideIt) {
  const std::string secret =
      f.Must(CreateNode{"resource", "Payroll", acme, "workflow", "", false}).id;
  const std::string designer = f.NewUser("dee", {}, {f.GroupId("Acme Designer")});
  const std::string owner = f.NewUser("own", {{f.RoleId("Manager"), secret}});
  UpdateNode lift{secret, {}, {}, true};
  EXPECT_EQ(CodeOf(As(designer, lift)), Errc::kPermissionDenied);
  EXPECT_EQ(CodeOf(As(designer, DeleteNode{secret})), Errc::kPermissionDenied);
  UpdateNode app{secret, {}, std::string("foundation"), {}};
  EXPECT_EQ(CodeOf(As(designer, app)), Errc::kPermissionDenied);
  // Nor rename it, nor even touch it: the parent's holders do not see it.
  EXPECT_EQ(CodeOf(As(designer, UpdateNode{secret, std::string("Payroll 2"), {}, {}})),
            Errc::kPermissionDenied);
  // Its own holder may lift it once it also meets the parent rule: manage at the node alone
  // is not edit on its type at Acme.
  EXPECT_EQ(CodeOf(As(owner, lift)), Errc::kPermissionDenied);
  f.Must(CreateBinding{U(owner), f.RoleId("Designer"), acme});
  EXPECT_TRUE(As(owner, lift).ok());
  // Moving into a folder under an override needs create there.
  const std::string vault = f.Must(CreateNode{"folder", "Vault", acme, "", "", false}).id;
  UpdateNode move{wf, {}, {}, {}, vault};
  EXPECT_EQ(CodeOf(As(designer, move)), Errc::kPermissionDenied);
}

// ---- rule 7: bounded roles ----

TEST_F(EscalationTest, RolesAreBoundedAndExpansionsShared) {
  std::vector<Permission> many;
  for (int i = 0; i < 600; ++i) {
    many.push_back(Perm("workflow", Level::kView, "*", "res_" + std::to_string(i)));
  }
  const std::string a = f.Must(CreateRole{"A", "", many, {}}).id;
  for (Permission& p : many) p.level = Level::kOperate;
  const std::string b = f.Must(CreateRole{"B", "", many, {}}).id;
  Result<Decision> both = f.Run(CreateRole{"AB", "", {}, {a, b}});
  ASSERT_EQ(CodeOf(both), Errc::kInvalidArgument);
  EXPECT_NE(both.error().message.find("1000"), std::string::npos);
  // An includer pushed over by a change of what it includes.
  const std::string c = f.Must(CreateRole{"C", "", {}, {a}}).id;
  EXPECT_EQ(CodeOf(f.Run(UpdateRole{a, {}, {}, {}, std::vector<std::string>{b}})),
            Errc::kInvalidArgument);
  // Depth: a chain of nine roles nests eight deep; a tenth is refused.
  std::string last = f.Must(CreateRole{"D0", "", {Perm("folder", Level::kView)}, {}}).id;
  for (int i = 1; i <= 8; ++i) {
    last = f.Must(CreateRole{"D" + std::to_string(i), "", {}, {last}}).id;
  }
  EXPECT_EQ(CodeOf(f.Run(CreateRole{"D9", "", {}, {last}})), Errc::kInvalidArgument);
  // C's expansion points into A's own permissions: shared, not copied.
  const PermissionRefs& expanded = f.state().ExpandedPermissions(c);
  ASSERT_EQ(expanded.size(), 600u);
  EXPECT_EQ(expanded[0], &f.state().FindRole(a)->permissions[0]);
}

// ---- rule 8: sessions ----

TEST_F(EscalationTest, PasswordChangesResetsAndSuspensionsEndSessions) {
  const std::string bob = f.NewUser("bob");
  const int64_t start = f.state().FindUser(bob)->session_epoch;
  f.Must(ChangePassword{bob, "$argon2id$x", 20}, f.As(U(bob)));
  EXPECT_EQ(f.state().FindUser(bob)->session_epoch, start + 1);
  EXPECT_FALSE(CheckTokenLive(f.state(), U(bob), "jti", start, f.clock().Now()).ok());
  EXPECT_TRUE(CheckTokenLive(f.state(), U(bob), "jti", start + 1, f.clock().Now()).ok());
  f.Must(ResetPassword{bob});
  f.Must(ChangeUserStatus{bob, UserAction::kSuspend, ""});
  f.Must(ChangeUserStatus{bob, UserAction::kActivate, ""});
  // Reactivation does not bring old tokens back.
  EXPECT_FALSE(CheckTokenLive(f.state(), U(bob), "jti", start + 1, f.clock().Now()).ok());
  EXPECT_EQ(f.state().FindUser(bob)->session_epoch, start + 3);
  // Revocation: one's own, or a principal one outranks.
  const Time exp = f.clock().Now() + std::chrono::hours(1);
  EXPECT_TRUE(As(editor, RevokeToken{U(editor), "own", exp, false}).ok());
  EXPECT_TRUE(As(editor, RevokeToken{U(bob), "bobs", exp, false}).ok());
  EXPECT_EQ(CodeOf(As(editor, RevokeToken{U(admin_kind), "alices", exp, false})),
            Errc::kPermissionDenied);
  EXPECT_EQ(CodeOf(As(editor, RevokeToken{U(tenant_admin), "tams", exp, false})),
            Errc::kPermissionDenied);
  EXPECT_FALSE(f.state().RevokedTokenExpiry("alices").has_value());
}

}  // namespace
}  // namespace custos::core::iam
