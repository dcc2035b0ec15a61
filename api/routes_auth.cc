// Authentication: OAuth 2.0 client credentials (RFC 6749 §4.4), introspection (RFC 7662),
// revocation (RFC 7009); user login, /me, password change, logout.
#include <charconv>
#include <variant>

#include "api/internal/call.h"
#include "api/internal/views.h"
#include "api/json_body.h"
#include "core/base64.h"
#include "core/hex.h"
#include "core/iam/credentials.h"
#include "core/iam/mfa.h"
#include "core/iam/password.h"
#include "core/iam/sso.h"
#include "core/json_writer.h"
#include "core/sha256.h"

namespace custos::api::internal {
namespace {

namespace iam = core::iam;

HttpResponse OAuthError(int status, std::string_view error, std::string_view description) {
  core::JsonWriter w;
  w.BeginObject().Key("error").String(error).Key("error_description").String(description);
  w.EndObject();
  HttpResponse r = JsonResponse(status, w.Take());
  r.Header("Cache-Control", "no-store");
  if (status == 401) r.Header("WWW-Authenticate", "Basic realm=\"custos\"");
  return r;
}

// A form body (application/x-www-form-urlencoded); nullopt if malformed.
std::optional<std::vector<std::pair<std::string, std::string>>> FormBody(const HttpRequest& req) {
  std::optional<std::string_view> type = req.Header("content-type");
  if (!type || !type->starts_with("application/x-www-form-urlencoded")) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> form;
  if (!ParseQuery(req.body, form)) return std::nullopt;
  return form;
}

std::optional<std::string> FormField(const std::vector<std::pair<std::string, std::string>>& form,
                                     std::string_view name) {
  for (const auto& [k, v] : form) {
    if (k == name) return v;
  }
  return std::nullopt;
}

// Counts characters, not bytes, for the password policy.
size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

struct LoginBody {
  std::string email;
  std::string password;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("email", s.email);
    v("password", s.password);
  }
};

struct PasswordBody {
  std::string current_password;
  std::string new_password;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("current_password", s.current_password);
    v("new_password", s.new_password);
  }
};

// What a login needs from the state, copied out under the lock.
struct LoginView {
  std::optional<std::string> user_id;
  iam::UserStatus status = iam::UserStatus::kActive;
  bool must_change_password = false;
  std::optional<core::Time> temp_expires;
  int token_ttl = 900;
  int64_t session_epoch = 0;
  bool mfa = false;              // has a second factor: the login needs POST …/auth/mfa
  bool must_enroll_mfa = false;  // the tenant requires one it has not enrolled
  bool sso_required = false;     // the email's domain signs in with single sign-on only
};

// A hash to check against when the email is unknown, so that both cost the same.
const std::string& DummyHash(const iam::PasswordHasher& hasher) {
  static const std::string hash = hasher.Hash("not a password of anyone").value();
  return hash;
}

// Client credentials a request carries: HTTP Basic or the form's client_id/client_secret
// (RFC 6749 §2.3.1), one way only. nullopt when it sends none; an OAuth error answer when
// they are malformed or sent both ways.
struct ClientCredentials {
  std::string id;
  std::string secret;
};
using CredentialsOrAnswer = std::variant<std::monostate, ClientCredentials, HttpResponse>;

CredentialsOrAnswer ReadClientCredentials(
    const HttpRequest& req, const std::vector<std::pair<std::string, std::string>>& form) {
  std::optional<std::string> id = FormField(form, "client_id");
  std::optional<std::string> secret = FormField(form, "client_secret");
  if (std::optional<std::string_view> auth = req.Header("authorization");
      auth && auth->size() > 6 && (auth->starts_with("Basic ") || auth->starts_with("basic "))) {
    if (id || secret) {
      return OAuthError(400, "invalid_request", "use one way to send client credentials");
    }
    std::optional<std::string> decoded = core::Base64Decode(auth->substr(6));
    const size_t colon = decoded ? decoded->find(':') : std::string::npos;
    std::string user;
    std::string pass;
    if (colon == std::string::npos || !PercentDecode(decoded->substr(0, colon), true, user) ||
        !PercentDecode(decoded->substr(colon + 1), true, pass)) {
      return OAuthError(401, "invalid_client", "malformed Basic credentials");
    }
    return ClientCredentials{std::move(user), std::move(pass)};
  }
  if (!id && !secret) return std::monostate{};
  if (!id || !secret || id->empty() || secret->empty()) {
    return OAuthError(401, "invalid_client", "client credentials are required");
  }
  return ClientCredentials{std::move(*id), std::move(*secret)};
}

