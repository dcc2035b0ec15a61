#include "tools/bench/audit_workloads.h"

#include <cstdio>
#include <fstream>
#include <future>
#include <thread>

#include <fmt/format.h>

#include "core/json_writer.h"
#include "core/time.h"
#include "tools/bench/http_load.h"
#include "tools/bench/node.h"
#include "tools/bench/postgres_peer.h"

namespace custos::tools::bench {
namespace {

namespace iam = core::iam;

// Events of the data sets start here: a fixed day, so that both sides hold the same times.
constexpr int64_t kDataStartMs = 1795521600000;  // 2026-11-24T12:00:00Z

// Single application events, as a product's backend reports them.
std::string IngestBody(int conn, uint64_t n) {
  return fmt::format(
      "{{\"type\":\"workflow.executed\",\"actor\":{{\"type\":\"user\",\"id\":\"user-{}\"}},"
      "\"target\":{{\"type\":\"workflow\",\"id\":\"wf-{}\"}},\"data\":{{\"n\":{},\"note\":\"{}\"}}}"
      "}",
      conn, n % 20000, n, std::string(200, 'x'));
}

// Ingest load on `tenant`: `requests` single events over `connections` connections.
core::Result<HttpLoadResult> IngestLoad(BenchNode& node, const std::string& tenant, int connections,
                                        uint64_t requests) {
  const std::string token = node.RootToken();
  const std::string path = "/v1/tenants/" + tenant + "/audit/events";
  HttpLoadOptions lo;
  lo.port = node.port();
  lo.connections = connections;
  lo.requests = requests;
  lo.make_request = [&](int conn, uint64_t n) {
    return HttpRequestText("POST", path, token, IngestBody(conn, n));
  };
  CUSTOS_ASSIGN_OR_RETURN(HttpLoadResult load, RunHttpLoad(lo));
  if (load.failed > 0) {
    return core::Internal(
        fmt::format("{} requests failed; the first: {}", load.failed, load.first_failure));
  }
  return load;
}

}  // namespace

core::Result<BenchResult> RunIngestHttpWorkload(const BenchOptions& options) {
  const uint64_t requests = options.quick ? 20'000 : 200'000;
  const int connections = static_cast<int>(options.threads);
  BenchResult result;
  result.workload = "ingest-http";
  {
    CUSTOS_ASSIGN_OR_RETURN(ScratchDir dir, ScratchDir::Create(options.dir, "ingest-http"));
    core::SystemClock clock;
    CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<BenchNode> node, BenchNode::Start(dir.path(), clock));
    CUSTOS_RETURN_IF_ERROR(
        node->Run("bench", iam::CreateTenant{"bench", "Bench", iam::Plan::kEnterprise, {}, {}}));
    std::fprintf(stderr, "ingest-http: %llu events over %d connections\n",
                 static_cast<unsigned long long>(requests), connections);
    CUSTOS_ASSIGN_OR_RETURN(HttpLoadResult load, IngestLoad(*node, "bench", connections, requests));
    result.ops = load.ok;
    result.seconds = load.seconds;
    result.p50_us = load.latencies.Percentile(50);
    result.p99_us = load.latencies.Percentile(99);
  }
  if (!options.no_peer) {
    std::fprintf(stderr, "ingest-http: ours %.0f/s; running the PostgreSQL peer\n",
                 static_cast<double>(result.ops) / result.seconds);
    CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<PostgresPeer> pg, PostgresPeer::Start(options.dir));
    CUSTOS_ASSIGN_OR_RETURN(result.peer_ops_per_s,
                            pg->InsertTps(connections, options.quick ? 5 : 15));
  }
  result.peer =
      fmt::format("PostgreSQL 15 pgbench INSERT, {} clients, synchronous_commit=on", connections);
  result.params_json = fmt::format("{{\"connections\":{},\"requests\":{}}}", connections, requests);
  return result;
}

