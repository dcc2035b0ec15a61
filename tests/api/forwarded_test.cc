// The client's address behind trusted reverse proxies (api/forwarded.h): read from the right,
// never past the first untrusted hop, only from the configured header.
#include "api/forwarded.h"

#include <gtest/gtest.h>

#include <random>

namespace custos::api {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

TrustedProxies Proxies(std::vector<std::string> items,
                       ForwardedHeader header = ForwardedHeader::kXForwardedFor) {
  core::Result<TrustedProxies> p = TrustedProxies::Parse(items, header);
  EXPECT_TRUE(p.ok()) << p.error().message;
  return p.ok() ? *p : TrustedProxies{};
}

TEST(TrustedProxiesTest, ParsesAddressesAndBlocksAndRefusesTheRest) {
  const TrustedProxies p = Proxies({"10.0.0.0/8, 192.0.2.7", "2001:db8::/32"});
  EXPECT_TRUE(p.Contains("10.255.0.1"));
  EXPECT_TRUE(p.Contains("::ffff:10.1.2.3"));  // as a dual-stack socket reports it
  EXPECT_TRUE(p.Contains("192.0.2.7"));
  EXPECT_FALSE(p.Contains("192.0.2.8"));
  EXPECT_TRUE(p.Contains("2001:DB8:1::5"));
  EXPECT_FALSE(p.Contains("2001:db9::1"));
  EXPECT_FALSE(p.Contains("not an address"));
  EXPECT_FALSE(TrustedProxies{}.Contains("127.0.0.1"));

  struct Case {
    std::string item;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"10.0.0.1/8", "bits set past its prefix (did you mean 10.0.0.0/8?)"},
           {"10.0.0.0/33", "bad prefix length (0 to 32)"},
           {"2001:db8::/129", "bad prefix length (0 to 128)"},
           {"10.0.0.0/", "bad prefix length"},
           {"10.0.0.0/8x", "bad prefix length"},
           {"proxy.internal", "'proxy.internal' is not an address or CIDR block"},
           {"10.0.0.0/8,", "'' is not an address"},
       }) {
    core::Result<TrustedProxies> r =
        TrustedProxies::Parse({c.item}, ForwardedHeader::kXForwardedFor);
    ASSERT_FALSE(r.ok()) << c.item;
    EXPECT_NE(r.error().message.find(c.message), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.rfind("--trusted-proxy: ", 0), 0u);
  }
}

TEST(TrustedProxiesTest, TheNearestUntrustedHopIsTheClient) {
  const TrustedProxies p = Proxies({"10.0.0.0/8"});
  struct Case {
    std::string peer;
    Headers headers;
    std::string client;
  };
  for (const Case& c : std::vector<Case>{
           // From an untrusted peer, its own address whatever it says.
           {"203.0.113.5", {{"x-forwarded-for", "198.51.100.1"}}, "203.0.113.5"},
           // A trusted proxy's report.
           {"10.0.0.2", {{"x-forwarded-for", "198.51.100.1"}}, "198.51.100.1"},
           // What the client wrote itself (left of the proxy's entry) is not read.
           {"10.0.0.2", {{"x-forwarded-for", "1.1.1.1, 198.51.100.1"}}, "198.51.100.1"},
           // Through two trusted proxies.
           {"10.0.0.2", {{"x-forwarded-for", "1.1.1.1, 198.51.100.1, 10.9.9.9"}}, "198.51.100.1"},
           // Several header lines are one list, in order.
           {"10.0.0.2",
            {{"x-forwarded-for", "1.1.1.1"}, {"x-forwarded-for", "198.51.100.1, 10.3.3.3"}},
            "198.51.100.1"},
           // Every hop trusted: the farthest one.
           {"10.0.0.2", {{"x-forwarded-for", "10.1.1.1, 10.2.2.2"}}, "10.1.1.1"},
           // Nothing said, or nothing usable: the last hop known.
           {"10.0.0.2", {}, "10.0.0.2"},
           {"10.0.0.2", {{"x-forwarded-for", "unknown"}}, "10.0.0.2"},
           {"10.0.0.2", {{"x-forwarded-for", "198.51.100.1, garbage, 10.4.4.4"}}, "10.4.4.4"},
           {"10.0.0.2", {{"x-forwarded-for", ""}}, "10.0.0.2"},
           // Ports and brackets; canonical spelling.
           {"10.0.0.2", {{"x-forwarded-for", "198.51.100.1:4711"}}, "198.51.100.1"},
           {"10.0.0.2", {{"x-forwarded-for", "[2001:DB8:0::1]:443"}}, "2001:db8::1"},
           {"10.0.0.2", {{"x-forwarded-for", "2001:db8::1"}}, "2001:db8::1"},
           {"10.0.0.2", {{"x-forwarded-for", "::ffff:198.51.100.1"}}, "198.51.100.1"},
           {"::ffff:10.0.0.2", {{"x-forwarded-for", "198.51.100.1"}}, "198.51.100.1"},
           // Only the configured header: a client's own Forwarded passes through untouched.
           {"10.0.0.2",
            {{"forwarded", "for=1.1.1.1"}, {"x-forwarded-for", "198.51.100.1"}},
            "198.51.100.1"},
       }) {
    EXPECT_EQ(p.ClientAddress(c.peer, c.headers), c.client)
        << c.peer << " " << (c.headers.empty() ? "" : c.headers.back().second);
  }
}

