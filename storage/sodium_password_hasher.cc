#include "storage/sodium_password_hasher.h"

#include <sodium.h>

#include <cstdlib>
#include <string>

namespace custos::storage {
namespace {

void InitSodium() {
  static const bool ready = [] { return sodium_init() >= 0; }();
  if (!ready) std::abort();  // no libsodium, no password hashing
}

}  // namespace

SodiumPasswordHasher::Limits SodiumPasswordHasher::Interactive() {
  return Limits{crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

SodiumPasswordHasher::Limits SodiumPasswordHasher::Minimal() {
  return Limits{crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}

SodiumPasswordHasher::SodiumPasswordHasher(Limits limits) : limits_(limits) { InitSodium(); }

core::Result<std::string> SodiumPasswordHasher::Hash(std::string_view password) const {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), limits_.ops, limits_.mem_bytes,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return core::Unavailable("argon2id hashing failed (out of memory?)");
  }
  return std::string(out);
}

bool SodiumPasswordHasher::Verify(std::string_view encoded, std::string_view password) const {
  if (encoded.size() >= crypto_pwhash_STRBYTES) return false;
  const std::string terminated(encoded);
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

}  // namespace custos::storage
