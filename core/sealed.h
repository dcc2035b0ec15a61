// Secrets kept encrypted at rest (TOTP keys in the credential store): AES-256-GCM under a
// 32-byte key the node keeps in its data dir, with associated data binding each sealed value
// to where it belongs (a tenant and a user), so that a sealed value copied elsewhere does not
// open.
//
// Format: "v1." + base64url(nonce (12 bytes) | ciphertext | tag (16 bytes)).
//
// Thread-safety: free functions, callable from any thread.
#pragma once

#include <string>
#include <string_view>

#include "core/random.h"
#include "core/result.h"

namespace custos::core {

inline constexpr size_t kSealKeyBytes = 32;

[[nodiscard]] Result<std::string> Seal(std::string_view key, std::string_view plaintext,
                                       std::string_view associated, Random& random);
// kCorruption when the value is malformed, was sealed under another key or for other
// associated data, or was altered.
[[nodiscard]] Result<std::string> Unseal(std::string_view key, std::string_view sealed,
                                         std::string_view associated);

}  // namespace custos::core
