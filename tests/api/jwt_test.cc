// Access tokens as RFC 9068 has them, in both algorithms (api/jwt.h).
#include "api/jwt.h"

#include "core/ed25519_key.h"

#include <gtest/gtest.h>

#include "core/base64.h"
#include "core/json_value.h"
#include "tests/support/test_support.h"

namespace custos::api {
namespace {

const core::Time kNow = core::FromUnixMillis(1'800'000'000'000);

TokenClaims Claims(std::string typ) {
  TokenClaims c;
  c.sub = "cli_1";
  c.tenant = "acme";
  c.typ = std::move(typ);
  c.jti = "jti-1";
  c.iat = kNow;
  c.exp = kNow + std::chrono::minutes(10);
  return c;
}

core::JsonValue Part(const std::string& token, int index) {
  size_t start = 0;
  for (int i = 0; i < index; ++i) start = token.find('.', start) + 1;
  const size_t end = token.find('.', start);
  return core::ParseJson(*core::Base64UrlDecode(token.substr(start, end - start))).value();
}

class JwtTest : public ::testing::TestWithParam<JwtAlg> {
 protected:
  std::unique_ptr<TokenSigner> Signer(const std::string& file,
                                      std::vector<std::string> audiences = {}) {
    auto s = TokenSigner::LoadOrCreate(dir_.File(file), "https://id.example", GetParam(),
                                       std::move(audiences));
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s.ok() ? std::move(s).value() : nullptr;
  }
  testing::TempDir dir_;
};

TEST_P(JwtTest, TokensAreRfc9068AccessTokens) {
  auto signer = Signer("key.pem", {"https://api.example", "https://billing.example"});
  const std::string token = signer->Sign(Claims("api_client"));
  const core::JsonValue header = Part(token, 0);
  EXPECT_EQ(header.Find("typ")->text(), "at+jwt");
  EXPECT_EQ(header.Find("alg")->text(), signer->alg_name());
  EXPECT_EQ(header.Find("kid")->text(), signer->kid());
  const core::JsonValue payload = Part(token, 1);
  EXPECT_EQ(payload.Find("client_id")->text(), "cli_1");
  // By default for Custos itself and the first configured resource server.
  core::Result<TokenClaims> back = signer->Verify(token, kNow);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->aud, (std::vector<std::string>{"https://id.example", "https://api.example"}));

  // Asked for one resource server: that server's alone. Custos's own API refuses it;
  // introspection and revocation (kAny) still know it.
  TokenClaims user = Claims("user");
  user.aud = {"https://billing.example"};
  const std::string user_token = signer->Sign(user);
  EXPECT_EQ(Part(user_token, 1).Find("client_id")->text(), kLoginClientId);
  EXPECT_EQ(Part(user_token, 1).Find("aud")->text(), "https://billing.example");
  core::Result<TokenClaims> for_custos = signer->Verify(user_token, kNow);
  ASSERT_FALSE(for_custos.ok());
  EXPECT_NE(for_custos.error().message.find("for another resource server"), std::string::npos);
  core::Result<TokenClaims> any = signer->Verify(user_token, kNow, TokenSigner::Audience::kAny);
  ASSERT_TRUE(any.ok()) << any.error().message;
  EXPECT_EQ(any->aud, std::vector<std::string>{"https://billing.example"});

