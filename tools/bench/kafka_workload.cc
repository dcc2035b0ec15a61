// The `kafka` workload (../shared/BENCHMARKS.md): the relay into librdkafka's mock cluster, in
// three phases over one store and one cluster (the cluster runs in this process):
// 1. throughput — a backlog of ~400-byte events over 100 tenants, relayed from an empty
//    cursor to both audit topics, counted by delivery reports; the peer is `kcat -P`
//    producing as many ~400-byte messages (keyed) into the same cluster; ops_per_s and the
//    ratio count messages (two per event: the line and its OCSF record), events_per_s events;
// 2. lag — events appended at 20k/s (group commit, as the HTTP server drives the log) while
//    the relay runs: the delivery lag of each event (delivery report minus the event's time);
// 3. outage — the same load, every broker down for 10 s (3 s with --quick), then back: the
//    backlog's drain rate, events delivered per second from the brokers' return until the
//    relay has caught up.
#include "tools/bench/kafka_workload.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "core/clock.h"
#include "projections/audit_index.h"
#include "projections/credentials.h"
#include "projections/follower.h"
#include "projections/identity_service.h"
#include "projections/relay.h"
#include "storage/kafka_dev_cluster.h"
#include "storage/kafka_feed.h"
#include "storage/kafka_producer.h"
#include "storage/rocks_store.h"

namespace custos::tools::bench {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr size_t kTenants = 100;

// A small application event: its stored line (the envelope's framing is most of it) is
// about 400 bytes.
core::EventDraft Draft() {
  core::EventDraft d;
  d.type = "workflow.executed";
  d.actor = core::Actor{"user", "usr_7c3d8e9f0a1b", "", "", ""};
  d.data = "{\"result\":\"ok\"}";
  d.request_id = "req_1";
  return d;
}

size_t LineBytes() {
  return core::AssembleLine(
             core::RenderDraft(Draft()).value(),
             core::EventPosition{"evt_0192f1c2a3b47c3d8e9f0a1b2c3d4e5f", 1000000, "bench-00", 10000,
                                 core::FromUnixMillis(0), core::kZeroHash})
      .line.size();
}

std::string Tenant(uint64_t n) { return fmt::format("bench-{:02}", n % kTenants); }

// Appends `events` in requests of 100 events per tenant (the backlog).
core::Status AppendBacklog(storage::RocksStore& store, uint64_t events) {
  const core::RenderedDraft draft = core::RenderDraft(Draft()).value();
  for (uint64_t n = 0; n < events; n += 100) {
    core::AppendRequest r;
    r.tenant = core::TenantId(Tenant(n / 100));
    r.events.assign(std::min<uint64_t>(100, events - n), draft);
    CUSTOS_ASSIGN_OR_RETURN(std::vector<core::AppendedEvent> done, store.Append(std::move(r)));
  }
  return core::OkStatus();
}

// Appends single events at `rate` per second through AppendAsync until `stop`.
class PacedLoad {
 public:
  PacedLoad(storage::RocksStore& store, double rate) : store_(store), rate_(rate) {
    thread_ = std::thread([this] { Run(); });
  }
  ~PacedLoad() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  [[nodiscard]] bool failed() const { return failed_; }

