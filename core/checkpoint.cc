#include "core/checkpoint.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>

#include "core/base64.h"
#include "core/ed25519_key.h"
#include "core/hex.h"
#include "core/ids.h"
#include "core/json_value.h"
#include "core/json_writer.h"
#include "core/sha256.h"

namespace custos::core {
namespace {

constexpr std::string_view kLinePrefix = "{\"checkpoint\":";
constexpr size_t kPublicKeyBytes = 32;
constexpr size_t kSignatureBytes = 64;
constexpr size_t kKidChars = 16;

Error Unauthenticated(std::string message) {
  return Error{Errc::kUnauthenticated, std::move(message), {}};
}

// The decimal text of a JSON number that is an unsigned integer (no sign, fraction, exponent
// or leading zero), as uint64; nullopt otherwise or on overflow.
std::optional<uint64_t> ParseUInt(std::string_view text) {
  if (text.empty() || text.size() > 20 || (text.size() > 1 && text[0] == '0')) {
    return std::nullopt;
  }
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  return v;
}

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

bool VerifyEd25519(std::string_view public_raw, std::string_view message,
                   std::string_view signature) {
  Pkey pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                        reinterpret_cast<const unsigned char*>(public_raw.data()),
                                        public_raw.size()));
  MdCtx ctx(EVP_MD_CTX_new());
  if (pkey == nullptr || ctx == nullptr) return false;
  return EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

}  // namespace

std::string CheckpointKid(std::string_view public_raw) {
  const Sha256Digest digest = Sha256Of(public_raw);
  return Base64UrlEncode(
             std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()))
      .substr(0, kKidChars);
}

std::string CheckpointSigningInput(const Checkpoint& c) {
  std::string out;
  out.reserve(c.tenant.size() + c.hash.size() + c.time.size() + 24);
  out += c.tenant;
  out += '\n';
  out += std::to_string(c.tenant_seq);
  out += '\n';
  out += c.hash;
  out += '\n';
  out += c.time;
  return out;
}

std::string CheckpointJson(const Checkpoint& c) {
  JsonWriter w;
  w.BeginObject();
  w.Key("tenant").String(c.tenant);
  w.Key("tenant_seq").UInt(c.tenant_seq);
  w.Key("hash").String(c.hash);
  w.Key("time").String(c.time);
  w.Key("kid").String(c.kid);
  w.Key("signature").String(c.signature);
  w.EndObject();
  return w.Take();
}

std::string CheckpointLine(const Checkpoint& c) {
  std::string line(kLinePrefix);
  line += CheckpointJson(c);
  line += '}';
  return line;
}

bool IsCheckpointLine(std::string_view line) { return line.starts_with(kLinePrefix); }

