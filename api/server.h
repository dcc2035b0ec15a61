// HttpServer: HTTP/1.1 on Boost.Beast, for the routes in api/. Keep-alive, pipelining up to
// a cap (answers go out in request order even when handlers answer out of order), a read
// deadline on every request, header and body limits (431, 413), a request admitted (or
// refused) on its headers before its body is read, answers queued per connection bounded in
// bytes, connections capped in all and per source address, X-Request-Id on every response,
// and a graceful stop that finishes what is in flight.
//
// The handler runs on the connection's strand and must not block: it answers through the
// Responder, from any thread, whenever the answer is ready. Api keeps that promise by
// running every route's blocking work on its pools (api.h); a streamed body is made where its
// BodyStream makes it (NextAsync). tests/api/fair_work_test.cc holds it with one I/O thread.
//
// Thread-safety: Start/Stop/Wait from the owning thread; the server runs `threads` threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "api/forwarded.h"
#include "api/http.h"
#include "core/result.h"

namespace custos::api {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port (see HttpServer::port)
  int threads = 2;
  size_t header_limit = 16 * 1024;
  // Called on the connection's strand for a request that carries a body, once its headers
  // have arrived (`head` has everything but the body): the body's limit, or an answer that
  // refuses it unread (no route, no or bad credentials). Must not block.
  std::function<Admission(HttpRequest& head)> admit = [](const HttpRequest&) {
    return Admission{};
  };
  std::chrono::milliseconds read_timeout{30'000};   // to read one request once it started
  std::chrono::milliseconds idle_timeout{120'000};  // a keep-alive connection with nothing
  size_t max_pipelined = 16;
  // Answers made but not yet taken by the client, in bytes: past this the connection reads
  // no further request until they are sent (a client that never reads holds this much, plus
  // the answers already in the making).
  size_t max_queued_bytes = size_t{4} << 20;
  // Open connections, in all and per source address; beyond either a new connection gets a
  // 503 (Retry-After) and is closed. 0 for max_connections: from the process's file limit.
  size_t max_connections = 0;
  size_t max_connections_per_address = 256;
  // Reverse proxies whose forwarding header names the client (HttpRequest::remote_ip); their
  // own connections are exempt from the per-address cap, as every client comes through them.
  TrustedProxies trusted_proxies;
  std::chrono::milliseconds stop_grace{10'000};  // Stop waits this long for in-flight work
  // HTTPS (TLS 1.2 and 1.3) when set: PEM files of the certificate chain and its key, read
  // at Bind and again at each ReloadTls.
  std::string tls_cert_file;
  std::string tls_key_file;
};

using Handler = std::function<void(HttpRequest request, Responder respond)>;

// Whether the PEM files make a TLS server context (the chain readable, the key its key): what
// Bind will find, checked before anything else is opened.
[[nodiscard]] core::Status CheckTlsFiles(const std::string& cert_file, const std::string& key_file);

class HttpServer {
 public:
  // Binds the address (port 0 picks a free one) without listening yet.
  [[nodiscard]] static core::Result<std::unique_ptr<HttpServer>> Bind(ServerOptions options);
  // Starts listening and serving with `handler`.
  [[nodiscard]] core::Status Serve(Handler handler);
  // Bind and Serve.
  [[nodiscard]] static core::Result<std::unique_ptr<HttpServer>> Start(ServerOptions options,
                                                                       Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  [[nodiscard]] uint16_t port() const;
  // Reads the certificate and key files again (a renewed certificate): new connections use
  // them, open ones keep what they shook hands with. On an error nothing changes.
  [[nodiscard]] core::Status ReloadTls();
  // Replaces ServerOptions::admit; call before Serve.
  void SetAdmission(std::function<Admission(HttpRequest& head)> admit);
  // Connections open now (for tests and metrics).
  [[nodiscard]] size_t connections() const;
  // True once Stop has begun.
  [[nodiscard]] bool stopping() const;
  // Stops accepting, lets in-flight requests finish and be written, closes idle
  // connections, then returns once the threads are done (or the grace period is over).
  void Stop();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace custos::api
