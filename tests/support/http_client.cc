#include "tests/support/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace custos::testing {
namespace {

int Connect(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  }
  return fd;
}

void WriteAll(int fd, const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;  // the server may close early (413, 431): read what it said
    off += static_cast<size_t>(n);
  }
}

std::string ReadUntilClosed(int fd, std::chrono::milliseconds timeout) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

HttpReply HttpClient::Parse(const std::string& raw, size_t* consumed) {
  HttpReply reply;
  const size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || raw.compare(0, 5, "HTTP/") != 0) return reply;
  reply.status = std::atoi(raw.c_str() + raw.find(' ') + 1);
  size_t pos = raw.find("\r\n") + 2;
  while (pos < head_end) {
    const size_t eol = raw.find("\r\n", pos);
    const std::string line = raw.substr(pos, eol - pos);
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      reply.headers[Lower(line.substr(0, colon))] = value;
    }
    pos = eol + 2;
  }
  size_t body_start = head_end + 4;
  if (Lower(reply.Header("transfer-encoding")) == "chunked") {
    size_t p = body_start;
    while (true) {
      const size_t eol = raw.find("\r\n", p);
      if (eol == std::string::npos) break;
      const size_t size = std::stoul(raw.substr(p, eol - p), nullptr, 16);
      p = eol + 2;
      if (size == 0) {
        p += 2;
        break;
      }
      reply.body += raw.substr(p, size);
      p += size + 2;
    }
    if (consumed != nullptr) *consumed = p;
  } else {
    const std::string length = reply.Header("content-length");
    const size_t n = length.empty() ? raw.size() - body_start : std::stoul(length);
    reply.body = raw.substr(body_start, n);
    if (consumed != nullptr) *consumed = body_start + n;
  }
  return reply;
}

HttpReply HttpClient::Send(const std::string& method, const std::string& target,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::string& body) const {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  bool has_type = false;
  for (const auto& [k, v] : headers) {
    req += k + ": " + v + "\r\n";
    has_type = has_type || Lower(k) == "content-type";
  }
  if (!body.empty() && !has_type) req += "Content-Type: application/json\r\n";
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  return Parse(Raw(req, timeout_));
}

HttpReply HttpClient::Json(const std::string& method, const std::string& target,
                           const std::string& token, const std::string& body,
                           std::vector<std::pair<std::string, std::string>> headers) const {
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
  return Send(method, target, headers, body);
}

std::string HttpClient::Raw(const std::string& bytes, std::chrono::milliseconds timeout) const {
  const int fd = Connect(port_);
  WriteAll(fd, bytes);
  std::string out = ReadUntilClosed(fd, timeout);
  ::close(fd);
  return out;
}

}  // namespace custos::testing