  // Without audiences, the issuer alone.
  auto plain = Signer("plain.pem");
  EXPECT_EQ(Part(plain->Sign(Claims("root")), 1).Find("aud")->text(), "https://id.example");
  EXPECT_TRUE(plain->KnownAudience("https://id.example"));
  EXPECT_FALSE(plain->KnownAudience("https://api.example"));
}

TEST_P(JwtTest, ExpiredOrForeignTokensAreRefused) {
  auto signer = Signer("key.pem");
  EXPECT_NE(signer->Verify(signer->Sign(Claims("api_client")), kNow + std::chrono::minutes(10))
                .error()
                .message.find("expired"),
            std::string::npos);
  TokenClaims other_issuer = Claims("api_client");
  other_issuer.iss = "https://evil.example";
  EXPECT_NE(signer->Verify(signer->Sign(other_issuer), kNow).error().message.find("issuer"),
            std::string::npos);
}

// ES256's JOSE form of DER signatures, whatever the lengths of r and s (DER drops leading
// zero bytes, about one signature in 128), and only the low s accepted.
TEST(JwtEs256Test, EverySignatureRoundTripsAndTheHighSTwinIsRefused) {
  testing::TempDir dir;
  auto signer =
      TokenSigner::LoadOrCreate(dir.File("es.pem"), "https://id.example", JwtAlg::kES256).value();
  for (int i = 0; i < 2000; ++i) {
    TokenClaims c = Claims("api_client");
    c.jti = "jti-" + std::to_string(i);
    const std::string token = signer->Sign(c);
    const std::string sig = core::Base64UrlDecode(token.substr(token.rfind('.') + 1)).value();
    ASSERT_EQ(sig.size(), 64u) << i;
    ASSERT_TRUE(signer->Verify(token, kNow).ok()) << i;
    if (i < 20) {
      // s' = n - s: the same signature to OpenSSL, refused here.
      static const unsigned char kN[32] = {0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00,
                                           0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                           0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84,
                                           0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51};
      std::string twin = sig;
      int borrow = 0;
      for (int k = 31; k >= 0; --k) {
        int d = kN[k] - static_cast<unsigned char>(sig[32 + k]) - borrow;
        borrow = d < 0 ? 1 : 0;
        twin[32 + k] = static_cast<char>(d < 0 ? d + 256 : d);
      }
      const std::string malleated =
          token.substr(0, token.rfind('.') + 1) + core::Base64UrlEncode(twin);
      ASSERT_FALSE(signer->Verify(malleated, kNow).ok()) << i;
    }
  }
}

TEST_P(JwtTest, AnotherAudienceTypeOrAlgorithmIsRefused) {
  auto signer = Signer("key.pem", {"https://api.example"});
  auto stranger = Signer("other.pem", {"https://elsewhere.example"});
  const std::string foreign = stranger->Sign(Claims("api_client"));
  EXPECT_FALSE(signer->Verify(foreign, kNow).ok());  // another key (kid)
  // A token of this key for an audience it does not serve.
  TokenClaims c = Claims("api_client");
  c.aud = {"https://elsewhere.example"};
  core::Result<TokenClaims> wrong = signer->Verify(signer->Sign(c), kNow);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("wrong audience"), std::string::npos);
  // The header rewritten to `typ: JWT` (an ID token or another JWT): refused before the
  // signature matters.
  const std::string token = signer->Sign(Claims("api_client"));
  const std::string header = std::string("{\"alg\":\"") + signer->alg_name() +
                             "\",\"typ\":\"JWT\",\"kid\":\"" + signer->kid() + "\"}";
  const std::string retyped = core::Base64UrlEncode(header) + token.substr(token.find('.'));
  EXPECT_NE(signer->Verify(retyped, kNow).error().message.find("typ must be at+jwt"),
            std::string::npos);
  // The other algorithm named in the header.
  const std::string other_alg = GetParam() == JwtAlg::kEdDSA ? "ES256" : "EdDSA";
  const std::string realg =
      core::Base64UrlEncode("{\"alg\":\"" + other_alg + "\",\"typ\":\"at+jwt\",\"kid\":\"" +
                            signer->kid() + "\"}") +
      token.substr(token.find('.'));
  EXPECT_NE(signer->Verify(realg, kNow).error().message.find("algorithm not allowed"),
            std::string::npos);
  // A flipped signature byte.
  std::string flipped = token;
  flipped[flipped.size() - 5] = flipped[flipped.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(signer->Verify(flipped, kNow).ok());
}

TEST_P(JwtTest, ARotatedKeyKeepsVerifyingWhatItSignedForADayAndNothingAfterItsRetirement) {
  auto signer = Signer("key.pem");
  const std::string before = signer->Sign(Claims("api_client"));
  const std::string old_kid = signer->kid();
  core::Result<TokenSigner::Rotated> r = signer->Rotate(kNow + std::chrono::seconds(1));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->retired_kid, old_kid);
  EXPECT_EQ(r->kid, signer->kid());
  EXPECT_NE(r->kid, old_kid);
  const std::string after = signer->Sign(Claims("api_client"));
  EXPECT_EQ(Part(after, 0).Find("kid")->text(), r->kid);
  EXPECT_TRUE(signer->Verify(before, kNow).ok());
  EXPECT_TRUE(signer->Verify(after, kNow).ok());
  // The JWKS: the current key first, then the retired one, until kRetiredKeyLife has passed.
  const core::JsonValue jwks = core::ParseJson(signer->JwksJson(kNow)).value();
  ASSERT_EQ(jwks.Find("keys")->items().size(), 2u);
  EXPECT_EQ(jwks.Find("keys")->items()[0].Find("kid")->text(), r->kid);
  EXPECT_EQ(jwks.Find("keys")->items()[1].Find("kid")->text(), old_kid);
  const core::Time later = kNow + TokenSigner::kRetiredKeyLife + std::chrono::seconds(2);
  EXPECT_EQ(core::ParseJson(signer->JwksJson(later)).value().Find("keys")->items().size(), 1u);
  TokenClaims long_lived = Claims("api_client");
  long_lived.exp = kNow + std::chrono::hours(48);
  auto reloaded = Signer("key.pem");  // the same files: the retired key comes back from disk
  ASSERT_NE(reloaded, nullptr);
  EXPECT_EQ(reloaded->kid(), r->kid);
  EXPECT_TRUE(reloaded->Verify(before, kNow).ok());
  EXPECT_EQ(core::ParseJson(reloaded->JwksJson(kNow)).value().Find("keys")->items().size(), 2u);
  // A token the retired key "signed" after its retirement (a stolen key) is refused, as is
  // one it signed before, once the key's time is over.
  auto old = Signer("old.pem");
  ASSERT_NE(old, nullptr);
  const std::string signed_before = old->Sign(long_lived);
  TokenClaims late = long_lived;
  late.iat = kNow + std::chrono::minutes(5);
  const std::string signed_late = old->Sign(late);
  ASSERT_TRUE(old->Rotate(kNow + std::chrono::seconds(1)).ok());
  EXPECT_TRUE(old->Verify(signed_before, kNow + std::chrono::hours(1)).ok());
  EXPECT_EQ(old->Verify(signed_late, kNow + std::chrono::hours(1)).error().message,
            "invalid token: signed by a retired key");
  EXPECT_EQ(old->Verify(signed_before, later).error().message, "invalid token: unknown kid");
}