// The principal client credentials prove (the root client included), with the secret version
// that matched and the client's token lifetime and session epoch; kUnauthenticated otherwise.
struct VerifiedClient {
  Principal principal;
  std::string key_id;
  int ttl = 900;
};

// Checks a client's credentials. A known client that fails (a wrong secret, or inactive) is
// tallied for the audit trail (FailedLoginTally); an unknown client id has no tenant to
// record it in.
core::Result<VerifiedClient> VerifyClient(const CallPtr& call, const ClientCredentials& c) {
  Services& s = call->services();
  const core::Error refused{core::Errc::kUnauthenticated, "unknown client or bad secret", {}};
  const core::Time now = s.clock().Now();
  if (!s.credentials().root_client_id().empty() && c.id == s.credentials().root_client_id()) {
    if (!s.credentials().IsRootSecret(c.secret)) return refused;
    return VerifiedClient{Principal{Principal::Kind::kRoot, "", c.id, "", now, 0}, "", 0};
  }
  std::optional<core::TenantId> tenant = s.identity().TenantOfClient(c.id);
  if (!tenant) return refused;
  struct ClientView {
    bool active = false;
    int ttl = 900;
    int64_t epoch = 0;
  };
  core::Result<ClientView> view = s.identity().Read(*tenant, [&](const iam::TenantState& state) {
    const iam::ApiClient* client = state.FindClient(c.id);
    return ClientView{client != nullptr && client->status == iam::ActiveStatus::kActive,
                      state.tenant().settings.token_ttl_seconds,
                      client != nullptr ? client->session_epoch : 0};
  });
  auto failed = [&](std::string_view reason) {
    std::optional<std::string_view> ua = call->req.Header("user-agent");
    s.failed_logins.CountClient(tenant->value(), call->req.remote_ip, c.id, reason,
                                call->req.request_id,
                                std::string(ua ? ua->substr(0, 256) : std::string_view()), now);
    return refused;
  };
  if (!view.ok()) return refused;
  if (!view->active) return failed("inactive_client");
  // Every secret version of the client; any that matches (constant-time per candidate).
  CUSTOS_ASSIGN_OR_RETURN(
      const std::string key_id,
      s.credentials().MatchClientSecret(tenant->value(), c.id, core::Sha256Hex(c.secret)));
  if (key_id.empty()) return failed("bad_secret");
  return VerifiedClient{
      Principal{Principal::Kind::kApiClient, tenant->value(), c.id, "", now, view->epoch},
      std::move(key_id), view->ttl};
}

// The caller of introspection and revocation (RFC 7662 §2.1, RFC 7009 §2.1): a client by
// its credentials, or any principal by a bearer token. Answers and returns nullopt on failure.
std::optional<Principal> ProtectedCaller(
    const CallPtr& call, const std::vector<std::pair<std::string, std::string>>& form) {
  CredentialsOrAnswer creds = ReadClientCredentials(call->req, form);
  if (HttpResponse* answer = std::get_if<HttpResponse>(&creds)) {
    call->Reply(std::move(*answer));
    return std::nullopt;
  }
  if (const ClientCredentials* c = std::get_if<ClientCredentials>(&creds)) {
    if (!TakeSourceToken(call)) return std::nullopt;
    core::Result<VerifiedClient> v = VerifyClient(call, *c);
    if (!v.ok()) {
      call->Reply(OAuthError(401, "invalid_client", v.error().message));
      return std::nullopt;
    }
    // A resource server introspecting from here: its next calls wait in the login pool's front.
    call->services().known_sources.Mark(SourceKey(call->req.remote_ip));
    return v->principal;
  }
  core::Result<Principal> p = AuthenticateBearer(call->services(), call->req);
  if (!p.ok()) {
    call->Reply(NotAuthenticated(p.error()));
    return std::nullopt;
  }
  return std::move(p).value();
}

