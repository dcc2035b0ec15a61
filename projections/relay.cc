#include "projections/relay.h"

#include <pthread.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <string_view>
#include <system_error>
#include <thread>

#include "core/audit_formats.h"
#include "core/event.h"
#include "core/line_feed.h"
#include "core/log.h"

namespace custos::projections {

namespace {

// The consumer name retention reads (retention.h kRelayCheckpoint).
constexpr std::string_view kCheckpoint = "kafka";
constexpr size_t kReadBatch = 2048;
// Pages at least this long are rendered on a thread of their own, overlapping the log reads
// and the sends; shorter ones (a relay keeping up with live writes) inline.
constexpr size_t kRenderAsideFrom = 64;
constexpr std::chrono::milliseconds kCursorWriteEvery{10};
constexpr std::chrono::milliseconds kIdleWait{100};
constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};

// `schema` header values: the envelope's schema version, and the OCSF version.
constexpr std::string_view kAuditSchema = "custos.event.1";
constexpr std::string_view kOcsfSchema = "ocsf.1.3.0";

// One thread that runs the tasks given to it in order: the relay's renderer. A thread made
// once, rather than one per page, keeps thread start-up and a fresh malloc arena per page off
// the path.
class TaskThread {
 public:
  // False when no thread can be had (the caller runs its tasks itself).
  bool Start() {
    try {
      thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "custos-render");
        Loop();
      });
    } catch (const std::system_error&) {
      return false;
    }
    return true;
  }
  ~TaskThread() {
    if (!thread_.joinable()) return;
    {
      core::MutexLock lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  [[nodiscard]] bool running() const { return thread_.joinable(); }
  std::future<void> Submit(std::function<void()> fn) {
    std::packaged_task<void()> task(std::move(fn));
    std::future<void> done = task.get_future();
    {
      core::MutexLock lock(mu_);
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
    return done;
  }

 private:
  void Loop() {
    while (true) {
      std::packaged_task<void()> task;
      {
        core::MutexLock lock(mu_);
        cv_.wait(lock, [this]() CUSTOS_REQUIRES(mu_) { return stop_ || !tasks_.empty(); });
        if (tasks_.empty()) return;  // stopping, and nothing left to run
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }
  core::Mutex mu_;
  std::condition_variable_any cv_;
  std::deque<std::packaged_task<void()>> tasks_ CUSTOS_GUARDED_BY(mu_);
  bool stop_ CUSTOS_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace

Relay::Relay(const core::EventLog& log, core::KvStore& kv, core::Publisher& publisher,
             const core::Clock& clock, RelayOptions options)
    : log_(log), kv_(kv), publisher_(publisher), clock_(clock), options_(std::move(options)) {}

Relay::~Relay() { Stop(std::chrono::milliseconds(0)); }

core::Status Relay::Start() {
  CUSTOS_ASSIGN_OR_RETURN(std::optional<core::Seq> cursor, kv_.GetCheckpoint(kCheckpoint));
  cursor_ = cursor && !options_.from_start ? cursor->value() : 0;
  stop_ = false;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "custos-relay");
    Run();
  });
  return core::OkStatus();
}

void Relay::Stop(std::chrono::milliseconds drain) {
  if (!thread_.joinable()) return;
  drain_ = drain;
  {
    core::MutexLock lock(mu_);
    stop_ = true;
  }
  delivered_cv_.notify_all();
  thread_.join();
}

void Relay::StoreCursor(uint64_t cursor) {
  core::KvBatch batch;
  batch.SetCheckpoint(kCheckpoint, core::Seq(cursor));
  // Not synced: a cursor lost to a power cut only sends some events again.
  core::Status s = kv_.Write(batch, core::Durability::kNoSync);
  if (!s.ok()) {
    core::log::Error("storing the Kafka relay's cursor failed", {{"error", s.error().ToString()}});
  }
}

void Relay::RecordLag(int64_t ms) {
  const size_t bucket = static_cast<size_t>(std::clamp<int64_t>(ms, 0, kLagBuckets - 1));
  lag_ms_[bucket].fetch_add(1, std::memory_order_relaxed);
}

double Relay::LagPercentileMs(double p) const {
  uint64_t total = 0;
  for (const auto& b : lag_ms_) total += b.load(std::memory_order_relaxed);
  if (total == 0) return 0;
  const auto rank = static_cast<uint64_t>(std::ceil(p * static_cast<double>(total)));
  uint64_t seen = 0;
  for (size_t i = 0; i < kLagBuckets; ++i) {
    seen += lag_ms_[i].load(std::memory_order_relaxed);
    if (seen >= rank) return static_cast<double>(i);
  }
  return static_cast<double>(kLagBuckets - 1);
}

void Relay::ResetLag() {
  for (auto& b : lag_ms_) b.store(0, std::memory_order_relaxed);
}

RelayStats Relay::stats() const {
  RelayStats s;
  s.cursor = cursor_.load();
  const uint64_t last = log_.LastSeq().value();
  s.lag_events = last > s.cursor ? last - s.cursor : 0;
  const int64_t oldest = oldest_pending_ms_.load();
  if (s.lag_events > 0 && oldest > 0) {
    s.lag_seconds =
        std::max<double>(0, static_cast<double>(core::ToUnixMillis(clock_.Now()) - oldest) / 1e3);
  }
  s.delivered = delivered_.load();
  s.resends = resends_.load();
  s.reachable = publisher_.Reachable();
  return s;
}

core::Status Relay::WaitDelivered(core::Seq seq, std::chrono::milliseconds timeout) const {
  core::MutexLock lock(mu_);
  if (!delivered_cv_.wait_for(lock, timeout, [&] { return cursor_.load() >= seq.value(); })) {
    return core::Unavailable("the Kafka relay has delivered up to seq " +
                             std::to_string(cursor_.load()) + ", not " +
                             std::to_string(seq.value()));
  }
  return core::OkStatus();
}

void Relay::Run() {
  uint64_t cursor = cursor_.load();
  uint64_t stored = cursor;
  uint64_t next = cursor + 1;
  // Events sent and not yet acknowledged, in seq order; an event's token is its slot.
  std::deque<Pending> window;
  uint64_t base_slot = 0;  // the slot of window.front()
  bool failed = false;
  std::string failure;
  bool halted = false;  // at an event it cannot read: delivers what is in flight, then waits
  const size_t min_room = std::max<size_t>(1, std::min(kReadBatch, options_.max_in_flight / 4));
  std::chrono::milliseconds backoff = kFirstBackoff;
  auto last_store = std::chrono::steady_clock::now();

  const core::Publisher::DeliveryFn on_delivery = [&](uint64_t token, const core::Status& s) {
    if (token < base_slot || token - base_slot >= window.size()) return;  // from before a reset
    Pending& p = window[token - base_slot];
    if (!s.ok()) {
      if (!failed) failure = s.error().message;
      failed = true;
      return;
    }
    if (--p.remaining == 0) RecordLag(core::ToUnixMillis(clock_.Now()) - p.time_ms);
  };

  // Sends one message, waiting for room in the producer's queue; false when it cannot.
  auto send = [&](const core::OutgoingMessage& m, uint64_t token) {
    while (true) {
      core::Status s = publisher_.Send(m, token);
      if (s.ok()) return true;
      if (s.error().code != core::Errc::kUnavailable || stop_) {
        if (!failed) failure = s.error().message;
        failed = true;
        return false;
      }
      publisher_.Poll(std::chrono::milliseconds(10), on_delivery);
      if (failed) return false;
    }
  };

  // Pages read from the log and being rendered: reading the next page and rendering the
  // OCSF records of this one overlap, and so do sending a page and rendering the next.
  std::deque<std::unique_ptr<Page>> staged;
  TaskThread renderer;  // started by the first long page
  size_t staged_events = 0;
  uint64_t read_next = next;
  auto drop_staged = [&] {
    for (auto& page : staged) {
      if (page->rendering.valid()) page->rendering.wait();
    }
    staged.clear();
    staged_events = 0;
  };

  std::optional<std::chrono::steady_clock::time_point> stop_by;
  while (true) {
    if (stop_ && !stop_by) stop_by = std::chrono::steady_clock::now() + drain_;
    if (stop_by && (window.empty() || std::chrono::steady_clock::now() >= *stop_by)) break;

    // Read ahead what the log holds beyond what is in flight, up to two pages.
    bool read_more = false;
    const size_t busy = window.size() + staged_events;
    // A page is read once a quarter of the window (at most a page) is free: a window kept
    // full by reads of the few slots each poll frees would pay a read's fixed cost (a
    // snapshot, an iterator, a MultiGet) per handful of events.
    const size_t room = options_.max_in_flight > busy ? options_.max_in_flight - busy : 0;
    if (!stop_ && !failed && !halted && staged.size() < 2 && room >= min_room) {
      core::Result<std::vector<core::StoredEvent>> events =
          log_.Read(core::Seq(read_next), std::min(kReadBatch, room));
      if (!events.ok()) {
        failure = events.error().message;
        failed = true;
      } else if (!events->empty()) {
        auto page = std::make_unique<Page>();
        page->events = std::move(events).value();
        read_next = page->events.back().seq.value() + 1;
        staged_events += page->events.size();
        Page* raw = page.get();
        // A long page goes to the render thread (started by the first one); with no thread
        // to be had, it is rendered here.
        if (raw->events.size() >= kRenderAsideFrom && (renderer.running() || renderer.Start())) {
          raw->rendering = renderer.Submit([this, raw] { Render(*raw); });
        } else {
          Render(*raw);
        }
        staged.push_back(std::move(page));
        read_more = true;
      }
    }

    // Send the oldest page once the next one is read (or there is none to read).
    bool sent = false;
    if (!failed && !halted && !staged.empty() && (staged.size() == 2 || !read_more)) {
      Page& page = *staged.front();
      if (page.rendering.valid()) page.rendering.get();
      for (size_t i = 0; i < page.events.size(); ++i) {
        const core::StoredEvent& e = page.events[i];
        const Rendered& r = page.rendered[i];
        if (!r.error.empty()) {
          // A line the log cannot read is damage for `custos verify` to name; the relay
          // stops there rather than skip an event: what is in flight is still delivered.
          failure = "seq " + std::to_string(e.seq.value()) + ": " + r.error;
          halted = true;
          break;
        }
        const uint64_t slot = base_slot + window.size();
        window.push_back(Pending{e.seq.value(), r.time_ms, 2});
        if (window.size() == 1) oldest_pending_ms_ = window.front().time_ms;
        const core::MessageHeader audit_headers[] = {{"type", r.type},
                                                     {"tenant", e.tenant.value()},
                                                     {"schema", kAuditSchema},
                                                     {core::kRecordMacHeader, r.mac}};
        const size_t audit_header_count = r.mac.empty() ? 3 : 4;
        const core::MessageHeader ocsf_headers[] = {
            {"type", r.type}, {"tenant", e.tenant.value()}, {"schema", kOcsfSchema}};
        if (!send({options_.audit_topic, e.tenant.value(), e.line,
                   std::span(audit_headers, audit_header_count)},
                  slot) ||
            !send({options_.ocsf_topic, e.tenant.value(), r.ocsf, ocsf_headers}, slot)) {
          break;
        }
        next = e.seq.value() + 1;
        sent = true;
      }
      if (!failed && !halted) {
        staged_events -= page.events.size();
        staged.pop_front();
      }
    }

    publisher_.Poll(
        sent || window.empty() ? std::chrono::milliseconds(0) : std::chrono::milliseconds(1),
        on_delivery);

    // Move the cursor over the events delivered, contiguously.
    uint64_t popped = 0;
    while (!window.empty() && window.front().remaining == 0) {
      cursor = window.front().seq;
      window.pop_front();
      ++base_slot;
      ++popped;
    }
    if (popped > 0) {
      delivered_.fetch_add(popped);
      backoff = kFirstBackoff;
      {
        core::MutexLock lock(mu_);
        cursor_ = cursor;
      }
      delivered_cv_.notify_all();
      oldest_pending_ms_ = window.empty() ? 0 : window.front().time_ms;
    }
    const auto now = std::chrono::steady_clock::now();
    if (cursor != stored && (window.empty() || now - last_store >= kCursorWriteEvery)) {
      StoreCursor(cursor);
      stored = cursor;
      last_store = now;
    }

    if (failed) {
      core::log::Warn("Kafka delivery failed; sending again from the cursor",
                      {{"error", failure},
                       {"from_seq", std::to_string(cursor + 1)},
                       {"backoff_ms", std::to_string(backoff.count())}});
      drop_staged();
      publisher_.Reset(on_delivery);
      base_slot += window.size();
      window.clear();
      oldest_pending_ms_ = 0;
      next = cursor + 1;
      read_next = next;
      failed = false;
      resends_.fetch_add(1);
      core::MutexLock lock(mu_);
      delivered_cv_.wait_for(lock, backoff, [this] { return stop_.load(); });
      backoff = std::min(backoff * 2, kMaxBackoff);
      continue;
    }
    if (halted && window.empty()) {
      core::log::Error("the Kafka relay stopped; trying again",
                       {{"error", failure}, {"backoff_ms", std::to_string(kMaxBackoff.count())}});
      drop_staged();
      next = cursor + 1;
      read_next = next;
      halted = false;
      core::MutexLock lock(mu_);
      delivered_cv_.wait_for(lock, kMaxBackoff, [this] { return stop_.load(); });
      continue;
    }
    if (!sent && window.empty() && staged.empty() && !stop_) {
      (void)log_.WaitForAppend(core::Seq(read_next - 1), kIdleWait);
    }
  }
  drop_staged();
  if (cursor != stored) StoreCursor(cursor);
}

void Relay::Render(Page& page) const {
  page.rendered.resize(page.events.size());
  size_t i = 0;
  try {
    RenderFrom(page, i);
  } catch (const std::exception& e) {
    // Out of memory and the like: this event and the rest wait for the next attempt.
    for (; i < page.events.size(); ++i) page.rendered[i].error = e.what();
  }
}

void Relay::RenderFrom(Page& page, size_t& i) const {
  for (; i < page.events.size(); ++i) {
    const std::string& line = page.events[i].line;
    Rendered& r = page.rendered[i];
    core::Result<core::LineFields> f = core::ParseLineFields(line);
    core::Result<std::string> record =
        f.ok() ? core::AuditOcsfRecord(line, *f, options_.product_version)
               : core::Result<std::string>(f.error());
    if (!record.ok()) {
      r.error = record.error().message;
      continue;
    }
    r.type = f->type;
    r.time_ms = core::ToUnixMillis(f->time);
    r.ocsf = std::move(record).value();
    if (!options_.replication_key.empty()) {
      r.mac = core::RecordMac(options_.replication_key, page.events[i].tenant.value(), line);
    }
  }
}

}  // namespace custos::projections
