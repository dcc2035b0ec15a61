// Second factors (TOTP) over real HTTP: enrolment with a first code and recovery codes shown
// once, the login's second step (a code accepted once, a recovery code used once, failures
// counting towards the lockout), the tenant's mfa_required, an admin's reset under the
// outrank rule, and no secret or code in any event.
#include <filesystem>
#include <fstream>

#include "core/base64.h"
#include "core/private_file.h"
#include "core/totp.h"
#include "tests/api/api_fixture.h"

namespace custos::testing {
namespace {

class MfaTest : public ApiTest {
 protected:
  const std::string T = "/v1/tenants/acme";

  void SetUp() override {
    ApiTest::SetUp();
    CreateTenant("acme");
  }

  // A user who chose its password; returns its id.
  std::string User(const std::string& email, const std::string& extra = "") {
    HttpReply made = NewUser("acme", email, extra);
    J j(made.body);
    const std::string temp = j.S("temporary_password");
    const std::string token = LoginToken(email, temp);
    EXPECT_EQ(client_
                  ->Json("POST", T + "/auth/password", token,
                         R"({"current_password":")" + temp + R"(","new_password":")" + kPassword +
                             R"("})")
                  .status,
              200);
    return j.S("id");
  }
  HttpReply Login(const std::string& email, const std::string& password = kPassword) {
    return client_->Json("POST", T + "/auth/login", "",
                         R"({"email":")" + email + R"(","password":")" + password + R"("})");
  }
  std::string LoginToken(const std::string& email, const std::string& password) {
    HttpReply r = Login(email, password);
    EXPECT_EQ(r.status, 200) << r.body;
    return J(r.body).S("access_token");
  }
  // The current code of a base32 secret at the fake clock's time.
  std::string Code(const std::string& secret, int steps_ahead = 0) {
    const int64_t now = core::ToUnixMillis(clock_.Now()) / 1000;
    return core::Hotp(*core::Base32Decode(secret),
                      static_cast<uint64_t>(core::TotpStep(now) + steps_ahead));
  }
  // Enrols `email` (logged in with `token`): {secret, recovery codes}.
  std::pair<std::string, std::vector<std::string>> Enrol(const std::string& token) {
    HttpReply start = client_->Json("POST", T + "/me/mfa/totp", token, "{}");
    EXPECT_EQ(start.status, 200) << start.body;
    const std::string secret = J(start.body).S("secret");
    EXPECT_NE(J(start.body).S("otpauth_uri").find("secret=" + secret), std::string::npos);
    HttpReply confirm = client_->Json("POST", T + "/me/mfa/totp:confirm", token,
                                      R"({"code":")" + Code(secret) + "\"}");
    EXPECT_EQ(confirm.status, 200) << confirm.body;
    J j(confirm.body);
    std::vector<std::string> codes;
    for (size_t i = 0; i < j.Size("recovery_codes"); ++i) {
      codes.push_back(j.S("recovery_codes." + std::to_string(i)));
    }
    EXPECT_EQ(codes.size(), 10u);
    EXPECT_EQ(j.S("user.mfa.method"), "totp");
    return {secret, codes};
  }
  HttpReply SecondStep(const std::string& mfa_token, const std::string& field,
                       const std::string& value) {
    return client_->Json(
        "POST", T + "/auth/mfa", "",
        R"({"mfa_token":")" + mfa_token + R"(",")" + field + R"(":")" + value + "\"}");
  }
  std::string Challenge(const std::string& email) {
    HttpReply r = Login(email);
    EXPECT_EQ(r.status, 200) << r.body;
    J j(r.body);
    EXPECT_TRUE(j.B("mfa_required")) << r.body;
    EXPECT_EQ(j.S("access_token"), "<missing>") << "no token before the second step";
    return j.S("mfa_token");
  }
  // Every event of the tenant, as one string.
  std::string Trail() {
    return client_->Json("GET", T + "/audit/events?limit=1000", RootToken()).body;
  }
  static constexpr const char* kPassword = "a-password-of-her-own-1";
};

