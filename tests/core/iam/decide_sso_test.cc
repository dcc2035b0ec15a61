// Given/when/then for single sign-on: configuring the identity provider, and the logins through
// it (linking, provisioning, the group mapping on its configurer's authority).
#include <gtest/gtest.h>

#include <algorithm>

#include "core/iam/sso.h"
#include "tests/support/iam_fixture.h"

namespace custos::core::iam {
namespace {

using testing::FieldOf;
using testing::IamFixture;
using testing::Types;

constexpr const char* kIssuer = "https://idp.example.com";

ConfigureOidc Config(std::map<std::string, std::string> mapping = {}) {
  ConfigureOidc c;
  c.issuer = kIssuer;
  c.client_id = "custos";
  c.sealed_client_secret = "v1.sealed";
  c.allowed_domains = {"Example.com"};
  c.group_claim = "groups";
  c.group_mapping = std::move(mapping);
  c.redirect_uris = {"https://app.example.com/cb"};
  return c;
}

RecordSsoLogin Login(std::string email, std::string subject, std::vector<std::string> groups = {}) {
  RecordSsoLogin r;
  r.succeeded = true;
  r.issuer = kIssuer;
  r.client_id = "custos";
  r.email = std::move(email);
  r.subject = std::move(subject);
  r.given_name = "Sam";
  r.family_name = "Single";
  r.groups = std::move(groups);
  return r;
}

const DomainEvent& Last(const Decision& d) { return d.events.back(); }

JsonValue DataOf(const Decision& d) { return ParseJson(Last(d).data).value(); }

std::string Reason(const Decision& d) {
  const JsonValue data = DataOf(d);
  const JsonValue* r = data.Find("reason");
  return r != nullptr ? r->text() : "";
}

class DecideSsoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    f.CreateTenant();
    editors = f.Must(CreateRole{"Editors", "", {{"*", "iam.user", "*", Level::kEdit}}, {}}).id;
    eng = f.Must(CreateGroup{"Engineering", "", GroupType::kConfigured}).id;
    f.Must(CreateBinding{{SubjectType::kGroup, eng}, editors, "root"});
    // Settings admins who may also change group members (the members route's permission).
    settings = f.Must(CreateRole{"Settings",
                                 "",
                                 {{"*", "iam.settings", "*", Level::kAdmin},
                                  {"*", "iam.group", "*", Level::kEdit}},
                                 {}})
                   .id;
  }
  IamFixture f;
  std::string editors;
  std::string eng;
  std::string settings;
};