core::Result<BenchResult> RunIngestBatchWorkload(const BenchOptions& options) {
  const uint64_t batches = options.quick ? 200 : 2'000;
  constexpr int kBatch = 1000;
  const int connections = 4;  // each request carries a thousand events
  BenchResult result;
  result.workload = "ingest-batch";
  {
    CUSTOS_ASSIGN_OR_RETURN(ScratchDir dir, ScratchDir::Create(options.dir, "ingest-batch"));
    core::SystemClock clock;
    CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<BenchNode> node, BenchNode::Start(dir.path(), clock));
    CUSTOS_RETURN_IF_ERROR(
        node->Run("bench", iam::CreateTenant{"bench", "Bench", iam::Plan::kEnterprise, {}, {}}));
    std::string body = "{\"events\":[";
    for (int i = 0; i < kBatch; ++i) body += (i ? "," : "") + IngestBody(i % 64, i);
    body += "]}";
    const std::string token = node->RootToken();
    const std::string request =
        HttpRequestText("POST", "/v1/tenants/bench/audit/events:batch", token, body);
    HttpLoadOptions lo;
    lo.port = node->port();
    lo.connections = connections;
    lo.requests = batches;
    lo.make_request = [&](int, uint64_t) { return request; };
    std::fprintf(stderr, "ingest-batch: %llu batches of %d over %d connections\n",
                 static_cast<unsigned long long>(batches), kBatch, connections);
    CUSTOS_ASSIGN_OR_RETURN(HttpLoadResult load, RunHttpLoad(lo));
    if (load.failed > 0) {
      return core::Internal(
          fmt::format("{} batches failed; the first: {}", load.failed, load.first_failure));
    }
    result.ops = load.ok * kBatch;
    result.seconds = load.seconds;
    result.p50_us = load.latencies.Percentile(50);
    result.p99_us = load.latencies.Percentile(99);
  }
  CUSTOS_RETURN_IF_ERROR(AddDbBenchPeer(options, result));
  result.params_json = fmt::format("{{\"batch\":{},\"batches\":{},\"connections\":{}}}", kBatch,
                                   batches, connections);
  result.extra_json = "\"latency_per\":\"batch\"";
  return result;
}

namespace {

struct QueryRun {
  Latencies all;
  double p99_by_actor = 0;
  double p99_by_prefix = 0;
  double p99_by_range = 0;
  uint64_t ops = 0;
  double seconds = 0;
};

// First pages of 100 of the hot tenant: by actor, by action prefix, by a one-hour range.
core::Result<QueryRun> RunQueries(BenchNode& node, const AuditDataSpec& spec, uint64_t each) {
  const std::string token = node.RootToken();
  const std::string base = "/v1/tenants/t0000/audit/events?limit=100";
  const int64_t span_ms = AuditTimeOf(spec, spec.events - 1) - spec.start_ms;
  auto range = [&](uint64_t n) {
    const int64_t from =
        spec.start_ms +
        static_cast<int64_t>((n * 2654435761u) %
                             static_cast<uint64_t>(std::max<int64_t>(1, span_ms - 3'600'000)));
    return "&from=" + core::FormatTime(core::FromUnixMillis(from)) +
           "&to=" + core::FormatTime(core::FromUnixMillis(from + 3'600'000));
  };
  std::vector<std::function<std::string(uint64_t)>> kinds = {
      [&](uint64_t n) { return base + "&actor=user-" + std::to_string((n * 7907) % 5000); },
      [&](uint64_t) { return base + "&action=workflow.*"; },
      [&](uint64_t n) { return base + range(n); },
  };
  QueryRun run;
  double* p99s[] = {&run.p99_by_actor, &run.p99_by_prefix, &run.p99_by_range};
  for (size_t k = 0; k < kinds.size(); ++k) {
    HttpLoadOptions lo;
    lo.port = node.port();
    lo.connections = 1;  // latency: one query at a time, as PostgreSQL's single client
    lo.requests = each;
    lo.make_request = [&](int, uint64_t n) {
      return HttpRequestText("GET", kinds[k](n), token, "");
    };
    CUSTOS_ASSIGN_OR_RETURN(HttpLoadResult load, RunHttpLoad(lo));
    if (load.failed > 0) return core::Internal("a query failed: " + load.first_failure);
    *p99s[k] = load.latencies.Percentile(99);
    run.all.micros.insert(run.all.micros.end(), load.latencies.micros.begin(),
                          load.latencies.micros.end());
    run.ops += load.ok;
    run.seconds += load.seconds;
  }
  return run;
}

// The same three queries for pgbench.
std::vector<std::string> PeerQueries(const AuditDataSpec& spec) {
  const int64_t start_s = spec.start_ms / 1000;
  const int64_t end_s = AuditTimeOf(spec, spec.events - 1) / 1000;
  return {
      "\\set k random(0, 4999)\n"
      "SELECT * FROM audit WHERE tenant = 't0000' AND actor = 'user-' || :k "
      "ORDER BY ts DESC LIMIT 100;\n",
      "SELECT * FROM audit WHERE tenant = 't0000' AND action LIKE 'workflow.%' "
      "ORDER BY ts DESC LIMIT 100;\n",
      fmt::format("\\set x random({}, {})\n"
                  "SELECT * FROM audit WHERE tenant = 't0000' AND ts >= to_timestamp(:x) AND "
                  "ts < to_timestamp(:x + 3600) ORDER BY ts DESC LIMIT 100;\n",
                  start_s, std::max(start_s, end_s - 3600)),
  };
}

}  // namespace

