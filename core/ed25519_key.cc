#include "core/ed25519_key.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <filesystem>

#include "core/private_file.h"

namespace custos::core {

void PkeyDeleter::operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }

namespace {

bool IsOfType(EVP_PKEY* key, KeyType type) {
  if (type == KeyType::kEd25519) return EVP_PKEY_get_id(key) == EVP_PKEY_ED25519;
  char group[64] = {};
  size_t len = 0;
  return EVP_PKEY_get_id(key) == EVP_PKEY_EC &&
         EVP_PKEY_get_group_name(key, group, sizeof group, &len) == 1 &&
         std::string_view(group, len) == "prime256v1";
}

}  // namespace

Result<Pkey> LoadOrCreateKey(const std::string& path, std::string_view what, KeyType type) {
  const std::string name(what);
  const char* kind = type == KeyType::kEd25519 ? "an Ed25519" : "a P-256";
  CUSTOS_ASSIGN_OR_RETURN(std::optional<std::string> pem, ReadPrivateFile(path));
  if (pem) {
    std::unique_ptr<BIO, int (*)(BIO*)> in(
        BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())), BIO_free);
    Pkey key(in ? PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr) : nullptr);
    if (key == nullptr || !IsOfType(key.get(), type)) {
      return Corruption(name + " " + path + " is not " + kind + " private key");
    }
    return key;
  }
  Pkey key(type == KeyType::kEd25519 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                                     : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (key == nullptr) return Internal(std::string("cannot make ") + kind + " key");
  std::unique_ptr<BIO, int (*)(BIO*)> out(BIO_new(BIO_s_mem()), BIO_free);
  if (out == nullptr ||
      PEM_write_bio_PrivateKey(out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Internal("cannot encode " + name);
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);
  const std::string dir = std::filesystem::path(path).parent_path().string();
  if (!dir.empty()) CUSTOS_RETURN_IF_ERROR(EnsurePrivateDir(dir));
  CUSTOS_RETURN_IF_ERROR(WritePrivateFile(path, std::string_view(data, static_cast<size_t>(size))));
  return key;
}

}  // namespace custos::core
