#include "storage/kafka_producer.h"

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <map>
#include <thread>

#include "core/log.h"
#include "storage/internal/kafka_log.h"

namespace custos::storage {

namespace {

using Clock = std::chrono::steady_clock;

void SetProperty(rd_kafka_conf_t* conf, const std::string& name, const std::string& value,
                 std::string& error) {
  if (!error.empty()) return;
  char errstr[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof errstr) !=
      RD_KAFKA_CONF_OK) {
    error = "kafka property " + name + ": " + errstr;
  }
}

// A producer configuration both producers share: idempotent, compressed, no message timeout
// (a message waits for the brokers as long as the process lives).
core::Result<rd_kafka_conf_t*> ProducerConf(const KafkaOptions& o) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::string error;
  SetProperty(conf, "bootstrap.servers", o.brokers, error);
  SetProperty(conf, "enable.idempotence", "true", error);
  SetProperty(conf, "acks", "all", error);
  SetProperty(conf, "compression.type", o.compression, error);
  SetProperty(conf, "linger.ms", std::to_string(o.linger_ms), error);
  SetProperty(conf, "message.timeout.ms", "0", error);
  SetProperty(conf, "queue.buffering.max.messages", std::to_string(o.queue_messages), error);
  SetProperty(conf, "queue.buffering.max.kbytes", "1048576", error);
  // A broker that returns is used again within half a second (the default backs off to 10 s).
  SetProperty(conf, "reconnect.backoff.max.ms", "500", error);
  SetProperty(conf, "log_level", "3", error);
  internal::RouteKafkaLogs(conf);
  for (const auto& [name, value] : o.properties) SetProperty(conf, name, value, error);
  if (!error.empty()) {
    rd_kafka_conf_destroy(conf);
    return core::InvalidArgument(error);
  }
  return conf;
}

// What the producers' guarantee rests on: no override from the command line.
constexpr std::string_view kFixedProperties[] = {"bootstrap.servers",
                                                 "metadata.broker.list",
                                                 "enable.idempotence",
                                                 "acks",
                                                 "request.required.acks",
                                                 "message.timeout.ms",
                                                 "delivery.timeout.ms",
                                                 "enable.gapless.guarantee",
                                                 "max.in.flight.requests.per.connection",
                                                 "max.in.flight",
                                                 "message.send.max.retries",
                                                 "retries",
                                                 "queue.buffering.max.messages",
                                                 "queue.buffering.max.kbytes",
                                                 "transactional.id"};

// Makes a producer from `conf` (consumed either way).
core::Result<rd_kafka_t*> NewProducer(rd_kafka_conf_t* conf) {
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return core::InvalidArgument(std::string("kafka producer: ") + errstr);
  }
  return rk;
}

core::Status ProduceError(rd_kafka_resp_err_t err, std::string_view topic) {
  if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
    return core::Unavailable("the Kafka producer queue is full");
  return core::Internal("producing to " + std::string(topic) + ": " + rd_kafka_err2str(err));
}

// Headers in librdkafka's form; owned by the message once produced.
rd_kafka_headers_t* MakeHeaders(std::span<const core::MessageHeader> headers) {
  if (headers.empty()) return nullptr;
  rd_kafka_headers_t* h = rd_kafka_headers_new(headers.size());
  for (const core::MessageHeader& x : headers) {
    rd_kafka_header_add(h, x.name.data(), static_cast<ssize_t>(x.name.size()), x.value.data(),
                        static_cast<ssize_t>(x.value.size()));
  }
  return h;
}

}  // namespace

core::Status CheckKafkaProperty(const std::string& name, const std::string& value) {
  for (std::string_view fixed : kFixedProperties) {
    if (name == fixed) {
      return core::InvalidArgument("kafka property " + name +
                                   " is set by Custos itself (--kafka for the brokers; the rest "
                                   "keeps every acknowledged event delivered once, in order)");
    }
  }
  // A tenant's records stay on one partition, in order: only partitioners of the key.
  if ((name == "partitioner" || name == "topic.partitioner") && value == "random") {
    return core::InvalidArgument("kafka property " + name +
                                 "=random would scatter a tenant's records over partitions, out "
                                 "of order; use one of the key (murmur2_random, "
                                 "consistent_random, fnv1a_random, …)");
  }
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::string error;
  SetProperty(conf, name, value, error);
  rd_kafka_conf_destroy(conf);
  if (!error.empty()) return core::InvalidArgument(error);
  return core::OkStatus();
}