 private:
  void Run() {
    const core::EventDraft draft = Draft();
    const auto start = Clock::now();
    const auto interval = std::chrono::duration<double>(1.0 / rate_);
    for (uint64_t n = 0; !stop_; ++n) {
      const auto at = start + std::chrono::duration_cast<Clock::duration>(interval * n);
      if (at > Clock::now()) std::this_thread::sleep_until(at);
      core::AppendRequest r;
      r.tenant = core::TenantId(Tenant(n));
      r.events.push_back(core::RenderDraft(draft).value());
      core::Status queued = store_.AppendAsync(std::move(r), [this](core::AppendResult result) {
        if (!result.ok()) failed_ = true;
      });
      if (!queued.ok()) failed_ = true;
    }
  }
  storage::RocksStore& store_;
  const double rate_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
};

// kcat -P of the first `messages` stored lines, keyed by tenant, as the relay sends them;
// its messages per second.
core::Result<double> RunKcatPeer(const std::string& dir, const std::string& brokers,
                                 const storage::RocksStore& store, uint64_t messages) {
  const std::string file = dir + "/kcat-input.txt";
  {
    std::ofstream out(file);
    uint64_t written = 0;
    while (written < messages) {
      CUSTOS_ASSIGN_OR_RETURN(std::vector<core::StoredEvent> events,
                              store.Read(core::Seq(written + 1), 10000));
      if (events.empty()) break;
      for (const core::StoredEvent& e : events) out << e.tenant.value() << '\t' << e.line << '\n';
      written += events.size();
    }
  }
  const auto start = Clock::now();
  CUSTOS_ASSIGN_OR_RETURN(std::string output,
                          RunAndCapture({"kcat", "-P", "-b", brokers, "-t", "bench.kcat", "-K",
                                         "\t", "-z", "lz4", "-l", file}));
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return static_cast<double>(messages) / seconds;
}

// A relay from `store` into the cluster, as a leader runs it (not started yet).
struct BenchRelay {
  std::unique_ptr<storage::KafkaPublisher> publisher;
  std::unique_ptr<projections::Relay> relay;
};

core::Result<BenchRelay> MakeRelay(storage::RocksStore& store, const std::string& brokers,
                                   const core::Clock& clock, std::string replication_key = "") {
  storage::KafkaOptions kafka;
  kafka.brokers = brokers;
  BenchRelay out;
  CUSTOS_ASSIGN_OR_RETURN(out.publisher, storage::KafkaPublisher::Create(kafka));
  projections::RelayOptions relay_options;
  relay_options.product_version = "bench";
  relay_options.replication_key = std::move(replication_key);
  out.relay =
      std::make_unique<projections::Relay>(store, store, *out.publisher, clock, relay_options);
  return out;
}

// The p-th percentile (0 < p ≤ 1) of what a 1 ms-bucket histogram gained between two reads.
double PercentileBetween(const core::Histogram::Snapshot& before,
                         const core::Histogram::Snapshot& after, double p) {
  const uint64_t count = after.count - before.count;
  if (count == 0) return 0;
  const auto want = static_cast<uint64_t>(p * static_cast<double>(count));
  for (size_t i = 0; i < after.bounds.size(); ++i) {
    if (after.cumulative[i] - before.cumulative[i] >= want) return after.bounds[i];
  }
  return after.bounds.back() + 1;  // beyond the last bucket
}

}  // namespace

