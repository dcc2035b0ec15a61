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
// The key rotates (Rotate): tokens are signed with the new key at once, and the retired key's
// public half stays in the JWKS, verifying the tokens it signed before it was retired, for
// kRetiredKeyLife — longer than any token lives (a tenant's token_ttl is at most a day).
//
// On a follower (../shared/spec/REPLICATION.md) the signer holds no key of its own: ForLeader
// makes one that verifies with the public keys of the leader's JWKS (every key it lists), signs
// nothing, and publishes the leader's JWKS as it was fetched. TakeJwks replaces those keys (a
// refresh); a token whose kid it does not know calls the unknown-kid hook, so that the keys are
// fetched again.
//
// Thread-safety: every method may be called from any thread; set_unknown_kid_hook before use.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/ed25519_key.h"
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
  // A verifier of the tokens of the leader whose issuer and JWKS these are: the keys' `alg`
  // (all the same: EdDSA or ES256) is the one accepted, each `kid` must be its key's.
  [[nodiscard]] static core::Result<std::unique_ptr<TokenSigner>> ForLeader(
      std::string issuer, std::string_view jwks, std::vector<std::string> audiences = {});
  // ForLeader's keys, replaced by those of a newer JWKS of the same algorithm.
  [[nodiscard]] core::Status TakeJwks(std::string_view jwks);
  [[nodiscard]] bool verifies_only() const { return path_.empty(); }
  // Called (on the verifying thread: it must not block) when a token names a kid not known;
  // true when the keys are about to be fetched again, and the token is then refused as
  // kUnavailable (retry) instead of kUnauthenticated.
  void set_unknown_kid_hook(std::function<bool()> hook) { unknown_kid_ = std::move(hook); }
  ~TokenSigner();
  TokenSigner(const TokenSigner&) = delete;
  TokenSigner& operator=(const TokenSigner&) = delete;

  // A signer made by ForLeader signs nothing: "" (its node sends every signing route to the
  // leader).
  [[nodiscard]] std::string Sign(const TokenClaims& claims) const;
  // The claims of a valid token: signature, alg, kid, iss, and exp after `now`.
  // kUnauthenticated with the reason otherwise.
  enum class Audience : uint8_t {
    kCustos,  // the token must be for the issuer: what Custos's own API takes
    kAny,     // for any audience the signer issues for: introspection, revocation
  };
  [[nodiscard]] core::Result<TokenClaims> Verify(std::string_view token, core::Time now,
                                                 Audience audience = Audience::kCustos) const;

  // The current key's kid.
  [[nodiscard]] std::string kid() const;
  [[nodiscard]] const std::string& issuer() const { return issuer_; }
  [[nodiscard]] JwtAlg alg() const { return alg_; }
  [[nodiscard]] const char* alg_name() const { return alg_ == JwtAlg::kES256 ? "ES256" : "EdDSA"; }
  [[nodiscard]] bool KnownAudience(std::string_view aud) const;
  // {"keys":[{"kty":"OKP","crv":"Ed25519","x":…,"kid":…,"alg":"EdDSA","use":"sig"}]}, or
  // {"kty":"EC","crv":"P-256","x":…,"y":…,…,"alg":"ES256"}: the current key first, then the
  // retired ones still within kRetiredKeyLife.
  [[nodiscard]] std::string JwksJson(core::Time now) const;

  // How long a retired key still verifies the tokens it signed.
  static constexpr std::chrono::hours kRetiredKeyLife{25};
  // Retires the current key at `now` and signs with a new one, on disk first
  // (core/ed25519_key.h RotateKey). The kids, new and retired. `revoke` (a leaked key): the old
  // key, and every retired one, is dropped at once, from the JWKS and from verification, so
  // that every token they signed is refused (everyone signs in again) and whoever holds a copy
  // of one can sign nothing.
  struct Rotated {
    std::string kid;
    std::string retired_kid;
  };
  [[nodiscard]] core::Result<Rotated> Rotate(core::Time now, bool revoke = false);

 private:
  struct Key;
  struct State;
  TokenSigner(std::string path, std::shared_ptr<const State> state, std::string issuer, JwtAlg alg,
              std::vector<std::string> audiences);
  [[nodiscard]] std::shared_ptr<const State> state() const;
  // A key with its JWK coordinates and kid (the first 16 hex digits of their SHA-256).
  // The keys of a leader's JWKS, all of one algorithm (`alg` when given).
  [[nodiscard]] static core::Result<std::shared_ptr<const State>> ParseJwks(
      std::string_view jwks, std::optional<JwtAlg> alg);
  [[nodiscard]] static core::Result<std::shared_ptr<Key>> Describe(core::Pkey pkey, JwtAlg alg,
                                                                   std::optional<core::Time> at);

  std::string path_;
  std::string issuer_;
  JwtAlg alg_;
  std::vector<std::string> audiences_;
  std::function<bool()> unknown_kid_;
  std::mutex rotate_mu_;  // one rotation at a time
  mutable std::mutex mu_;
  std::shared_ptr<const State> state_;
};

}  // namespace custos::api
