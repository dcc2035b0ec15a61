#include "tools/bench/append_workload.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "core/clock.h"
#include "core/json_writer.h"
#include "storage/rocks_store.h"

namespace custos::tools::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kTenants = 100;
constexpr size_t kTargetLineBytes = 400;

// An application event as products report them; `padding` sizes its data.
core::EventDraft BenchDraft(size_t padding) {
  core::EventDraft d;
  d.type = "workflow.executed";
  d.actor = core::Actor{"user", "usr_7c3d8e9f0a1b", "Ada Lovelace", "", ""};
  d.data = "{\"result\":\"ok\",\"note\":\"" + std::string(padding, 'x') + "\"}";
  d.request_id = "req_1";
  return d;
}

struct Run {
  uint64_t ops = 0;
  double seconds = 0;
  Latencies latencies;
  double events_per_fsync = 0;
};

struct Workload {
  core::EventDraft draft;
  std::vector<std::string> tenants;
  uint64_t events = 0;
  uint64_t appenders = 0;

  core::AppendRequest Request(uint64_t n) const {
    core::AppendRequest request;
    request.tenant = core::TenantId(tenants[n % tenants.size()]);
    // Rendered here, as an appender does before it hands a request to the log.
    request.events.push_back(core::RenderDraft(draft).value());
    return request;
  }
};

core::Result<std::unique_ptr<storage::RocksStore>> OpenStore(const std::string& dir,
                                                             const core::Clock& clock) {
  storage::StoreOptions options;
  options.path = dir + "/db";
  options.clock = &clock;
  return storage::RocksStore::Open(options);
}

uint32_t MicrosSince(Clock::time_point t0) {
  return static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count());
}

// Merges the per-appender latencies and reads the group-commit counters since `before`.
Run FinishRun(const storage::RocksStore& store, const storage::RocksStore::Stats& before,
              Clock::time_point start, const std::vector<std::vector<uint32_t>*>& parts) {
  Run run;
  run.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (const std::vector<uint32_t>* p : parts) {
    run.latencies.micros.insert(run.latencies.micros.end(), p->begin(), p->end());
  }
  run.ops = run.latencies.micros.size();
  const storage::RocksStore::Stats after = store.stats();
  run.events_per_fsync = static_cast<double>(after.events - before.events) /
                         static_cast<double>(std::max<uint64_t>(1, after.groups - before.groups));
  return run;
}

// `appenders` concurrent appenders, each issuing its next append when the previous one is
// acknowledged, driven through AppendAsync as the HTTP server's I/O threads drive the log.
core::Result<Run> RunAsync(storage::RocksStore& store, const Workload& w) {
  struct Appender {
    Clock::time_point t0;
    std::vector<uint32_t> micros;
  };
  std::vector<Appender> appenders(w.appenders);
  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::condition_variable cv;
  uint64_t finished = 0;

  std::function<void(size_t)> submit = [&](size_t a) {
    const uint64_t n = next++;
    if (n >= w.events || failed) {
      std::lock_guard lock(mu);
      if (++finished == w.appenders) cv.notify_one();
      return;
    }
    appenders[a].t0 = Clock::now();
    core::Status queued = store.AppendAsync(w.Request(n), [&, a](core::AppendResult r) {
      if (!r.ok()) {
        std::fprintf(stderr, "append failed: %s\n", r.error().message.c_str());
        failed = true;
      } else {
        appenders[a].micros.push_back(MicrosSince(appenders[a].t0));
      }
      submit(a);
    });
    if (!queued.ok()) {
      std::fprintf(stderr, "append refused: %s\n", queued.error().message.c_str());
      failed = true;
      std::lock_guard lock(mu);
      if (++finished == w.appenders) cv.notify_one();
    }
  };
  const storage::RocksStore::Stats before = store.stats();
  const auto start = Clock::now();
  for (size_t a = 0; a < w.appenders; ++a) submit(a);
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return finished == w.appenders; });
  }
  if (failed) return core::Unavailable("the append workload failed");
  std::vector<std::vector<uint32_t>*> parts;
  for (Appender& a : appenders) parts.push_back(&a.micros);
  return FinishRun(store, before, start, parts);
}