core::Result<BenchResult> RunFollowWorkload(const BenchOptions& options) {
  const uint64_t backlog = options.quick ? 100'000 : 1'000'000;
  const double rate = 20'000;
  const auto lag_phase = options.quick ? 3s : 10s;
  // Records authenticated as in production (--replication-key-file): the relay's MAC and the
  // follower's check are part of what is measured.
  const std::string kKey(64, 'k');

  core::SystemClock clock;
  CUSTOS_ASSIGN_OR_RETURN(ScratchDir dir, ScratchDir::Create(options.dir, "follow"));
  // The mock cluster keeps about 5 MiB per partition: some 20k of these records with their
  // headers (the custos-mac among them). A backlog of 1M needs 64 partitions to be held whole;
  // past that, the follower rightly halts every tenant whose start the topic lost.
  storage::KafkaDevClusterOptions cluster_options;
  cluster_options.partitions = 64;
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<storage::KafkaDevCluster> cluster,
                          storage::KafkaDevCluster::Start(cluster_options));
  auto open_store = [&](const std::string& name) {
    storage::StoreOptions store_options;
    store_options.path = dir.path() + "/" + name;
    store_options.clock = &clock;
    return storage::RocksStore::Open(store_options);
  };
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<storage::RocksStore> leader, open_store("leader"));
  std::fprintf(stderr, "follow: appending a backlog of %llu events on the leader\n",
               static_cast<unsigned long long>(backlog));
  CUSTOS_RETURN_IF_ERROR(AppendBacklog(*leader, backlog));
  CUSTOS_ASSIGN_OR_RETURN(BenchRelay relayed,
                          MakeRelay(*leader, cluster->bootstrap_servers(), clock, kKey));
  projections::Relay& relay = *relayed.relay;
  CUSTOS_RETURN_IF_ERROR(relay.Start());
  CUSTOS_RETURN_IF_ERROR(relay.WaitDelivered(leader->LastSeq(), 600s));

  // 1. Catch-up: a follower from nothing, until its log and its audit index hold the backlog.
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<storage::RocksStore> store, open_store("follower"));
  core::CryptoRandom random;
  CUSTOS_ASSIGN_OR_RETURN(
      std::unique_ptr<projections::IdentityService> identity,
      projections::IdentityService::Open(*store, *store, clock, random, nullptr));
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<projections::AuditIndex> index,
                          projections::AuditIndex::Open(*store, *store));
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<projections::Credentials> credentials,
                          projections::Credentials::Open(*store, clock));
  storage::KafkaFeedOptions feed_options;
  feed_options.brokers = cluster->bootstrap_servers();
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<storage::KafkaFeed> feed,
                          storage::KafkaFeed::Create(feed_options));
  projections::FollowerOptions follower_options;
  follower_options.replication_key = kKey;
  projections::Follower follower(*identity, *store, *store, *credentials, *feed, clock,
                                 follower_options);
  // Until the follower's log holds `events` (its own count), or it halts a tenant.
  auto applied = [&](uint64_t events, std::chrono::seconds within) -> core::Status {
    const auto deadline = Clock::now() + within;
    while (store->LastSeq().value() < events) {
      if (!follower.stats().halted.empty()) return core::Internal("the follower halted a tenant");
      if (Clock::now() > deadline) return core::Unavailable("the follower did not catch up");
      (void)store->WaitForAppend(store->LastSeq(), 100ms);
    }
    return core::OkStatus();
  };
  const auto start = Clock::now();
  CUSTOS_RETURN_IF_ERROR(follower.Start());
  CUSTOS_RETURN_IF_ERROR(applied(backlog, 600s));
  const double applied_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  CUSTOS_RETURN_IF_ERROR(index->CatchUp(600s));
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::fprintf(stderr,
               "follow: caught up with %llu events in %.2f s (%.2f s applied, then the index): "
               "%.0f events/s\n",
               static_cast<unsigned long long>(backlog), seconds, applied_seconds,
               static_cast<double>(backlog) / seconds);

  // 2. Replication lag at 20k events/s on the leader.
  const core::Histogram::Snapshot before = follower.lag_ms().Read();
  relay.ResetLag();
  double relay_p50 = 0;
  double relay_p99 = 0;
  {
    PacedLoad load(*leader, rate);
    std::this_thread::sleep_for(lag_phase);  // the phase's length, not a wait on a condition
    load.Stop();
    if (load.failed()) return core::Unavailable("an append of the paced load failed");
  }
  CUSTOS_RETURN_IF_ERROR(relay.WaitDelivered(leader->LastSeq(), 60s));
  // The part of the lag before the follower: from the leader's append to the broker's ack.
  relay_p50 = relay.LagPercentileMs(0.50);
  relay_p99 = relay.LagPercentileMs(0.99);
  CUSTOS_RETURN_IF_ERROR(applied(leader->LastSeq().value(), 300s));
  const core::Histogram::Snapshot after = follower.lag_ms().Read();
  const double lag_p50 = PercentileBetween(before, after, 0.50);
  const double lag_p99 = PercentileBetween(before, after, 0.99);
  std::fprintf(stderr,
               "follow: lag at %.0f events/s: p50 %.0f ms, p99 %.0f ms (%llu events); of which "
               "the relay's, to the broker's ack: p50 %.0f ms, p99 %.0f ms\n",
               rate, lag_p50, lag_p99, static_cast<unsigned long long>(after.count - before.count),
               relay_p50, relay_p99);
  follower.Stop();
  relay.Stop();

  BenchResult result;
  result.workload = "follow";
  result.ops = backlog;
  result.seconds = seconds;
  result.p50_us = lag_p50 * 1000;
  result.p99_us = lag_p99 * 1000;
  if (!options.no_peer) {
    // The peer: the leader rebuilding its own state and audit index from the same log.
    std::fprintf(stderr, "follow: the leader's rebuild of the same events\n");
    index.reset();
    const auto t0 = Clock::now();
    CUSTOS_RETURN_IF_ERROR(projections::IdentityService::RebuildState(*leader, *leader));
    CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<projections::AuditIndex> leader_index,
                            projections::AuditIndex::Open(*leader, *leader));
    CUSTOS_ASSIGN_OR_RETURN(uint64_t rebuilt, leader_index->Rebuild());
    result.peer_ops_per_s =
        static_cast<double>(rebuilt) / std::chrono::duration<double>(Clock::now() - t0).count();
    result.peer = "the leader's rebuild (state + audit index)";
  }
  result.params_json =
      fmt::format("{{\"backlog_events\":{},\"event_bytes\":{},\"lag_rate_per_s\":{}}}", backlog,
                  LineBytes(), static_cast<uint64_t>(rate));
  result.extra_json = fmt::format(
      "\"applied_seconds\":{:.3f},\"lag_p99_ms\":{:.0f},\"relay_lag_p50_ms\":{:.0f},"
      "\"relay_lag_p99_ms\":{:.0f},\"latency_is\":\"replication lag\","
      "\"ops_are\":\"events caught up (log, state and audit index)\"",
      applied_seconds, lag_p99, relay_p50, relay_p99);
  return result;
}

