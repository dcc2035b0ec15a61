// Given/when/then for users, properties, logins, tokens and invitations.
#include <gtest/gtest.h>

#include "core/iam/credentials.h"
#include "core/iam/password.h"
#include "core/sha256.h"
#include "tests/support/iam_fixture.h"

namespace custos::core::iam {
namespace {

using testing::FieldOf;
using testing::IamFixture;
using testing::Types;

CreateUser Ada() {
  CreateUser c;
  c.email = "Ada@Example.com";
  c.first_name = "Ada";
  c.last_name = "Lovelace";
  c.phone = "+44 20 7946 0000";
  c.address = "12 St James's Square, London";
  c.department = "Engineering";
  c.external_ids = {{"m3", "M3-001"}};
  c.tags = {{"Region", "EU"}};
  return c;
}

// True if no event's data or changes holds `secret`.
bool NoEventHolds(const Decision& d, const std::string& secret) {
  for (const DomainEvent& e : d.events) {
    if (e.data.find(secret) != std::string::npos || e.changes.find(secret) != std::string::npos) {
      return false;
    }
  }
  return true;
}

TEST(DecideUserTest, CreateUserIssuesATemporaryPasswordOnce) {
  IamFixture f;
  f.CreateTenant();
  const std::string viewer = f.RoleId("Viewer");
  const std::string group = f.GroupId("Production User");
  CreateUser c = Ada();
  c.bindings = {Grant{viewer, "root"}};
  c.group_ids = {group};
  Decision d = f.Must(c);
  EXPECT_EQ(Types(d),
            (std::vector<std::string>{"user.created", "binding.created", "group.member_added"}));
  ASSERT_TRUE(d.secret.has_value());
  EXPECT_GE(d.secret->size(), 16u);
  EXPECT_TRUE(NoEventHolds(d, *d.secret));
  // The hash goes to the credential store, the clear value to the mailer.
  ASSERT_EQ(d.credentials.writes().size(), 1u);
  EXPECT_EQ(d.credentials.writes()[0].key, PasswordKey("acme", d.id));
  EXPECT_NE(d.credentials.writes()[0].value.find(Sha256Hex(*d.secret)), std::string::npos);
  EXPECT_EQ(d.credentials.writes()[0].value.find(*d.secret), std::string::npos);
  ASSERT_EQ(d.notifications.size(), 1u);
  EXPECT_EQ(d.notifications[0].secret, *d.secret);
  EXPECT_EQ(d.notifications[0].email, "Ada@Example.com");

  const User* u = f.state().FindUser(d.id);
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->status, UserStatus::kActive);
  EXPECT_TRUE(u->must_change_password);
  EXPECT_FALSE(u->last_active_at.has_value());
  EXPECT_EQ(u->tags.at("Region"), "EU");
  EXPECT_EQ(u->profile.external_ids.at("m3"), "M3-001");
  EXPECT_EQ(f.state().FindUserByEmail("ada@example.COM"), u);
  EXPECT_EQ(f.state().GroupsOf(Subject{SubjectType::kUser, d.id}).count(group), 1u);
}

TEST(DecideUserTest, CreateUserErrorsNameTheirField) {
  IamFixture f;
  f.CreateTenant();
  f.Must(Ada());
  CreateUser c = Ada();
  EXPECT_EQ(f.Run(c).error().code, Errc::kConflict);  // same email, any case
  c.email = "not-an-email";
  EXPECT_EQ(FieldOf(f.Run(c)), "email");
  c = Ada();
  c.email = "grace@example.com";
  c.first_name.clear();
  EXPECT_EQ(FieldOf(f.Run(c)), "first_name");
  c.first_name = "Grace";
  c.last_name.clear();
  EXPECT_EQ(FieldOf(f.Run(c)), "last_name");
  c.last_name = "Hopper";
  c.properties = {{"employee_id", JsonValue::String("7")}};
  EXPECT_EQ(FieldOf(f.Run(c)), "properties.employee_id");
  f.Must(DefineProperty{"employee_id", PropertyType::kNumber, "HR number"});
  EXPECT_EQ(FieldOf(f.Run(c)), "properties.employee_id");  // wrong type
  c.properties = {{"employee_id", JsonValue::Number("7")}};
  c.bindings = {Grant{"rol_nope", "root"}};
  EXPECT_EQ(FieldOf(f.Run(c)), "bindings[0].role_id");
  c.bindings = {Grant{f.RoleId("Viewer"), "env_nope"}};
  EXPECT_EQ(FieldOf(f.Run(c)), "bindings[0].scope");
  c.bindings.clear();
  c.group_ids = {"grp_nope"};
  EXPECT_EQ(FieldOf(f.Run(c)), "group_ids[0]");
  c.group_ids.clear();
  c.tags = {{"Region", ""}};
  EXPECT_EQ(FieldOf(f.Run(c)), "tags.Region");
  c.tags.clear();
  EXPECT_TRUE(f.Run(c).ok());
  EXPECT_EQ(f.state().users().size(), 2u);
}

TEST(DecideUserTest, UpdateUserMergesAndRecordsChanges) {
  IamFixture f;
  f.CreateTenant();
  const std::string id = f.Must(Ada()).id;
  f.NewUser("grace");
  UpdateUser u;
  u.user_id = id;
  u.department = "Research";
  u.phone = "";
  Decision d = f.Must(u);
  ASSERT_EQ(Types(d), std::vector<std::string>{"user.updated"});
  EXPECT_EQ(d.events[0].changes,
            "{\"phone\":{\"from\":\"+44 20 7946 0000\",\"to\":\"\"},"
            "\"department\":{\"from\":\"Engineering\",\"to\":\"Research\"}}");
  EXPECT_EQ(f.state().FindUser(id)->profile.department, "Research");
  EXPECT_EQ(f.state().FindUser(id)->version, 2);
  EXPECT_TRUE(Types(f.Must(u)).empty());  // no change, no event
  u.email = "GRACE@example.com";
  EXPECT_EQ(f.Run(u).error().code, Errc::kConflict);
  u.email = "ada.lovelace@example.com";
  f.Must(u);
  EXPECT_EQ(f.state().FindUserByEmail("ada@example.com"), nullptr);
  EXPECT_NE(f.state().FindUserByEmail("ada.lovelace@example.com"), nullptr);
  u.email = "bad";
  EXPECT_EQ(FieldOf(f.Run(u)), "email");
  u.email.reset();
  CommandContext stale = f.Root();
  stale.if_match = 1;
  u.department = "X";
  EXPECT_EQ(f.Run(u, stale).error().code, Errc::kPreconditionFailed);
  EXPECT_EQ(f.Run(UpdateUser{"usr_nope"}).error().code, Errc::kNotFound);
}

TEST(DecideUserTest, StatusTransitions) {
  IamFixture f;
  f.CreateTenant();
  const std::string id =
      f.NewUser("ada", {{f.RoleId("Viewer"), "root"}}, {f.GroupId("Tenant User")});
  auto status = [&] { return f.state().FindUser(id)->status; };
  EXPECT_EQ(Types(f.Must(ChangeUserStatus{id, UserAction::kSuspend, "review"})),
            std::vector<std::string>{"user.suspended"});
  EXPECT_EQ(status(), UserStatus::kSuspended);
  EXPECT_EQ(Types(f.Must(ChangeUserStatus{id, UserAction::kActivate, ""})),
            std::vector<std::string>{"user.activated"});
  EXPECT_TRUE(Types(f.Must(ChangeUserStatus{id, UserAction::kActivate, ""})).empty());
  f.Must(ChangeUserStatus{id, UserAction::kDeactivate, ""});
  EXPECT_EQ(status(), UserStatus::kDeactivated);
  EXPECT_EQ(f.Run(ChangeUserStatus{id, UserAction::kSuspend, ""}).error().code, Errc::kConflict);
  EXPECT_EQ(f.Run(ChangeUserStatus{id, UserAction::kUnlock, ""}).error().code, Errc::kConflict);
  Decision del = f.Must(ChangeUserStatus{id, UserAction::kDelete, ""});
  EXPECT_EQ(Types(del),
            (std::vector<std::string>{"binding.deleted", "group.member_removed", "user.deleted"}));
  EXPECT_EQ(status(), UserStatus::kDeleted);
  EXPECT_EQ(f.state().FindUserByEmail("ada@example.com"), nullptr);  // the email is free again
  EXPECT_EQ(f.Run(ChangeUserStatus{id, UserAction::kDelete, ""}).error().code, Errc::kNotFound);
  EXPECT_EQ(f.Run(ChangeUserStatus{id, UserAction::kActivate, ""}).error().code, Errc::kConflict);
  f.NewUser("ada");  // the same email again
}

TEST(DecideUserTest, TagsNeedKeyAndValue) {
  IamFixture f;
  f.CreateTenant();
  const std::string id = f.NewUser("ada");
  EXPECT_EQ(Types(f.Must(SetUserTag{id, "Warehouse", "W1"})),
            std::vector<std::string>{"user.tag_set"});
  EXPECT_TRUE(Types(f.Must(SetUserTag{id, "Warehouse", "W1"})).empty());
  Decision d = f.Must(SetUserTag{id, "Warehouse", "W2"});
  EXPECT_EQ(d.events[0].changes, "{\"Warehouse\":{\"from\":\"W1\",\"to\":\"W2\"}}");
  EXPECT_EQ(FieldOf(f.Run(SetUserTag{id, "", "x"})), "key");
  EXPECT_EQ(FieldOf(f.Run(SetUserTag{id, "k", ""})), "value");
  // ../shared/spec/API.md: "both key and value required, non-empty (→ 422)" — blank is empty.
  EXPECT_EQ(FieldOf(f.Run(SetUserTag{id, "  ", "x"})), "key");
  EXPECT_EQ(FieldOf(f.Run(SetUserTag{id, "k", " \t"})), "value");
  EXPECT_EQ(FieldOf(f.Run(CreateUser{"b@example.com", "B", "C", "", "", "", {}, {{"  ", "x"}}})),
            "tags");
  EXPECT_EQ(Types(f.Must(RemoveUserTag{id, "Warehouse"})),
            std::vector<std::string>{"user.tag_removed"});
  EXPECT_TRUE(f.state().FindUser(id)->tags.empty());
  EXPECT_EQ(f.Run(RemoveUserTag{id, "Warehouse"}).error().code, Errc::kNotFound);
}

TEST(DecideUserTest, PasswordResetAndChange) {
  IamFixture f;
  f.CreateTenant();
  const std::string id = f.NewUser("ada");
  Decision reset = f.Must(ResetPassword{id});
  EXPECT_EQ(Types(reset), std::vector<std::string>{"user.password_reset"});
  ASSERT_TRUE(reset.secret.has_value());
  EXPECT_TRUE(NoEventHolds(reset, *reset.secret));
  EXPECT_EQ(FieldOf(f.Run(ChangePassword{id, "$argon2id$…", 5})), "new_password");
  Decision changed = f.Must(ChangePassword{id, "$argon2id$v=19$hash", 14});
  EXPECT_EQ(Types(changed), std::vector<std::string>{"user.password_changed"});
  EXPECT_NE(changed.credentials.writes()[0].value.find("argon2id"), std::string::npos);
  EXPECT_FALSE(f.state().FindUser(id)->must_change_password);
}

TEST(DecideUserTest, FailedLoginsLockAndTheLockRunsOut) {
  IamFixture f;
  f.CreateTenant();
  const std::string id = f.NewUser("ada");
  for (int i = 1; i <= 4; ++i) {
    EXPECT_EQ(Types(f.Must(RecordLogin{id, "ada@example.com", false, "bad_password"})),
              std::vector<std::string>{"auth.login_failed"});
  }
  Decision fifth = f.Must(RecordLogin{id, "ada@example.com", false, "bad_password"});
  EXPECT_EQ(Types(fifth), (std::vector<std::string>{"auth.login_failed", "user.locked"}));
  const User* u = f.state().FindUser(id);
  EXPECT_EQ(u->status, UserStatus::kLocked);
  ASSERT_TRUE(u->locked_until.has_value());
  EXPECT_EQ(*u->locked_until, f.clock().Now() + std::chrono::minutes(15));
  f.clock().Advance(std::chrono::minutes(16));
  Decision ok = f.Must(RecordLogin{id, "ada@example.com", true, ""});
  EXPECT_EQ(Types(ok), (std::vector<std::string>{"user.unlocked", "auth.login_succeeded"}));
  EXPECT_EQ(f.state().FindUser(id)->status, UserStatus::kActive);
  EXPECT_EQ(f.state().FindUser(id)->failed_logins, 0);
  EXPECT_TRUE(f.state().FindUser(id)->last_active_at.has_value());
  Decision unknown = f.Must(RecordLogin{std::nullopt, "who@example.com", false, "no_user"});
  EXPECT_EQ(Types(unknown), std::vector<std::string>{"auth.login_failed"});
  EXPECT_FALSE(unknown.events[0].target.has_value());
}

// A timed lock that runs out is recorded by the system's expiry job even when the user never
// tries again (user.unlocked, "lock expired"); a lock until an admin unlocks never is. The
// index of what is due survives a reload of the state from its records.
TEST(DecideUserTest, ATimedLockThatRunsOutIsRecordedByTheSystem) {
  IamFixture f;
  f.CreateTenant();
  const std::string timed = f.NewUser("ada");
  for (int i = 0; i < 5; ++i) f.Must(RecordLogin{timed, "ada@example.com", false, "bad_password"});
  ASSERT_EQ(f.state().FindUser(timed)->status, UserStatus::kLocked);
  CommandContext system = f.Root();
  system.actor = core::Actor{"system", "expiry", "expiry", "", ""};
  EXPECT_TRUE(f.Must(ExpireDue{}, system).events.empty());
  // Reloaded from its records, the state still knows what is due.
  TenantState reloaded(f.state().tenant_id());
  f.state().ForEachRecord([&](const std::string& key, const std::string& value) {
    ASSERT_TRUE(reloaded.LoadRecord(key, value).ok());
  });
  ASSERT_TRUE(reloaded.FinishLoad().ok());
  f.clock().Advance(std::chrono::minutes(16));
  system.now = f.clock().Now();
  EXPECT_EQ(reloaded.DueBy(system.now, 10), std::vector<std::string>{"u/" + timed});
  Decision expired = f.Must(ExpireDue{}, system);
  EXPECT_EQ(Types(expired), std::vector<std::string>{"user.unlocked"});
  EXPECT_NE(expired.events[0].data.find("lock expired"), std::string::npos);
  EXPECT_EQ(f.state().FindUser(timed)->status, UserStatus::kActive);
  EXPECT_TRUE(f.state().DueBy(system.now, 10).empty());
  EXPECT_TRUE(f.Must(ExpireDue{}, system).events.empty());
}

TEST(DecideUserTest, LockoutMinutesZeroLocksUntilAnAdminUnlocks) {
  IamFixture f;
  f.CreateTenant();
  UpdateTenant t;
  t.settings = TenantSettingsPatch{2, 0, {}, {}, {}, {}};
  f.Must(t);
  const std::string id = f.NewUser("ada");
  f.Must(RecordLogin{id, "ada@example.com", false, "bad_password"});
  f.Must(RecordLogin{id, "ada@example.com", false, "bad_password"});
  EXPECT_EQ(f.state().FindUser(id)->status, UserStatus::kLocked);
  EXPECT_FALSE(f.state().FindUser(id)->locked_until.has_value());
  EXPECT_EQ(f.Run(ChangeUserStatus{id, UserAction::kActivate, ""}).error().code, Errc::kConflict);
  EXPECT_EQ(Types(f.Must(ChangeUserStatus{id, UserAction::kUnlock, ""})),
            std::vector<std::string>{"user.unlocked"});
}

TEST(DecideUserTest, ExportsAreRecorded) {
  IamFixture f;
  f.CreateTenant();
  Decision d = f.Must(RecordUserExport{42});
  EXPECT_EQ(Types(d), std::vector<std::string>{"user.exported"});
  EXPECT_EQ(d.events[0].data, "{\"count\":42}");
}

TEST(DecideUserTest, PropertiesAreDefinedOnce) {
  IamFixture f;
  f.CreateTenant();
  EXPECT_EQ(Types(f.Must(DefineProperty{"employee_id", PropertyType::kString, ""})),
            std::vector<std::string>{"property.defined"});
  EXPECT_EQ(f.Run(DefineProperty{"employee_id", PropertyType::kNumber, ""}).error().code,
            Errc::kConflict);
  EXPECT_EQ(FieldOf(f.Run(DefineProperty{"1bad", PropertyType::kString, ""})), "key");
  EXPECT_EQ(Types(f.Must(RemoveProperty{"employee_id"})),
            std::vector<std::string>{"property.removed"});
  EXPECT_EQ(f.Run(RemoveProperty{"employee_id"}).error().code, Errc::kNotFound);
}

TEST(DecideInvitationTest, PendingThenAccepted) {
  IamFixture f;
  f.CreateTenant();
  const std::string viewer = f.RoleId("Viewer");
  const std::string group = f.GroupId("Development User");
  Decision inv = f.Must(CreateInvitation{"dev@example.com", {{viewer, "root"}}, {group}, {}});
  EXPECT_EQ(Types(inv), std::vector<std::string>{"invitation.created"});
  ASSERT_TRUE(inv.secret.has_value());
  EXPECT_TRUE(NoEventHolds(inv, *inv.secret));
  EXPECT_EQ(inv.credentials.writes().size(), 2u);
  EXPECT_EQ(inv.notifications.at(0).type, "invitation.link");
  EXPECT_EQ(f.state().FindInvitation(inv.id)->status, InvitationStatus::kPending);
  EXPECT_EQ(f.Run(CreateInvitation{"DEV@example.com", {}, {}, {}}).error().code, Errc::kConflict);

  EXPECT_EQ(FieldOf(f.Run(AcceptInvitation{inv.id, "Dee", "Veloper", "$argon2id$x", 3})),
            "password");
  Decision acc = f.Must(AcceptInvitation{inv.id, "Dee", "Veloper", "$argon2id$x", 20});
  EXPECT_EQ(Types(acc), (std::vector<std::string>{"user.created", "binding.created",
                                                  "group.member_added", "invitation.accepted"}));
  const User* u = f.state().FindUser(acc.id);
  ASSERT_NE(u, nullptr);
  EXPECT_FALSE(u->must_change_password);
  EXPECT_EQ(u->status, UserStatus::kActive);
  EXPECT_EQ(f.state().FindInvitation(inv.id)->status, InvitationStatus::kAccepted);
  EXPECT_EQ(f.Run(AcceptInvitation{inv.id, "Dee", "Veloper", "$argon2id$x", 20}).error().code,
            Errc::kGone);
}

// ../shared/spec/API.md: "POST …/invitations/{id}/resend (new token, new expiry)" — the new expiry
// is the invitation's own validity from now (a 3-day invitation stays 3 days), not the tenant's
// default; the same after the state is reloaded from its records.
TEST(DecideInvitationTest, AResendKeepsTheInvitationsOwnValidity) {
  IamFixture f;
  f.CreateTenant();
  Decision three = f.Must(CreateInvitation{"c@example.com", {}, {}, 3});
  f.clock().Advance(std::chrono::hours(24));
  f.Must(ResendInvitation{three.id});
  EXPECT_EQ(f.state().FindInvitation(three.id)->expires_at,
            f.clock().Now() + std::chrono::hours(72));
  TenantState reloaded(f.state().tenant_id());
  f.state().ForEachRecord([&](const std::string& key, const std::string& value) {
    ASSERT_TRUE(reloaded.LoadRecord(key, value).ok());
  });
  ASSERT_TRUE(reloaded.FinishLoad().ok());
  EXPECT_EQ(reloaded.FindInvitation(three.id)->ttl_days, 3);
  // Without expires_in_days: the tenant's default (7).
  Decision plain = f.Must(CreateInvitation{"d@example.com", {}, {}, std::nullopt});
  f.Must(ResendInvitation{plain.id});
  EXPECT_EQ(f.state().FindInvitation(plain.id)->expires_at,
            f.clock().Now() + std::chrono::hours(24 * 7));
}

TEST(DecideInvitationTest, RevokedAndExpiredInvitationsAreGone) {
  IamFixture f;
  f.CreateTenant();
  Decision a = f.Must(CreateInvitation{"a@example.com", {}, {}, 1});
  EXPECT_EQ(Types(f.Must(RevokeInvitation{a.id})), std::vector<std::string>{"invitation.revoked"});
  EXPECT_EQ(f.Run(AcceptInvitation{a.id, "A", "B", "h", 20}).error().code, Errc::kGone);
  EXPECT_EQ(f.Run(RevokeInvitation{a.id}).error().code, Errc::kConflict);

  Decision b = f.Must(CreateInvitation{"b@example.com", {}, {}, 2});
  CommandContext system = f.Root();
  system.actor = core::Actor{"system", "expiry", "expiry", "", ""};
  EXPECT_TRUE(f.Must(ExpireDue{}, system).events.empty());  // not yet
  f.clock().Advance(std::chrono::hours(49));
  system.now = f.clock().Now();
  EXPECT_EQ(f.Run(AcceptInvitation{b.id, "A", "B", "h", 20}).error().code, Errc::kGone);
  // Only the system records expiries, once each.
  EXPECT_EQ(f.Run(ExpireDue{}).error().code, Errc::kPermissionDenied);
  EXPECT_EQ(Types(f.Must(ExpireDue{}, system)), std::vector<std::string>{"invitation.expired"});
  EXPECT_EQ(f.state().FindInvitation(b.id)->status, InvitationStatus::kExpired);
  EXPECT_TRUE(f.Must(ExpireDue{}, system).events.empty());
  // Resending makes a new token and a new expiry.
  Decision again = f.Must(ResendInvitation{b.id});
  EXPECT_EQ(Types(again), std::vector<std::string>{"invitation.resent"});
  EXPECT_NE(again.secret, b.secret);
  EXPECT_EQ(f.state().FindInvitation(b.id)->status, InvitationStatus::kPending);
  EXPECT_EQ(f.state().FindInvitation(b.id)->sends, 2);
  EXPECT_TRUE(f.Run(AcceptInvitation{b.id, "B", "C", "h", 20}).ok());
}

TEST(DecideTokenTest, IssuedAndRevokedTokens) {
  IamFixture f;
  f.CreateTenant();
  Decision c = f.Must(CreateClient{"erp", "", "", {}});
  const Time exp = f.clock().Now() + std::chrono::minutes(15);
  EXPECT_EQ(Types(f.Must(RecordTokenIssued{c.id, *c.key_id, "jti-1", exp})),
            std::vector<std::string>{"auth.token_issued"});
  EXPECT_TRUE(f.state().FindClient(c.id)->secrets[0].last_used_at.has_value());
  f.Must(RevokeToken{Subject{SubjectType::kApiClient, c.id}, "jti-1", exp, false});
  EXPECT_EQ(f.state().RevokedTokenExpiry("jti-1"), exp);
  // Once expired, a revocation is forgotten at the next auth event.
  f.clock().Advance(std::chrono::minutes(16));
  f.Must(RevokeToken{Subject{SubjectType::kApiClient, c.id}, "jti-2",
                     f.clock().Now() + std::chrono::minutes(1), true});
  EXPECT_FALSE(f.state().RevokedTokenExpiry("jti-1").has_value());
  EXPECT_TRUE(f.state().RevokedTokenExpiry("jti-2").has_value());
}

// A hasher that counts its work: argon2id stands in for what costs the time.
class CountingHasher final : public PasswordHasher {
 public:
  Result<std::string> Hash(std::string_view password) const override {
    ++hashes;
    return "argon:" + std::string(password);
  }
  bool Verify(std::string_view encoded, std::string_view password) const override {
    ++verifies;
    return encoded == "argon:" + std::string(password);
  }
  mutable int hashes = 0;
  mutable int verifies = 0;
};

TEST(LoginPasswordTest, EveryLoginDoesTheSameWork) {
  // Unknown email, temporary password (right or wrong), chosen password (right or wrong):
  // exactly one argon2id verification each, so no timing tells them apart.
  const std::string dummy = "argon:dummy";
  const PasswordCredential temp{std::string(kTemporaryPassword), Sha256Hex("temp-secret"), {}};
  const PasswordCredential chosen{std::string(kArgon2id), "argon:chosen", {}};
  struct Case {
    std::optional<PasswordCredential> credential;
    std::string password;
    bool matches;
  };
  for (const Case& c :
       {Case{std::nullopt, "anything", false}, Case{temp, "temp-secret", true},
        Case{temp, "wrong", false}, Case{chosen, "chosen", true}, Case{chosen, "wrong", false}}) {
    CountingHasher hasher;
    EXPECT_EQ(CheckLoginPassword(c.credential, c.password, hasher, dummy), c.matches) << c.password;
    EXPECT_EQ(hasher.verifies, 1) << c.password;
    EXPECT_EQ(hasher.hashes, 0);
  }
}

}  // namespace
}  // namespace custos::core::iam