void IntrospectRoute(const CallPtr& call) {
  Services& s = call->services();
  auto form = FormBody(call->req);
  if (!form) return call->Reply(OAuthError(400, "invalid_request", "a form body is required"));
  std::optional<Principal> caller = ProtectedCaller(call, *form);
  if (!caller) return;
  call->principal = std::move(caller);
  std::optional<std::string> token = FormField(*form, "token");
  if (!token) return call->Reply(OAuthError(400, "invalid_request", "token is required"));
  const core::Time now = s.clock().Now();
  core::Result<TokenClaims> claims = s.deps.tokens.Verify(*token, now, TokenSigner::Audience::kAny);
  const HttpResponse inactive = JsonResponse(200, "{\"active\":false}");
  if (!claims.ok()) return call->Reply(inactive);
  if (!call->IsRoot() && claims->tenant != call->principal->tenant) return call->Reply(inactive);
  bool active = true;
  if (claims->typ == "root") {
    active = !s.credentials().RootRevoked(claims->jti, now);
  } else {
    const iam::Subject subject{
        claims->typ == "user" ? iam::SubjectType::kUser : iam::SubjectType::kApiClient,
        claims->sub};
    // A caller learns about its own tokens and those of principals it outranks (as it may
    // revoke them); of anyone else's it learns nothing.
    const std::optional<iam::Subject> asker = call->principal->Subject();
    core::Result<bool> live =
        s.identity().Read(core::TenantId(claims->tenant), [&](const iam::TenantState& state) {
          if (asker && *asker != subject && !iam::Authority(state, now, asker).Outranks(subject)) {
            return false;
          }
          return iam::CheckTokenLive(state, subject, claims->jti, claims->session_epoch, now).ok();
        });
    active = live.ok() && *live;
  }
  if (!active) return call->Reply(inactive);
  core::JsonWriter w;
  w.BeginObject().Key("active").Bool(true).Key("iss").String(claims->iss);
  w.Key("sub").String(claims->sub).Key("aud");
  if (claims->aud.size() == 1) {
    w.String(claims->aud.front());
  } else {
    w.BeginArray();
    for (const std::string& a : claims->aud) w.String(a);
    w.EndArray();
  }
  w.Key("client_id").String(claims->client_id);
  if (!claims->tenant.empty()) w.Key("tenant").String(claims->tenant);
  w.Key("token_type").String("Bearer").Key("typ").String(claims->typ);
  w.Key("iat").Int(core::ToUnixMillis(claims->iat) / 1000);
  w.Key("exp").Int(core::ToUnixMillis(claims->exp) / 1000);
  w.Key("jti").String(claims->jti).EndObject();
  call->Json(200, w.Take());
}

