// Single sign-on with OpenID Connect (authorization code with PKCE; docs/sso.md).
//
//   PUT/GET/DELETE …/sso/oidc   the tenant's identity provider (admin / read on iam.settings);
//                               the client secret is sealed (core/sealed.h) and never shown.
//   GET …/sso/providers         public: what a sign-in page offers (the console's button).
//   GET …/sso/oidc/start        public: 302 to the provider with state, nonce and the PKCE
//                               challenge; the state is a single-use record here, bound to the
//                               browser by a cookie (login CSRF).
//   GET …/sso/oidc/callback     public: exchanges the code, verifies the ID token, links or
//                               provisions the user (core/iam decides, with the group mapping),
//                               and redirects to the allow-listed redirect_uri with the access
//                               token — or, for a user with a second factor, an MFA token — in
//                               the fragment, or the error.
//
// Every refusal after the provider is known is an auth.sso_login_failed event with its reason.
// The outbound calls (discovery, keys, the token endpoint) run on the outbound pool, apart from
// logins and tokens, at most two callbacks or starts per tenant at a time, each call bounded in
// time and size by the node's outbound HTTP.
#include "api/internal/call.h"
#include "api/internal/views.h"
#include "api/json_body.h"
#include "api/oidc.h"
#include "core/base64.h"
#include "core/hex.h"
#include "core/iam/credentials.h"
#include "core/iam/mfa.h"
#include "core/iam/sso.h"
#include "core/log.h"
#include "core/random.h"
#include "core/sealed.h"
#include "core/sha256.h"

