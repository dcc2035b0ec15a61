#include "api/jwt.h"

#include <openssl/evp.h>

#include <cstdio>

#include "core/base64.h"
#include "core/ed25519_key.h"
#include "core/fields.h"
#include "core/hex.h"
#include "core/json_value.h"
#include "core/json_writer.h"
#include "core/sha256.h"

namespace custos::api {
namespace {

core::Error Refused(std::string why) {
  return core::Error{core::Errc::kUnauthenticated, "invalid token: " + why, {}};
}

}  // namespace

struct TokenSigner::Key {
  EVP_PKEY* pkey = nullptr;
  ~Key() { EVP_PKEY_free(pkey); }
};

TokenSigner::TokenSigner(std::unique_ptr<Key> key, std::string kid, std::string public_x,
                         std::string issuer)
    : key_(std::move(key)),
      kid_(std::move(kid)),
      public_x_(std::move(public_x)),
      issuer_(std::move(issuer)) {}

TokenSigner::~TokenSigner() = default;

core::Result<std::unique_ptr<TokenSigner>> TokenSigner::LoadOrCreate(const std::string& path,
                                                                     std::string issuer) {
  auto key = std::make_unique<Key>();
  CUSTOS_ASSIGN_OR_RETURN(core::Pkey pkey, core::LoadOrCreateEd25519Key(path, "the signing key"));
  key->pkey = pkey.release();
  unsigned char raw[32];
  size_t raw_len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key->pkey, raw, &raw_len) != 1 || raw_len != 32) {
    return core::Internal("cannot read the public key");
  }
  const std::string public_raw(reinterpret_cast<char*>(raw), raw_len);
  const std::string kid = core::Sha256Hex(public_raw).substr(0, 16);
  return std::unique_ptr<TokenSigner>(
      new TokenSigner(std::move(key), kid, core::Base64UrlEncode(public_raw), std::move(issuer)));
}

std::string TokenSigner::Sign(const TokenClaims& c) const {
  core::JsonWriter header;
  header.BeginObject().Key("alg").String("EdDSA").Key("typ").String("JWT").Key("kid").String(kid_);
  header.EndObject();
  core::JsonWriter payload;
  payload.BeginObject();
  payload.Key("iss").String(c.iss.empty() ? issuer_ : c.iss);
  payload.Key("sub").String(c.sub);
  if (!c.tenant.empty()) payload.Key("tenant").String(c.tenant);
  payload.Key("typ").String(c.typ);
  payload.Key("iat").Int(core::ToUnixMillis(c.iat) / 1000);
  payload.Key("exp").Int(core::ToUnixMillis(c.exp) / 1000);
  payload.Key("jti").String(c.jti);
  if (!c.key_id.empty()) payload.Key("key_id").String(c.key_id);
  if (c.must_change_password) payload.Key("must_change_password").Bool(true);
  if (c.typ != "root") payload.Key("session_epoch").Int(c.session_epoch);
  payload.EndObject();
  std::string token = core::Base64UrlEncode(header.str());
  token += '.';
  token += core::Base64UrlEncode(payload.str());
  unsigned char sig[64];
  size_t sig_len = sizeof sig;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key_->pkey);
  EVP_DigestSign(ctx, sig, &sig_len, reinterpret_cast<const unsigned char*>(token.data()),
                 token.size());
  EVP_MD_CTX_free(ctx);
  token += '.';
  token += core::Base64UrlEncode(std::string_view(reinterpret_cast<char*>(sig), sig_len));
  return token;
}

core::Result<TokenClaims> TokenSigner::Verify(std::string_view token, core::Time now) const {
  if (token.size() > 8192) return Refused("too long");
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Refused("not a JWS compact serialization");
  }
  const std::optional<std::string> header = core::Base64UrlDecode(token.substr(0, dot1));
  const std::optional<std::string> payload =
      core::Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  const std::optional<std::string> sig = core::Base64UrlDecode(token.substr(dot2 + 1));
  if (!header || !payload || !sig) return Refused("bad base64url");
  core::Result<core::JsonValue> h = core::ParseJson(*header);
  if (!h.ok() || !h->is_object()) return Refused("bad header");
  const core::JsonValue* alg = h->Find("alg");
  if (alg == nullptr || !alg->is_string() || alg->text() != "EdDSA") {
    return Refused("algorithm not allowed (only EdDSA)");
  }
  const core::JsonValue* kid = h->Find("kid");
  if (kid == nullptr || !kid->is_string() || kid->text() != kid_) return Refused("unknown kid");
  if (h->Find("crit") != nullptr) return Refused("unsupported critical header");
  if (sig->size() != 64) return Refused("bad signature");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool valid =
      EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key_->pkey) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                       reinterpret_cast<const unsigned char*>(token.data()), dot2) == 1;
  EVP_MD_CTX_free(ctx);
  if (!valid) return Refused("bad signature");
  core::Result<core::JsonValue> p = core::ParseJson(*payload);
  if (!p.ok() || !p->is_object()) return Refused("bad payload");
  auto text = [&](const char* name) -> std::string {
    const core::JsonValue* v = p->Find(name);
    return v != nullptr && v->is_string() ? v->text() : "";
  };
  auto seconds = [&](const char* name) -> std::optional<int64_t> {
    const core::JsonValue* v = p->Find(name);
    return v == nullptr ? std::nullopt : v->AsInt();
  };
  TokenClaims c;
  c.iss = text("iss");
  c.sub = text("sub");
  c.tenant = text("tenant");
  c.typ = text("typ");
  c.jti = text("jti");
  c.key_id = text("key_id");
  const core::JsonValue* mcp = p->Find("must_change_password");
  c.must_change_password = mcp != nullptr && mcp->is_bool() && mcp->bool_value();
  c.session_epoch = seconds("session_epoch").value_or(0);
  const std::optional<int64_t> iat = seconds("iat");
  const std::optional<int64_t> exp = seconds("exp");
  if (c.iss != issuer_) return Refused("wrong issuer");
  if (c.sub.empty() || c.jti.empty() || !exp || !iat) return Refused("missing claims");
  if (c.typ != "api_client" && c.typ != "user" && c.typ != "root") return Refused("bad typ");
  c.iat = core::FromUnixMillis(*iat * 1000);
  c.exp = core::FromUnixMillis(*exp * 1000);
  if (c.exp <= now) return Refused("expired");
  return c;
}

std::string TokenSigner::JwksJson() const {
  core::JsonWriter w;
  w.BeginObject().Key("keys").BeginArray().BeginObject();
  w.Key("kty").String("OKP").Key("crv").String("Ed25519").Key("x").String(public_x_);
  w.Key("kid").String(kid_).Key("alg").String("EdDSA").Key("use").String("sig");
  w.EndObject().EndArray().EndObject();
  return w.Take();
}

}  // namespace custos::api
