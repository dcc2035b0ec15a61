// Base64url (RFC 4648 §5) without padding, as JWTs and JWKs use it, and standard base64 for
// HTTP Basic credentials and
// MIME encoded words.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace custos::core {

[[nodiscard]] std::string Base64UrlEncode(std::string_view bytes);
// Accepts unpadded base64url; nullopt on any other character or an impossible length.
[[nodiscard]] std::optional<std::string> Base64UrlDecode(std::string_view text);
// Standard base64 with padding (RFC 4648 §4), as HTTP Basic and MIME use it.
[[nodiscard]] std::string Base64Encode(std::string_view bytes);
// Standard base64 with padding; nullopt when malformed.
[[nodiscard]] std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace custos::core
