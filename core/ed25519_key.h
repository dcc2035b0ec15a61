// The server's private keys (token signing: Ed25519 or P-256; checkpoint signing: Ed25519) on disk:
// loaded from a private PEM file (core/private_file.h), or made and saved there when — and only
// when — the file does not exist. A key file that exists but cannot be read, belongs to another
// user, is open to others or holds no key of the expected type is an error: replacing it would
// orphan every token or checkpoint signed with it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

typedef struct evp_pkey_st EVP_PKEY;  // NOLINT: OpenSSL's own name

namespace custos::core {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const;
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

enum class KeyType : uint8_t {
  kEd25519,
  kP256,  // ECDSA on NIST P-256 (ES256), for JWT libraries without EdDSA
};

// `what` names the key in errors ("the signing key").
[[nodiscard]] Result<Pkey> LoadOrCreateKey(const std::string& path, std::string_view what,
                                           KeyType type);
[[nodiscard]] inline Result<Pkey> LoadOrCreateEd25519Key(const std::string& path,
                                                         std::string_view what) {
  return LoadOrCreateKey(path, what, KeyType::kEd25519);
}

}  // namespace custos::core
