#include "api/jwt.h"

#include "api/jose.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <cstdio>
#include <memory>

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
  core::Pkey pkey;
  std::string kid;
  std::string x;  // base64url of the public key (Ed25519), or of its x coordinate (P-256)
  std::string y;  // P-256 only
  std::optional<core::Time> retired_at;
};

struct TokenSigner::State {
  std::shared_ptr<const Key> current;               // null on a follower (ForLeader)
  std::vector<std::shared_ptr<const Key>> retired;  // oldest first
  // ForLeader: every key of the leader's JWKS, and the JWKS as fetched.
  std::vector<std::shared_ptr<const Key>> leader;
  std::string jwks;
  JwtAlg alg = JwtAlg::kEdDSA;
};

namespace {

// The public key's JWK coordinates: Ed25519's raw key, or P-256's x and y (32 bytes each).
bool PublicCoordinates(EVP_PKEY* pkey, JwtAlg alg, std::string& x, std::string& y) {
  if (alg == JwtAlg::kEdDSA) {
    unsigned char raw[32];
    size_t raw_len = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(pkey, raw, &raw_len) != 1 || raw_len != 32) return false;
    x.assign(reinterpret_cast<char*>(raw), raw_len);
    return true;
  }
  BIGNUM* bx = nullptr;
  BIGNUM* by = nullptr;
  bool ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &bx) == 1 &&
            EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &by) == 1;
  unsigned char bytes[64];
  ok = ok && BN_bn2binpad(bx, bytes, 32) == 32 && BN_bn2binpad(by, bytes + 32, 32) == 32;
  BN_free(bx);
  BN_free(by);
  if (!ok) return false;
  x.assign(reinterpret_cast<char*>(bytes), 32);
  y.assign(reinterpret_cast<char*>(bytes + 32), 32);
  return true;
}

}  // namespace

TokenSigner::TokenSigner(std::string path, std::shared_ptr<const State> state, std::string issuer,
                         JwtAlg alg, std::vector<std::string> audiences)
    : path_(std::move(path)),
      issuer_(std::move(issuer)),
      alg_(alg),
      audiences_(std::move(audiences)),
      state_(std::move(state)) {}

TokenSigner::~TokenSigner() = default;

namespace {

core::KeyType KeyTypeOf(JwtAlg alg) {
  return alg == JwtAlg::kEdDSA ? core::KeyType::kEd25519 : core::KeyType::kP256;
}

}  // namespace

core::Result<std::unique_ptr<TokenSigner>> TokenSigner::LoadOrCreate(
    const std::string& path, std::string issuer, JwtAlg alg, std::vector<std::string> audiences) {
  CUSTOS_ASSIGN_OR_RETURN(core::Pkey pkey,
                          core::LoadOrCreateKey(path, "the signing key", KeyTypeOf(alg)));
  auto state = std::make_shared<State>();
  CUSTOS_ASSIGN_OR_RETURN(state->current, Describe(std::move(pkey), alg, std::nullopt));
  CUSTOS_ASSIGN_OR_RETURN(std::vector<core::RetiredKey> retired,
                          core::LoadRetiredKeys(path, KeyTypeOf(alg)));
  for (core::RetiredKey& r : retired) {
    if (r.kid == state->current->kid) continue;  // a rotation cut short: still current
    CUSTOS_ASSIGN_OR_RETURN(std::shared_ptr<Key> key,
                            Describe(std::move(r.key), alg, r.retired_at));
    state->retired.push_back(std::move(key));
  }
  std::erase(audiences, issuer);
  return std::unique_ptr<TokenSigner>(
      new TokenSigner(path, std::move(state), std::move(issuer), alg, std::move(audiences)));
}

core::Result<std::shared_ptr<TokenSigner::Key>> TokenSigner::Describe(
    core::Pkey pkey, JwtAlg alg, std::optional<core::Time> at) {
  std::string x;
  std::string y;
  if (!PublicCoordinates(pkey.get(), alg, x, y)) {
    return core::Internal("cannot read the public key");
  }
  auto key = std::make_shared<TokenSigner::Key>();
  key->pkey = std::move(pkey);
  key->kid = core::Sha256Hex(x + y).substr(0, 16);
  key->x = core::Base64UrlEncode(x);
  key->y = y.empty() ? "" : core::Base64UrlEncode(y);
  key->retired_at = at;
  return key;
}