TEST_F(DecideSsoTest, ConfiguringNeedsAdminOnSettingsAndChecksTheFields) {
  const std::string bob = f.NewUser("bob");
  Result<Decision> r = f.Run(Config(), f.As({SubjectType::kUser, bob}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kPermissionDenied);

  ConfigureOidc c = Config();
  c.issuer = "http://idp.example.com";
  EXPECT_EQ(FieldOf(f.Run(c)), "issuer");
  c = Config();
  c.allowed_domains = {};
  EXPECT_EQ(FieldOf(f.Run(c)), "allowed_domains");
  c = Config();
  c.required_domains = {"other.com"};
  EXPECT_EQ(FieldOf(f.Run(c)), "required_domains");
  c = Config();
  c.redirect_uris = {"https://app.example.com/cb#x"};
  EXPECT_EQ(FieldOf(f.Run(c)), "redirect_uris[0]");
  c = Config();
  c.sealed_client_secret.reset();
  EXPECT_EQ(FieldOf(f.Run(c)), "client_secret");
  c = Config({{"eng", "grp_missing"}});
  EXPECT_EQ(FieldOf(f.Run(c)), "group_mapping.eng");

  Decision d = f.Must(Config());
  EXPECT_EQ(Types(d), std::vector<std::string>{"tenant.sso_configured"});
  ASSERT_TRUE(f.state().tenant().oidc);
  EXPECT_EQ(f.state().tenant().oidc->allowed_domains, std::vector<std::string>{"example.com"});
  EXPECT_FALSE(f.state().tenant().oidc->configured_by.has_value());  // root
  // The secret stays when a later change leaves it out.
  c = Config();
  c.sealed_client_secret.reset();
  EXPECT_TRUE(f.Run(c).ok());
  EXPECT_EQ(Types(f.Must(RemoveOidc{})), std::vector<std::string>{"tenant.sso_removed"});
  EXPECT_FALSE(f.state().tenant().oidc);
}

TEST_F(DecideSsoTest, AMappingIsAGrantItsConfigurerMustBeAbleToMake) {
  // A settings admin that cannot give Engineering's grants (edit on iam.user) cannot map to it.
  const std::string tess = f.NewUser("tess", {{settings, "root"}});
  Result<Decision> r = f.Run(Config({{"eng", eng}}), f.As({SubjectType::kUser, tess}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kPermissionDenied);
  // Rule 2 does not stand in: a system group Tess delegates is still a grant to users whose
  // login her provider holds.
  const std::string delegator = f.NewUser(
      "dora",
      {{settings, "root"},
       {f.Must(CreateRole{"Group admin", "", {{"*", "iam.group", "*", Level::kAdmin}}, {}}).id,
        "root"}});
  r = f.Run(Config({{"admins", f.GroupId("Tenant Admin")}}), f.As({SubjectType::kUser, delegator}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kPermissionDenied);
  // With the grants to give, she may.
  f.Must(CreateBinding{{SubjectType::kUser, tess}, editors, "root"});
  EXPECT_TRUE(f.Run(Config({{"eng", eng}}), f.As({SubjectType::kUser, tess})).ok());
}

TEST_F(DecideSsoTest, TheFirstLoginProvisionsWithTheMappedGroupsTheNextLinks) {
  f.Must(Config({{"eng", eng}}));
  Decision first = f.Must(Login("sam@example.com", "idp-sam", {"eng", "unmapped"}));
  EXPECT_EQ(Types(first), (std::vector<std::string>{"user.provisioned", "group.member_added",
                                                    "auth.sso_login_succeeded"}));
  const User* sam = f.state().FindUser(first.id);
  ASSERT_NE(sam, nullptr);
  EXPECT_FALSE(sam->must_change_password);
  EXPECT_EQ(sam->profile.first_name, "Sam");
  ASSERT_TRUE(sam->sso);
  EXPECT_EQ(sam->sso->subject, "idp-sam");
  EXPECT_EQ(f.state().GroupsOf({SubjectType::kUser, sam->id}).count(eng), 1u);

  Decision again = f.Must(Login("SAM@example.com", "idp-sam", {"eng"}));
  EXPECT_EQ(Types(again), std::vector<std::string>{"auth.sso_login_succeeded"});
  EXPECT_EQ(again.id, first.id);
  // The claim no longer names the group: the mapped membership goes.
  Decision without = f.Must(Login("sam@example.com", "idp-sam", {}));
  EXPECT_EQ(Types(without),
            (std::vector<std::string>{"group.member_removed", "auth.sso_login_succeeded"}));
  // Another account of the provider with Sam's address is not Sam.
  EXPECT_EQ(Reason(f.Must(Login("sam@example.com", "idp-someone-else"))), "subject_mismatch");
}

TEST_F(DecideSsoTest, RefusalsAreRecordedAndChangeNothing) {
  f.Must(Config({{"eng", eng}}));
  EXPECT_EQ(Reason(f.Must(Login("eve@elsewhere.com", "idp-eve"))), "domain_not_allowed");
  const std::string bob = f.NewUser("bob");
  f.Must(ChangeUserStatus{bob, UserAction::kSuspend, "", false});
  Decision d = f.Must(Login("bob@example.com", "idp-bob", {"eng"}));
  EXPECT_EQ(Types(d), std::vector<std::string>{"auth.sso_login_failed"});
  EXPECT_EQ(Reason(d), "user_suspended");
  RecordSsoLogin failed;
  failed.issuer = kIssuer;
  failed.reason = "bad_nonce";
  EXPECT_EQ(Reason(f.Must(failed)), "bad_nonce");
  // Only the server records logins.
  Result<Decision> r = f.Run(Login("x@example.com", "x"), f.As({SubjectType::kUser, bob}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kPermissionDenied);
  // A login that started under another provider's configuration.
  RecordSsoLogin other = Login("new@example.com", "idp-new");
  other.issuer = "https://other.example.com";
  EXPECT_EQ(Reason(f.Must(other)), "not_configured");
}

TEST_F(DecideSsoTest, AConfigurerThatDoesNotOutrankAUserCannotTakeItsLoginOver) {
  // Tess (settings admin, editor of users) configures the provider; the admin-kind user Ada is
  // beyond her rank, Bob (no grants) is not.
  const std::string tess = f.NewUser("tess", {{settings, "root"}, {editors, "root"}});
  CreateUser admin;
  admin.email = "ada@example.com";
  admin.first_name = "Ada";
  admin.last_name = "Admin";
  admin.kind = UserKind::kAdmin;
  const std::string ada = f.Must(admin).id;
  const std::string bob = f.NewUser("bob");
  f.Must(Config({{"eng", eng}}), f.As({SubjectType::kUser, tess}));
  EXPECT_EQ(Reason(f.Must(Login("ada@example.com", "idp-ada"))), "configurer_does_not_outrank");
  Decision linked = f.Must(Login("bob@example.com", "idp-bob", {"eng"}));
  EXPECT_EQ(linked.id, bob);
  // From now on Tess counts as knowing Bob's credential (rule 2 never delegates to him).
  const User* b = f.state().FindUser(bob);
  EXPECT_TRUE(std::find(b->credential_known_by.begin(), b->credential_known_by.end(),
                        Subject{SubjectType::kUser, tess}) != b->credential_known_by.end());
  // Tess logs in as herself through her own provider.
  EXPECT_EQ(f.Must(Login("tess@example.com", "idp-tess")).id, tess);
  (void)ada;
}

TEST_F(DecideSsoTest, AMappingGivesOnlyWhatItsConfigurerMayGiveAtLoginTime) {
  const std::string tess = f.NewUser("tess", {{settings, "root"}, {editors, "root"}});
  f.Must(Config({{"eng", eng}}), f.As({SubjectType::kUser, tess}));
  // Tess loses the grants Engineering carries: the mapping gives nothing from then on.
  const Binding* hers = nullptr;
  for (const auto& [id, b] : f.state().bindings()) {
    if (b.subject == Subject{SubjectType::kUser, tess} && b.role_id == editors) hers = &b;
  }
  ASSERT_NE(hers, nullptr);
  f.Must(DeleteBinding{hers->id});
  Decision d = f.Must(Login("new@example.com", "idp-new", {"eng"}));
  EXPECT_EQ(Types(d), (std::vector<std::string>{"user.provisioned", "auth.sso_login_succeeded"}));
  const JsonValue data = DataOf(d);
  const JsonValue* refused = data.Find("groups_refused");
  ASSERT_NE(refused, nullptr);
  ASSERT_EQ(refused->items().size(), 1u);
  EXPECT_EQ(refused->items()[0].text(), eng);
}

TEST_F(DecideSsoTest, AUserWithASecondFactorIsNotLoggedInByTheProviderAlone) {
  f.Must(Config());
  const std::string bob = f.NewUser("bob");
  f.Must(EnrollMfa{bob, "v1.sealed", {"h"}, 1}, f.As({SubjectType::kUser, bob}));
  f.Must(RecordMfa{bob, false, "totp", std::nullopt, std::nullopt, "bad_code"},
         f.As({SubjectType::kUser, bob}));
  ASSERT_EQ(f.state().FindUser(bob)->failed_logins, 1);
  Decision d = f.Must(Login("bob@example.com", "idp-bob"));
  EXPECT_EQ(DataOf(d).Find("mfa_pending")->bool_value(), true);
  // The provider's success resets no failure count: the second factor is still to come.
  EXPECT_EQ(f.state().FindUser(bob)->failed_logins, 1);
  EXPECT_TRUE(f.state().FindUser(bob)->sso.has_value());
}

TEST_F(DecideSsoTest, ChangingOrRemovingTheProviderNeedsItsConfigurersRank) {
  f.Must(Config());
  // Root's provider: only root or an admin-kind user changes it.
  const std::string tess = f.NewUser("tess", {{settings, "root"}});
  Result<Decision> r = f.Run(Config(), f.As({SubjectType::kUser, tess}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kPermissionDenied);
  EXPECT_FALSE(f.Run(RemoveOidc{}, f.As({SubjectType::kUser, tess})).ok());
  f.Must(RemoveOidc{});
  f.Must(Config(), f.As({SubjectType::kUser, tess}));
  // A settings admin that does not outrank Tess (it lacks her group rights) cannot take her
  // provider over; she may change it.
  const std::string only_settings =
      f.Must(CreateRole{"Settings only", "", {{"*", "iam.settings", "*", Level::kAdmin}}, {}}).id;
  const std::string tom = f.NewUser("tom", {{only_settings, "root"}});
  EXPECT_FALSE(f.Run(Config(), f.As({SubjectType::kUser, tom})).ok());
  EXPECT_TRUE(f.Run(Config(), f.As({SubjectType::kUser, tess})).ok());
  // The stored secret goes only where it was meant to: a new issuer needs a new secret.
  ConfigureOidc moved = Config();
  moved.issuer = "https://elsewhere.example.com";
  moved.sealed_client_secret.reset();
  EXPECT_EQ(FieldOf(f.Run(moved, f.As({SubjectType::kUser, tess}))), "client_secret");
}

TEST_F(DecideSsoTest, AnInactiveConfigurerSignsNobodyIn) {
  const std::string tess = f.NewUser("tess", {{settings, "root"}});
  f.Must(Config(), f.As({SubjectType::kUser, tess}));
  f.Must(ChangeUserStatus{tess, UserAction::kSuspend, ""});
  EXPECT_EQ(Reason(f.Must(Login("new@example.com", "idp-new"))), "configurer_inactive");
}

TEST_F(DecideSsoTest, RequiredDomainsRefusePasswordsOnlyWhereSsoCouldSignIn) {
  const std::string tess = f.NewUser("tess", {{settings, "root"}});
  CreateUser admin;
  admin.email = "ada@example.com";
  admin.first_name = "Ada";
  admin.last_name = "Admin";
  admin.kind = UserKind::kAdmin;
  f.Must(admin);
  f.NewUser("bob");
  ConfigureOidc c = Config();
  c.required_domains = {"example.com"};
  f.Must(c, f.As({SubjectType::kUser, tess}));
  const Time now = f.clock().Now();
  EXPECT_FALSE(SsoRequiredFor(f.state(), "ada@example.com", now));  // beyond Tess's rank
  EXPECT_TRUE(SsoRequiredFor(f.state(), "bob@example.com", now));
  EXPECT_TRUE(SsoRequiredFor(f.state(), "newcomer@example.com", now));
  EXPECT_FALSE(SsoRequiredFor(f.state(), "bob@elsewhere.com", now));
}

TEST(SsoRulesTest, UrlsAndDomains) {
  EXPECT_FALSE(SsoUrlProblem("https://idp.example.com/realms/acme"));
  EXPECT_FALSE(SsoUrlProblem("http://127.0.0.1:8080"));
  EXPECT_FALSE(SsoUrlProblem("http://localhost:9000/cb"));
  EXPECT_FALSE(SsoUrlProblem("http://[::1]:9000/cb"));
  EXPECT_TRUE(SsoUrlProblem("http://idp.example.com"));
  EXPECT_TRUE(SsoUrlProblem("http://127.evil.com"));
  EXPECT_TRUE(SsoUrlProblem("https://user:pw@idp.example.com"));
  EXPECT_TRUE(SsoUrlProblem("https://idp.example.com/#frag"));
  EXPECT_TRUE(SsoUrlProblem("javascript:alert(1)"));
  EXPECT_TRUE(SsoUrlProblem("https:///path"));
  EXPECT_TRUE(IsDomainName("acme.test"));
  EXPECT_FALSE(IsDomainName("acme"));
  EXPECT_FALSE(IsDomainName("Acme.test"));
  EXPECT_FALSE(IsDomainName("a..b"));
  EXPECT_EQ(EmailDomain("Ada@Example.COM"), "example.com");
}

}  // namespace
}  // namespace custos::core::iam
