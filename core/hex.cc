#include "core/hex.h"

namespace custos::core {
namespace {

constexpr char kDigits[] = "0123456789abcdef";

int Nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void AppendHex(std::string& out, const unsigned char* bytes, size_t n) {
  const size_t start = out.size();
  out.resize(start + 2 * n);
  for (size_t i = 0; i < n; ++i) {
    out[start + 2 * i] = kDigits[bytes[i] >> 4];
    out[start + 2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
}

std::string ToHex(std::string_view bytes) {
  std::string out;
  AppendHex(out, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return out;
}

bool IsLowerHex(std::string_view s) {
  // Without a branch per character (every stored line has 160 hex digits checked when read):
  // unsigned differences are small only inside the ranges.
  unsigned ok = 1;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    ok &= static_cast<unsigned>(static_cast<unsigned char>(u - '0') < 10) |
          static_cast<unsigned>(static_cast<unsigned char>(u - 'a') < 6);
  }
  return ok != 0;
}

bool FromHex(std::string_view hex, std::string& out) {
  if (hex.size() % 2 != 0) return false;
  out.clear();
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = Nibble(hex[i]);
    const int lo = Nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return true;
}

std::string PercentEncode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace custos::core