TEST_F(MfaTest, EnrolThenLogInWithACodeOnceAndRecoveryCodesOnce) {
  User("ada@acme.test");
  const std::string token = LoginToken("ada@acme.test", kPassword);
  auto [secret, recovery] = Enrol(token);
  // A second enrolment is refused while one is on.
  EXPECT_EQ(client_->Json("POST", T + "/me/mfa/totp", token, "{}").status, 409);

  // The confirming code's step is used up: the same code does not log in.
  HttpReply replay = SecondStep(Challenge("ada@acme.test"), "code", Code(secret));
  EXPECT_EQ(replay.status, 401) << replay.body;
  clock_.Advance(std::chrono::seconds(30));
  const std::string code = Code(secret);
  const std::string mfa_token = Challenge("ada@acme.test");
  HttpReply ok = SecondStep(mfa_token, "code", code);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_NE(J(ok.body).S("access_token"), "");
  EXPECT_EQ(client_->Json("GET", T + "/me", J(ok.body).S("access_token")).status, 200);
  // The MFA token is single use (even with a code that would be good: the next step's); the
  // code is accepted once.
  EXPECT_EQ(SecondStep(mfa_token, "code", Code(secret, 1)).status, 401);
  EXPECT_EQ(SecondStep(Challenge("ada@acme.test"), "code", code).status, 401);

  // A recovery code once, in any case and with or without its dashes; twice refused.
  std::string messy = recovery[3];
  for (char& c : messy) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  HttpReply rec = SecondStep(Challenge("ada@acme.test"), "recovery_code", messy);
  ASSERT_EQ(rec.status, 200) << rec.body;
  EXPECT_EQ(SecondStep(Challenge("ada@acme.test"), "recovery_code", recovery[3]).status, 401);
  HttpReply me = client_->Json("GET", T + "/me", J(rec.body).S("access_token"));
  EXPECT_EQ(J(me.body).S("principal.mfa.recovery_codes_left"), "9");

  // The trail names what happened and never a secret or a code.
  const std::string trail = Trail();
  for (const char* type : {"user.mfa_enrolled", "auth.mfa_succeeded", "auth.mfa_failed"}) {
    EXPECT_NE(trail.find(type), std::string::npos) << type;
  }
  EXPECT_NE(trail.find("replayed_code"), std::string::npos);
  EXPECT_NE(trail.find("used_recovery_code"), std::string::npos);
  EXPECT_EQ(trail.find(secret), std::string::npos);
  EXPECT_EQ(trail.find("\"" + code + "\""), std::string::npos);
  for (const std::string& r : recovery) EXPECT_EQ(trail.find(r), std::string::npos);
}

TEST_F(MfaTest, WrongCodesCountTowardsTheLockout) {
  User("bob@acme.test");
  auto [secret, recovery] = Enrol(LoginToken("bob@acme.test", kPassword));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(SecondStep(Challenge("bob@acme.test"), "code", "000000").status, 401);
  }
  // Locked: the password step itself now fails.
  EXPECT_EQ(Login("bob@acme.test").status, 401);
  EXPECT_NE(Trail().find("user.locked"), std::string::npos);
}

TEST_F(MfaTest, RemovingNeedsACurrentCodeAndAnAdminResetsUnderTheOutrankRule) {
  const std::string ada = User("ada@acme.test", ",\"kind\":\"admin\"");
  const std::string token = LoginToken("ada@acme.test", kPassword);
  auto [secret, recovery] = Enrol(token);
  // Nobody removes its own without a code, not even through the admins' route.
  EXPECT_EQ(client_->Json("DELETE", T + "/users/" + ada + "/mfa", token).status, 403);
  // A wrong code is refused, recorded, and counts like a wrong password.
  EXPECT_EQ(client_->Json("POST", T + "/me/mfa/totp:remove", token, R"({"code":"123456"})").status,
            422);
  EXPECT_NE(Trail().find("bad_code"), std::string::npos);
  clock_.Advance(std::chrono::seconds(30));
  HttpReply removed = client_->Json("POST", T + "/me/mfa/totp:remove", token,
                                    R"({"code":")" + Code(secret) + "\"}");
  ASSERT_EQ(removed.status, 200) << removed.body;
  HttpReply plain = Login("ada@acme.test");
  EXPECT_EQ(plain.status, 200);
  EXPECT_NE(J(plain.body).S("access_token"), "<missing>") << "no second step once removed";

  // Enrolled again; a user with edit on iam.user, who does not outrank an admin-kind user,
  // cannot reset hers; root can.
  const std::string token2 = LoginToken("ada@acme.test", kPassword);
  Enrol(token2);
  const std::string editors =
      client_
          ->Json(
              "POST", T + "/roles", RootToken(),
              R"({"name":"User Editors","permissions":[{"resource_type":"iam.user","level":"edit"}]})")
          .body;
  User("eve@acme.test", ",\"bindings\":[{\"role_id\":\"" + J(editors).S("id") + "\"}]");
  const std::string eve = LoginToken("eve@acme.test", kPassword);
  EXPECT_EQ(client_->Json("DELETE", T + "/users/" + ada + "/mfa", eve).status, 403);
  EXPECT_EQ(client_->Json("DELETE", T + "/users/" + ada + "/mfa", RootToken()).status, 204);
  EXPECT_EQ(client_->Json("DELETE", T + "/users/" + ada + "/mfa", RootToken()).status, 409);
  EXPECT_NE(Trail().find("reset by an admin"), std::string::npos);
}

