#include "tools/node.h"

#include "api/server.h"
#include "core/random.h"
#include "storage/sodium_password_hasher.h"

namespace custos::tools {

struct Node::Parts {
  // Made in this order and destroyed in reverse: the server goes first.
  const core::Clock* clock = nullptr;
  core::CryptoRandom random;
  std::unique_ptr<storage::RocksStore> store;
  std::unique_ptr<projections::IdentityService> identity;
  std::unique_ptr<projections::AuditIndex> audit;
  std::unique_ptr<core::CheckpointSigner> audit_key;
  std::unique_ptr<projections::AuditCheckpoints> checkpoints;
  std::unique_ptr<projections::Retention> retention;
  api::RootClient root;
  storage::SodiumPasswordHasher hasher;
  api::Metrics metrics;
  std::unique_ptr<api::TokenSigner> signer;
  std::unique_ptr<api::Api> api;
  std::unique_ptr<api::HttpServer> server;
};

Node::Node(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Node::~Node() { Stop(); }

core::Result<std::unique_ptr<Node>> Node::Open(const NodeOptions& options) {
  auto p = std::make_unique<Parts>();
  const core::Clock& clock = *options.clock;
  p->clock = &clock;
  storage::StoreOptions store_options;
  store_options.path = storage::StorePathForDataDir(options.data_dir);
  store_options.clock = &clock;
  store_options.block_cache_bytes = options.block_cache_bytes;
  CUSTOS_ASSIGN_OR_RETURN(p->store, storage::RocksStore::Open(store_options));
  CUSTOS_ASSIGN_OR_RETURN(p->identity, projections::IdentityService::Open(
                                           *p->store, *p->store, clock, p->random, nullptr));
  CUSTOS_ASSIGN_OR_RETURN(p->audit, projections::AuditIndex::Open(*p->store, *p->store));
  CUSTOS_ASSIGN_OR_RETURN(p->audit_key, core::CheckpointSigner::LoadOrCreate(
                                            options.data_dir + "/keys/audit-ed25519.pem"));
  p->checkpoints =
      std::make_unique<projections::AuditCheckpoints>(*p->store, *p->store, clock, *p->audit_key);
  p->retention = std::make_unique<projections::Retention>(*p->identity, *p->store, *p->store,
                                                          *p->audit, clock);
  if (options.checkpoint_interval) {
    projections::IdentityService* identity = p->identity.get();
    p->checkpoints->Start(*options.checkpoint_interval, [identity] { return identity->Tenants(); });
  }
  if (options.retention_interval) p->retention->Start(*options.retention_interval);
  CUSTOS_ASSIGN_OR_RETURN(p->root, api::Api::EnsureRootClient(*p->store, p->random, clock));

  api::ServerOptions server_options;
  server_options.host = options.host;
  server_options.port = options.port;
  server_options.threads = options.workers;
  CUSTOS_ASSIGN_OR_RETURN(p->server, api::HttpServer::Bind(server_options));
  const std::string issuer =
      options.issuer.value_or("http://" + options.host + ":" + std::to_string(p->server->port()));
  CUSTOS_ASSIGN_OR_RETURN(p->signer, api::TokenSigner::LoadOrCreate(
                                         options.data_dir + "/keys/jwt-ed25519.pem", issuer));
  api::ApiOptions api_options;
  api_options.body_limit = options.body_limit;
  storage::RocksStore* store = p->store.get();
  p->api = std::make_unique<api::Api>(
      api::ApiDeps{*p->identity, *p->store, *p->store, *p->audit, *p->checkpoints, *p->retention,
                   clock, p->random, p->hasher, *p->signer, p->metrics,
                   [store] {
                     api::Metrics::Gauges g;
                     const storage::RocksStore::Stats stats = store->stats();
                     g.events_appended = static_cast<double>(stats.events);
                     g.append_groups = static_cast<double>(stats.groups);
                     g.ready = 1;
                     return g;
                   },
                   [] { return std::string(); }},
      api_options);
  // Body limits come from the routes, so they are set once the Api exists.
  api::Api* api = p->api.get();
  p->server->SetBodyLimit([api](std::string_view method, std::string_view target) {
    return api->BodyLimit(method, target);
  });
  return std::unique_ptr<Node>(new Node(std::move(p)));
}

core::Status Node::Serve() {
  api::Api* api = parts_->api.get();
  return parts_->server->Serve([api](api::HttpRequest request, api::Responder respond) {
    api->Handle(std::move(request), std::move(respond));
  });
}

void Node::Stop() {
  if (parts_->server) parts_->server->Stop();
  parts_->checkpoints->Stop();
  parts_->retention->Stop();
}

uint16_t Node::port() const { return parts_->server->port(); }
const api::RootClient& Node::root() const { return parts_->root; }
const api::TokenSigner& Node::tokens() const { return *parts_->signer; }
storage::RocksStore& Node::store() { return *parts_->store; }
projections::IdentityService& Node::identity() { return *parts_->identity; }
projections::AuditIndex& Node::audit() { return *parts_->audit; }
projections::AuditCheckpoints& Node::checkpoints() { return *parts_->checkpoints; }
projections::Retention& Node::retention() { return *parts_->retention; }

}  // namespace custos::tools
