#include "core/sha256.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>

#include "core/hex.h"

namespace custos::core {
namespace {

// Fetched once: OpenSSL 3 looks algorithms up by name, which costs more than hashing a
// short message.
const EVP_MD* Sha256Md() {
  static const EVP_MD* md = [] {
    const EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) std::abort();  // libcrypto without SHA-256 is not a usable build
    return m;
  }();
  return md;
}

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, Sha256Md(), nullptr) != 1) std::abort();
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::Update(std::string_view bytes) { EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()); }

Sha256Digest Sha256::Finish() {
  Sha256Digest out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, out.data(), &len);
  EVP_DigestInit_ex(ctx_, Sha256Md(), nullptr);
  return out;
}

Sha256Digest Sha256Of(std::string_view bytes) {
  thread_local Sha256 hasher;
  hasher.Update(bytes);
  return hasher.Finish();
}

std::string DigestHex(const Sha256Digest& digest) {
  std::string out;
  AppendHex(out, digest.data(), digest.size());
  return out;
}

std::string Sha256Hex(std::string_view bytes) { return DigestHex(Sha256Of(bytes)); }

Sha256Digest HmacSha256(std::string_view key, std::string_view message) {
  Sha256Digest out{};
  unsigned int len = 0;
  // A null key pointer with length 0 is what OpenSSL refuses; an empty key is still a key.
  static const unsigned char kNone = 0;
  const void* k = key.empty() ? static_cast<const void*>(&kNone) : key.data();
  if (HMAC(Sha256Md(), k, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), out.data(),
           &len) == nullptr ||
      len != out.size()) {
    std::abort();  // libcrypto without HMAC-SHA256 is not a usable build
  }
  return out;
}

}  // namespace custos::core
