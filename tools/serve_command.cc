// custos serve: the HTTP server over a data dir. Opens the store, loads the identity state
// (no replay), makes the root client on first start (its secret to
// <data-dir>/root-client.json, mode 0600), then listens — only once all of that is done —
// and writes the bound address to <data-dir>/listen.addr. SIGINT/SIGTERM stop it gracefully;
// SIGHUP reads the TLS certificate and key again.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "api/console_files.h"
#include "api/server.h"
#include "core/log.h"
#include "core/private_file.h"
#include "storage/curl_poster.h"
#include "storage/kafka_dev_cluster.h"
#include "storage/kafka_producer.h"
#include "storage/spdlog_logger.h"
#include "tools/commands.h"
#include "tools/node.h"

namespace custos::tools {
namespace {

// A failure once the logger is installed: logged (so that JSON lines stay JSON), then the
// command's exit code.
int Fail(const core::Error& error) {
  core::log::Error("custos serve: " + error.message);
  return error.code == core::Errc::kInvalidArgument ? kExitUsage : kExitFailure;
}

core::Result<std::pair<std::string, uint16_t>> ParseListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return core::InvalidArgument("--listen must be HOST:PORT, got '" + listen + "'");
  }
  const std::string port_text = listen.substr(colon + 1);
  char* end = nullptr;
  const long port = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || port < 0 || port > 65535) {
    return core::InvalidArgument("--listen: bad port '" + port_text + "'");
  }
  return std::make_pair(listen.substr(0, colon), static_cast<uint16_t>(port));
}

// The issuer is the tokens' `iss` and the base of the links in mails: an absolute http(s) URL
// with a host, no query, fragment or trailing slash (RFC 8414 section 2). On a wildcard
// address there is no default: the address bound says nothing of the name clients use.
core::Result<std::optional<std::string>> CheckIssuer(std::optional<std::string> issuer,
                                                     const std::string& host) {
  if (!issuer) {
    if (host == "0.0.0.0" || host == "::" || host == "[::]" || host.empty()) {
      return core::InvalidArgument(
          "--issuer (or CUSTOS_ISSUER) is required with a wildcard --listen address ('" + host +
          "'): it is the tokens' iss and the base of the links in mails, e.g. "
          "https://id.example.com");
    }
    return issuer;
  }
  const std::string& url = *issuer;
  const size_t scheme = url.rfind("https://", 0) == 0 ? 8 : url.rfind("http://", 0) == 0 ? 7 : 0;
  if (scheme == 0 || url.size() == scheme || url.find_first_of("?# \t\r\n") != std::string::npos ||
      url.back() == '/' || url[scheme] == '/') {
    return core::InvalidArgument(
        "--issuer must be an http(s) URL with a host and no query, "
        "fragment or trailing slash, got '" +
        url + "'");
  }
  return issuer;
}

// A secret kept in a file (a password, a token), without its trailing line ends; nullopt when
// the file cannot be read.
std::optional<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string content;
  if (in.is_open()) content.assign(std::istreambuf_iterator<char>(in), {});
  if (!in.is_open() || in.bad()) return std::nullopt;
  while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) {
    content.pop_back();
  }
  return content;
}

// The librdkafka properties of --kafka-property NAME=VALUE and --kafka-property-file
// NAME=FILE, each checked by librdkafka now, before anything is opened. A value read from a
// file is a secret: no message quotes it.
core::Result<std::vector<std::pair<std::string, std::string>>> KafkaProperties(
    const Flags& flags, const std::string& kafka) {
  std::vector<std::pair<std::string, std::string>> properties;
  for (const std::string flag : {"kafka-property", "kafka-property-file"}) {
    const bool from_file = flag == "kafka-property-file";
    for (const std::string& item : flags.GetAll(flag)) {
      const size_t eq = item.find('=');
      if (eq == 0 || eq == std::string::npos) {
        return core::InvalidArgument("--" + flag + " must be NAME=" +
                                     (from_file ? "FILE" : "VALUE") + ", got '" + item + "'");
      }
      const std::string name = item.substr(0, eq);
      std::string value = item.substr(eq + 1);
      if (from_file) {
        std::optional<std::string> content = ReadSecretFile(value);
        if (!content) {
          return core::InvalidArgument("--kafka-property-file " + name + ": cannot read " + value);
        }
        value = std::move(*content);
      }
      if (core::Status s = storage::CheckKafkaProperty(name, value); !s.ok()) {
        // librdkafka's reason may quote the value (truncated, so no search for it would be
        // safe): never a secret's.
        return core::InvalidArgument(
            "--" + flag + ": " +
            (from_file ? "kafka property " + name + ": the value in " + item.substr(eq + 1) +
                             " is refused (by librdkafka, or as one Custos sets itself)"
                       : s.error().message));
      }
      properties.emplace_back(name, std::move(value));
    }
  }
  if (!properties.empty() && kafka == "off" && !flags.Get("follow")) {
    return core::InvalidArgument(
        "--kafka-property needs --kafka (brokers, or embedded) or --follow");
  }
  return properties;
}