namespace {

// A JWK's public key: OKP Ed25519 (x) or EC P-256 (x, y), each coordinate 32 bytes.
core::Result<core::Pkey> PublicKeyOfJwk(const core::JsonValue& jwk, JwtAlg alg) {
  auto member = [&](const char* name) -> std::optional<std::string> {
    const core::JsonValue* v = jwk.Find(name);
    if (v == nullptr || !v->is_string()) return std::nullopt;
    return v->text();
  };
  const std::optional<std::string> x = core::Base64UrlDecode(member("x").value_or(""));
  if (!x || x->size() != 32) return core::InvalidArgument("a key's x is not 32 bytes");
  if (alg == JwtAlg::kEdDSA) {
    if (member("kty") != "OKP" || member("crv") != "Ed25519") {
      return core::InvalidArgument("an EdDSA key must be kty OKP, crv Ed25519");
    }
    EVP_PKEY* key = EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x->data()), x->size());
    if (key == nullptr) return core::InvalidArgument("not an Ed25519 public key");
    return core::Pkey(key);
  }
  const std::optional<std::string> y = core::Base64UrlDecode(member("y").value_or(""));
  if (member("kty") != "EC" || member("crv") != "P-256" || !y || y->size() != 32) {
    return core::InvalidArgument("an ES256 key must be kty EC, crv P-256, with 32-byte x and y");
  }
  return EcP256PublicKey(*x, *y);
}

}  // namespace

core::Result<std::shared_ptr<const TokenSigner::State>> TokenSigner::ParseJwks(
    std::string_view jwks, std::optional<JwtAlg> alg) {
  if (jwks.size() > (size_t{64} << 10)) return core::InvalidArgument("the JWKS is over 64 KiB");
  core::Result<core::JsonValue> doc = core::ParseJson(jwks);
  const core::JsonValue* keys = doc.ok() && doc->is_object() ? doc->Find("keys") : nullptr;
  if (keys == nullptr || !keys->is_array() || keys->items().empty()) {
    return core::InvalidArgument("not a JWKS with keys");
  }
  auto state = std::make_shared<State>();
  state->jwks = std::string(jwks);
  for (const core::JsonValue& jwk : keys->items()) {
    const core::JsonValue* name = jwk.is_object() ? jwk.Find("alg") : nullptr;
    if (name == nullptr || !name->is_string() ||
        (name->text() != "EdDSA" && name->text() != "ES256")) {
      return core::InvalidArgument("a key's alg is neither EdDSA nor ES256");
    }
    const JwtAlg key_alg = name->text() == "ES256" ? JwtAlg::kES256 : JwtAlg::kEdDSA;
    if (!alg) alg = key_alg;
    if (key_alg != *alg) return core::InvalidArgument("the keys are not all of one alg");
    CUSTOS_ASSIGN_OR_RETURN(core::Pkey pkey, PublicKeyOfJwk(jwk, key_alg));
    CUSTOS_ASSIGN_OR_RETURN(std::shared_ptr<Key> key,
                            Describe(std::move(pkey), key_alg, std::nullopt));
    const core::JsonValue* kid = jwk.Find("kid");
    if (kid == nullptr || !kid->is_string() || kid->text() != key->kid) {
      return core::InvalidArgument("a key's kid is not the one of its coordinates");
    }
    state->leader.push_back(std::move(key));
  }
  state->alg = *alg;
  return std::shared_ptr<const State>(std::move(state));
}

core::Result<std::unique_ptr<TokenSigner>> TokenSigner::ForLeader(
    std::string issuer, std::string_view jwks, std::vector<std::string> audiences) {
  CUSTOS_ASSIGN_OR_RETURN(std::shared_ptr<const State> state, ParseJwks(jwks, std::nullopt));
  std::erase(audiences, issuer);
  const JwtAlg alg = state->alg;
  return std::unique_ptr<TokenSigner>(
      new TokenSigner("", std::move(state), std::move(issuer), alg, std::move(audiences)));
}

core::Status TokenSigner::TakeJwks(std::string_view jwks) {
  if (!verifies_only()) return core::Conflict("this node signs its own tokens");
  CUSTOS_ASSIGN_OR_RETURN(std::shared_ptr<const State> next, ParseJwks(jwks, alg_));
  std::lock_guard lock(mu_);
  state_ = std::move(next);
  return core::OkStatus();
}

std::shared_ptr<const TokenSigner::State> TokenSigner::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

std::string TokenSigner::kid() const {
  const std::shared_ptr<const State> keys = state();
  if (keys->current) return keys->current->kid;
  return keys->leader.empty() ? "" : keys->leader.front()->kid;
}

