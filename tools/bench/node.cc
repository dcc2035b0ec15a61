#include "tools/bench/node.h"

#include <cstdio>
#include <future>
#include <map>
#include <thread>
#include <vector>

#include "tools/node.h"

namespace custos::tools::bench {

namespace iam = core::iam;

struct BenchNode::Parts {
  const core::Clock* clock = nullptr;
  std::unique_ptr<Node> node;
};

BenchNode::BenchNode(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

BenchNode::~BenchNode() = default;

core::Result<std::unique_ptr<BenchNode>> BenchNode::Start(
    const std::string& dir, const core::Clock& clock, size_t block_cache_bytes,
    const std::function<void(NodeOptions&)>& configure) {
  auto p = std::make_unique<Parts>();
  p->clock = &clock;
  NodeOptions options;
  options.data_dir = dir;
  options.clock = &clock;
  // The log's commit thread has the other core.
  options.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency() - 1));
  options.block_cache_bytes = block_cache_bytes;
  if (configure) configure(options);
  CUSTOS_ASSIGN_OR_RETURN(p->node, Node::Open(options));
  CUSTOS_RETURN_IF_ERROR(p->node->Serve());
  return std::unique_ptr<BenchNode>(new BenchNode(std::move(p)));
}

uint16_t BenchNode::port() const { return parts_->node->port(); }
Node& BenchNode::node() { return *parts_->node; }

std::string BenchNode::RootToken() const {
  const core::Time now = parts_->clock->Now();
  return SignToken(api::TokenClaims{"", parts_->node->root().client_id, "", "root", "bench-root",
                                    "", false, now, now + std::chrono::hours(1)});
}

std::string BenchNode::SignToken(const api::TokenClaims& claims) const {
  return parts_->node->tokens().Sign(claims);
}

core::Result<projections::ExecuteResult> BenchNode::Run(const std::string& tenant,
                                                        iam::Command command) {
  projections::ExecuteRequest r;
  r.tenant = core::TenantId(tenant);
  r.command = std::move(command);
  r.actor = core::Actor{"root", "root", "", "", ""};
  return parts_->node->identity().Execute(std::move(r));
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
      parts_->node->identity().AppendEventsAsync(
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
  CUSTOS_RETURN_IF_ERROR(parts_->node->audit().CatchUp(std::chrono::minutes(30)));
  // Measured on a settled store, as PostgreSQL's peer is after its CHECKPOINT.
  return parts_->node->store().Quiesce(std::chrono::minutes(30));
}

core::Status BenchNode::SignHeads() {
  return parts_->node->checkpoints().SignMovedHeads(parts_->node->identity().Tenants());
}

storage::RocksStore& BenchNode::store() { return parts_->node->store(); }
projections::IdentityService& BenchNode::identity() { return parts_->node->identity(); }
projections::AuditIndex& BenchNode::audit() { return parts_->node->audit(); }
projections::Retention& BenchNode::retention() { return parts_->node->retention(); }

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
