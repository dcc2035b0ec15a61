#include "core/iam/password.h"

#include <openssl/crypto.h>

#include "core/sha256.h"

namespace custos::core::iam {

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool CheckPassword(const PasswordCredential& credential, std::string_view password,
                   const PasswordHasher& hasher) {
  if (credential.kind == kTemporaryPassword) {
    return ConstantTimeEquals(Sha256Hex(password), credential.hash);
  }
  if (credential.kind == kArgon2id) return hasher.Verify(credential.hash, password);
  return false;
}

bool CheckLoginPassword(const std::optional<PasswordCredential>& credential,
                        std::string_view password, const PasswordHasher& hasher,
                        std::string_view dummy_hash) {
  if (credential && credential->kind == kArgon2id) return hasher.Verify(credential->hash, password);
  (void)hasher.Verify(dummy_hash, password);
  return credential && credential->kind == kTemporaryPassword &&
         ConstantTimeEquals(Sha256Hex(password), credential->hash);
}

}  // namespace custos::core::iam