// RFC 7009: a token of the caller itself, or of a principal it outranks (../shared/spec/ACCESS.md
// rule 8, decided in core); anything else — invalid, foreign, not the caller's to end — is answered
// 200 with no effect, so that revocation tells nothing about other tokens.
void RevokeRoute(const CallPtr& call) {
  Services& s = call->services();
  auto form = FormBody(call->req);
  if (!form) return call->Reply(OAuthError(400, "invalid_request", "a form body is required"));
  std::optional<Principal> caller = ProtectedCaller(call, *form);
  if (!caller) return;
  call->principal = std::move(caller);
  std::optional<std::string> token = FormField(*form, "token");
  if (!token) return call->Reply(OAuthError(400, "invalid_request", "token is required"));
  core::Result<TokenClaims> claims =
      s.deps.tokens.Verify(*token, s.clock().Now(), TokenSigner::Audience::kAny);
  if (!claims.ok() || (!call->IsRoot() && claims->tenant != call->principal->tenant)) {
    return call->Json(200, "{}");
  }
  if (claims->typ == "root") {
    if (!call->IsRoot()) return call->Json(200, "{}");
    core::Result<core::AppendedEvent> w = s.credentials().RevokeRoot(
        s.deps.log,
        {claims->jti, claims->exp, false, call->Actor(), call->req.request_id, call->trace_id});
    if (!w.ok()) return call->Fail(w.error());
    call->Wrote(w->seq.value());
    return call->Json(200, "{}");
  }
  const iam::Subject subject{
      claims->typ == "user" ? iam::SubjectType::kUser : iam::SubjectType::kApiClient, claims->sub};
  projections::ExecuteRequest er;
  er.tenant = core::TenantId(claims->tenant);
  er.command = iam::RevokeToken{subject, claims->jti, claims->exp, false};
  er.actor = call->Actor();
  er.caller = call->principal->Subject();
  er.request_id = call->req.request_id;
  er.trace_id = call->trace_id;
  s.identity().ExecuteAsync(std::move(er), [call](core::Result<projections::ExecuteResult> r) {
    OnCallStrand(
        call, [call, r = std::make_shared<core::Result<projections::ExecuteResult>>(std::move(r))] {
          if (!r->ok() && r->error().code != core::Errc::kPermissionDenied &&
              r->error().code != core::Errc::kNotFound) {
            return call->Fail(r->error());
          }
          if (r->ok()) call->Wrote((*r)->events);
          call->Json(200, "{}");
        });
  });
}

void IssueClientTokenRoute(const CallPtr& call) {
  Services& s = call->services();
  auto form = FormBody(call->req);
  if (!form) {
    return call->Reply(
        OAuthError(400, "invalid_request", "the body must be application/x-www-form-urlencoded"));
  }
  if (FormField(*form, "grant_type") != "client_credentials") {
    return call->Reply(
        OAuthError(400, "unsupported_grant_type", "only client_credentials is supported"));
  }
  // RFC 8707/9068: the audience the token is for, one the server issues tokens for.
  const std::optional<std::string> audience = FormField(*form, "audience");
  if (audience && !s.deps.tokens.KnownAudience(*audience)) {
    return call->Reply(
        OAuthError(400, "invalid_target", "this server issues no tokens for that audience"));
  }
  CredentialsOrAnswer creds = ReadClientCredentials(call->req, *form);
  if (HttpResponse* answer = std::get_if<HttpResponse>(&creds)) {
    return call->Reply(std::move(*answer));
  }
  const ClientCredentials* c = std::get_if<ClientCredentials>(&creds);
  if (c == nullptr) {
    return call->Reply(OAuthError(401, "invalid_client", "client credentials are required"));
  }
  core::Result<VerifiedClient> v = VerifyClient(call, *c);
  if (!v.ok()) {
    if (v.error().code != core::Errc::kUnauthenticated) return call->Fail(v.error());
    return call->Reply(OAuthError(401, "invalid_client", "unknown client or bad secret"));
  }
  s.known_sources.Mark(SourceKey(call->req.remote_ip));
  const core::Time now = s.clock().Now();
  if (v->principal.kind == Principal::Kind::kRoot) {
    TokenClaims claims{"",
                       c->id,
                       "",
                       "root",
                       NewJti(s.deps.random),
                       "",
                       false,
                       now,
                       now + s.options.root_token_ttl,
                       0,
                       audience ? std::vector<std::string>{*audience} : std::vector<std::string>{}};
    return call->Reply(
        TokenResponse(s.deps.tokens.Sign(claims), s.options.root_token_ttl.count(), std::nullopt));
  }
  call->principal = v->principal;
  TokenClaims claims{"",
                     c->id,
                     v->principal.tenant,
                     "api_client",
                     NewJti(s.deps.random),
                     v->key_id,
                     false,
                     now,
                     now + std::chrono::seconds(v->ttl),
                     v->principal.session_epoch,
                     audience ? std::vector<std::string>{*audience} : std::vector<std::string>{}};
  const std::string token = s.deps.tokens.Sign(claims);
  const int64_t ttl = v->ttl;
  ExecuteFor(call, core::TenantId(v->principal.tenant),
             iam::RecordTokenIssued{c->id, v->key_id, claims.jti, claims.exp},
             [token, ttl](const iam::TenantState&, const projections::ExecuteResult&) {
               return TokenResponse(token, ttl, std::nullopt);
             });
}

