// Lowercase hexadecimal encoding.
#pragma once

#include <string>
#include <string_view>

namespace custos::core {

void AppendHex(std::string& out, const unsigned char* bytes, size_t n);
[[nodiscard]] std::string ToHex(std::string_view bytes);
[[nodiscard]] bool IsLowerHex(std::string_view s);
// Decodes lowercase or uppercase hex; false on an odd length or a non-hex character.
[[nodiscard]] bool FromHex(std::string_view hex, std::string& out);

}  // namespace custos::core
