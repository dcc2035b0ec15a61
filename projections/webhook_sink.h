// WebhookSink: a consumer of the log that POSTs every stored event to an HTTP endpoint, for a
// SIEM with no Kafka (`--webhook URL`; docs/webhook.md).
//
// Each POST carries a batch of events in log order (all tenants, by global seq):
//   - format kNdjson: the stored lines themselves, one per line (`application/x-ndjson`);
//   - format kSplunkHec: one Splunk HTTP Event Collector object per event, newline-separated
//     (`{"time", "host", "source": "custos", "sourcetype": "custos:audit", "fields": {"tenant",
//     "type"}, "event": <the stored line>}`), with `Authorization: Splunk <secret>`.
// Headers: `Custos-Signature: sha256=<hex HMAC-SHA256 of the body under the secret>`,
// `Custos-Batch: <first seq>-<last seq>` (the same batch is sent again, byte for byte, until it
// is accepted), and `Content-Type`.
//
// Delivery is at-least-once and in log order; a batch counts as delivered when the endpoint
// answers 2xx. Anything else (no answer, 5xx, 4xx, 429) is retried with a doubling delay
// (from `first_backoff` to `max_backoff`, with jitter); a 413 halves the batch first. The
// sink's cursor (checkpoint `webhook`, which retention never purges past) is the last seq
// delivered, with every seq before it: a restart resumes after it, so the endpoint sees an
// event twice only when an answer was lost, or the process died between an answer and the
// cursor's write. Receivers deduplicate by the events' `id`. The sink only reads the log, on
// a thread of its own: an endpoint away never blocks or slows a write.
//
// A batch the endpoint never accepts (a 4xx for good, an event too large for it) holds delivery
// there, and retention with it: `custos_webhook_failing` says so, and each refusal is logged.
//
// Thread-safety: Start once and Stop from one thread (a sink is not started again: make a new
// one); stats and WaitDelivered from any.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>

#include "core/clock.h"
#include "core/event_log.h"
#include "core/http_poster.h"
#include "core/kv_store.h"
#include "core/result.h"
#include "core/thread_annotations.h"

namespace custos::projections {

// The webhook sink's checkpoint: a purge never removes what it has not delivered.
inline constexpr std::string_view kWebhookCheckpoint = "webhook";

enum class WebhookFormat { kNdjson, kSplunkHec };

struct WebhookOptions {
  WebhookFormat format = WebhookFormat::kNdjson;
  std::string secret;                        // the HMAC key; with kSplunkHec also the HEC token
  std::string host;                          // the HEC events' `host`
  size_t max_batch_events = 500;             // also what is read ahead of the endpoint
  size_t max_batch_bytes = size_t{1} << 20;  // of stored lines; a larger event goes alone
  std::chrono::milliseconds first_backoff{200};
  std::chrono::milliseconds max_backoff{60'000};
};

struct WebhookStats {
  uint64_t cursor = 0;      // the last seq delivered, with all before it
  uint64_t lag_events = 0;  // events appended and not yet delivered
  uint64_t delivered = 0;   // events delivered since start
  uint64_t batches = 0;     // batches accepted since start
  uint64_t failures = 0;    // posts not accepted (no answer, or not 2xx) since start
  bool failing = false;     // the last post was not accepted
};

class WebhookSink {
 public:
  WebhookSink(const core::EventLog& log, core::KvStore& kv, core::HttpPoster& poster,
              const core::Clock& clock, WebhookOptions options);
  ~WebhookSink();
  WebhookSink(const WebhookSink&) = delete;
  WebhookSink& operator=(const WebhookSink&) = delete;

  // Reads the cursor and starts delivering from the event after it.
  [[nodiscard]] core::Status Start();
  // Lets a post in progress have its answer for up to `drain`, then cancels it (its batch is
  // sent again after a restart) and stops.
  void Stop(std::chrono::milliseconds drain = std::chrono::milliseconds(5000));

  [[nodiscard]] WebhookStats stats() const;
  // Waits until the cursor reaches `seq` (kUnavailable when `timeout` passes first).
  [[nodiscard]] core::Status WaitDelivered(core::Seq seq, std::chrono::milliseconds timeout) const;

  // The body and the Custos-Signature value of `lines` (stored lines), as the sink sends them;
  // kCorruption when a line cannot be read (kSplunkHec reads each line's framing).
  struct Batch {
    std::string body;
    std::string signature;  // sha256=<hex>
  };
  [[nodiscard]] static core::Result<Batch> Render(const WebhookOptions& options,
                                                  std::span<const std::string_view> lines);

 private:
  void Run();
  void StoreCursor(uint64_t cursor);
  // Sleeps up to `d`; false when stopping.
  bool Pause(std::chrono::milliseconds d);

  const core::EventLog& log_;
  core::KvStore& kv_;
  core::HttpPoster& poster_;
  const core::Clock& clock_;
  const WebhookOptions options_;

  std::thread thread_;
  mutable core::Mutex mu_;  // guards no data: only the waits on cv_
  mutable std::condition_variable_any cv_;
  std::atomic<bool> stop_{false};
  bool ended_ CUSTOS_GUARDED_BY(mu_) = false;  // Run returned
  std::atomic<uint64_t> cursor_{0};
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> failures_{0};
  std::atomic<bool> failing_{false};
};

}  // namespace custos::projections
