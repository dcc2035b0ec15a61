// The `rebuild` and `memory` workloads (../shared/BENCHMARKS.md) over one large data dir (shared
// when both run) made by the bulk loader: 100 tenants holding 1M users, 100k groups, 10k roles and
// 10M application events in all (--quick: 10k, 1k, 100, 100k).
//
// The bulk loader goes through the identity service, as the server does, but in bulk: users
// in imports of 1,000 (one decision, one append), groups and roles with up to 512 commands in
// flight (group commit), events in blocks (BenchNode::LoadAudit).
//
// rebuild: the state projection dropped and replayed from the log (IdentityService::
//   RebuildState) — every event read and applied — then the audit index rebuilt beside it.
// memory: `custos serve` started as its own process on the loaded data dir, twice (after the
//   load, then after a clean stop): time from exec to ready (listen.addr written: store open,
//   tenants found, listening), then to every tenant's state in memory (the warmer's log line),
//   and the RSS at both.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "core/clock.h"
#include "projections/audit_index.h"
#include "projections/identity_service.h"
#include "storage/rocks_store.h"
#include "tools/bench/audit_data.h"
#include "tools/bench/bench_util.h"
#include "tools/bench/node.h"
#include "tools/bench/scale_workloads.h"

namespace custos::tools::bench {
namespace {

using Clock = std::chrono::steady_clock;
namespace iam = core::iam;

constexpr int kTenants = 100;

struct ScaleSpec {
  uint64_t users, groups, roles, events;
};

ScaleSpec SpecFor(const BenchOptions& o) {
  return o.quick ? ScaleSpec{10'000, 1'000, 100, 100'000}
                 : ScaleSpec{1'000'000, 100'000, 10'000, 10'000'000};
}

double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Runs `make(i)` for i in [0, n) as commands of tenant t(i), at most `depth` in flight.
template <class Make>
core::Status RunMany(projections::IdentityService& identity, uint64_t n, Make make) {
  constexpr uint64_t kDepth = 512;
  std::mutex mu;
  std::condition_variable cv;
  uint64_t in_flight = 0;
  std::optional<core::Error> failed;
  for (uint64_t i = 0; i < n; ++i) {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return in_flight < kDepth; });
      if (failed) return *failed;
      ++in_flight;
    }
    projections::ExecuteRequest r = make(i);
    r.actor = core::Actor{"root", "bench", "", "", ""};
    identity.ExecuteAsync(std::move(r), [&](core::Result<projections::ExecuteResult> done) {
      std::lock_guard lock(mu);
      if (!done.ok() && !failed) failed = done.error();
      --in_flight;
      cv.notify_all();
    });
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return in_flight == 0; });
  if (failed) return *failed;
  return core::OkStatus();
}

// Loads the scale data set into a node over `dir`.
core::Status Load(const std::string& dir, const ScaleSpec& spec) {
  core::FakeClock clock(core::FromUnixMillis(1795521600000));
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<BenchNode> node, BenchNode::Start(dir, clock));
  const auto t0 = Clock::now();
  AuditDataSpec events;
  events.events = spec.events;
  events.tenants = kTenants;
  events.start_ms = 1795521600000;
  events.step_ms = 1000;
  CUSTOS_RETURN_IF_ERROR(node->LoadAudit(events, clock, iam::Plan::kEnterprise));
  std::fprintf(stderr, "  %llu events in %.1f s\n", static_cast<unsigned long long>(spec.events),
               SecondsSince(t0));
  projections::IdentityService& identity = node->identity();

  const auto t1 = Clock::now();
  CUSTOS_RETURN_IF_ERROR(RunMany(identity, spec.roles, [](uint64_t i) {
    projections::ExecuteRequest r;
    r.tenant = core::TenantId(AuditTenantName(static_cast<int>(i % kTenants)));
    r.command = iam::CreateRole{fmt::format("role-{}", i),
                                "",
                                {iam::Permission{"*", "template", "*", iam::Level::kView}},
                                {}};
    return r;
  }));
  CUSTOS_RETURN_IF_ERROR(RunMany(identity, spec.groups, [](uint64_t i) {
    projections::ExecuteRequest r;
    r.tenant = core::TenantId(AuditTenantName(static_cast<int>(i % kTenants)));
    r.command =
        iam::CreateGroup{fmt::format("group-{}", i), "", iam::GroupType::kConfigured, "root"};
    return r;
  }));
  std::fprintf(stderr, "  %llu roles and %llu groups in %.1f s\n",
               static_cast<unsigned long long>(spec.roles),
               static_cast<unsigned long long>(spec.groups), SecondsSince(t1));

  const auto t2 = Clock::now();
  constexpr uint64_t kImport = 1000;
  const uint64_t imports = (spec.users + kImport - 1) / kImport;
  CUSTOS_RETURN_IF_ERROR(RunMany(identity, imports, [&](uint64_t b) {
    projections::ExecuteRequest r;
    r.tenant = core::TenantId(AuditTenantName(static_cast<int>(b % kTenants)));
    iam::ImportUsers import;
    for (uint64_t i = b * kImport; i < std::min(spec.users, (b + 1) * kImport); ++i) {
      iam::CreateUser u;
      u.email = fmt::format("user{}@example.com", i);
      u.first_name = "User";
      u.last_name = fmt::format("{}", i);
      u.department = i % 2 ? "Engineering" : "Sales";
      import.users.push_back(std::move(u));
      import.lines.push_back(i - b * kImport + 2);
    }
    r.command = std::move(import);
    return r;
  }));
  std::fprintf(stderr, "  %llu users in %.1f s\n", static_cast<unsigned long long>(spec.users),
               SecondsSince(t2));
  return core::OkStatus();
}