core::Result<BenchResult> RunKafkaWorkload(const BenchOptions& options) {
  const uint64_t backlog = options.quick ? 100'000 : 500'000;
  const double rate = 20'000;
  const auto lag_phase = options.quick ? 3s : 10s;
  const auto outage = options.quick ? 3s : 10s;

  core::SystemClock clock;
  CUSTOS_ASSIGN_OR_RETURN(ScratchDir dir, ScratchDir::Create(options.dir, "kafka"));
  storage::KafkaDevClusterOptions cluster_options;
  cluster_options.topics.push_back("bench.kcat");
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<storage::KafkaDevCluster> cluster,
                          storage::KafkaDevCluster::Start(cluster_options));
  storage::StoreOptions store_options;
  store_options.path = dir.path() + "/db";
  store_options.clock = &clock;
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<storage::RocksStore> store,
                          storage::RocksStore::Open(store_options));

  std::fprintf(stderr, "kafka: appending a backlog of %llu events\n",
               static_cast<unsigned long long>(backlog));
  CUSTOS_RETURN_IF_ERROR(AppendBacklog(*store, backlog));

  // 1. Throughput: the backlog relayed from an empty cursor.
  CUSTOS_ASSIGN_OR_RETURN(BenchRelay relayed,
                          MakeRelay(*store, cluster->bootstrap_servers(), clock));
  projections::Relay& relay = *relayed.relay;
  const auto start = Clock::now();
  CUSTOS_RETURN_IF_ERROR(relay.Start());
  CUSTOS_RETURN_IF_ERROR(relay.WaitDelivered(store->LastSeq(), 600s));
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::fprintf(stderr, "kafka: relayed %llu events (x2 topics) in %.2f s: %.0f events/s\n",
               static_cast<unsigned long long>(backlog), seconds,
               static_cast<double>(backlog) / seconds);

  // 2. Lag at 20k events/s.
  relay.ResetLag();
  double lag_p50 = 0;
  double lag_p99 = 0;
  double drain = 0;
  uint64_t drained = 0;
  double drain_seconds = 0;
  {
    PacedLoad load(*store, rate);
    std::this_thread::sleep_for(lag_phase);  // the phase's length, not a wait on a condition
    lag_p50 = relay.LagPercentileMs(0.50);
    lag_p99 = relay.LagPercentileMs(0.99);
    std::fprintf(stderr, "kafka: lag at %.0f events/s: p50 %.0f ms, p99 %.0f ms\n", rate, lag_p50,
                 lag_p99);

    // 3. Outage under the same load.
    CUSTOS_RETURN_IF_ERROR(cluster->SetBrokerDown(1, true));
    std::this_thread::sleep_for(outage);
    const projections::RelayStats before = relay.stats();
    CUSTOS_RETURN_IF_ERROR(cluster->SetBrokerDown(1, false));
    const auto up = Clock::now();
    std::fprintf(stderr, "kafka: brokers back after %lld s, backlog %llu events\n",
                 static_cast<long long>(outage.count()),
                 static_cast<unsigned long long>(before.lag_events));
    // Drained: the cursor reaches what was appended by the time the brokers returned (the
    // load goes on meanwhile, and what it adds is delivered too).
    const core::Seq at_return = store->LastSeq();
    CUSTOS_RETURN_IF_ERROR(relay.WaitDelivered(at_return, 600s));
    drain_seconds = std::chrono::duration<double>(Clock::now() - up).count();
    drained = relay.stats().delivered - before.delivered;
    drain = static_cast<double>(drained) / drain_seconds;
    std::fprintf(stderr, "kafka: drained %llu events in %.2f s: %.0f events/s\n",
                 static_cast<unsigned long long>(drained), drain_seconds, drain);
    load.Stop();
    if (load.failed()) return core::Unavailable("an append of the paced load failed");
  }
  relay.Stop();

  BenchResult result;
  result.workload = "kafka";
  // Messages, as kcat's are counted: each event is two (its line and its OCSF record).
  result.ops = 2 * backlog;
  result.seconds = seconds;
  result.p50_us = lag_p50 * 1000;
  result.p99_us = lag_p99 * 1000;
  if (!options.no_peer) {
    std::fprintf(stderr, "kafka: running the kcat -P peer\n");
    CUSTOS_ASSIGN_OR_RETURN(result.peer_ops_per_s,
                            RunKcatPeer(dir.path(), cluster->bootstrap_servers(), *store, backlog));
    result.peer = "kcat -P (lz4, keyed)";
  }
  result.params_json = fmt::format(
      "{{\"backlog_events\":{},\"event_bytes\":{},\"lag_rate_per_s\":{},\"outage_s\":{},"
      "\"topics\":2}}",
      backlog, LineBytes(), static_cast<uint64_t>(rate), static_cast<long long>(outage.count()));
  result.extra_json = fmt::format(
      "\"events_per_s\":{:.0f},\"lag_p99_ms\":{:.0f},\"drain_ops_per_s\":{:.0f},"
      "\"drained_events\":{},\"drain_seconds\":{:.3f},\"latency_is\":\"delivery lag\","
      "\"ops_are\":\"messages (2 per event)\"",
      static_cast<double>(backlog) / seconds, lag_p99, drain, drained, drain_seconds);
  return result;
}

}  // namespace custos::tools::bench
