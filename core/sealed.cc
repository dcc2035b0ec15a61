#include "core/sealed.h"

#include <openssl/evp.h>

#include <memory>

#include "core/base64.h"

namespace custos::core {
namespace {

constexpr size_t kNonce = 12;
constexpr size_t kTag = 16;
constexpr std::string_view kPrefix = "v1.";

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

Result<std::string> Seal(std::string_view key, std::string_view plaintext,
                         std::string_view associated, Random& random) {
  if (key.size() != kSealKeyBytes) return Internal("a sealing key is 32 bytes");
  std::string out(kNonce + plaintext.size() + kTag, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  random.Fill(bytes, kNonce);
  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, U(key), bytes) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(associated),
                        static_cast<int>(associated.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), bytes + kNonce, &len, U(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), bytes + kNonce + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTag),
                          bytes + kNonce + plaintext.size()) != 1) {
    return Internal("AES-256-GCM sealing failed");
  }
  return std::string(kPrefix) + Base64UrlEncode(out);
}

Result<std::string> Unseal(std::string_view key, std::string_view sealed,
                           std::string_view associated) {
  if (key.size() != kSealKeyBytes) return Internal("a sealing key is 32 bytes");
  if (!sealed.starts_with(kPrefix)) return Corruption("a sealed value of an unknown version");
  std::optional<std::string> raw = Base64UrlDecode(sealed.substr(kPrefix.size()));
  if (!raw || raw->size() < kNonce + kTag) return Corruption("a malformed sealed value");
  const size_t n = raw->size() - kNonce - kTag;
  std::string out(n, '\0');
  auto* in = reinterpret_cast<unsigned char*>(raw->data());
  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, U(key), in) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(associated),
                        static_cast<int>(associated.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, in + kNonce,
                        static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTag),
                          in + kNonce + n) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &len) !=
          1) {
    return Corruption("a sealed value does not open (another key, another owner, or altered)");
  }
  return out;
}

}  // namespace custos::core
