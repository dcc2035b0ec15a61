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

void Metrics::ObserveRequest(std::string_view route, std::string_view method, int status,
                             double seconds) {
  const std::string route_labels =
      "route=\"" + Escape(route) + "\",method=\"" + Escape(method) + "\"";
  const std::string labels = route_labels + ",status=\"" + std::to_string(status) + "\"";
  std::lock_guard lock(mu_);
  ++requests_[labels];
  Histogram& h = durations_[route_labels];
  if (h.buckets.empty()) h.buckets.assign(Bounds().size(), 0);
  for (size_t i = 0; i < Bounds().size(); ++i) {
    if (seconds <= Bounds()[i]) {
      ++h.buckets[i];
      break;
    }
  }
  ++h.count;
  h.sum += seconds;
}

std::string Metrics::Render(const Gauges& g) const {
  std::string out;
  out += "# HELP custos_http_requests_total HTTP requests answered, by route and status.\n";
  out += "# TYPE custos_http_requests_total counter\n";
  std::lock_guard lock(mu_);
  for (const auto& [labels, count] : requests_) {
    out += "custos_http_requests_total{" + labels + "} " + std::to_string(count) + "\n";
  }
  out += "# HELP custos_http_request_duration_seconds Time from request read to answer.\n";
  out += "# TYPE custos_http_request_duration_seconds histogram\n";
  for (const auto& [labels, h] : durations_) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < Bounds().size(); ++i) {
      cumulative += h.buckets[i];
      out += "custos_http_request_duration_seconds_bucket{" + labels + ",le=\"" +
             Number(Bounds()[i]) + "\"} " + std::to_string(cumulative) + "\n";
    }
    out += "custos_http_request_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} " +
           std::to_string(h.count) + "\n";
    out += "custos_http_request_duration_seconds_sum{" + labels + "} " + Number(h.sum) + "\n";
    out += "custos_http_request_duration_seconds_count{" + labels + "} " +
           std::to_string(h.count) + "\n";
  }
  auto gauge = [&](const char* name, const char* help, const char* type, double v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + Number(v) + "\n";
  };
  gauge("custos_events_appended_total", "Events appended to the log since start.", "counter",
        g.events_appended);
  gauge("custos_append_batches_total", "Synced append batches (fsyncs) since start.", "counter",
        g.append_groups);
  gauge("custos_projection_lag_events", "Events the identity state has not applied yet.", "gauge",
        g.projection_lag_events);
  gauge("custos_ready", "1 when the server answers correctly.", "gauge", g.ready);
  gauge("custos_notifications_failed_total", "Notifications that could not be delivered.",
        "counter", static_cast<double>(notifications_failed_.load()));
  return out;
}

}  // namespace custos::api