namespace custos::api::internal {

namespace iam = core::iam;

namespace {

constexpr auto kStateTtl = std::chrono::minutes(10);
constexpr std::string_view kCookiePrefix = "custos_sso_";

struct OidcBody {
  std::string issuer;
  std::string client_id;
  std::optional<std::string> client_secret;
  std::vector<std::string> allowed_domains;
  std::optional<std::vector<std::string>> required_domains;
  std::optional<std::string> group_claim;
  std::optional<std::map<std::string, std::string>> group_mapping;
  std::vector<std::string> redirect_uris;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("issuer", s.issuer);
    v("client_id", s.client_id);
    v("client_secret", s.client_secret);
    v("allowed_domains", s.allowed_domains);
    v("required_domains", s.required_domains);
    v("group_claim", s.group_claim);
    v("group_mapping", s.group_mapping);
    v("redirect_uris", s.redirect_uris);
  }
};

// What the sealed client secret is bound to: it opens for this tenant's provider and client
// alone (a secret kept across a change of issuer would go to the new one).
std::string SecretBinding(std::string_view tenant, std::string_view issuer,
                          std::string_view client_id) {
  std::string b(tenant);
  b += '\0';
  b += "sso-oidc-client-secret";
  b += '\0';
  b += issuer;
  b += '\0';
  b += client_id;
  return b;
}

// Where the provider sends the browser back: this node's own callback of the tenant.
std::string CallbackUrl(Services& s, std::string_view tenant) {
  return s.deps.tokens.issuer() + "/v1/tenants/" + core::PercentEncode(tenant) +
         "/sso/oidc/callback";
}

// The callback's path (with any path --issuer has: a node behind a prefix), the cookie's Path.
std::string CallbackPath(Services& s, std::string_view tenant) {
  const std::string url = CallbackUrl(s, tenant);
  const size_t scheme = url.find("://");
  const size_t path = scheme == std::string::npos ? 0 : url.find('/', scheme + 3);
  return path == std::string::npos ? "/" : url.substr(path);
}

void WriteOidc(core::JsonWriter& w, Services& s, std::string_view tenant,
               const iam::OidcConfig& c) {
  w.BeginObject().Key("protocol").String("oidc");
  w.Key("issuer").String(c.issuer).Key("client_id").String(c.client_id);
  w.Key("client_secret_set").Bool(true);
  w.Key("allowed_domains");
  core::WriteValue(w, c.allowed_domains);
  w.Key("required_domains");
  core::WriteValue(w, c.required_domains);
  w.Key("group_claim").String(c.group_claim);
  w.Key("group_mapping");
  core::WriteValue(w, c.group_mapping);
  w.Key("redirect_uris");
  core::WriteValue(w, c.redirect_uris);
  w.Key("callback_url").String(CallbackUrl(s, tenant));
  w.Key("configured_at").String(core::FormatTime(c.configured_at));
  w.Key("configured_by");
  if (c.configured_by) {
    w.BeginObject().Key("type").String(iam::ToString(c.configured_by->type));
    w.Key("id").String(c.configured_by->id).EndObject();
  } else {
    w.BeginObject().Key("type").String("root").EndObject();
  }
  w.EndObject();
}

HttpResponse OidcView(Services& s, const iam::TenantState& state) {
  return JsonResponse(200, Object([&](core::JsonWriter& w) {
                        WriteOidc(w, s, state.tenant_id(), *state.tenant().oidc);
                      }),
                      state.tenant().version);
}

void PutOidcRoute(const CallPtr& call) {
  Services& s = call->services();
  OidcBody body;
  if (core::Status st = ReadBody(call->req.body, body); !st.ok()) return call->Fail(st.error());
  iam::ConfigureOidc c;
  c.issuer = body.issuer;
  c.client_id = body.client_id;
  c.allowed_domains = body.allowed_domains;
  c.required_domains = body.required_domains.value_or(std::vector<std::string>{});
  c.group_claim = body.group_claim.value_or("");
  c.group_mapping = body.group_mapping.value_or(std::map<std::string, std::string>{});
  c.redirect_uris = body.redirect_uris;
  if (body.client_secret) {
    if (body.client_secret->empty() || body.client_secret->size() > 1024) {
      return call->Fail(core::InvalidField("client_secret", "must be 1 to 1024 bytes"));
    }
    if (s.deps.mfa_key.empty()) {
      return call->Fail(core::Unavailable("this node has no key to seal secrets with"));
    }
    core::Result<std::string> sealed = core::Seal(
        s.deps.mfa_key, *body.client_secret,
        SecretBinding(call->Param("tenant"), body.issuer, body.client_id), s.deps.random);
    if (!sealed.ok()) return call->Fail(sealed.error());
    c.sealed_client_secret = std::move(*sealed);
  }
  const std::string issuer = c.issuer;
  Execute(call, std::move(c),
          [call, issuer](const iam::TenantState& state, const projections::ExecuteResult&) {
            // Discovery and keys are fetched again for the new configuration.
            call->services().oidc.Forget(issuer);
            return OidcView(call->services(), state);
          });
}

void GetOidcRoute(const CallPtr& call) {
  ReadTenant(call, [call](const iam::TenantState& state) -> core::Result<HttpResponse> {
    if (!state.tenant().oidc) return core::NotFound("single sign-on is not configured");
    return OidcView(call->services(), state);
  });
}

void DeleteOidcRoute(const CallPtr& call) {
  Execute(call, iam::RemoveOidc{},
          [](const iam::TenantState&, const projections::ExecuteResult&) { return NoContent(); });
}

// The tenant's identity provider as configured now; nullopt for none (or no such tenant).
std::optional<iam::OidcConfig> TenantOidc(const CallPtr& call) {
  core::Result<std::optional<iam::OidcConfig>> config = call->services().identity().Read(
      call->Tenant(), [](const iam::TenantState& state) { return state.tenant().oidc; });
  return config.ok() ? std::move(*config) : std::nullopt;
}

// Whether a login may end at `uri`: exactly one of the provider's redirect URIs.
bool AllowsRedirect(const std::optional<iam::OidcConfig>& oidc, const std::string& uri) {
  return oidc && std::find(oidc->redirect_uris.begin(), oidc->redirect_uris.end(), uri) !=
                     oidc->redirect_uris.end();
}

// Public: the sign-in choices of a tenant. An unknown tenant has none (as a login with an
// unknown tenant answers like a wrong password, this tells nothing of which tenants exist).
void ProvidersRoute(const CallPtr& call) {
  const std::optional<iam::OidcConfig> oidc = TenantOidc(call);
  core::JsonWriter w;
  w.BeginObject().Key("providers").BeginArray();
  if (oidc) {
    w.BeginObject().Key("protocol").String("oidc").Key("issuer").String(oidc->issuer);
    w.Key("start_url")
        .String("/v1/tenants/" + core::PercentEncode(call->Param("tenant")) + "/sso/oidc/start");
    w.EndObject();
  }
  w.EndArray().EndObject();
  call->Json(200, w.Take());
}

// A pending login, as kept under its state's hash.
struct PendingLogin {
  std::string tenant;
  std::string issuer;
  std::string client_id;
  std::string nonce;
  std::string verifier;
  std::string redirect_uri;
  std::string binding;  // SHA-256 hex of the browser's cookie
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("tenant", s.tenant);
    v("issuer", s.issuer);
    v("client_id", s.client_id);
    v("nonce", s.nonce);
    v("verifier", s.verifier);
    v("redirect_uri", s.redirect_uri);
    v("binding", s.binding);
  }
};

