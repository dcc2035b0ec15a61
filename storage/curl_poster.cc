#include "storage/curl_poster.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>

namespace custos::storage {
namespace {

std::once_flag curl_init_once;
constexpr size_t kAnswerHeadBytes = 512;

struct UrlParts {
  std::string scheme;
  std::string host;
  std::string user;
  std::string password;
};

std::optional<UrlParts> ParseUrl(const std::string& url) {
  CURLU* u = curl_url();
  std::optional<UrlParts> out;
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    auto part = [&](CURLUPart which) {
      char* text = nullptr;
      std::string value;
      if (curl_url_get(u, which, &text, 0) == CURLUE_OK) value = text;
      curl_free(text);
      return value;
    };
    out = UrlParts{part(CURLUPART_SCHEME), part(CURLUPART_HOST), part(CURLUPART_USER),
                   part(CURLUPART_PASSWORD)};
  }
  curl_url_cleanup(u);
  return out;
}

size_t KeepHead(char* data, size_t size, size_t count, void* user) {
  auto* head = static_cast<std::string*>(user);
  const size_t n = size * count;
  // Kept for the log: control bytes (a forged log line) become '?'.
  for (size_t i = 0; i < n && head->size() < kAnswerHeadBytes; ++i) {
    const auto ch = static_cast<unsigned char>(data[i]);
    head->push_back(ch < 0x20 || ch == 0x7f ? '?' : data[i]);
  }
  return n;  // the rest is read and dropped
}

int Progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<std::atomic<bool>*>(user)->load() ? 1 : 0;  // non-zero aborts
}

struct Body {
  std::string text;
  size_t max = 0;
  bool over = false;
};

size_t KeepBody(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<Body*>(user);
  const size_t n = size * count;
  if (body->text.size() + n > body->max) {
    body->over = true;
    return 0;  // aborts the transfer
  }
  body->text.append(data, n);
  return n;
}

// What every request of ours sets: the URL, http(s) only, no redirects followed, no signals,
// the peer's certificate and name checked, TLS 1.2 at least, the CA file when given, timeouts.
bool SetTransport(CURL* c, const std::string& url, const std::string& ca_file,
                  std::chrono::milliseconds connect_timeout, std::chrono::milliseconds timeout) {
  bool ok = curl_easy_setopt(c, CURLOPT_URL, url.c_str()) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2)) ==
                 CURLE_OK;
  if (!ca_file.empty()) ok = ok && curl_easy_setopt(c, CURLOPT_CAINFO, ca_file.c_str()) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                              static_cast<long>(connect_timeout.count())) == CURLE_OK;
  ok =
      ok && curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count())) == CURLE_OK;
  return ok;
}

}  // namespace

bool PublicAddress(const sockaddr* a) {
  if (a->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(a);
    const uint32_t v = ntohl(in->sin_addr.s_addr);
    const uint8_t b0 = v >> 24;
    const uint8_t b1 = (v >> 16) & 0xff;
    const uint8_t b2 = (v >> 8) & 0xff;
    return !(b0 == 0 || b0 == 10 || b0 == 127 || (b0 == 169 && b1 == 254) ||
             (b0 == 172 && (b1 & 0xf0) == 16) || (b0 == 192 && b1 == 168) ||
             (b0 == 192 && b1 == 0 && b2 == 0) || (b0 == 198 && (b1 & 0xfe) == 18) ||
             (b0 == 100 && (b1 & 0xc0) == 64) || b0 >= 224);
  }
  if (a->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a);
    const unsigned char* b = in6->sin6_addr.s6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) || IN6_IS_ADDR_V4COMPAT(&in6->sin6_addr)) {
      sockaddr_in v4{};
      v4.sin_family = AF_INET;
      std::memcpy(&v4.sin_addr.s_addr, b + 12, 4);
      return PublicAddress(reinterpret_cast<const sockaddr*>(&v4));
    }
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address: it decides.
    const bool nat64 = b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b &&
                       std::all_of(b + 4, b + 12, [](unsigned char x) { return x == 0; });
    if (nat64 || (b[0] == 0x20 && b[1] == 0x02)) {
      sockaddr_in v4{};
      v4.sin_family = AF_INET;
      std::memcpy(&v4.sin_addr.s_addr, nat64 ? b + 12 : b + 2, 4);
      return PublicAddress(reinterpret_cast<const sockaddr*>(&v4));
    }
    const bool local_nat64 = b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b &&
                             b[4] == 0x00 && b[5] == 0x01;  // 64:ff9b:1::/48
    return !(IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr) || IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
             IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr) || IN6_IS_ADDR_SITELOCAL(&in6->sin6_addr) ||
             IN6_IS_ADDR_MULTICAST(&in6->sin6_addr) || (b[0] & 0xfe) == 0xfc || local_nat64);
  }
  return false;
}

namespace {

// libcurl's socket opener with the address check: CURL_SOCKET_BAD refuses the connection.
curl_socket_t OpenPublicSocket(void*, curlsocktype purpose, curl_sockaddr* address) {
  if (purpose != CURLSOCKTYPE_IPCXN || !PublicAddress(&address->addr)) return CURL_SOCKET_BAD;
  return socket(address->family, address->socktype, address->protocol);
}

}  // namespace

