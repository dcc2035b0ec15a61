// The OpenID Connect relying party of single sign-on (docs/sso.md): an identity provider's
// discovery document and keys, fetched over the node's outbound HTTP and cached; the
// authorization code exchanged at its token endpoint; its ID token verified.
//
// The ID token is checked as OpenID Connect Core §3.1.3.7 says: a JWS (RS256 or ES256 only —
// never "none", never an HMAC keyed with the client secret) by a key of the issuer's JWKS,
// `iss` the configured issuer, `aud` naming the client id (and `azp` it when there are more),
// `exp` in the future and `iat` not far ahead (60 s of skew), `nonce` the login's own, and a
// verified email. A kid the keys do not know fetches them again, at most once every 30 s (only
// an ID token the provider's token endpoint just gave gets that far).
//
// Refusals are kUnauthenticated whose message is a short reason ("bad_signature",
// "bad_audience", "expired", "bad_nonce", "email_not_verified", …): it goes into the
// auth.sso_login_failed event as is.
//
// Thread-safety: OidcClient may be used from any thread (its caches lock inside);
// VerifyIdToken is a pure function.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/ed25519_key.h"
#include "core/result.h"
#include "core/time.h"

namespace custos::api {

// One outbound HTTP request: a GET, or a POST of a form when `form_body` is not empty.
struct OutboundRequest {
  std::string url;
  std::string form_body;
  std::string authorization;  // an Authorization header's value, when not empty
};
struct OutboundAnswer {
  long status = 0;
  std::string body;
};
// The node's outbound HTTP (libcurl in production: no redirects followed, TLS verified,
// bounded time and size). kUnavailable when no answer came.
using OutboundHttp = std::function<core::Result<OutboundAnswer>(const OutboundRequest&)>;

// What discovery says of a provider (/.well-known/openid-configuration).
struct OidcProvider {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string jwks_uri;
  bool client_secret_post = false;  // the provider takes client_secret_post and not _basic
};

// A provider's signing keys by kid.
struct OidcKey {
  std::string kid;
  std::string alg;  // "RS256" or "ES256"
  core::Pkey key;
};
using OidcKeys = std::vector<std::shared_ptr<const OidcKey>>;
// The JWKS's keys Custos can use (RSA of 2048 bits or more, EC P-256, for signing); others are
// skipped. kInvalidArgument when it is not a JWKS.
[[nodiscard]] core::Result<OidcKeys> ParseOidcJwks(std::string_view jwks);

struct IdTokenExpect {
  std::string issuer;
  std::string client_id;
  std::string nonce;
  std::string group_claim;  // "" for none
  core::Time now;
};
struct IdTokenClaims {
  std::string sub;
  std::string email;
  std::string given_name;
  std::string family_name;
  std::vector<std::string> groups;  // the group claim's values (strings), at most 1,000
};
// The verified claims of `token` signed by one of `keys`; kNotFound "unknown_kid" when no key
// has its kid (the caller may fetch the keys again and retry).
[[nodiscard]] core::Result<IdTokenClaims> VerifyIdToken(std::string_view token,
                                                        const OidcKeys& keys,
                                                        const IdTokenExpect& expect);

class OidcClient {
 public:
  explicit OidcClient(OutboundHttp http) : http_(std::move(http)) {}

  [[nodiscard]] bool enabled() const { return static_cast<bool>(http_); }
  // The provider of `issuer`, from the cache (an hour) or fetched now; a failed fetch is
  // remembered for 10 s, so that a provider that is down is not asked at every login.
  [[nodiscard]] core::Result<std::shared_ptr<const OidcProvider>> Provider(
      const std::string& issuer, core::Time now);
  // Exchanges the authorization code (with the PKCE verifier) for the provider's ID token.
  [[nodiscard]] core::Result<std::string> ExchangeCode(
      const OidcProvider& provider, const std::string& client_id, const std::string& client_secret,
      const std::string& code, const std::string& redirect_uri, const std::string& verifier);
  // VerifyIdToken with the provider's keys, fetched again once on an unknown kid.
  [[nodiscard]] core::Result<IdTokenClaims> Verify(const OidcProvider& provider,
                                                   std::string_view token,
                                                   const IdTokenExpect& expect);
  // Forgets what it knows of an issuer (its configuration changed).
  void Forget(const std::string& issuer);

 private:
  struct Entry {
    std::shared_ptr<const OidcProvider> provider;
    core::Time fetched_at;
    std::string error;  // the last fetch failed: why
    std::shared_ptr<const OidcKeys> keys;
    core::Time keys_fetched_at;
    std::optional<core::Time> keys_forced_at;  // the last fetch an unknown kid asked for
  };
  [[nodiscard]] core::Result<std::shared_ptr<const OidcKeys>> Keys(const OidcProvider& provider,
                                                                   core::Time now, bool again);
  [[nodiscard]] core::Result<OutboundAnswer> Get(const std::string& url) const;

  OutboundHttp http_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;  // by issuer; under mu_
};

}  // namespace custos::api
