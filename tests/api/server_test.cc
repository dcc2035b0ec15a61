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

}  // namespace
}  // namespace custos::testing
