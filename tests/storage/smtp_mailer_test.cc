// The mailer's queue under a flood (an admin deleting a large group, or adding and removing
// members over and over, with the SMTP server away): bounded, and membership mails never take
// the room a credential's only copy needs.
#include "storage/smtp_mailer.h"

#include <gtest/gtest.h>

#include "tests/support/iam_fixture.h"

namespace custos::storage {
namespace {

core::iam::Notification Notice(std::string_view type, int i) {
  core::iam::Notification n;
  n.type = type;
  n.tenant = "acme";
  n.email = "u" + std::to_string(i) + "@example.com";
  n.subject_id = "usr_" + std::to_string(i);
  n.secret = "s3cret";
  n.group_id = "grp_1";
  n.group_name = "Ops";
  n.change = "removed";
  return n;
}

TEST(SmtpMailerTest, AMembershipFloodNeverCrowdsOutCredentials) {
  core::SystemClock clock;
  testing::SeededRandom random;
  SmtpOptions options;
  options.url = "smtp://127.0.0.1:1";  // nothing listens: every try fails and is retried
  options.mail.from = *core::iam::ParseMailbox("ops@acme.example");
  options.max_queued = 8;  // membership mails stop at 6
  options.first_retry = std::chrono::minutes(10);
  options.drain_deadline = std::chrono::milliseconds(100);
  auto mailer = SmtpMailer::Start(options, clock, random);
  ASSERT_TRUE(mailer.ok()) << mailer.error().message;
  for (int i = 0; i < 100; ++i) (*mailer)->Publish(Notice(core::iam::kMembershipChanged, i));
  // At most 6 are held, the one in a try included; the rest were dropped and counted.
  const uint64_t dropped = (*mailer)->stats().failed;
  EXPECT_GE(dropped, 94u);
  EXPECT_LE((*mailer)->stats().queued, 6u);
  // Credentials still find room.
  (*mailer)->Publish(Notice(core::iam::kTemporaryPasswordNotice, 1000));
  (*mailer)->Publish(Notice(core::iam::kInvitationLink, 1001));
  EXPECT_EQ((*mailer)->stats().failed, dropped);
  // An address-less message (a client secret) is never queued.
  core::iam::Notification secret = Notice(core::iam::kClientSecret, 2000);
  secret.email.clear();
  const uint64_t queued = (*mailer)->stats().queued;
  (*mailer)->Publish(secret);
  EXPECT_LE((*mailer)->stats().queued, queued);
  EXPECT_EQ((*mailer)->stats().failed, dropped);
}

TEST(SmtpMailerTest, RefusesAUrlThatIsNotSmtp) {
  EXPECT_FALSE(SmtpMailer::CheckUrl("http://mail.example").ok());
  EXPECT_FALSE(SmtpMailer::CheckUrl("smtp://").ok());
  EXPECT_FALSE(SmtpMailer::CheckUrl("not a url").ok());
  EXPECT_TRUE(SmtpMailer::CheckUrl("smtp://mail.example:587").ok());
  EXPECT_TRUE(SmtpMailer::CheckUrl("smtps://user:pw@mail.example").ok());
}

}  // namespace
}  // namespace custos::storage