// A refused login, recorded (auth.sso_login_failed), then answered by `answer`. Refusals that
// anyone can cause without the provider (`tallied`: a made-up state, an unlisted redirect, a
// callback without its browser's cookie) are recorded once per (address, reason) and minute,
// the rest of the minute's in one tallied event; they count as the source's failures.
void RecordRefusal(const CallPtr& call, std::string issuer, std::string reason, HttpResponse answer,
                   bool tallied = false) {
  Services& s = call->services();
  (void)s.failing_sources.Take(SourceKey(call->req.remote_ip));  // the back lane
  if (tallied &&
      !s.failed_logins.CountSso(call->Param("tenant"), call->req.remote_ip, issuer, reason,
                                call->req.request_id, call->Actor().user_agent, s.clock().Now())) {
    return call->Reply(std::move(answer));
  }
  iam::RecordSsoLogin record;
  record.succeeded = false;
  record.reason = std::move(reason);
  record.issuer = std::move(issuer);
  auto shared = std::make_shared<HttpResponse>(std::move(answer));
  Execute(call, std::move(record),
          [shared](const iam::TenantState&, const projections::ExecuteResult&) { return *shared; });
}

// The end of a login at the application: the redirect URI with `fragment` (never the query,
// so that the token reaches no server log or Referer).
// A 302 to `location` that no cache keeps and that sends no Referer on.
HttpResponse Found(std::string location) {
  HttpResponse r;
  r.status = 302;
  r.content_type = "";
  r.Header("Location", std::move(location));
  r.Header("Referrer-Policy", "no-referrer");
  return NoStore(std::move(r));
}

HttpResponse RedirectWith(const std::string& redirect_uri, const std::string& fragment) {
  return Found(redirect_uri + "#" + fragment);
}

HttpResponse RedirectError(const std::string& redirect_uri, std::string_view error,
                           std::string_view description) {
  return RedirectWith(redirect_uri, "error=" + core::PercentEncode(error) +
                                        "&error_description=" + core::PercentEncode(description));
}

// Holds one of the tenant's few outbound slots while `held` lives (the handler's run, which
// makes every outbound call); false (answered 503) when they are all in use.
bool TakeOutboundSlot(const CallPtr& call, std::shared_ptr<void>& held) {
  Services& s = call->services();
  const std::string tenant = call->Param("tenant");
  if (!s.sso_in_flight.TryEnter(tenant, Services::kSsoPerTenant)) {
    HttpResponse r = Problem(503,
                             "too many single sign-on logins in progress for this tenant; "
                             "retry in a moment");
    r.Header("Retry-After", "1");
    call->Reply(std::move(r));
    return false;
  }
  held = std::shared_ptr<void>(nullptr, [&s, tenant](void*) { s.sso_in_flight.Leave(tenant); });
  return true;
}

