// The address check that keeps a tenant's identity provider URL off the node's own network
// (storage::PublicAddress, single sign-on's outbound calls).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "storage/curl_poster.h"

namespace custos::storage {
namespace {

bool Public(const char* text) {
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  if (inet_pton(AF_INET, text, &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    return PublicAddress(reinterpret_cast<const sockaddr*>(&v4));
  }
  EXPECT_EQ(inet_pton(AF_INET6, text, &v6.sin6_addr), 1) << text;
  v6.sin6_family = AF_INET6;
  return PublicAddress(reinterpret_cast<const sockaddr*>(&v6));
}

TEST(PublicAddressTest, RefusesEveryLocalRangeInEitherFamily) {
  for (const char* local :
       {"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
        "100.64.0.1", "0.0.0.0", "192.0.0.8", "198.18.0.1", "224.0.0.1", "255.255.255.255", "::",
        "::1", "fe80::1", "fec0::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1",
        "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "2002:a00:1::1", "64:ff9b:1::1"}) {
    EXPECT_FALSE(Public(local)) << local;
  }
  for (const char* remote : {"8.8.8.8", "172.32.0.1", "192.169.0.1", "100.128.0.1", "1.1.1.1",
                             "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"}) {
    EXPECT_TRUE(Public(remote)) << remote;
  }
}

}  // namespace
}  // namespace custos::storage
