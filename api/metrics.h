// Metrics in the Prometheus text format (version 0.0.4): counters and histograms with
// labels, every family with HELP and TYPE, base units (seconds, bytes).
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace custos::api {

class Metrics {
 public:
  Metrics();

  void ObserveRequest(std::string_view route, std::string_view method, int status,
                      double seconds);
  void CountNotificationFailed() { notifications_failed_.fetch_add(1); }

  // Gauges read at scrape time (log position, projection lag, …), set by the owner.
  struct Gauges {
    double events_appended = 0;
    double append_groups = 0;
    double projection_lag_events = 0;
    double ready = 0;
  };

  [[nodiscard]] std::string Render(const Gauges& gauges) const;

 private:
  struct Histogram {
    std::vector<uint64_t> buckets;  // cumulative on render
    uint64_t count = 0;
    double sum = 0;
  };
  static const std::vector<double>& Bounds();

  mutable std::mutex mu_;
  std::map<std::string, uint64_t> requests_;  // label string → count
  std::map<std::string, Histogram> durations_;
  std::atomic<uint64_t> notifications_failed_{0};
};

}  // namespace custos::api
