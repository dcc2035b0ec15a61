// SodiumPasswordHasher: argon2id through libsodium's crypto_pwhash_str, with libsodium's
// "interactive" limits by default (about 64 MiB and a fraction of a second per hash).
//
// Thread-safety: may be called from any thread.
#pragma once

#include "core/iam/password.h"

namespace custos::storage {

class SodiumPasswordHasher final : public core::iam::PasswordHasher {
 public:
  struct Limits {
    unsigned long long ops;
    size_t mem_bytes;
  };
  // libsodium's interactive limits (what a login should cost).
  static Limits Interactive();
  // The least libsodium allows: for tests only.
  static Limits Minimal();

  explicit SodiumPasswordHasher(Limits limits = Interactive());

  core::Result<std::string> Hash(std::string_view password) const override;
  bool Verify(std::string_view encoded, std::string_view password) const override;

 private:
  Limits limits_;
};

}  // namespace custos::storage