// A user login (on the login pool). Limited per source address and per (tenant, email)
// (429); the same work whatever the email or tenant — one argon2id verification — and an
// unknown tenant answers like a wrong password; failures for unknown emails are tallied into
// one event per (tenant, source address) and minute (FailedLoginTally).
void LoginRoute(const CallPtr& call) {
  Services& s = call->services();
  LoginBody body;
  if (core::Status st = ReadBody(call->req.body, body); !st.ok()) return call->Fail(st.error());
  // What an unauthenticated caller sends is capped before it is used or recorded.
  if (body.email.size() > 254)
    return call->Fail(core::InvalidField("email", "is longer than 254 bytes"));
  if (body.password.size() > 1024) {
    return call->Fail(core::InvalidField("password", "is longer than 1024 bytes"));
  }
  const std::string tenant = call->Param("tenant");
  if (const int wait = s.login_limiter.Take(tenant + '\0' + iam::Lower(body.email)); wait != 0) {
    HttpResponse r = Problem(429, "too many attempts for this account; retry later");
    r.Header("Retry-After", std::to_string(wait));
    return call->Reply(std::move(r));
  }
  const core::Time now = s.clock().Now();
  core::Result<LoginView> view = s.identity().Read(call->Tenant(), [&](const iam::TenantState& st) {
    LoginView v;
    v.token_ttl = st.tenant().settings.token_ttl_seconds;
    v.sso_required = iam::SsoRequiredFor(st, body.email, now);
    if (const iam::User* u = st.FindUserByEmail(body.email)) {
      v.user_id = u->id;
      v.status = iam::EffectiveStatus(*u, now);
      v.must_change_password = u->must_change_password;
      v.temp_expires = u->temp_password_expires_at;
      v.session_epoch = u->session_epoch;
      v.mfa = u->mfa.has_value();
      v.must_enroll_mfa = iam::MustEnrollMfa(st, *u, now);
    }
    return v;
  });
  const bool tenant_known = view.ok();
  if (!tenant_known && view.error().code != core::Errc::kNotFound) return call->Fail(view.error());
  std::optional<iam::PasswordCredential> credential;
  if (tenant_known && view->user_id) {
    core::Result<std::optional<iam::PasswordCredential>> stored =
        s.credentials().Password(tenant, *view->user_id);
    if (!stored.ok()) return call->Fail(stored.error());
    credential = std::move(*stored);
  }
  const bool matched =
      iam::CheckLoginPassword(credential, body.password, s.deps.hasher, DummyHash(s.deps.hasher));
  // A domain the tenant signs in through its identity provider: even the right password does
  // not sign in. Said only after the password matched, so that the answer's kind and time tell
  // nothing of which addresses exist or which accounts the rule spares.
  if (matched && tenant_known && view->user_id && view->sso_required) {
    return call->Reply(
        Problem(403,
                "this email's domain signs in with single sign-on (…/sso/oidc/start), not a "
                "password"));
  }
  const HttpResponse refused =
      Unauthorized("the email or password is wrong, or the account is not active");
  const bool failed =
      !tenant_known || !view->user_id || !matched || view->status != iam::UserStatus::kActive;
  if (failed) {
    (void)s.failing_sources.Take(SourceKey(call->req.remote_ip));  // the back lane
  } else {
    s.known_sources.Mark(SourceKey(call->req.remote_ip));  // the front lane
  }
  if (!tenant_known) return call->Reply(refused);
  if (!view->user_id) {
    s.failed_logins.Count(tenant, call->req.remote_ip, body.email, call->req.request_id,
                          call->Actor().user_agent, now);
    return call->Reply(refused);
  }
  std::string reason;
  if (!matched) {
    reason = "bad_password";
  } else if (view->status != iam::UserStatus::kActive) {
    reason = "user_" + std::string(iam::ToString(view->status));
  } else if (credential->kind == iam::kTemporaryPassword && view->temp_expires &&
             *view->temp_expires <= now) {
    reason = "temporary_password_expired";
  }
  call->principal = Principal{Principal::Kind::kUser, tenant, *view->user_id, "", now};
  iam::RecordLogin record{view->user_id, body.email, reason.empty(), reason};
  if (!reason.empty()) {
    return Execute(
        call, record, [reason](const iam::TenantState&, const projections::ExecuteResult&) {
          return Unauthorized(reason == "temporary_password_expired"
                                  ? "the temporary password has expired; ask for a reset"
                                  : "the email or password is wrong, or the account is not active");
        });
  }
  // A second factor: the password was right, the login is not complete yet (the events of
  // POST …/auth/mfa record how it ends).
  if (view->mfa) {
    return call->Reply(MfaChallenge(s, tenant, *view->user_id, view->session_epoch, now));
  }
  const std::string token = SignUserToken(s, tenant, *view->user_id, view->must_change_password,
                                          view->token_ttl, view->session_epoch, now);
  const int64_t ttl = view->token_ttl;
  const bool must_change = view->must_change_password;
  const bool must_enroll = view->must_enroll_mfa;
  Execute(call, record,
          [token, ttl, must_change, must_enroll](const iam::TenantState&,
                                                 const projections::ExecuteResult&) {
            return TokenResponse(token, ttl, must_change, must_enroll);
          });
}