// --webhook and its companions into `out`; the secret file is read now (never quoted).
core::Status WebhookOptionsFrom(const Flags& flags, NodeOptions& out) {
  if (!flags.Get("webhook")) {
    for (const char* flag : {"webhook-secret-file", "webhook-ca-file"}) {
      if (flags.Get(flag))
        return core::InvalidArgument(std::string("--") + flag + " needs --webhook");
    }
    if (*flags.Get("webhook-format") != "ndjson") {
      return core::InvalidArgument("--webhook-format needs --webhook");
    }
    return core::OkStatus();
  }
  storage::CurlPosterOptions poster;
  poster.url = *flags.Get("webhook");
  poster.ca_file = flags.Get("webhook-ca-file").value_or("");
  CUSTOS_RETURN_IF_ERROR(storage::CurlPoster::CheckOptions(poster));
  core::Result<std::string> secret_file = flags.Require("webhook-secret-file");
  if (!secret_file.ok()) return secret_file.error();
  std::optional<std::string> read = ReadSecretFile(*secret_file);
  if (!read) return core::InvalidArgument("--webhook-secret-file: cannot read " + *secret_file);
  std::string secret = std::move(*read);
  if (secret.size() < 16 || std::any_of(secret.begin(), secret.end(), [](char ch) {
        return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f;  // would cut a header
      })) {
    return core::InvalidArgument("--webhook-secret-file: " + *secret_file +
                                 " must hold one line of at least 16 printable characters");
  }
  out.webhook_url = poster.url;
  out.webhook_ca_file = poster.ca_file;
  out.webhook.secret = std::move(secret);
  out.webhook.format = *flags.Get("webhook-format") == "splunk-hec"
                           ? projections::WebhookFormat::kSplunkHec
                           : projections::WebhookFormat::kNdjson;
  if (poster.url.rfind("http://", 0) == 0) {
    if (out.webhook.format == projections::WebhookFormat::kSplunkHec) {
      return core::InvalidArgument(
          "--webhook-format splunk-hec needs an https:// URL: the HEC token is sent in every "
          "request");
    }
    core::log::Warn("the webhook is plain http: the events cross the network unencrypted");
  }
  return core::OkStatus();
}

// --follow and its companions into `out`.
core::Status FollowOptionsFrom(const Flags& flags, NodeOptions& out) {
  if (!flags.Get("follow")) {
    for (const char* flag : {"leader", "leader-ca-file"}) {
      if (flags.Get(flag))
        return core::InvalidArgument(std::string("--") + flag + " needs --follow");
    }
    return core::OkStatus();
  }
  out.follow = *flags.Get("follow");
  if (out.follow.empty() || out.follow.find_first_of(" \t\r\n") != std::string::npos) {
    return core::InvalidArgument("--follow must be the brokers, HOST:PORT,…");
  }
  CUSTOS_ASSIGN_OR_RETURN(out.leader, flags.Require("leader"));
  while (!out.leader.empty() && out.leader.back() == '/') out.leader.pop_back();
  const bool http = out.leader.rfind("http://", 0) == 0 || out.leader.rfind("https://", 0) == 0;
  if (!http || out.leader.find_first_of(" \t\r\n?#@") != std::string::npos ||
      out.leader.find('/', out.leader.find("//") + 2) != std::string::npos) {
    return core::InvalidArgument(
        "--leader must be the leader's base URL, http(s)://HOST:PORT, got '" + out.leader + "'");
  }
  // The follower trusts the keys it fetches there: over plain http only on this machine.
  if (out.leader.rfind("http://", 0) == 0) {
    const std::string host = out.leader.substr(7, out.leader.find_first_of(":/", 7) - 7);
    const bool loopback = host == "localhost" || host.rfind("127.", 0) == 0 ||
                          out.leader.rfind("http://[::1]", 0) == 0;
    if (!loopback) {
      return core::InvalidArgument(
          "--leader must be https:// (the follower verifies tokens with the keys it fetches "
          "there); plain http only to a loopback address");
    }
  }
  out.leader_ca_file = flags.Get("leader-ca-file").value_or("");
  out.follow_group = *flags.Get("follow-group");
  if (out.kafka != "off") {
    return core::InvalidArgument(
        "--follow and --kafka: a follower relays nothing (the leader does)");
  }
  if (out.webhook_url || out.smtp_url) {
    return core::InvalidArgument("--follow with --webhook or --smtp: the leader delivers those");
  }
  // Nothing is appended here: no retention, expiry or login tally of a follower's own.
  out.retention_interval.reset();
  out.expiry_interval.reset();
  return core::OkStatus();
}

