// Behind a reverse proxy (an ingress, a load balancer) every connection comes from the proxy,
// and the client's address is only in a header the proxy adds. TrustedProxies says which
// peers may say so, and which header they maintain, and finds the client's address the way
// nginx's real_ip_recursive and Envoy's xff_num_trusted_hops do: the list's entries are read
// from the right (the nearest hop first), each trusted proxy's report is believed, and the
// first address that is not a trusted proxy is the client. Entries further left were written
// by the client itself and are never read, so no client can choose its own address.
//
// Only the configured header is read: a proxy that keeps X-Forwarded-For passes a client's
// own `Forwarded` through untouched, so reading both would let the client pick.
//
// Addresses are canonical (inet_ntop's form; an IPv4-mapped IPv6 address is its IPv4 one),
// so that one client is one key for the per-address limits however it is spelled.
//
// Thread-safety: immutable after Parse.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace custos::api {

enum class ForwardedHeader : uint8_t {
  kXForwardedFor,  // X-Forwarded-For: client, proxy1, proxy2
  kForwarded,      // RFC 7239: Forwarded: for=client, for="[2001:db8::1]:4711"
};

class TrustedProxies {
 public:
  TrustedProxies() = default;
  // Each item an address or CIDR block (10.0.0.0/8, 2001:db8::/32, 192.0.2.7), or several
  // separated by commas. A block with bits set past its prefix is refused (10.0.0.1/8 is
  // more likely a typo than 10.0.0.0/8).
  [[nodiscard]] static core::Result<TrustedProxies> Parse(const std::vector<std::string>& items,
                                                          ForwardedHeader header);

  [[nodiscard]] bool empty() const { return networks_.empty(); }
  [[nodiscard]] bool Contains(std::string_view address) const;
  // The client's address for a request from `peer` with these headers (names lowercased).
  [[nodiscard]] std::string ClientAddress(
      std::string_view peer, const std::vector<std::pair<std::string, std::string>>& headers) const;

 private:
  struct Network {
    std::array<uint8_t, 16> bytes{};  // IPv4 as IPv4-mapped IPv6
    int prefix = 0;                   // of the 128 bits
  };
  std::vector<Network> networks_;
  ForwardedHeader header_ = ForwardedHeader::kXForwardedFor;
};

// `text` as inet_ntop writes it (IPv4-mapped IPv6 as IPv4), or nullopt if it is no address.
[[nodiscard]] std::optional<std::string> CanonicalAddress(std::string_view text);

}  // namespace custos::api
