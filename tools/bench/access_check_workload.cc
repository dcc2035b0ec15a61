#include "tools/bench/access_check_workload.h"

#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/iam/access.h"
#include "core/iam/decide.h"
#include "core/json_writer.h"
#include "tools/bench/http_load.h"
#include "tools/bench/node.h"
#include "tools/node.h"

namespace custos::tools::bench {
namespace {

namespace iam = core::iam;
using Clock = std::chrono::steady_clock;

constexpr int kGroups = 50;
constexpr int kRolesPerGroup = 10;
constexpr int kLeaves = 1000;

// A tenant driven in-process: decide, then apply.
class LocalTenant {
 public:
  LocalTenant() : state_("bench"), clock_(core::FromUnixMillis(1795521600000)) {}

  core::Result<std::string> Run(const iam::Command& command) {
    iam::CommandContext ctx;
    ctx.actor = core::Actor{"root", "root", "", "", ""};
    ctx.now = clock_.Now();
    ctx.random = &random_;
    CUSTOS_ASSIGN_OR_RETURN(iam::Decision d, iam::Decide(state_, command, ctx));
    for (const iam::DomainEvent& e : d.events) {
      CUSTOS_RETURN_IF_ERROR(state_.Apply(e.type, e.data, ctx.now));
    }
    return d.id;
  }
  const iam::TenantState& state() const { return state_; }
  core::Time now() const { return clock_.Now(); }

 private:
  iam::TenantState state_;
  core::FakeClock clock_;
  core::CryptoRandom random_;
};

// The tree, roles, groups and subject the workload checks: tenant `bench`, root →
// environment → project → folder ×3 → 1,000 resources (depth 6); 50 groups, each bound to 10
// roles of three permissions at scopes along the path; one user in every group. `run`
// carries out a command and returns the id it made; `environment` names the tenant's
// environment once the tenant exists.
struct Tree {
  std::vector<std::string> path;
  std::vector<std::string> leaves;
  std::string user_id;
};

template <class Run, class Environment>
core::Result<Tree> BuildTree(Run&& run, Environment&& environment) {
  Tree tree;
  CUSTOS_RETURN_IF_ERROR(
      run(iam::CreateTenant{"bench", "Bench", iam::Plan::kEnterprise, {}, {"Production"}}));
  const std::string env = environment();
  std::vector<std::string>& path = tree.path;
  path = {"root", env};
  CUSTOS_ASSIGN_OR_RETURN(std::string project,
                          run(iam::CreateNode{"project", "Main", env, "", "", true}));
  path.push_back(project);
  std::string parent = project;
  for (int depth = 0; depth < 3; ++depth) {
    CUSTOS_ASSIGN_OR_RETURN(parent, run(iam::CreateNode{"folder", fmt::format("F{}", depth), parent,
                                                        "", "", depth != 1}));
    path.push_back(parent);
  }
  const char* kTypes[] = {"workflow", "connection", "dashboard", "table"};
  std::vector<std::string>& leaves = tree.leaves;
  for (int i = 0; i < kLeaves; ++i) {
    CUSTOS_ASSIGN_OR_RETURN(std::string leaf,
                            run(iam::CreateNode{"resource", fmt::format("R{}", i), parent,
                                                kTypes[i % 4], i % 3 ? "" : "foundation", true}));
    leaves.push_back(leaf);
  }
  std::mt19937 rng(7);
  const iam::Level kLevels[] = {iam::Level::kView, iam::Level::kOperate, iam::Level::kEdit};
  // 500 roles of three permissions each, bound to 50 groups at scopes along the path.
  std::vector<std::string> groups;
  for (int g = 0; g < kGroups; ++g) {
    CUSTOS_ASSIGN_OR_RETURN(
        std::string group,
        run(iam::CreateGroup{fmt::format("G{}", g), "", iam::GroupType::kConfigured, "root"}));
    groups.push_back(group);
    for (int r = 0; r < kRolesPerGroup; ++r) {
      std::vector<iam::Permission> perms;
      for (int p = 0; p < 3; ++p) {
        perms.push_back(iam::Permission{p == 2 ? "foundation" : "*", kTypes[rng() % 4],
                                        rng() % 10 ? "*" : leaves[rng() % leaves.size()],
                                        kLevels[rng() % 3]});
      }
      CUSTOS_ASSIGN_OR_RETURN(std::string role,
                              run(iam::CreateRole{fmt::format("R{}-{}", g, r), "", perms, {}}));
      iam::CreateBinding binding;
      binding.subject = iam::Subject{iam::SubjectType::kGroup, group};
      binding.role_id = role;
      binding.scope = path[rng() % path.size()];
      CUSTOS_RETURN_IF_ERROR(run(binding));
    }
  }
  iam::CreateUser user;
  user.email = "subject@example.com";
  user.first_name = "Sub";
  user.last_name = "Ject";
  user.group_ids = groups;
  CUSTOS_ASSIGN_OR_RETURN(tree.user_id, run(user));
  return tree;
}

// The environment of tenant `bench` on a served node (the one node under the root).
std::string EnvironmentOf(BenchNode& node) {
  return *node.identity().Read(core::TenantId("bench"), [](const iam::TenantState& s) {
    std::string env;
    for (const auto& [id, n] : s.nodes()) {
      if (id != "root") env = id;
    }
    return env;
  });
}

// The same checks over HTTP: a served node with the same tree, POST …/access/check over 64
// keep-alive connections. Checks per second.
core::Result<double> RunOverHttp(const BenchOptions& options, uint64_t requests) {
  CUSTOS_ASSIGN_OR_RETURN(ScratchDir dir, ScratchDir::Create(options.dir, "access-check"));
  core::SystemClock clock;
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<BenchNode> node, BenchNode::Start(dir.path(), clock));
  auto run = [&](iam::Command command) -> core::Result<std::string> {
    CUSTOS_ASSIGN_OR_RETURN(projections::ExecuteResult r, node->Run("bench", std::move(command)));
    return r.decision.id;
  };
  auto environment = [&] { return EnvironmentOf(*node); };
  CUSTOS_ASSIGN_OR_RETURN(Tree tree, BuildTree(run, environment));
  const std::string token = node->RootToken();
  const char* kActions[] = {"read", "execute", "update", "delete"};
  HttpLoadOptions lo;
  lo.port = node->port();
  lo.connections = 64;
  lo.requests = requests;
  lo.make_request = [&](int, uint64_t n) {
    return HttpRequestText(
        "POST", "/v1/tenants/bench/access/check", token,
        fmt::format(R"({{"subject":{{"type":"user","id":"{}"}},"action":"{}","resource_id":"{}"}})",
                    tree.user_id, kActions[n % 4], tree.leaves[n % tree.leaves.size()]));
  };
  CUSTOS_ASSIGN_OR_RETURN(HttpLoadResult load, RunHttpLoad(lo));
  if (load.failed > 0)
    return core::Internal("access checks over HTTP failed: " + load.first_failure);
  std::fprintf(stderr, "access-check: over HTTP %.0f checks/s, p50 %.0f us, p99 %.0f us\n",
               static_cast<double>(load.ok) / load.seconds, load.latencies.Percentile(50),
               load.latencies.Percentile(99));
  return static_cast<double>(load.ok) / load.seconds;
}

}  // namespace

