// Node (`custos_node`): a whole Custos node over a data dir — the store, the identity state, the
// audit index, signed checkpoints, retention, the Kafka relay and notifier, the SMTP mailer (and an
// embedded dev cluster
// for `--kafka embedded`), the keys, the root client, the API and its HTTP server —
// wired once for `custos serve`, the bench workloads that measure the same thing, and the API
// tests (a fake clock, a cheap password hasher and no background jobs, through the options).
// Open makes everything and binds the port; Serve starts answering; Stop (or destruction)
// stops the server, finishing what is in flight, then the background jobs.
//
// Thread-safety: Open, Serve, Stop and the destructor from one thread; accessors from any.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/api.h"
#include "api/forwarded.h"
#include "api/jwt.h"
#include "core/checkpoint.h"
#include "core/clock.h"
#include "core/result.h"
#include "projections/audit_checkpoints.h"
#include "projections/audit_index.h"
#include "projections/expiry.h"
#include "projections/follower.h"
#include "projections/identity_service.h"
#include "projections/relay.h"
#include "projections/retention.h"
#include "projections/webhook_sink.h"
#include "storage/kafka_dev_cluster.h"
#include "storage/rocks_store.h"
#include "storage/smtp_mailer.h"

namespace custos::api {
class HttpServer;
}

namespace custos::tools {

struct NodeOptions {
  std::string data_dir;
  const core::Clock* clock = nullptr;
  std::string host = "127.0.0.1";
  uint16_t port = 0;                  // 0: any free port
  int workers = 1;                    // HTTP I/O threads
  std::optional<std::string> issuer;  // default: http(s)://host:port
  api::JwtAlg jwt_alg = api::JwtAlg::kEdDSA;
  std::vector<std::string>
      token_audiences;  // the tokens' `aud` (the first by default); none: issuer
  api::ApiOptions api;  // body limit, rate limits, heavy-work pool
  // Default: argon2id at the production cost (SodiumPasswordHasher). Tests pass a cheap one.
  const core::iam::PasswordHasher* password_hasher = nullptr;
  size_t max_connections = 0;  // 0: half the process's file limit
  size_t max_connections_per_address = 256;
  api::TrustedProxies trusted_proxies;  // whose X-Forwarded-For / Forwarded is believed
  // HTTPS when set (PEM files; api::ServerOptions), reloaded by ReloadTls.
  std::string tls_cert_file;
  std::string tls_key_file;
  size_t block_cache_bytes = size_t{128} << 20;
  // When the tenants found at start are read into memory (IdentityService::Warming).
  projections::IdentityService::Warming warming =
      projections::IdentityService::Warming::kInBackground;
  // The background jobs run only when set.
  std::optional<std::chrono::seconds> checkpoint_interval;
  std::optional<std::chrono::seconds> retention_interval;
  std::optional<std::chrono::seconds> expiry_interval;
  // "off", "embedded" (a dev cluster in this process) or the brokers, HOST:PORT,….
  // The console's built files (api/console_files.h), served at /console/; empty: no console.
  std::string console_dir;
  // Single sign-on's identity providers may be on loopback or private addresses (an on-premises
  // provider, the tests); off, a tenant's issuer reaches public addresses only.
  bool sso_private_networks = false;
  std::string kafka = "off";
  std::string audit_topic = "custos.audit.v1";
  std::string ocsf_topic = "custos.audit.ocsf.v1";
  std::string notifications_topic = "custos.notifications.v1";
  // librdkafka properties for the relay's and the notifier's producers (security.protocol,
  // sasl.*, ssl.*, …), each checked by storage::CheckKafkaProperty.
  std::vector<std::pair<std::string, std::string>> kafka_properties;
  // The webhook sink (projections/webhook_sink.h): on when webhook_url is set.
  std::optional<std::string> webhook_url;
  std::string webhook_ca_file;                // empty: the system's CAs
  projections::WebhookOptions webhook;        // format and secret (host: the machine's by default)
  std::optional<std::string> invitation_url;  // default: ISSUER/accept-invitation
  std::optional<std::string> login_url;       // default: ISSUER/login
  // Mail sent by the node itself (docs/mail.md): smtp://HOST:PORT or smtps://…; none if unset.
  std::optional<std::string> smtp_url;
  std::string mail_from;  // ADDRESS or NAME <ADDRESS>; required with smtp_url
  // A follower (../shared/spec/REPLICATION.md) when set: the brokers of the leader's audit
  // topic (audit_topic). It applies the topic, verifies the leader's tokens with the leader's
  // JWKS, and sends writes to `leader` (api/follower_gate.h). A follower runs no relay, webhook,
  // mailer, retention or expiry job (the leader's events bring their effects); kafka must be
  // "off", and it has no root client of its own.
  std::string follow;
  std::string leader;          // the leader's base URL, http(s)://HOST:PORT
  std::string leader_ca_file;  // the leader's CA when it serves HTTPS; empty: the system's
  std::string follow_group = "custos-follower";  // the consumer's group.id
  std::chrono::seconds leader_keys_refresh{60};  // how often the leader's keys are fetched
  // Shared by a leader and its followers (core/line_feed.h): the relay authenticates each audit
  // record with it, a follower takes only what it authenticates. Empty: none.
  std::string replication_key;
};

class Node {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<Node>> Open(const NodeOptions& options);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  [[nodiscard]] core::Status Serve();
  void Stop();
  // Reads the TLS certificate and key again (SIGHUP); nothing changes on an error.
  [[nodiscard]] core::Status ReloadTls();

  [[nodiscard]] uint16_t port() const;
  // The root client; its secret only when this Open made it.
  [[nodiscard]] const api::RootClient& root() const;
  [[nodiscard]] const api::TokenSigner& tokens() const;
  [[nodiscard]] api::Api& api();
  [[nodiscard]] api::HttpServer& server();
  [[nodiscard]] storage::RocksStore& store();
  [[nodiscard]] projections::IdentityService& identity();
  [[nodiscard]] projections::AuditIndex& audit();
  [[nodiscard]] projections::AuditCheckpoints& checkpoints();
  [[nodiscard]] projections::Retention& retention();
  // With Kafka off, null and "".
  [[nodiscard]] projections::Relay* relay();
  [[nodiscard]] projections::WebhookSink* webhook();
  [[nodiscard]] storage::KafkaDevCluster* kafka_cluster();  // with `embedded` only
  [[nodiscard]] storage::SmtpMailer* mailer();              // with smtp_url only
  [[nodiscard]] projections::Follower* follower();          // a follower's only
  [[nodiscard]] std::string kafka_brokers() const;

 private:
  struct Parts;
  explicit Node(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace custos::tools
