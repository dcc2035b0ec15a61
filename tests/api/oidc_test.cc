// The ID token checks of single sign-on (api/oidc.h), with keys made here by OpenSSL: what a
// provider signs is accepted, and every way a token can be wrong is refused with its reason.
#include "api/oidc.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <map>

#include "api/jose.h"
#include "core/base64.h"
#include "core/json_writer.h"

namespace custos::api {
namespace {

std::string B64(std::string_view s) { return core::Base64UrlEncode(s); }

std::string BnParam(EVP_PKEY* key, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, name, &bn), 1);
  std::string out(pad > 0 ? pad : BN_num_bytes(bn), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  BN_free(bn);
  return out;
}

struct Signer {
  std::string kid;
  std::string alg;
  core::Pkey key;

  std::string Jwk() const {
    core::JsonWriter w;
    w.BeginObject().Key("kid").String(kid).Key("use").String("sig").Key("alg").String(alg);
    if (alg == "RS256") {
      w.Key("kty").String("RSA");
      w.Key("n").String(B64(BnParam(key.get(), OSSL_PKEY_PARAM_RSA_N)));
      w.Key("e").String(B64(BnParam(key.get(), OSSL_PKEY_PARAM_RSA_E)));
    } else {
      w.Key("kty").String("EC").Key("crv").String("P-256");
      w.Key("x").String(B64(BnParam(key.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32)));
      w.Key("y").String(B64(BnParam(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32)));
    }
    w.EndObject();
    return w.Take();
  }

  // A JWS of `payload`; `high_s` turns an ES256 signature into its other valid form.
  std::string Sign(const std::string& payload, const std::string& header_alg = "",
                   bool high_s = false) const {
    const std::string header = "{\"alg\":\"" + (header_alg.empty() ? alg : header_alg) +
                               "\",\"kid\":\"" + kid + "\",\"typ\":\"JWT\"}";
    const std::string input = B64(header) + "." + B64(payload);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = 0;
    EXPECT_EQ(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.get()), 1);
    EXPECT_EQ(EVP_DigestSign(ctx, nullptr, &len,
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()),
              1);
    std::string sig(len, '\0');
    EXPECT_EQ(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()),
              1);
    EVP_MD_CTX_free(ctx);
    sig.resize(len);
    if (alg == "ES256") {
      sig = DerToJose(reinterpret_cast<const unsigned char*>(sig.data()), sig.size()).value();
      if (high_s) {
        BIGNUM* n = nullptr;
        BN_hex2bn(&n, "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
        BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data() + 32), 32, nullptr);
        BN_sub(s, n, s);
        BN_bn2binpad(s, reinterpret_cast<unsigned char*>(sig.data() + 32), 32);
        BN_free(n);
        BN_free(s);
      }
    }
    return input + "." + B64(sig);
  }
};