// ---- KafkaPublisher ----

struct KafkaPublisher::Impl {
  KafkaOptions options;
  rd_kafka_t* rk = nullptr;
  std::map<std::string, rd_kafka_topic_t*, std::less<>> topics;
  const DeliveryFn* on_delivery = nullptr;  // set while Poll or Reset serves reports
  std::atomic<bool>* reachable = nullptr;
  Clock::time_point next_probe{};

  ~Impl() { Close(); }

  void Close() {
    if (rk == nullptr) return;
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(rk, 1000);
    for (auto& [name, topic] : topics) rd_kafka_topic_destroy(topic);
    topics.clear();
    rd_kafka_destroy(rk);
    rk = nullptr;
  }

  core::Status Open() {
    CUSTOS_ASSIGN_OR_RETURN(rd_kafka_conf_t * conf, ProducerConf(options));
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
      auto* self = static_cast<Impl*>(opaque);
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) self->reachable->store(true);
      if (self->on_delivery == nullptr) return;
      const auto token = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(m->_private));
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        (*self->on_delivery)(token, core::OkStatus());
      } else {
        (*self->on_delivery)(
            token, core::Unavailable(std::string("delivery to ") + rd_kafka_topic_name(m->rkt) +
                                     ": " + rd_kafka_err2str(m->err)));
      }
    });
    rd_kafka_conf_set_error_cb(conf, [](rd_kafka_t*, int err, const char* reason, void* opaque) {
      auto* self = static_cast<Impl*>(opaque);
      if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR__TRANSPORT) {
        self->reachable->store(false);
      }
      if (err != RD_KAFKA_RESP_ERR__TRANSPORT) {
        core::log::Warn("kafka producer error", {{"reason", reason}});
      }
    });
    CUSTOS_ASSIGN_OR_RETURN(rk, NewProducer(conf));
    return core::OkStatus();
  }

  rd_kafka_topic_t* Topic(std::string_view name) {
    auto it = topics.find(name);
    if (it != topics.end()) return it->second;
    rd_kafka_topic_t* t = rd_kafka_topic_new(rk, std::string(name).c_str(), nullptr);
    if (t == nullptr) return nullptr;
    topics.emplace(std::string(name), t);
    return t;
  }

  // While no broker answers, asks for the cluster's metadata now and then: a broker that
  // returns with nothing to deliver is seen too.
  void Probe() {
    if (reachable->load() || Clock::now() < next_probe) return;
    next_probe = Clock::now() + std::chrono::seconds(1);
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(rk, 0, nullptr, &md, 100) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      reachable->store(md->broker_cnt > 0);
      rd_kafka_metadata_destroy(md);
    }
  }
};

KafkaPublisher::KafkaPublisher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  impl_->reachable = &reachable_;
}

KafkaPublisher::~KafkaPublisher() = default;

core::Result<std::unique_ptr<KafkaPublisher>> KafkaPublisher::Create(KafkaOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  std::unique_ptr<KafkaPublisher> p(new KafkaPublisher(std::move(impl)));
  CUSTOS_RETURN_IF_ERROR(p->impl_->Open());
  return p;
}

core::Status KafkaPublisher::Send(const core::OutgoingMessage& m, uint64_t token) {
  if (impl_->rk == nullptr) return core::Unavailable("no Kafka producer (making one failed)");
  rd_kafka_topic_t* topic = impl_->Topic(m.topic);
  if (topic == nullptr) return ProduceError(rd_kafka_last_error(), m.topic);
  rd_kafka_headers_t* headers = MakeHeaders(m.headers);
  rd_kafka_resp_err_t err = rd_kafka_producev(
      impl_->rk, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_KEY(m.key.data(), m.key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(m.value.data()), m.value.size()),
      RD_KAFKA_V_HEADERS(headers),
      RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(token))), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (headers != nullptr) rd_kafka_headers_destroy(headers);
    return ProduceError(err, m.topic);
  }
  return core::OkStatus();
}

void KafkaPublisher::Poll(std::chrono::milliseconds timeout, const DeliveryFn& on_delivery) {
  if (impl_->rk == nullptr) {
    // Reset could not make a producer: try again, at this call's pace.
    std::this_thread::sleep_for(std::max(timeout, std::chrono::milliseconds(100)));
    if (core::Status s = impl_->Open(); !s.ok()) return;
  }
  impl_->on_delivery = &on_delivery;
  rd_kafka_poll(impl_->rk, static_cast<int>(timeout.count()));
  impl_->on_delivery = nullptr;
  impl_->Probe();
}

