#include "core/ed25519_key.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <filesystem>

#include "core/private_file.h"

namespace custos::core {

void PkeyDeleter::operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }

Result<Pkey> LoadOrCreateEd25519Key(const std::string& path, std::string_view what) {
  const std::string name(what);
  CUSTOS_ASSIGN_OR_RETURN(std::optional<std::string> pem, ReadPrivateFile(path));
  if (pem) {
    std::unique_ptr<BIO, int (*)(BIO*)> in(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())),
                                           BIO_free);
    Pkey key(in ? PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr) : nullptr);
    if (key == nullptr || EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
      return Corruption(name + " " + path + " is not an Ed25519 private key");
    }
    return key;
  }
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (key == nullptr) return Internal("cannot make an Ed25519 key");
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
