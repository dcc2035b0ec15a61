// libFuzzer target: bearer tokens. Verify must refuse anything not signed by the server's
// key (a fuzzed token that verifies is a forgery), without crashing; and claims the fuzzer
// makes up must survive Sign then Verify unchanged.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "api/jwt.h"
#include "core/json_writer.h"
#include "core/time.h"

namespace {

const custos::api::TokenSigner& Signer() {
  static const custos::api::TokenSigner* signer = [] {
    const std::string dir = "/dev/shm/custos-fuzz-jwt-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir);
    auto s = custos::api::TokenSigner::LoadOrCreate(dir + "/jwt.pem", "http://fuzz");
    if (!s.ok()) std::abort();
    return s->release();
  }();
  return *signer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const custos::api::TokenSigner& signer = Signer();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const custos::core::Time now = custos::core::FromUnixMillis(1795521600000);
  if (signer.Verify(input, now).ok()) {
    std::fprintf(stderr, "jwt: a token the server never signed verified\n");
    std::abort();
  }
  // Claims from the input: tenant and subject split at the first NUL.
  const size_t nul = input.find('\0');
  custos::api::TokenClaims claims;
  claims.iss = signer.issuer();
  claims.tenant = std::string(input.substr(0, nul));
  claims.sub = nul == std::string_view::npos ? "" : std::string(input.substr(nul + 1));
  // The server signs only what it made: a subject, and text (ids are validated UTF-8), of an
  // id's length (a tenant id is at most 63 bytes, a principal's far less than 256); longer
  // claims could make a token past what Verify reads (8 KiB), which no server token is.
  if (claims.sub.empty()) claims.sub = "usr_fuzz";
  if (!custos::core::IsValidUtf8(claims.tenant) || !custos::core::IsValidUtf8(claims.sub) ||
      claims.tenant.size() > 63 || claims.sub.size() > 256) {
    return 0;
  }
  claims.typ = "user";
  claims.jti = "fuzz";
  claims.iat = now;
  claims.exp = now + std::chrono::minutes(15);
  const std::string token = signer.Sign(claims);
  auto back = signer.Verify(token, now);
  if (!back.ok() || back->tenant != claims.tenant || back->sub != claims.sub) {
    std::fprintf(stderr, "jwt: claims did not survive a round trip\n");
    std::abort();
  }
  return 0;
}
