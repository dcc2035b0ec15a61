#include "tools/node.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include "api/console_files.h"
#include "api/follower_gate.h"
#include "api/server.h"

#include "core/base64.h"
#include "core/json_writer.h"
#include "core/log.h"
#include "core/private_file.h"
#include "core/random.h"
#include "core/sealed.h"
#include "core/sha256.h"
#include "storage/curl_poster.h"
#include "storage/data_dir.h"
#include "storage/kafka_feed.h"
#include "storage/kafka_producer.h"
#include "storage/sodium_password_hasher.h"
#include "tools/leader_keys.h"

namespace custos::tools {

struct Node::Parts {
  // Made in this order and destroyed in reverse: the server goes first.
  const core::Clock* clock = nullptr;
  core::CryptoRandom random;
  std::unique_ptr<storage::KafkaDevCluster> cluster;
  std::string brokers;
  std::unique_ptr<storage::KafkaNotifier> notifier;
  std::unique_ptr<storage::SmtpMailer> mailer;
  std::unique_ptr<core::iam::NotifierFanOut> notify;  // both, when both are on
  std::unique_ptr<storage::KafkaPublisher> publisher;
  std::unique_ptr<storage::CurlPoster> webhook_poster;
  std::unique_ptr<storage::RocksStore> store;
  std::unique_ptr<projections::IdentityService> identity;
  std::unique_ptr<projections::Relay> relay;
  std::unique_ptr<projections::WebhookSink> webhook;
  std::unique_ptr<projections::AuditIndex> audit;
  std::unique_ptr<core::CheckpointSigner> audit_key;
  std::unique_ptr<projections::AuditCheckpoints> checkpoints;
  std::unique_ptr<projections::Retention> retention;
  std::unique_ptr<projections::Expiry> expiry;
  api::RootClient root;
  std::unique_ptr<projections::Credentials> credentials;
  std::unique_ptr<projections::AuditTrail> trail;
  storage::SodiumPasswordHasher hasher;
  api::Metrics metrics;
  std::unique_ptr<api::TokenSigner> signer;  // a leader's
  std::unique_ptr<LeaderKeys> leader_keys;   // a follower's
  api::TokenSigner* tokens = nullptr;        // whichever of the two
  std::unique_ptr<storage::KafkaFeed> feed;  // a follower's
  std::unique_ptr<projections::Follower> follower;
  std::unique_ptr<api::Api> api;
  std::unique_ptr<api::FollowerGate> gate;  // a follower's
  std::unique_ptr<api::HttpServer> server;
};

Node::Node(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Node::~Node() { Stop(); }

namespace {

// Single sign-on's outbound HTTP (an identity provider's discovery, keys and token
// endpoint): libcurl, no redirects followed, TLS verified against the system's CAs, 5 s and
// 256 KiB at most per request; public addresses only unless --sso-private-networks.
api::OutboundHttp SsoOutboundHttp(bool private_networks) {
  return [private_networks](const api::OutboundRequest& req) -> core::Result<api::OutboundAnswer> {
    storage::FetchOptions options;
    options.public_addresses_only = !private_networks;
    options.timeout = std::chrono::seconds(5);
    options.max_bytes = size_t{256} << 10;
    if (!req.form_body.empty()) options.form_body = req.form_body;
    options.authorization = req.authorization;
    CUSTOS_ASSIGN_OR_RETURN(storage::Fetched fetched, storage::FetchUrl(req.url, options));
    return api::OutboundAnswer{fetched.status, std::move(fetched.body)};
  };
}

// The key that seals TOTP secrets (core/sealed.h): 32 random bytes, base64url, in a private
// file made at first start. The store keeps a check value of it (an HMAC, in the credential
// space, under a key no tenant's can be), so that a file lost or replaced — after a partial
// restore — stops the node instead of leaving every second factor unopenable; a file that is
// not such a key stops it too.
core::Result<std::string> LoadOrCreateSealKey(const std::string& path, core::Random& random,
                                              core::KvStore& kv) {
  static const std::string kCheckKey("\0seal-key-check", 15);
  auto check_of = [](const std::string& key) {
    return core::DigestHex(core::HmacSha256(key, "custos seal key check v1"));
  };
  CUSTOS_ASSIGN_OR_RETURN(std::optional<std::string> check,
                          kv.Get(core::Space::kCredentials, kCheckKey));
  CUSTOS_ASSIGN_OR_RETURN(std::optional<std::string> stored, core::ReadPrivateFile(path));
  std::string key;
  if (stored) {
    std::string text = *stored;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    std::optional<std::string> decoded = core::Base64UrlDecode(text);
    if (!decoded || decoded->size() != core::kSealKeyBytes) {
      return core::Corruption(path + " is not a 32-byte key (base64url)");
    }
    key = std::move(*decoded);
    if (check && *check != check_of(key)) {
      return core::Corruption(path + " is not the key this store's second factors were sealed " +
                              "under: put back the one from the same backup as the store");
    }
  } else {
    if (check) {
      return core::Corruption(path + " is missing, but this store holds second factors sealed " +
                              "under it: restore keys/ from the same backup as the store");
    }
    key.assign(core::kSealKeyBytes, '\0');
    random.Fill(reinterpret_cast<unsigned char*>(key.data()), key.size());
    CUSTOS_RETURN_IF_ERROR(core::WritePrivateFile(path, core::Base64UrlEncode(key) + "\n"));
  }
  if (!check) {
    core::KvBatch batch;
    batch.Put(core::Space::kCredentials, kCheckKey, check_of(key));
    CUSTOS_RETURN_IF_ERROR(kv.Write(batch, core::Durability::kSync));
  }
  return key;
}

}  // namespace

core::Result<std::unique_ptr<Node>> Node::Open(const NodeOptions& options) {
  // The data directory and its keys are this user's alone, or the server does not start.
  CUSTOS_RETURN_IF_ERROR(core::EnsurePrivateDir(options.data_dir));
  CUSTOS_RETURN_IF_ERROR(core::EnsurePrivateDir(options.data_dir + "/keys"));
  CUSTOS_RETURN_IF_ERROR(storage::CheckDataDirFormat(options.data_dir, /*writable=*/true));
  const bool following = !options.follow.empty();
  if (following && (options.kafka != "off" || options.webhook_url || options.smtp_url ||
                    options.leader.empty())) {
    return core::InvalidArgument(
        "a follower needs its leader's URL, and has no Kafka relay, webhook or mail of its own "
        "(the leader's do that work)");
  }
  // A follower's data dir says so: served without --follow it would become a second writer of
  // the leader's chains (with Kafka, forks that halt every follower).
  const std::string follower_mark = options.data_dir + "/follower-of";
  if (following) {
    CUSTOS_RETURN_IF_ERROR(core::WritePrivateFile(follower_mark, options.leader + "\n"));
  } else if (std::filesystem::exists(follower_mark)) {
    return core::Error{core::Errc::kConflict,
                       "this data dir is a follower's (" + follower_mark +
                           "): serve it with --follow, or, to make it a writer of its own (a "
                           "promotion, once its leader is gone for good), remove that file",
                       {}};
  }
  auto p = std::make_unique<Parts>();
  const core::Clock& clock = *options.clock;
  p->clock = &clock;
  storage::StoreOptions store_options;
  store_options.path = storage::StorePathForDataDir(options.data_dir);
  store_options.clock = &clock;
  store_options.block_cache_bytes = options.block_cache_bytes;
  CUSTOS_ASSIGN_OR_RETURN(p->store, storage::RocksStore::Open(store_options));

  api::ServerOptions server_options;
  server_options.host = options.host;
  server_options.port = options.port;
  server_options.threads = options.workers;
  server_options.max_connections = options.max_connections;
  server_options.max_connections_per_address = options.max_connections_per_address;
  server_options.trusted_proxies = options.trusted_proxies;
  server_options.tls_cert_file = options.tls_cert_file;
  server_options.tls_key_file = options.tls_key_file;
  CUSTOS_ASSIGN_OR_RETURN(p->server, api::HttpServer::Bind(server_options));
  const std::string issuer =
      options.issuer.value_or((options.tls_cert_file.empty() ? "http://" : "https://") +
                              options.host + ":" + std::to_string(p->server->port()));

  if (options.kafka == "embedded") {
    storage::KafkaDevClusterOptions cluster_options;
    cluster_options.topics = {options.audit_topic, options.ocsf_topic, options.notifications_topic};
    CUSTOS_ASSIGN_OR_RETURN(p->cluster, storage::KafkaDevCluster::Start(cluster_options));
    p->brokers = p->cluster->bootstrap_servers();
  } else if (options.kafka != "off") {
    p->brokers = options.kafka;
  }
  const core::iam::NotificationLinks links{
      options.invitation_url.value_or(issuer + "/accept-invitation"),
      options.login_url.value_or(issuer + "/login")};
  if (!p->brokers.empty()) {
    storage::KafkaOptions kafka;
    kafka.brokers = p->brokers;
    kafka.properties = options.kafka_properties;
    CUSTOS_ASSIGN_OR_RETURN(
        p->notifier, storage::KafkaNotifier::Create(kafka, options.notifications_topic, links));
    CUSTOS_ASSIGN_OR_RETURN(p->publisher, storage::KafkaPublisher::Create(kafka));
  }
  if (options.smtp_url) {
    storage::SmtpOptions smtp;
    smtp.url = *options.smtp_url;
    CUSTOS_ASSIGN_OR_RETURN(smtp.mail.from, core::iam::ParseMailbox(options.mail_from));
    smtp.mail.links = links;
    CUSTOS_ASSIGN_OR_RETURN(p->mailer, storage::SmtpMailer::Start(smtp, clock, p->random));
  }
  core::iam::Notifier* notifier = p->notifier.get();
  if (p->mailer) {
    notifier = p->mailer.get();
    if (p->notifier) {
      p->notify = std::make_unique<core::iam::NotifierFanOut>(
          std::vector<core::iam::Notifier*>{p->notifier.get(), p->mailer.get()});
      notifier = p->notify.get();
    }
  }
  CUSTOS_ASSIGN_OR_RETURN(p->identity,
                          projections::IdentityService::Open(*p->store, *p->store, clock, p->random,
                                                             notifier, options.warming));
  if (p->publisher) {
    projections::RelayOptions relay_options;
    relay_options.audit_topic = options.audit_topic;
    relay_options.ocsf_topic = options.ocsf_topic;
    relay_options.product_version = CUSTOS_VERSION;
    relay_options.from_start = p->cluster != nullptr;
    relay_options.replication_key = options.replication_key;
    p->relay = std::make_unique<projections::Relay>(*p->store, *p->store, *p->publisher, clock,
                                                    relay_options);
    CUSTOS_RETURN_IF_ERROR(p->relay->Start());
  }
  if (options.webhook_url) {
    storage::CurlPosterOptions poster;
    poster.url = *options.webhook_url;
    poster.ca_file = options.webhook_ca_file;
    poster.user_agent = std::string("custos/") + CUSTOS_VERSION;
    CUSTOS_ASSIGN_OR_RETURN(p->webhook_poster, storage::CurlPoster::Create(poster));
    projections::WebhookOptions webhook = options.webhook;
    if (webhook.host.empty()) {
      char host[256] = "";
      if (::gethostname(host, sizeof host - 1) == 0) webhook.host = host;
    }
    p->webhook = std::make_unique<projections::WebhookSink>(*p->store, *p->store,
                                                            *p->webhook_poster, clock, webhook);
    CUSTOS_RETURN_IF_ERROR(p->webhook->Start());
  }
  CUSTOS_ASSIGN_OR_RETURN(p->audit, projections::AuditIndex::Open(*p->store, *p->store));
  CUSTOS_ASSIGN_OR_RETURN(p->audit_key, core::CheckpointSigner::LoadOrCreate(
                                            options.data_dir + "/keys/audit-ed25519.pem"));
  p->checkpoints =
      std::make_unique<projections::AuditCheckpoints>(*p->store, *p->store, clock, *p->audit_key);
  std::vector<std::string> sinks;
  if (p->relay) sinks.emplace_back(projections::kRelayCheckpoint);
  if (p->webhook) sinks.emplace_back(projections::kWebhookCheckpoint);
  p->retention = std::make_unique<projections::Retention>(*p->identity, *p->store, *p->store,
                                                          *p->audit, clock, std::move(sinks));
  if (options.checkpoint_interval) {
    projections::IdentityService* identity = p->identity.get();
    p->checkpoints->Start(*options.checkpoint_interval, [identity] { return identity->Tenants(); });
  }
  // A follower purges and expires what the leader's events say, nothing of its own accord.
  if (options.retention_interval && !following) p->retention->Start(*options.retention_interval);
  p->expiry = std::make_unique<projections::Expiry>(*p->identity, clock);
  if (options.expiry_interval && !following) p->expiry->Start(*options.expiry_interval);
  // First start: the credentials file is written before the root client's record, so that
  // a crash between the two never leaves a root secret nobody has.
  const std::string root_file = options.data_dir + "/root-client.json";
  if (!following) {
    CUSTOS_ASSIGN_OR_RETURN(p->root,
                            projections::Credentials::EnsureRootClient(
                                *p->store, p->random, clock, [&](const api::RootClient& made) {
                                  core::JsonWriter w;
                                  w.BeginObject().Key("client_id").String(made.client_id);
                                  w.Key("client_secret").String(made.client_secret).EndObject();
                                  return core::WritePrivateFile(root_file, w.str() + "\n");
                                }));
  }
  CUSTOS_ASSIGN_OR_RETURN(p->credentials, projections::Credentials::Open(*p->store, clock));
  p->trail = std::make_unique<projections::AuditTrail>(*p->store, *p->audit, *p->checkpoints,
                                                       *p->retention, clock, CUSTOS_VERSION);
  if (following) {
    LeaderKeysOptions keys;
    keys.leader = options.leader;
    keys.cache_file = options.data_dir + "/keys/leader-keys.json";
    keys.ca_file = options.leader_ca_file;
    keys.audiences = options.token_audiences;
    keys.refresh = options.leader_keys_refresh;
    CUSTOS_ASSIGN_OR_RETURN(p->leader_keys, LeaderKeys::Open(std::move(keys)));
    p->tokens = &p->leader_keys->verifier();
    storage::KafkaFeedOptions feed;
    feed.brokers = options.follow;
    feed.topic = options.audit_topic;
    feed.group = options.follow_group;
    feed.properties = options.kafka_properties;
    CUSTOS_ASSIGN_OR_RETURN(p->feed, storage::KafkaFeed::Create(std::move(feed)));
    projections::FollowerOptions follower_options;
    follower_options.replication_key = options.replication_key;
    if (options.replication_key.empty()) {
      core::log::Warn(
          "follower: no replication key: a record that follows a chain is taken from whoever "
          "can write to the topic (docs/replication.md, --replication-key-file)");
    }
    p->follower = std::make_unique<projections::Follower>(
        *p->identity, *p->store, *p->store, *p->credentials, *p->feed, clock, follower_options);
    CUSTOS_RETURN_IF_ERROR(p->follower->Start());
  } else {
    CUSTOS_ASSIGN_OR_RETURN(
        p->signer,
        api::TokenSigner::LoadOrCreate(
            options.data_dir + (options.jwt_alg == api::JwtAlg::kES256 ? "/keys/jwt-es256.pem"
                                                                       : "/keys/jwt-ed25519.pem"),
            issuer, options.jwt_alg, options.token_audiences));
    p->tokens = p->signer.get();
  }
  const core::iam::PasswordHasher& hasher =
      options.password_hasher != nullptr ? *options.password_hasher : p->hasher;
  storage::RocksStore* store = p->store.get();
  projections::Relay* relay = p->relay.get();
  const projections::WebhookSink* webhook = p->webhook.get();
  storage::KafkaNotifier* kafka_notifier = p->notifier.get();
  const storage::SmtpMailer* mailer = p->mailer.get();
  const projections::Retention* retention = p->retention.get();
  const projections::Follower* follower = p->follower.get();
  auto keys_mu = std::make_shared<std::mutex>();
  CUSTOS_ASSIGN_OR_RETURN(
      std::string mfa_key,
      LoadOrCreateSealKey(options.data_dir + "/keys/mfa.key", p->random, *p->store));
  std::shared_ptr<const api::ConsoleFiles> console;
  if (!options.console_dir.empty()) {
    CUSTOS_ASSIGN_OR_RETURN(console, api::ConsoleFiles::Load(options.console_dir));
    core::log::Info("the console is served at /console/ from " + options.console_dir + " (" +
                    std::to_string(console->size()) + " files)");
  }
  api::ApiOptions api_options = options.api;
  api_options.follower = following;  // backups and key rotations, one at a time
  p->api = std::make_unique<api::Api>(
      api::ApiDeps{
          *p->identity, *p->credentials, *p->trail, *p->store, *p->audit, *p->checkpoints,
          *p->retention, clock, p->random, hasher, *p->tokens, p->metrics,
          [store, relay, webhook, kafka_notifier, mailer, retention, follower,
           identity = p->identity.get(), gate = &p->gate] {
            api::Metrics::Gauges g;
            const storage::RocksStore::Stats stats = store->stats();
            g.events_appended = static_cast<double>(stats.events);
            g.append_groups = static_cast<double>(stats.groups);
            g.append_batch_events = stats.batch_events;
            g.append_sync_seconds = stats.sync_seconds;
            const projections::Retention::Stats purges = retention->stats();
            g.retention_purges = static_cast<double>(purges.purges);
            g.retention_purged_events = static_cast<double>(purges.purged_events);
            g.retention_failures = static_cast<double>(purges.failures);
            g.ready = 1;
            g.state_tenants_unloaded = static_cast<double>(identity->UnloadedTenants());
            g.state_tenants_failed = static_cast<double>(identity->FailedTenants());
            if (follower != nullptr) {
              const projections::FollowerStats f = follower->stats();
              g.follower = 1;
              g.follower_applied_seq = static_cast<double>(f.applied_seq);
              g.follower_lag_events = static_cast<double>(f.lag_events.value_or(0));
              g.follower_lag_seconds = f.lag_seconds;
              g.follower_halted_tenants = static_cast<double>(f.halted.size());
              g.follower_reachable = f.reachable ? 1 : 0;
              g.follower_unauthenticated = static_cast<double>(f.unauthenticated);
              if (*gate != nullptr) {  // made once the Api is, before serving
                const api::FollowerGateStats answered = (*gate)->stats();
                g.follower_redirects = static_cast<double>(answered.redirects);
                g.follower_halted_answers = static_cast<double>(answered.halted);
                g.follower_min_seq_waits = static_cast<double>(answered.min_seq_waits);
                g.follower_min_seq_timeouts = static_cast<double>(answered.min_seq_timeouts);
                g.follower_min_seq_refused = static_cast<double>(answered.min_seq_refused);
              }
            }
            if (relay != nullptr) {
              const projections::RelayStats r = relay->stats();
              g.kafka_lag_events = static_cast<double>(r.lag_events);
              g.kafka_lag_seconds = r.lag_seconds;
              g.kafka_delivered = static_cast<double>(r.delivered);
              g.kafka_resends = static_cast<double>(r.resends);
              g.kafka_reachable = r.reachable ? 1 : 0;
            }
            if (webhook != nullptr) {
              const projections::WebhookStats w = webhook->stats();
              g.webhook_lag_events = static_cast<double>(w.lag_events);
              g.webhook_delivered = static_cast<double>(w.delivered);
              g.webhook_failures = static_cast<double>(w.failures);
              g.webhook_failing = w.failing ? 1 : 0;
            }
            if (kafka_notifier != nullptr) {
              g.notifications_sent = static_cast<double>(kafka_notifier->sent());
              g.notifications_failed = static_cast<double>(kafka_notifier->failed());
            }
            if (mailer != nullptr) {
              const storage::SmtpMailer::Stats m = mailer->stats();
              g.mail_sent = static_cast<double>(m.sent);
              g.mail_retries = static_cast<double>(m.retries);
              g.mail_failed = static_cast<double>(m.failed);
              g.mail_queued = static_cast<double>(m.queued);
            }
            return g;
          },
          [] { return std::string(); },
          [relay]() -> std::string {
            if (relay == nullptr) return "{\"state\":\"off\"}";
            const projections::RelayStats r = relay->stats();
            core::JsonWriter w;
            w.BeginObject().Key("state").String(r.reachable ? "up" : "away");
            w.Key("lag_events").UInt(r.lag_events);
            char seconds[32];
            std::snprintf(seconds, sizeof seconds, "%.3f", r.lag_seconds);
            w.Key("lag_seconds").Raw(seconds);
            w.Key("delivered_seq").UInt(r.cursor).EndObject();
            return w.Take();
          },
          [store, data_dir = options.data_dir, &clock,
           keys_mu](const std::string& to) -> core::Result<api::BackupMade> {
            // Never half a rotation in a backup: a key file without its retired set.
            std::lock_guard keys(*keys_mu);
            CUSTOS_ASSIGN_OR_RETURN(storage::BackupInfo b,
                                    storage::TakeBackup(*store, data_dir, to, clock));
            core::log::Info("backup taken to " + b.path + " at seq " + std::to_string(b.seq));
            return api::BackupMade{b.seq, b.path, b.time};
          },
          [signer = p->tokens, audit_key = p->audit_key.get(), &clock, keys_mu](
              const std::string& kind, bool revoke) -> core::Result<api::KeyRotated> {
            std::lock_guard keys(*keys_mu);
            // The retirement is dated a little after the old key stops signing: a checkpoint,
            // receipt or token whose time was read just before the swap, and that the old key
            // then signed, is dated before it and keeps verifying. The margin covers the key
            // files' writes and fsyncs; a rotation that took longer is reported.
            constexpr auto kMargin = std::chrono::seconds(10);
            const core::Time started = clock.Now();
            const core::Time now = started + kMargin;
            api::KeyRotated out;
            out.time = core::FormatTime(now);
            if (kind == "jwt") {
              // A revoked key is dropped at once: no margin, its tokens stop now.
              CUSTOS_ASSIGN_OR_RETURN(api::TokenSigner::Rotated r,
                                      signer->Rotate(revoke ? started : now, revoke));
              out.kid = r.kid;
              out.retired_kid = r.retired_kid;
              out.revoked = revoke;
              if (revoke) out.time = core::FormatTime(started);
            } else {
              CUSTOS_ASSIGN_OR_RETURN(core::CheckpointSigner::Rotated r, audit_key->Rotate(now));
              out.kid = r.kid;
              out.retired_kid = r.retired_kid;
            }
            core::log::Warn(
                "the " + kind + " key " + out.retired_kid +
                (out.revoked ? " was revoked (nothing it signed verifies); " : " was retired; ") +
                out.kid + " signs from now on");
            if (!out.revoked && clock.Now() > now) {
              core::log::Error("the " + kind + " key rotation took longer than its margin: what " +
                               out.retired_kid + " signed during it may not verify");
            }
            return out;
          },
          follower == nullptr ? std::function<void(core::JsonWriter&)>()
                              : [follower](core::JsonWriter& w) {
                                  const projections::FollowerStats f = follower->stats();
                                  w.Key("role").String("follower");
                                  w.Key("applied_seq").UInt(f.applied_seq);
                                  if (f.lag_events) {
                                    w.Key("lag_events").UInt(*f.lag_events);
                                  } else {
                                    w.Key("lag_events").Null();
                                  }
                                  char seconds[32];
                                  std::snprintf(seconds, sizeof seconds, "%.3f", f.lag_seconds);
                                  w.Key("lag_seconds").Raw(seconds);
                                  w.Key("brokers").String(f.reachable ? "up" : "away");
                                  w.Key("unauthenticated_records").UInt(f.unauthenticated);
                                  w.Key("halted_tenants").BeginArray();
                                  for (const auto& [tenant, why] : f.halted) w.String(tenant);
                                  w.EndArray().Key("halted").BeginObject();
                                  for (const auto& [tenant, why] : f.halted) {
                                    w.Key(tenant).String(why);
                                  }
                                  w.EndObject();
                                },
          std::move(console), std::move(mfa_key), SsoOutboundHttp(options.sso_private_networks)},
      api_options);
  // Admission (body limits, credentials before the body) comes from the routes, so it is set
  // once the Api exists.
  api::Api* api = p->api.get();
  if (following) {
    // A key the leader dropped ends the tokens it verified here at once, as on the leader.
    p->leader_keys->Start([api] { api->ForgetVerifiedTokens(); });
    p->gate = std::make_unique<api::FollowerGate>(*api, *p->follower,
                                                  api::FollowerGateOptions{options.leader});
    api::FollowerGate* gate = p->gate.get();
    p->server->SetAdmission([gate](api::HttpRequest& head) { return gate->Admit(head); });
  } else {
    p->server->SetAdmission([api](api::HttpRequest& head) { return api->Admit(head); });
  }
  return std::unique_ptr<Node>(new Node(std::move(p)));
}

core::Status Node::Serve() {
  if (api::FollowerGate* gate = parts_->gate.get()) {
    return parts_->server->Serve([gate](api::HttpRequest request, api::Responder respond) {
      gate->Handle(std::move(request), std::move(respond));
    });
  }
  api::Api* api = parts_->api.get();
  return parts_->server->Serve([api](api::HttpRequest request, api::Responder respond) {
    api->Handle(std::move(request), std::move(respond));
  });
}

void Node::Stop() {
  if (parts_->server) parts_->server->Stop();
  parts_->checkpoints->Stop();
  parts_->retention->Stop();
  parts_->expiry->Stop();
  if (parts_->relay) parts_->relay->Stop();
  if (parts_->follower) parts_->follower->Stop();
  if (parts_->leader_keys) parts_->leader_keys->Stop();
  if (parts_->webhook) parts_->webhook->Stop();
  // Last, once nothing more can be decided: what is still queued gets its one last try.
  if (parts_->mailer) parts_->mailer->Stop();
}

uint16_t Node::port() const { return parts_->server->port(); }
const api::RootClient& Node::root() const { return parts_->root; }
const api::TokenSigner& Node::tokens() const { return *parts_->tokens; }
api::Api& Node::api() { return *parts_->api; }
api::HttpServer& Node::server() { return *parts_->server; }

core::Status Node::ReloadTls() { return parts_->server->ReloadTls(); }
storage::RocksStore& Node::store() { return *parts_->store; }
projections::IdentityService& Node::identity() { return *parts_->identity; }
projections::AuditIndex& Node::audit() { return *parts_->audit; }
projections::AuditCheckpoints& Node::checkpoints() { return *parts_->checkpoints; }
projections::Retention& Node::retention() { return *parts_->retention; }
projections::Relay* Node::relay() { return parts_->relay.get(); }
projections::WebhookSink* Node::webhook() { return parts_->webhook.get(); }
storage::KafkaDevCluster* Node::kafka_cluster() { return parts_->cluster.get(); }
std::string Node::kafka_brokers() const { return parts_->brokers; }
storage::SmtpMailer* Node::mailer() { return parts_->mailer.get(); }
projections::Follower* Node::follower() { return parts_->follower.get(); }

}  // namespace custos::tools
