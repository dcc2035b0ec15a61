// Scanning JSON text without parsing it: skipping a string of text already known to be valid
// (stored lines) finds where it ends, which is all the line readers need; the writer and the
// canonical-form check pass over plain string bytes eight at a time. Private to core/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
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

// Skips the JSON number (RFC 8259 grammar) at pos, leaving pos after it. nullptr when there is
// one; else what is wrong, pos at the byte that is.
inline const char* SkipJsonNumber(std::string_view s, size_t& pos) {
  auto digit = [&] { return pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; };
  if (pos < s.size() && s[pos] == '-') ++pos;
  if (!digit()) return "expected a value";
  if (s[pos] == '0') {
    ++pos;
  } else {
    while (digit()) ++pos;
  }
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    if (!digit()) return "expected a digit after '.'";
    while (digit()) ++pos;
  }
  if (pos < s.size() && (s[pos] == 'e' || s[pos] == 'E')) {
    ++pos;
    if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) ++pos;
    if (!digit()) return "expected a digit in the exponent";
    while (digit()) ++pos;
  }
  return nullptr;
}

// Whether any of the eight bytes of `w` needs more than a copy inside a JSON string: a control
// character, '"', '\\', or a byte of a multi-byte sequence (>= 0x80). (w - n * ones) & ~w &
// highs is non-zero exactly when some byte is below n (n <= 0x80): the lowest such byte always
// sets its lane, and a lane is set otherwise only above one (a borrow starts only at a byte
// below n).
inline bool AnyByteToLookAt(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighs = 0x8080808080808080ULL;
  auto any_below = [](uint64_t v, uint64_t n) { return (v - kOnes * n) & ~v & kHighs; };
  return ((w & kHighs) | any_below(w, 0x20) | any_below(w ^ (kOnes * '"'), 1) |
          any_below(w ^ (kOnes * '\\'), 1)) != 0;
}

// The first position at or after i, in steps of eight, whose eight bytes are not all plain
// printable ASCII other than '"' and '\\' (what a JSON string holds as is); the bytes before
// it are all plain.
inline size_t SkipPlainJsonBytes(std::string_view s, size_t i) {
  while (i + 8 <= s.size()) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    if (AnyByteToLookAt(w)) break;
    i += 8;
  }
  return i;
}

}  // namespace custos::core::internal
