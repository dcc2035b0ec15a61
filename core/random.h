// The Random port: where server-made secrets and ids get their randomness. CryptoRandom uses
// OpenSSL's CSPRNG; tests may use a seeded source.
//
// Thread-safety: CryptoRandom may be shared by threads.
#pragma once

#include <cstddef>
#include <string>

#include "core/base64.h"

namespace custos::core {

class Random {
 public:
  virtual ~Random() = default;
  virtual void Fill(unsigned char* out, size_t n) = 0;
};

class CryptoRandom final : public Random {
 public:
  void Fill(unsigned char* out, size_t n) override;
};

// `n` random bytes as base64url without padding (RFC 4648 §5).
[[nodiscard]] std::string RandomToken(Random& random, size_t n);

}  // namespace custos::core
