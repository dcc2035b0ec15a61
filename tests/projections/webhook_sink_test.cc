// The webhook sink through libcurl (storage::CurlPoster) against an HTTP receiver on loopback
// written here: every event once, in log order, signed; a batch refused (503) sent again byte
// for byte; a 413 halving the batch; a restart resuming after the stored cursor; Splunk HEC
// bodies; a post that never gets an answer cancelled by Stop; URLs refused.
#include "projections/webhook_sink.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "core/clock.h"
#include "core/event.h"
#include "core/hex.h"
#include "core/json_value.h"
#include "core/sha256.h"
#include "storage/curl_poster.h"
#include "storage/rocks_store.h"
#include "tests/support/test_store.h"
#include "tests/support/test_support.h"

namespace custos::projections {
namespace {

using namespace std::chrono_literals;
using testing::WaitUntil;

struct Received {
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  int answered = 0;  // the status it got (0: none)
};

// A small HTTP/1.1 server on 127.0.0.1: reads each POST (Content-Length bodies, keep-alive)
// and answers what `decide` says: a status, or 0 to hang until the receiver stops.
class Receiver {
 public:
  explicit Receiver(std::function<int(const Received&, size_t index)> decide)
      : decide_(std::move(decide)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(listener_, 16), 0);
    socklen_t len = sizeof a;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Accept(); });
  }
  ~Receiver() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    ::shutdown(listener_, SHUT_RDWR);
    if (const int fd = conn_.load(); fd >= 0) ::shutdown(fd, SHUT_RDWR);  // a kept connection
    ::close(listener_);
    thread_.join();
  }
  [[nodiscard]] std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/hook";
  }
  std::string answer_body = "ok";  // set before the first post

  std::vector<Received> received() {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  void Accept() {
    while (true) {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      conn_ = fd;
      {
        std::lock_guard lock(mu_);
        if (stopping_) ::shutdown(fd, SHUT_RDWR);
      }
      Serve(fd);  // one connection at a time: the sink keeps one
      conn_ = -1;
      ::close(fd);
    }
  }
  void Serve(int fd) {
    std::string in;
    char buf[65536];
    while (true) {
      size_t end;
      while ((end = in.find("\r\n\r\n")) == std::string::npos) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return;
        in.append(buf, static_cast<size_t>(n));
      }
      Received r;
      size_t at = in.find("\r\n") + 2;
      while (at < end) {
        const size_t eol = in.find("\r\n", at);
        const std::string line = in.substr(at, eol - at);
        const size_t colon = line.find(':');
        std::string name = line.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
        at = eol + 2;
      }
      const size_t length = std::stoul(r.headers["content-length"]);
      in.erase(0, end + 4);
      while (in.size() < length) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return;
        in.append(buf, static_cast<size_t>(n));
      }
      r.body = in.substr(0, length);
      in.erase(0, length);
      size_t index;
      {
        std::lock_guard lock(mu_);
        index = received_.size();
        received_.push_back(r);
      }
      const int status = decide_(r, index);
      if (status == 0) {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_; });
        return;
      }
      {
        std::lock_guard lock(mu_);
        received_[index].answered = status;
      }
      const std::string answer = "HTTP/1.1 " + std::to_string(status) +
                                 " X\r\nContent-Length: " + std::to_string(answer_body.size()) +
                                 "\r\nContent-Type: text/plain\r\n\r\n" + answer_body;
      if (::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL) < 0) return;
    }
  }

  std::function<int(const Received&, size_t)> decide_;
  int listener_ = -1;
  std::atomic<int> conn_{-1};
  uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<Received> received_;
};

constexpr char kSecret[] = "a-shared-secret-of-the-test";

class WebhookSinkTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(testing::OpenTestStore(dir_, clock_, store_)); }

  void StartSink(const std::string& url, WebhookOptions options = {}) {
    storage::CurlPosterOptions poster;
    poster.url = url;
    poster.timeout = 20s;
    auto made = storage::CurlPoster::Create(poster);
    ASSERT_TRUE(made.ok()) << made.error().message;
    poster_ = std::move(made).value();
    options.secret = kSecret;
    options.first_backoff = 10ms;
    options.max_backoff = 50ms;
    sink_ = std::make_unique<WebhookSink>(*store_, *store_, *poster_, clock_, options);
    ASSERT_TRUE(sink_->Start().ok());
  }
  void StopSink(std::chrono::milliseconds drain = 5s) {
    sink_->Stop(drain);
    sink_.reset();
    poster_.reset();
  }

  void Append(int n, int tenants) { testing::AppendRoundRobin(*store_, n, tenants); }
  std::vector<std::string> LogLines() {
    std::vector<std::string> out;
    core::Result<std::vector<core::StoredEvent>> events = store_->Read(core::Seq(1), 1000000);
    EXPECT_TRUE(events.ok());
    for (const core::StoredEvent& e : *events) out.push_back(e.line);
    return out;
  }
  // The lines of the batches the receiver accepted (2xx), in the order it accepted them.
  static std::vector<std::string> AcceptedLines(const std::vector<Received>& received) {
    std::vector<std::string> out;
    for (const Received& r : received) {
      if (r.answered < 200 || r.answered >= 300) continue;
      size_t at = 0;
      while (at < r.body.size()) {
        const size_t nl = r.body.find('\n', at);
        out.push_back(r.body.substr(at, nl - at));
        at = nl + 1;
      }
    }
    return out;
  }

  testing::TempDir dir_;
  core::SystemClock clock_;
  std::unique_ptr<storage::RocksStore> store_;
  std::unique_ptr<storage::CurlPoster> poster_;
  std::unique_ptr<WebhookSink> sink_;
};

TEST_F(WebhookSinkTest, EveryEventOnceInLogOrderSignedAndARefusedBatchSentAgainByteForByte) {
  Append(300, 4);
  Receiver receiver([](const Received&, size_t index) { return index < 3 ? 503 : 200; });
  WebhookOptions options;
  options.max_batch_events = 128;
  StartSink(receiver.url(), options);
  std::thread writer([this] { Append(700, 4); });  // more while it runs
  writer.join();
  ASSERT_TRUE(sink_->WaitDelivered(store_->LastSeq(), 30s).ok());

  const std::vector<Received> got = receiver.received();
  EXPECT_EQ(AcceptedLines(got), LogLines()) << "every event once, in log order";
  ASSERT_GE(got.size(), 4u);
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(got[i].body, got[0].body) << "the refused batch is sent again as it was";
    EXPECT_EQ(got[i].headers.at("custos-batch"), got[0].headers.at("custos-batch"));
  }
  EXPECT_EQ(got[3].answered, 200);
  for (const Received& r : got) {
    EXPECT_EQ(r.headers.at("content-type"), "application/x-ndjson");
    EXPECT_EQ(r.headers.at("custos-signature"),
              "sha256=" + core::DigestHex(core::HmacSha256(kSecret, r.body)));
    EXPECT_EQ(r.headers.count("authorization"), 0u);
    EXPECT_LE(std::count(r.body.begin(), r.body.end(), '\n'), 128);
  }
  const WebhookStats s = sink_->stats();
  EXPECT_EQ(s.delivered, 1000u);
  EXPECT_EQ(s.failures, 3u);
  EXPECT_FALSE(s.failing);
  EXPECT_EQ(s.lag_events, 0u);
  EXPECT_EQ(store_->GetCheckpoint(kWebhookCheckpoint)->value(), store_->LastSeq());
}

TEST_F(WebhookSinkTest, ARestartResumesAfterTheStoredCursor) {
  Append(50, 3);
  {
    Receiver first([](const Received&, size_t) { return 204; });
    StartSink(first.url());
    ASSERT_TRUE(sink_->WaitDelivered(store_->LastSeq(), 30s).ok());
    StopSink();
  }
  const uint64_t delivered = store_->LastSeq().value();
  Append(30, 3);
  Receiver second([](const Received&, size_t) { return 200; });
  StartSink(second.url());
  ASSERT_TRUE(sink_->WaitDelivered(store_->LastSeq(), 30s).ok());
  const std::vector<std::string> all = LogLines();
  EXPECT_EQ(AcceptedLines(second.received()),
            std::vector<std::string>(all.begin() + static_cast<ptrdiff_t>(delivered), all.end()));
}

TEST_F(WebhookSinkTest, A413HalvesTheBatchUntilItFits) {
  Append(40, 2);
  // The endpoint takes at most 5 events a post.
  Receiver receiver([](const Received& r, size_t) {
    return std::count(r.body.begin(), r.body.end(), '\n') > 5 ? 413 : 200;
  });
  StartSink(receiver.url());
  ASSERT_TRUE(sink_->WaitDelivered(store_->LastSeq(), 30s).ok());
  EXPECT_EQ(AcceptedLines(receiver.received()), LogLines());
}

