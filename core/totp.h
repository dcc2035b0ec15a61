// One-time passwords for MFA: HOTP (RFC 4226) and TOTP (RFC 6238) with HMAC-SHA-1, 6 digits
// and 30 s steps, as authenticator apps read them from an otpauth:// URI; base32 (RFC 4648)
// for the shared secret.
//
// Thread-safety: free functions, callable from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace custos::core {

inline constexpr int64_t kTotpStepSeconds = 30;
inline constexpr int kTotpDigits = 6;

// RFC 4648 base32, upper case, no padding (what otpauth URIs carry).
[[nodiscard]] std::string Base32Encode(std::string_view bytes);
// Accepts upper or lower case, spaces and '=' padding ignored; nullopt on any other character.
[[nodiscard]] std::optional<std::string> Base32Decode(std::string_view text);

// The HOTP value of `counter` under `key`: `digits` decimal digits (leading zeros kept).
[[nodiscard]] std::string Hotp(std::string_view key, uint64_t counter, int digits = kTotpDigits);

// The TOTP step of a Unix time.
[[nodiscard]] constexpr int64_t TotpStep(int64_t unix_seconds) {
  return unix_seconds / kTotpStepSeconds;
}

// The step whose code `code` is, among the current step and `skew` steps either side, and
// later than `after_step` (a code is accepted once: the caller keeps the last step used);
// nullopt when none. Every candidate is compared in constant time.
[[nodiscard]] std::optional<int64_t> MatchTotp(std::string_view key, std::string_view code,
                                               int64_t unix_seconds, int64_t after_step,
                                               int skew = 1);

// otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30
[[nodiscard]] std::string OtpauthUri(std::string_view issuer, std::string_view account,
                                     std::string_view secret_base32);

}  // namespace custos::core
