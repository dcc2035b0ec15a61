#include "core/random.h"

#include <openssl/rand.h>

#include "core/base64.h"

#include <cstdlib>
#include <vector>

namespace custos::core {

void CryptoRandom::Fill(unsigned char* out, size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1) std::abort();  // no randomness: no secrets
}

std::string RandomToken(Random& random, size_t n) {
  std::vector<unsigned char> buf(n);
  random.Fill(buf.data(), n);
  return Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(buf.data()), n));
}

}  // namespace custos::core
