#include "storage/kafka_feed.h"

#include <librdkafka/rdkafka.h>

#include <mutex>

#include "core/json_value.h"
#include "core/log.h"
#include "storage/internal/kafka_log.h"

namespace custos::storage {

struct KafkaFeed::Impl {
  KafkaFeedOptions options;
  rd_kafka_t* rk = nullptr;
  std::atomic<bool>* reachable = nullptr;
  // Per assigned partition: the offset of the next record Poll returns (-2: its beginning, not
  // known yet), and its end as last learnt (the high watermark, -1 when unknown). Under mu.
  mutable std::mutex mu;
  std::map<int32_t, int64_t> next;
  std::map<int32_t, int64_t> ends;
  std::chrono::steady_clock::time_point last_warning{};
  // When a broker last sent anything (statistics' rxidle), steady clock nanoseconds; 0: never.
  std::atomic<int64_t> heard{0};

  ~Impl() {
    if (rk != nullptr) {
      rd_kafka_consumer_close(rk);
      rd_kafka_destroy(rk);
    }
  }

  void Warn(const std::string& what) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_warning < std::chrono::seconds(10)) return;
    last_warning = now;
    core::log::Warn("kafka follower feed error", {{"reason", what}});
  }

  // The statistics' brokers: the least rxidle (microseconds since the last bytes received) of
  // the brokers proper (not the bootstrap entries) is when the consumer last heard from one.
  void HeardFrom(std::string_view stats) {
    core::Result<core::JsonValue> doc = core::ParseJson(stats);
    const core::JsonValue* brokers = doc.ok() && doc->is_object() ? doc->Find("brokers") : nullptr;
    if (brokers == nullptr || !brokers->is_object()) return;
    std::optional<int64_t> idle;
    for (const auto& [name, b] : brokers->members()) {
      const core::JsonValue* node = b.Find("nodeid");
      const core::JsonValue* rx = b.Find("rxidle");
      if (node == nullptr || rx == nullptr || node->AsInt().value_or(-1) < 0) continue;
      const int64_t us = rx->AsInt().value_or(-1);
      if (us >= 0 && (!idle || us < *idle)) idle = us;
    }
    if (!idle) return;
    const auto at = std::chrono::steady_clock::now() - std::chrono::microseconds(*idle);
    heard.store(at.time_since_epoch().count());
  }

  // The ends of the partitions as the consumer last saw them (no broker round trip).
  void RefreshEnds() {
    for (auto& [partition, end] : ends) {
      int64_t low = -1;
      int64_t high = -1;
      if (rd_kafka_get_watermark_offsets(rk, options.topic.c_str(), partition, &low, &high) ==
              RD_KAFKA_RESP_ERR_NO_ERROR &&
          high >= 0) {
        end = high;
        if (next[partition] < 0 && low >= 0) next[partition] = low;
      }
    }
  }
};

KafkaFeed::KafkaFeed(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  impl_->reachable = &reachable_;
}

KafkaFeed::~KafkaFeed() = default;

core::Result<std::unique_ptr<KafkaFeed>> KafkaFeed::Create(KafkaFeedOptions options) {
  if (options.brokers.empty()) return core::InvalidArgument("the follower feed needs brokers");
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  std::vector<std::pair<std::string, std::string>> settings = {
      {"bootstrap.servers", options.brokers},
      {"group.id", options.group},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "true"},
      {"auto.offset.reset", "earliest"},
      {"client.id", "custos-follower"},
      // Replication lag: a fetch the broker holds for more data waits at most this long.
      {"fetch.wait.max.ms", "10"},
      // Brokers that stop answering without closing their connections (a stopped process, a
      // partition of the network) show in the statistics' rxidle long before a socket timeout.
      {"statistics.interval.ms", "1000"},
  };
  for (const auto& p : options.properties) settings.push_back(p);
  for (const auto& [name, value] : settings) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return core::InvalidArgument("kafka property " + name + ": " + errstr);
    }
  }
  internal::RouteKafkaLogs(conf);
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  rd_kafka_conf_set_opaque(conf, impl.get());
  rd_kafka_conf_set_error_cb(conf, [](rd_kafka_t*, int err, const char* reason, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR__TRANSPORT) {
      if (self->reachable != nullptr) self->reachable->store(false);
    }
    if (err != RD_KAFKA_RESP_ERR__TRANSPORT) self->Warn(reason);
  });
  rd_kafka_conf_set_stats_cb(conf, [](rd_kafka_t*, char* json, size_t len, void* opaque) {
    static_cast<Impl*>(opaque)->HeardFrom(std::string_view(json, len));
    return 0;  // librdkafka frees the text
  });
  impl->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (impl->rk == nullptr) return core::InvalidArgument(std::string("kafka consumer: ") + errstr);
  rd_kafka_poll_set_consumer(impl->rk);
  return std::unique_ptr<KafkaFeed>(new KafkaFeed(std::move(impl)));
}

