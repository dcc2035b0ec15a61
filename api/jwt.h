// JWTs signed with Ed25519 ("alg":"EdDSA", RFC 8037): the access tokens of client
// credentials and user logins. The key lives in the data dir (PKCS#8 PEM, mode 0600), made
// at first start; its public half is published as a JWK with its `kid`. Verification
// accepts exactly one algorithm (EdDSA) and the known kid; anything else — "none", HS256, a
// wrong kid, a bad signature, an expired token — is refused.
//
// Thread-safety: Sign and Verify may be called from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>

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
};

class TokenSigner {
 public:
  // Loads the key from `path`, or makes and writes one if the file does not exist.
  [[nodiscard]] static core::Result<std::unique_ptr<TokenSigner>> LoadOrCreate(
      const std::string& path, std::string issuer);
  ~TokenSigner();
  TokenSigner(const TokenSigner&) = delete;
  TokenSigner& operator=(const TokenSigner&) = delete;

  [[nodiscard]] std::string Sign(const TokenClaims& claims) const;
  // The claims of a valid token: signature, alg, kid, iss, and exp after `now`.
  // kUnauthenticated with the reason otherwise.
  [[nodiscard]] core::Result<TokenClaims> Verify(std::string_view token, core::Time now) const;

  [[nodiscard]] const std::string& kid() const { return kid_; }
  [[nodiscard]] const std::string& issuer() const { return issuer_; }
  // {"keys":[{"kty":"OKP","crv":"Ed25519","x":…,"kid":…,"alg":"EdDSA","use":"sig"}]}
  [[nodiscard]] std::string JwksJson() const;

 private:
  struct Key;
  TokenSigner(std::unique_ptr<Key> key, std::string kid, std::string public_x, std::string issuer);
  std::unique_ptr<Key> key_;
  std::string kid_;
  std::string public_x_;  // base64url of the raw public key
  std::string issuer_;
};

}  // namespace custos::api