// --replication-key-file into `out`: the key a leader's relay authenticates the audit records
// with, and a follower takes them by (core/line_feed.h).
core::Status ReplicationKeyFrom(const Flags& flags, NodeOptions& out) {
  const std::optional<std::string> file = flags.Get("replication-key-file");
  if (!file) return core::OkStatus();
  if (out.kafka == "off" && out.follow.empty()) {
    return core::InvalidArgument("--replication-key-file needs --kafka (a leader) or --follow");
  }
  std::optional<std::string> key = ReadSecretFile(*file);
  if (!key) return core::InvalidArgument("--replication-key-file: cannot read " + *file);
  if (key->size() < 32) {
    return core::InvalidArgument("--replication-key-file: " + *file +
                                 " must hold at least 32 bytes (openssl rand -hex 32)");
  }
  out.replication_key = std::move(*key);
  return core::OkStatus();
}

}  // namespace

int RunServe(const Args& args) {
  Flags flags;
  if (auto exit = ParseCommandFlags(
          "serve",
          "[--config FILE] [--listen HOST:PORT] --data-dir DIR [--kafka off|embedded|HOST:PORT,…] "
          "[--follow HOST:PORT,… --leader URL]",
          args,
          {{"listen", true, "127.0.0.1:8080", "address to listen on (port 0: any free port)"},
           {"data-dir", true, "", "where the store, keys and root credentials live"},
           {"kafka", true, "off", "off, embedded (a dev cluster in-process), or brokers"},
           {"kafka-audit-topic", true, "custos.audit.v1", "topic of the stored events"},
           {"follow", true, "",
            "run as a follower (docs/replication.md): build the store from the leader's audit "
            "topic on these brokers, serve the reads, send writes to --leader"},
           {"leader", true, "",
            "with --follow: the leader's base URL, http(s)://HOST:PORT (its keys, and where "
            "writes, /oauth and logins are redirected)"},
           {"leader-ca-file", true, "",
            "with --follow: PEM file of the CA the leader's HTTPS is checked against (default: "
            "the system's CAs)"},
           {"follow-group", true, "custos-follower",
            "with --follow: the consumer's group.id (nothing is committed to it)"},
           {"replication-key-file", true, "",
            "FILE holding the replication key, the same on the leader and its followers (at "
            "least 32 bytes: openssl rand -hex 32): the leader's relay authenticates each "
            "audit record with it, and a follower skips any record it does not authenticate"},
           {"kafka-ocsf-topic", true, "custos.audit.ocsf.v1", "topic of the OCSF records"},
           {"kafka-notifications-topic", true, "custos.notifications.v1",
            "topic of the mailer's messages (invitation links, temporary passwords)"},
           {"kafka-property",
            true,
            "",
            "NAME=VALUE: a librdkafka property for the relay and the notifier "
            "(security.protocol=sasl_ssl, sasl.mechanisms=SCRAM-SHA-512, sasl.username=…, "
            "ssl.ca.location=…)",
            {},
            true},
           {"kafka-property-file",
            true,
            "",
            "NAME=FILE: a librdkafka property whose value is FILE's content (a secret such as "
            "sasl.password, kept off the command line and out of the logs)",
            {},
            true},
           {"webhook", true, "",
            "also deliver every stored event to this http(s) URL, in signed batches "
            "(docs/webhook.md); retention never purges what it has not accepted"},
           {"webhook-secret-file", true, "",
            "FILE holding the webhook's secret: the HMAC-SHA256 key of Custos-Signature (and "
            "the HEC token with splunk-hec); required with --webhook"},
           {"webhook-format",
            true,
            "ndjson",
            "the batches' body: ndjson (the stored lines) or splunk-hec (HTTP Event Collector "
            "events, Authorization: Splunk SECRET)",
            {"ndjson", "splunk-hec"}},
           {"webhook-ca-file", true, "",
            "PEM file of the CA (or the certificate) the webhook's HTTPS endpoint is checked "
            "against (default: the system's CAs)"},
           {"invitation-url", true, "",
            "the product's page that accepts invitations; links are URL?token=… "
            "(default ISSUER/accept-invitation; {tenant} is replaced by the tenant id)"},
           {"login-url", true, "",
            "the product's sign-in page, linked from temporary-password and group mails "
            "(default ISSUER/login; {tenant} is replaced by the tenant id)"},
           {"smtp", true, "",
            "send the notification mails itself: smtp://HOST:PORT (STARTTLS required, but to "
            "a local MTA) or smtps://HOST:PORT, optionally USER:PASSWORD@HOST (default: no mail)"},
           {"mail-from", true, "", "the mails' sender, ADDRESS or 'NAME <ADDRESS>' (with --smtp)"},
           {"workers", true, "",
            "HTTP I/O threads (default: cores - 1, at least 1; the log's "
            "commit thread has the other core)"},
           {"issuer", true, "",
            "the tokens' issuer URL, base of the links in mails (default http://LISTEN; "
            "required when LISTEN is a wildcard address)"},
           {"body-limit", true, "1048576", "largest request body in bytes (CSV import: 64 MiB)"},
           {"max-connections", true, "0",
            "open connections in all, past which new ones get 503 (0: half the file limit)"},
           {"max-connections-per-address", true, "256",
            "open connections from one source address, past which new ones get 503"},
           {"trusted-proxy",
            true,
            "",
            "ADDRESS or CIDR (or several, comma-separated) of a reverse proxy whose forwarding "
            "header names the client: the client's address is then the nearest one in it "
            "that is not a trusted proxy (for actor.ip and the per-address limits)",
            {},
            true},
           {"forwarded-header",
            true,
            "x-forwarded-for",
            "the header the trusted proxies maintain (only it is read)",
            {"x-forwarded-for", "forwarded"}},
           {"jwt-alg",
            true,
            "EdDSA",
            "the access tokens' signature: EdDSA (Ed25519), or ES256 (P-256) for JWT libraries "
            "without EdDSA; each has its own key in DIR/keys, so a change ends the tokens signed "
            "before it",
            {"EdDSA", "ES256"}},
           {"token-audience",
            true,
            "",
            "an `aud` the tokens may carry (RFC 9068), e.g. your API's URL; the first is the "
            "default, and /oauth/token's `audience` picks another (default: the issuer)",
            {},
            true},
           {"tls-cert", true, "",
            "serve HTTPS (TLS 1.2 and 1.3): PEM file of the certificate chain, leaf first; "
            "read again on SIGHUP"},
           {"tls-key", true, "", "PEM file of the certificate's private key (with --tls-cert)"},
           {"console-dir", true, "",
            "the console's built files, served at /console/ (default: console/ beside this "
            "executable, i.e. build/console, or ../share/custos/console; `off`: no console)"},
           {"sso-private-networks", false, "",
            "let single sign-on reach identity providers on loopback and private addresses (an "
            "on-premises provider); without it a tenant's issuer reaches public addresses only"},
           {"block-cache-mb", true, "128", "RocksDB block cache, MiB"},
           {"retention-interval", true, "3600",
            "seconds between background retention purges of every tenant"},
           {"expiry-interval", true, "10",
            "seconds between recordings of expired invitations and timed locks that ran out"},
           {"checkpoint-interval", true, "60",
            "seconds between signed checkpoints of the tenants' chain heads (when they moved)"},
           {"clock-offset", true, "",
            "for drills and tests only, on a copy of a data dir: seconds added to the server's "
            "clock, so that a review of what is 90 days old can be tried today. It marks the "
            "data dir (DIR/clock-offset), which is then served only with the flag given"},
           {"access-log",
            true,
            "on",
            "a line per answered request (method, route, status, duration_ms, request_id, "
            "tenant, client) at info",
            {"on", "off"}},
           {"log-format",
            true,
            "text",
            "the server's lines: text, or json (JSON lines)",
            {"text", "json"}},
           {"log-level",
            true,
            "info",
            "the least level logged",
            {"debug", "info", "warn", "error"}}},
          flags, {.config_file = true})) {
    return *exit;
  }
  storage::LogOptions log_options;
  log_options.json = *flags.Get("log-format") == "json";
  if (!core::log::ParseLevel(*flags.Get("log-level"), log_options.level)) {
    return ReportError("serve", core::InvalidArgument("--log-level: unknown level"));
  }
  // From here on every line the server writes goes through this logger.
  storage::SpdlogLogger logger(log_options);
  core::log::Install(&logger);
  struct Uninstall {
    ~Uninstall() { core::log::Install(nullptr); }
  } uninstall;
  core::Result<std::string> data_dir = flags.Require("data-dir");
  if (!data_dir.ok()) return Fail(data_dir.error());
  auto listen = ParseListen(*flags.Get("listen"));
  if (!listen.ok()) return Fail(listen.error());
  core::Result<std::optional<std::string>> issuer = CheckIssuer(flags.Get("issuer"), listen->first);
  if (!issuer.ok()) return Fail(issuer.error());
  core::Result<uint64_t> workers =
      flags.Get("workers")
          ? flags.GetUInt("workers", 1, 256)
          : core::Result<uint64_t>(std::max<uint64_t>(1, std::thread::hardware_concurrency() - 1));
  if (!workers.ok()) return Fail(workers.error());
  core::Result<uint64_t> body_limit = flags.GetUInt("body-limit", 1024, uint64_t{1} << 30);
  if (!body_limit.ok()) return Fail(body_limit.error());
  core::Result<uint64_t> max_connections = flags.GetUInt("max-connections", 0, 1'000'000);
  if (!max_connections.ok()) return Fail(max_connections.error());
  core::Result<uint64_t> per_address = flags.GetUInt("max-connections-per-address", 1, 1'000'000);
  if (!per_address.ok()) return Fail(per_address.error());
  core::Result<uint64_t> checkpoint_interval = flags.GetUInt("checkpoint-interval", 1, 86400);
  if (!checkpoint_interval.ok()) return Fail(checkpoint_interval.error());
  core::Result<uint64_t> block_cache_mb = flags.GetUInt("block-cache-mb", 1, 1 << 20);
  if (!block_cache_mb.ok()) return Fail(block_cache_mb.error());
  core::Result<uint64_t> retention_interval = flags.GetUInt("retention-interval", 1, 604800);
  if (!retention_interval.ok()) return Fail(retention_interval.error());
  core::Result<uint64_t> expiry_interval = flags.GetUInt("expiry-interval", 1, 86400);
  if (!expiry_interval.ok()) return Fail(expiry_interval.error());
  const bool offset_given = flags.Get("clock-offset").has_value();
  core::Result<uint64_t> clock_offset =
      offset_given ? flags.GetUInt("clock-offset", 0, uint64_t{3650} * 86400)
                   : core::Result<uint64_t>(uint64_t{0});
  if (!clock_offset.ok()) return Fail(clock_offset.error());
  const std::string kafka = *flags.Get("kafka");
  core::Result<std::vector<std::pair<std::string, std::string>>> kafka_properties =
      KafkaProperties(flags, kafka);
  if (!kafka_properties.ok()) return Fail(kafka_properties.error());

  // Every connection is a descriptor: allow as many as the hard limit does.
  if (rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &files);
  }

  // Signals go to sigwait only: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Whatever the server creates (the store's files included) is its user's alone; a data dir
  // of another user is refused (Node::Open).
  ::umask(077);

  core::SystemClock clock{std::chrono::seconds(*clock_offset)};
  NodeOptions node_options;
  node_options.data_dir = *data_dir;
  node_options.clock = &clock;
  node_options.host = listen->first;
  node_options.port = listen->second;
  node_options.workers = static_cast<int>(*workers);
  node_options.issuer = *issuer;
  node_options.jwt_alg =
      *flags.Get("jwt-alg") == "ES256" ? api::JwtAlg::kES256 : api::JwtAlg::kEdDSA;
  node_options.token_audiences = flags.GetAll("token-audience");
  for (const std::string& aud : node_options.token_audiences) {
    if (aud.empty() || aud.size() > 512 || aud.find_first_of(" \t\r\n\"\\") != std::string::npos) {
      return Fail(core::InvalidArgument("--token-audience: '" + aud +
                                        "' is not an audience (a URI or name, no spaces)"));
    }
  }
  node_options.api.body_limit = *body_limit;
  node_options.api.access_log = *flags.Get("access-log") == "on";
  node_options.sso_private_networks = flags.IsSet("sso-private-networks");
  if (const std::optional<std::string> console = flags.Get("console-dir"); !console) {
    node_options.console_dir = api::ConsoleFiles::DefaultDir();
    if (node_options.console_dir.empty()) {
      core::log::Info(
          "no console is served: none is built beside this executable "
          "(cmake --build build --target console, or --console-dir)");
    }
  } else if (*console != "off") {
    node_options.console_dir = *console;
  }
  node_options.max_connections = static_cast<size_t>(*max_connections);
  node_options.max_connections_per_address = static_cast<size_t>(*per_address);
  core::Result<api::TrustedProxies> proxies = api::TrustedProxies::Parse(
      flags.GetAll("trusted-proxy"), *flags.Get("forwarded-header") == "forwarded"
                                         ? api::ForwardedHeader::kForwarded
                                         : api::ForwardedHeader::kXForwardedFor);
  if (!proxies.ok()) return Fail(proxies.error());
  node_options.trusted_proxies = std::move(proxies).value();
  if (flags.Get("tls-cert") || flags.Get("tls-key")) {
    core::Result<std::string> cert = flags.Require("tls-cert");
    if (!cert.ok()) return Fail(cert.error());
    core::Result<std::string> key = flags.Require("tls-key");
    if (!key.ok()) return Fail(key.error());
    if (core::Status s = api::CheckTlsFiles(*cert, *key); !s.ok()) return Fail(s.error());
    node_options.tls_cert_file = *cert;
    node_options.tls_key_file = *key;
  }
  node_options.block_cache_bytes = static_cast<size_t>(*block_cache_mb) << 20;
  node_options.checkpoint_interval = std::chrono::seconds(*checkpoint_interval);
  node_options.retention_interval = std::chrono::seconds(*retention_interval);
  node_options.expiry_interval = std::chrono::seconds(*expiry_interval);
  node_options.kafka = kafka;
  node_options.kafka_properties = std::move(kafka_properties).value();
  node_options.audit_topic = *flags.Get("kafka-audit-topic");
  node_options.ocsf_topic = *flags.Get("kafka-ocsf-topic");
  node_options.notifications_topic = *flags.Get("kafka-notifications-topic");
  if (core::Status s = WebhookOptionsFrom(flags, node_options); !s.ok()) return Fail(s.error());
  node_options.invitation_url = flags.Get("invitation-url");
  node_options.login_url = flags.Get("login-url");
  node_options.smtp_url = flags.Get("smtp");
  if (node_options.smtp_url) {
    core::Result<std::string> from = flags.Require("mail-from");
    if (!from.ok()) return Fail(from.error());
    if (core::Status s = storage::SmtpMailer::CheckUrl(*node_options.smtp_url); !s.ok()) {
      return Fail(s.error());
    }
    if (core::Result<core::iam::Mailbox> box = core::iam::ParseMailbox(*from); !box.ok()) {
      return Fail(core::InvalidArgument("--mail-from: " + box.error().message));
    }
    node_options.mail_from = *from;
  } else if (flags.Get("mail-from")) {
    return Fail(core::InvalidArgument("--mail-from needs --smtp"));
  }
  if (core::Status s = FollowOptionsFrom(flags, node_options); !s.ok()) return Fail(s.error());
  if (core::Status s = ReplicationKeyFrom(flags, node_options); !s.ok()) return Fail(s.error());
  // A shifted clock leaves its mark on everything it touches: events stamped ahead (later
  // ones too, as times never go back), tokens that expire ahead, retention purged as of then.
  // The data dir remembers it, and is served again only by someone who says so.
  const std::string offset_mark = *data_dir + "/clock-offset";
  if (*clock_offset != 0) {
    core::log::Warn("the clock is set " + std::to_string(*clock_offset) +
                    " seconds ahead (--clock-offset): every time this server records is "
                    "shifted; this data dir is marked as a drill's");
    if (core::Status s = core::EnsurePrivateDir(*data_dir); !s.ok()) return Fail(s.error());
    if (core::Status s = core::WritePrivateFile(offset_mark, std::to_string(*clock_offset) + "\n");
        !s.ok()) {
      return Fail(s.error());
    }
  } else if (!offset_given && std::filesystem::exists(offset_mark)) {
    return Fail(core::Error{
        core::Errc::kConflict,
        "this data dir was served with --clock-offset (" + offset_mark +
            "): its events, tokens and retention ran on a shifted clock, so it is a drill's, "
            "not production's; pass --clock-offset (0 for the real clock) to serve it anyway",
        {}});
  }
  auto node = Node::Open(node_options);
  if (!node.ok()) return Fail(node.error());

  const api::RootClient& root = (*node)->root();
  if (!root.client_secret.empty()) {
    core::log::Info("first start: the root client's credentials are in " + *data_dir +
                    "/root-client.json (mode 0600); keep them safe");
  }

  const std::string brokers = (*node)->kafka_brokers();
  if (kafka == "embedded") {
    core::log::Info("embedded Kafka dev cluster at " + brokers, {{"brokers", brokers}});
    if (core::Status s = core::WritePrivateFile(*data_dir + "/kafka.addr", brokers + "\n");
        !s.ok()) {
      return Fail(s.error());
    }
  }
  if (node_options.smtp_url) {
    core::log::Info("sending notification mails through SMTP as " + node_options.mail_from);
  }
  if (!node_options.follow.empty()) {
    core::log::Info("following the leader " + node_options.leader + " through " +
                    node_options.follow + " (topic " + node_options.audit_topic + ")");
  }
  if (!brokers.empty()) {
    core::log::Info("relaying the log to Kafka at " + brokers + " (topics " +
                    node_options.audit_topic + ", " + node_options.ocsf_topic + ", " +
                    node_options.notifications_topic + ")");
  }

  if (node_options.webhook_url) {
    core::log::Info("delivering the log to the webhook " + *node_options.webhook_url + " (" +
                    *flags.Get("webhook-format") + ")");
  }

  // Only now, with the store open, the state loaded and the keys ready, does it listen.
  if (core::Status s = (*node)->Serve(); !s.ok()) return Fail(s.error());
  const std::string address = listen->first + ":" + std::to_string((*node)->port());
  if (core::Status s = core::WritePrivateFile(*data_dir + "/listen.addr", address + "\n");
      !s.ok()) {
    return Fail(s.error());
  }
  core::log::Info(std::string("listening on ") + address,
                  {{"data_dir", *data_dir},
                   {"root_client", root.client_id},
                   {"scheme", node_options.tls_cert_file.empty() ? "http" : "https"}});

  int received = 0;
  // SIGHUP: a renewed certificate (cert-manager, certbot) is read again; the server goes on.
  while (sigwait(&signals, &received) == 0 && received == SIGHUP) {
    if (node_options.tls_cert_file.empty()) {
      core::log::Info("SIGHUP: no --tls-cert to read again");
      continue;
    }
    if (core::Status s = (*node)->ReloadTls(); !s.ok()) {
      core::log::Error("SIGHUP: the TLS files were not reloaded, the previous ones stay in use: " +
                       s.error().message);
      continue;
    }
    core::log::Info("SIGHUP: TLS certificate reloaded from " + node_options.tls_cert_file);
  }
  core::log::Info(std::string(received == SIGINT ? "SIGINT" : "SIGTERM") +
                  ": stopping; finishing requests in flight");
  (*node)->Stop();
  core::log::Info("stopped");
  return kExitOk;
}

}  // namespace custos::tools