Result<Checkpoint> ParseCheckpointLine(std::string_view line) {
  auto bad = [](std::string what) { return InvalidArgument("not a checkpoint line: " + what); };
  if (!IsCheckpointLine(line)) return bad("it must start with {\"checkpoint\":");
  Result<JsonValue> doc = ParseJson(line);
  if (!doc.ok()) return bad(doc.error().message);
  if (!doc->is_object() || doc->members().size() != 1) {
    return bad("\"checkpoint\" must be its only member");
  }
  const JsonValue& body = doc->members()[0].second;
  if (!body.is_object()) return bad("\"checkpoint\" must be an object");

  Checkpoint c;
  // Bit per member seen; ParseJson has already refused duplicate keys.
  unsigned seen = 0;
  for (const auto& [key, value] : body.members()) {
    if (key == "tenant_seq") {
      std::optional<uint64_t> seq = value.is_number() ? ParseUInt(value.text()) : std::nullopt;
      if (!seq) return bad("\"tenant_seq\" must be an unsigned integer");
      c.tenant_seq = *seq;
      seen |= 1u << 0;
      continue;
    }
    if (!value.is_string()) return bad("\"" + key + "\" must be a string");
    const std::string& text = value.text();
    if (key == "tenant") {
      if (!IsValidTenantId(text)) return bad("\"tenant\" is not a tenant id");
      c.tenant = text;
      seen |= 1u << 1;
    } else if (key == "hash") {
      if (text.size() != 64 || !IsLowerHex(text)) {
        return bad("\"hash\" must be 64 lowercase hex digits");
      }
      c.hash = text;
      seen |= 1u << 2;
    } else if (key == "time") {
      Result<Time> t = ParseTime(text);
      if (!t.ok() || FormatTime(*t) != text) {
        return bad("\"time\" must be RFC 3339 UTC with milliseconds (2026-01-02T03:04:05.678Z)");
      }
      c.time = text;
      seen |= 1u << 3;
    } else if (key == "kid") {
      if (text.empty()) return bad("\"kid\" must not be empty");
      c.kid = text;
      seen |= 1u << 4;
    } else if (key == "signature") {
      std::optional<std::string> sig = Base64UrlDecode(text);
      if (!sig || sig->size() != kSignatureBytes) {
        return bad("\"signature\" must be base64url of 64 bytes");
      }
      c.signature = text;
      seen |= 1u << 5;
    } else {
      return bad("unknown member \"" + key + "\"");
    }
  }
  if (seen != 0x3f) {
    return bad(
        "\"tenant\", \"tenant_seq\", \"hash\", \"time\", \"kid\" and \"signature\" are "
        "all required");
  }
  return c;
}

// --- CheckpointKeys ---------------------------------------------------------------------

Result<CheckpointKeys> CheckpointKeys::FromJson(std::string_view json) {
  auto bad = [](std::string what) { return InvalidArgument("checkpoint keys: " + what); };
  Result<JsonValue> doc = ParseJson(json);
  if (!doc.ok()) return bad(doc.error().message);
  if (!doc->is_object()) return bad("expected a JWK or a JWKS object");
  std::vector<const JsonValue*> jwks;
  if (const JsonValue* keys = doc->Find("keys")) {
    if (!keys->is_array()) return bad("\"keys\" must be an array");
    for (const JsonValue& k : keys->items()) jwks.push_back(&k);
  } else {
    jwks.push_back(&*doc);
  }
  auto text = [](const JsonValue& jwk, std::string_view name) -> std::optional<std::string> {
    const JsonValue* v = jwk.Find(name);
    if (v == nullptr || !v->is_string()) return std::nullopt;
    return v->text();
  };
  CheckpointKeys out;
  for (size_t i = 0; i < jwks.size(); ++i) {
    const JsonValue& jwk = *jwks[i];
    // Another kind of key (an RSA or EC key published alongside, say) is not an error: a JWKS
    // may carry keys for other purposes, and only Ed25519 signature keys can sign checkpoints.
    if (!jwk.is_object() || text(jwk, "kty") != "OKP" || text(jwk, "crv") != "Ed25519") continue;
    const std::optional<std::string> alg = text(jwk, "alg");
    const std::optional<std::string> use = text(jwk, "use");
    if ((alg && *alg != "EdDSA") || (use && *use != "sig")) continue;
    const std::optional<std::string> x = text(jwk, "x");
    const std::optional<std::string> raw = x ? Base64UrlDecode(*x) : std::nullopt;
    if (!raw || raw->size() != kPublicKeyBytes) {
      return bad("key " + std::to_string(i) + ": \"x\" must be base64url of 32 bytes");
    }
    std::optional<std::string> kid = text(jwk, "kid");
    if (!kid || kid->empty()) kid = CheckpointKid(*raw);
    std::optional<Time> retired_at;
    if (jwk.Find("retired_at") != nullptr) {
      const std::optional<std::string> at = text(jwk, "retired_at");
      Result<Time> parsed = at ? ParseTime(*at) : Result<Time>(InvalidArgument("not a string"));
      if (!parsed.ok()) {
        return bad("key " + std::to_string(i) + ": \"retired_at\" must be an RFC 3339 time");
      }
      retired_at = *parsed;
    }
    out.keys_.push_back(PublicKey{std::move(*kid), std::move(*raw), retired_at});
  }
  if (out.keys_.empty()) return bad("no Ed25519 (OKP) signature key");
  return out;
}