core::Result<BenchResult> RunAccessCheckWorkload(const BenchOptions& options) {
  const uint64_t checks = options.quick ? 200'000 : 2'000'000;
  LocalTenant t;
  auto run = [&](const iam::Command& command) { return t.Run(command); };
  auto environment = [&] {
    std::string env;
    for (const auto& [id, n] : t.state().nodes()) {
      if (id != "root") env = id;
    }
    return env;
  };
  CUSTOS_ASSIGN_OR_RETURN(Tree tree, BuildTree(run, environment));
  const std::vector<std::string>& path = tree.path;
  const std::vector<std::string>& leaves = tree.leaves;
  const iam::Subject subject{iam::SubjectType::kUser, tree.user_id};

  std::vector<iam::AccessTarget> targets;
  for (const std::string& leaf : leaves) {
    targets.push_back(iam::AccessTarget::ForNode(*t.state().FindNode(leaf)));
  }
  const char* kActions[] = {"read", "execute", "update", "delete"};
  Latencies lat;
  lat.micros.reserve(checks);
  std::vector<uint32_t> nanos;
  nanos.reserve(checks);
  uint64_t allowed = 0;
  const iam::AccessEvaluator evaluator(t.state(), t.now());
  std::fprintf(stderr, "access-check: %llu checks, subject in %d groups x %d roles, depth %zu\n",
               static_cast<unsigned long long>(checks), kGroups, kRolesPerGroup, path.size());
  const auto start = Clock::now();
  for (uint64_t i = 0; i < checks; ++i) {
    const iam::AccessTarget& target = targets[i % targets.size()];
    const auto t0 = Clock::now();
    core::Result<iam::CheckResult> r = evaluator.Check(subject, kActions[i % 4], target);
    const auto t1 = Clock::now();
    if (!r.ok()) return r.error();
    allowed += r->allowed;
    nanos.push_back(static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  // The same right after a change of grants (a binding made or removed for another user): the
  // subject's grants are computed afresh, the worst case. (Other writes keep them cached.)
  iam::CreateUser other;
  other.email = "other@example.com";
  other.first_name = "Oth";
  other.last_name = "Er";
  CUSTOS_ASSIGN_OR_RETURN(std::string other_id, t.Run(other));
  std::vector<uint32_t> cold;
  std::string other_binding;
  for (int i = 0; i < (options.quick ? 500 : 5000); ++i) {
    if (i % 2 == 0) {
      iam::CreateBinding grant;
      grant.subject = iam::Subject{iam::SubjectType::kUser, other_id};
      grant.role_id = t.state().FindRoleByName("Viewer")->id;
      CUSTOS_ASSIGN_OR_RETURN(other_binding, t.Run(grant));
    } else {
      CUSTOS_RETURN_IF_ERROR(t.Run(iam::DeleteBinding{other_binding}));
    }
    const iam::AccessEvaluator fresh(t.state(), t.now());
    const auto t0 = Clock::now();
    core::Result<iam::CheckResult> r =
        fresh.Check(subject, kActions[i % 4], targets[i % targets.size()]);
    const auto t1 = Clock::now();
    if (!r.ok()) return r.error();
    cold.push_back(static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
  }
  std::sort(cold.begin(), cold.end());
  std::sort(nanos.begin(), nanos.end());
  auto pct = [&](double p) {
    return nanos[std::min(nanos.size() - 1, static_cast<size_t>(p / 100.0 * nanos.size()))] /
           1000.0;
  };
  BenchResult result;
  result.workload = "access-check";
  result.ops = checks;
  result.seconds = seconds;
  result.p50_us = pct(50);
  result.p99_us = pct(99);
  result.peer = "target: in-process p99 <= 20 us (no peer program)";
  core::JsonWriter params;
  params.BeginObject()
      .Key("groups")
      .Int(kGroups)
      .Key("roles_per_group")
      .Int(kRolesPerGroup)
      .Key("tree_depth")
      .UInt(path.size())
      .Key("resources")
      .Int(kLeaves)
      .EndObject();
  result.params_json = params.Take();
  char extra[192];
  std::snprintf(extra, sizeof extra,
                "\"allowed_fraction\":%.3f,\"p999_us\":%.2f,\"after_grant_change_p50_us\":%.2f,"
                "\"after_grant_change_p99_us\":%.2f",
                static_cast<double>(allowed) / static_cast<double>(checks), pct(99.9),
                cold[cold.size() / 2] / 1000.0, cold[cold.size() * 99 / 100] / 1000.0);
  result.extra_json = extra;
  const uint64_t http_checks = options.quick ? 20'000 : 200'000;
  CUSTOS_ASSIGN_OR_RETURN(double http, RunOverHttp(options, http_checks));
  result.extra_json +=
      fmt::format(",\"http_ops_per_s\":{:.0f},\"http_checks\":{}", http, http_checks);
  return result;
}

}  // namespace custos::tools::bench

namespace custos::tools::bench {
namespace {

// One load of `requests` over 64 connections spread over `ports`: answers per second.
core::Result<HttpLoadResult> LoadOver(const std::vector<uint16_t>& ports, int connections,
                                      uint64_t requests,
                                      std::function<std::string(int, uint64_t)> make) {
  HttpLoadOptions lo;
  lo.ports = ports;
  lo.connections = connections;
  lo.requests = requests;
  lo.make_request = std::move(make);
  CUSTOS_ASSIGN_OR_RETURN(HttpLoadResult load, RunHttpLoad(lo));
  if (load.failed > 0) return core::Internal("read-scale load failed: " + load.first_failure);
  return load;
}

}  // namespace

core::Result<BenchResult> RunReadScaleWorkload(const BenchOptions& options) {
  const uint64_t requests = options.quick ? 20'000 : 200'000;
  core::SystemClock clock;
  CUSTOS_ASSIGN_OR_RETURN(ScratchDir dir, ScratchDir::Create(options.dir, "read-scale"));
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<BenchNode> leader,
                          BenchNode::Start(dir.path() + "/leader", clock, size_t{128} << 20,
                                           [](NodeOptions& o) { o.kafka = "embedded"; }));
  uint64_t last_seq = 0;
  auto run = [&](iam::Command command) -> core::Result<std::string> {
    CUSTOS_ASSIGN_OR_RETURN(projections::ExecuteResult r, leader->Run("bench", std::move(command)));
    if (!r.events.empty()) last_seq = r.events.back().seq.value();
    return r.decision.id;
  };
  auto environment = [&] { return EnvironmentOf(*leader); };
  CUSTOS_ASSIGN_OR_RETURN(Tree tree, BuildTree(run, environment));
  const std::string brokers = leader->node().kafka_brokers();
  const std::string leader_url = "http://127.0.0.1:" + std::to_string(leader->port());
  std::vector<std::unique_ptr<BenchNode>> followers;
  for (int i = 0; i < 2; ++i) {
    CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<BenchNode> f,
                            BenchNode::Start(dir.path() + "/follower-" + std::to_string(i), clock,
                                             size_t{128} << 20, [&](NodeOptions& o) {
                                               o.follow = brokers;
                                               o.leader = leader_url;
                                             }));
    CUSTOS_RETURN_IF_ERROR(f->node().follower()->WaitApplied(core::TenantId("bench"), last_seq,
                                                             std::chrono::seconds(120)));
    followers.push_back(std::move(f));
  }
  // Sixteen callers (API clients holding Tenant Admin): the server's pools queue a few jobs
  // per caller, and a real read load comes from many.
  CUSTOS_ASSIGN_OR_RETURN(
      std::string admin,
      leader->identity().Read(core::TenantId("bench"), [](const iam::TenantState& s) {
        return s.FindRoleByName("Tenant Admin")->id;
      }));
  std::vector<std::string> tokens;
  for (int i = 0; i < 16; ++i) {
    CUSTOS_ASSIGN_OR_RETURN(
        std::string client,
        run(iam::CreateClient{
            fmt::format("reader-{}", i), "", "", {iam::Grant{admin}}, std::string()}));
    api::TokenClaims c;
    c.sub = client;
    c.tenant = "bench";
    c.typ = "api_client";
    c.jti = fmt::format("read-scale-{}", i);
    c.iat = clock.Now();
    c.exp = c.iat + std::chrono::hours(1);
    tokens.push_back(leader->SignToken(c));
  }
  for (int i = 0; i < 2; ++i) {
    CUSTOS_RETURN_IF_ERROR(followers[i]->node().follower()->WaitApplied(
        core::TenantId("bench"), last_seq, std::chrono::seconds(120)));
  }
  const char* kActions[] = {"read", "execute", "update", "delete"};
  auto check = [&](int conn, uint64_t n) {
    return HttpRequestText(
        "POST", "/v1/tenants/bench/access/check", tokens[conn % tokens.size()],
        fmt::format(R"({{"subject":{{"type":"user","id":"{}"}},"action":"{}","resource_id":"{}"}})",
                    tree.user_id, kActions[n % 4], tree.leaves[n % tree.leaves.size()]));
  };
  const char* kQueries[] = {"/v1/tenants/bench/audit/events?limit=20",
                            "/v1/tenants/bench/audit/events?action=node.created&limit=20",
                            "/v1/tenants/bench/audit/events?action=binding.created&limit=20"};
  auto query = [&](int conn, uint64_t n) {
    return HttpRequestText("GET", kQueries[n % 3], tokens[conn % tokens.size()], "");
  };
  const std::vector<uint16_t> one = {leader->port()};
  const std::vector<uint16_t> three = {leader->port(), followers[0]->port(), followers[1]->port()};
  std::fprintf(stderr,
               "read-scale: %llu requests each, 64 connections; one node, then the leader "
               "and two followers (round robin)\n",
               static_cast<unsigned long long>(requests));
  CUSTOS_ASSIGN_OR_RETURN(HttpLoadResult check_one, LoadOver(one, 64, requests, check));
  CUSTOS_ASSIGN_OR_RETURN(HttpLoadResult check_three, LoadOver(three, 64, requests, check));
  CUSTOS_ASSIGN_OR_RETURN(HttpLoadResult query_one, LoadOver(one, 32, requests / 4, query));
  CUSTOS_ASSIGN_OR_RETURN(HttpLoadResult query_three, LoadOver(three, 32, requests / 4, query));
  auto rate = [](const HttpLoadResult& r) { return static_cast<double>(r.ok) / r.seconds; };
  std::fprintf(stderr,
               "read-scale: access-check %.0f/s on one node, %.0f/s on three; query %.0f/s on "
               "one, %.0f/s on three\n",
               rate(check_one), rate(check_three), rate(query_one), rate(query_three));
  BenchResult result;
  result.workload = "read-scale";
  result.ops = check_three.ok;
  result.seconds = check_three.seconds;
  result.p50_us = check_three.latencies.Percentile(50);
  result.p99_us = check_three.latencies.Percentile(99);
  result.peer = "the same access checks against the leader alone";
  result.peer_ops_per_s = rate(check_one);
  result.params_json = fmt::format(
      R"({{"callers":16,"check_connections":64,"followers":2,"query_connections":32,"requests":{}}})",
      requests);
  result.extra_json = fmt::format(
      "\"query_ops_per_s\":{:.0f},\"query_one_node_ops_per_s\":{:.0f},\"query_p99_us\":{:.0f},"
      "\"one_node_p99_us\":{:.0f},\"cores\":{}",
      rate(query_three), rate(query_one), query_three.latencies.Percentile(99),
      check_one.latencies.Percentile(99), std::thread::hardware_concurrency());
  return result;
}

}  // namespace custos::tools::bench
