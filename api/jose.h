// JOSE pieces shared by Custos's own tokens (jwt.h) and the ID tokens of identity providers
// (oidc.h): public keys from JWK members, ECDSA signatures between JWS's r||s and OpenSSL's
// DER, and one JWS signature check.
//
// Thread-safety: free functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/ed25519_key.h"
#include "core/result.h"

namespace custos::api {

// A P-256 public key from its JWK coordinates (32 bytes each, decoded).
[[nodiscard]] core::Result<core::Pkey> EcP256PublicKey(std::string_view x, std::string_view y);
// An RSA public key from its JWK modulus and exponent (big-endian bytes, decoded); at least
// 2048 bits.
[[nodiscard]] core::Result<core::Pkey> RsaPublicKey(std::string_view n, std::string_view e);

// ECDSA P-256 signatures are DER in OpenSSL and r||s (32 bytes each) in JWS (RFC 7518 §3.4).
// DerToJose makes the low-S form (s <= n/2); JoseToDer refuses the high-S form when
// `low_s_only` (Custos's own tokens have one signature each; other issuers' need not).
[[nodiscard]] std::optional<std::string> DerToJose(const unsigned char* der, size_t len);
[[nodiscard]] std::optional<std::string> JoseToDer(std::string_view jose, bool low_s_only);

enum class JwsAlg : uint8_t { kEdDSA, kES256, kRS256 };
// Whether `signature` (as the JWS carries it, decoded) signs `input` under `key` with `alg`.
[[nodiscard]] bool VerifyJwsSignature(JwsAlg alg, EVP_PKEY* key, std::string_view input,
                                      std::string_view signature, bool low_s_only = true);

}  // namespace custos::api