TEST_P(JwtTest, ARevokedKeyVerifiesNothingAndIsNotPublishedEvenAfterARestart) {
  auto signer = Signer("key.pem");
  const std::string before = signer->Sign(Claims("api_client"));
  const std::string old_kid = signer->kid();
  core::Result<TokenSigner::Rotated> r = signer->Rotate(kNow, /*revoke=*/true);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->retired_kid, old_kid);
  EXPECT_EQ(signer->Verify(before, kNow).error().message, "invalid token: unknown kid");
  EXPECT_TRUE(signer->Verify(signer->Sign(Claims("api_client")), kNow).ok());
  const core::JsonValue jwks = core::ParseJson(signer->JwksJson(kNow)).value();
  ASSERT_EQ(jwks.Find("keys")->items().size(), 1u);
  EXPECT_EQ(jwks.Find("keys")->items()[0].Find("kid")->text(), r->kid);
  auto reloaded = Signer("key.pem");
  ASSERT_NE(reloaded, nullptr);
  EXPECT_FALSE(reloaded->Verify(before, kNow).ok());
  EXPECT_EQ(core::ParseJson(reloaded->JwksJson(kNow)).value().Find("keys")->items().size(), 1u);
  // A key retired in haste before the revocation (the leaked one, maybe) is dropped with it.
  const std::string second = reloaded->Sign(Claims("api_client"));
  ASSERT_TRUE(reloaded->Rotate(kNow).ok());
  const std::string third = reloaded->Sign(Claims("api_client"));
  ASSERT_TRUE(reloaded->Verify(second, kNow).ok());
  ASSERT_TRUE(reloaded->Rotate(kNow, /*revoke=*/true).ok());
  EXPECT_FALSE(reloaded->Verify(second, kNow).ok());
  EXPECT_FALSE(reloaded->Verify(third, kNow).ok());
  EXPECT_EQ(core::ParseJson(Signer("key.pem")->JwksJson(kNow)).value().Find("keys")->items().size(),
            1u);
}

