// KafkaReader: reads a whole topic from its beginning, every partition, with librdkafka —
// what a SIEM consuming Custos's topics sees. For the Kafka tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace custos::testing {

struct KafkaRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  std::map<std::string, std::string> headers;
};

// Reads `topic` from the beginning until at least `at_least` records have arrived and every
// partition is at its end, or `timeout` passes; records in partition then offset order.
[[nodiscard]] std::vector<KafkaRecord> ReadTopic(const std::string& brokers,
                                                 const std::string& topic, size_t at_least,
                                                 std::chrono::milliseconds timeout);

}  // namespace custos::testing