TEST_F(WebhookSinkTest, SplunkHecEventsCarryTheLineAndTheToken) {
  Append(10, 2);
  Receiver receiver([](const Received&, size_t) { return 200; });
  WebhookOptions options;
  options.format = WebhookFormat::kSplunkHec;
  options.host = "custos-1";
  StartSink(receiver.url(), options);
  ASSERT_TRUE(sink_->WaitDelivered(store_->LastSeq(), 30s).ok());
  const std::vector<std::string> lines = LogLines();
  std::vector<std::string> events;
  for (const Received& r : receiver.received()) {
    EXPECT_EQ(r.headers.at("authorization"), std::string("Splunk ") + kSecret);
    EXPECT_EQ(r.headers.at("content-type"), "application/json");
    EXPECT_EQ(r.headers.at("custos-signature"),
              "sha256=" + core::DigestHex(core::HmacSha256(kSecret, r.body)));
  }
  for (const std::string& hec : AcceptedLines(receiver.received())) {
    ASSERT_LT(events.size(), lines.size()) << "more accepted than stored";
    core::Result<core::JsonValue> v = core::ParseJson(hec);
    ASSERT_TRUE(v.ok()) << hec;
    const core::LineFields f = *core::ParseLineFields(lines[events.size()]);
    EXPECT_EQ(v->Find("host")->text(), "custos-1");
    EXPECT_EQ(v->Find("sourcetype")->text(), "custos:audit");
    EXPECT_EQ(v->Find("fields")->Find("tenant")->text(), f.tenant);
    EXPECT_EQ(v->Find("fields")->Find("type")->text(), f.type);
    EXPECT_EQ(*v->Find("time")->AsDouble() * 1000, static_cast<double>(core::ToUnixMillis(f.time)));
    events.push_back(v->Find("event")->ToJson());
  }
  EXPECT_EQ(events, lines);
}

TEST_F(WebhookSinkTest, StopCancelsAPostThatGetsNoAnswer) {
  Append(5, 1);
  Receiver receiver([](const Received&, size_t) { return 0; });  // never answers
  StartSink(receiver.url());
  ASSERT_TRUE(WaitUntil([&] { return !receiver.received().empty(); }, 10s));
  const auto before = std::chrono::steady_clock::now();
  StopSink(500ms);
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);  // not the 20 s post timeout
  EXPECT_FALSE(store_->GetCheckpoint(kWebhookCheckpoint)->has_value());
}

// A hostile endpoint's answer reaches the log: cut short, with no line break or escape to
// forge a line with.
TEST(CurlPosterTest, AnAnswerIsKeptShortAndWithoutControlBytes) {
  Receiver receiver([](const Received&, size_t) { return 500; });
  receiver.answer_body =
      "bad\n2026-12-02T00:00:00.000Z info the webhook endpoint accepts batches again\x1b[2J" +
      std::string(4000, 'x');
  storage::CurlPosterOptions o;
  o.url = receiver.url();
  auto poster = storage::CurlPoster::Create(o);
  ASSERT_TRUE(poster.ok()) << poster.error().message;
  const core::MessageHeader headers[] = {{"Content-Type", "application/x-ndjson"}};
  core::Result<core::HttpAnswer> answer = (*poster)->Post("{}\n", headers);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->status, 500);
  EXPECT_EQ(answer->body_head.size(), 512u);
  EXPECT_EQ(answer->body_head.rfind("bad?2026-12-02", 0), 0u) << answer->body_head;
  EXPECT_EQ(answer->body_head.find_first_of("\n\r\x1b"), std::string::npos);
}

TEST(CurlPosterTest, OnlyHttpUrlsWithAHostAndNoCredentials) {
  for (const char* bad : {"ftp://example.com/x", "file:///etc/passwd", "example.com/hook",
                          "https://user:pw@example.com/hook", "http:///hook", ""}) {
    storage::CurlPosterOptions o;
    o.url = bad;
    EXPECT_FALSE(storage::CurlPoster::CheckOptions(o).ok()) << bad;
  }
  storage::CurlPosterOptions o;
  o.url = "https://siem.example.com:8088/services/collector/event";
  EXPECT_TRUE(storage::CurlPoster::CheckOptions(o).ok());
  o.ca_file = "/nonexistent/ca.pem";
  EXPECT_FALSE(storage::CurlPoster::CheckOptions(o).ok());
}

}  // namespace
}  // namespace custos::projections