TEST_P(JwtTest, ARevocationCutShortNeverLeavesTheRevokedKeyCurrent) {
  auto signer = Signer("key.pem");
  ASSERT_TRUE(signer->Rotate(kNow).ok());  // one retired key on file
  const std::string leaked = signer->Sign(Claims("api_client"));
  const std::string retired = testing::ReadFile(core::RetiredKeysPath(dir_.File("key.pem")));
  ASSERT_TRUE(signer->Rotate(kNow, /*revoke=*/true).ok());
  // A crash after the new key was written and before the retired list was: the list of before.
  testing::WriteFile(core::RetiredKeysPath(dir_.File("key.pem")), retired);
  auto again = Signer("key.pem");
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->kid(), signer->kid());
  EXPECT_FALSE(again->Verify(leaked, kNow).ok()) << "the revoked key is neither current nor listed";
}

TEST_P(JwtTest, ARotationCutShortLeavesTheOldKeyCurrentAndListedOnce) {
  auto signer = Signer("key.pem");
  const std::string kid = signer->kid();
  const std::string token = signer->Sign(Claims("api_client"));
  const std::string pem = testing::ReadFile(dir_.File("key.pem"));
  ASSERT_TRUE(signer->Rotate(kNow).ok());
  // A crash after the retired entry was written and before the new key replaced the old one.
  testing::WriteFile(dir_.File("key.pem"), pem);
  auto again = Signer("key.pem");
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->kid(), kid);
  EXPECT_TRUE(again->Verify(token, kNow).ok());
  EXPECT_EQ(core::ParseJson(again->JwksJson(kNow)).value().Find("keys")->items().size(), 1u);
  ASSERT_TRUE(again->Rotate(kNow).ok());
  EXPECT_EQ(core::ParseJson(again->JwksJson(kNow)).value().Find("keys")->items().size(), 2u);
  EXPECT_TRUE(again->Verify(token, kNow).ok());
}

TEST_P(JwtTest, AFollowerVerifiesTheLeadersTokensWithItsJwksAndSignsNothing) {
  auto leader = Signer("leader.pem", {"https://api.example"});
  auto follower =
      TokenSigner::ForLeader("https://id.example", leader->JwksJson(kNow), {"https://api.example"});
  ASSERT_TRUE(follower.ok()) << follower.error().message;
  TokenSigner& f = **follower;
  EXPECT_TRUE(f.verifies_only());
  EXPECT_EQ(f.alg(), GetParam());
  EXPECT_EQ(f.JwksJson(kNow), leader->JwksJson(kNow));
  const std::string token = leader->Sign(Claims("user"));
  core::Result<TokenClaims> back = f.Verify(token, kNow);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->sub, "cli_1");
  EXPECT_EQ(f.Sign(Claims("user")), "");
  EXPECT_FALSE(f.Rotate(kNow).ok());
  // Another issuer's tokens, or an expired one, are refused as on the leader.
  auto other = Signer("other.pem");
  EXPECT_FALSE(f.Verify(other->Sign(Claims("user")), kNow).ok());
  EXPECT_FALSE(f.Verify(token, kNow + std::chrono::hours(1)).ok());

  // A rotation on the leader: the new kid is unknown (the hook asks for the keys) until the
  // follower takes the new JWKS; a revoked key then verifies nothing.
  int asked = 0;
  f.set_unknown_kid_hook([&] {
    ++asked;
    return false;
  });
  ASSERT_TRUE(leader->Rotate(kNow, /*revoke=*/true).ok());
  const std::string fresh = leader->Sign(Claims("user"));
  EXPECT_FALSE(f.Verify(fresh, kNow).ok());
  EXPECT_EQ(asked, 1);
  // While a fetch is coming, the unknown kid is a retry, not a refusal.
  f.set_unknown_kid_hook([] { return true; });
  EXPECT_EQ(f.Verify(fresh, kNow).error().code, core::Errc::kUnavailable);
  ASSERT_TRUE(f.TakeJwks(leader->JwksJson(kNow)).ok());
  EXPECT_TRUE(f.Verify(fresh, kNow).ok());
  EXPECT_FALSE(f.Verify(token, kNow).ok());
}