core::Result<TokenSigner::Rotated> TokenSigner::Rotate(core::Time now, bool revoke) {
  if (verifies_only()) return core::Conflict("a follower's keys are the leader's");
  std::lock_guard rotating(rotate_mu_);
  const std::shared_ptr<const State> was = state();
  const Key& old = *was->current;
  CUSTOS_ASSIGN_OR_RETURN(core::Pkey fresh,
                          core::RotateKey(path_, "the signing key", KeyTypeOf(alg_), old.kid,
                                          old.pkey.get(), now, kRetiredKeyLife, revoke));
  auto next = std::make_shared<State>();
  CUSTOS_ASSIGN_OR_RETURN(next->current, Describe(std::move(fresh), alg_, std::nullopt));
  for (const std::shared_ptr<const Key>& r : was->retired) {
    if (now - *r->retired_at < kRetiredKeyLife) next->retired.push_back(r);
  }
  Rotated out{next->current->kid, old.kid};
  if (revoke) {
    // Whichever key leaked (the current one, or one retired in haste), none verifies now.
    next->retired.clear();
    std::lock_guard lock(mu_);
    state_ = std::move(next);
    return out;
  }
  auto retiring = std::make_shared<Key>();
  // The old key object stays with whoever still holds the previous state: one more reference.
  if (EVP_PKEY_up_ref(old.pkey.get()) != 1) return core::Internal("cannot keep the retired key");
  retiring->pkey = core::Pkey(old.pkey.get());
  retiring->kid = old.kid;
  retiring->x = old.x;
  retiring->y = old.y;
  retiring->retired_at = now;
  next->retired.push_back(std::move(retiring));
  {
    std::lock_guard lock(mu_);
    state_ = std::move(next);
  }
  return out;
}

bool TokenSigner::KnownAudience(std::string_view aud) const {
  return aud == issuer_ || std::find(audiences_.begin(), audiences_.end(), aud) != audiences_.end();
}

std::string TokenSigner::Sign(const TokenClaims& c) const {
  const std::shared_ptr<const State> keys = state();
  if (!keys->current) return "";
  const Key& key = *keys->current;
  core::JsonWriter header;
  header.BeginObject().Key("alg").String(alg_name()).Key("typ").String("at+jwt");
  header.Key("kid").String(key.kid).EndObject();
  core::JsonWriter payload;
  payload.BeginObject();
  payload.Key("iss").String(c.iss.empty() ? issuer_ : c.iss);
  payload.Key("sub").String(c.sub);
  std::vector<std::string> aud = c.aud;
  if (aud.empty()) {
    aud.push_back(issuer_);
    if (!audiences_.empty()) aud.push_back(audiences_.front());
  }
  if (aud.size() == 1) {
    payload.Key("aud").String(aud.front());
  } else {
    payload.Key("aud").BeginArray();
    for (const std::string& a : aud) payload.String(a);
    payload.EndArray();
  }
  payload.Key("client_id")
      .String(!c.client_id.empty() ? c.client_id
              : c.typ == "user"    ? kLoginClientId
                                   : c.sub);
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
  unsigned char sig[80];
  size_t sig_len = sizeof sig;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestSignInit(ctx, nullptr, alg_ == JwtAlg::kES256 ? EVP_sha256() : nullptr, nullptr,
                     key.pkey.get());
  EVP_DigestSign(ctx, sig, &sig_len, reinterpret_cast<const unsigned char*>(token.data()),
                 token.size());
  EVP_MD_CTX_free(ctx);
  std::string signature(reinterpret_cast<char*>(sig), sig_len);
  if (alg_ == JwtAlg::kES256) signature = DerToJose(sig, sig_len).value_or("");
  token += '.';
  token += core::Base64UrlEncode(signature);
  return token;
}