TEST_F(MfaTest, ATenantThatRequiresMfaForAdminsHoldsAnAdminToEnrolment) {
  User("root-admin@acme.test", ",\"kind\":\"admin\"");
  User("plain@acme.test");
  ASSERT_EQ(
      client_->Json("PATCH", T, RootToken(), R"({"settings":{"mfa_required":"admins"}})").status,
      200);
  EXPECT_EQ(J(client_->Json("GET", T, RootToken()).body).S("settings.mfa_required"), "admins");
  EXPECT_EQ(
      client_->Json("PATCH", T, RootToken(), R"({"settings":{"mfa_required":"some"}})").status,
      422);
  HttpReply login = Login("root-admin@acme.test");
  ASSERT_EQ(login.status, 200);
  EXPECT_TRUE(J(login.body).B("mfa_enrollment_required"));
  const std::string token = J(login.body).S("access_token");
  EXPECT_EQ(client_->Json("GET", T + "/users", token).status, 403);
  EXPECT_EQ(client_->Json("GET", T + "/me", token).status, 200);
  Enrol(token);
  EXPECT_EQ(client_->Json("GET", T + "/users", token).status, 200);
  // A plain user is not covered by "admins"; "all" covers it.
  HttpReply plain = Login("plain@acme.test");
  EXPECT_FALSE(J(plain.body).B("mfa_enrollment_required"));
  ASSERT_EQ(client_->Json("PATCH", T, RootToken(), R"({"settings":{"mfa_required":"all"}})").status,
            200);
  EXPECT_TRUE(J(Login("plain@acme.test").body).B("mfa_enrollment_required"));
}

TEST_F(MfaTest, NoEnrolmentWithATemporaryPassword) {
  HttpReply made = NewUser("acme", "new@acme.test");
  const std::string token = LoginToken("new@acme.test", J(made.body).S("temporary_password"));
  // Whoever saw the temporary password could otherwise enrol a factor the user never sees.
  EXPECT_EQ(client_->Json("POST", T + "/me/mfa/totp", token, "{}").status, 403);
}

TEST_F(MfaTest, ALostOrReplacedSealKeyStopsTheNodeInsteadOfOrphaningEverySecondFactor) {
  const std::string path = dir_.File("keys/mfa.key");
  const std::string original = [&] {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  Stop();
  tools::NodeOptions options;
  options.data_dir = dir_.path();
  options.clock = &clock_;
  options.password_hasher = &hasher_;
  std::filesystem::remove(path);
  auto missing = tools::Node::Open(options);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("is missing"), std::string::npos)
      << missing.error().message;
  ASSERT_TRUE(
      core::WritePrivateFile(path, core::Base64UrlEncode(std::string(32, 'x')) + "\n").ok());
  auto replaced = tools::Node::Open(options);
  ASSERT_FALSE(replaced.ok());
  EXPECT_NE(replaced.error().message.find("is not the key"), std::string::npos);
  ASSERT_TRUE(core::WritePrivateFile(path, original).ok());
  Start();  // the right key: served again
  EXPECT_EQ(client_->Send("GET", "/healthz").status, 200);
}

}  // namespace
}  // namespace custos::testing