TEST_P(JwtTest, AJwksWhoseKeysAreNotWhatTheySayIsRefused) {
  auto leader = Signer("leader.pem");
  const std::string jwks = leader->JwksJson(kNow);
  const std::string kid = leader->kid();
  std::string wrong_kid = jwks;
  wrong_kid.replace(wrong_kid.find(kid), kid.size(), std::string(kid.size(), '0'));
  for (const std::string& bad :
       {wrong_kid, std::string("{\"keys\":[]}"), std::string("[]"), std::string("not json"),
        std::string(R"({"keys":[{"kty":"oct","k":"c2VjcmV0","alg":"HS256","kid":"x"}]})")}) {
    EXPECT_FALSE(TokenSigner::ForLeader("https://id.example", bad).ok()) << bad;
  }
  // A hostile leader's endless key set is refused before it is parsed.
  std::string huge = R"({"keys":[)" + std::string(70 << 10, ' ') + "]}";
  EXPECT_FALSE(TokenSigner::ForLeader("https://id.example", huge).ok());
  auto f = TokenSigner::ForLeader("https://id.example", jwks);
  ASSERT_TRUE(f.ok());
  // Keys of the other algorithm do not replace these.
  testing::TempDir dir;
  auto other =
      TokenSigner::LoadOrCreate(dir.File("k.pem"), "https://id.example",
                                GetParam() == JwtAlg::kEdDSA ? JwtAlg::kES256 : JwtAlg::kEdDSA);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE((*f)->TakeJwks((*other)->JwksJson(kNow)).ok());
  EXPECT_TRUE((*f)->Verify(leader->Sign(Claims("user")), kNow).ok());
  // A leader signer is no follower's.
  EXPECT_FALSE(leader->TakeJwks(jwks).ok());
}

INSTANTIATE_TEST_SUITE_P(Algorithms, JwtTest, ::testing::Values(JwtAlg::kEdDSA, JwtAlg::kES256),
                         [](const ::testing::TestParamInfo<JwtAlg>& info) {
                           return info.param == JwtAlg::kEdDSA ? "EdDSA" : "ES256";
                         });

TEST(JwtKeyTest, AKeyFileOfTheOtherTypeIsNotReplaced) {
  testing::TempDir dir;
  ASSERT_TRUE(TokenSigner::LoadOrCreate(dir.File("k.pem"), "https://id.example").ok());
  const std::string before = testing::ReadFile(dir.File("k.pem"));
  auto es = TokenSigner::LoadOrCreate(dir.File("k.pem"), "https://id.example", JwtAlg::kES256);
  ASSERT_FALSE(es.ok());
  EXPECT_NE(es.error().message.find("is not a P-256 private key"), std::string::npos);
  EXPECT_EQ(testing::ReadFile(dir.File("k.pem")), before);
}

}  // namespace
}  // namespace custos::api