Signer Rsa(const std::string& kid, unsigned bits = 2048) {
  return Signer{kid, "RS256", core::Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{bits}))};
}
Signer Ec(const std::string& kid) {
  return Signer{kid, "ES256", core::Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"))};
}

class IdTokenTest : public ::testing::Test {
 protected:
  IdTokenTest() : rsa(Rsa("r1")), ec(Ec("e1")) {
    keys = ParseOidcJwks("{\"keys\":[" + rsa.Jwk() + "," + ec.Jwk() + "]}").value();
    expect = IdTokenExpect{"https://idp.example.com", "custos", "n-123", "groups",
                           core::FromUnixMillis(int64_t{1'800'000'000} * 1000)};
  }

  // Claims as a provider sends them; `changed` members (name → JSON) replace or add.
  static std::string Claims(const std::map<std::string, std::string>& changed = {}) {
    std::map<std::string, std::string> c = {{"iss", "\"https://idp.example.com\""},
                                            {"aud", "\"custos\""},
                                            {"sub", "\"u-1\""},
                                            {"iat", "1800000000"},
                                            {"exp", "1800000300"},
                                            {"nonce", "\"n-123\""},
                                            {"email", "\"ada@acme.test\""},
                                            {"email_verified", "true"},
                                            {"given_name", "\"Ada\""},
                                            {"groups", "[\"eng\",\"ops\",7]"}};
    for (const auto& [k, v] : changed) c[k] = v;
    std::string out = "{";
    for (const auto& [k, v] : c) out += (out.size() > 1 ? ",\"" : "\"") + k + "\":" + v;
    return out + "}";
  }
  std::string ReasonOf(const std::string& token) const {
    core::Result<IdTokenClaims> r = VerifyIdToken(token, keys, expect);
    return r.ok() ? "ok" : r.error().message;
  }

  Signer rsa;
  Signer ec;
  OidcKeys keys;
  IdTokenExpect expect;
};

TEST_F(IdTokenTest, AcceptsRs256AndEs256InBothSignatureForms) {
  core::Result<IdTokenClaims> c = VerifyIdToken(rsa.Sign(Claims()), keys, expect);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->sub, "u-1");
  EXPECT_EQ(c->email, "ada@acme.test");
  EXPECT_EQ(c->given_name, "Ada");
  EXPECT_EQ(c->groups, (std::vector<std::string>{"eng", "ops"}));
  EXPECT_EQ(ReasonOf(ec.Sign(Claims())), "ok");
  // Another issuer's ECDSA signatures need not be low-S.
  EXPECT_EQ(ReasonOf(ec.Sign(Claims(), "", true)), "ok");
  // aud as a list with azp naming the client; a string email_verified some providers send.
  EXPECT_EQ(ReasonOf(rsa.Sign(Claims({{"aud", "[\"custos\",\"api\"]"}, {"azp", "\"custos\""}}))),
            "ok");
  EXPECT_EQ(ReasonOf(rsa.Sign(Claims({{"email_verified", "\"true\""}}))), "ok");
}

TEST_F(IdTokenTest, RefusesEachWrongClaimWithItsReason) {
  EXPECT_EQ(ReasonOf(rsa.Sign(Claims({{"iss", "\"https://evil.example.com\""}}))), "bad_issuer");
  EXPECT_EQ(ReasonOf(rsa.Sign(Claims({{"aud", "\"someone-else\""}}))), "bad_audience");
  EXPECT_EQ(ReasonOf(rsa.Sign(Claims({{"aud", "[\"custos\",\"api\"]"}}))), "bad_audience");
  EXPECT_EQ(ReasonOf(rsa.Sign(Claims({{"azp", "\"api\""}}))), "bad_audience");
  EXPECT_EQ(ReasonOf(rsa.Sign(Claims({{"exp", "1799999000"}}))), "expired");
  EXPECT_EQ(ReasonOf(rsa.Sign(Claims({{"iat", "1800001000"}}))), "issued_in_the_future");
  EXPECT_EQ(ReasonOf(rsa.Sign(Claims({{"nonce", "\"n-999\""}}))), "bad_nonce");
  EXPECT_EQ(ReasonOf(rsa.Sign(Claims({{"email_verified", "false"}}))), "email_not_verified");
  EXPECT_EQ(ReasonOf(rsa.Sign(Claims({{"email", "\"\""}}))), "no_email");
  EXPECT_EQ(ReasonOf(rsa.Sign(Claims({{"sub", "\"\""}}))), "bad_subject");
}

TEST_F(IdTokenTest, RefusesForgedAndMalformedTokens) {
  const std::string good = rsa.Sign(Claims());
  // The payload changed after signing.
  const size_t dot = good.find('.');
  const std::string forged =
      good.substr(0, dot + 1) + B64(Claims({{"sub", "\"admin\""}})) + good.substr(good.rfind('.'));
  EXPECT_EQ(ReasonOf(forged), "bad_signature");
  // A key not in the JWKS under a kid that is.
  EXPECT_EQ(ReasonOf(Rsa("r1").Sign(Claims())), "bad_signature");
  // "none", an HMAC, and an RSA key's kid claimed for ES256.
  const std::string none = B64("{\"alg\":\"none\"}") + "." + B64(Claims()) + ".";
  EXPECT_EQ(ReasonOf(none), "bad_algorithm");
  EXPECT_EQ(ReasonOf(rsa.Sign(Claims(), "HS256")), "bad_algorithm");
  Signer ec_as_rsa{"r1", "ES256", core::Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"))};
  EXPECT_EQ(ReasonOf(ec_as_rsa.Sign(Claims())), "unknown_kid");
  core::Result<IdTokenClaims> unknown = VerifyIdToken(Rsa("r9").Sign(Claims()), keys, expect);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, core::Errc::kNotFound);
  EXPECT_EQ(ReasonOf("a.b"), "malformed_id_token");
  EXPECT_EQ(ReasonOf(std::string(20000, 'a')), "malformed_id_token");
}

TEST(OidcJwksTest, KeepsUsableSigningKeysOnly) {
  const Signer small = Rsa("small", 1024);
  const Signer rsa = Rsa("r1");
  const Signer ec = Ec("e1");
  const std::string enc =
      "{\"kty\":\"RSA\",\"kid\":\"enc\",\"use\":\"enc\",\"n\":\"AQAB\",\"e\":\"AQAB\"}";
  const std::string oct = "{\"kty\":\"oct\",\"kid\":\"h\",\"k\":\"c2VjcmV0\"}";
  core::Result<OidcKeys> keys = ParseOidcJwks("{\"keys\":[" + small.Jwk() + "," + enc + "," + oct +
                                              "," + rsa.Jwk() + "," + ec.Jwk() + "]}");
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0]->kid, "r1");
  EXPECT_EQ((*keys)[1]->alg, "ES256");
  EXPECT_FALSE(ParseOidcJwks("[]").ok());
  EXPECT_FALSE(ParseOidcJwks("{\"keys\":{}}").ok());
}

// The client over a fake outbound HTTP: discovery must name the configured issuer, endpoints
// must be https, a provider that fails is not asked again within seconds, and an unknown kid
// fetches the keys once more.
TEST(OidcClientTest, DiscoveryKeysAndTheCodeExchange) {
  const Signer first = Rsa("k1");
  const Signer second = Rsa("k2");
  std::string jwks = "{\"keys\":[" + first.Jwk() + "]}";
  std::string discovery =
      "{\"issuer\":\"https://idp.example.com\",\"authorization_endpoint\":"
      "\"https://idp.example.com/auth\",\"token_endpoint\":\"https://idp.example.com/token\","
      "\"jwks_uri\":\"https://idp.example.com/jwks\"}";
  std::vector<OutboundRequest> seen;
  std::string token;
  OidcClient client([&](const OutboundRequest& req) -> core::Result<OutboundAnswer> {
    seen.push_back(req);
    if (req.url == "https://idp.example.com/.well-known/openid-configuration") {
      return OutboundAnswer{200, discovery};
    }
    if (req.url == "https://idp.example.com/jwks") return OutboundAnswer{200, jwks};
    if (req.url == "https://idp.example.com/token") {
      return OutboundAnswer{200, "{\"id_token\":\"" + token + "\"}"};
    }
    return core::Unavailable("no route");
  });
  const core::Time now = core::FromUnixMillis(int64_t{1'800'000'000} * 1000);
  core::Result<std::shared_ptr<const OidcProvider>> p =
      client.Provider("https://idp.example.com", now);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ((*p)->token_endpoint, "https://idp.example.com/token");

  const std::string claims =
      "{\"iss\":\"https://idp.example.com\",\"aud\":\"c 1\",\"sub\":\"u\",\"iat\":1800000000,"
      "\"exp\":1800000300,\"nonce\":\"n\",\"email\":\"a@b.test\",\"email_verified\":true}";
  token = first.Sign(claims);
  core::Result<std::string> id =
      client.ExchangeCode(**p, "c 1", "s:ecret", "the code", "https://custos/cb", "verifier");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(seen.back().form_body,
            "grant_type=authorization_code&code=the%20code&redirect_uri=https%3A%2F%2Fcustos%2Fcb"
            "&code_verifier=verifier");
  // RFC 6749 §2.3.1: id and secret form-encoded, then Basic.
  EXPECT_EQ(seen.back().authorization, "Basic " + core::Base64Encode("c%201:s%3Aecret"));
  const IdTokenExpect expect{"https://idp.example.com", "c 1", "n", "", now};
  EXPECT_TRUE(client.Verify(**p, *id, expect).ok());
  // A rotated key: fetched again once.
  jwks = "{\"keys\":[" + first.Jwk() + "," + second.Jwk() + "]}";
  const size_t fetches = seen.size();
  EXPECT_TRUE(client.Verify(**p, second.Sign(claims), expect).ok());
  EXPECT_EQ(seen.size(), fetches + 1);
  // A kid nobody has: one fetch at most per 30 s, then refused.
  core::Result<IdTokenClaims> r = client.Verify(**p, Rsa("k9").Sign(claims), expect);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "unknown_kid");
  EXPECT_EQ(seen.size(), fetches + 1);

  // A discovery document naming another issuer, or an http endpoint, is refused; a failure is
  // remembered for a few seconds.
  client.Forget("https://idp.example.com");
  discovery =
      "{\"issuer\":\"https://evil.example.com\",\"authorization_endpoint\":\"https://x/a\","
      "\"token_endpoint\":\"https://x/t\",\"jwks_uri\":\"https://x/j\"}";
  EXPECT_FALSE(client.Provider("https://idp.example.com", now).ok());
  const size_t after_failure = seen.size();
  EXPECT_FALSE(client.Provider("https://idp.example.com", now + std::chrono::seconds(5)).ok());
  EXPECT_EQ(seen.size(), after_failure);
  discovery =
      "{\"issuer\":\"https://idp.example.com\",\"authorization_endpoint\":\"http://idp/a\","
      "\"token_endpoint\":\"https://x/t\",\"jwks_uri\":\"https://x/j\"}";
  EXPECT_FALSE(client.Provider("https://idp.example.com", now + std::chrono::seconds(11)).ok());
}

}  // namespace
}  // namespace custos::api
