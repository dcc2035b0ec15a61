// Mail: a notification as the message a person reads (RFC 5322, plain text, UTF-8), for the
// mailer that sends it over SMTP (`--smtp`). Pure: no I/O; storage::SmtpMailer sends it.
//
// What each type says (docs/mail.md):
// - user.temporary_password: the login URL, the user's email and the temporary password, when
//   it stops working, and that a new password is chosen at the first sign-in;
// - invitation.link: the accept link and when it stops working;
// - group.membership_changed: the group the user was added to or removed from, and the login
//   URL;
// - api_client.secret has no address and is never mailed (RenderMail refuses it).
#pragma once

#include <string>
#include <string_view>

#include "core/iam/decide.h"
#include "core/iam/notifier.h"
#include "core/result.h"
#include "core/time.h"

namespace custos::core::iam {

// A mailbox as --mail-from gives it: "addr@example.com" or "Display Name <addr@example.com>".
struct Mailbox {
  std::string display;  // may be empty
  std::string address;
};
[[nodiscard]] Result<Mailbox> ParseMailbox(std::string_view text);

struct MailSettings {
  Mailbox from;
  NotificationLinks links;
  std::string product = "Custos";  // how the messages name the product
};

struct Mail {
  std::string envelope_from;  // the reverse path: settings.from.address
  std::string to;             // the recipient's address
  std::string message;        // headers and body, CRLF line ends, no line over 998 octets
};

// `message_id`: unique, without the angle brackets (id@domain).
[[nodiscard]] Result<Mail> RenderMail(const Notification& notification,
                                      const MailSettings& settings, Time now,
                                      std::string_view message_id);

// "Tue, 01 Dec 2026 02:31:52 +0000" (RFC 5322 §3.3).
[[nodiscard]] std::string FormatMailDate(Time t);

}  // namespace custos::core::iam
