// Hostile HTTP against the server: malformed request lines and headers, oversize headers,
// slowloris connections, 1,000 idle connections and half-closed sockets. Each is answered
// (4xx) or closed, none holds the server, and a normal request still succeeds within 100 ms
// afterwards — with the idle connections still open. Then the bounds on what one client can
// make the server hold: connections per source address and in all (503 beyond), bodies
// refused on their headers before a byte of them is read, answers a client never reads.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
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
  // From `source` (any 127.x.y.z: loopback takes them all), so that a test can be several
  // clients.
  explicit Conn(uint16_t port, const char* source = nullptr) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (source != nullptr && fd_ >= 0) {
      sockaddr_in from{};
      from.sin_family = AF_INET;
      ::inet_pton(AF_INET, source, &from.sin_addr);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
        ::close(fd_);
        fd_ = -1;
      }
    }
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
  void SetUp() override { Start(Options()); }

  static api::ServerOptions Options() {
    api::ServerOptions options{"127.0.0.1", 0, 2};
    options.read_timeout = 500ms;
    options.idle_timeout = 4s;  // well beyond the read timeout: slowloris must meet the latter
    return options;
  }

  // (Re)starts the server with `options`; every request it reads is counted in handled_ and
  // answered with `body`.
  void Start(api::ServerOptions options, std::string body = "{\"ok\":true}") {
    if (server_) server_->Stop();
    server_.reset();
    auto server = api::HttpServer::Start(
        options, [this, body](api::HttpRequest, api::Responder respond) {
          ++handled_;
          api::HttpResponse r;
          r.body = body;
          respond(std::move(r));
        });
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(server).value();
  }

  // Waits until `done` holds or 5 s pass.
  static bool WaitFor(const std::function<bool()>& done) {
    const auto deadline = Clock::now() + 5s;
    while (!done()) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(10ms);  // polling interval
    }
    return true;
  }

  std::atomic<int> handled_{0};

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
  // From four addresses: 250 each, within the default cap of 256 per address.
  std::vector<Conn> idle;
  const char* sources[] = {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"};
  for (int i = 0; i < 1000; ++i) {
    idle.emplace_back(server_->port(), sources[i % 4]);
    ASSERT_TRUE(idle.back().connected()) << "connection " << i;
  }
  // Some send half a request and stop there.
  for (int i = 0; i < 1000; i += 10) idle[i].Send("GET / HTTP/1.1\r\n");
  // The quickest of three: a delay the idle connections cause delays each of them, a
  // scheduling hiccup of the machine (a sanitizer build on two cores) only one.
  auto quickest = std::chrono::milliseconds::max();
  for (int i = 0; i < 3; ++i) {
    const auto [status, took] = Normal();
    EXPECT_EQ(status, 200);
    quickest = std::min(quickest, took);
  }
  EXPECT_LE(quickest.count(), 100) << "a normal request beside 1,000 idle connections";
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

namespace custos::testing {
namespace {

// Reads one answer's status line from a connection ("" if none within 5 s).
std::string StatusLine(Conn& c) {
  bool closed = false;
  const std::string reply = c.ReadToClose(5s, &closed);
  return reply.substr(0, reply.find("\r\n"));
}

TEST_F(HostileHttpTest, ConnectionsPastTheCapsAre503AndOthersStillServed) {
  api::ServerOptions options = Options();
  options.max_connections_per_address = 8;
  options.max_connections = 20;
  Start(options);
  // Eight from one address are served; the ninth is told 503 and closed.
  std::vector<Conn> held;
  for (int i = 0; i < 8; ++i) {
    held.emplace_back(server_->port(), "127.0.0.2");
    ASSERT_TRUE(held.back().connected());
  }
  ASSERT_TRUE(WaitFor([&] { return server_->connections() == 8; }));
  Conn ninth(server_->port(), "127.0.0.2");
  bool closed = false;
  const std::string refused = ninth.ReadToClose(5s, &closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(refused.rfind("HTTP/1.1 503", 0), 0u) << refused;
  EXPECT_NE(refused.find("Retry-After: 1"), std::string::npos) << refused;
  // Another address is not held back by the first.
  EXPECT_EQ(Normal().first, 200);
  // (its connection must be gone before the count below means what it says)
  ASSERT_TRUE(WaitFor([&] { return server_->connections() == 8; }));
  // Twenty in all: the twenty-first, from a fresh address, is refused too.
  for (const char* source : {"127.0.0.3", "127.0.0.4"}) {
    for (int i = 0; i < 6; ++i) {
      held.emplace_back(server_->port(), source);
      ASSERT_TRUE(held.back().connected());
    }
  }
  ASSERT_TRUE(WaitFor([&] { return server_->connections() == 20; }));
  Conn past(server_->port(), "127.0.0.5");
  EXPECT_EQ(past.ReadToClose(5s, &closed).rfind("HTTP/1.1 503", 0), 0u);
  // Once some go, new ones are served again (the eight of the first address stay).
  while (held.size() > 10) held.pop_back();
  ASSERT_TRUE(WaitFor([&] { return server_->connections() == 10; }));
  Conn again_fresh(server_->port(), "127.0.0.4");
  again_fresh.Send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(StatusLine(again_fresh), "HTTP/1.1 200 OK");
}

TEST_F(HostileHttpTest, ABodyIsRefusedOnItsHeadersBeforeAByteOfItIsRead) {
  api::ServerOptions options = Options();
  options.read_timeout = 5s;
  std::atomic<int> admitted{0};
  options.admit = [&](api::HttpRequest& head) {
    ++admitted;
    api::Admission a;
    a.body_limit = 1000;
    if (!head.Header("authorization")) {
      api::HttpResponse r;
      r.status = 401;
      r.content_type = "application/problem+json";
      r.body = "{\"status\":401}";
      a.answer = std::move(r);
    }
    EXPECT_TRUE(head.body.empty());
    return a;
  };
  Start(options);
  // No credentials, a 100 MB body announced and none sent: 401 at once, the handler never
  // runs, and the connection closes.
  Conn anonymous(server_->port());
  anonymous.Send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n");
  bool closed = false;
  const std::string reply = anonymous.ReadToClose(5s, &closed);
  EXPECT_EQ(reply.rfind("HTTP/1.1 401", 0), 0u) << reply;
  EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
  EXPECT_TRUE(closed);
  EXPECT_EQ(handled_.load(), 0);
  // A client still sending its body when refused gets the answer, not a reset.
  Conn sending(server_->port());
  sending.Send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n");
  sending.Send(std::string(200000, 'a'));
  EXPECT_EQ(StatusLine(sending), "HTTP/1.1 401 Unauthorized");
  // With credentials, the route's limit counts before the body too: 413.
  Conn big(server_->port());
  big.Send("POST /x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n"
           "Content-Length: 5000\r\n\r\n");
  EXPECT_EQ(StatusLine(big), "HTTP/1.1 413 Payload Too Large");
  // Within it, the request goes through; a request with no body is not asked about.
  Conn fine(server_->port());
  fine.Send("POST /x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n"
            "Content-Length: 5\r\nConnection: close\r\n\r\nhello");
  EXPECT_EQ(StatusLine(fine), "HTTP/1.1 200 OK");
  const int before = admitted.load();
  EXPECT_EQ(Normal().first, 200);
  EXPECT_EQ(admitted.load(), before);
  EXPECT_EQ(handled_.load(), 2);
}

TEST_F(HostileHttpTest, AnswersAClientNeverReadsAreBoundedInBytes) {
  api::ServerOptions options = Options();
  options.read_timeout = 10s;
  options.max_queued_bytes = 2 << 20;
  Start(options, std::string(1 << 20, 'x'));  // 1 MiB answers
  // Sixteen pipelined requests, and the client reads nothing.
  Conn deaf(server_->port());
  std::string sixteen;
  for (int i = 0; i < 16; ++i) sixteen += "GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(deaf.Send(sixteen));
  // The server makes answers until 2 MiB wait unsent (what the socket buffers took aside),
  // then reads no further request from that connection.
  ASSERT_TRUE(WaitFor([&] { return handled_.load() >= 2; }));
  EXPECT_EQ(Normal().first, 200);  // another connection is served meanwhile
  const int made = handled_.load() - 1;
  EXPECT_LT(made, 16) << "every answer was made for a client that reads none";
  // Once it reads, the rest follow.
  bool closed = false;
  std::string all;
  const auto deadline = Clock::now() + 10s;
  while (Clock::now() < deadline && handled_.load() < 17) all += deaf.ReadToClose(100ms, &closed);
  EXPECT_EQ(handled_.load(), 17);
}

}  // namespace
}  // namespace custos::testing
