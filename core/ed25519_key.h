// The server's private keys (token signing: Ed25519 or P-256; checkpoint signing: Ed25519) on disk:
// loaded from a private PEM file (core/private_file.h), or made and saved there when — and only
// when — the file does not exist. A key file that exists but cannot be read, belongs to another
// user, is open to others or holds no key of the expected type is an error: replacing it would
// orphan every token or checkpoint signed with it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/time.h"

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

// Key rotation. A key file's retired keys live beside it, in PATH's name with ".retired.json"
// for ".pem": {"keys":[{"kid", "retired_at", "public_key" (SubjectPublicKeyInfo PEM)}]},
// public halves only, so that what they signed before they were retired still verifies.
struct RetiredKey {
  std::string kid;
  Pkey key;  // public only
  Time retired_at;
};
[[nodiscard]] std::string RetiredKeysPath(const std::string& key_path);
// The retired keys of the key file at `key_path`; none if there is no such file. kCorruption
// if it cannot be parsed or holds a key of another type.
[[nodiscard]] Result<std::vector<RetiredKey>> LoadRetiredKeys(const std::string& key_path,
                                                              KeyType type);
// Retires `current` (whose kid is `kid`) at `now` and writes a new key in its place, crash-safe:
// the retired entry is written first (so a crash after it leaves the old key current and also
// listed as retired, which readers skip), then the new key file replaces the old one. Retired
// entries older than `keep` are dropped (none when `keep` is absent). `revoke` (a leaked key):
// neither `current` nor any retired key is listed — whichever of them leaked, nothing they
// signed verifies any more — and the new key is written first, so that a crash between the
// two writes never leaves the old key current. Returns the new key.
[[nodiscard]] Result<Pkey> RotateKey(const std::string& key_path, std::string_view what,
                                     KeyType type, const std::string& kid, EVP_PKEY* current,
                                     Time now, std::optional<std::chrono::milliseconds> keep,
                                     bool revoke = false);

}  // namespace custos::core