core::Result<BenchResult> RunQueryWorkload(const BenchOptions& options) {
  // The small size first: the target is a p99 at 10M no worse than 1.5× the one at 100k.
  std::vector<uint64_t> sizes =
      options.quick ? std::vector<uint64_t>{100'000} : std::vector<uint64_t>{100'000, 10'000'000};
  const uint64_t each = options.quick ? 500 : 2'000;
  BenchResult result;
  result.workload = "query";
  double small_p99 = 0;
  QueryRun last;
  Latencies peer_latencies;
  std::string extra;
  for (uint64_t size : sizes) {
    AuditDataSpec spec{size, 1000, kDataStartMs, 60'000};
    {
      CUSTOS_ASSIGN_OR_RETURN(ScratchDir dir, ScratchDir::Create(options.dir, "query"));
      core::FakeClock clock(core::FromUnixMillis(kDataStartMs));
      CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<BenchNode> node, BenchNode::Start(dir.path(), clock));
      std::fprintf(stderr, "query: loading %llu events over 1000 tenants\n",
                   static_cast<unsigned long long>(size));
      CUSTOS_RETURN_IF_ERROR(node->LoadAudit(spec, clock, iam::Plan::kEnterprise));
      std::fprintf(stderr, "query: %llu events settled, querying\n",
                   static_cast<unsigned long long>(size));
      CUSTOS_ASSIGN_OR_RETURN(last, RunQueries(*node, spec, each));
    }
    const double p99 = last.all.Percentile(99);
    std::fprintf(stderr, "query: %llu events: p99 %.0f us (actor %.0f, prefix %.0f, range %.0f)\n",
                 static_cast<unsigned long long>(size), p99, last.p99_by_actor, last.p99_by_prefix,
                 last.p99_by_range);
    if (small_p99 == 0) small_p99 = p99;
    extra += fmt::format("\"p99_us_{}\":{:.0f},", size, p99);
    if (!options.no_peer && size == sizes.back()) {
      std::fprintf(stderr, "query: loading the same events into PostgreSQL\n");
      CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<PostgresPeer> pg, PostgresPeer::Start(options.dir));
      CUSTOS_RETURN_IF_ERROR(pg->LoadAudit(spec));
      for (const std::string& script : PeerQueries(spec)) {
        CUSTOS_ASSIGN_OR_RETURN(Latencies l, pg->QueryLatencies({script}, 1, each));
        peer_latencies.micros.insert(peer_latencies.micros.end(), l.micros.begin(), l.micros.end());
      }
    }
  }
  result.ops = last.ops;
  result.seconds = last.seconds;
  result.p50_us = last.all.Percentile(50);
  result.p99_us = last.all.Percentile(99);
  if (!options.no_peer && !peer_latencies.micros.empty()) {
    double total = 0;
    for (uint32_t us : peer_latencies.micros) total += us;
    result.peer_ops_per_s = static_cast<double>(peer_latencies.micros.size()) / (total / 1e6);
    extra += fmt::format("\"peer_p99_us\":{:.0f},", peer_latencies.Percentile(99));
  }
  result.peer = "PostgreSQL 15, same rows and indexes, pgbench 1 client";
  extra += fmt::format(
      "\"p99_growth\":{:.2f},\"p99_us_by_actor\":{:.0f},\"p99_us_by_prefix\":{:.0f},"
      "\"p99_us_by_range\":{:.0f}",
      small_p99 > 0 ? result.p99_us / small_p99 : 0, last.p99_by_actor, last.p99_by_prefix,
      last.p99_by_range);
  result.extra_json = extra;
  result.params_json = fmt::format(
      "{{\"events\":{},\"tenants\":1000,\"hot_tenant_share\":0.3,\"page\":100,"
      "\"queries_per_kind\":{}}}",
      sizes.back(), each);
  return result;
}