Status CheckpointKeys::Verify(const Checkpoint& c) const {
  return VerifySignature(c.kid, CheckpointSigningInput(c), c.signature, c.time);
}

Status CheckpointKeys::VerifySignature(std::string_view kid, std::string_view input,
                                       std::string_view signature,
                                       std::string_view signed_at) const {
  const PublicKey* key = nullptr;
  for (const PublicKey& k : keys_) {
    if (k.kid == kid) {
      key = &k;
      break;
    }
  }
  if (key == nullptr) return Unauthenticated("unknown kid '" + std::string(kid) + "'");
  const std::optional<std::string> sig = Base64UrlDecode(signature);
  if (!sig || sig->size() != kSignatureBytes || !VerifyEd25519(key->raw, input, *sig)) {
    return Unauthenticated("bad signature");
  }
  if (key->retired_at) {
    Result<Time> at = ParseTime(signed_at);
    if (!at.ok() || *at > *key->retired_at) {
      return Unauthenticated("signed by kid '" + std::string(kid) + "' after it was retired (" +
                             FormatTime(*key->retired_at) + ")");
    }
  }
  return OkStatus();
}

// --- CheckpointSigner -------------------------------------------------------------------

namespace {

std::optional<std::string> RawPublicKey(EVP_PKEY* key) {
  unsigned char raw[kPublicKeyBytes];
  size_t raw_len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key, raw, &raw_len) != 1 || raw_len != kPublicKeyBytes) {
    return std::nullopt;
  }
  return std::string(reinterpret_cast<char*>(raw), raw_len);
}

void WriteJwk(JsonWriter& w, const std::string& raw, const std::string& kid,
              std::optional<Time> retired_at) {
  w.BeginObject();
  w.Key("kty").String("OKP").Key("crv").String("Ed25519").Key("x").String(Base64UrlEncode(raw));
  w.Key("kid").String(kid).Key("alg").String("EdDSA").Key("use").String("sig");
  if (retired_at) w.Key("retired_at").String(FormatTime(*retired_at));
  w.EndObject();
}

}  // namespace

std::string CheckpointSigner::SigningKey::SignBytes(std::string_view input) const {
  unsigned char sig[kSignatureBytes];
  size_t sig_len = sizeof sig;
  MdCtx ctx(EVP_MD_CTX_new());
  // Ed25519 signing with a valid key cannot fail short of memory exhaustion; an empty
  // signature then fails every verification rather than passing as something else.
  const bool signed_ok =
      ctx != nullptr &&
      EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey_.get()) == 1 &&
      EVP_DigestSign(ctx.get(), sig, &sig_len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) == 1;
  if (!signed_ok) return "";
  return Base64UrlEncode(std::string_view(reinterpret_cast<char*>(sig), sig_len));
}

CheckpointSigner::CheckpointSigner(std::string path, std::shared_ptr<const State> state)
    : path_(std::move(path)), state_(std::move(state)) {}

CheckpointSigner::~CheckpointSigner() = default;

Result<std::unique_ptr<CheckpointSigner>> CheckpointSigner::LoadOrCreate(
    const std::string& pem_path) {
  auto state = std::make_shared<State>();
  CUSTOS_ASSIGN_OR_RETURN(Pkey pkey, LoadOrCreateEd25519Key(pem_path, "the checkpoint key"));
  CUSTOS_ASSIGN_OR_RETURN(std::shared_ptr<const SigningKey> key,
                          MakeKey(std::move(pkey), "the checkpoint"));
  CUSTOS_ASSIGN_OR_RETURN(std::vector<RetiredKey> retired,
                          LoadRetiredKeys(pem_path, KeyType::kEd25519));
  for (RetiredKey& r : retired) {
    if (r.kid == key->kid_) continue;  // a rotation cut short: the key is still current
    std::optional<std::string> retired_raw = RawPublicKey(r.key.get());
    if (!retired_raw) return Corruption("cannot read the retired checkpoint key " + r.kid);
    state->retired.push_back(
        CheckpointKeys::PublicKey{r.kid, std::move(*retired_raw), r.retired_at});
  }
  state->current = std::move(key);
  return std::unique_ptr<CheckpointSigner>(new CheckpointSigner(pem_path, std::move(state)));
}