// The data set of this run, loaded once for both workloads; removed at exit.
core::Result<const std::string*> LoadedDir(const BenchOptions& options, const ScaleSpec& spec) {
  static std::optional<ScratchDir> dir;
  if (dir) return &dir->path();
  CUSTOS_ASSIGN_OR_RETURN(ScratchDir made, ScratchDir::Create(options.dir, "scale"));
  std::fprintf(stderr, "scale: loading the data set\n");
  CUSTOS_RETURN_IF_ERROR(Load(made.path(), spec));
  dir.emplace(std::move(made));
  return &dir->path();
}

}  // namespace

core::Result<BenchResult> RunRebuildWorkload(const BenchOptions& options) {
  const ScaleSpec spec = SpecFor(options);
  CUSTOS_ASSIGN_OR_RETURN(const std::string* dir, LoadedDir(options, spec));

  core::SystemClock clock;
  storage::StoreOptions store_options;
  store_options.path = storage::StorePathForDataDir(*dir);
  store_options.clock = &clock;
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<storage::RocksStore> store,
                          storage::RocksStore::Open(store_options));
  // A settled data dir, as an operator's rebuild finds it: the load's compactions done.
  CUSTOS_RETURN_IF_ERROR(store->Quiesce(std::chrono::minutes(30)));
  CUSTOS_ASSIGN_OR_RETURN(std::string before, projections::IdentityService::StoredDigest(*store));
  const uint64_t events = store->LastSeq().value();
  std::fprintf(stderr, "rebuild: replaying %llu events into the state\n",
               static_cast<unsigned long long>(events));
  const auto t0 = Clock::now();
  CUSTOS_RETURN_IF_ERROR(projections::IdentityService::RebuildState(*store, *store));
  const double state_seconds = SecondsSince(t0);
  CUSTOS_ASSIGN_OR_RETURN(std::string after, projections::IdentityService::StoredDigest(*store));
  if (before != after) return core::Internal("the rebuilt state differs from the stored one");

  std::fprintf(stderr, "rebuild: state %.2f s; now the audit index\n", state_seconds);
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<projections::AuditIndex> index,
                          projections::AuditIndex::Open(*store, *store));
  const auto t1 = Clock::now();
  CUSTOS_ASSIGN_OR_RETURN(uint64_t indexed, index->Rebuild());
  const double index_seconds = SecondsSince(t1);

  BenchResult result;
  result.workload = "rebuild";
  result.ops = events;
  result.seconds = state_seconds;
  result.params_json =
      fmt::format("{{\"events\":{},\"users\":{},\"groups\":{},\"roles\":{},\"tenants\":{}}}",
                  spec.events, spec.users, spec.groups, spec.roles, kTenants);
  result.extra_json =
      fmt::format("\"index_ops_per_s\":{:.0f},\"index_seconds\":{:.2f},\"digest_equal\":true",
                  static_cast<double>(indexed) / index_seconds, index_seconds);
  return result;
}