core::Result<BenchResult> RunExportWorkload(const BenchOptions& options) {
  const uint64_t events = options.quick ? 100'000 : 3'000'000;
  AuditDataSpec spec{events, 1, kDataStartMs, 60'000};
  BenchResult result;
  result.workload = "export";
  uint64_t rss_growth = 0;
  uint64_t bytes = 0;
  {
    CUSTOS_ASSIGN_OR_RETURN(ScratchDir dir, ScratchDir::Create(options.dir, "export"));
    core::FakeClock clock(core::FromUnixMillis(kDataStartMs));
    // A small block cache, so that the RSS shows what the export itself holds.
    CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<BenchNode> node,
                            BenchNode::Start(dir.path(), clock, 8 << 20));
    std::fprintf(stderr, "export: loading %llu events of one tenant\n",
                 static_cast<unsigned long long>(events));
    CUSTOS_RETURN_IF_ERROR(node->LoadAudit(spec, clock, iam::Plan::kEnterprise));
    // The server's checkpoint interval verifies and signs new heads in the background; an
    // export then verifies only what came since.
    CUSTOS_RETURN_IF_ERROR(node->SignHeads());
    const uint64_t before = RssBytes();
    uint64_t peak = before;
    // curl (Debian's) reads the stream into /dev/null; this thread samples the RSS meanwhile.
    const std::string url =
        "http://127.0.0.1:" + std::to_string(node->port()) + "/v1/tenants/t0000/audit/export";
    auto curl = std::async(std::launch::async, [&] {
      return RunAndCapture({"curl", "-sS", "--fail", "-o", "/dev/null", "-w",
                            "%{size_download} %{time_total}", "-H",
                            "Authorization: Bearer " + node->RootToken(), url});
    });
    while (curl.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready) {
      peak = std::max(peak, RssBytes());
    }
    CUSTOS_ASSIGN_OR_RETURN(std::string out, curl.get());
    double seconds = 0;
    if (std::sscanf(out.c_str(), "%llu %lf", reinterpret_cast<unsigned long long*>(&bytes),
                    &seconds) != 2 ||
        seconds <= 0) {
      return core::Internal("unexpected curl output: " + out);
    }
    rss_growth = peak - before;
    result.ops = events;
    result.seconds = seconds;
  }
  if (!options.no_peer) {
    std::fprintf(stderr, "export: ours %.0f events/s; COPY from PostgreSQL\n",
                 static_cast<double>(result.ops) / result.seconds);
    CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<PostgresPeer> pg, PostgresPeer::Start(options.dir));
    CUSTOS_RETURN_IF_ERROR(pg->LoadAudit(spec));
    uint64_t rows = 0;
    CUSTOS_ASSIGN_OR_RETURN(
        double pg_seconds,
        pg->CopyOutSeconds("SELECT * FROM audit WHERE tenant = 't0000' ORDER BY seq", &rows));
    result.peer_ops_per_s = static_cast<double>(rows) / pg_seconds;
  }
  result.peer = "PostgreSQL 15 COPY (SELECT … ORDER BY seq) TO STDOUT via psql";
  result.params_json =
      fmt::format("{{\"events\":{},\"format\":\"jsonl\",\"block_cache_mb\":8}}", events);
  result.extra_json = fmt::format("\"bytes\":{},\"rss_bytes\":{}", bytes, rss_growth);
  return result;
}

