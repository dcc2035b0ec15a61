// Publisher: the port through which the Kafka relay hands messages to a broker and learns
// whether each was delivered (the broker acknowledged it with acks=all). The adapter is
// storage::KafkaPublisher (librdkafka); the relay (projections/relay.h) keeps the order and
// the cursor.
//
// Each message is copied by Send and carries a caller's token; Poll reports each token once,
// delivered or failed. Messages with the same topic and key are delivered in the order sent
// unless one fails; after a failure the caller calls Reset, which drops (and reports as
// failed) whatever is still queued, so that it can send again from its last delivered point.
//
// Thread-safety: one thread drives a Publisher (Send, Poll, Reset); Reachable may be read
// from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "core/result.h"

namespace custos::core {

struct MessageHeader {
  std::string_view name;
  std::string_view value;
};

struct OutgoingMessage {
  std::string_view topic;
  std::string_view key;
  std::string_view value;
  std::span<const MessageHeader> headers;
};

class Publisher {
 public:
  // Called by Poll and Reset, once per token: OkStatus when delivered.
  using DeliveryFn = std::function<void(uint64_t token, const Status& status)>;

  virtual ~Publisher() = default;

  // Hands one message over (copied). kUnavailable when the local queue is full: Poll, then
  // send it again.
  [[nodiscard]] virtual Status Send(const OutgoingMessage& message, uint64_t token) = 0;
  // Waits up to `timeout` for delivery reports and calls `on_delivery` for each.
  virtual void Poll(std::chrono::milliseconds timeout, const DeliveryFn& on_delivery) = 0;
  // Drops everything not delivered yet (each reported failed to `on_delivery` before Reset
  // returns) and starts a fresh producer session.
  virtual void Reset(const DeliveryFn& on_delivery) = 0;
  // False while no broker can be reached.
  [[nodiscard]] virtual bool Reachable() const = 0;
};

}  // namespace custos::core