void StartRoute(const CallPtr& call) {
  Services& s = call->services();
  const std::string tenant = call->Param("tenant");
  const std::string redirect_uri(call->req.Query("redirect_uri").value_or(""));
  if (redirect_uri.empty()) {
    return call->Fail(core::InvalidField("redirect_uri", "is required"));
  }
  if (redirect_uri.size() > 2048) {
    return call->Fail(core::InvalidField("redirect_uri", "is longer than 2048 bytes"));
  }
  const std::string login_hint(call->req.Query("login_hint").value_or(""));
  if (login_hint.size() > 254) {
    return call->Fail(core::InvalidField("login_hint", "is longer than 254 bytes"));
  }
  const std::optional<iam::OidcConfig> config = TenantOidc(call);
  if (!config) {
    return call->Fail(core::NotFound("single sign-on is not configured for this tenant"));
  }
  const iam::OidcConfig& oidc = *config;
  const core::Time now = s.clock().Now();
  std::shared_ptr<void> slot;
  if (!TakeOutboundSlot(call, slot)) return;
  if (!AllowsRedirect(config, redirect_uri)) {
    // Never a redirect to an address not on the list: the answer is an error here.
    return RecordRefusal(
        call, oidc.issuer, "redirect_uri_not_allowed",
        Problem(core::InvalidField("redirect_uri", "is not one of the tenant's redirect URIs")),
        true);
  }
  core::Result<std::shared_ptr<const OidcProvider>> provider = s.oidc.Provider(oidc.issuer, now);
  if (!provider.ok()) {
    core::log::Warn("single sign-on: the identity provider is unavailable",
                    {{"tenant", tenant}, {"reason", provider.error().message}});
    return call->Reply(Problem(503, "the identity provider is unavailable; retry later"));
  }
  const std::string state = core::RandomToken(s.deps.random, 32);
  const std::string cookie = core::RandomToken(s.deps.random, 32);
  PendingLogin pending{tenant,
                       oidc.issuer,
                       oidc.client_id,
                       core::RandomToken(s.deps.random, 32),
                       core::RandomToken(s.deps.random, 32),
                       redirect_uri,
                       core::Sha256Hex(cookie)};
  const std::string state_hash = core::Sha256Hex(state);
  s.sso_states.Put(state_hash, core::ToJson(pending), now, now + kStateTtl,
                   SourceKey(call->req.remote_ip));
  const core::Sha256Digest digest = core::Sha256Of(pending.verifier);
  const std::string challenge = core::Base64UrlEncode(
      std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
  const std::string& endpoint = (*provider)->authorization_endpoint;
  std::string location = endpoint + (endpoint.find('?') == std::string::npos ? "?" : "&");
  location += "response_type=code&scope=openid%20email%20profile";
  location += "&client_id=" + core::PercentEncode(oidc.client_id);
  location += "&redirect_uri=" + core::PercentEncode(CallbackUrl(s, tenant));
  location += "&state=" + state + "&nonce=" + pending.nonce;
  location += "&code_challenge=" + challenge + "&code_challenge_method=S256";
  if (!login_hint.empty()) location += "&login_hint=" + core::PercentEncode(login_hint);
  HttpResponse r = Found(std::move(location));
  // The browser that started the login is the one that may finish it: a callback URL carried
  // to another browser (login CSRF) lacks the cookie.
  std::string set_cookie = std::string(kCookiePrefix) + state_hash.substr(0, 16) + "=" + cookie +
                           "; Path=" + CallbackPath(s, tenant) +
                           "; Max-Age=600; HttpOnly; SameSite=Lax";
  if (s.deps.tokens.issuer().starts_with("https://")) set_cookie += "; Secure";
  r.Header("Set-Cookie", set_cookie);
  call->Reply(std::move(r));
}

// The value of the cookie `name` in the request's Cookie headers, if any.
std::optional<std::string> CookieValue(const HttpRequest& req, std::string_view name) {
  for (const auto& [k, v] : req.headers) {
    if (k != "cookie") continue;
    std::string_view rest = v;
    while (!rest.empty()) {
      const size_t semi = rest.find(';');
      std::string_view pair = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      const size_t eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
        return std::string(pair.substr(eq + 1));
      }
    }
  }
  return std::nullopt;
}

// A provider's error code, as the event may carry it: letters, digits and '_' only.
std::string CleanCode(std::string_view code) {
  std::string out;
  for (char ch : code.substr(0, 40)) {
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
        ch == '_') {
      out += ch;
    }
  }
  return out.empty() ? "unknown" : out;
}

