// SmtpMailer: the Notifier that sends mail itself, over SMTP through libcurl (`--smtp`).
//
// Publish only queues (it is called from the log's commit thread and must not block); one
// thread renders each message (core::iam::RenderMail) and sends it. A message the server
// refuses for good (a 5xx reply: no such mailbox, relaying denied) is dropped and counted as
// failed; any other failure (no connection, a 4xx reply, a timeout) is retried with a doubling
// delay, from 1 s up to 5 minutes between tries, `max_attempts` times in all (about 18
// minutes with the default 12). TLS is required (STARTTLS for smtp://, verified against the
// system's CAs) unless the server is this machine (localhost, 127.x, [::1]: a local MTA),
// where STARTTLS is used when offered. Messages with no address (an API client's secret) are not
// mailed. On Stop, what is still queued gets one more try within `drain_deadline`; whatever
// is left after that is counted as failed. Notifications are never kept across a restart
// (docs/events.md).
//
// `url`: smtp://HOST[:PORT] (STARTTLS) or smtps://HOST[:PORT] (TLS from the start), optionally
// with USER:PASSWORD@ for SMTP AUTH.
//
// Thread-safety: Publish and the counters from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/iam/mail.h"
#include "core/iam/notifier.h"
#include "core/random.h"
#include "core/result.h"

namespace custos::storage {

struct SmtpOptions {
  std::string url;
  core::iam::MailSettings mail;
  int max_attempts = 12;
  std::chrono::milliseconds first_retry{1000};
  std::chrono::milliseconds max_retry{300'000};
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds send_timeout{30'000};  // one message, connection included
  std::chrono::milliseconds drain_deadline{5'000};
  // Past it a new message is dropped (and counted as failed); membership messages past three
  // quarters of it, so that credentials always have room.
  size_t max_queued = 10'000;
};

class SmtpMailer final : public core::iam::Notifier {
 public:
  struct Stats {
    uint64_t sent = 0;
    uint64_t retries = 0;  // tries after the first
    uint64_t failed = 0;   // given up: refused for good, out of tries, dropped, or unsent at stop
    uint64_t queued = 0;   // waiting now
  };

  // Checks the URL (scheme and host) and starts the sending thread; nothing is sent yet.
  [[nodiscard]] static core::Result<std::unique_ptr<SmtpMailer>> Start(SmtpOptions options,
                                                                       const core::Clock& clock,
                                                                       core::Random& random);
  // smtp://HOST[:PORT] or smtps://HOST[:PORT] (InvalidArgument otherwise).
  [[nodiscard]] static core::Status CheckUrl(const std::string& url);
  ~SmtpMailer() override;
  SmtpMailer(const SmtpMailer&) = delete;
  SmtpMailer& operator=(const SmtpMailer&) = delete;

  void Publish(const core::iam::Notification& notification) override;
  [[nodiscard]] bool CarriesUnaddressed() const override { return false; }
  // Stops the thread after the drain (idempotent; the destructor calls it).
  void Stop();

  [[nodiscard]] Stats stats() const;

  struct Impl;

 private:
  explicit SmtpMailer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace custos::storage
