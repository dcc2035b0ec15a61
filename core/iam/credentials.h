// The credential store's layout (core::Space::kCredentials). Hashes only; never a clear
// secret. Written in the same batch as the events that create or revoke them, left out of
// the state digest, kept across a rebuild.
//
//   <tenant> \0 pw \0 <user_id>                  → PasswordCredential (JSON)
//   <tenant> \0 cs \0 <client_id> \0 <key_id>    → SHA-256 hex of the client secret
//   <tenant> \0 inv \0 <invitation_id>           → SHA-256 hex of the invitation token
//   tok \0 <SHA-256 hex of an invitation token>  → <tenant> \0 <invitation_id>
//   <tenant> \0 mfa \0 <user_id>                 → MfaCredential (JSON): the TOTP secret sealed
//                                                  (AES-256-GCM, a key in the data dir), the
//                                                  recovery codes' SHA-256 hex
//   <tenant> \0 sso \0 oidc                      → SsoCredential (JSON): the identity provider's
//                                                  client secret, sealed
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"

namespace custos::core::iam {

struct PasswordCredential {
  std::string kind;  // "temporary" (SHA-256 hex of a server-made password) or "argon2id"
  std::string hash;
  Time set_at;

  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("kind", s.kind);
    v("hash", s.hash);
    v("set_at", s.set_at);
  }
};

// A user's second factor. `sealed_secret` is the TOTP key encrypted under the node's MFA key
// (core/sealed.h, bound to tenant and user); the recovery codes are server-made and kept as
// SHA-256 hex, in the order their indexes name.
struct MfaCredential {
  std::string method;  // "totp"
  std::string sealed_secret;
  std::vector<std::string> recovery_hashes;
  Time set_at;

  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("method", s.method);
    v("sealed_secret", s.sealed_secret);
    v("recovery_hashes", s.recovery_hashes);
    v("set_at", s.set_at);
  }
};

// The client secret Custos authenticates with at a tenant's identity provider: it must be sent
// there, so it is sealed (core/sealed.h, bound to the tenant), not hashed.
struct SsoCredential {
  std::string sealed_secret;
  Time set_at;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("sealed_secret", s.sealed_secret);
    v("set_at", s.set_at);
  }
};

inline constexpr std::string_view kTemporaryPassword = "temporary";
inline constexpr std::string_view kArgon2id = "argon2id";

[[nodiscard]] std::string PasswordKey(std::string_view tenant, std::string_view user_id);
[[nodiscard]] std::string MfaKey(std::string_view tenant, std::string_view user_id);
[[nodiscard]] std::string SsoSecretKey(std::string_view tenant);
[[nodiscard]] std::string ClientSecretKey(std::string_view tenant, std::string_view client_id,
                                          std::string_view key_id);
// Every secret of one client: the keys with this prefix.
[[nodiscard]] std::string ClientSecretPrefix(std::string_view tenant, std::string_view client_id);
[[nodiscard]] std::string InvitationHashKey(std::string_view tenant,
                                            std::string_view invitation_id);
[[nodiscard]] std::string InvitationTokenKey(std::string_view token_hash);
[[nodiscard]] std::string InvitationTokenValue(std::string_view tenant,
                                               std::string_view invitation_id);

}  // namespace custos::core::iam