void KafkaPublisher::Reset(const DeliveryFn& on_delivery) {
  if (impl_->rk == nullptr) {
    (void)impl_->Open();
    return;
  }
  impl_->on_delivery = &on_delivery;
  rd_kafka_purge(impl_->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (rd_kafka_outq_len(impl_->rk) > 0 && Clock::now() < deadline) rd_kafka_poll(impl_->rk, 50);
  rd_kafka_poll(impl_->rk, 0);
  impl_->on_delivery = nullptr;
  // A fresh producer: a new idempotence session, whatever state the old one was left in.
  // If it cannot be made, Send refuses and Poll tries again.
  impl_->Close();
  core::Status s = impl_->Open();
  if (!s.ok()) {
    core::log::Warn("the Kafka producer could not be made again (retried on the next poll)",
                    {{"error", s.error().ToString()}});
  }
}

// ---- KafkaNotifier ----

struct KafkaNotifier::Impl {
  std::string topic;
  core::iam::NotificationLinks links;
  rd_kafka_t* rk = nullptr;
  std::atomic<bool> stop{false};
  std::thread poller;
  KafkaNotifier* owner = nullptr;

  // One message and what it takes to send it again; freed once delivered or given up.
  struct Message {
    std::string key;
    std::string type;
    std::string value;
    int attempts = 0;
  };

  ~Impl() {
    stop = true;
    if (poller.joinable()) poller.join();
    if (rk != nullptr) {
      rd_kafka_flush(rk, 2000);
      rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_poll(rk, 0);  // frees the purged messages (reports with an error)
      rd_kafka_destroy(rk);
    }
  }

  // Hands `m` to the producer; false (and `m` still ours) when it does not take it.
  bool Produce(Message* m) {
    ++m->attempts;
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(m->key.data(), m->key.size()),
        RD_KAFKA_V_VALUE(m->value.data(), m->value.size()),
        RD_KAFKA_V_HEADER("type", m->type.data(), static_cast<ssize_t>(m->type.size())),
        RD_KAFKA_V_OPAQUE(m), RD_KAFKA_V_END);
    return err == RD_KAFKA_RESP_ERR_NO_ERROR;
  }
};

KafkaNotifier::KafkaNotifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  impl_->owner = this;
}

KafkaNotifier::~KafkaNotifier() = default;

core::Result<std::unique_ptr<KafkaNotifier>> KafkaNotifier::Create(
    KafkaOptions options, std::string topic, core::iam::NotificationLinks links) {
  auto impl = std::make_unique<Impl>();
  impl->topic = std::move(topic);
  impl->links = std::move(links);
  Impl* raw = impl.get();
  CUSTOS_ASSIGN_OR_RETURN(rd_kafka_conf_t * conf, ProducerConf(options));
  rd_kafka_conf_set_opaque(conf, raw);
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* rm, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    auto* m = static_cast<Impl::Message*>(rm->_private);
    if (rm->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      self->owner->sent_.fetch_add(1);
      delete m;
      return;
    }
    self->owner->failed_.fetch_add(1);
    core::log::Warn("a notification was not delivered to Kafka",
                    {{"type", m->type},
                     {"attempt", std::to_string(m->attempts)},
                     {"error", rd_kafka_err2str(rm->err)}});
    const bool purged =
        rm->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || rm->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT;
    if (purged || self->stop || m->attempts >= kNotifyAttempts || !self->Produce(m)) delete m;
  });
  CUSTOS_ASSIGN_OR_RETURN(raw->rk, NewProducer(conf));
  std::unique_ptr<KafkaNotifier> n(new KafkaNotifier(std::move(impl)));
  raw->poller = std::thread([raw] {
    while (!raw->stop) rd_kafka_poll(raw->rk, 100);
  });
  return n;
}

void KafkaNotifier::Publish(const core::iam::Notification& notification) {
  auto* m = new Impl::Message{notification.tenant, notification.type,
                              core::iam::RenderNotification(notification, impl_->links)};
  if (!impl_->Produce(m)) {
    failed_.fetch_add(1);
    core::log::Error("a notification was dropped: the Kafka producer queue is full",
                     {{"type", m->type}});
    delete m;
  }
}

}  // namespace custos::storage