TEST(TrustedProxiesTest, ReadsRfc7239ForwardedWhenConfigured) {
  const TrustedProxies p = Proxies({"10.0.0.0/8"}, ForwardedHeader::kForwarded);
  struct Case {
    Headers headers;
    std::string client;
  };
  for (const Case& c : std::vector<Case>{
           {{{"forwarded", "for=192.0.2.60;proto=http;by=203.0.113.43"}}, "192.0.2.60"},
           {{{"forwarded", "For=\"[2001:db8:cafe::17]:4711\""}}, "2001:db8:cafe::17"},
           {{{"forwarded", "proto=https;for=192.0.2.60"}}, "192.0.2.60"},
           {{{"forwarded", "for=1.1.1.1, for=192.0.2.60;by=10.0.0.2, for=10.7.7.7"}}, "192.0.2.60"},
           {{{"forwarded", "for=_hidden"}}, "10.0.0.2"},
           {{{"forwarded", "proto=https"}}, "10.0.0.2"},
           {{{"x-forwarded-for", "192.0.2.60"}}, "10.0.0.2"},
       }) {
    EXPECT_EQ(p.ClientAddress("10.0.0.2", c.headers), c.client) << c.headers.front().second;
  }
}

// Whatever a client puts in front of the proxies' entries, the answer is the address the
// nearest trusted proxy saw; from an untrusted peer, the peer.
TEST(TrustedProxiesTest, NoPrefixAClientWritesChangesItsAddress) {
  const TrustedProxies p = Proxies({"10.0.0.0/8", "fd00::/8"});
  std::mt19937 rng(20261202);
  auto v4 = [&](bool trusted) {
    return (trusted ? std::string("10") : std::to_string(11 + rng() % 200)) + "." +
           std::to_string(rng() % 256) + "." + std::to_string(rng() % 256) + "." +
           std::to_string(rng() % 256);
  };
  const std::vector<std::string> junk = {"unknown",     "",    "::1",      "10.0.0.1",
                                         "fd00::7",     "a,b", "[::1]:80", "300.1.1.1",
                                         "1.2.3.4:5:6", " , "};
  for (int round = 0; round < 5000; ++round) {
    std::string prefix;
    for (int i = static_cast<int>(rng() % 5); i > 0; --i) {
      prefix += (rng() % 2 ? junk[rng() % junk.size()] : v4(rng() % 2 == 0)) + ", ";
    }
    const std::string client = v4(false);
    std::string suffix = client;
    for (int i = static_cast<int>(rng() % 3); i > 0; --i) suffix += ", " + v4(true);
    const std::string peer = v4(true);
    const Headers headers = {{"x-forwarded-for", prefix + suffix}};
    ASSERT_EQ(p.ClientAddress(peer, headers), client) << prefix + suffix;
    const std::string stranger = v4(false);
    ASSERT_EQ(p.ClientAddress(stranger, headers), stranger);
  }
}

}  // namespace
}  // namespace custos::api
