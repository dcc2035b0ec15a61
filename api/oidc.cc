#include "api/oidc.h"

#include <algorithm>
#include <cmath>

#include "api/http.h"
#include "api/jose.h"
#include "core/base64.h"
#include "core/hex.h"
#include "core/iam/sso.h"
#include "core/json_value.h"

namespace custos::api {
namespace {

constexpr auto kProviderLife = std::chrono::hours(1);
constexpr auto kFailureLife = std::chrono::seconds(10);
constexpr auto kKeysLife = std::chrono::hours(1);
constexpr auto kKeysMinGap = std::chrono::seconds(30);
constexpr auto kSkew = std::chrono::seconds(60);
constexpr size_t kMaxGroups = 1000;

core::Error Refused(std::string reason) {
  return core::Error{core::Errc::kUnauthenticated, std::move(reason), {}};
}

std::string Text(const core::JsonValue& object, std::string_view name) {
  const core::JsonValue* v = object.Find(name);
  return v != nullptr && v->is_string() ? v->text() : "";
}

// A NumericDate (seconds, possibly with a fraction); nullopt when absent or not a number.
std::optional<core::Time> Date(const core::JsonValue& object, std::string_view name) {
  const core::JsonValue* v = object.Find(name);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  const std::optional<double> seconds = v->AsDouble();
  if (!seconds || !std::isfinite(*seconds) || *seconds < 0 || *seconds > 1e11) return std::nullopt;
  return core::FromUnixMillis(static_cast<int64_t>(*seconds * 1000));
}

// An endpoint discovery names: an https URL (http on loopback only), as the issuer must be.
bool GoodEndpoint(const std::string& url) {
  return !url.empty() && !core::iam::SsoUrlProblem(url).has_value();
}

}  // namespace

core::Result<OidcKeys> ParseOidcJwks(std::string_view jwks) {
  core::Result<core::JsonValue> doc = core::ParseJson(jwks);
  const core::JsonValue* keys = doc.ok() && doc->is_object() ? doc->Find("keys") : nullptr;
  if (keys == nullptr || !keys->is_array()) {
    return core::InvalidArgument("the provider's JWKS is not a JSON object with keys");
  }
  OidcKeys out;
  for (const core::JsonValue& jwk : keys->items()) {
    if (!jwk.is_object() || out.size() >= 100) continue;
    const std::string use = Text(jwk, "use");
    if (!use.empty() && use != "sig") continue;
    const std::string kty = Text(jwk, "kty");
    const std::string alg = Text(jwk, "alg");
    auto key = std::make_shared<OidcKey>();
    key->kid = Text(jwk, "kid");
    if (kty == "RSA" && (alg.empty() || alg == "RS256")) {
      const std::optional<std::string> n = core::Base64UrlDecode(Text(jwk, "n"));
      const std::optional<std::string> e = core::Base64UrlDecode(Text(jwk, "e"));
      if (!n || !e) continue;
      core::Result<core::Pkey> pkey = RsaPublicKey(*n, *e);
      if (!pkey.ok()) continue;
      key->alg = "RS256";
      key->key = std::move(*pkey);
    } else if (kty == "EC" && Text(jwk, "crv") == "P-256" && (alg.empty() || alg == "ES256")) {
      const std::optional<std::string> x = core::Base64UrlDecode(Text(jwk, "x"));
      const std::optional<std::string> y = core::Base64UrlDecode(Text(jwk, "y"));
      if (!x || !y) continue;
      core::Result<core::Pkey> pkey = EcP256PublicKey(*x, *y);
      if (!pkey.ok()) continue;
      key->alg = "ES256";
      key->key = std::move(*pkey);
    } else {
      continue;
    }
    out.push_back(std::move(key));
  }
  return out;
}

core::Result<IdTokenClaims> VerifyIdToken(std::string_view token, const OidcKeys& keys,
                                          const IdTokenExpect& expect) {
  if (token.size() > 16384) return Refused("malformed_id_token");
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Refused("malformed_id_token");
  }
  const std::optional<std::string> header = core::Base64UrlDecode(token.substr(0, dot1));
  const std::optional<std::string> payload =
      core::Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  const std::optional<std::string> sig = core::Base64UrlDecode(token.substr(dot2 + 1));
  if (!header || !payload || !sig) return Refused("malformed_id_token");
  core::Result<core::JsonValue> h = core::ParseJson(*header);
  if (!h.ok() || !h->is_object()) return Refused("malformed_id_token");
  const std::string alg = Text(*h, "alg");
  if (alg != "RS256" && alg != "ES256") return Refused("bad_algorithm");
  if (h->Find("crit") != nullptr) return Refused("bad_algorithm");
  const std::string kid = Text(*h, "kid");
  // The key of the token's kid; without a kid, the one key of its algorithm, if only one.
  const OidcKey* key = nullptr;
  size_t candidates = 0;
  for (const std::shared_ptr<const OidcKey>& k : keys) {
    if (k->alg != alg) continue;
    if (!kid.empty() && k->kid == kid) {
      key = k.get();
      break;
    }
    if (kid.empty()) {
      ++candidates;
      key = k.get();
    }
  }
  if (kid.empty() && candidates != 1) key = nullptr;
  if (key == nullptr) return core::Error{core::Errc::kNotFound, "unknown_kid", {}};
  if (!VerifyJwsSignature(alg == "RS256" ? JwsAlg::kRS256 : JwsAlg::kES256, key->key.get(),
                          token.substr(0, dot2), *sig, /*low_s_only=*/false)) {
    return Refused("bad_signature");
  }
  core::Result<core::JsonValue> p = core::ParseJson(*payload);
  if (!p.ok() || !p->is_object()) return Refused("malformed_id_token");
  if (Text(*p, "iss") != expect.issuer) return Refused("bad_issuer");
  // aud: the client id, alone or among others (then azp must name it).
  const core::JsonValue* aud = p->Find("aud");
  bool audience = false;
  size_t audiences = 0;
  if (aud != nullptr && aud->is_string()) {
    audience = aud->text() == expect.client_id;
    audiences = 1;
  } else if (aud != nullptr && aud->is_array()) {
    for (const core::JsonValue& a : aud->items()) {
      audience = audience || (a.is_string() && a.text() == expect.client_id);
      ++audiences;
    }
  }
  if (!audience) return Refused("bad_audience");
  const std::string azp = Text(*p, "azp");
  if ((audiences > 1 || !azp.empty()) && azp != expect.client_id) return Refused("bad_audience");
  const std::optional<core::Time> exp = Date(*p, "exp");
  if (!exp || *exp + kSkew <= expect.now) return Refused("expired");
  const std::optional<core::Time> iat = Date(*p, "iat");
  if (!iat || *iat > expect.now + kSkew) return Refused("issued_in_the_future");
  if (expect.nonce.empty() || Text(*p, "nonce") != expect.nonce) return Refused("bad_nonce");
  IdTokenClaims c;
  c.sub = Text(*p, "sub");
  if (c.sub.empty() || c.sub.size() > 255) return Refused("bad_subject");
  c.email = Text(*p, "email");
  if (c.email.empty()) return Refused("no_email");
  // email_verified: true (a JSON boolean; some providers send the string "true").
  const core::JsonValue* verified = p->Find("email_verified");
  const bool is_verified =
      verified != nullptr && ((verified->is_bool() && verified->bool_value()) ||
                              (verified->is_string() && verified->text() == "true"));
  if (!is_verified) return Refused("email_not_verified");
  c.given_name = Text(*p, "given_name");
  c.family_name = Text(*p, "family_name");
  if (!expect.group_claim.empty()) {
    const core::JsonValue* groups = p->Find(expect.group_claim);
    if (groups != nullptr && groups->is_string()) {
      c.groups.push_back(groups->text());
    } else if (groups != nullptr && groups->is_array()) {
      for (const core::JsonValue& g : groups->items()) {
        if (g.is_string() && c.groups.size() < kMaxGroups) c.groups.push_back(g.text());
      }
    }
  }
  return c;
}

