#include "tools/bench/admin_http_workload.h"

#include <cstdio>
#include <thread>

#include <fmt/format.h>

#include "core/json_writer.h"
#include "tools/bench/http_load.h"
#include "tools/bench/node.h"
#include "tools/bench/postgres_peer.h"

namespace custos::tools::bench {
namespace {

namespace iam = core::iam;

}  // namespace

core::Result<BenchResult> RunAdminHttpWorkload(const BenchOptions& options) {
  const uint64_t requests = options.quick ? 20'000 : 200'000;
  const int connections = static_cast<int>(options.threads);
  BenchResult result;
  result.workload = "admin-http";
  HttpLoadResult load;
  double events_per_fsync = 0;
  {
    CUSTOS_ASSIGN_OR_RETURN(ScratchDir dir, ScratchDir::Create(options.dir, "admin-http"));
    core::SystemClock clock;
    CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<BenchNode> node, BenchNode::Start(dir.path(), clock));
    auto run = [&](iam::Command c) { return node->Run("bench", std::move(c)); };
    CUSTOS_RETURN_IF_ERROR(
        run(iam::CreateTenant{"bench", "Bench", iam::Plan::kEnterprise, {}, {"Production"}}));
    std::vector<std::string> users;
    for (int i = 0; i < connections; ++i) {
      iam::CreateUser u;
      u.email = fmt::format("user{}@example.com", i);
      u.first_name = "User";
      u.last_name = std::to_string(i);
      CUSTOS_ASSIGN_OR_RETURN(projections::ExecuteResult r, run(u));
      users.push_back(r.decision.id);
    }
    CUSTOS_ASSIGN_OR_RETURN(projections::ExecuteResult group,
                            run(iam::CreateGroup{"Team", "", iam::GroupType::kConfigured, "root"}));
    CUSTOS_ASSIGN_OR_RETURN(
        projections::ExecuteResult role,
        run(iam::CreateRole{
            "User Reader", "", {iam::Permission{"*", "iam.user", "*", iam::Level::kView}}, {}}));
    std::string tenant_admin;
    (void)node->identity().Read(core::TenantId("bench"), [&](const iam::TenantState& s) {
      tenant_admin = s.FindRoleByName("Tenant Admin")->id;
      return 0;
    });
    CUSTOS_ASSIGN_OR_RETURN(projections::ExecuteResult client,
                            run(iam::CreateClient{"console", "", "", {{tenant_admin, "root"}}}));
    // The console's token: an API client bound to Tenant Admin, as an admin console would be.
    const core::Time now = clock.Now();
    const std::string token = node->SignToken(
        api::TokenClaims{"", client.decision.id, "bench", "api_client", "bench-jti",
                         *client.decision.key_id, false, now, now + std::chrono::hours(1)});

    std::vector<std::string> binding_of(static_cast<size_t>(connections));
    const std::string base = "/v1/tenants/bench";
    HttpLoadOptions lo;
    lo.port = node->port();
    lo.connections = connections;
    lo.requests = requests;
    lo.make_request = [&](int conn, uint64_t n) {
      const std::string& user = users[static_cast<size_t>(conn)];
      switch (n % 6) {
        case 0:
          return HttpRequestText("PUT", base + "/users/" + user + "/tags/Region", token,
                                 fmt::format("{{\"value\":\"EU-{}\"}}", n));
        case 1:
          return HttpRequestText("POST", base + "/bindings", token,
                                 "{\"subject\":{\"type\":\"user\",\"id\":\"" + user +
                                     "\"},\"role_id\":\"" + role.decision.id + "\"}");
        case 2:
          return HttpRequestText(
              "DELETE", base + "/bindings/" + binding_of[static_cast<size_t>(conn)], token, "");
        case 3:
          return HttpRequestText("POST", base + "/groups/" + group.decision.id + "/members", token,
                                 "{\"members\":[{\"type\":\"user\",\"id\":\"" + user + "\"}]}");
        case 4:
          return HttpRequestText(
              "DELETE", base + "/groups/" + group.decision.id + "/members/" + user, token, "");
        default:
          return HttpRequestText("PATCH", base + "/users/" + user, token,
                                 fmt::format("{{\"department\":\"Dept {}\"}}", n));
      }
    };
    lo.on_response = [&](int conn, uint64_t n, int status, std::string_view body) {
      if (n % 6 != 1 || status != 201) return;
      const size_t at = body.find("\"id\":\"");
      if (at != std::string_view::npos) {
        binding_of[static_cast<size_t>(conn)] = std::string(body.substr(at + 6, 36));
      }
    };
    std::fprintf(stderr, "admin-http: %llu requests over %d connections\n",
                 static_cast<unsigned long long>(requests), connections);
    const storage::RocksStore::Stats before = node->store().stats();
    CUSTOS_ASSIGN_OR_RETURN(load, RunHttpLoad(lo));
    const storage::RocksStore::Stats after = node->store().stats();
    events_per_fsync = static_cast<double>(after.events - before.events) /
                       static_cast<double>(std::max<uint64_t>(1, after.groups - before.groups));
    if (load.failed > 0) {
      return core::Internal(
          fmt::format("{} requests failed; the first: {}", load.failed, load.first_failure));
    }
  }
  result.ops = load.ok;
  result.seconds = load.seconds;
  result.p50_us = load.latencies.Percentile(50);
  result.p99_us = load.latencies.Percentile(99);
  std::fprintf(stderr,
               "admin-http: ours %.0f req/s, %.1f events per fsync; running the PostgreSQL peer\n",
               static_cast<double>(load.ok) / load.seconds, events_per_fsync);
  if (!options.no_peer) {
    CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<PostgresPeer> pg, PostgresPeer::Start(options.dir));
    CUSTOS_ASSIGN_OR_RETURN(result.peer_ops_per_s,
                            pg->InsertTps(connections, options.quick ? 5 : 15));
  }
  result.peer =
      fmt::format("PostgreSQL 15 pgbench INSERT, {} clients, synchronous_commit=on", connections);
  core::JsonWriter params;
  params.BeginObject().Key("connections").Int(connections).Key("requests").UInt(requests);
  params.Key("mix")
      .String(
          "tag set, binding create, binding delete, member add, member remove, "
          "user update")
      .EndObject();
  result.params_json = params.Take();
  result.extra_json = fmt::format("\"events_per_fsync\":{:.1f}", events_per_fsync);
  return result;
}

}  // namespace custos::tools::bench
