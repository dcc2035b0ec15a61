#include "core/ed25519_key.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <filesystem>

#include "core/json_value.h"
#include "core/json_writer.h"
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

namespace {

const char* KindOf(KeyType type) { return type == KeyType::kEd25519 ? "an Ed25519" : "a P-256"; }

using Bio = std::unique_ptr<BIO, int (*)(BIO*)>;

std::string BioText(BIO* b) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<size_t>(size));
}

Result<Pkey> NewKey(KeyType type) {
  Pkey key(type == KeyType::kEd25519 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                                     : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (key == nullptr) return Internal(std::string("cannot make ") + KindOf(type) + " key");
  return key;
}

// Replaces the file at `path` with `key` (PKCS#8 PEM, 0600), atomically.
Status WriteKey(const std::string& path, EVP_PKEY* key, const std::string& what) {
  Bio out(BIO_new(BIO_s_mem()), BIO_free);
  if (out == nullptr ||
      PEM_write_bio_PrivateKey(out.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Internal("cannot encode " + what);
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  if (!dir.empty()) CUSTOS_RETURN_IF_ERROR(EnsurePrivateDir(dir));
  return WritePrivateFile(path, BioText(out.get()));
}

std::optional<std::string> PublicPem(EVP_PKEY* key) {
  Bio out(BIO_new(BIO_s_mem()), BIO_free);
  if (out == nullptr || PEM_write_bio_PUBKEY(out.get(), key) != 1) return std::nullopt;
  return BioText(out.get());
}

}  // namespace

Result<Pkey> LoadOrCreateKey(const std::string& path, std::string_view what, KeyType type) {
  const std::string name(what);
  CUSTOS_ASSIGN_OR_RETURN(std::optional<std::string> pem, ReadPrivateFile(path));
  if (pem) {
    Bio in(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())), BIO_free);
    Pkey key(in ? PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr) : nullptr);
    if (key == nullptr || !IsOfType(key.get(), type)) {
      return Corruption(name + " " + path + " is not " + KindOf(type) + " private key");
    }
    return key;
  }
  CUSTOS_ASSIGN_OR_RETURN(Pkey key, NewKey(type));
  CUSTOS_RETURN_IF_ERROR(WriteKey(path, key.get(), name));
  return key;
}

std::string RetiredKeysPath(const std::string& key_path) {
  std::string base = key_path;
  if (base.ends_with(".pem")) base.resize(base.size() - 4);
  return base + ".retired.json";
}

Result<std::vector<RetiredKey>> LoadRetiredKeys(const std::string& key_path, KeyType type) {
  const std::string path = RetiredKeysPath(key_path);
  CUSTOS_ASSIGN_OR_RETURN(std::optional<std::string> text, ReadPrivateFile(path));
  std::vector<RetiredKey> out;
  if (!text) return out;
  auto bad = [&](const std::string& why) { return Corruption(path + ": " + why); };
  Result<JsonValue> doc = ParseJson(*text);
  if (!doc.ok()) return bad(doc.error().message);
  const JsonValue* keys = doc->is_object() ? doc->Find("keys") : nullptr;
  if (keys == nullptr || !keys->is_array()) return bad("expected {\"keys\": [...]}");
  for (const JsonValue& k : keys->items()) {
    const JsonValue* kid = k.is_object() ? k.Find("kid") : nullptr;
    const JsonValue* at = k.is_object() ? k.Find("retired_at") : nullptr;
    const JsonValue* pem = k.is_object() ? k.Find("public_key") : nullptr;
    if (kid == nullptr || !kid->is_string() || at == nullptr || !at->is_string() ||
        pem == nullptr || !pem->is_string()) {
      return bad("each key needs \"kid\", \"retired_at\" and \"public_key\"");
    }
    Result<Time> retired_at = ParseTime(at->text());
    if (!retired_at.ok()) return bad("retired_at: " + retired_at.error().message);
    Bio in(BIO_new_mem_buf(pem->text().data(), static_cast<int>(pem->text().size())), BIO_free);
    Pkey key(in ? PEM_read_bio_PUBKEY(in.get(), nullptr, nullptr, nullptr) : nullptr);
    if (key == nullptr || !IsOfType(key.get(), type)) {
      return bad("key " + kid->text() + " is not " + KindOf(type) + " public key");
    }
    out.push_back(RetiredKey{kid->text(), std::move(key), *retired_at});
  }
  return out;
}

Result<Pkey> RotateKey(const std::string& key_path, std::string_view what, KeyType type,
                       const std::string& kid, EVP_PKEY* current, Time now,
                       std::optional<std::chrono::milliseconds> keep, bool revoke) {
  const std::string name(what);
  CUSTOS_ASSIGN_OR_RETURN(std::vector<RetiredKey> retired, LoadRetiredKeys(key_path, type));
  CUSTOS_ASSIGN_OR_RETURN(Pkey fresh, NewKey(type));
  JsonWriter w;
  w.BeginObject().Key("keys").BeginArray();
  auto entry = [&w](const std::string& id, Time at, EVP_PKEY* key) -> Status {
    std::optional<std::string> pem = PublicPem(key);
    if (!pem) return Internal("cannot encode the public key " + id);
    w.BeginObject().Key("kid").String(id).Key("retired_at").String(FormatTime(at));
    w.Key("public_key").String(*pem).EndObject();
    return OkStatus();
  };
  for (const RetiredKey& r : retired) {
    if (revoke) break;                                  // none stays
    if (r.kid == kid) continue;                         // a rotation cut short: listed anew
    if (keep && now - r.retired_at >= *keep) continue;  // nothing it signed is still in use
    CUSTOS_RETURN_IF_ERROR(entry(r.kid, r.retired_at, r.key.get()));
  }
  if (!revoke) CUSTOS_RETURN_IF_ERROR(entry(kid, now, current));
  w.EndArray().EndObject();
  if (revoke) {
    // The leaked key stops being current first; a crash before the second write leaves the
    // earlier retired keys listed (a revocation run again drops them).
    CUSTOS_RETURN_IF_ERROR(WriteKey(key_path, fresh.get(), name));
    CUSTOS_RETURN_IF_ERROR(WritePrivateFile(RetiredKeysPath(key_path), w.str() + "\n"));
    return fresh;
  }
  CUSTOS_RETURN_IF_ERROR(WritePrivateFile(RetiredKeysPath(key_path), w.str() + "\n"));
  CUSTOS_RETURN_IF_ERROR(WriteKey(key_path, fresh.get(), name));
  return fresh;
}

}  // namespace custos::core
