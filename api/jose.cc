#include "api/jose.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <memory>

namespace custos::api {
namespace {

// The order n of P-256's group. Both (r, s) and (r, n - s) verify.
constexpr const char* kP256Order =
    "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551";

struct BnDeleter {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using Bn = std::unique_ptr<BIGNUM, BnDeleter>;

Bn Order() {
  BIGNUM* n = nullptr;
  BN_hex2bn(&n, kP256Order);
  return Bn(n);
}

bool IsHighS(const BIGNUM* s) {
  Bn half = Order();
  BN_rshift1(half.get(), half.get());
  return BN_cmp(s, half.get()) > 0;
}

// A public key of `type` ("EC", "RSA") from the parameters `push` adds.
template <class Push>
core::Result<core::Pkey> PublicKeyFromData(const char* type, Push&& push, const char* what) {
  OSSL_PARAM_BLD* build = OSSL_PARAM_BLD_new();
  OSSL_PARAM* params = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* key = nullptr;
  const bool ok = build != nullptr && ctx != nullptr && push(build) &&
                  (params = OSSL_PARAM_BLD_to_param(build)) != nullptr &&
                  EVP_PKEY_fromdata_init(ctx) == 1 &&
                  EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1;
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(build);
  EVP_PKEY_CTX_free(ctx);
  if (!ok || key == nullptr) {
    EVP_PKEY_free(key);
    return core::InvalidArgument(std::string("not ") + what);
  }
  return core::Pkey(key);
}

}  // namespace

core::Result<core::Pkey> EcP256PublicKey(std::string_view x, std::string_view y) {
  if (x.size() != 32 || y.size() != 32) {
    return core::InvalidArgument("a P-256 key's x and y are 32 bytes each");
  }
  const std::string point = std::string(1, '\x04') + std::string(x) + std::string(y);
  return PublicKeyFromData(
      "EC",
      [&](OSSL_PARAM_BLD* b) {
        return OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ==
                   1 &&
               OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                                point.size()) == 1;
      },
      "a P-256 public key");
}

core::Result<core::Pkey> RsaPublicKey(std::string_view n, std::string_view e) {
  while (!n.empty() && n.front() == '\0') n.remove_prefix(1);
  if (n.size() < 256 || n.size() > 1024) {
    return core::InvalidArgument("an RSA key must have 2048 to 8192 bits");
  }
  if (e.empty() || e.size() > 8) return core::InvalidArgument("an RSA key's exponent is malformed");
  Bn bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()),
                  nullptr));
  Bn be(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()),
                  nullptr));
  if (bn == nullptr || be == nullptr) return core::Internal("out of memory for an RSA key");
  return PublicKeyFromData(
      "RSA",
      [&](OSSL_PARAM_BLD* b) {
        return OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn.get()) == 1 &&
               OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be.get()) == 1;
      },
      "an RSA public key");
}

std::optional<std::string> DerToJose(const unsigned char* der, size_t len) {
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(len));
  if (sig == nullptr) return std::nullopt;
  Bn s(BN_dup(ECDSA_SIG_get0_s(sig)));
  if (s != nullptr && IsHighS(s.get())) {
    Bn n = Order();
    BN_sub(s.get(), n.get(), s.get());
  }
  unsigned char out[64];
  const bool ok = s != nullptr && BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, 32) == 32 &&
                  BN_bn2binpad(s.get(), out + 32, 32) == 32;
  ECDSA_SIG_free(sig);
  if (!ok) return std::nullopt;
  return std::string(reinterpret_cast<char*>(out), 64);
}

std::optional<std::string> JoseToDer(std::string_view jose, bool low_s_only) {
  if (jose.size() != 64) return std::nullopt;
  const auto* raw = reinterpret_cast<const unsigned char*>(jose.data());
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(raw, 32, nullptr);
  BIGNUM* s = BN_bin2bn(raw + 32, 32, nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || (low_s_only && IsHighS(s)) ||
      ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

bool VerifyJwsSignature(JwsAlg alg, EVP_PKEY* key, std::string_view input,
                        std::string_view signature, bool low_s_only) {
  std::optional<std::string> der;
  const EVP_MD* md = nullptr;
  switch (alg) {
    case JwsAlg::kEdDSA:
      if (signature.size() != 64 || EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519) return false;
      der = std::string(signature);
      break;
    case JwsAlg::kES256:
      if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
      der = JoseToDer(signature, low_s_only);
      md = EVP_sha256();
      break;
    case JwsAlg::kRS256:
      if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) return false;
      der = std::string(signature);
      md = EVP_sha256();
      break;
  }
  if (!der) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool valid =
      ctx != nullptr && EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(der->data()), der->size(),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return valid;
}

}  // namespace custos::api
