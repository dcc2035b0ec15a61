#include "projections/webhook_sink.h"

#include <pthread.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <random>
#include <vector>

#include "core/event.h"
#include "core/json_writer.h"
#include "core/log.h"
#include "core/sha256.h"

namespace custos::projections {

namespace {

constexpr std::chrono::milliseconds kIdleWait{200};
constexpr std::string_view kNdjsonType = "application/x-ndjson";
constexpr std::string_view kHecType = "application/json";

// "1700000000.123": HEC's `time`, seconds since the epoch with the milliseconds.
std::string EpochSeconds(core::Time t) {
  const int64_t ms = core::ToUnixMillis(t);
  char out[32];
  std::snprintf(out, sizeof out, "%" PRId64 ".%03" PRId64, ms / 1000, ms % 1000);
  return out;
}

}  // namespace

WebhookSink::WebhookSink(const core::EventLog& log, core::KvStore& kv, core::HttpPoster& poster,
                         const core::Clock& clock, WebhookOptions options)
    : log_(log), kv_(kv), poster_(poster), clock_(clock), options_(std::move(options)) {}

WebhookSink::~WebhookSink() { Stop(std::chrono::milliseconds(0)); }

core::Result<WebhookSink::Batch> WebhookSink::Render(const WebhookOptions& options,
                                                     std::span<const std::string_view> lines) {
  Batch out;
  if (options.format == WebhookFormat::kNdjson) {
    size_t size = 0;
    for (std::string_view line : lines) size += line.size() + 1;
    out.body.reserve(size);
    for (std::string_view line : lines) {
      out.body.append(line);
      out.body.push_back('\n');
    }
  } else {
    for (std::string_view line : lines) {
      CUSTOS_ASSIGN_OR_RETURN(core::LineFields f, core::ParseLineFields(line));
      core::JsonWriter w;
      w.BeginObject().Key("time").Raw(EpochSeconds(f.time));
      if (!options.host.empty()) w.Key("host").String(options.host);
      w.Key("source").String("custos").Key("sourcetype").String("custos:audit");
      w.Key("fields").BeginObject().Key("tenant").String(f.tenant).Key("type").String(f.type);
      w.EndObject().Key("event").Raw(line).EndObject();
      out.body.append(w.str());
      out.body.push_back('\n');
    }
  }
  out.signature = "sha256=" + core::DigestHex(core::HmacSha256(options.secret, out.body));
  return out;
}

core::Status WebhookSink::Start() {
  CUSTOS_ASSIGN_OR_RETURN(std::optional<core::Seq> cursor, kv_.GetCheckpoint(kWebhookCheckpoint));
  cursor_ = cursor ? cursor->value() : 0;
  stop_ = false;
  {
    core::MutexLock lock(mu_);
    ended_ = false;
  }
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "custos-webhook");
    Run();
    core::MutexLock lock(mu_);
    ended_ = true;
    cv_.notify_all();
  });
  return core::OkStatus();
}

void WebhookSink::Stop(std::chrono::milliseconds drain) {
  if (!thread_.joinable()) return;
  {
    core::MutexLock lock(mu_);
    stop_ = true;
    cv_.notify_all();
    // The receiver may be taking the batch in: its answer is worth waiting for, as a batch
    // cut off now is sent again after the restart.
    cv_.wait_for(lock, drain, [this]() CUSTOS_REQUIRES(mu_) { return ended_; });
  }
  poster_.Cancel();
  thread_.join();
}

WebhookStats WebhookSink::stats() const {
  WebhookStats s;
  s.cursor = cursor_.load();
  const uint64_t last = log_.LastSeq().value();
  s.lag_events = last > s.cursor ? last - s.cursor : 0;
  s.delivered = delivered_.load();
  s.batches = batches_.load();
  s.failures = failures_.load();
  s.failing = failing_.load();
  return s;
}

core::Status WebhookSink::WaitDelivered(core::Seq seq, std::chrono::milliseconds timeout) const {
  core::MutexLock lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return cursor_.load() >= seq.value(); })) {
    return core::Unavailable("the webhook sink has delivered up to seq " +
                             std::to_string(cursor_.load()) + ", not " +
                             std::to_string(seq.value()));
  }
  return core::OkStatus();
}

void WebhookSink::StoreCursor(uint64_t cursor) {
  core::KvBatch batch;
  batch.SetCheckpoint(kWebhookCheckpoint, core::Seq(cursor));
  // Not synced: a cursor lost to a power cut only sends some events again.
  core::Status s = kv_.Write(batch, core::Durability::kNoSync);
  if (!s.ok()) {
    core::log::Error("storing the webhook sink's cursor failed", {{"error", s.error().ToString()}});
  }
}

bool WebhookSink::Pause(std::chrono::milliseconds d) {
  core::MutexLock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stop_.load(); });
}

