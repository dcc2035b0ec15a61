#include "core/sha256.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
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

// RFC 2104 over this thread's hasher: H((K0 ^ opad) || H((K0 ^ ipad) || message)), K0 the key
// (hashed first when longer than SHA-256's 64-byte block) padded with zeros to the block. Not
// libcrypto's HMAC(), whose set-up per call costs several times the hashing of a short message.
Sha256Digest HmacSha256(std::string_view key, std::string_view message) {
  return HmacSha256(key, {message});
}

Sha256Digest HmacSha256(std::string_view key, std::initializer_list<std::string_view> message) {
  constexpr size_t kBlock = 64;
  thread_local Sha256 hasher;
  std::array<unsigned char, kBlock> k0{};
  if (key.size() > kBlock) {
    hasher.Update(key);
    const Sha256Digest hashed = hasher.Finish();
    std::copy(hashed.begin(), hashed.end(), k0.begin());
  } else {
    std::copy(key.begin(), key.end(), k0.begin());
  }
  std::array<char, kBlock> pad{};
  for (size_t i = 0; i < kBlock; ++i) pad[i] = static_cast<char>(k0[i] ^ 0x36);
  hasher.Update(std::string_view(pad.data(), pad.size()));
  for (std::string_view part : message) hasher.Update(part);
  const Sha256Digest inner = hasher.Finish();
  for (size_t i = 0; i < kBlock; ++i) pad[i] = static_cast<char>(k0[i] ^ 0x5c);
  hasher.Update(std::string_view(pad.data(), pad.size()));
  hasher.Update(std::string_view(reinterpret_cast<const char*>(inner.data()), inner.size()));
  OPENSSL_cleanse(k0.data(), k0.size());  // no copy of the key left on the stack
  OPENSSL_cleanse(pad.data(), pad.size());
  return hasher.Finish();
}

}  // namespace custos::core
