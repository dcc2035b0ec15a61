// A small blocking HTTP/1.1 client for tests: real TCP to 127.0.0.1, one connection per
// request (Connection: close), or raw bytes for hostile-input tests.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace custos::testing {

struct HttpReply {
  int status = 0;                              // 0: no answer (connection closed or timed out)
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  [[nodiscard]] std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

class HttpClient {
 public:
  explicit HttpClient(uint16_t port) : port_(port) {}
  // How long Send and Json wait for an answer (10 s unless set).
  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

  HttpReply Send(const std::string& method, const std::string& target,
                 const std::vector<std::pair<std::string, std::string>>& headers = {},
                 const std::string& body = "") const;
  // JSON in and out with a bearer token ("" for none).
  HttpReply Json(const std::string& method, const std::string& target, const std::string& token,
                 const std::string& body = "",
                 std::vector<std::pair<std::string, std::string>> headers = {}) const;
  // Sends raw bytes and reads whatever comes back until the server closes or the timeout.
  std::string Raw(const std::string& bytes,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

  // Parses one response from raw bytes (for pipelining tests); consumed is set to its size.
  static HttpReply Parse(const std::string& raw, size_t* consumed = nullptr);

 private:
  uint16_t port_;
  std::chrono::milliseconds timeout_ = std::chrono::seconds(10);
};

}  // namespace custos::testing