Result<std::shared_ptr<const CheckpointSigner::SigningKey>> CheckpointSigner::MakeKey(
    Pkey pkey, std::string_view what) {
  std::optional<std::string> raw = RawPublicKey(pkey.get());
  if (!raw) return Internal("cannot read " + std::string(what) + " public key");
  auto key = std::make_shared<SigningKey>();
  key->pkey_ = std::move(pkey);
  key->raw_ = std::move(*raw);
  key->kid_ = CheckpointKid(key->raw_);
  return key;
}

std::shared_ptr<const CheckpointSigner::State> CheckpointSigner::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

std::string CheckpointSigner::kid() const { return state()->current->kid(); }

std::shared_ptr<const CheckpointSigner::SigningKey> CheckpointSigner::current() const {
  return state()->current;
}

Result<CheckpointSigner::Rotated> CheckpointSigner::Rotate(Time now) {
  std::lock_guard rotating(rotate_mu_);
  const std::shared_ptr<const State> was = state();
  const SigningKey& old = *was->current;
  CUSTOS_ASSIGN_OR_RETURN(Pkey fresh, RotateKey(path_, "the checkpoint key", KeyType::kEd25519,
                                                old.kid(), old.pkey_.get(), now, std::nullopt));
  CUSTOS_ASSIGN_OR_RETURN(std::shared_ptr<const SigningKey> key,
                          MakeKey(std::move(fresh), "the new checkpoint"));
  auto next = std::make_shared<State>();
  next->retired = was->retired;
  next->retired.push_back(CheckpointKeys::PublicKey{old.kid(), old.raw_, now});
  next->current = key;
  {
    std::lock_guard lock(mu_);
    state_ = std::move(next);
  }
  return Rotated{key->kid(), old.kid()};
}

Checkpoint CheckpointSigner::Sign(std::string tenant, uint64_t tenant_seq, std::string hash,
                                  std::string time) const {
  const std::shared_ptr<const SigningKey> key = current();
  Checkpoint c;
  c.tenant = std::move(tenant);
  c.tenant_seq = tenant_seq;
  c.hash = std::move(hash);
  c.time = std::move(time);
  c.kid = key->kid();
  c.signature = key->SignBytes(CheckpointSigningInput(c));
  return c;
}

Checkpoint CheckpointSigner::Sign(std::string tenant, uint64_t tenant_seq, std::string hash,
                                  Time time) const {
  return Sign(std::move(tenant), tenant_seq, std::move(hash), FormatTime(time));
}

std::string CheckpointSigner::PublicJwk() const {
  const std::shared_ptr<const SigningKey> key = current();
  JsonWriter w;
  WriteJwk(w, key->raw_, key->kid(), std::nullopt);
  return w.Take();
}

std::string CheckpointSigner::JwksJson() const {
  const std::shared_ptr<const State> s = state();
  JsonWriter w;
  w.BeginObject().Key("keys").BeginArray();
  WriteJwk(w, s->current->raw_, s->current->kid(), std::nullopt);
  for (const CheckpointKeys::PublicKey& r : s->retired) WriteJwk(w, r.raw, r.kid, r.retired_at);
  w.EndArray().EndObject();
  return w.Take();
}

CheckpointKeys CheckpointSigner::Keys() const {
  const std::shared_ptr<const State> s = state();
  CheckpointKeys keys;
  keys.keys_.push_back(
      CheckpointKeys::PublicKey{s->current->kid(), s->current->raw_, std::nullopt});
  for (const CheckpointKeys::PublicKey& r : s->retired) keys.keys_.push_back(r);
  return keys;
}

}  // namespace custos::core
