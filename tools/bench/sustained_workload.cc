#include "tools/bench/sustained_workload.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <thread>

#include <fmt/format.h>

#include "tools/bench/http_load.h"
#include "tools/bench/node.h"

namespace custos::tools::bench {
namespace {

namespace iam = core::iam;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int kBatch = 100;
constexpr int kWriters = 64;

std::string BatchBody(int conn) {
  std::string body = "{\"events\":[";
  for (int i = 0; i < kBatch; ++i) {
    body += fmt::format(
        "{}{{\"type\":\"workflow.executed\",\"actor\":{{\"type\":\"user\",\"id\":\"user-{}\"}},"
        "\"target\":{{\"type\":\"workflow\",\"id\":\"wf-{}\"}},\"data\":{{\"n\":{}}}}}",
        i ? "," : "", conn, (conn * kBatch + i) % 5000, i);
  }
  return body + "]}";
}

// How long the events the index has not reached have been in the log: the log's last seq is
// sampled every 10 ms; the lag is the age of the first sample past the indexed seq (0 when
// the index holds everything).
class LagSampler {
 public:
  explicit LagSampler(BenchNode& node) : node_(node) {
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        const auto now = Clock::now();
        const uint64_t last = node_.store().LastSeq().value();
        if (samples_.empty() || samples_.back().second < last) samples_.emplace_back(now, last);
        const uint64_t indexed = node_.audit().indexed().value();
        while (!samples_.empty() && samples_.front().second <= indexed) samples_.pop_front();
        const double lag_ms =
            samples_.empty()
                ? 0
                : std::chrono::duration<double, std::milli>(now - samples_.front().first).count();
        lags_.micros.push_back(static_cast<uint32_t>(lag_ms * 1000));
        std::this_thread::sleep_for(10ms);
      }
    });
  }
  // Stops sampling; the lags in µs.
  Latencies Stop() {
    stop_.store(true);
    thread_.join();
    return std::move(lags_);
  }

 private:
  BenchNode& node_;
  std::atomic<bool> stop_{false};
  std::deque<std::pair<Clock::time_point, uint64_t>> samples_;  // the sampler thread's
  Latencies lags_;
  std::thread thread_;
};

}  // namespace

core::Result<BenchResult> RunIngestSustainedWorkload(const BenchOptions& options) {
  const std::chrono::milliseconds duration = options.quick ? 60s : 300s;
  BenchResult result;
  result.workload = "ingest-sustained";
  Latencies lags;
  Latencies queries;
  {
    CUSTOS_ASSIGN_OR_RETURN(ScratchDir dir, ScratchDir::Create(options.dir, "ingest-sustained"));
    core::SystemClock clock;
    CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<BenchNode> node, BenchNode::Start(dir.path(), clock));
    CUSTOS_RETURN_IF_ERROR(
        node->Run("bench", iam::CreateTenant{"bench", "Bench", iam::Plan::kEnterprise, {}, {}}));
    const std::string token = node->RootToken();
    std::vector<std::string> requests;
    for (int w = 0; w < kWriters; ++w) {
      requests.push_back(
          HttpRequestText("POST", "/v1/tenants/bench/audit/events:batch", token, BatchBody(w)));
    }
    // The querying client: a page of one actor's events every 100 ms, on a connection of its
    // own, for as long as the writers run.
    std::atomic<bool> writing{true};
    std::string query_error;
    std::thread querier([&] {
      uint64_t n = 0;
      while (writing.load()) {
        const auto next = Clock::now() + 100ms;
        HttpLoadOptions q;
        q.port = node->port();
        q.connections = 1;
        q.requests = 1;
        const std::string path =
            fmt::format("/v1/tenants/bench/audit/events?actor=user-{}&limit=100", n++ % kWriters);
        q.make_request = [&](int, uint64_t) { return HttpRequestText("GET", path, token, ""); };
        core::Result<HttpLoadResult> r = RunHttpLoad(q);
        if (!r.ok() || r->failed > 0) {
          if (query_error.empty()) {
            query_error = r.ok() ? r->first_failure : r.error().message;
          }
        } else {
          queries.micros.push_back(r->latencies.micros.front());
        }
        std::this_thread::sleep_until(next);
      }
    });
    LagSampler sampler(*node);
    HttpLoadOptions lo;
    lo.port = node->port();
    lo.connections = kWriters;
    lo.requests = UINT64_MAX;
    lo.duration = duration;
    lo.make_request = [&](int conn, uint64_t) { return requests[static_cast<size_t>(conn)]; };
    std::fprintf(stderr, "ingest-sustained: %d writers, batches of %d, for %lld s\n", kWriters,
                 kBatch, static_cast<long long>(duration.count() / 1000));
    core::Result<HttpLoadResult> load = RunHttpLoad(lo);
    writing.store(false);
    querier.join();
    lags = sampler.Stop();
    if (!load.ok()) return load.error();
    if (load->failed > 0) {
      return core::Internal(
          fmt::format("{} batches failed; the first: {}", load->failed, load->first_failure));
    }
    if (!query_error.empty()) return core::Internal("a query failed: " + query_error);
    result.ops = load->ok * kBatch;
    result.seconds = load->seconds;
    result.p50_us = load->latencies.Percentile(50);
    result.p99_us = load->latencies.Percentile(99);
  }
  CUSTOS_RETURN_IF_ERROR(AddDbBenchPeer(options, result));
  result.params_json =
      fmt::format("{{\"writers\":{},\"batch\":{},\"seconds\":{},\"query_every_ms\":100}}", kWriters,
                  kBatch, duration.count() / 1000);
  result.extra_json = fmt::format(
      "\"latency_per\":\"batch\",\"index_lag_p50_ms\":{:.1f},\"index_lag_p99_ms\":{:.1f},"
      "\"query_p99_us\":{:.0f},\"queries\":{}",
      lags.Percentile(50) / 1000, lags.Percentile(99) / 1000, queries.Percentile(99),
      queries.micros.size());
  return result;
}

}  // namespace custos::tools::bench
