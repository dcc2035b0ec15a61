// Lowercase hexadecimal encoding, and the percent-encoding of URIs (RFC 3986).
#pragma once

#include <string>
#include <string_view>

namespace custos::core {

void AppendHex(std::string& out, const unsigned char* bytes, size_t n);
[[nodiscard]] std::string ToHex(std::string_view bytes);
[[nodiscard]] bool IsLowerHex(std::string_view s);
// Decodes lowercase or uppercase hex; false on an odd length or a non-hex character.
[[nodiscard]] bool FromHex(std::string_view hex, std::string& out);
// A URI component or form value: RFC 3986's unreserved characters as they are, every other
// byte %XX (upper-case hex).
[[nodiscard]] std::string PercentEncode(std::string_view in);

}  // namespace custos::core
