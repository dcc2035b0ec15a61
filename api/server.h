// HttpServer: HTTP/1.1 on Boost.Beast, for the routes in api/. Keep-alive, pipelining up to
// a cap (answers go out in request order even when handlers answer out of order), a read
// deadline on every request, header and body limits (431, 413), X-Request-Id on every
// response, and a graceful stop that finishes what is in flight.
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

#include "api/http.h"
#include "core/result.h"

namespace custos::api {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port (see HttpServer::port)
  int threads = 2;
  size_t header_limit = 16 * 1024;
  // The body limit of a request, from its method and path (413 beyond it).
  std::function<size_t(std::string_view method, std::string_view path)> body_limit =
      [](std::string_view, std::string_view) { return size_t{1} << 20; };
  std::chrono::milliseconds read_timeout{30'000};   // to read one request once it started
  std::chrono::milliseconds idle_timeout{120'000};  // a keep-alive connection with nothing
  size_t max_pipelined = 16;
  std::chrono::milliseconds stop_grace{10'000};  // Stop waits this long for in-flight work
};

using Handler = std::function<void(HttpRequest request, Responder respond)>;

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
  // Replaces ServerOptions::body_limit; call before Serve.
  void SetBodyLimit(std::function<size_t(std::string_view, std::string_view)> limit);
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
