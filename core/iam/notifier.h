// The Notifier port: where mail-worthy messages go once the events that cause them are
// durable (the Kafka notifications topic, a mailer over SMTP, both, or nowhere). Never written
// to the store, the log or an event.
//
// Thread-safety: implementations are called from the log's commit thread and must not block.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/iam/decide.h"

namespace custos::core::iam {

class Notifier {
 public:
  virtual ~Notifier() = default;
  virtual void Publish(const Notification& notification) = 0;
  // Whether it carries messages with no mail address (an API client's secret, which a mailer
  // cannot send anywhere): the topic does, a mailer does not.
  [[nodiscard]] virtual bool CarriesUnaddressed() const = 0;
};

// Sends each notification to every one of `to` (the topic and the mailer); owns none.
class NotifierFanOut final : public Notifier {
 public:
  explicit NotifierFanOut(std::vector<Notifier*> to) : to_(std::move(to)) {}
  void Publish(const Notification& notification) override {
    for (Notifier* n : to_) n->Publish(notification);
  }
  [[nodiscard]] bool CarriesUnaddressed() const override {
    for (const Notifier* n : to_) {
      if (n->CarriesUnaddressed()) return true;
    }
    return false;
  }

 private:
  std::vector<Notifier*> to_;
};

// The product's pages a message links to. "{tenant}" in either is replaced by the tenant id.
struct NotificationLinks {
  std::string invitation_url;  // where an invitation is accepted: URL?token=TOKEN
  std::string login_url;       // where a user signs in
};

// The invitation link (invitation_url?token=TOKEN) or the login URL for a notification's
// tenant.
[[nodiscard]] std::string InvitationLink(const NotificationLinks& links, std::string_view tenant,
                                         std::string_view token);
[[nodiscard]] std::string LoginLink(const NotificationLinks& links, std::string_view tenant);

// The message a mailer reads from custos.notifications.v1 (docs/events.md): one JSON object
// with `type`, `tenant`, `email`, `name`, and by type
// - "user.temporary_password": `user_id`, `temporary_password`, `login_url`, `expires_at`;
// - "invitation.link": `invitation_id`, `token`, `link` (invitation_url?token=TOKEN),
//   `expires_at`;
// - "group.membership_changed": `user_id`, `group_id`, `group_name`, `change` ("added" or
//   "removed"), `login_url`;
// - "api_client.secret" (a secret whose rotating caller may not see it): `client_id`,
//   `key_id`, `client_secret`.
[[nodiscard]] std::string RenderNotification(const Notification& notification,
                                             const NotificationLinks& links);

}  // namespace custos::core::iam
