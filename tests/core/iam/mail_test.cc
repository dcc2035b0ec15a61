// The mails the server sends itself (--smtp, docs/mail.md), from the issue's sentence: "sends
// the notification messages itself — temporary password with the login URL, invitation link,
// and (002) a message when a user's group membership changes". And what a header must never
// let a name do: start a new header line.
#include "core/iam/mail.h"

#include <gtest/gtest.h>

#include "core/base64.h"
#include "tests/support/iam_fixture.h"

namespace custos::core::iam {
namespace {

using testing::IamFixture;

MailSettings Settings() {
  MailSettings s;
  s.from = *ParseMailbox("Acme Access <no-reply@acme.example>");
  s.links = {"https://app.example/{tenant}/accept", "https://app.example/{tenant}/login"};
  return s;
}

const Time kNow = FromUnixMillis(1795521600000);  // 2026-11-24T12:00:00Z, a Tuesday

// The decoded quoted-printable body.
std::string Body(const std::string& message) {
  const size_t start = message.find("\r\n\r\n");
  std::string qp = message.substr(start + 4), out;
  for (size_t i = 0; i < qp.size(); ++i) {
    if (qp[i] == '=' && i + 2 < qp.size() && qp[i + 1] == '\r' && qp[i + 2] == '\n') {
      i += 2;
    } else if (qp[i] == '=' && i + 2 < qp.size()) {
      out += static_cast<char>(std::stoi(qp.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (qp[i] != '\r') {
      out += qp[i];
    }
  }
  return out;
}

std::string Header(const std::string& message, const std::string& name) {
  const size_t at = message.find("\r\n" + name + ": ");
  const size_t from = at == std::string::npos ? message.find(name + ": ") : at + 2;
  if (from == std::string::npos) return "";
  const size_t end = message.find("\r\n", from);
  return message.substr(from + name.size() + 2, end - from - name.size() - 2);
}

TEST(MailTest, TemporaryPasswordMailCarriesTheLoginUrlTheEmailAndThePassword) {
  Notification n{std::string(kTemporaryPasswordNotice),
                 "acme",
                 "ada@example.com",
                 "Ada Lovelace",
                 "usr_1",
                 "s3cret-Temp",
                 kNow + std::chrono::hours(72),
                 ""};
  Result<Mail> mail = RenderMail(n, Settings(), kNow, "abc@acme.example");
  ASSERT_TRUE(mail.ok()) << mail.error().message;
  EXPECT_EQ(mail->envelope_from, "no-reply@acme.example");
  EXPECT_EQ(mail->to, "ada@example.com");
  const std::string& m = mail->message;
  EXPECT_EQ(m.rfind("From: \"Acme Access\" <no-reply@acme.example>\r\n", 0), 0u) << m;
  EXPECT_EQ(Header(m, "To"), "\"Ada Lovelace\" <ada@example.com>");
  EXPECT_EQ(Header(m, "Subject"), "Your Custos account in acme");
  EXPECT_EQ(Header(m, "Date"), "Tue, 24 Nov 2026 12:00:00 +0000");
  EXPECT_EQ(Header(m, "Message-ID"), "<abc@acme.example>");
  EXPECT_EQ(Header(m, "Content-Transfer-Encoding"), "quoted-printable");
  const std::string body = Body(m);
  EXPECT_NE(body.find("https://app.example/acme/login"), std::string::npos) << body;
  EXPECT_NE(body.find("Email:               ada@example.com"), std::string::npos) << body;
  EXPECT_NE(body.find("Temporary password:  s3cret-Temp"), std::string::npos) << body;
  EXPECT_NE(body.find("until 2026-11-27 12:00 UTC"), std::string::npos) << body;
  EXPECT_NE(body.find("choose your own password"), std::string::npos) << body;
  // Every line within RFC 5322's limit, CRLF only.
  for (size_t at = 0, end; (end = m.find("\r\n", at)) != std::string::npos; at = end + 2) {
    EXPECT_LE(end - at, 78u) << m.substr(at, end - at);
  }
  EXPECT_EQ(m.find('\n', 0) - 1, m.find("\r\n"));
}

TEST(MailTest, InvitationMailLinksToTheAcceptPageWithTheToken) {
  Notification n{
      std::string(kInvitationLink),      "acme", "bob@example.com", "", "inv_1", "tok-123",
      kNow + std::chrono::hours(24 * 3), ""};
  Result<Mail> mail = RenderMail(n, Settings(), kNow, "x@acme.example");
  ASSERT_TRUE(mail.ok());
  EXPECT_EQ(Header(mail->message, "To"), "bob@example.com");
  EXPECT_EQ(Header(mail->message, "Subject"), "You are invited to acme");
  const std::string body = Body(mail->message);
  EXPECT_NE(body.find("  https://app.example/acme/accept?token=tok-123\n"), std::string::npos)
      << body;
  EXPECT_NE(body.find("until 2026-11-27 12:00 UTC"), std::string::npos);
}

TEST(MailTest, MembershipMailNamesTheGroupAndWhetherAddedOrRemoved) {
  Notification n;
  n.type = kMembershipChanged;
  n.tenant = "acme";
  n.email = "cy@example.com";
  n.name = "Zoë Müller";
  n.subject_id = "usr_2";
  n.group_id = "grp_1";
  n.group_name = "Finance — EU";
  n.change = "added";
  Result<Mail> mail = RenderMail(n, Settings(), kNow, "y@acme.example");
  ASSERT_TRUE(mail.ok());
  // A non-ASCII display name is an RFC 2047 encoded word; the body is UTF-8 quoted-printable.
  EXPECT_EQ(Header(mail->message, "To"),
            "=?UTF-8?B?" + Base64Encode("Zoë Müller") + "?= <cy@example.com>");
  EXPECT_NE(Body(mail->message).find("You were added to the group Finance — EU in workspace acme"),
            std::string::npos)
      << Body(mail->message);
  EXPECT_NE(Body(mail->message).find("https://app.example/acme/login"), std::string::npos);
  n.change = "removed";
  mail = RenderMail(n, Settings(), kNow, "z@acme.example");
  ASSERT_TRUE(mail.ok());
  EXPECT_NE(Body(mail->message).find("You were removed from the group Finance — EU"),
            std::string::npos);
}

TEST(MailTest, NoNameOrSenderCanAddAHeader) {
  Notification n{std::string(kTemporaryPasswordNotice),
                 "acme",
                 "ada@example.com",
                 "Ada\r\nBcc: eve@evil.example",
                 "usr_1",
                 "pw",
                 kNow,
                 ""};
  Result<Mail> mail = RenderMail(n, Settings(), kNow, "a@acme.example");
  ASSERT_TRUE(mail.ok());
  const std::string headers = mail->message.substr(0, mail->message.find("\r\n\r\n") + 2);
  EXPECT_EQ(headers.find("\r\nBcc:"), std::string::npos) << mail->message;
  EXPECT_EQ(mail->message.find("Bcc:"), std::string::npos);   // nor in the greeting
  EXPECT_EQ(Header(mail->message, "To"), "ada@example.com");  // the unsafe name is left out
  // A quote in a name stays inside the quoted string.
  n.name = "Ada \"The\" Countess";
  mail = RenderMail(n, Settings(), kNow, "a@acme.example");
  EXPECT_EQ(Header(mail->message, "To"), "\"Ada \\\"The\\\" Countess\" <ada@example.com>");
  EXPECT_FALSE(ParseMailbox("Eve\r\nBcc: x <eve@evil.example>").ok());
  EXPECT_FALSE(ParseMailbox("not an address").ok());
  EXPECT_FALSE(ParseMailbox("a@b.example, c@d.example").ok());
  Result<Mailbox> plain = ParseMailbox(" no-reply@acme.example ");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->address, "no-reply@acme.example");
  EXPECT_EQ(plain->display, "");
  Result<Mailbox> quoted = ParseMailbox("\"Acme, Inc.\" <ops@acme.example>");
  ASSERT_TRUE(quoted.ok());
  EXPECT_EQ(quoted->display, "Acme, Inc.");
}

TEST(MailTest, ClientSecretsAndAddresslessMessagesAreNeverMailed) {
  Notification secret{
      std::string(kClientSecret), "acme", "", "ci", "cli_1", "sekrit", kNow, "key_1"};
  EXPECT_FALSE(RenderMail(secret, Settings(), kNow, "a@acme.example").ok());
  secret.email = "ops@acme.example";  // even with an address: a client secret is not a mail's
  EXPECT_FALSE(RenderMail(secret, Settings(), kNow, "a@acme.example").ok());
}

TEST(MailTest, LongLinesAreSoftBrokenAndNonAsciiIsEncoded) {
  MailSettings s = Settings();
  s.links.login_url = "https://app.example/" + std::string(300, 'p') + "/login";
  Notification n{std::string(kTemporaryPasswordNotice),
                 "acme",
                 "ada@example.com",
                 "Ada",
                 "usr_1",
                 "pw",
                 kNow,
                 ""};
  Result<Mail> mail = RenderMail(n, s, kNow, "a@acme.example");
  ASSERT_TRUE(mail.ok());
  const std::string& m = mail->message;
  for (size_t at = 0, end; (end = m.find("\r\n", at)) != std::string::npos; at = end + 2) {
    EXPECT_LE(end - at, 78u);
  }
  for (char c : m) EXPECT_TRUE(c == '\r' || c == '\n' || (c >= 0x20 && c <= 0x7e));
  EXPECT_NE(Body(m).find(s.links.login_url), std::string::npos);
}

TEST(MailTest, FormatsMailDatesAsRfc5322) {
  EXPECT_EQ(FormatMailDate(FromUnixMillis(0)), "Thu, 01 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(FormatMailDate(FromUnixMillis(1795521600000 + 3723000)),
            "Tue, 24 Nov 2026 13:02:03 +0000");
}

// The decider's side: who gets a membership message, and when a mailer alone can carry a
// credential (../shared/spec/ACCESS.md rule 4: "otherwise the notification is the only copy").
TEST(MailTest, MembershipChangesNotifyTheUserAddedOrRemoved) {
  IamFixture f;
  f.CreateTenant();
  const std::string ada = f.NewUser("ada");
  const std::string bob = f.NewUser("bob");
  const Decision made = f.Must(CreateGroup{"Finance", ""});
  Decision added = f.Must(AddGroupMembers{
      made.id, {Subject{SubjectType::kUser, ada}, Subject{SubjectType::kUser, bob}}});
  ASSERT_EQ(added.notifications.size(), 2u);
  EXPECT_EQ(added.notifications[0].type, kMembershipChanged);
  EXPECT_EQ(added.notifications[0].email, "ada@example.com");
  EXPECT_EQ(added.notifications[0].group_name, "Finance");
  EXPECT_EQ(added.notifications[0].change, "added");
  EXPECT_TRUE(added.notifications[0].secret.empty());
  // Adding again changes nothing and says nothing.
  EXPECT_TRUE(
      f.Must(AddGroupMembers{made.id, {Subject{SubjectType::kUser, ada}}}).notifications.empty());
  Decision removed = f.Must(RemoveGroupMember{made.id, ada});
  ASSERT_EQ(removed.notifications.size(), 1u);
  EXPECT_EQ(removed.notifications[0].change, "removed");
  // A deactivated member is not written to; deleting the group tells the others.
  f.Must(ChangeUserStatus{bob, UserAction::kDeactivate, ""});
  const std::string cy = f.NewUser("cy");
  f.Must(AddGroupMembers{made.id, {Subject{SubjectType::kUser, cy}}});
  Decision deleted = f.Must(DeleteGroup{made.id});
  ASSERT_EQ(deleted.notifications.size(), 1u);
  EXPECT_EQ(deleted.notifications[0].email, "cy@example.com");
  EXPECT_EQ(deleted.notifications[0].change, "removed");
}

TEST(MailTest, AMailerAloneCarriesUserCredentialsButNotClientSecrets) {
  IamFixture f;
  f.CreateTenant();
  // An IAM editor outranks neither Bob (Manager at the root) nor the Manager client.
  const std::string editor_role =
      f.Must(CreateRole{"IAM Editor",
                        "",
                        {Permission{"*", "iam.user", "*", Level::kEdit},
                         Permission{"*", "iam.api_client", "*", Level::kEdit}},
                        {}})
          .id;
  const std::string editor = f.NewUser("eddie", {{editor_role, "root"}});
  const std::string bob = f.NewUser("bob", {{f.RoleId("Manager"), "root"}});
  const Decision bot = f.Must(CreateClient{"Bot", "", "", {{f.RoleId("Manager"), "root"}}});
  auto as_editor = [&](bool topic, bool mail) {
    CommandContext ctx = f.As(Subject{SubjectType::kUser, editor});
    ctx.notifications = topic;
    ctx.mail = mail;
    return ctx;
  };
  // A mailer alone carries Bob's new temporary password: sent to him, not shown.
  Result<Decision> reset = f.Run(ResetPassword{bob}, as_editor(false, true));
  ASSERT_TRUE(reset.ok()) << reset.error().ToString();
  EXPECT_EQ(reset->credential_delivery, CredentialDelivery::kNotification);
  EXPECT_FALSE(reset->secret.has_value());
  ASSERT_EQ(reset->notifications.size(), 1u);
  EXPECT_EQ(reset->notifications[0].email, "bob@example.com");
  // With no channel at all it is refused, naming both ways to configure one.
  Result<Decision> none = f.Run(ResetPassword{bob}, as_editor(false, false));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Errc::kConflict);
  EXPECT_NE(none.error().message.find("--smtp"), std::string::npos) << none.error().message;
  // The client's new secret has no address: a mailer alone cannot carry it (409, nothing
  // made); the topic can.
  Result<Decision> mailed = f.Run(CreateClientSecret{bot.id}, as_editor(false, true));
  ASSERT_FALSE(mailed.ok());
  EXPECT_EQ(mailed.error().code, Errc::kConflict);
  EXPECT_NE(mailed.error().message.find("no mail address"), std::string::npos);
  EXPECT_EQ(f.state().FindClient(bot.id)->secrets.size(), 1u);
  Result<Decision> topic = f.Run(CreateClientSecret{bot.id}, as_editor(true, true));
  ASSERT_TRUE(topic.ok()) << topic.error().ToString();
  EXPECT_EQ(topic->credential_delivery, CredentialDelivery::kNotification);
}

}  // namespace
}  // namespace custos::core::iam
