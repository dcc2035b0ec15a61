#include "core/sha256.h"

#include <gtest/gtest.h>

#include "core/hex.h"

namespace custos::core {
namespace {

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, StreamingEqualsOneShotAndResets) {
  Sha256 h;
  h.Update("a");
  h.Update("bc");
  EXPECT_EQ(DigestHex(h.Finish()), Sha256Hex("abc"));
  h.Update("abc");
  EXPECT_EQ(DigestHex(h.Finish()), Sha256Hex("abc"));
}

TEST(HexTest, RoundTrip) {
  std::string raw;
  ASSERT_TRUE(FromHex("00ff10Ab", raw));
  EXPECT_EQ(ToHex(raw), "00ff10ab");
  EXPECT_FALSE(FromHex("abc", raw));
  EXPECT_FALSE(FromHex("zz", raw));
  EXPECT_TRUE(IsLowerHex("0123abcdef"));
  EXPECT_FALSE(IsLowerHex("ABC"));
}

}  // namespace
}  // namespace custos::core