// After a good ID token: the login recorded, then the redirect with a token, or the error.
void CompleteLogin(const CallPtr& call, const PendingLogin& pending, const IdTokenClaims& claims) {
  iam::RecordSsoLogin record;
  record.succeeded = true;
  record.issuer = pending.issuer;
  record.client_id = pending.client_id;
  record.subject = claims.sub;
  record.email = claims.email;
  record.given_name = claims.given_name;
  record.family_name = claims.family_name;
  record.groups = claims.groups;
  const std::string redirect_uri = pending.redirect_uri;
  const std::string tenant = pending.tenant;
  Execute(call, std::move(record),
          [call, redirect_uri, tenant](const iam::TenantState& state,
                                       const projections::ExecuteResult& r) -> HttpResponse {
            Services& s = call->services();
            for (const iam::DomainEvent& e : r.decision.events) {
              if (e.type == iam::event_type::kAuthSsoLoginFailed) {
                return RedirectError(redirect_uri, "access_denied",
                                     "single sign-on was refused for this account");
              }
            }
            const iam::User* u = state.FindUser(r.decision.id);
            const core::Time now = s.clock().Now();
            if (u == nullptr || iam::EffectiveStatus(*u, now) != iam::UserStatus::kActive) {
              return RedirectError(redirect_uri, "access_denied", "the account is not active");
            }
            // The redirect list may have changed during the provider's round trip.
            if (!AllowsRedirect(state.tenant().oidc, redirect_uri)) {
              return Problem(403, "the login's redirect URI is no longer allowed");
            }
            s.known_sources.Mark(SourceKey(call->req.remote_ip));
            if (u->mfa) {
              const std::string token = NewMfaToken(s, tenant, u->id, u->session_epoch, now);
              return RedirectWith(redirect_uri,
                                  "mfa_required=true&mfa_token=" + token +
                                      "&expires_in=" + std::to_string(kMfaTokenTtl.count()));
            }
            const int ttl = state.tenant().settings.token_ttl_seconds;
            const std::string token = SignUserToken(s, tenant, u->id, u->must_change_password, ttl,
                                                    u->session_epoch, now);
            std::string fragment =
                "access_token=" + token + "&token_type=Bearer&expires_in=" + std::to_string(ttl);
            if (u->must_change_password) fragment += "&must_change_password=true";
            if (iam::MustEnrollMfa(state, *u, now)) fragment += "&mfa_enrollment_required=true";
            return RedirectWith(redirect_uri, fragment);
          });
}

