// The Notifier port: where mail-worthy messages go once the events that cause them are
// durable (the Kafka notifications topic; nowhere when Kafka is off). Never written to the
// store, the log or an event.
//
// Thread-safety: implementations are called from the log's commit thread and must not block.
#pragma once

#include <string>
#include <string_view>

#include "core/iam/decide.h"

namespace custos::core::iam {

class Notifier {
 public:
  virtual ~Notifier() = default;
  virtual void Publish(const Notification& notification) = 0;
};

// The message a mailer reads from custos.notifications.v1 (docs/events.md): one JSON object
// with `type`, `tenant`, `email`, `name`, `expires_at`, and by type
// - "user.temporary_password": `user_id`, `temporary_password`;
// - "invitation.link": `invitation_id`, `token` and `link` (invitation_url?token=TOKEN);
// - "api_client.secret" (a secret whose rotating caller may not see it): `client_id`,
//   `key_id`, `client_secret`, no `expires_at`.
[[nodiscard]] std::string RenderNotification(const Notification& notification,
                                             std::string_view invitation_url);

}  // namespace custos::core::iam
