// The access tokens of client credentials and user logins: JWTs in the form RFC 9068 gives
// them (header `typ: at+jwt`; claims iss, sub, aud, client_id, iat, exp, jti), signed with
// Ed25519 ("alg":"EdDSA", RFC 8037) or, for JWT libraries without EdDSA, ECDSA P-256
// ("ES256"). The key lives in the data dir (PKCS#8 PEM, mode 0600), made at first start; its
// public half is published as a JWK with its `kid`. Verification accepts exactly the
// signer's algorithm, the known kid and the `at+jwt` type; Custos's own API takes only tokens
// whose `aud` names the issuer (a token asked for another resource server is that server's
// alone), introspection and revocation any audience the signer issues for. Anything else —
// "none", HS256, the other algorithm, a wrong kid or audience, a bad or malleated signature,
// an expired token — is refused.
//
// Thread-safety: Sign and Verify may be called from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/time.h"

namespace custos::api {

struct TokenClaims {
  std::string iss;
  std::string sub;     // the client or user id ("root" client id for root)
  std::string tenant;  // empty for root
  std::string typ;     // "api_client" | "user" | "root"
  std::string jti;
  std::string key_id;                 // the client secret used (api_client)
  bool must_change_password = false;  // users
  core::Time iat;
  core::Time exp;
  // The principal's session epoch when issued: a later password change or reset, suspension,
  // deactivation or deletion moves the principal's on and ends this token (../shared/spec/ACCESS.md
  // rule 8).
  int64_t session_epoch = 0;
  // Signing: empty for the default — the issuer (Custos itself), and the first
  // --token-audience when there is one; else exactly what the token request asked for.
  std::vector<std::string> aud;
  std::string client_id;  // empty when signing: sub for clients, kLoginClientId for users
};

// The client_id of a user's token: the login route, Custos's own first-party client.
inline constexpr const char* kLoginClientId = "custos-login";

enum class JwtAlg : uint8_t { kEdDSA, kES256 };

class TokenSigner {
 public:
  // Loads the key from `path`, or makes and writes one if the file does not exist.
  // `audiences`: the resource servers tokens may be issued for besides Custos itself (RFC
  // 8707's audience; the issuer is always one).
  [[nodiscard]] static core::Result<std::unique_ptr<TokenSigner>> LoadOrCreate(
      const std::string& path, std::string issuer, JwtAlg alg = JwtAlg::kEdDSA,
      std::vector<std::string> audiences = {});
  ~TokenSigner();
  TokenSigner(const TokenSigner&) = delete;
  TokenSigner& operator=(const TokenSigner&) = delete;

  [[nodiscard]] std::string Sign(const TokenClaims& claims) const;
  // The claims of a valid token: signature, alg, kid, iss, and exp after `now`.
  // kUnauthenticated with the reason otherwise.
  enum class Audience : uint8_t {
    kCustos,  // the token must be for the issuer: what Custos's own API takes
    kAny,     // for any audience the signer issues for: introspection, revocation
  };
  [[nodiscard]] core::Result<TokenClaims> Verify(std::string_view token, core::Time now,
                                                 Audience audience = Audience::kCustos) const;

  [[nodiscard]] const std::string& kid() const { return kid_; }
  [[nodiscard]] const std::string& issuer() const { return issuer_; }
  [[nodiscard]] JwtAlg alg() const { return alg_; }
  [[nodiscard]] const char* alg_name() const { return alg_ == JwtAlg::kES256 ? "ES256" : "EdDSA"; }
  [[nodiscard]] bool KnownAudience(std::string_view aud) const;
  // {"keys":[{"kty":"OKP","crv":"Ed25519","x":…,"kid":…,"alg":"EdDSA","use":"sig"}]}, or
  // {"kty":"EC","crv":"P-256","x":…,"y":…,…,"alg":"ES256"}
  [[nodiscard]] std::string JwksJson() const;

 private:
  struct Key;
  TokenSigner(std::unique_ptr<Key> key, std::string kid, std::string x, std::string y,
              std::string issuer, JwtAlg alg, std::vector<std::string> audiences);
  std::unique_ptr<Key> key_;
  std::string kid_;
  std::string x_;  // base64url of the public key (Ed25519), or of its x coordinate (P-256)
  std::string y_;  // P-256 only
  std::string issuer_;
  JwtAlg alg_;
  std::vector<std::string> audiences_;
};

}  // namespace custos::api
