// HOTP and TOTP against the RFCs' own vectors, base32 against RFC 4648's, and the rules the
// MFA login relies on: a code is accepted once, within one step either side, in constant time.
#include "core/totp.h"

#include <gtest/gtest.h>

#include "core/random.h"

namespace custos::core {
namespace {

const std::string kRfcKey = "12345678901234567890";

TEST(TotpTest, HotpMatchesRfc4226AppendixD) {
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                            "254676", "287922", "162583", "399871", "520489"};
  for (uint64_t counter = 0; counter < 10; ++counter) {
    EXPECT_EQ(Hotp(kRfcKey, counter), expected[counter]) << counter;
  }
}

TEST(TotpTest, TotpMatchesRfc6238AppendixBForSha1) {
  struct Vector {
    int64_t time;
    const char* code;
  };
  for (const Vector& v : {Vector{59, "94287082"}, Vector{1111111109, "07081804"},
                          Vector{1111111111, "14050471"}, Vector{1234567890, "89005924"},
                          Vector{2000000000, "69279037"}, Vector{20000000000, "65353130"}}) {
    EXPECT_EQ(Hotp(kRfcKey, static_cast<uint64_t>(TotpStep(v.time)), 8), v.code) << v.time;
    // Six digits are the last six of eight (the same truncated number, modulo 10^6).
    EXPECT_EQ(Hotp(kRfcKey, static_cast<uint64_t>(TotpStep(v.time))),
              std::string(v.code).substr(2));
  }
}

TEST(TotpTest, Base32MatchesRfc4648AndRoundTrips) {
  EXPECT_EQ(Base32Encode(""), "");
  EXPECT_EQ(Base32Encode("f"), "MY");
  EXPECT_EQ(Base32Encode("fo"), "MZXQ");
  EXPECT_EQ(Base32Encode("foo"), "MZXW6");
  EXPECT_EQ(Base32Encode("foob"), "MZXW6YQ");
  EXPECT_EQ(Base32Encode("fooba"), "MZXW6YTB");
  EXPECT_EQ(Base32Encode("foobar"), "MZXW6YTBOI");
  EXPECT_EQ(Base32Decode("MZXW6YTBOI======"), "foobar");
  EXPECT_EQ(Base32Decode("mzxw 6ytb oi"), "foobar");
  EXPECT_EQ(Base32Decode("MZXW1"), std::nullopt);  // 1 is not in the alphabet
  CryptoRandom random;
  for (int i = 0; i < 50; ++i) {
    std::string bytes(static_cast<size_t>(i), '\0');
    random.Fill(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size());
    EXPECT_EQ(Base32Decode(Base32Encode(bytes)), bytes);
  }
}

TEST(TotpTest, ACodeMatchesWithinOneStepEitherSideAndOnlyAfterTheLastUsed) {
  const int64_t now = 1'800'000'000;
  const int64_t step = TotpStep(now);
  const std::string current = Hotp(kRfcKey, static_cast<uint64_t>(step));
  const std::string previous = Hotp(kRfcKey, static_cast<uint64_t>(step - 1));
  const std::string next = Hotp(kRfcKey, static_cast<uint64_t>(step + 1));
  const std::string stale = Hotp(kRfcKey, static_cast<uint64_t>(step - 2));
  EXPECT_EQ(MatchTotp(kRfcKey, current, now, -1), step);
  EXPECT_EQ(MatchTotp(kRfcKey, previous, now, -1), step - 1);
  EXPECT_EQ(MatchTotp(kRfcKey, next, now, -1), step + 1);
  EXPECT_EQ(MatchTotp(kRfcKey, stale, now, -1), std::nullopt);
  // Used once: the same step, or an earlier one, is refused afterwards.
  EXPECT_EQ(MatchTotp(kRfcKey, current, now, step), std::nullopt);
  EXPECT_EQ(MatchTotp(kRfcKey, previous, now, step), std::nullopt);
  EXPECT_EQ(MatchTotp(kRfcKey, next, now, step), step + 1);
  // Not six digits, or another key's code: no match.
  EXPECT_EQ(MatchTotp(kRfcKey, current + "0", now, -1), std::nullopt);
  EXPECT_EQ(MatchTotp(kRfcKey, "", now, -1), std::nullopt);
  const std::string other = "another key of twenty";
  if (Hotp(other, static_cast<uint64_t>(step)) != current) {
    EXPECT_NE(MatchTotp(other, current, now, -1), step);
  }
}

TEST(TotpTest, OtpauthUriCarriesTheParametersAppsRead) {
  EXPECT_EQ(
      OtpauthUri("Custos acme", "ada@acme.test", "JBSWY3DPEHPK3PXP"),
      "otpauth://totp/Custos%20acme:ada%40acme.test?secret=JBSWY3DPEHPK3PXP&issuer=Custos%20acme"
      "&algorithm=SHA1&digits=6&period=30");
}

}  // namespace
}  // namespace custos::core