void MeRoute(const CallPtr& call) {
  if (call->IsRoot()) {
    return call->Json(
        200, Object([&](core::JsonWriter& w) {
          w.BeginObject().Key("type").String("root").Key("id").String(call->principal->id);
          w.EndObject();
        }));
  }
  ReadTenant(call, [&](const iam::TenantState& state) -> core::Result<HttpResponse> {
    const iam::Subject subject = *call->principal->Subject();
    const iam::AccessEvaluator evaluator(state, call->services().clock().Now());
    core::JsonWriter w;
    w.BeginObject().Key("type").String(iam::ToString(subject.type));
    w.Key("principal");
    if (subject.type == iam::SubjectType::kUser) {
      const iam::User* u = state.FindUser(subject.id);
      if (u == nullptr) return core::NotFound("no user " + subject.id);
      WriteUser(w, state, *u, true);
    } else {
      const iam::ApiClient* c = state.FindClient(subject.id);
      if (c == nullptr) return core::NotFound("no API client " + subject.id);
      WriteClient(w, state, *c);
    }
    w.Key("grants").BeginArray();
    for (const iam::GrantDetail& g : evaluator.EffectiveGrants(subject)) {
      WriteGrant(w, state, g);
    }
    w.EndArray().EndObject();
    return JsonResponse(200, w.Take());
  });
}

void ChangeOwnPasswordRoute(const CallPtr& call) {
  Services& s = call->services();
  if (call->principal->kind != Principal::Kind::kUser) {
    return call->Fail(core::Error{core::Errc::kPermissionDenied, "only users have passwords", {}});
  }
  PasswordBody body;
  if (core::Status st = ReadBody(call->req.body, body); !st.ok()) return call->Fail(st.error());
  core::Result<std::optional<iam::PasswordCredential>> stored =
      s.credentials().Password(call->Param("tenant"), call->principal->id);
  if (!stored.ok()) return call->Fail(stored.error());
  if (!*stored) {
    return call->Fail(core::Conflict(
        "this user has no password: it signs in with single sign-on (or an admin resets one)"));
  }
  const iam::PasswordCredential& credential = **stored;
  if (body.new_password.size() > 1024) {
    return call->Fail(core::InvalidField("new_password", "is longer than 1024 bytes"));
  }
  // On the login pool: argon2id twice (the check, then the new hash).
  if (!iam::CheckPassword(credential, body.current_password, s.deps.hasher)) {
    return call->Fail(core::InvalidField("current_password", "is not the current password"));
  }
  if (body.new_password == body.current_password) {
    return call->Fail(core::InvalidField("new_password", "must differ from the current one"));
  }
  core::Result<std::string> hash = s.deps.hasher.Hash(body.new_password);
  if (!hash.ok()) return call->Fail(hash.error());
  Execute(call, iam::ChangePassword{call->principal->id, *hash, CodePoints(body.new_password)},
          [call](const iam::TenantState& state, const projections::ExecuteResult&) {
            const iam::User* u = state.FindUser(call->principal->id);
            return JsonResponse(200,
                                Object([&](core::JsonWriter& w) { WriteUser(w, state, *u, true); }),
                                u->version);
          });
}

