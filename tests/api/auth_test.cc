// Tokens, logins and who may call what, over real HTTP.
#include <gtest/gtest.h>

#include <set>

#include "api/internal/call.h"
#include "core/base64.h"
#include "core/chain_verifier.h"
#include "projections/expiry.h"
#include "tests/api/api_fixture.h"
#include "tests/support/test_store.h"

namespace custos::testing {
namespace {

// HTTP Basic credentials: standard base64 with padding.
std::string BasicAuth(const std::string& id, const std::string& secret) {
  const std::string raw = id + ":" + secret;
  static const char* kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string b64;
  for (size_t i = 0; i < raw.size(); i += 3) {
    uint32_t v = static_cast<unsigned char>(raw[i]) << 16;
    if (i + 1 < raw.size()) v |= static_cast<unsigned char>(raw[i + 1]) << 8;
    if (i + 2 < raw.size()) v |= static_cast<unsigned char>(raw[i + 2]);
    b64 += kB64[v >> 18];
    b64 += kB64[(v >> 12) & 63];
    b64 += i + 1 < raw.size() ? kB64[(v >> 6) & 63] : '=';
    b64 += i + 2 < raw.size() ? kB64[v & 63] : '=';
  }
  return "Basic " + b64;
}

TEST_F(ApiTest, ServiceRoutesAnswer) {
  EXPECT_EQ(client_->Send("GET", "/healthz").body, "{\"status\":\"ok\"}");
  EXPECT_EQ(client_->Send("GET", "/readyz").status, 200);
  HttpReply jwks = client_->Send("GET", "/.well-known/jwks.json");
  EXPECT_EQ(J(jwks.body).S("keys.0.kty"), "OKP");
  EXPECT_EQ(J(jwks.body).S("keys.0.kid"), signer_->kid());
  HttpReply discovery = client_->Send("GET", "/.well-known/openid-configuration");
  EXPECT_EQ(J(discovery.body).S("token_endpoint"), issuer_ + "/oauth/token");
  EXPECT_EQ(J(discovery.body).S("jwks_uri"), issuer_ + "/.well-known/jwks.json");
  HttpReply metrics = client_->Send("GET", "/metrics");
  EXPECT_NE(metrics.body.find("# TYPE custos_http_requests_total counter"), std::string::npos);
  EXPECT_NE(metrics.body.find("# TYPE custos_http_request_duration_seconds histogram"),
            std::string::npos);
  EXPECT_FALSE(client_->Send("GET", "/healthz").Header("x-request-id").empty());
  EXPECT_EQ(client_->Send("GET", "/healthz", {{"X-Request-Id", "trace-42"}}).Header("x-request-id"),
            "trace-42");
  EXPECT_EQ(client_->Send("GET", "/nowhere").status, 404);
  EXPECT_EQ(client_->Send("DELETE", "/healthz").status, 405);
}

TEST_F(ApiTest, MetricsPassPromtool) {
  CreateTenant("acme");
  (void)client_->Json("GET", "/v1/tenants/acme/users", RootToken());
  (void)client_->Json("GET", "/v1/tenants/acme/users/nope", RootToken());
  const std::string file = dir_.File("metrics.txt");
  WriteFile(file, client_->Send("GET", "/metrics").body);
  CommandResult r = RunCommand({"sh", "-c", "promtool check metrics < " + file});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST_F(ApiTest, ClientCredentialsFollowRfc6749) {
  HttpReply ok = client_->Send("POST", "/oauth/token",
                               {{"Authorization", BasicAuth(root_.client_id, root_.client_secret)},
                                {"Content-Type", "application/x-www-form-urlencoded"}},
                               "grant_type=client_credentials");
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(J(ok.body).S("token_type"), "Bearer");
  EXPECT_EQ(ok.Header("cache-control"), "no-store");
  HttpReply bad = client_->Send(
      "POST", "/oauth/token", {{"Content-Type", "application/x-www-form-urlencoded"}},
      "grant_type=client_credentials&client_id=" + root_.client_id + "&client_secret=wrong");
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(J(bad.body).S("error"), "invalid_client");
  HttpReply grant =
      client_->Send("POST", "/oauth/token", {{"Content-Type", "application/x-www-form-urlencoded"}},
                    "grant_type=password");
  EXPECT_EQ(J(grant.body).S("error"), "unsupported_grant_type");
  EXPECT_EQ(client_->Send("POST", "/oauth/token", {}, "{}").status, 400);
}

TEST_F(ApiTest, ForgedExpiredAndUnsignedTokensAre401) {
  CreateTenant("acme");
  const std::string token = RootToken();
  const std::string users = "/v1/tenants/acme/users";
  EXPECT_EQ(client_->Json("GET", users, token).status, 200);
  EXPECT_EQ(client_->Json("GET", users, "").status, 401);
  EXPECT_EQ(client_->Json("GET", users, "").Header("www-authenticate"), "Bearer");
  // A flipped signature byte.
  std::string forged = token;
  forged[forged.size() - 5] = forged[forged.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(client_->Json("GET", users, forged).status, 401);
  // alg: none, the same claims, no signature.
  const size_t dot = token.find('.');
  const std::string payload = token.substr(dot + 1, token.rfind('.') - dot - 1);
  const std::string none =
      core::Base64UrlEncode("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + payload + ".";
  EXPECT_EQ(client_->Json("GET", users, none).status, 401);
  // HS256 with the public key as the secret: refused by the allow-list.
  const std::string hs =
      core::Base64UrlEncode("{\"alg\":\"HS256\",\"kid\":\"" + signer_->kid() + "\"}") + "." +
      payload + "." + core::Base64UrlEncode("xxxxxxxx");
  EXPECT_EQ(client_->Json("GET", users, hs).status, 401);
  // A wrong kid.
  const std::string kid = core::Base64UrlEncode("{\"alg\":\"EdDSA\",\"kid\":\"other\"}") + "." +
                          payload + "." + token.substr(token.rfind('.') + 1);
  EXPECT_EQ(client_->Json("GET", users, kid).status, 401);
  // Expired: the clock moves past exp (900 s).
  clock_.Advance(std::chrono::seconds(901));
  HttpReply expired = client_->Json("GET", users, token);
  EXPECT_EQ(expired.status, 401);
  EXPECT_NE(J(expired.body).S("detail").find("expired"), std::string::npos);
}

TEST_F(ApiTest, ApiClientTokenCallDeactivate401AndSecretRotation) {
  CreateTenant("acme");
  auto [id, secret] = Client("acme", "erp", RoleId("acme", "Tenant Admin"));
  const std::string token = Token(id, secret);
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/users", token).status, 200);
  // A second secret during a rotation: both work, then the first is revoked.
  HttpReply second =
      client_->Json("POST", "/v1/tenants/acme/api-clients/" + id + "/secrets", RootToken());
  ASSERT_EQ(second.status, 201) << second.body;
  const std::string secret2 = J(second.body).S("client_secret");
  EXPECT_FALSE(Token(id, secret2).empty());
  HttpReply detail = client_->Json("GET", "/v1/tenants/acme/api-clients/" + id, RootToken());
  ASSERT_EQ(J(detail.body).Size("secrets"), 2u);
  EXPECT_EQ(detail.body.find(secret), std::string::npos);
  const std::string first_key = J(detail.body).S("secrets.0.key_id") == J(second.body).S("key_id")
                                    ? J(detail.body).S("secrets.1.key_id")
                                    : J(detail.body).S("secrets.0.key_id");
  EXPECT_EQ(client_
                ->Json("DELETE", "/v1/tenants/acme/api-clients/" + id + "/secrets/" + first_key,
                       RootToken())
                .status,
            204);
  EXPECT_TRUE(Token(id, secret).empty());
  EXPECT_FALSE(Token(id, secret2).empty());
  // Tokens already issued keep working until the client is deactivated.
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/users", token).status, 200);
  EXPECT_EQ(client_->Json("POST", "/v1/tenants/acme/api-clients/" + id + "/deactivate", RootToken())
                .status,
            200);
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/users", token).status, 401);
  EXPECT_TRUE(Token(id, secret2).empty());
}

TEST_F(ApiTest, TemporaryPasswordFirstLoginForcedChangeAndLockout) {
  CreateTenant("acme");
  HttpReply created = client_->Json("POST", "/v1/tenants/acme/users", RootToken(),
                                    "{\"email\":\"ada@example.com\",\"first_name\":\"Ada\","
                                    "\"last_name\":\"Lovelace\",\"group_ids\":[\"" +
                                        GroupId("acme", "Tenant Admin") + "\"]}");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string temp = J(created.body).S("temporary_password");
  auto login = [&](const std::string& password) {
    return client_->Json("POST", "/v1/tenants/acme/auth/login", "",
                         "{\"email\":\"ada@example.com\",\"password\":\"" + password + "\"}");
  };
  HttpReply first = login(temp);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_TRUE(J(first.body).B("must_change_password"));
  const std::string token = J(first.body).S("access_token");
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/users", token).status, 403);
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/me", token).status, 200);
  EXPECT_EQ(client_
                ->Json("POST", "/v1/tenants/acme/auth/password", token,
                       "{\"current_password\":\"" + temp + "\",\"new_password\":\"short\"}")
                .status,
            422);
  HttpReply changed = client_->Json(
      "POST", "/v1/tenants/acme/auth/password", token,
      "{\"current_password\":\"" + temp + "\",\"new_password\":\"correct horse battery staple\"}");
  ASSERT_EQ(changed.status, 200) << changed.body;
  // The change ends every session of the user, the one that made it included (rule 8).
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/me", token).status, 401);
  const std::string fresh = J(login("correct horse battery staple").body).S("access_token");
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/users", fresh).status, 200);
  EXPECT_EQ(login(temp).status, 401);  // the temporary password is gone
  // Lockout: five failures lock the account, even for the right password, for 15 minutes.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(login("wrong password!").status, 401);
  EXPECT_EQ(login("wrong password!").status, 401);
  EXPECT_EQ(login("correct horse battery staple").status, 401);
  HttpReply user =
      client_->Json("GET", "/v1/tenants/acme/users/" + J(created.body).S("id"), RootToken());
  EXPECT_EQ(J(user.body).S("status"), "locked");
  clock_.Advance(std::chrono::minutes(16));
  EXPECT_EQ(login("correct horse battery staple").status, 200);
  // Logout revokes the token at once.
  const std::string again = J(login("correct horse battery staple").body).S("access_token");
  EXPECT_EQ(client_->Json("POST", "/v1/tenants/acme/auth/logout", again).status, 200);
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/me", again).status, 401);
}

TEST_F(ApiTest, SuspensionAndRoleDeactivationTakeEffectOnTheNextRequest) {
  CreateTenant("acme");
  const std::string role_body =
      "{\"name\":\"User Reader\",\"permissions\":[{\"resource_type\":\"iam.user\",\"level\":"
      "\"view\"}]}";
  HttpReply role = client_->Json("POST", "/v1/tenants/acme/roles", RootToken(), role_body);
  ASSERT_EQ(role.status, 201) << role.body;
  auto [id, secret] = Client("acme", "reader", J(role.body).S("id"));
  const std::string token = Token(id, secret);
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/users", token).status, 200);
  EXPECT_EQ(client_
                ->Json("POST", "/v1/tenants/acme/users", token,
                       "{\"email\":\"a@b.co\",\"first_name\":\"a\",\"last_name\":\"b\"}")
                .status,
            403);
  EXPECT_EQ(client_
                ->Json("POST", "/v1/tenants/acme/roles/" + J(role.body).S("id") + "/deactivate",
                       RootToken())
                .status,
            200);
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/users", token).status, 403);
}

TEST_F(ApiTest, AnotherTenantsTokenSeesNothingAndChangesNothing) {
  CreateTenant("acme");
  CreateTenant("globex");
  auto [id, secret] = Client("globex", "intruder", RoleId("globex", "Tenant Admin"));
  const std::string intruder = Token(id, secret);
  HttpReply user = client_->Json("POST", "/v1/tenants/acme/users", RootToken(),
                                 "{\"email\":\"a@b.co\",\"first_name\":\"a\",\"last_name\":\"b\"}");
  const std::string user_id = J(user.body).S("id");
  const uint64_t before = store_->LastSeq().value();
  // Every route under a tenant, with acme in the path and real-looking ids.
  size_t tried = 0;
  for (const api::RouteSpec& route : api_->routes()) {
    if (route.pattern.find("{tenant}") == std::string::npos) continue;
    if (route.access == api::Access::kPublic) continue;  // login: no token to misuse
    std::string path = route.pattern;
    auto replace = [&](const std::string& param, const std::string& value) {
      const size_t at = path.find(param);
      if (at != std::string::npos) path.replace(at, param.size(), value);
    };
    replace("{tenant}", "acme");
    replace("{id}", user_id);
    replace("{key}", "Region");
    replace("{key_id}", "key_x");
    replace("{member_id}", user_id);
    HttpReply r = client_->Json(route.method, path, intruder, "{}");
    EXPECT_TRUE(r.status == 404 || r.status == 403)
        << route.method << " " << path << ": " << r.status << " " << r.body;
    ++tried;
  }
  EXPECT_GT(tried, 70u);
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/users/" + user_id, RootToken()).status, 200);
  EXPECT_EQ(store_->LastSeq().value(), before);
  EXPECT_EQ(client_->Json("POST", "/v1/tenants", intruder, "{\"id\":\"x1\",\"name\":\"x\"}").status,
            403);
}

TEST_F(ApiTest, BindingsCannotGrantWhatTheCallerLacks) {
  CreateTenant("acme");
  HttpReply binder_role = client_->Json(
      "POST", "/v1/tenants/acme/roles", RootToken(),
      "{\"name\":\"Binder\",\"permissions\":[{\"resource_type\":\"iam.binding\",\"level\":"
      "\"admin\"},{\"resource_type\":\"iam.user\",\"level\":\"edit\"}]}");
  HttpReply viewer_role = client_->Json(
      "POST", "/v1/tenants/acme/roles", RootToken(),
      "{\"name\":\"User Viewer\",\"permissions\":[{\"resource_type\":\"iam.user\",\"level\":"
      "\"view\"}]}");
  auto [id, secret] = Client("acme", "binder", J(binder_role.body).S("id"));
  const std::string token = Token(id, secret);
  HttpReply target =
      client_->Json("POST", "/v1/tenants/acme/users", token,
                    "{\"email\":\"t@b.co\",\"first_name\":\"t\",\"last_name\":\"b\"}");
  ASSERT_EQ(target.status, 201) << target.body;
  const std::string subject = "{\"type\":\"user\",\"id\":\"" + J(target.body).S("id") + "\"}";
  HttpReply ok = client_->Json(
      "POST", "/v1/tenants/acme/bindings", token,
      "{\"subject\":" + subject + ",\"role_id\":\"" + J(viewer_role.body).S("id") + "\"}");
  EXPECT_EQ(ok.status, 201) << ok.body;
  HttpReply denied = client_->Json(
      "POST", "/v1/tenants/acme/bindings", token,
      "{\"subject\":" + subject + ",\"role_id\":\"" + RoleId("acme", "Tenant Admin") + "\"}");
  EXPECT_EQ(denied.status, 403) << denied.body;
}

}  // namespace
}  // namespace custos::testing

namespace custos::testing {
namespace {

// A user made by root, logged in with a chosen password; returns {id, token}.
std::pair<std::string, std::string> LoggedInUser(HttpClient& client, const std::string& root,
                                                 const std::string& email,
                                                 const std::string& extra = "") {
  HttpReply made = client.Json(
      "POST", "/v1/tenants/acme/users", root,
      "{\"email\":\"" + email + "\",\"first_name\":\"A\",\"last_name\":\"B\"" + extra + "}");
  EXPECT_EQ(made.status, 201) << made.body;
  const std::string id = J(made.body).S("id");
  auto login = [&](const std::string& password) {
    return client.Json("POST", "/v1/tenants/acme/auth/login", "",
                       "{\"email\":\"" + email + "\",\"password\":\"" + password + "\"}");
  };
  const std::string first = J(login(J(made.body).S("temporary_password")).body).S("access_token");
  EXPECT_EQ(client
                .Json("POST", "/v1/tenants/acme/auth/password", first,
                      "{\"current_password\":\"" + J(made.body).S("temporary_password") +
                          "\",\"new_password\":\"a long chosen passphrase\"}")
                .status,
            200);
  return {id, J(login("a long chosen passphrase").body).S("access_token")};
}

// An API client holding only edit on iam.user; returns {id, secret}.
std::pair<std::string, std::string> UserEditorClient(HttpClient& client, const std::string& root) {
  const std::string role =
      J(client
            .Json("POST", "/v1/tenants/acme/roles", root,
                  "{\"name\":\"Editor\",\"permissions\":[{\"resource_type\":\"iam.user\","
                  "\"level\":\"edit\"}]}")
            .body)
          .S("id");
  J made(client
             .Json("POST", "/v1/tenants/acme/api-clients", root,
                   "{\"name\":\"editor\",\"bindings\":[{\"role_id\":\"" + role + "\"}]}")
             .body);
  return {made.S("client_id"), made.S("client_secret")};
}

}  // namespace

TEST_F(ApiTest, ResetsAndSuspensionsEndSessionsForGood) {
  CreateTenant("acme");
  const std::string root = RootToken();
  auto [ada, token] = LoggedInUser(*client_, root, "ada@example.com");
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/me", token).status, 200);
  // An admin reset ends her session.
  EXPECT_EQ(client_->Json("POST", "/v1/tenants/acme/users/" + ada + "/reset-password", root).status,
            200);
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/me", token).status, 401);
  // A suspension ends an API client's tokens, and reactivating does not bring them back.
  auto [id, secret] = Client("acme", "bot", RoleId("acme", "Viewer"));
  const std::string bot = Token(id, secret);
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/me", bot).status, 200);
  EXPECT_EQ(
      client_->Json("POST", "/v1/tenants/acme/api-clients/" + id + "/deactivate", root).status,
      200);
  EXPECT_EQ(client_->Json("POST", "/v1/tenants/acme/api-clients/" + id + "/activate", root).status,
            200);
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/me", bot).status, 401);
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/me", Token(id, secret)).status, 200);
}

TEST_F(ApiTest, RevocationByOwnershipAndClientAuthentication) {
  CreateTenant("acme");
  const std::string root = RootToken();
  auto [alice, alice_token] =
      LoggedInUser(*client_, root, "alice@example.com", ",\"kind\":\"admin\"");
  auto [id, secret] = UserEditorClient(*client_, root);
  const std::string bot = Token(id, secret);
  const std::string form = "application/x-www-form-urlencoded";
  auto revoke = [&](const std::string& token, const std::string& as) {
    return client_->Send("POST", "/oauth/revoke",
                         {{"Content-Type", form}, {"Authorization", "Bearer " + as}},
                         "token=" + token);
  };
  auto active = [&](const std::string& token) {
    HttpReply r = client_->Send("POST", "/oauth/introspect",
                                {{"Content-Type", form}, {"Authorization", "Bearer " + root}},
                                "token=" + token);
    EXPECT_EQ(r.status, 200) << r.body;
    return J(r.body).B("active");
  };
  // A token of an admin-kind user is not the editor's to end: 200, no effect.
  EXPECT_EQ(revoke(alice_token, bot).status, 200);
  EXPECT_TRUE(active(alice_token));
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/me", alice_token).status, 200);
  // Its own, it may; so may Alice hers, and root anything.
  const std::string second = Token(id, secret);
  EXPECT_EQ(revoke(second, bot).status, 200);
  EXPECT_FALSE(active(second));
  // Client authentication instead of a bearer token (RFC 7662 §2.1, RFC 7009 §2.1): Basic…
  const std::string basic = BasicAuth(id, secret);
  HttpReply intro =
      client_->Send("POST", "/oauth/introspect", {{"Content-Type", form}, {"Authorization", basic}},
                    "token=" + bot);
  ASSERT_EQ(intro.status, 200) << intro.body;
  EXPECT_TRUE(J(intro.body).B("active"));
  EXPECT_EQ(client_
                ->Send("POST", "/oauth/revoke", {{"Content-Type", form}, {"Authorization", basic}},
                       "token=" + bot)
                .status,
            200);
  EXPECT_FALSE(active(bot));
  // …or form fields; a wrong secret is invalid_client. A caller learns nothing of a token of
  // a principal it does not outrank (Alice is admin-kind): inactive, as if unknown.
  HttpReply other =
      client_->Send("POST", "/oauth/introspect", {{"Content-Type", form}},
                    "token=" + alice_token + "&client_id=" + id + "&client_secret=" + secret);
  ASSERT_EQ(other.status, 200) << other.body;
  EXPECT_FALSE(J(other.body).B("active"));
  EXPECT_EQ(other.body.find("alice"), std::string::npos) << other.body;
  EXPECT_TRUE(active(alice_token));
  // Alice outranks the editor client, and sees its token.
  const std::string third = Token(id, secret);
  HttpReply below = client_->Send(
      "POST", "/oauth/introspect",
      {{"Content-Type", form}, {"Authorization", "Bearer " + alice_token}}, "token=" + third);
  ASSERT_EQ(below.status, 200) << below.body;
  EXPECT_TRUE(J(below.body).B("active"));
  HttpReply wrong =
      client_->Send("POST", "/oauth/introspect", {{"Content-Type", form}},
                    "token=" + alice_token + "&client_id=" + id + "&client_secret=nope");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(J(wrong.body).S("error"), "invalid_client");
  EXPECT_EQ(client_->Send("POST", "/oauth/introspect", {{"Content-Type", form}}, "token=x").status,
            401);
  EXPECT_EQ(revoke(alice_token, alice_token).status, 200);
  EXPECT_FALSE(active(alice_token));
}

TEST_F(ApiTest, RootTokenRevocationsAreEventsOfTheNodesOwnChain) {
  CreateTenant("acme");
  const std::string form = "application/x-www-form-urlencoded";
  const std::string first = RootToken();
  const std::string second = RootToken();
  HttpReply seen = client_->Send("POST", "/oauth/introspect",
                                 {{"Content-Type", form}, {"Authorization", "Bearer " + second}},
                                 "token=" + first);
  ASSERT_EQ(seen.status, 200) << seen.body;
  const std::string first_jti = J(seen.body).S("jti");
  ASSERT_FALSE(first_jti.empty());
  // Root revokes one of its tokens, then logs out with the other: both refused from then on.
  ASSERT_EQ(
      client_
          ->Send("POST", "/oauth/revoke",
                 {{"Content-Type", form}, {"Authorization", "Bearer " + second}}, "token=" + first)
          .status,
      200);
  EXPECT_EQ(client_->Json("GET", "/v1/tenants", first).status, 401);
  ASSERT_EQ(client_->Json("POST", "/v1/tenants/acme/auth/logout", second).status, 200);
  EXPECT_EQ(client_->Json("GET", "/v1/tenants", second).status, 401);

  // Both are events of the node's own chain, with the jti and never the token, chained like a
  // tenant's.
  const core::TenantId system{std::string(core::kSystemChain)};
  core::Result<std::vector<core::StoredEvent>> events =
      store_->ReadTenant(system, core::TenantSeq(1), 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  const std::string& revoked = (*events)[0].line;
  const std::string& logout = (*events)[1].line;
  EXPECT_NE(revoked.find("\"type\":\"auth.token_revoked\""), std::string::npos) << revoked;
  EXPECT_NE(revoked.find("\"jti\":\"" + first_jti + "\""), std::string::npos) << revoked;
  EXPECT_NE(revoked.find("\"actor\":{\"type\":\"root\""), std::string::npos) << revoked;
  EXPECT_NE(logout.find("\"type\":\"auth.logout\""), std::string::npos) << logout;
  for (const std::string& line : {revoked, logout}) {
    EXPECT_EQ(line.find(first), std::string::npos);
    EXPECT_EQ(line.find(second), std::string::npos);
  }
  core::ChainVerifier chain;
  EXPECT_TRUE(chain.Feed(revoked).ok());
  EXPECT_TRUE(chain.Feed(logout).ok());

  // No tenant takes the chain's id; it has no state, and a rebuild leaves it out.
  HttpReply taken = client_->Json("POST", "/v1/tenants", RootToken(),
                                  "{\"id\":\"custos-system\",\"name\":\"x\",\"plan\":\"free\"}");
  EXPECT_EQ(taken.status, 422) << taken.body;
  EXPECT_NE(taken.body.find("reserved"), std::string::npos) << taken.body;
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/custos-system/users", RootToken()).status, 404);
  const std::string digest = identity_->Digest().value();
  Stop();
  {
    std::unique_ptr<storage::RocksStore> store;
    ASSERT_NO_FATAL_FAILURE(testing::OpenTestStore(dir_, clock_, store));
    ASSERT_TRUE(projections::IdentityService::RebuildState(*store, *store).ok());
    EXPECT_EQ(*projections::IdentityService::StoredDigest(*store), digest);
  }
  // After a restart, still refused.
  Start();
  EXPECT_EQ(client_->Json("GET", "/v1/tenants", first).status, 401);
  EXPECT_EQ(client_->Json("GET", "/v1/tenants", second).status, 401);
  EXPECT_EQ(client_->Json("GET", "/v1/tenants", RootToken()).status, 200);
}

TEST_F(ApiTest, CredentialsOfHigherPrincipalsNeedANotificationChannel) {
  // No notifier here (Kafka off): a credential the caller may not see has nowhere to go.
  CreateTenant("acme");
  const std::string root = RootToken();
  HttpReply admin = client_->Json("POST", "/v1/tenants/acme/users", root,
                                  "{\"email\":\"al@example.com\",\"first_name\":\"Al\","
                                  "\"last_name\":\"Min\",\"kind\":\"admin\"}");
  ASSERT_EQ(admin.status, 201);
  EXPECT_EQ(J(admin.body).S("credential_delivery"), "response");
  auto [id, secret] = UserEditorClient(*client_, root);
  const std::string editor = Token(id, secret);
  HttpReply reset = client_->Json(
      "POST", "/v1/tenants/acme/users/" + J(admin.body).S("id") + "/reset-password", editor);
  EXPECT_EQ(reset.status, 409) << reset.body;
  EXPECT_NE(reset.body.find("notification"), std::string::npos);
  // One it outranks: shown.
  HttpReply plain = client_->Json("POST", "/v1/tenants/acme/users", editor,
                                  "{\"email\":\"p@example.com\",\"first_name\":\"P\","
                                  "\"last_name\":\"Lain\"}");
  ASSERT_EQ(plain.status, 201) << plain.body;
  EXPECT_EQ(J(plain.body).S("credential_delivery"), "response");
  EXPECT_FALSE(J(plain.body).S("temporary_password").empty());
}

}  // namespace custos::testing

namespace custos::testing {

TEST_F(ApiTest, LoginsAreLimitedPerAccountAndUnknownTenantsLookLikeWrongPasswords) {
  Stop();
  api_options_.login_burst = 3;
  api_options_.login_rate_per_second = 0.001;
  Start();
  CreateTenant("acme");
  auto login = [&](const std::string& tenant, const std::string& email) {
    return client_->Json("POST", "/v1/tenants/" + tenant + "/auth/login", "",
                         "{\"email\":\"" + email + "\",\"password\":\"not the password\"}");
  };
  for (int i = 0; i < 3; ++i) EXPECT_EQ(login("acme", "ada@example.com").status, 401);
  HttpReply limited = login("acme", "ada@example.com");
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_FALSE(limited.Header("retry-after").empty());
  // Per (tenant, email): another account is not held up.
  EXPECT_EQ(login("acme", "bob@example.com").status, 401);
  // A tenant that does not exist answers like a wrong password.
  HttpReply ghost = login("ghost-tenant", "bob@example.com");
  EXPECT_EQ(ghost.status, 401) << ghost.body;
  // What an unauthenticated caller sends is capped.
  EXPECT_EQ(login("acme", std::string(300, 'a') + "@example.com").status, 422);
}

TEST_F(ApiTest, FailedLoginsForUnknownEmailsAreTalliedIntoOneEventPerSourceAndMinute) {
  CreateTenant("acme");
  for (int i = 0; i < 25; ++i) {
    EXPECT_EQ(client_
                  ->Json("POST", "/v1/tenants/acme/auth/login", "",
                         "{\"email\":\"nobody" + std::to_string(i) +
                             "@example.com\",\"password\":\"guess\"}")
                  .status,
              401);
  }
  api_->RunChores();  // records the tally (it would a minute after the first failure)
  J events(
      client_->Json("GET", "/v1/tenants/acme/audit/events?action=auth.login_failed", RootToken())
          .body);
  ASSERT_EQ(events.Size("items"), 1u);
  EXPECT_EQ(events.S("items.0.data.count"), "25");
  EXPECT_EQ(events.S("items.0.data.email"), "nobody0@example.com");
  EXPECT_EQ(events.S("items.0.actor.ip"), "127.0.0.1");
}

TEST_F(ApiTest, FailedClientAuthenticationsAreRecordedWithTheClientAsTarget) {
  CreateTenant("acme");
  auto [id, secret] = Client("acme", "bot", RoleId("acme", "Viewer"));
  const auto form = std::vector<std::pair<std::string, std::string>>{
      {"Content-Type", "application/x-www-form-urlencoded"}};
  // Twelve guesses at its secret, at the token endpoint and at introspection.
  for (int i = 0; i < 12; ++i) {
    HttpReply r = client_->Send("POST", i % 2 ? "/oauth/introspect" : "/oauth/token", form,
                                "grant_type=client_credentials&token=x&client_id=" + id +
                                    "&client_secret=guess" + std::to_string(i));
    EXPECT_EQ(r.status, 401) << r.body;
  }
  // An unknown client id has no tenant to be recorded in.
  EXPECT_EQ(client_
                ->Send("POST", "/oauth/token", form,
                       "grant_type=client_credentials&client_id=cli_nope&client_secret=x")
                .status,
            401);
  api_->RunChores();
  J events(
      client_->Json("GET", "/v1/tenants/acme/audit/events?action=auth.login_failed", RootToken())
          .body);
  ASSERT_EQ(events.Size("items"), 1u);
  EXPECT_EQ(events.S("items.0.target.type"), "api_client");
  EXPECT_EQ(events.S("items.0.target.id"), id);
  EXPECT_EQ(events.S("items.0.data.client_id"), id);
  EXPECT_EQ(events.S("items.0.data.reason"), "bad_secret");
  EXPECT_EQ(events.S("items.0.data.count"), "12");
  EXPECT_EQ(events.S("items.0.actor.ip"), "127.0.0.1");
  // A deactivated client trying its (right) secret is recorded too.
  ASSERT_EQ(client_->Json("POST", "/v1/tenants/acme/api-clients/" + id + "/deactivate", RootToken())
                .status,
            200);
  EXPECT_EQ(client_
                ->Send("POST", "/oauth/token", form,
                       "grant_type=client_credentials&client_id=" + id + "&client_secret=" + secret)
                .status,
            401);
  api_->RunChores();
  J more(client_->Json("GET", "/v1/tenants/acme/audit/events?action=auth.login_failed", RootToken())
             .body);
  ASSERT_EQ(more.Size("items"), 2u);
  EXPECT_EQ(more.S("items.0.data.reason"), "inactive_client");
}

TEST_F(ApiTest, TokensAndLoginsIgnoreIdempotencyKeysAndRecordsExpire) {
  CreateTenant("acme");
  const auto form = std::vector<std::pair<std::string, std::string>>{
      {"Content-Type", "application/x-www-form-urlencoded"}, {"Idempotency-Key", "k1"}};
  const std::string body = "grant_type=client_credentials&client_id=" + root_.client_id +
                           "&client_secret=" + root_.client_secret;
  HttpReply first = client_->Send("POST", "/oauth/token", form, body);
  HttpReply second = client_->Send("POST", "/oauth/token", form, body);
  ASSERT_EQ(first.status, 200);
  EXPECT_NE(J(first.body).S("access_token"), J(second.body).S("access_token"));
  EXPECT_TRUE(second.Header("idempotent-replayed").empty());
  // A user create with a key is kept, without its secret, for 24 hours; then deleted.
  const std::string root = RootToken();
  const std::string user = "{\"email\":\"k@example.com\",\"first_name\":\"K\",\"last_name\":\"L\"}";
  HttpReply made = client_->Json("POST", "/v1/tenants/acme/users", root, user,
                                 {{"Idempotency-Key", "create-k"}});
  ASSERT_EQ(made.status, 201);
  HttpReply replay = client_->Json("POST", "/v1/tenants/acme/users", root, user,
                                   {{"Idempotency-Key", "create-k"}});
  EXPECT_EQ(replay.Header("idempotent-replayed"), "true");
  EXPECT_EQ(replay.body.find(J(made.body).S("temporary_password")), std::string::npos);
  auto records = [&] {
    size_t n = 0;
    EXPECT_TRUE(store_
                    ->Scan(core::Space::kIndex, "idem",
                           [&](std::string_view, std::string_view) {
                             ++n;
                             return true;
                           })
                    .ok());
    return n;
  };
  EXPECT_EQ(records(), 2u);  // the record and its expiry entry
  api_->RunChores();
  EXPECT_EQ(records(), 2u);
  clock_.Advance(std::chrono::hours(25));
  api_->RunChores();
  EXPECT_EQ(records(), 0u);
}

}  // namespace custos::testing

namespace custos::testing {
namespace {

TEST(RootClientTest, TheCredentialsAreDeliveredBeforeTheRecordIsKept) {
  TempDir dir;
  storage::StoreOptions options;
  options.path = dir.File("db");
  core::FakeClock clock{core::FromUnixMillis(1795521600000)};
  options.clock = &clock;
  auto store = storage::RocksStore::Open(options);
  ASSERT_TRUE(store.ok());
  core::CryptoRandom random;
  // The first start dies while writing root-client.json: no record is left behind, so the
  // server does not come up with a root secret nobody has.
  auto failed = projections::Credentials::EnsureRootClient(
      **store, random, clock,
      [](const api::RootClient&) { return core::Unavailable("disk full"); });
  ASSERT_FALSE(failed.ok());
  auto record = (*store)->Get(core::Space::kCredentials, "!root-client");
  ASSERT_TRUE(record.ok());
  EXPECT_FALSE(record->has_value());
  // The next start makes credentials, delivers them, then keeps their hash.
  api::RootClient delivered;
  auto made = projections::Credentials::EnsureRootClient(**store, random, clock,
                                                         [&](const api::RootClient& c) {
                                                           delivered = c;
                                                           return core::OkStatus();
                                                         });
  ASSERT_TRUE(made.ok());
  EXPECT_FALSE(made->client_secret.empty());
  EXPECT_EQ(delivered.client_id, made->client_id);
  EXPECT_EQ(delivered.client_secret, made->client_secret);
  record = (*store)->Get(core::Space::kCredentials, "!root-client");
  ASSERT_TRUE(record.ok() && record->has_value());
  EXPECT_EQ((*record)->find(made->client_secret), std::string::npos);  // only its hash
  // Later starts deliver nothing and keep the same client.
  bool called = false;
  auto later = projections::Credentials::EnsureRootClient(**store, random, clock,
                                                          [&](const api::RootClient&) {
                                                            called = true;
                                                            return core::OkStatus();
                                                          });
  ASSERT_TRUE(later.ok());
  EXPECT_FALSE(called);
  EXPECT_EQ(later->client_id, made->client_id);
  EXPECT_TRUE(later->client_secret.empty());
}

}  // namespace
}  // namespace custos::testing

namespace custos::testing {
namespace {

TEST(RateLimiterTest, AFloodOfNewKeysNeitherResetsALimitedKeyNorGrowsWithoutBound) {
  api::internal::RateLimiter limiter(0.001, 3, /*capacity=*/100);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Take("victim-of-guessing"), 0);
  EXPECT_GT(limiter.Take("victim-of-guessing"), 0);
  // Ten thousand addresses later, the limited key is still limited, and memory is bounded.
  for (int i = 0; i < 10'000; ++i) (void)limiter.Take("10.0." + std::to_string(i));
  EXPECT_GT(limiter.Take("victim-of-guessing"), 0);
  EXPECT_LE(limiter.size(), 100u);
  // Newcomers past the capacity share overflow buckets: limited, not free.
  int refused = 0;
  for (int i = 0; i < 10'000; ++i) refused += limiter.Take("spray-" + std::to_string(i)) > 0;
  EXPECT_GT(refused, 0);
}

TEST(RateLimiterTest, AnIpv6SourceIsItsSlash64) {
  EXPECT_EQ(api::internal::SourceKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  EXPECT_EQ(api::internal::SourceKey("2001:db8:1:2::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(api::internal::SourceKey("2001:db8::1:2:3:4:5"), "2001:db8:0:1::/64");
  EXPECT_EQ(api::internal::SourceKey("192.0.2.7"), "192.0.2.7");
}

// ../shared/spec/EVENTS.md: invitation.expired is part of the catalog, and the trail must say when
// an invitation expired or a timed lock ran out — not only the state. The system's expiry job
// records both once, as the system ("expiry"), and then the answers say so too.
TEST_F(ApiTest, ExpiriesAreRecordedByTheSystemOnce) {
  CreateTenant("acme");
  const std::string token = RootToken();
  const std::string t = "/v1/tenants/acme";
  HttpReply inv = client_->Json("POST", t + "/invitations", token,
                                "{\"email\":\"late@example.com\",\"expires_in_days\":1}");
  ASSERT_EQ(inv.status, 201) << inv.body;
  HttpReply user = client_->Json("POST", t + "/users", token,
                                 "{\"email\":\"ada@example.com\",\"first_name\":\"Ada\","
                                 "\"last_name\":\"L\"}");
  ASSERT_EQ(user.status, 201) << user.body;
  for (int i = 0; i < 5; ++i) {
    client_->Json("POST", t + "/auth/login", "",
                  "{\"email\":\"ada@example.com\",\"password\":\"not-the-password\"}");
  }
  const std::string user_path = t + "/users/" + J(user.body).S("id");
  ASSERT_EQ(J(client_->Json("GET", user_path, token).body).S("status"), "locked");
  projections::Expiry expiry(*identity_, clock_);
  core::Result<uint64_t> none = expiry.SweepAll();
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);  // nothing has run out yet
  clock_.Advance(std::chrono::hours(25));
  core::Result<uint64_t> swept = expiry.SweepAll();
  ASSERT_TRUE(swept.ok()) << swept.error().message;
  EXPECT_EQ(*swept, 2u);
  EXPECT_EQ(*expiry.SweepAll(), 0u);      // once
  const std::string later = RootToken();  // the first one has expired meanwhile
  HttpReply events = client_->Json("GET", t + "/audit/events?actor=expiry", later);
  ASSERT_EQ(events.status, 200) << events.body;
  J e(events.body);
  ASSERT_EQ(e.Size("items"), 2u) << events.body;
  std::set<std::string> types{e.S("items.0.type"), e.S("items.1.type")};
  EXPECT_EQ(types, (std::set<std::string>{"invitation.expired", "user.unlocked"}));
  EXPECT_EQ(e.S("items.0.actor.type"), "system");
  EXPECT_EQ(
      J(client_->Json("GET", t + "/invitations/" + J(inv.body).S("id"), later).body).S("status"),
      "expired");
  EXPECT_EQ(J(client_->Json("GET", user_path, later).body).S("status"), "active");
}

}  // namespace
// After a restart each tenant's state is read on its first use: never on a connection's
// thread, but on the heavy pool (a full pool answers 503 and loads nothing), and a token is
// checked against the state once it is loaded.
TEST_F(ApiTest, AfterARestartATenantIsLoadedOnThePoolByItsFirstRequest) {
  fixed_issuer_ = "https://custos.test";
  Stop();
  Start();
  CreateTenant("acme");
  CreateTenant("globex");
  const auto [id, secret] = Client("acme", "ci", RoleId("acme", "Tenant Admin"));
  const std::string token = Token(id, secret);
  const auto [revoked_id, revoked_secret] = Client("acme", "old", RoleId("acme", "Viewer"));
  const std::string revoked = Token(revoked_id, revoked_secret);
  ASSERT_FALSE(token.empty());
  ASSERT_FALSE(revoked.empty());
  const std::string root = RootToken();
  ASSERT_EQ(client_
                ->Send("POST", "/oauth/revoke",
                       {{"Content-Type", "application/x-www-form-urlencoded"},
                        {"Authorization", "Bearer " + root}},
                       "token=" + revoked)
                .status,
            200);
  const api::ApiOptions options = api_options_;

  // No room on the heavy pool: 503, and the tenant stays unloaded.
  Stop();
  warming_ = projections::IdentityService::Warming::kOnFirstUse;
  api_options_.heavy_queue = 0;
  Start();
  EXPECT_EQ(identity_->UnloadedTenants(), 2u);
  HttpReply busy = client_->Json("GET", "/v1/tenants/acme/users", token);
  EXPECT_EQ(busy.status, 503) << busy.body;
  EXPECT_FALSE(busy.Header("retry-after").empty());
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/globex", root).status, 503);
  EXPECT_EQ(client_->Json("POST", "/v1/tenants/acme/groups", token, "{\"name\":\"x\"}").status,
            503);
  EXPECT_EQ(identity_->UnloadedTenants(), 2u);
  // A tenant with nothing to load needs no pool.
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/nobody", root).status, 404);

  Stop();
  api_options_ = options;
  Start();
  EXPECT_EQ(identity_->UnloadedTenants(), 2u);
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/acme/users", revoked).status, 401);
  EXPECT_EQ(identity_->UnloadedTenants(), 1u);  // loaded to check the token
  HttpReply users = client_->Json("GET", "/v1/tenants/acme/users", token);
  EXPECT_EQ(users.status, 200) << users.body;
  EXPECT_EQ(client_->Json("GET", "/v1/tenants/globex", root).status, 200);
  EXPECT_EQ(identity_->UnloadedTenants(), 0u);
  HttpReply metrics = client_->Send("GET", "/metrics");
  EXPECT_NE(metrics.body.find("custos_state_tenants_unloaded 0\n"), std::string::npos);
  EXPECT_NE(metrics.body.find("custos_state_tenants_failed 0\n"), std::string::npos);
}

}  // namespace custos::testing
