// HttpServer on its own: answers in request order, and a graceful stop that finishes what is
// in flight.
#include "api/server.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "tests/support/http_client.h"

namespace custos::testing {
namespace {

// A handler that holds its answers until the test releases them.
struct HeldHandler {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<api::HttpRequest, api::Responder>> held;

  api::Handler Make() {
    return [this](api::HttpRequest r, api::Responder respond) {
      std::lock_guard lock(mu);
      held.emplace_back(std::move(r), std::move(respond));
      cv.notify_all();
    };
  }
  void WaitFor(size_t n) {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return held.size() >= n; }));
  }
  void Answer(size_t i, std::string body) {
    api::HttpResponse r;
    r.body = std::move(body);
    std::lock_guard lock(mu);
    held[i].second(std::move(r));
  }
};

TEST(HttpServerTest, StopFinishesRequestsInFlight) {
  HeldHandler handler;
  auto server = api::HttpServer::Start(api::ServerOptions{"127.0.0.1", 0, 2}, handler.Make());
  ASSERT_TRUE(server.ok());
  HttpClient client((*server)->port());
  std::string reply;
  std::thread caller([&] { reply = client.Raw("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"); });
  handler.WaitFor(1);
  std::thread stopper([&] { (*server)->Stop(); });
  // Answer only once the stop is under way: the answer must still go out.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!(*server)->stopping() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_TRUE((*server)->stopping());
  handler.Answer(0, "{\"finished\":true}");
  stopper.join();
  caller.join();
  const HttpReply r = HttpClient::Parse(reply);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"finished\":true}");
  EXPECT_EQ(r.Header("connection"), "close");
}

TEST(HttpServerTest, PipelinedAnswersGoOutInRequestOrder) {
  HeldHandler handler;
  auto server = api::HttpServer::Start(api::ServerOptions{"127.0.0.1", 0, 2}, handler.Make());
  ASSERT_TRUE(server.ok());
  HttpClient client((*server)->port());
  std::string reply;
  std::thread caller([&] {
    reply = client.Raw(
        "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: "
        "close\r\n\r\n");
  });
  handler.WaitFor(2);
  handler.Answer(1, "second");  // the later request answers first
  handler.Answer(0, "first");
  caller.join();
  size_t used = 0;
  EXPECT_EQ(HttpClient::Parse(reply, &used).body, "first");
  EXPECT_EQ(HttpClient::Parse(reply.substr(used)).body, "second");
  (*server)->Stop();
}

// A body of `pieces` pieces of 64 KiB, failing instead of making piece `fail_at` (if set).
class PiecesStream final : public api::BodyStream {
 public:
  PiecesStream(int pieces, int fail_at = -1) : pieces_(pieces), fail_at_(fail_at) {}
  Step Next(std::string& out, size_t) override {
    if (made_ == fail_at_) return Step::kFailed;
    out.append(64 * 1024, static_cast<char>('a' + made_ % 26));
    return ++made_ == pieces_ ? Step::kEnd : Step::kMore;
  }

 private:
  int pieces_;
  int fail_at_;
  int made_ = 0;
};

// Answers later, as the export does (after an fsync): by then the server already waits for
// the next request.
api::Handler Streaming(int pieces, int fail_at = -1) {
  return [pieces, fail_at](api::HttpRequest req, api::Responder respond) {
    req.dispatch([pieces, fail_at, respond = std::move(respond)] {
      api::HttpResponse r;
      r.content_type = "text/plain";
      r.stream = std::make_shared<PiecesStream>(pieces, fail_at);
      respond(std::move(r));
    });
  };
}

std::string Expected(int pieces) {
  std::string body;
  for (int i = 0; i < pieces; ++i) body.append(64 * 1024, static_cast<char>('a' + i % 26));
  return body;
}

TEST(HttpServerTest, AStreamedBodyIsChunkedAndOutlivesTheIdleTimeout) {
  api::ServerOptions options{"127.0.0.1", 0, 2};
  // Far shorter than the stream (39 MB), yet long enough for the request to arrive after
  // the accept (1 ms was not, under a sanitizer): the read waiting for the next request
  // must not cut the stream.
  options.idle_timeout = std::chrono::milliseconds(20);
  auto server = api::HttpServer::Start(options, Streaming(600));
  ASSERT_TRUE(server.ok());
  // Keep-alive: the server waits for a next request after the stream, then idles out.
  const std::string reply =
      HttpClient((*server)->port()).Raw("GET /export HTTP/1.1\r\nHost: x\r\n\r\n");
  const HttpReply r = HttpClient::Parse(reply);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("transfer-encoding"), "chunked");
  EXPECT_EQ(r.body.size(), 600u * 64 * 1024);
  EXPECT_TRUE(r.body == Expected(600));
  (*server)->Stop();
}

TEST(HttpServerTest, AStreamedBodyToHttp10RunsToTheClose) {
  auto server = api::HttpServer::Start(api::ServerOptions{"127.0.0.1", 0, 2}, Streaming(3));
  ASSERT_TRUE(server.ok());
  const std::string reply = HttpClient((*server)->port()).Raw("GET /export HTTP/1.0\r\n\r\n");
  const size_t head_end = reply.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  const std::string head = reply.substr(0, head_end);
  EXPECT_EQ(head.rfind("HTTP/1.0 200", 0), 0u) << head;
  EXPECT_EQ(head.find("chunked"), std::string::npos) << head;
  EXPECT_TRUE(reply.substr(head_end + 4) == Expected(3));
  (*server)->Stop();
}

TEST(HttpServerTest, AStreamThatFailsAtOnceIsA500AndLaterATruncatedBody) {
  auto at_once = api::HttpServer::Start(api::ServerOptions{"127.0.0.1", 0, 2}, Streaming(5, 0));
  ASSERT_TRUE(at_once.ok());
  const HttpReply first = HttpClient::Parse(
      HttpClient((*at_once)->port()).Raw("GET /export HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(first.status, 500);
  (*at_once)->Stop();

  auto later = api::HttpServer::Start(api::ServerOptions{"127.0.0.1", 0, 2}, Streaming(5, 2));
  ASSERT_TRUE(later.ok());
  const std::string reply =
      HttpClient((*later)->port()).Raw("GET /export HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u);
  // Two pieces, then the connection closes without the last chunk ("0\r\n\r\n").
  EXPECT_LT(reply.size(), 3u * 64 * 1024);
  EXPECT_NE(reply.substr(reply.size() - 5), "0\r\n\r\n");
  (*later)->Stop();
}

}  // namespace
}  // namespace custos::testing
