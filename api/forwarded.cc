#include "api/forwarded.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace custos::api {
namespace {

using Bytes = std::array<uint8_t, 16>;

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

std::optional<Bytes> ParseAddress(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;  // INET6_ADDRSTRLEN - 1
  const std::string z(text);
  Bytes bytes{};
  if (::inet_pton(AF_INET, z.c_str(), bytes.data() + 12) == 1) {
    std::memcpy(bytes.data(), kMappedPrefix, sizeof kMappedPrefix);
    return bytes;
  }
  if (::inet_pton(AF_INET6, z.c_str(), bytes.data()) == 1) return bytes;
  return std::nullopt;
}

bool IsMapped(const Bytes& bytes) {
  return std::memcmp(bytes.data(), kMappedPrefix, sizeof kMappedPrefix) == 0;
}

std::string Format(const Bytes& bytes) {
  char out[INET6_ADDRSTRLEN] = {};
  if (IsMapped(bytes)) {
    ::inet_ntop(AF_INET, bytes.data() + 12, out, sizeof out);
  } else {
    ::inet_ntop(AF_INET6, bytes.data(), out, sizeof out);
  }
  return out;
}

bool InPrefix(const Bytes& a, const Bytes& network, int prefix) {
  const int whole = prefix / 8;
  if (std::memcmp(a.data(), network.data(), static_cast<size_t>(whole)) != 0) return false;
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[static_cast<size_t>(whole)] & mask) == (network[static_cast<size_t>(whole)] & mask);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The address of a list entry: "192.0.2.1", "192.0.2.1:4711", "[2001:db8::1]:4711",
// "2001:db8::1"; anything else comes back as it is and will not parse.
std::string_view Node(std::string_view entry) {
  if (!entry.empty() && entry.front() == '[') {
    const size_t close = entry.find(']');
    return close == std::string_view::npos ? entry : entry.substr(1, close - 1);
  }
  if (std::count(entry.begin(), entry.end(), ':') == 1) return entry.substr(0, entry.find(':'));
  return entry;
}

// Splits every value of header `name` on commas, in the order the headers came.
std::vector<std::string_view> Entries(
    const std::vector<std::pair<std::string, std::string>>& headers, std::string_view name) {
  std::vector<std::string_view> out;
  for (const auto& [n, v] : headers) {
    if (n != name) continue;
    std::string_view rest = v;
    while (true) {
      const size_t comma = rest.find(',');
      out.push_back(Trim(rest.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return out;
}

// The node of an RFC 7239 element's `for=` pair (quotes removed), or "" without one.
std::string_view ForwardedFor(std::string_view element) {
  while (!element.empty()) {
    const size_t semi = element.find(';');
    std::string_view pair = Trim(element.substr(0, semi));
    if (pair.size() > 4 && (pair[0] == 'f' || pair[0] == 'F') &&
        (pair[1] == 'o' || pair[1] == 'O') && (pair[2] == 'r' || pair[2] == 'R') &&
        pair[3] == '=') {
      std::string_view value = pair.substr(4);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return value;
    }
    if (semi == std::string_view::npos) break;
    element.remove_prefix(semi + 1);
  }
  return {};
}

}  // namespace

std::optional<std::string> CanonicalAddress(std::string_view text) {
  std::optional<Bytes> bytes = ParseAddress(text);
  if (!bytes) return std::nullopt;
  return Format(*bytes);
}

core::Result<TrustedProxies> TrustedProxies::Parse(const std::vector<std::string>& items,
                                                   ForwardedHeader header) {
  TrustedProxies proxies;
  proxies.header_ = header;
  for (const std::string& item : items) {
    std::string_view rest = item;
    while (true) {
      const size_t comma = rest.find(',');
      const std::string_view cidr = Trim(rest.substr(0, comma));
      const size_t slash = cidr.find('/');
      const std::optional<Bytes> bytes = ParseAddress(cidr.substr(0, slash));
      if (!bytes) {
        return core::InvalidArgument("--trusted-proxy: '" + std::string(cidr) +
                                     "' is not an address or CIDR block");
      }
      const int width = IsMapped(*bytes) ? 32 : 128;
      int prefix = width;
      if (slash != std::string_view::npos) {
        const std::string_view bits = cidr.substr(slash + 1);
        auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
        if (bits.empty() || ec != std::errc() || end != bits.data() + bits.size() || prefix < 0 ||
            prefix > width) {
          return core::InvalidArgument("--trusted-proxy: '" + std::string(cidr) +
                                       "' has a bad prefix length (0 to " + std::to_string(width) +
                                       ")");
        }
      }
      Network network{*bytes, prefix + (width == 32 ? 96 : 0)};
      Bytes masked{};
      for (int bit = 0; bit < network.prefix; ++bit) {
        masked[static_cast<size_t>(bit / 8)] |=
            static_cast<uint8_t>(network.bytes[static_cast<size_t>(bit / 8)] & (0x80 >> (bit % 8)));
      }
      if (masked != network.bytes) {
        return core::InvalidArgument("--trusted-proxy: '" + std::string(cidr) +
                                     "' has bits set past its prefix (did you mean " +
                                     Format(masked) + "/" + std::to_string(prefix) + "?)");
      }
      proxies.networks_.push_back(network);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return proxies;
}

bool TrustedProxies::Contains(std::string_view address) const {
  const std::optional<Bytes> bytes = ParseAddress(address);
  if (!bytes) return false;
  return std::any_of(networks_.begin(), networks_.end(),
                     [&](const Network& n) { return InPrefix(*bytes, n.bytes, n.prefix); });
}

std::string TrustedProxies::ClientAddress(
    std::string_view peer, const std::vector<std::pair<std::string, std::string>>& headers) const {
  std::string current = CanonicalAddress(peer).value_or(std::string(peer));
  if (!Contains(current)) return current;
  const bool forwarded = header_ == ForwardedHeader::kForwarded;
  const std::vector<std::string_view> entries =
      Entries(headers, forwarded ? "forwarded" : "x-forwarded-for");
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    const std::string_view node = Node(forwarded ? ForwardedFor(*it) : *it);
    std::optional<std::string> address = CanonicalAddress(node);
    // "unknown", an obfuscated node or a malformed one: the last hop known is all we have.
    if (!address) return current;
    if (!Contains(*address)) return *address;
    current = std::move(*address);
  }
  return current;
}

}  // namespace custos::api