core::Result<TokenClaims> TokenSigner::Verify(std::string_view token, core::Time now,
                                              Audience audience) const {
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
  // One spelling per signature: no padding bits set, so no second token for the same one.
  if (core::Base64UrlEncode(*sig) != token.substr(dot2 + 1)) return Refused("bad base64url");
  core::Result<core::JsonValue> h = core::ParseJson(*header);
  if (!h.ok() || !h->is_object()) return Refused("bad header");
  const core::JsonValue* alg = h->Find("alg");
  if (alg == nullptr || !alg->is_string() || alg->text() != alg_name()) {
    return Refused(std::string("algorithm not allowed (only ") + alg_name() + ")");
  }
  const core::JsonValue* typ = h->Find("typ");
  if (typ == nullptr || !typ->is_string() || typ->text() != "at+jwt") {
    return Refused("not an access token (typ must be at+jwt)");
  }
  const core::JsonValue* kid = h->Find("kid");
  if (kid == nullptr || !kid->is_string()) return Refused("unknown kid");
  const std::shared_ptr<const State> keys = state();
  const Key* key =
      keys->current && keys->current->kid == kid->text() ? keys->current.get() : nullptr;
  for (const std::shared_ptr<const Key>& r : keys->retired) {
    if (key == nullptr && r->kid == kid->text() && now - *r->retired_at < kRetiredKeyLife) {
      key = r.get();
    }
  }
  for (const std::shared_ptr<const Key>& l : keys->leader) {
    if (key == nullptr && l->kid == kid->text()) key = l.get();
  }
  if (key == nullptr) {
    if (unknown_kid_ && unknown_kid_()) {
      return core::Unavailable(
          "the token's signing key is not known here yet; this follower is "
          "fetching the leader's keys: retry in a second");
    }
    return Refused("unknown kid");
  }
  if (h->Find("crit") != nullptr) return Refused("unsupported critical header");
  if (sig->size() != 64) return Refused("bad signature");
  const bool valid = VerifyJwsSignature(alg_ == JwtAlg::kES256 ? JwsAlg::kES256 : JwsAlg::kEdDSA,
                                        key->pkey.get(), token.substr(0, dot2), *sig);
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
  if (const core::JsonValue* aud = p->Find("aud"); aud != nullptr && aud->is_string()) {
    c.aud.push_back(aud->text());
  } else if (aud != nullptr && aud->is_array()) {
    for (const core::JsonValue& a : aud->items()) {
      if (!a.is_string()) return Refused("bad aud");
      c.aud.push_back(a.text());
    }
  }
  c.client_id = text("client_id");
  const core::JsonValue* mcp = p->Find("must_change_password");
  c.must_change_password = mcp != nullptr && mcp->is_bool() && mcp->bool_value();
  c.session_epoch = seconds("session_epoch").value_or(0);
  const std::optional<int64_t> iat = seconds("iat");
  const std::optional<int64_t> exp = seconds("exp");
  if (c.iss != issuer_) return Refused("wrong issuer");
  // Every audience must be one this signer issues for, and Custos's own API needs itself.
  if (c.aud.empty()) return Refused("no audience");
  // A follower does not know the leader's other audiences, and needs not: the leader signs only
  // those it issues for. What it serves is the issuer's, checked below.
  for (const std::string& a : c.aud) {
    if (!verifies_only() && !KnownAudience(a)) return Refused("wrong audience");
  }
  if (audience == Audience::kCustos &&
      std::find(c.aud.begin(), c.aud.end(), issuer_) == c.aud.end()) {
    return Refused("wrong audience: the token is for another resource server");
  }
  if (c.sub.empty() || c.jti.empty() || !exp || !iat) return Refused("missing claims");
  if (c.typ != "api_client" && c.typ != "user" && c.typ != "root") return Refused("bad typ");
  c.iat = core::FromUnixMillis(*iat * 1000);
  c.exp = core::FromUnixMillis(*exp * 1000);
  if (c.exp <= now) return Refused("expired");
  // A retired key signed nothing after it was retired (whole seconds: iat is in seconds).
  if (key->retired_at && c.iat > *key->retired_at) return Refused("signed by a retired key");
  return c;
}

std::string TokenSigner::JwksJson(core::Time now) const {
  const std::shared_ptr<const State> keys = state();
  if (!keys->current) return keys->jwks;
  core::JsonWriter w;
  w.BeginObject().Key("keys").BeginArray();
  auto jwk = [&](const Key& k) {
    w.BeginObject();
    if (alg_ == JwtAlg::kEdDSA) {
      w.Key("kty").String("OKP").Key("crv").String("Ed25519").Key("x").String(k.x);
    } else {
      w.Key("kty").String("EC").Key("crv").String("P-256").Key("x").String(k.x).Key("y").String(
          k.y);
    }
    w.Key("kid").String(k.kid).Key("alg").String(alg_name()).Key("use").String("sig");
    w.EndObject();
  };
  jwk(*keys->current);
  for (auto r = keys->retired.rbegin(); r != keys->retired.rend(); ++r) {
    if (now - *(*r)->retired_at < kRetiredKeyLife) jwk(**r);
  }
  w.EndArray().EndObject();
  return w.Take();
}

}  // namespace custos::api