core::Result<Fetched> FetchUrl(const std::string& url, const FetchOptions& options) {
  std::call_once(curl_init_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  const std::optional<UrlParts> parts = ParseUrl(url);
  if (!parts || parts->host.empty() || (parts->scheme != "http" && parts->scheme != "https")) {
    return core::InvalidArgument("not an http:// or https:// URL with a host: '" + url + "'");
  }
  CURL* c = curl_easy_init();
  if (c == nullptr) return core::Internal("libcurl could not make a handle");
  Body body;
  body.max = options.max_bytes;
  char error[CURL_ERROR_SIZE] = "";
  bool ok = SetTransport(c, url, options.ca_file, options.timeout, options.timeout);
  ok = ok && curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, KeepBody) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_WRITEDATA, &body) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error) == CURLE_OK;
  if (options.public_addresses_only) {
    // The check is on the address connected to: through a proxy that would be the proxy's,
    // so no proxy here (https_proxy and the like are not honoured).
    ok = ok && curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, OpenPublicSocket) == CURLE_OK &&
         curl_easy_setopt(c, CURLOPT_PROXY, "") == CURLE_OK;
  }
  // Keys must be the origin's current ones: no cached copy from a proxy on the way.
  curl_slist* headers = curl_slist_append(nullptr, "Cache-Control: no-cache");
  headers = curl_slist_append(headers, "Accept: application/json");
  if (!options.authorization.empty()) {
    headers = curl_slist_append(headers, ("Authorization: " + options.authorization).c_str());
  }
  if (options.form_body) {
    headers = curl_slist_append(headers, "Content-Type: application/x-www-form-urlencoded");
    ok = ok &&
         curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(options.form_body->size())) ==
             CURLE_OK &&
         curl_easy_setopt(c, CURLOPT_POSTFIELDS, options.form_body->c_str()) == CURLE_OK;
  }
  ok = ok && curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) == CURLE_OK;
  if (!ok) {
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    return core::Internal("this libcurl lacks an option a fetch needs (7.85 or later)");
  }
  const CURLcode rc = curl_easy_perform(c);
  Fetched out;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
  curl_easy_cleanup(c);
  curl_slist_free_all(headers);
  if (body.over) {
    return core::InvalidArgument(url + " answered more than " + std::to_string(options.max_bytes) +
                                 " bytes");
  }
  if (rc != CURLE_OK) {
    return core::Unavailable(url + ": " +
                             std::string(error[0] != '\0' ? error : curl_easy_strerror(rc)));
  }
  out.body = std::move(body.text);
  return out;
}

struct CurlPoster::Impl {
  CurlPosterOptions options;
  CURL* curl = nullptr;
  std::atomic<bool> cancelled{false};
  ~Impl() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
};

core::Status CurlPoster::CheckOptions(const CurlPosterOptions& options) {
  std::call_once(curl_init_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  const size_t authority = options.url.rfind("http://", 0) == 0    ? 7
                           : options.url.rfind("https://", 0) == 0 ? 8
                                                                   : 0;
  // libcurl reads http:///x as host x: a host must follow the slashes.
  const bool http = authority != 0 && options.url.size() > authority &&
                    options.url[authority] != '/' &&
                    options.url.find_first_of(" \t\r\n") == std::string::npos;
  const std::optional<UrlParts> url = http ? ParseUrl(options.url) : std::nullopt;
  if (!url || url->host.empty() || (url->scheme != "http" && url->scheme != "https")) {
    return core::InvalidArgument("--webhook must be an http:// or https:// URL with a host, got '" +
                                 options.url + "'");
  }
  if (!url->user.empty() || !url->password.empty()) {
    // It would be written wherever the URL is (logs, the config file, ps): the secret file
    // is the place for what the receiver checks.
    return core::InvalidArgument(
        "--webhook: no user or password in the URL; the receiver checks the Custos-Signature "
        "header (--webhook-secret-file)");
  }
  if (!options.ca_file.empty() && !std::ifstream(options.ca_file).is_open()) {
    return core::InvalidArgument("--webhook-ca-file: cannot read " + options.ca_file);
  }
  return core::OkStatus();
}

core::Result<std::unique_ptr<CurlPoster>> CurlPoster::Create(CurlPosterOptions options) {
  CUSTOS_RETURN_IF_ERROR(CheckOptions(options));
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->curl = curl_easy_init();
  if (impl->curl == nullptr) return core::Internal("libcurl could not make a handle");
  CURL* c = impl->curl;
  bool ok = true;
  ok = ok && SetTransport(c, impl->options.url, impl->options.ca_file,
                          impl->options.connect_timeout, impl->options.timeout);
  ok = ok && curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_USERAGENT, impl->options.user_agent.c_str()) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, Progress) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_XFERINFODATA, &impl->cancelled) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, KeepHead) == CURLE_OK;
  if (!ok) return core::Internal("this libcurl lacks an option the webhook needs (7.85 or later)");
  return std::unique_ptr<CurlPoster>(new CurlPoster(std::move(impl)));
}

CurlPoster::CurlPoster(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CurlPoster::~CurlPoster() = default;

void CurlPoster::Cancel() { impl_->cancelled = true; }

core::Result<core::HttpAnswer> CurlPoster::Post(std::string_view body,
                                                std::span<const core::MessageHeader> headers) {
  if (impl_->cancelled) return core::Unavailable("cancelled");
  CURL* c = impl_->curl;
  curl_slist* list = nullptr;
  for (const core::MessageHeader& h : headers) {
    list = curl_slist_append(list, (std::string(h.name) + ": " + std::string(h.value)).c_str());
  }
  // No "Expect: 100-continue" round trip before a large body.
  list = curl_slist_append(list, "Expect:");
  core::HttpAnswer answer;
  char error[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer.body_head);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  const CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &answer.status);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, nullptr);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, nullptr);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  curl_slist_free_all(list);
  if (rc != CURLE_OK) {
    return core::Unavailable(rc == CURLE_ABORTED_BY_CALLBACK
                                 ? std::string("cancelled")
                                 : std::string(error[0] != '\0' ? error : curl_easy_strerror(rc)));
  }
  return answer;
}

}  // namespace custos::storage
