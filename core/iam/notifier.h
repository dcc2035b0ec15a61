// The Notifier port: where mail-worthy messages go once the events that cause them are
// durable (the Kafka notifications topic; nowhere when Kafka is off). Never written to the
// store, the log or an event.
//
// Thread-safety: implementations are called from the log's commit thread and must not block.
#pragma once

#include "core/iam/decide.h"

namespace custos::core::iam {

class Notifier {
 public:
  virtual ~Notifier() = default;
  virtual void Publish(const Notification& notification) = 0;
};

}  // namespace custos::core::iam
