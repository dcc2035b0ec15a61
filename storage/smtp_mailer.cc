#include "storage/smtp_mailer.h"

#include <curl/curl.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "core/log.h"

namespace custos::storage {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

std::once_flag curl_init_once;

// What one try came to.
enum class Outcome { kSent, kRetry, kRefused };

struct Upload {
  std::string_view data;
  size_t at = 0;
};

size_t ReadUpload(char* buffer, size_t size, size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  const size_t n = std::min(size * count, upload->data.size() - upload->at);
  std::memcpy(buffer, upload->data.data() + upload->at, n);
  upload->at += n;
  return n;
}

// What the mailer needs of --smtp's URL: its scheme, host and port (never the user or
// password, which only libcurl reads).
struct SmtpServer {
  std::string scheme;
  std::string host;
  std::string port;  // the scheme's default when the URL names none

  static std::optional<SmtpServer> Parse(const std::string& url) {
    CURLU* u = curl_url();
    std::optional<SmtpServer> out;
    if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
      auto part = [&](CURLUPart which, unsigned flags) {
        char* text = nullptr;
        std::string value;
        if (curl_url_get(u, which, &text, flags) == CURLUE_OK) value = text;
        curl_free(text);
        return value;
      };
      out = SmtpServer{part(CURLUPART_SCHEME, 0), part(CURLUPART_HOST, 0),
                       part(CURLUPART_PORT, CURLU_DEFAULT_PORT)};
    }
    curl_url_cleanup(u);
    return out;
  }
  // For logs.
  [[nodiscard]] std::string Where() const { return host + ":" + port; }
  // A local MTA: the only place plain SMTP goes without TLS.
  [[nodiscard]] bool IsLoopback() const {
    return host == "localhost" || host == "[::1]" || host.rfind("127.", 0) == 0;
  }
};

}  // namespace

core::Status SmtpMailer::CheckUrl(const std::string& url) {
  const std::optional<SmtpServer> server = SmtpServer::Parse(url);
  if (!server || server->host.empty() || (server->scheme != "smtp" && server->scheme != "smtps")) {
    return core::InvalidArgument("--smtp must be smtp://HOST[:PORT] or smtps://HOST[:PORT]");
  }
  return core::OkStatus();
}

namespace {

struct Pending {
  core::iam::Notification notification;
  int attempts = 0;
};

}  // namespace

struct SmtpMailer::Impl {
  SmtpOptions options;
  const core::Clock* clock = nullptr;
  core::Random* random = nullptr;
  std::string where;   // host:port, for logs
  bool loopback = false;  // a local MTA: STARTTLS when offered, plain otherwise
  std::string domain;  // of Message-IDs: the sender's domain
  CURL* curl = nullptr;

  std::mutex mu;
  std::condition_variable wake;
  bool stopping = false;
  std::multimap<SteadyTime, Pending> queue;  // by when the next try is due
  size_t trying = 0;  // 1 while the worker has a message out of the queue (counts as queued)
  std::thread worker;

  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> retries{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> queued{0};

  ~Impl() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }

  void Fail(const Pending& p, const std::string& why) {
    failed.fetch_add(1);
    core::log::Warn("a mail was not delivered", {{"type", p.notification.type},
                                                 {"tenant", p.notification.tenant},
                                                 {"to", p.notification.email},
                                                 {"error", why}});
  }

