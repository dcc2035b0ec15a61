// Scanning text already known to be valid JSON (stored lines) without parsing it: skipping a
// string finds where it ends, which is all the line readers need. Private to core/.
#pragma once

#include <cstddef>
#include <string_view>

namespace custos::core::internal {

// Skips the JSON string whose opening quote is at pos; pos ends after its closing quote.
// False if there is no string at pos or it never ends.
inline bool SkipJsonString(std::string_view s, size_t& pos) {
  if (pos >= s.size() || s[pos] != '"') return false;
  for (++pos; pos < s.size(); ++pos) {
    if (s[pos] == '\\') {
      ++pos;
    } else if (s[pos] == '"') {
      ++pos;
      return true;
    }
  }
  return false;
}

}  // namespace custos::core::internal