core::Status KafkaFeed::Start(const std::map<int32_t, int64_t>& next) {
  Impl& m = *impl_;
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(m.rk, m.options.topic.c_str(), nullptr);
  if (rkt == nullptr) return core::InvalidArgument("bad topic name " + m.options.topic);
  const rd_kafka_resp_err_t err = rd_kafka_metadata(m.rk, 0, rkt, &md, 5000);
  rd_kafka_topic_destroy(rkt);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    reachable_.store(false);
    return core::Unavailable(std::string("kafka metadata of ") + m.options.topic + ": " +
                             rd_kafka_err2str(err));
  }
  int partitions = 0;
  rd_kafka_resp_err_t topic_err = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
  if (md->topic_cnt == 1) {
    partitions = md->topics[0].partition_cnt;
    topic_err = md->topics[0].err;
  }
  rd_kafka_metadata_destroy(md);
  reachable_.store(true);
  if (topic_err != RD_KAFKA_RESP_ERR_NO_ERROR || partitions == 0) {
    return core::Unavailable("kafka topic " + m.options.topic + ": " + rd_kafka_err2str(topic_err));
  }
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(partitions);
  {
    std::lock_guard lock(m.mu);
    m.next.clear();
    m.ends.clear();
    for (int32_t p = 0; p < partitions; ++p) {
      auto it = next.find(p);
      const int64_t offset = it != next.end() ? it->second : RD_KAFKA_OFFSET_BEGINNING;
      rd_kafka_topic_partition_list_add(parts, m.options.topic.c_str(), p)->offset = offset;
      m.next[p] = offset;
      m.ends[p] = -1;
    }
  }
  rd_kafka_resp_err_t assigned = rd_kafka_assign(m.rk, nullptr);
  if (assigned == RD_KAFKA_RESP_ERR_NO_ERROR) assigned = rd_kafka_assign(m.rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  if (assigned != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return core::Unavailable(std::string("kafka assign: ") + rd_kafka_err2str(assigned));
  }
  return core::OkStatus();
}

core::Result<std::vector<core::FeedRecord>> KafkaFeed::Poll(size_t max,
                                                            std::chrono::milliseconds timeout) {
  Impl& m = *impl_;
  std::vector<core::FeedRecord> out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.size() < max) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    // After the first record, only what has already arrived.
    const int wait = out.empty() ? static_cast<int>(std::max<int64_t>(0, left.count())) : 0;
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(m.rk, wait);
    if (msg == nullptr) {
      if (!out.empty() || std::chrono::steady_clock::now() >= deadline) break;
      continue;
    }
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      reachable_.store(true);
      core::FeedRecord r;
      r.partition = msg->partition;
      r.offset = msg->offset;
      if (msg->key != nullptr) r.key.assign(static_cast<const char*>(msg->key), msg->key_len);
      if (msg->payload != nullptr) {
        r.value.assign(static_cast<const char*>(msg->payload), msg->len);
      }
      rd_kafka_headers_t* headers = nullptr;
      const void* mac = nullptr;
      size_t mac_size = 0;
      if (rd_kafka_message_headers(msg, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
          rd_kafka_header_get_last(headers, std::string(core::kRecordMacHeader).c_str(), &mac,
                                   &mac_size) == RD_KAFKA_RESP_ERR_NO_ERROR &&
          mac != nullptr) {
        r.mac.assign(static_cast<const char*>(mac), std::min<size_t>(mac_size, 128));
      }
      {
        std::lock_guard lock(m.mu);
        m.next[r.partition] = r.offset + 1;
      }
      out.push_back(std::move(r));
    } else if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      reachable_.store(true);
      std::lock_guard lock(m.mu);
      m.next[msg->partition] = msg->offset;
      m.ends[msg->partition] = msg->offset;
    } else {
      const std::string reason = rd_kafka_message_errstr(msg);
      rd_kafka_message_destroy(msg);
      if (rd_kafka_fatal_error(m.rk, nullptr, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return core::Unavailable("kafka consumer: " + reason);
      }
      m.Warn(reason);
      break;
    }
    rd_kafka_message_destroy(msg);
  }
  std::lock_guard lock(m.mu);
  m.RefreshEnds();
  return out;
}

bool KafkaFeed::Reachable() const {
  if (!reachable_.load()) return false;
  const int64_t heard = impl_->heard.load();
  if (heard == 0) return true;  // no statistics yet
  const auto since = std::chrono::steady_clock::now().time_since_epoch() -
                     std::chrono::steady_clock::duration(heard);
  return since < std::chrono::seconds(3);
}

std::optional<uint64_t> KafkaFeed::Lag() const {
  std::lock_guard lock(impl_->mu);
  uint64_t lag = 0;
  for (const auto& [partition, end] : impl_->ends) {
    auto it = impl_->next.find(partition);
    if (end < 0 || it == impl_->next.end() || it->second < 0) return std::nullopt;
    if (end > it->second) lag += static_cast<uint64_t>(end - it->second);
  }
  return lag;
}

}  // namespace custos::storage