core::Result<OutboundAnswer> OidcClient::Get(const std::string& url) const {
  return http_(OutboundRequest{url, "", ""});
}

core::Result<std::shared_ptr<const OidcProvider>> OidcClient::Provider(const std::string& issuer,
                                                                       core::Time now) {
  if (!http_) return core::Unavailable("this node makes no outbound HTTP requests");
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(issuer);
    if (it != entries_.end()) {
      const Entry& e = it->second;
      if (e.provider && now - e.fetched_at < kProviderLife) return e.provider;
      if (!e.error.empty() && now - e.fetched_at < kFailureLife) {
        return core::Unavailable(e.error);
      }
    }
  }
  std::string base = issuer;
  while (!base.empty() && base.back() == '/') base.pop_back();
  auto fail = [&](std::string why) -> core::Error {
    std::lock_guard lock(mu_);
    Entry& e = entries_[issuer];
    e.provider.reset();
    e.error = why;
    e.fetched_at = now;
    return core::Unavailable(std::move(why));
  };
  core::Result<OutboundAnswer> answer = Get(base + "/.well-known/openid-configuration");
  if (!answer.ok())
    return fail("the identity provider's discovery failed: " + answer.error().message);
  if (answer->status != 200) {
    return fail("the identity provider's discovery answered " + std::to_string(answer->status));
  }
  core::Result<core::JsonValue> doc = core::ParseJson(answer->body);
  if (!doc.ok() || !doc->is_object()) return fail("the identity provider's discovery is not JSON");
  auto p = std::make_shared<OidcProvider>();
  p->issuer = Text(*doc, "issuer");
  p->authorization_endpoint = Text(*doc, "authorization_endpoint");
  p->token_endpoint = Text(*doc, "token_endpoint");
  p->jwks_uri = Text(*doc, "jwks_uri");
  // OpenID Connect Discovery §4.3: the issuer it names is exactly the one configured.
  if (p->issuer != issuer) return fail("the identity provider's discovery names another issuer");
  if (!GoodEndpoint(p->authorization_endpoint) || !GoodEndpoint(p->token_endpoint) ||
      !GoodEndpoint(p->jwks_uri)) {
    return fail("the identity provider's discovery lacks an https endpoint");
  }
  if (const core::JsonValue* methods = doc->Find("token_endpoint_auth_methods_supported");
      methods != nullptr && methods->is_array()) {
    bool basic = false;
    bool post = false;
    for (const core::JsonValue& m : methods->items()) {
      basic = basic || (m.is_string() && m.text() == "client_secret_basic");
      post = post || (m.is_string() && m.text() == "client_secret_post");
    }
    p->client_secret_post = post && !basic;
  }
  std::lock_guard lock(mu_);
  Entry& e = entries_[issuer];
  if (e.provider && e.provider->jwks_uri != p->jwks_uri) e.keys.reset();
  e.provider = p;
  e.error.clear();
  e.fetched_at = now;
  return std::shared_ptr<const OidcProvider>(p);
}