void CallbackRoute(const CallPtr& call) {
  Services& s = call->services();
  const std::string tenant = call->Param("tenant");
  const core::Time now = s.clock().Now();
  // Before the state is taken: a callback turned away here can come again.
  std::shared_ptr<void> slot;
  if (!TakeOutboundSlot(call, slot)) return;
  const std::string state(call->req.Query("state").value_or(""));
  std::optional<std::string> stored;
  if (!state.empty() && state.size() <= 256) {
    stored = s.sso_states.Take(core::Sha256Hex(state), now);
  }
  PendingLogin pending;
  if (!stored || !core::FromJson(*stored, pending).ok() || pending.tenant != tenant) {
    // Unknown, used or expired: nothing says where to send the browser back.
    const std::optional<iam::OidcConfig> oidc = TenantOidc(call);
    HttpResponse answer =
        Problem(400,
                "this single sign-on login is unknown, expired or was used already; "
                "start again");
    if (!oidc) return call->Reply(std::move(answer));
    return RecordRefusal(call, oidc->issuer, "unknown_state", std::move(answer), true);
  }
  const std::string& back = pending.redirect_uri;
  auto refuse = [&](std::string reason, std::string_view error = "access_denied",
                    bool tallied = false) {
    RecordRefusal(call, pending.issuer, reason,
                  RedirectError(back, error, "single sign-on failed: " + reason), tallied);
  };
  const std::optional<std::string> cookie =
      CookieValue(call->req, std::string(kCookiePrefix) + core::Sha256Hex(state).substr(0, 16));
  if (!cookie || core::Sha256Hex(*cookie) != pending.binding) {
    return refuse("state_not_bound", "access_denied", true);
  }
  if (std::optional<std::string_view> error = call->req.Query("error")) {
    return refuse("provider_error_" + CleanCode(*error), "access_denied", true);
  }
  const std::string code(call->req.Query("code").value_or(""));
  if (code.empty() || code.size() > 4096) return refuse("no_code", "invalid_request", true);
  // The configuration the login started with must still be the tenant's.
  const std::optional<iam::OidcConfig> config = TenantOidc(call);
  if (!config || config->issuer != pending.issuer || config->client_id != pending.client_id) {
    return refuse("not_configured");
  }
  // A redirect removed from the list since the login started gets no token.
  if (!AllowsRedirect(config, back)) {
    return RecordRefusal(call, pending.issuer, "redirect_uri_not_allowed",
                         Problem(403, "the login's redirect URI is no longer allowed"));
  }
  core::Result<std::optional<iam::SsoCredential>> credential = s.credentials().SsoSecret(tenant);
  if (!credential.ok() || !*credential) return refuse("no_client_secret", "server_error");
  core::Result<std::string> secret =
      core::Unseal(s.deps.mfa_key, (*credential)->sealed_secret,
                   SecretBinding(tenant, pending.issuer, pending.client_id));
  if (!secret.ok()) return refuse("client_secret_unreadable", "server_error");
  core::Result<std::shared_ptr<const OidcProvider>> provider = s.oidc.Provider(pending.issuer, now);
  if (!provider.ok()) return refuse("provider_unavailable", "temporarily_unavailable");
  core::Result<std::string> id_token = s.oidc.ExchangeCode(
      **provider, pending.client_id, *secret, code, CallbackUrl(s, tenant), pending.verifier);
  if (!id_token.ok()) {
    // One reason whatever went wrong: what the token endpoint did (refused, unreachable, odd)
    // is the operator's to read in the log, not a probe's answer about that address.
    core::log::Warn("single sign-on: the code exchange failed",
                    {{"tenant", tenant}, {"reason", id_token.error().message}});
    return refuse("token_exchange_failed", "temporarily_unavailable");
  }
  core::Result<IdTokenClaims> claims = s.oidc.Verify(
      **provider, *id_token,
      IdTokenExpect{pending.issuer, pending.client_id, pending.nonce, config->group_claim, now});
  if (!claims.ok()) {
    return refuse(claims.error().code == core::Errc::kUnauthenticated ? claims.error().message
                                                                      : "provider_unavailable",
                  claims.error().code == core::Errc::kUnauthenticated ? "access_denied"
                                                                      : "temporarily_unavailable");
  }
  CompleteLogin(call, pending, *claims);
}

}  // namespace

void AddSsoRoutes(RouteTable& t, Services&) {
  t.Add({"PUT", "/v1/tenants/{tenant}/sso/oidc", Access::kIam, "iam.settings", "administer"},
        PutOidcRoute);
  t.Add({"GET", "/v1/tenants/{tenant}/sso/oidc", Access::kIam, "iam.settings", "read"},
        GetOidcRoute);
  t.Add({"DELETE", "/v1/tenants/{tenant}/sso/oidc", Access::kIam, "iam.settings", "administer"},
        DeleteOidcRoute);
  // Public and unauthenticated: limited per source address, and off the connection's thread
  // (reading a tenant not in memory yet loads it from the store).
  t.Add({"GET", "/v1/tenants/{tenant}/sso/providers", Access::kPublic, "", "", Work::kIndex, true,
         true},
        ProvidersRoute);
  t.Add(RouteSpec{"GET", "/v1/tenants/{tenant}/sso/oidc/start", Access::kPublic, "", "",
                  Work::kOutbound, false, true}
            .Query("redirect_uri login_hint"),
        StartRoute);
  // Providers add parameters of their own to the callback (iss, session_state, scope, …).
  t.Add(RouteSpec{"GET", "/v1/tenants/{tenant}/sso/oidc/callback", Access::kPublic, "", "",
                  Work::kOutbound, false, true}
            .Query("code state error error_description error_uri iss session_state scope "
                   "authuser prompt hd"),
        CallbackRoute);
}

}  // namespace custos::api::internal
