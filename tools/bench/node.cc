#include "tools/bench/node.h"

#include <cstdio>
#include <future>
#include <map>
#include <thread>
#include <vector>

#include "api/api.h"
#include "api/server.h"
#include "core/checkpoint.h"
#include "core/random.h"
#include "projections/audit_checkpoints.h"
#include "storage/sodium_password_hasher.h"

namespace custos::tools::bench {

namespace iam = core::iam;

struct BenchNode::Parts {
  // Declared in the order they are made; destroyed in reverse, the server first.
  const core::Clock* clock = nullptr;
  core::CryptoRandom random;
  std::unique_ptr<storage::RocksStore> store;
  std::unique_ptr<projections::IdentityService> identity;
  std::unique_ptr<projections::AuditIndex> audit;
  std::unique_ptr<core::CheckpointSigner> audit_key;
  std::unique_ptr<projections::AuditCheckpoints> checkpoints;
  std::unique_ptr<projections::Retention> retention;
  storage::SodiumPasswordHasher hasher;
  api::Metrics metrics;
  std::unique_ptr<api::TokenSigner> signer;
  std::string root_client_id;
  std::unique_ptr<api::Api> api;
  std::unique_ptr<api::HttpServer> server;
};

BenchNode::BenchNode(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

BenchNode::~BenchNode() {
  if (parts_->server) parts_->server->Stop();
}

core::Result<std::unique_ptr<BenchNode>> BenchNode::Start(const std::string& dir,
                                                          const core::Clock& clock,
                                                          size_t block_cache_bytes) {
  auto p = std::make_unique<Parts>();
  p->clock = &clock;
  storage::StoreOptions store_options;
  store_options.path = dir + "/db";
  store_options.clock = &clock;
  store_options.block_cache_bytes = block_cache_bytes;
  CUSTOS_ASSIGN_OR_RETURN(p->store, storage::RocksStore::Open(store_options));
  CUSTOS_ASSIGN_OR_RETURN(p->identity, projections::IdentityService::Open(
                                           *p->store, *p->store, clock, p->random, nullptr));
  CUSTOS_ASSIGN_OR_RETURN(p->audit, projections::AuditIndex::Open(*p->store, *p->store));
  CUSTOS_ASSIGN_OR_RETURN(p->audit_key, core::CheckpointSigner::LoadOrCreate(dir + "/audit.pem"));
  p->checkpoints =
      std::make_unique<projections::AuditCheckpoints>(*p->store, *p->store, clock, *p->audit_key);
  p->retention = std::make_unique<projections::Retention>(*p->identity, *p->store, *p->store,
                                                          *p->audit, clock);
  CUSTOS_ASSIGN_OR_RETURN(
      p->server, api::HttpServer::Bind(api::ServerOptions{
                     "127.0.0.1", 0,
                     static_cast<int>(std::max(1u, std::thread::hardware_concurrency() - 1))}));
  const std::string issuer = "http://127.0.0.1:" + std::to_string(p->server->port());
  CUSTOS_ASSIGN_OR_RETURN(p->signer, api::TokenSigner::LoadOrCreate(dir + "/jwt.pem", issuer));
  CUSTOS_ASSIGN_OR_RETURN(api::RootClient root,
                          api::Api::EnsureRootClient(*p->store, p->random, clock));
  p->root_client_id = root.client_id;
  p->api = std::make_unique<api::Api>(
      api::ApiDeps{*p->identity, *p->store, *p->store, *p->audit, *p->checkpoints, *p->retention,
                   clock, p->random, p->hasher, *p->signer, p->metrics, nullptr, nullptr},
      api::ApiOptions{});
  api::Api* api = p->api.get();
  p->server->SetBodyLimit([api](std::string_view method, std::string_view target) {
    return api->BodyLimit(method, target);
  });
  CUSTOS_RETURN_IF_ERROR(p->server->Serve([api](api::HttpRequest r, api::Responder respond) {
    api->Handle(std::move(r), std::move(respond));
  }));
  return std::unique_ptr<BenchNode>(new BenchNode(std::move(p)));
}

uint16_t BenchNode::port() const { return parts_->server->port(); }

std::string BenchNode::RootToken() const {
  const core::Time now = parts_->clock->Now();
  return parts_->signer->Sign(api::TokenClaims{"", parts_->root_client_id, "", "root", "bench-root",
                                               "", false, now, now + std::chrono::hours(1)});
}

std::string BenchNode::SignToken(const api::TokenClaims& claims) const {
  return parts_->signer->Sign(claims);
}

core::Result<projections::ExecuteResult> BenchNode::Run(const std::string& tenant,
                                                        iam::Command command) {
  projections::ExecuteRequest r;
  r.tenant = core::TenantId(tenant);
  r.command = std::move(command);
  r.actor = core::Actor{"root", "root", "", "", ""};
  return parts_->identity->Execute(std::move(r));
}

core::Status BenchNode::LoadAudit(const AuditDataSpec& spec, core::FakeClock& clock,
                                  iam::Plan plan) {
  clock.Set(core::FromUnixMillis(spec.start_ms));
  const int tenants = std::max(1, spec.tenants);
  for (int t = 0; t < tenants; ++t) {
    CUSTOS_RETURN_IF_ERROR(
        Run(AuditTenantName(t),
            iam::CreateTenant{
                AuditTenantName(t), AuditTenantName(t), plan, std::nullopt, {"Production"}}));
  }
  const uint64_t blocks = (spec.events + kAuditBlock - 1) / kAuditBlock;
  for (uint64_t b = 0; b < blocks; ++b) {
    clock.Set(core::FromUnixMillis(AuditTimeOf(spec, b * kAuditBlock)));
    std::map<int, std::vector<core::EventDraft>> by_tenant;
    for (uint64_t i = b * kAuditBlock; i < std::min(spec.events, (b + 1) * kAuditBlock); ++i) {
      core::EventDraft d;
      d.type = std::string(AuditTypeOf(i));
      d.actor = core::Actor{"user", AuditActorOf(i), "", "", ""};
      d.target = core::Target{"workflow", AuditTargetOf(i), ""};
      d.data = AuditDataOf(i);
      by_tenant[AuditTenantOf(spec, i)].push_back(std::move(d));
    }
    // Every tenant's share of the block at once; the log gathers them into few fsyncs.
    std::vector<std::future<core::AppendResult>> pending;
    for (auto& [t, drafts] : by_tenant) {
      auto done = std::make_shared<std::promise<core::AppendResult>>();
      pending.push_back(done->get_future());
      parts_->identity->AppendEventsAsync(
          core::TenantId(AuditTenantName(t)), std::move(drafts),
          [done](core::AppendResult r) { done->set_value(std::move(r)); });
    }
    for (auto& f : pending) {
      core::AppendResult r = f.get();
      if (!r.ok()) return r.error();
    }
    if (b % 1000 == 999) {
      std::fprintf(stderr, "  loaded %llu of %llu events\n",
                   static_cast<unsigned long long>((b + 1) * kAuditBlock),
                   static_cast<unsigned long long>(spec.events));
    }
  }
  CUSTOS_RETURN_IF_ERROR(parts_->audit->CatchUp(std::chrono::minutes(30)));
  // Measured on a settled store, as PostgreSQL's peer is after its CHECKPOINT.
  return parts_->store->Quiesce(std::chrono::minutes(30));
}

core::Status BenchNode::SignHeads() {
  return parts_->checkpoints->SignMovedHeads(parts_->identity->Tenants());
}

storage::RocksStore& BenchNode::store() { return *parts_->store; }
projections::IdentityService& BenchNode::identity() { return *parts_->identity; }
projections::AuditIndex& BenchNode::audit() { return *parts_->audit; }
projections::Retention& BenchNode::retention() { return *parts_->retention; }

std::string HttpRequestText(const std::string& method, const std::string& path,
                            const std::string& token, const std::string& body) {
  std::string r = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                  token + "\r\n";
  if (!body.empty() || (method != "DELETE" && method != "GET")) {
    r +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  r += "\r\n" + body;
  return r;
}

}  // namespace custos::tools::bench
