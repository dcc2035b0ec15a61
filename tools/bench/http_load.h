// HttpLoad: a closed-loop HTTP/1.1 load generator over keep-alive connections to
// 127.0.0.1 (epoll, one thread): each connection sends a request, waits for its answer,
// records the latency, and sends the next. The peer of our HTTP workloads runs at the same
// concurrency.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/result.h"
#include "tools/bench/bench_util.h"

namespace custos::tools::bench {

struct HttpLoadOptions {
  uint16_t port = 0;
  // When set, connection i goes to ports[i % size] instead (several nodes behind no balancer).
  std::vector<uint16_t> ports;
  int connections = 64;
  uint64_t requests = 10'000;  // in all
  // When set, no request is started after this long (the ones under way are answered).
  std::chrono::milliseconds duration{0};
  // The raw request (request line, headers, body) for connection `conn`'s n-th request.
  std::function<std::string(int conn, uint64_t n)> make_request;
  // Optional: sees each answer (to carry an id into a later request).
  std::function<void(int conn, uint64_t n, int status, std::string_view body)> on_response;
};

struct HttpLoadResult {
  uint64_t ok = 0;      // 2xx answers
  uint64_t failed = 0;  // other answers
  double seconds = 0;
  Latencies latencies;
  std::string first_failure;  // the first non-2xx answer, for the report
};

[[nodiscard]] core::Result<HttpLoadResult> RunHttpLoad(const HttpLoadOptions& options);

}  // namespace custos::tools::bench
