// The librdkafka producers of a node.
//
// KafkaPublisher (core::Publisher) carries the relay's audit and OCSF messages: idempotent
// (`enable.idempotence=true`, so `acks=all` and ordered retries), compressed, with no message
// timeout — while the brokers are away a message waits in the producer's queue and is sent
// when they return, so an outage ends in neither loss nor duplicates. The relay bounds what
// is in flight; a failure reported anyway (a fatal producer error, a topic refused) makes the
// relay Reset, which purges and starts a fresh producer.
//
// KafkaNotifier (core::iam::Notifier) sends the mailer's messages (../shared/spec/EVENTS.md
// "custos.notifications.v1") from memory: a producer of its own with a thread serving its
// delivery reports; a message that fails is counted and sent again, up to kNotifyAttempts
// times, and is never written anywhere. Publish never blocks (a full queue counts as a
// failure).
//
// Thread-safety: KafkaPublisher as core::Publisher says; KafkaNotifier from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/iam/notifier.h"
#include "core/publisher.h"
#include "core/result.h"

namespace custos::storage {

struct KafkaOptions {
  std::string brokers;  // bootstrap servers, HOST:PORT,…
  std::string compression = "lz4";
  int linger_ms = 5;
  int queue_messages = 100000;  // the producer's local queue
  // Further librdkafka properties (security.protocol, sasl.*, …), applied last; each must
  // pass CheckKafkaProperty.
  std::vector<std::pair<std::string, std::string>> properties;
};

// Whether librdkafka takes `name = value` for a producer, and it is not one of the properties
// the delivery guarantee rests on (bootstrap.servers comes from --kafka; enable.idempotence,
// acks, message.timeout.ms, and the retries and in-flight bounds idempotence sets, are fixed).
// The error quotes librdkafka's reason, which may quote the value.
[[nodiscard]] core::Status CheckKafkaProperty(const std::string& name, const std::string& value);

class KafkaPublisher final : public core::Publisher {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<KafkaPublisher>> Create(KafkaOptions options);
  ~KafkaPublisher() override;
  KafkaPublisher(const KafkaPublisher&) = delete;
  KafkaPublisher& operator=(const KafkaPublisher&) = delete;

  [[nodiscard]] core::Status Send(const core::OutgoingMessage& message, uint64_t token) override;
  void Poll(std::chrono::milliseconds timeout, const DeliveryFn& on_delivery) override;
  void Reset(const DeliveryFn& on_delivery) override;
  [[nodiscard]] bool Reachable() const override { return reachable_.load(); }

  struct Impl;

 private:
  explicit KafkaPublisher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> reachable_{false};
};

class KafkaNotifier final : public core::iam::Notifier {
 public:
  static constexpr int kNotifyAttempts = 5;

  // `links`: the product's pages the messages link to (the invitation's accept page, the
  // login page).
  [[nodiscard]] static core::Result<std::unique_ptr<KafkaNotifier>> Create(
      KafkaOptions options, std::string topic, core::iam::NotificationLinks links);
  ~KafkaNotifier() override;
  KafkaNotifier(const KafkaNotifier&) = delete;
  KafkaNotifier& operator=(const KafkaNotifier&) = delete;

  void Publish(const core::iam::Notification& notification) override;
  [[nodiscard]] bool CarriesUnaddressed() const override { return true; }

  [[nodiscard]] uint64_t sent() const { return sent_.load(); }
  [[nodiscard]] uint64_t failed() const { return failed_.load(); }

  struct Impl;

 private:
  explicit KafkaNotifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> failed_{0};
};

}  // namespace custos::storage
