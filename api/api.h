// Api: the HTTP routes of Custos (../shared/spec/API.md) over the identity service — authentication
// (OAuth 2.0 client credentials, user login, JWTs), authorization against current state,
// and every identity route. HttpServer calls Handle; Handle never blocks: writes answer
// after their fsync, and each route's blocking work (router.h Work: logins and password
// hashing; verify, export, import, purge; audit queries waiting for the index; idempotency
// records) runs on a bounded pool of its own, taken in turn by caller, 503 when full.
//
// Thread-safety: Handle may be called from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/http.h"
#include "api/jwt.h"
#include "api/metrics.h"
#include "api/oidc.h"
#include "api/router.h"
#include "core/clock.h"
#include "core/event_log.h"
#include "core/iam/password.h"
#include "core/json_writer.h"
#include "core/kv_store.h"
#include "core/random.h"
#include "projections/audit_checkpoints.h"
#include "projections/audit_index.h"
#include "projections/audit_trail.h"
#include "projections/credentials.h"
#include "projections/identity_service.h"
#include "projections/retention.h"

namespace custos::api {

class ConsoleFiles;

struct ApiOptions {
  size_t body_limit = size_t{1} << 20;
  // One info line per answered request through the logger (method, route, status, duration,
  // request id, tenant, client address). `custos serve` turns it on unless --access-log off.
  bool access_log = false;
  size_t import_body_limit = size_t{64} << 20;
  // Routes that need no token (logins, tokens, introspection, acceptance) take this much.
  size_t public_body_limit = size_t{64} << 10;
  std::chrono::seconds root_token_ttl{900};
  double auth_rate_per_second = 20;  // /oauth/token and logins, per source address
  double auth_burst = 40;
  double login_rate_per_second = 1.0 / 6;  // logins per (tenant, email): 10 a minute
  double login_burst = 10;
  // Failed logins a source address may have before its logins wait behind everyone else's
  // (one more every 20 s).
  double failing_source_rate_per_second = 1.0 / 20;
  double failing_source_burst = 3;
  // The pools that keep blocking work off the I/O threads (router.h Work): threads, and how
  // many jobs may wait before a request is answered 503.
  int login_threads = 2;
  size_t login_queue = 64;
  int heavy_threads = 2;
  size_t heavy_queue = 32;
  int index_threads = 2;
  size_t index_queue = 64;
  int store_threads = 2;
  size_t store_queue = 256;
  int outbound_threads = 8;  // waiting on other servers, not on the CPU
  size_t outbound_queue = 32;
  // How many jobs one caller (a principal, or an unauthenticated source address) may have
  // waiting in the login and heavy pools (twice that in the index pool, eight times in the
  // store pool); the threads take the callers' jobs in turn.
  size_t per_caller_queue = 2;
  // How long one export may run: a slower reader is cut off (before the last chunk), and the
  // retention lease it held goes with it.
  std::chrono::seconds export_max_duration{3600};
  // A follower's Api (custos serve --follow): root tokens are the leader's, whose root client
  // this node does not hold; any root token the leader's key signed is its root client's.
  bool follower = false;
};

struct BackupMade {
  uint64_t seq = 0;  // the last event of the log the backup holds
  std::string path;
  std::string time;
};

struct KeyRotated {
  std::string kid;          // the key that signs from now on
  std::string retired_kid;  // the one it replaced, still published for what it signed
  std::string time;
  bool revoked = false;  // the old key was dropped instead (TokenSigner::Rotate)
};

struct ApiDeps {
  projections::IdentityService& identity;
  projections::Credentials& credentials;  // every read and write of the credential store
  projections::AuditTrail& trail;         // what readers see of the trail, verify, export
  core::EventLog& log;                    // single events by tenant_seq, heads
  projections::AuditIndex& audit;
  projections::AuditCheckpoints& checkpoints;
  projections::Retention& retention;
  const core::Clock& clock;
  core::Random& random;
  const core::iam::PasswordHasher& hasher;
  const TokenSigner& tokens;
  Metrics& metrics;
  std::function<Metrics::Gauges()> gauges;
  std::function<std::string()> readiness;  // "" when ready, else the reason
  // The relay's state for /readyz's `kafka` member, a JSON object (null: Kafka off).
  std::function<std::string()> kafka;
  // POST /v1/backup: an online backup of the node's data dir into the absolute path `to`
  // (storage/data_dir.h); null where the node has none to offer.
  std::function<core::Result<BackupMade>(const std::string& to)> backup;
  // POST /v1/keys/rotate: retires the token-signing ("jwt") or checkpoint-signing ("audit")
  // key and makes a new one; null where the node has none to rotate.
  std::function<core::Result<KeyRotated>(const std::string& kind, bool revoke)> rotate_key;
  // /readyz's replication members: `"role":"leader"` by default; a follower's writes its own
  // ("role":"follower","applied_seq","lag_events","lag_seconds","halted_tenants").
  std::function<void(core::JsonWriter&)> replication;
  // The console's built files, served at /console/ (console_files.h); null: not served.
  std::shared_ptr<const ConsoleFiles> console;
  // The 32-byte key that seals TOTP secrets in the credential store (core/sealed.h), kept in
  // DATA_DIR/keys/mfa.key; empty: MFA enrolment is refused (503).
  std::string mfa_key;
  // The node's outbound HTTP, for single sign-on's identity providers (oidc.h); null: SSO
  // logins are refused (503).
  OutboundHttp sso_http;
};

using RootClient = projections::RootClient;

class Api {
 public:
  Api(ApiDeps deps, ApiOptions options);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  void Handle(HttpRequest request, Responder respond);
  // Forgets every token verified so far (they are verified again on their next use): after the
  // keys they were checked with changed.
  void ForgetVerifiedTokens();
  // The housekeeping a background thread does every few seconds, now and in full: every
  // failed-login tally recorded (they are, a minute after their first failure, and at
  // destruction), idempotency records past their 24 h deleted. For tests.
  void RunChores();
  [[nodiscard]] const std::vector<RouteSpec>& routes() const;
  // The server's admission of a request on its headers (server.h ServerOptions::admit): no
  // route, or no valid credentials on a route that needs them, is answered before the body
  // is read; otherwise the route's body limit (public routes take small bodies).
  [[nodiscard]] Admission Admit(HttpRequest& head);

 private:
  [[nodiscard]] Admission AdmitOnHeaders(HttpRequest& head);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace custos::api
