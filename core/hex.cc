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
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
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

}  // namespace custos::core