  // One try at sending over the connection kept from the last (libcurl reuses it).
  Outcome Send(const core::iam::Mail& mail, std::chrono::milliseconds budget, std::string& why) {
    Upload upload{mail.message};
    const std::string from = "<" + mail.envelope_from + ">";
    curl_slist* rcpt = curl_slist_append(nullptr, ("<" + mail.to + ">").c_str());
    char error[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, options.url.c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadUpload);
    curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(mail.message.size()));
    // TLS always, verified: STARTTLS is required for smtp:// (a server, or someone on the path,
    // that does not offer it gets nothing — no password, no message), except to a local MTA.
    curl_easy_setopt(curl, CURLOPT_USE_SSL,
                     static_cast<long>(loopback ? CURLUSESSL_TRY : CURLUSESSL_ALL));
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    const auto connect = std::min(budget, options.connect_timeout);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect.count()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(budget.count()));
    const CURLcode rc = curl_easy_perform(curl);
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, nullptr);
    curl_slist_free_all(rcpt);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
    if (rc == CURLE_OK) return Outcome::kSent;
    why = std::string(error[0] != '\0' ? error : curl_easy_strerror(rc)) + " (" + where +
          (code != 0 ? ", reply " + std::to_string(code) : std::string()) + ")";
    return code >= 500 && code <= 599 ? Outcome::kRefused : Outcome::kRetry;
  }

  // Renders and tries once; true when the message is done with (sent or given up).
  bool Try(Pending& p, std::chrono::milliseconds budget, bool last_chance) {
    const std::string message_id = core::RandomToken(*random, 18) + "@" + domain;
    core::Result<core::iam::Mail> mail =
        core::iam::RenderMail(p.notification, options.mail, clock->Now(), message_id);
    if (!mail.ok()) {
      Fail(p, mail.error().message);
      return true;
    }
    if (p.attempts > 0) retries.fetch_add(1);
    ++p.attempts;
    std::string why;
    switch (Send(*mail, budget, why)) {
      case Outcome::kSent:
        sent.fetch_add(1);
        return true;
      case Outcome::kRefused:
        Fail(p, "refused: " + why);
        return true;
      case Outcome::kRetry:
        if (last_chance || p.attempts >= options.max_attempts) {
          Fail(p, "gave up after " + std::to_string(p.attempts) + " tries: " + why);
          return true;
        }
        core::log::Info("a mail is not sent yet; it will be tried again",
                        {{"type", p.notification.type},
                         {"tenant", p.notification.tenant},
                         {"try", std::to_string(p.attempts)},
                         {"error", why}});
        return false;
    }
    return true;
  }

  std::chrono::milliseconds Backoff(int attempts) const {
    auto delay = options.first_retry;
    for (int i = 1; i < attempts && delay < options.max_retry; ++i) delay *= 2;
    return std::min(delay, options.max_retry);
  }

  void Run() {
    std::unique_lock lock(mu);
    while (!stopping) {
      if (queue.empty()) {
        wake.wait(lock);
        continue;
      }
      const SteadyTime due = queue.begin()->first;
      if (std::chrono::steady_clock::now() < due) {
        wake.wait_until(lock, due);
        continue;
      }
      Pending p = std::move(queue.begin()->second);
      queue.erase(queue.begin());
      queued.fetch_sub(1);
      trying = 1;
      lock.unlock();
      const bool done = Try(p, options.send_timeout, false);
      lock.lock();
      trying = 0;
      if (!done) {
        queue.emplace(std::chrono::steady_clock::now() + Backoff(p.attempts), std::move(p));
        queued.fetch_add(1);
      }
    }
    // Stopping: one last try for each message still here, within the drain deadline.
    std::multimap<SteadyTime, Pending> left;
    left.swap(queue);
    queued.store(0);
    lock.unlock();
    const SteadyTime deadline = std::chrono::steady_clock::now() + options.drain_deadline;
    for (auto& [due, p] : left) {
      const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (remaining.count() <= 0) {
        Fail(p, "the server stopped before it was sent");
        continue;
      }
      (void)Try(p, std::min(remaining, options.send_timeout), true);
    }
  }
};

SmtpMailer::SmtpMailer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SmtpMailer::~SmtpMailer() { Stop(); }

core::Result<std::unique_ptr<SmtpMailer>> SmtpMailer::Start(SmtpOptions options,
                                                            const core::Clock& clock,
                                                            core::Random& random) {
  std::call_once(curl_init_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CUSTOS_RETURN_IF_ERROR(CheckUrl(options.url));
  if (!core::iam::IsValidEmail(options.mail.from.address)) {
    return core::InvalidArgument("--mail-from needs an address");
  }
  if (options.max_attempts < 1) return core::InvalidArgument("max_attempts must be at least 1");
  auto impl = std::make_unique<Impl>();
  const SmtpServer server = *SmtpServer::Parse(options.url);  // CheckUrl parsed it
  impl->where = server.Where();
  impl->loopback = server.IsLoopback();
  const std::string& from = options.mail.from.address;
  impl->domain = from.substr(from.find('@') + 1);
  impl->options = std::move(options);
  impl->clock = &clock;
  impl->random = &random;
  impl->curl = curl_easy_init();
  if (impl->curl == nullptr) return core::Internal("libcurl: cannot make an easy handle");
  Impl* raw = impl.get();
  std::unique_ptr<SmtpMailer> mailer(new SmtpMailer(std::move(impl)));
  raw->worker = std::thread([raw] { raw->Run(); });
  return mailer;
}

void SmtpMailer::Publish(const core::iam::Notification& notification) {
  if (notification.email.empty()) return;  // an API client's secret: the topic's alone
  bool stopping = false;
  {
    std::lock_guard lock(impl_->mu);
    stopping = impl_->stopping;
    // Credentials (temporary passwords, invitation links) may fill the whole queue; what only
    // informs (a membership change) stops at three quarters, so that a large group's deletion
    // never crowds out a credential whose only copy is this mail.
    const bool informs = notification.type == core::iam::kMembershipChanged;
    const size_t room = informs ? impl_->options.max_queued / 4 * 3 : impl_->options.max_queued;
    // The message being tried counts: it comes back to the queue if the try fails.
    if (!stopping && impl_->queue.size() + impl_->trying < room) {
      impl_->queue.emplace(std::chrono::steady_clock::now(), Pending{notification, 0});
      impl_->queued.fetch_add(1);
      impl_->wake.notify_one();
      return;
    }
  }
  impl_->Fail(Pending{notification, 0},
              stopping ? "the server is stopping" : "the mail queue is full");
}

void SmtpMailer::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_one();
  if (impl_->worker.joinable()) impl_->worker.join();
}

SmtpMailer::Stats SmtpMailer::stats() const {
  return Stats{impl_->sent.load(), impl_->retries.load(), impl_->failed.load(),
               impl_->queued.load()};
}

}  // namespace custos::storage