void WebhookSink::Run() {
  uint64_t cursor = cursor_.load();
  std::vector<core::StoredEvent> events;  // read and not yet delivered, in seq order
  size_t in_body = 0;                     // how many of them the batch being sent holds
  Batch batch;
  std::chrono::milliseconds backoff = options_.first_backoff;
  size_t read_limit = options_.max_batch_events;  // halved by each 413, until a restart
  bool gap_reported = false;
  std::minstd_rand jitter(
      static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
  const std::string_view content_type =
      options_.format == WebhookFormat::kNdjson ? kNdjsonType : kHecType;
  const std::string authorization = "Splunk " + options_.secret;
  // The delay after a failure: the backoff, ±25%, doubling up to the most.
  auto fail_pause = [&] {
    const auto base = backoff.count();
    const auto spread = std::max<int64_t>(1, base / 2);
    const auto d =
        std::chrono::milliseconds(base - spread / 2 + static_cast<int64_t>(jitter() % spread));
    backoff = std::min(options_.max_backoff, backoff * 2);
    return Pause(d);
  };

  while (!stop_) {
    if (events.empty()) {
      core::Result<std::vector<core::StoredEvent>> read =
          log_.Read(core::Seq(cursor + 1), read_limit);
      if (!read.ok()) {
        core::log::Error("the webhook sink cannot read the log",
                         {{"error", read.error().ToString()}});
        if (!fail_pause()) break;
        continue;
      }
      if (read->empty()) {
        (void)log_.WaitForAppend(core::Seq(std::max(cursor, log_.LastSeq().value())), kIdleWait);
        continue;
      }
      events = std::move(read).value();
      in_body = 0;
      if (cursor != 0 && events.front().seq.value() > cursor + 1 && !gap_reported) {
        // Retention never passes the cursor while the sink is on: these were purged while it
        // was off.
        gap_reported = true;
        core::log::Warn("the webhook sink resumes past events purged while it was off",
                        {{"after_seq", std::to_string(cursor)},
                         {"next_seq", std::to_string(events.front().seq.value())}});
      }
    }
    if (in_body == 0) {
      // As many as fit the byte bound, and at least one.
      size_t bytes = 0;
      in_body = 0;
      while (in_body < events.size() &&
             (in_body == 0 || bytes + events[in_body].line.size() <= options_.max_batch_bytes)) {
        bytes += events[in_body].line.size() + 1;
        ++in_body;
      }
      std::vector<std::string_view> lines;
      lines.reserve(in_body);
      for (size_t i = 0; i < in_body; ++i) lines.push_back(events[i].line);
      core::Result<Batch> rendered = Render(options_, lines);
      if (!rendered.ok()) {
        // A line the log cannot read is damage for `custos verify` to name; the sink stops
        // there rather than skip an event.
        failing_ = true;
        core::log::Error("the webhook sink stopped at an event it cannot read",
                         {{"error", rendered.error().ToString()}});
        while (Pause(options_.max_backoff)) {
        }
        break;
      }
      batch = std::move(rendered).value();
    }
    const std::string range = std::to_string(events.front().seq.value()) + "-" +
                              std::to_string(events[in_body - 1].seq.value());
    std::vector<core::MessageHeader> headers = {{"Content-Type", content_type},
                                                {"Custos-Signature", batch.signature},
                                                {"Custos-Batch", range}};
    if (options_.format == WebhookFormat::kSplunkHec) {
      headers.push_back({"Authorization", authorization});
    }
    // A post cancelled by Stop fails; one answered 2xx meanwhile still moves the cursor.
    core::Result<core::HttpAnswer> answer = poster_.Post(batch.body, headers);
    if (answer.ok() && answer->status >= 200 && answer->status < 300) {
      cursor = events[in_body - 1].seq.value();
      StoreCursor(cursor);
      {
        core::MutexLock lock(mu_);
        cursor_ = cursor;
      }
      cv_.notify_all();
      delivered_.fetch_add(in_body);
      batches_.fetch_add(1);
      if (failing_.exchange(false)) {
        core::log::Info("the webhook endpoint accepts batches again", {{"batch", range}});
      }
      events.erase(events.begin(), events.begin() + static_cast<ptrdiff_t>(in_body));
      in_body = 0;
      backoff = options_.first_backoff;
      continue;
    }
    if (stop_) break;  // cancelled: sent again after a restart
    failures_.fetch_add(1);
    failing_ = true;
    if (answer.ok() && answer->status == 413 && in_body == 1) {
      core::log::Error(
          "the webhook endpoint refuses a single event as too large (413): delivery, and "
          "retention with it, waits until the endpoint takes it",
          {{"batch", range}, {"bytes", std::to_string(batch.body.size())}});
    } else if (answer.ok() && answer->status == 413) {
      // Too large for the endpoint: the first half, at once, and no larger batches after.
      read_limit = std::max<size_t>(1, in_body / 2);
      in_body = 0;
      events.resize(read_limit);
      core::log::Warn("the webhook endpoint refused a batch as too large (413); sending half",
                      {{"batch", range}});
      continue;
    }
    core::log::Warn("the webhook endpoint did not accept a batch; it is sent again after a pause",
                    {{"batch", range},
                     {"status", answer.ok() ? std::to_string(answer->status) : std::string("none")},
                     {"error", answer.ok() ? answer->body_head : answer.error().message},
                     {"retry_in_ms", std::to_string(backoff.count())}});
    if (!fail_pause()) break;
  }
}

}  // namespace custos::projections
