// BenchNode: a whole node (tools/node.h, as `custos serve` runs it) in the bench process,
// serving on 127.0.0.1 (any free port), with what the workloads need around it: tokens,
// commands as root, and the bulk loader of the audit data (audit_data.h) that the query,
// export and purge workloads share.
//
// Thread-safety: Start and the destructor from one thread; the rest from any.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "api/jwt.h"
#include "core/clock.h"
#include "core/iam/commands.h"
#include "core/result.h"
#include "projections/audit_index.h"
#include "projections/identity_service.h"
#include "projections/retention.h"
#include "storage/rocks_store.h"
#include "tools/bench/audit_data.h"

namespace custos::tools {
struct NodeOptions;
class Node;
}  // namespace custos::tools

namespace custos::tools::bench {

class BenchNode {
 public:
  // Opens a node over `dir` (created if needed) with `clock` as its time, and serves.
  [[nodiscard]] static core::Result<std::unique_ptr<BenchNode>> Start(
      const std::string& dir, const core::Clock& clock, size_t block_cache_bytes = 128 << 20,
      const std::function<void(NodeOptions&)>& configure = {});
  ~BenchNode();
  BenchNode(const BenchNode&) = delete;
  BenchNode& operator=(const BenchNode&) = delete;

  [[nodiscard]] uint16_t port() const;
  // A root token, valid for an hour of the node's clock.
  [[nodiscard]] std::string RootToken() const;
  // A token with these claims, signed with the node's key.
  [[nodiscard]] std::string SignToken(const api::TokenClaims& claims) const;
  // Runs a command as root, waiting for its fsync.
  [[nodiscard]] core::Result<projections::ExecuteResult> Run(const std::string& tenant,
                                                             core::iam::Command command);

  // Creates the tenants of `spec` (plan `plan`) and appends its events through the identity
  // service in blocks, setting `clock` to each block's time first, then waits until the audit
  // index holds them. Progress on stderr.
  [[nodiscard]] core::Status LoadAudit(const AuditDataSpec& spec, core::FakeClock& clock,
                                       core::iam::Plan plan);

  // What the server's checkpoint interval does: verifies and signs every moved head.
  [[nodiscard]] core::Status SignHeads();

  [[nodiscard]] Node& node();
  [[nodiscard]] storage::RocksStore& store();
  [[nodiscard]] projections::IdentityService& identity();
  [[nodiscard]] projections::AuditIndex& audit();
  [[nodiscard]] projections::Retention& retention();

 private:
  struct Parts;
  explicit BenchNode(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

// "METHOD PATH HTTP/1.1" with a bearer token and, when given, a JSON body.
[[nodiscard]] std::string HttpRequestText(const std::string& method, const std::string& path,
                                          const std::string& token, const std::string& body);

}  // namespace custos::tools::bench
