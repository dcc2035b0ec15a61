#include "tools/bench/http_load.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

namespace custos::tools::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Conn {
  int fd = -1;
  std::string out;
  size_t sent = 0;
  std::string in;
  uint64_t n = 0;  // requests this connection made
  Clock::time_point started;
  bool busy = false;
};

// Length of a complete response at the start of `in`, or 0 if more bytes are needed.
size_t CompleteResponse(const std::string& in, int& status) {
  const size_t head = in.find("\r\n\r\n");
  if (head == std::string::npos) return 0;
  status = std::atoi(in.c_str() + 9);
  size_t length = 0;
  size_t pos = 0;
  while ((pos = in.find('\n', pos)) != std::string::npos && pos < head) {
    ++pos;
    if (strncasecmp(in.c_str() + pos, "content-length:", 15) == 0) {
      length = std::strtoul(in.c_str() + pos + 15, nullptr, 10);
    }
  }
  return in.size() >= head + 4 + length ? head + 4 + length : 0;
}

}  // namespace

core::Result<HttpLoadResult> RunHttpLoad(const HttpLoadOptions& o) {
  const int ep = epoll_create1(0);
  std::vector<Conn> conns(static_cast<size_t>(o.connections));
  for (size_t i = 0; i < conns.size(); ++i) {
    Conn& c = conns[i];
    c.fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(o.ports.empty() ? o.port : o.ports[i % o.ports.size()]);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      return core::Unavailable("load generator cannot connect: " + std::string(strerror(errno)));
    }
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
  }
  HttpLoadResult result;
  result.latencies.micros.reserve(std::min<uint64_t>(o.requests, 1'000'000));
  uint64_t issued = 0;
  uint64_t done = 0;
  const auto deadline = Clock::now() + o.duration;
  // True while requests may still be started: under the count and, with a duration, the time.
  auto open = [&] {
    return issued < o.requests && (o.duration.count() == 0 || Clock::now() < deadline);
  };
  auto issue = [&](size_t i) {
    Conn& c = conns[i];
    if (!open()) return;
    c.out = o.make_request(static_cast<int>(i), c.n++);
    c.sent = 0;
    c.busy = true;
    c.started = Clock::now();
    ++issued;
  };
  auto flush = [&](Conn& c) {
    while (c.busy && c.sent < c.out.size()) {
      const ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      c.sent += static_cast<size_t>(n);
    }
  };
  const auto start = Clock::now();
  for (size_t i = 0; i < conns.size(); ++i) {
    issue(i);
    flush(conns[i]);
  }
  std::vector<epoll_event> events(conns.size());
  char buf[65536];
  while (done < issued || open()) {
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 30'000);
    if (n <= 0) return core::Unavailable("load generator: no answer for 30 s");
    for (int e = 0; e < n; ++e) {
      const size_t i = events[static_cast<size_t>(e)].data.u64;
      Conn& c = conns[i];
      flush(c);
      while (true) {
        const ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
        if (r > 0) {
          c.in.append(buf, static_cast<size_t>(r));
          continue;
        }
        if (r == 0) return core::Unavailable("the server closed a keep-alive connection");
        break;  // EAGAIN
      }
      int status = 0;
      size_t len = 0;
      while (c.busy && (len = CompleteResponse(c.in, status)) != 0) {
        result.latencies.micros.push_back(static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - c.started)
                .count()));
        if (o.on_response) {
          const size_t head = c.in.find("\r\n\r\n") + 4;
          o.on_response(static_cast<int>(i), c.n - 1, status,
                        std::string_view(c.in).substr(head, len - head));
        }
        if (status >= 200 && status < 300) {
          ++result.ok;
        } else {
          if (result.failed++ == 0)
            result.first_failure = c.in.substr(0, std::min(len, size_t{600}));
        }
        c.in.erase(0, len);
        c.busy = false;
        ++done;
        issue(i);
        flush(c);
      }
    }
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (Conn& c : conns) ::close(c.fd);
  ::close(ep);
  return result;
}

}  // namespace custos::tools::bench
