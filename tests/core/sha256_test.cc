#include "core/sha256.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

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

TEST(HmacSha256Test, Rfc4231Vectors) {
  EXPECT_EQ(DigestHex(HmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(DigestHex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // A key longer than the block is hashed first (test case 6).
  EXPECT_EQ(DigestHex(HmacSha256(std::string(131, '\xaa'),
                                 "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacSha256Test, AgreesWithLibcryptosHmacAtEveryKeyLengthAroundTheBlock) {
  for (size_t key_size = 0; key_size <= 130; ++key_size) {
    for (size_t message_size : {0, 1, 55, 56, 64, 119, 415}) {
      std::string key(key_size, '\0');
      for (size_t i = 0; i < key_size; ++i) key[i] = static_cast<char>(i * 7 + key_size);
      const std::string message(message_size, static_cast<char>('a' + key_size % 26));
      Sha256Digest want{};
      unsigned int len = 0;
      static const unsigned char kNone = 0;
      ASSERT_NE(
          HMAC(EVP_sha256(),
               key.empty() ? &kNone : reinterpret_cast<const unsigned char*>(key.data()),
               static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
               message.size(), want.data(), &len),
          nullptr);
      EXPECT_EQ(HmacSha256(key, message), want) << key_size << " " << message_size;
    }
  }
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

TEST(HexTest, LowerHexIsExactlyTheDigitsAndAToFInEveryPosition) {
  for (int c = 0; c < 256; ++c) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    for (size_t at : {size_t{0}, size_t{31}, size_t{63}}) {
      std::string s(64, 'f');
      s[at] = static_cast<char>(c);
      EXPECT_EQ(IsLowerHex(s), hex) << "byte " << c << " at " << at;
    }
  }
}

}  // namespace
}  // namespace custos::core

#include "core/base64.h"

namespace custos::core {
namespace {

TEST(Base64Test, UrlRoundTripAndStrictness) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00\x01"}) {
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(s)), s);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(Base64UrlDecode("a").has_value());
  EXPECT_FALSE(Base64UrlDecode("ab=").has_value());
  EXPECT_FALSE(Base64UrlDecode("ab+/").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zm9=").has_value());
  EXPECT_EQ(Base64Decode("Zm9vYmFy"), "foobar");
  EXPECT_EQ(Base64Decode("Zm9vYg=="), "foob");
  EXPECT_EQ(Base64Decode("YTpi"), "a:b");
  EXPECT_FALSE(Base64Decode("Zm9vYg=").has_value());
}

}  // namespace
}  // namespace custos::core
