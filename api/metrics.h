// Metrics in the Prometheus text format (version 0.0.4): counters and histograms with
// labels, every family with HELP and TYPE, base units (seconds, bytes).
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/histogram.h"

namespace custos::api {

class Metrics {
 public:
  Metrics();

  // Registers a route's labels once; ObserveRequest then counts by the returned id.
  size_t RegisterRoute(std::string_view route, std::string_view method);
  void ObserveRequest(size_t route_id, int status, double seconds);

  // Gauges read at scrape time (log position, projection lag, …), set by the owner.
  struct Gauges {
    double events_appended = 0;
    double append_groups = 0;
    double projection_lag_events = 0;
    double ready = 0;
    // Tenants whose identity state is not in memory yet (loaded on first use or by the warmer).
    double state_tenants_unloaded = 0;
    double state_tenants_failed = 0;  // of those, the ones whose records did not load
    // The Kafka relay and notifier (0 with Kafka off).
    double kafka_lag_events = 0;
    double kafka_lag_seconds = 0;
    double kafka_delivered = 0;
    double kafka_resends = 0;
    double kafka_reachable = 0;
    double notifications_sent = 0;
    double notifications_failed = 0;
    // The webhook sink (0 without --webhook).
    double webhook_lag_events = 0;
    double webhook_delivered = 0;
    double webhook_failures = 0;
    double webhook_failing = 0;
    // The SMTP mailer (0 without --smtp).
    double mail_sent = 0;
    double mail_retries = 0;
    double mail_failed = 0;
    double mail_queued = 0;
    // The log's synced writes: events in each, and the time each took (fsync included).
    core::Histogram::Snapshot append_batch_events;
    core::Histogram::Snapshot append_sync_seconds;
    // A follower (0 on a leader): the leader's seq applied, records of the topic not read yet,
    // the age of the last applied event while lagging, tenants halted, brokers answering.
    double follower = 0;
    double follower_applied_seq = 0;
    double follower_lag_events = 0;
    double follower_lag_seconds = 0;
    double follower_halted_tenants = 0;
    double follower_reachable = 0;
    double follower_unauthenticated = 0;
    double follower_redirects = 0;
    double follower_halted_answers = 0;
    double follower_min_seq_waits = 0;
    double follower_min_seq_timeouts = 0;
    double follower_min_seq_refused = 0;
    // Retention since start.
    double retention_purges = 0;
    double retention_purged_events = 0;
    double retention_failures = 0;
  };

  [[nodiscard]] std::string Render(const Gauges& gauges) const;

 private:
  static constexpr size_t kBuckets = 16;
  // One route's counters: answers by status class and exact status, and the latency
  // histogram; a mutex of its own keeps routes from contending.
  struct Route {
    std::string labels;  // route="…",method="…"
    std::mutex mu;
    std::map<int, uint64_t> by_status;
    uint64_t buckets[kBuckets] = {};
    uint64_t count = 0;
    double sum = 0;
  };
  static const std::vector<double>& Bounds();

  mutable std::mutex mu_;  // guards routes_ (the vector, not the routes)
  std::vector<std::unique_ptr<Route>> routes_;
};

}  // namespace custos::api
