// Sealed secrets: they open only with their key and their associated data, unaltered.
#include "core/sealed.h"

#include <gtest/gtest.h>

namespace custos::core {
namespace {

using namespace std::literals;

TEST(SealedTest, OpensWithItsKeyAndOwnerOnly) {
  CryptoRandom random;
  const std::string key(32, 'k');
  Result<std::string> sealed = Seal(key, "the totp secret", "acme\0usr_1"sv, random);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->find("totp"), std::string::npos);
  EXPECT_EQ(Unseal(key, *sealed, "acme\0usr_1"sv).value(), "the totp secret");
  // Two seals of one value differ (a fresh nonce each).
  EXPECT_NE(Seal(key, "the totp secret", "acme\0usr_1"sv, random).value(), *sealed);
  EXPECT_FALSE(Unseal(std::string(32, 'x'), *sealed, "acme\0usr_1"sv).ok());
  EXPECT_FALSE(Unseal(key, *sealed, "acme\0usr_2"sv).ok());
  std::string altered = *sealed;
  altered[10] = altered[10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(Unseal(key, altered, "acme\0usr_1"sv).ok());
  EXPECT_FALSE(Unseal(key, "v1.", "acme\0usr_1"sv).ok());
  EXPECT_FALSE(Unseal(key, "v2.abc", "acme\0usr_1"sv).ok());
  EXPECT_FALSE(Seal("short", "x", "", random).ok());
}

}  // namespace
}  // namespace custos::core