void LogoutRoute(const CallPtr& call) {
  Services& s = call->services();
  if (call->IsRoot()) {
    core::Result<core::AppendedEvent> w = s.credentials().RevokeRoot(
        s.deps.log, {call->principal->jti, call->principal->exp, true, call->Actor(),
                     call->req.request_id, call->trace_id});
    if (!w.ok()) return call->Fail(w.error());
    call->Wrote(w->seq.value());
    return call->Json(200, "{\"revoked\":true}");
  }
  Execute(call,
          iam::RevokeToken{*call->principal->Subject(), call->principal->jti, call->principal->exp,
                           true},
          [](const iam::TenantState&, const projections::ExecuteResult&) {
            return JsonResponse(200, "{\"revoked\":true}");
          });
}

}  // namespace

std::string NewJti(core::Random& random) {
  unsigned char raw[16];
  random.Fill(raw, sizeof raw);
  std::string jti;
  core::AppendHex(jti, raw, sizeof raw);
  return jti;
}

HttpResponse TokenResponse(const std::string& token, int64_t expires_in,
                           std::optional<bool> must_change, bool must_enroll_mfa) {
  core::JsonWriter w;
  w.BeginObject().Key("access_token").String(token).Key("token_type").String("Bearer");
  w.Key("expires_in").Int(expires_in);
  if (must_change) w.Key("must_change_password").Bool(*must_change);
  if (must_enroll_mfa) w.Key("mfa_enrollment_required").Bool(true);
  w.EndObject();
  return NoStore(JsonResponse(200, w.Take()));
}

HttpResponse NoStore(HttpResponse r) {
  r.Header("Cache-Control", "no-store").Header("Pragma", "no-cache");
  return r;
}

std::string SignUserToken(Services& s, const std::string& tenant, const std::string& user_id,
                          bool must_change_password, int ttl_seconds, int64_t session_epoch,
                          core::Time now) {
  TokenClaims c{"",
                user_id,
                tenant,
                "user",
                NewJti(s.deps.random),
                "",
                must_change_password,
                now,
                now + std::chrono::seconds(ttl_seconds),
                session_epoch};
  return s.deps.tokens.Sign(c);
}

void AddAuthRoutes(RouteTable& t, Services&) {
  t.Add(RouteSpec{"POST", "/oauth/token", Access::kPublic, "", "", Work::kLogin, false, true}.Media(
            ""),
        IssueClientTokenRoute);
  // The OAuth endpoints read form bodies and answer anything else with RFC 6749's
  // invalid_request themselves (Media("")).
  // Authenticated in the handler: by a bearer token or as a client (Basic or form fields).
  t.Add(RouteSpec{"POST", "/oauth/introspect", Access::kPublic, "", "", Work::kLogin}.Media(""),
        IntrospectRoute);
  t.Add(RouteSpec{"POST", "/oauth/revoke", Access::kPublic, "", "", Work::kLogin}.Media(""),
        RevokeRoute);
  t.Add({"POST", "/v1/tenants/{tenant}/auth/login", Access::kPublic, "", "", Work::kLogin, false,
         true},
        LoginRoute);
  t.Add({"GET", "/v1/tenants/{tenant}/me", Access::kAuthenticated, "", ""}, MeRoute);
  t.Add(
      {"POST", "/v1/tenants/{tenant}/auth/password", Access::kAuthenticated, "", "", Work::kLogin},
      ChangeOwnPasswordRoute);
  t.Add({"POST", "/v1/tenants/{tenant}/auth/logout", Access::kAuthenticated, "", "", Work::kLogin},
        LogoutRoute);
}

}  // namespace custos::api::internal
