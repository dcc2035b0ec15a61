// The server's Ed25519 private keys (token signing, checkpoint signing) on disk: loaded from
// a private PEM file (core/private_file.h), or made and saved there when — and only when —
// the file does not exist. A key file that exists but cannot be read, belongs to another
// user, is open to others or holds no Ed25519 key is an error: replacing it would orphan
// every token or checkpoint signed with it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

typedef struct evp_pkey_st EVP_PKEY;  // NOLINT: OpenSSL's own name

namespace custos::core {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const;
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// `what` names the key in errors ("the signing key").
[[nodiscard]] Result<Pkey> LoadOrCreateEd25519Key(const std::string& path, std::string_view what);

}  // namespace custos::core
