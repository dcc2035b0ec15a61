// CurlPoster: the HttpPoster of the webhook sink (`--webhook URL`), through libcurl.
//
// One connection is kept and reused between posts (HTTP/1.1 keep-alive). Only http:// and
// https:// are spoken, redirects are not followed (a batch goes where it was configured to go,
// or nowhere), and HTTPS peers are verified against the system's CAs, or `ca_file` when given
// (a private CA, or a self-signed receiver's certificate). A post that gets no answer within
// `timeout` fails; Cancel makes one in progress give up at libcurl's next progress call (about
// a second at most while waiting; name resolution runs on libcurl's resolver thread where the
// build has one, as Debian's does, and then obeys the timeouts too). libcurl's standard proxy
// variables (https_proxy, no_proxy) apply, as for any libcurl client.
//
// Thread-safety: Post from one thread at a time; Cancel from any.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

struct sockaddr;

#include "core/http_poster.h"

namespace custos::storage {

struct CurlPosterOptions {
  std::string url;
  std::string ca_file;  // empty: the system's CAs
  std::string user_agent = "custos";
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds timeout{30'000};  // one post, connection included
};

// A GET of an http(s) URL through libcurl (a follower's fetch of its leader's keys, an identity
// provider's discovery and keys), or a POST of a form (the provider's token endpoint): redirects
// are not followed, HTTPS peers are verified as the poster's are. kUnavailable when no answer
// came, with why; kInvalidArgument for a URL that is not http(s) or a body over `max_bytes`.
struct FetchOptions {
  std::string ca_file;  // empty: the system's CAs
  // A POST of this form body (application/x-www-form-urlencoded) instead of a GET.
  std::optional<std::string> form_body;
  std::string authorization;  // an Authorization header's value, when not empty
  // Connect to public addresses only: loopback, private (RFC 1918, fc00::/7), link-local,
  // carrier-grade NAT and unspecified addresses are refused after name resolution, so that a
  // URL a tenant chose cannot reach the node's own network (SSRF).
  bool public_addresses_only = false;
  std::chrono::milliseconds timeout{10'000};
  size_t max_bytes = size_t{256} << 10;
};
struct Fetched {
  long status = 0;
  std::string body;
};
// Whether a resolved address is one a tenant's URL may reach (public_addresses_only): not
// loopback, private, link-local, site-local, carrier-grade NAT, benchmarking, multicast or
// unspecified; an IPv4 address inside IPv6 (mapped, compatible, NAT64, 6to4) is judged as IPv4.
[[nodiscard]] bool PublicAddress(const sockaddr* address);

[[nodiscard]] core::Result<Fetched> FetchUrl(const std::string& url, const FetchOptions& options);

class CurlPoster final : public core::HttpPoster {
 public:
  // The URL must be http(s)://HOST[:PORT][/PATH] with no user or password in it; a CA file
  // must be readable.
  [[nodiscard]] static core::Status CheckOptions(const CurlPosterOptions& options);
  [[nodiscard]] static core::Result<std::unique_ptr<CurlPoster>> Create(CurlPosterOptions options);
  ~CurlPoster() override;
  CurlPoster(const CurlPoster&) = delete;
  CurlPoster& operator=(const CurlPoster&) = delete;

  [[nodiscard]] core::Result<core::HttpAnswer> Post(
      std::string_view body, std::span<const core::MessageHeader> headers) override;
  void Cancel() override;

 private:
  struct Impl;
  explicit CurlPoster(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace custos::storage