core::Result<BenchResult> RunMemoryWorkload(const BenchOptions& options) {
  const ScaleSpec spec = SpecFor(options);
  CUSTOS_ASSIGN_OR_RETURN(const std::string* dir, LoadedDir(options, spec));

  // A server of its own on the loaded data dir, started twice as an operator restarts one:
  // first after the bulk load, then after a clean stop (the restart the target is about).
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const std::string addr_file = *dir + "/listen.addr";
  const std::string log_file = *dir + "/serve.log";
  struct Start {
    double ready_ms = -1;
    uint64_t rss = 0;
    double loaded_ms = -1;  // every tenant's state in memory (the warmer's log line)
    uint64_t rss_loaded = 0;
  };
  auto start_server = [&]() -> core::Result<Start> {
    std::filesystem::remove(addr_file);
    const auto t0 = Clock::now();
    const pid_t pid = fork();
    if (pid == 0) {
      const int null = ::open("/dev/null", O_WRONLY);
      const int log = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (null < 0 || log < 0) ::_exit(126);
      ::dup2(null, 1);
      ::dup2(log, 2);
      ::execl(self.c_str(), self.c_str(), "serve", "--listen", "127.0.0.1:0", "--data-dir",
              dir->c_str(), "--kafka", "off", "--block-cache-mb", "128",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    if (pid < 0) return core::Internal("fork failed");
    Start s;
    while (SecondsSince(t0) < 300) {
      if (std::filesystem::exists(addr_file) && std::filesystem::file_size(addr_file) > 0) {
        s.ready_ms = SecondsSince(t0) * 1000;
        break;
      }
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) return core::Internal("custos serve exited");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the poll's interval
    }
    s.rss = RssBytes(pid);
    while (s.ready_ms >= 0 && SecondsSince(t0) < 300) {
      std::ifstream log(log_file);
      const std::string text((std::istreambuf_iterator<char>(log)),
                             std::istreambuf_iterator<char>());
      if (text.find("identity state loaded") != std::string::npos) {
        s.loaded_ms = SecondsSince(t0) * 1000;
        s.rss_loaded = RssBytes(pid);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the poll's interval
    }
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (s.ready_ms < 0) return core::Internal("custos serve was not ready within 300 s");
    if (s.loaded_ms < 0) return core::Internal("custos serve did not load its state in 300 s");
    return s;
  };
  auto report = [](const char* which, const Start& s) {
    std::fprintf(stderr,
                 "memory: %s ready in %.0f ms (RSS %.0f MiB), every tenant loaded in %.0f ms "
                 "(RSS %.0f MiB)\n",
                 which, s.ready_ms, static_cast<double>(s.rss) / (1 << 20), s.loaded_ms,
                 static_cast<double>(s.rss_loaded) / (1 << 20));
  };
  CUSTOS_ASSIGN_OR_RETURN(Start first, start_server());
  report("first start after the load", first);
  CUSTOS_ASSIGN_OR_RETURN(Start restart, start_server());
  report("restart", restart);
  const double ready_ms = restart.ready_ms;
  const uint64_t rss_ready =
      std::max({first.rss, restart.rss, first.rss_loaded, restart.rss_loaded});

  BenchResult result;
  result.workload = "memory";
  result.ops = spec.users + spec.groups + spec.roles;
  result.seconds = ready_ms / 1000;
  result.params_json =
      fmt::format("{{\"events\":{},\"users\":{},\"groups\":{},\"roles\":{},\"tenants\":{}}}",
                  spec.events, spec.users, spec.groups, spec.roles, kTenants);
  result.extra_json = fmt::format(
      "\"rss_bytes\":{},\"ready_ms\":{:.0f},\"first_ready_ms\":{:.0f},\"loaded_ms\":{:.0f},"
      "\"measured\":\"custos serve, own process; ready_ms after a clean stop; loaded_ms when "
      "every tenant's state is in memory; rss_bytes the most of the four\"",
      rss_ready, ready_ms, first.ready_ms, restart.loaded_ms);
  return result;
}

}  // namespace custos::tools::bench
