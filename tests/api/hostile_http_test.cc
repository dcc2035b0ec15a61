// Hostile HTTP against the server: malformed request lines and headers, oversize headers,
// slowloris connections, 1,000 idle connections and half-closed sockets. Each is answered
// (4xx) or closed, none holds the server, and a normal request still succeeds within 100 ms
// afterwards — with the idle connections still open.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "api/server.h"
#include "tests/support/http_client.h"

namespace custos::testing {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// One raw TCP connection to the server.
class Conn {
 public:
  explicit Conn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  Conn(Conn&& o) noexcept : fd_(o.fd_), connected_(o.connected_) { o.fd_ = -1; }

  [[nodiscard]] bool connected() const { return connected_; }
  bool Send(std::string_view bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

  // Reads until the server closes the connection or `timeout` passes; `closed` says which.
  std::string ReadToClose(std::chrono::milliseconds timeout, bool* closed) {
    std::string out;
    const auto deadline = Clock::now() + timeout;
    *closed = false;
    while (Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(1, left.count()))) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        *closed = true;
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  // True once the server has closed its side (a read returns 0 or an error) — without
  // waiting.
  bool ClosedByServer() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    char buf[256];
    return ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT) <= 0;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

class HostileHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api::ServerOptions options{"127.0.0.1", 0, 2};
    options.read_timeout = 500ms;
    options.idle_timeout = 4s;  // well beyond the read timeout: slowloris must meet the latter
    auto server = api::HttpServer::Start(options, [](api::HttpRequest, api::Responder respond) {
      api::HttpResponse r;
      r.body = "{\"ok\":true}";
      respond(std::move(r));
    });
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(server).value();
  }

  // A normal request on a fresh connection: its status, and how long it took.
  std::pair<int, std::chrono::milliseconds> Normal() {
    const auto t0 = Clock::now();
    HttpReply r = HttpClient(server_->port()).Send("GET", "/healthz");
    return {r.status, std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0)};
  }

  // Sends `bytes` and expects a 4xx answer or a close, and the connection closed soon.
  void ExpectRefused(const std::string& bytes) {
    Conn c(server_->port());
    ASSERT_TRUE(c.connected());
    c.Send(bytes);
    bool closed = false;
    const std::string reply = c.ReadToClose(5s, &closed);
    EXPECT_TRUE(closed) << "still open after " << ::testing::PrintToString(bytes);
    if (!reply.empty()) {
      EXPECT_EQ(reply.rfind("HTTP/1.1 4", 0), 0u) << reply << " for " << bytes;
    }
  }

  std::unique_ptr<api::HttpServer> server_;
};

TEST_F(HostileHttpTest, MalformedRequestsAreRefusedAndClosed) {
  for (const std::string& bytes : std::vector<std::string>{
           "GARBAGE\r\n\r\n",
           "GET\r\n\r\n",
           "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
           "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
           std::string("\x00\x01\x02\xff\r\n\r\n", 8),
           "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
           "GET / HTTP/1.1\r\nHost: x\r\nBad Name: x\r\n\r\n",
           "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
           "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
           "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
           "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
       }) {
    ExpectRefused(bytes);
  }
  const auto [status, took] = Normal();
  EXPECT_EQ(status, 200);
}

TEST_F(HostileHttpTest, OversizeHeadersAre431) {
  Conn big(server_->port());
  big.Send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n");
  bool closed = false;
  EXPECT_EQ(big.ReadToClose(5s, &closed).rfind("HTTP/1.1 431", 0), 0u);
  std::string many = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 5000; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  Conn lots(server_->port());
  lots.Send(many + "\r\n");
  EXPECT_EQ(lots.ReadToClose(5s, &closed).rfind("HTTP/1.1 431", 0), 0u);
  EXPECT_EQ(Normal().first, 200);
}

TEST_F(HostileHttpTest, SlowlorisConnectionsAreCutAtTheReadTimeout) {
  std::vector<Conn> slow;
  for (int i = 0; i < 50; ++i) {
    slow.emplace_back(server_->port());
    ASSERT_TRUE(slow.back().connected());
    slow.back().Send("GET / HTTP/1.1\r\nHost: x\r\n");
  }
  // Trickle a header byte now and then: the request never completes, and the server must
  // not wait for it longer than its read timeout (0.5 s) however alive the client looks —
  // certainly not its idle timeout (4 s).
  const auto deadline = Clock::now() + 3s;
  size_t open = slow.size();
  while (open > 0 && Clock::now() < deadline) {
    open = 0;
    for (Conn& c : slow) {
      if (c.ClosedByServer()) continue;
      ++open;
      c.Send("X");
    }
    std::this_thread::sleep_for(50ms);  // the trickle's pace, not a wait for the outcome
    // Meanwhile the server answers others.
  }
  EXPECT_EQ(open, 0u) << "slowloris connections still open after 3 s";
  EXPECT_EQ(Normal().first, 200);
}

TEST_F(HostileHttpTest, AThousandIdleConnectionsDoNotDelayANormalRequest) {
  std::vector<Conn> idle;
  for (int i = 0; i < 1000; ++i) {
    idle.emplace_back(server_->port());
    ASSERT_TRUE(idle.back().connected()) << "connection " << i;
  }
  // Some send half a request and stop there.
  for (int i = 0; i < 1000; i += 10) idle[i].Send("GET / HTTP/1.1\r\n");
  const auto [status, took] = Normal();
  EXPECT_EQ(status, 200);
  EXPECT_LE(took.count(), 100) << "a normal request beside 1,000 idle connections";
  // The idle ones are closed by the server in time (read or idle timeout).
  const auto deadline = Clock::now() + 15s;
  size_t open = idle.size();
  while (open > 0 && Clock::now() < deadline) {
    open = 0;
    for (Conn& c : idle) open += c.ClosedByServer() ? 0 : 1;
    if (open > 0) std::this_thread::sleep_for(50ms);  // polling interval
  }
  EXPECT_EQ(open, 0u);
  EXPECT_EQ(Normal().first, 200);
}

TEST_F(HostileHttpTest, AHalfClosedSocketGetsItsAnswerThenTheClose) {
  Conn c(server_->port());
  c.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  c.ShutdownWrite();
  bool closed = false;
  const std::string reply = c.ReadToClose(5s, &closed);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  EXPECT_TRUE(closed);
  // Half-closed before the request was complete: closed without an answer, or a 400.
  Conn partial(server_->port());
  partial.Send("GET /healthz HTTP/1.1\r\nHo");
  partial.ShutdownWrite();
  const std::string cut = partial.ReadToClose(5s, &closed);
  EXPECT_TRUE(closed);
  if (!cut.empty()) {
    EXPECT_EQ(cut.rfind("HTTP/1.1 400", 0), 0u) << cut;
  }
  const auto [status, took] = Normal();
  EXPECT_EQ(status, 200);
  EXPECT_LE(took.count(), 100);
}

}  // namespace
}  // namespace custos::testing