core::Result<BenchResult> RunPurgeWorkload(const BenchOptions& options) {
  const uint64_t events = options.quick ? 200'000 : 5'000'000;
  const uint64_t requests = options.quick ? 20'000 : 100'000;
  const int connections = static_cast<int>(options.threads);
  BenchResult result;
  result.workload = "purge";
  HttpLoadResult base;
  HttpLoadResult during;
  double purge_seconds = 0;
  uint64_t purged = 0;
  {
    CUSTOS_ASSIGN_OR_RETURN(ScratchDir dir, ScratchDir::Create(options.dir, "purge"));
    // The old events are 40 days old: past the free plan's 30.
    const core::Time now = core::SystemClock().Now();
    const int64_t start_ms = core::ToUnixMillis(now - std::chrono::hours(24 * 40));
    core::FakeClock clock(core::FromUnixMillis(start_ms));
    CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<BenchNode> node, BenchNode::Start(dir.path(), clock));
    AuditDataSpec spec{events, 1, start_ms, 100};
    std::fprintf(stderr, "purge: loading %llu events 40 days old\n",
                 static_cast<unsigned long long>(events));
    CUSTOS_RETURN_IF_ERROR(node->LoadAudit(spec, clock, iam::Plan::kFree));
    clock.Set(now);
    CUSTOS_RETURN_IF_ERROR(
        node->Run("live", iam::CreateTenant{"live", "Live", iam::Plan::kEnterprise, {}, {}}));
    std::fprintf(stderr, "purge: writers alone\n");
    CUSTOS_ASSIGN_OR_RETURN(base, IngestLoad(*node, "live", connections, requests));
    std::fprintf(stderr, "purge: writers while %llu events are purged\n",
                 static_cast<unsigned long long>(events));
    auto load = std::async(std::launch::async,
                           [&] { return IngestLoad(*node, "live", connections, requests); });
    const auto t0 = std::chrono::steady_clock::now();
    // The purge, and the compactions that reclaim the space (what a purge really costs).
    core::Result<projections::PurgeOutcome> outcome =
        node->retention().Purge(core::TenantId("t0000"), clock.Now());
    core::Status compacted = core::OkStatus();
    if (outcome.ok()) compacted = node->store().CompactSpace(core::Space::kAudit);
    purge_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CUSTOS_ASSIGN_OR_RETURN(during, load.get());
    if (!outcome.ok()) return outcome.error();
    CUSTOS_RETURN_IF_ERROR(compacted);
    purged = outcome->purged;
  }
  result.ops = during.ok;
  result.seconds = during.seconds;
  result.p50_us = during.latencies.Percentile(50);
  result.p99_us = during.latencies.Percentile(99);
  const double base_p99 = base.latencies.Percentile(99);
  result.peer = "the same writers without the purge";
  result.peer_ops_per_s = static_cast<double>(base.ok) / base.seconds;
  result.params_json = fmt::format("{{\"purged_events\":{},\"connections\":{},\"requests\":{}}}",
                                   events, connections, requests);
  result.extra_json = fmt::format(
      "\"slowdown\":{:.2f},\"base_p99_us\":{:.0f},\"purged\":{},\"purge_seconds\":{:.3f}",
      base_p99 > 0 ? result.p99_us / base_p99 : 0, base_p99, purged, purge_seconds);
  return result;
}

}  // namespace custos::tools::bench
