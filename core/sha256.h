// SHA-256 (OpenSSL's libcrypto), streaming and one-shot, and HMAC-SHA256.
//
// Thread-safety: a Sha256 object belongs to one thread at a time; the free functions may be
// called from any thread.
#pragma once

#include <array>
#include <initializer_list>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace custos::core {

using Sha256Digest = std::array<unsigned char, 32>;

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view bytes);
  // Returns the digest and resets the object for the next message.
  Sha256Digest Finish();

 private:
  evp_md_ctx_st* ctx_;
};

[[nodiscard]] Sha256Digest Sha256Of(std::string_view bytes);
// 64 lowercase hex digits.
[[nodiscard]] std::string Sha256Hex(std::string_view bytes);
[[nodiscard]] std::string DigestHex(const Sha256Digest& digest);
// HMAC-SHA256 (RFC 2104) of `message` under `key`.
[[nodiscard]] Sha256Digest HmacSha256(std::string_view key, std::string_view message);
// The same of the parts' concatenation, without making it.
[[nodiscard]] Sha256Digest HmacSha256(std::string_view key,
                                      std::initializer_list<std::string_view> message);

}  // namespace custos::core