// `appenders` OS threads, each blocking in Append until its fsync.
core::Result<Run> RunThreads(storage::RocksStore& store, const Workload& w) {
  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::vector<Latencies> per_thread(w.appenders);
  std::vector<std::thread> threads;
  const storage::RocksStore::Stats before = store.stats();
  const auto start = Clock::now();
  for (uint64_t t = 0; t < w.appenders; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t n = next++; n < w.events && !failed; n = next++) {
        const auto t0 = Clock::now();
        core::AppendResult r = store.Append(w.Request(n));
        if (!r.ok()) {
          std::fprintf(stderr, "append failed: %s\n", r.error().message.c_str());
          failed = true;
          return;
        }
        per_thread[t].micros.push_back(MicrosSince(t0));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  if (failed) return core::Unavailable("the append workload failed");
  std::vector<std::vector<uint32_t>*> parts;
  for (Latencies& l : per_thread) parts.push_back(&l.micros);
  return FinishRun(store, before, start, parts);
}

}  // namespace

core::Result<BenchResult> RunAppendWorkload(const BenchOptions& options) {
  Workload w;
  w.events = options.quick ? 100'000 : 1'000'000;
  w.appenders = options.threads;
  for (size_t i = 0; i < kTenants; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "bench-%02zu", i);
    w.tenants.emplace_back(name);
  }
  // Size the padding so that a stored line is about kTargetLineBytes.
  const core::AssembledLine probe = core::AssembleLine(
      core::RenderDraft(BenchDraft(0)).value(),
      core::EventPosition{"evt_0192f1c2a3b47c3d8e9f0a1b2c3d4e5f", 1000000, "bench-00", 10000,
                          core::FromUnixMillis(0), core::kZeroHash});
  const size_t padding =
      probe.line.size() < kTargetLineBytes ? kTargetLineBytes - probe.line.size() : 0;
  w.draft = BenchDraft(padding);
  const size_t line_bytes = probe.line.size() + padding;

  core::SystemClock clock;
  Run async_run;
  Run threads_run;
  {
    CUSTOS_ASSIGN_OR_RETURN(ScratchDir dir, ScratchDir::Create(options.dir, "append"));
    CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<storage::RocksStore> store,
                            OpenStore(dir.path(), clock));
    std::fprintf(stderr, "append: %llu events of ~%zu bytes, %llu concurrent appenders\n",
                 static_cast<unsigned long long>(w.events), line_bytes,
                 static_cast<unsigned long long>(w.appenders));
    CUSTOS_ASSIGN_OR_RETURN(async_run, RunAsync(*store, w));
    std::fprintf(stderr, "append: async %.0f ops/s, %.1f events per fsync\n",
                 static_cast<double>(async_run.ops) / async_run.seconds,
                 async_run.events_per_fsync);
    CUSTOS_ASSIGN_OR_RETURN(threads_run, RunThreads(*store, w));
    std::fprintf(stderr, "append: %llu blocking threads %.0f ops/s, %.1f events per fsync\n",
                 static_cast<unsigned long long>(w.appenders),
                 static_cast<double>(threads_run.ops) / threads_run.seconds,
                 threads_run.events_per_fsync);
  }
  std::fprintf(stderr, "append: running the db_bench peer\n");
  double peer = 0;
  if (!options.no_peer) {
    CUSTOS_ASSIGN_OR_RETURN(peer, RunDbBenchFillseq(options.dir, w.events));
  }

  BenchResult result;
  result.workload = "append";
  result.ops = async_run.ops;
  result.seconds = async_run.seconds;
  result.p50_us = async_run.latencies.Percentile(50);
  result.p99_us = async_run.latencies.Percentile(99);
  result.peer = "db_bench fillseq --sync=1 --batch_size=100 --value_size=400";
  result.peer_ops_per_s = peer;
  core::JsonWriter params;
  params.BeginObject()
      .Key("appenders")
      .UInt(w.appenders)
      .Key("events")
      .UInt(w.events)
      .Key("tenants")
      .UInt(kTenants)
      .Key("line_bytes")
      .UInt(line_bytes)
      .EndObject();
  result.params_json = params.Take();
  char extra[256];
  std::snprintf(extra, sizeof extra,
                "\"events_per_fsync\":%.1f,\"threads_ops_per_s\":%.2f,\"threads_p99_us\":%.2f,"
                "\"threads_events_per_fsync\":%.1f",
                async_run.events_per_fsync,
                static_cast<double>(threads_run.ops) / threads_run.seconds,
                threads_run.latencies.Percentile(99), threads_run.events_per_fsync);
  result.extra_json = extra;
  return result;
}

}  // namespace custos::tools::bench