core::Result<std::shared_ptr<const OidcKeys>> OidcClient::Keys(const OidcProvider& provider,
                                                               core::Time now, bool again) {
  {
    std::lock_guard lock(mu_);
    Entry& e = entries_[provider.issuer];
    if (!again && e.keys && now - e.keys_fetched_at < kKeysLife) return e.keys;
    if (again && e.keys && e.keys_forced_at && now - *e.keys_forced_at < kKeysMinGap) {
      return e.keys;
    }
    if (again) e.keys_forced_at = now;
  }
  core::Result<OutboundAnswer> answer = Get(provider.jwks_uri);
  if (!answer.ok())
    return core::Unavailable("the identity provider's keys: " + answer.error().message);
  if (answer->status != 200) {
    return core::Unavailable("the identity provider's keys answered " +
                             std::to_string(answer->status));
  }
  CUSTOS_ASSIGN_OR_RETURN(OidcKeys keys, ParseOidcJwks(answer->body));
  auto shared = std::make_shared<const OidcKeys>(std::move(keys));
  std::lock_guard lock(mu_);
  Entry& e = entries_[provider.issuer];
  e.keys = shared;
  e.keys_fetched_at = now;
  return shared;
}

core::Result<IdTokenClaims> OidcClient::Verify(const OidcProvider& provider, std::string_view token,
                                               const IdTokenExpect& expect) {
  CUSTOS_ASSIGN_OR_RETURN(std::shared_ptr<const OidcKeys> keys, Keys(provider, expect.now, false));
  core::Result<IdTokenClaims> claims = VerifyIdToken(token, *keys, expect);
  if (claims.ok() || claims.error().code != core::Errc::kNotFound) return claims;
  // A kid not known: the provider may have rotated its keys.
  CUSTOS_ASSIGN_OR_RETURN(keys, Keys(provider, expect.now, true));
  claims = VerifyIdToken(token, *keys, expect);
  if (!claims.ok() && claims.error().code == core::Errc::kNotFound) return Refused("unknown_kid");
  return claims;
}

core::Result<std::string> OidcClient::ExchangeCode(
    const OidcProvider& provider, const std::string& client_id, const std::string& client_secret,
    const std::string& code, const std::string& redirect_uri, const std::string& verifier) {
  if (!http_) return core::Unavailable("this node makes no outbound HTTP requests");
  OutboundRequest req;
  req.url = provider.token_endpoint;
  req.form_body = "grant_type=authorization_code&code=" + core::PercentEncode(code) +
                  "&redirect_uri=" + core::PercentEncode(redirect_uri) +
                  "&code_verifier=" + core::PercentEncode(verifier);
  if (provider.client_secret_post) {
    req.form_body += "&client_id=" + core::PercentEncode(client_id) +
                     "&client_secret=" + core::PercentEncode(client_secret);
  } else {
    // RFC 6749 §2.3.1: both form-encoded, then Basic.
    req.authorization = "Basic " + core::Base64Encode(core::PercentEncode(client_id) + ":" +
                                                      core::PercentEncode(client_secret));
  }
  // What went wrong is said in full here (the operator's log); the event says less.
  core::Result<OutboundAnswer> answer = http_(req);
  if (!answer.ok()) {
    return core::Unavailable("the token endpoint did not answer: " + answer.error().message);
  }
  if (answer->status != 200) {
    std::string head = answer->body.substr(0, 200);
    for (char& ch : head) {
      if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e) ch = '?';
    }
    return Refused("the token endpoint answered " + std::to_string(answer->status) + ": " + head);
  }
  core::Result<core::JsonValue> doc = core::ParseJson(answer->body);
  if (!doc.ok() || !doc->is_object()) return Refused("the token endpoint's answer is not JSON");
  std::string id_token = Text(*doc, "id_token");
  if (id_token.empty()) return Refused("the token endpoint answered no id_token");
  return id_token;
}

void OidcClient::Forget(const std::string& issuer) {
  std::lock_guard lock(mu_);
  entries_.erase(issuer);
}

}  // namespace custos::api
