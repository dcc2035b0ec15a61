#include "api/metrics.h"

#include <cstdio>

namespace custos::api {
namespace {

// Label values escaped per the text format: backslash, double quote and newline.
std::string Escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

Metrics::Metrics() = default;

const std::vector<double>& Metrics::Bounds() {
  static const std::vector<double> bounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                             0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                             1,      2.5,     5,      10};
  return bounds;
}

size_t Metrics::RegisterRoute(std::string_view route, std::string_view method) {
  auto r = std::make_unique<Route>();
  r->labels = "route=\"" + Escape(route) + "\",method=\"" + Escape(method) + "\"";
  std::lock_guard lock(mu_);
  routes_.push_back(std::move(r));
  return routes_.size() - 1;
}

void Metrics::ObserveRequest(size_t route_id, int status, double seconds) {
  Route* r = nullptr;
  {
    std::lock_guard lock(mu_);
    if (route_id >= routes_.size()) return;
    r = routes_[route_id].get();
  }
  size_t bucket = 0;
  while (bucket < kBuckets && seconds > Bounds()[bucket]) ++bucket;
  std::lock_guard lock(r->mu);
  ++r->by_status[status];
  if (bucket < kBuckets) ++r->buckets[bucket];
  ++r->count;
  r->sum += seconds;
}

std::string Metrics::Render(const Gauges& g) const {
  std::string out;
  out += "# HELP custos_http_requests_total HTTP requests answered, by route and status.\n";
  out += "# TYPE custos_http_requests_total counter\n";
  std::lock_guard lock(mu_);
  for (const auto& r : routes_) {
    std::lock_guard route_lock(r->mu);
    for (const auto& [status, count] : r->by_status) {
      out += "custos_http_requests_total{" + r->labels + ",status=\"" + std::to_string(status) +
             "\"} " + std::to_string(count) + "\n";
    }
  }
  out += "# HELP custos_http_request_duration_seconds Time from request read to answer.\n";
  out += "# TYPE custos_http_request_duration_seconds histogram\n";
  for (const auto& r : routes_) {
    std::lock_guard route_lock(r->mu);
    if (r->count == 0) continue;
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      cumulative += r->buckets[i];
      out += "custos_http_request_duration_seconds_bucket{" + r->labels + ",le=\"" +
             Number(Bounds()[i]) + "\"} " + std::to_string(cumulative) + "\n";
    }
    out += "custos_http_request_duration_seconds_bucket{" + r->labels + ",le=\"+Inf\"} " +
           std::to_string(r->count) + "\n";
    out += "custos_http_request_duration_seconds_sum{" + r->labels + "} " + Number(r->sum) + "\n";
    out += "custos_http_request_duration_seconds_count{" + r->labels + "} " +
           std::to_string(r->count) + "\n";
  }
  auto histogram = [&](const char* name, const char* help, const core::Histogram::Snapshot& h) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " histogram\n";
    for (size_t i = 0; i < h.bounds.size(); ++i) {
      out += std::string(name) + "_bucket{le=\"" + Number(h.bounds[i]) + "\"} " +
             std::to_string(h.cumulative[i]) + "\n";
    }
    out += std::string(name) + "_bucket{le=\"+Inf\"} " + std::to_string(h.count) + "\n";
    out += std::string(name) + "_sum " + Number(h.sum) + "\n";
    out += std::string(name) + "_count " + std::to_string(h.count) + "\n";
  };
  auto gauge = [&](const char* name, const char* help, const char* type, double v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + Number(v) + "\n";
  };
  gauge("custos_events_appended_total", "Events appended to the log since start.", "counter",
        g.events_appended);
  gauge("custos_append_batches_total", "Synced append batches (fsyncs) since start.", "counter",
        g.append_groups);
  histogram("custos_append_batch_events", "Events in each synced append batch.",
            g.append_batch_events);
  histogram("custos_append_fsync_duration_seconds",
            "Time of each synced append batch's write, fsync included.", g.append_sync_seconds);
  gauge("custos_projection_lag_events", "Events the identity state has not applied yet.", "gauge",
        g.projection_lag_events);
  gauge("custos_ready", "1 when the server answers correctly.", "gauge", g.ready);
  gauge("custos_state_tenants_unloaded",
        "Tenants whose identity state is not in memory yet: loaded on first use, or by the "
        "warmer after a start.",
        "gauge", g.state_tenants_unloaded);
  gauge("custos_state_tenants_failed",
        "Tenants whose stored identity state did not load (their requests fail; see the log).",
        "gauge", g.state_tenants_failed);
  gauge("custos_kafka_relay_lag_events", "Events appended and not yet delivered to Kafka.", "gauge",
        g.kafka_lag_events);
  gauge("custos_kafka_relay_lag_seconds", "Age of the oldest event not yet delivered to Kafka.",
        "gauge", g.kafka_lag_seconds);
  gauge("custos_kafka_relay_delivered_total", "Events the relay delivered to Kafka since start.",
        "counter", g.kafka_delivered);
  gauge("custos_kafka_relay_resends_total",
        "Times the relay sent again from its cursor after a failed delivery.", "counter",
        g.kafka_resends);
  gauge("custos_kafka_reachable", "1 while a Kafka broker answers (0 with Kafka off).", "gauge",
        g.kafka_reachable);
  gauge("custos_follower", "1 on a follower (custos serve --follow), 0 on a leader.", "gauge",
        g.follower);
  gauge("custos_follower_applied_seq", "The highest leader seq this follower applied.", "gauge",
        g.follower_applied_seq);
  gauge("custos_follower_lag_events", "Records of the audit topic this follower has not read yet.",
        "gauge", g.follower_lag_events);
  gauge("custos_follower_lag_seconds",
        "While the follower lags: now minus the time of the last event it applied.", "gauge",
        g.follower_lag_seconds);
  gauge("custos_follower_halted_tenants",
        "Tenants this follower stopped applying (a line that did not follow their chain).", "gauge",
        g.follower_halted_tenants);
  gauge("custos_follower_reachable", "1 while a broker of the followed topic answers.", "gauge",
        g.follower_reachable);
  gauge("custos_follower_unauthenticated_records_total",
        "Records this follower skipped for want of the replication key's custos-mac, since start.",
        "counter", g.follower_unauthenticated);
  gauge("custos_follower_redirects_total",
        "Requests this follower sent to the leader with a 307 (writes, /oauth, logins, exports).",
        "counter", g.follower_redirects);
  gauge("custos_follower_halted_answers_total",
        "Requests for a halted tenant this follower answered 503.", "counter",
        g.follower_halted_answers);
  gauge("custos_follower_min_seq_waits_total",
        "Requests that waited for their Custos-Min-Seq on this follower.", "counter",
        g.follower_min_seq_waits);
  gauge("custos_follower_min_seq_timeouts_total",
        "Of those, the ones answered 503 when the wait ran out.", "counter",
        g.follower_min_seq_timeouts);
  gauge("custos_follower_min_seq_refused_total",
        "Requests with Custos-Min-Seq answered 503 at once: no place left to wait.", "counter",
        g.follower_min_seq_refused);
  gauge("custos_webhook_lag_events", "Events appended and not yet accepted by the webhook.",
        "gauge", g.webhook_lag_events);
  gauge("custos_webhook_delivered_total", "Events the webhook accepted since start.", "counter",
        g.webhook_delivered);
  gauge("custos_webhook_failures_total",
        "Webhook posts not accepted (no answer, or not 2xx) since start; each is retried.",
        "counter", g.webhook_failures);
  gauge("custos_webhook_failing", "1 while the webhook's last post was not accepted.", "gauge",
        g.webhook_failing);
  gauge("custos_notifications_sent_total", "Notifications delivered to Kafka since start.",
        "counter", g.notifications_sent);
  gauge("custos_notifications_failed_total",
        "Notification delivery failures (each retried up to 5 times) and drops.", "counter",
        g.notifications_failed);
  gauge("custos_mail_sent_total", "Mails the SMTP server accepted since start (--smtp).", "counter",
        g.mail_sent);
  gauge("custos_mail_retries_total",
        "Tries after the first at sending a mail (no connection, a 4xx reply, a timeout).",
        "counter", g.mail_retries);
  gauge("custos_mail_failed_total",
        "Mails given up: refused for good (5xx), out of tries, dropped on a full queue, or "
        "unsent at stop.",
        "counter", g.mail_failed);
  gauge("custos_mail_queued", "Mails waiting to be sent or tried again.", "gauge", g.mail_queued);
  gauge("custos_retention_purges_total", "Retention purges that removed events, since start.",
        "counter", g.retention_purges);
  gauge("custos_retention_purged_events_total", "Events removed by retention since start.",
        "counter", g.retention_purged_events);
  gauge("custos_retention_failures_total",
        "Retention purges that failed (run again at the next interval), since start.", "counter",
        g.retention_failures);
  return out;
}

}  // namespace custos::api
