// KafkaDevCluster: a Kafka-protocol cluster inside this process, on 127.0.0.1, built on
// librdkafka's mock cluster (rdkafka_mock.h). For development (`custos dev-kafka`, the
// server's `--kafka embedded`) and tests; any Kafka client can produce to and consume from
// it. It keeps about 5 MiB or 100k message sets per partition and nothing across a restart.
//
// Thread-safety: the cluster runs on librdkafka's own threads; the methods may be called
// from any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace custos::storage {

struct KafkaDevClusterOptions {
  int brokers = 1;
  // Topics created up front (clients may also create topics by producing to them).
  std::vector<std::string> topics = {"custos.audit.v1", "custos.audit.ocsf.v1",
                                     "custos.notifications.v1"};
  int partitions = 4;
};

class KafkaDevCluster {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<KafkaDevCluster>> Start(
      const KafkaDevClusterOptions& options);
  ~KafkaDevCluster();
  KafkaDevCluster(const KafkaDevCluster&) = delete;
  KafkaDevCluster& operator=(const KafkaDevCluster&) = delete;

  // "127.0.0.1:PORT,127.0.0.1:PORT,…"
  [[nodiscard]] const std::string& bootstrap_servers() const { return bootstrap_; }

  // Fault injection for tests: broker ids are 1..brokers.
  [[nodiscard]] core::Status SetBrokerDown(int broker_id, bool down);
  // The next `count` produce requests (to any broker) fail with the Kafka error code.
  void FailNextProduces(int count, int error_code);

 private:
  struct Impl;
  explicit KafkaDevCluster(std::unique_ptr<Impl> impl, std::string bootstrap);
  std::unique_ptr<Impl> impl_;
  std::string bootstrap_;
};

}  // namespace custos::storage
