// Checking a password against its stored credential, and the PasswordHasher port for the
// passwords users choose (argon2id, implemented with libsodium in storage/). Server-made
// temporary passwords are high-entropy, so they are stored as SHA-256 and checked at once;
// argon2id is for low-entropy human choices and is deliberately slow: call it off the
// tenant's lock and off I/O threads.
//
// Thread-safety: PasswordHasher implementations may be called from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/iam/credentials.h"
#include "core/result.h"

namespace custos::core::iam {

class PasswordHasher {
 public:
  virtual ~PasswordHasher() = default;
  // An encoded hash that carries its own parameters and salt.
  [[nodiscard]] virtual Result<std::string> Hash(std::string_view password) const = 0;
  [[nodiscard]] virtual bool Verify(std::string_view encoded, std::string_view password) const = 0;
};

// True if `password` matches the credential: SHA-256 compared in constant time for a
// temporary password, the hasher for an argon2id one.
[[nodiscard]] bool CheckPassword(const PasswordCredential& credential, std::string_view password,
                                 const PasswordHasher& hasher);

// A login's check, with the same work whatever the account (../shared/spec/API.md: no timing tells
// which accounts exist): exactly one hasher.Verify — of the argon2id credential, or of `dummy_hash`
// when there is no credential or it is a temporary password (whose SHA-256 comparison comes
// on top of it).
[[nodiscard]] bool CheckLoginPassword(const std::optional<PasswordCredential>& credential,
                                      std::string_view password, const PasswordHasher& hasher,
                                      std::string_view dummy_hash);

// Constant-time equality of two byte strings (false at once if the lengths differ).
[[nodiscard]] bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace custos::core::iam
