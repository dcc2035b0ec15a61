// The HTTP request and response as the routes see them: plain values, no Beast types (the
// server in internal/ translates). Handlers answer through a Responder, possibly later and
// from another thread (after an fsync); the server puts the answer back in order.
//
// Thread-safety: plain values; a Responder may be called once, from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace custos::api {

struct HttpRequest {
  std::string method;                                        // GET, POST, …
  std::string target;                                        // as sent: path and query
  std::string path;                                          // decoded path without the query
  std::vector<std::pair<std::string, std::string>> query;    // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;
  std::string remote_ip;
  std::string request_id;  // X-Request-Id as sent, or one made up by the server
  // Runs work on the connection's own executor (set by the server; inline when empty), so
  // that answers computed after an fsync are not computed on the log's commit thread.
  std::function<void(std::function<void()>)> dispatch;
  // What the admission (ServerOptions::admit) learned from the headers, for the handler to
  // reuse (the Api keeps its route match there); empty for a request with no body.
  std::shared_ptr<const void> admitted;

  // The first header / query parameter with that name.
  [[nodiscard]] std::optional<std::string_view> Header(std::string_view lower_name) const;
  [[nodiscard]] std::optional<std::string_view> Query(std::string_view name) const;
};

// A body made piece by piece while it is sent (exports): the server asks for the next piece
// only once the previous one is written, so memory stays bounded whatever the total size,
// and sends each piece as one chunk (Transfer-Encoding: chunked). Called on the connection's
// strand, one call at a time.
class BodyStream {
 public:
  enum class Step : uint8_t { kMore, kEnd, kFailed };
  virtual ~BodyStream() = default;
  // Appends the next piece (about `hint` bytes) to `out`. kEnd: `out` holds the last piece
  // (maybe empty). kFailed: the body cannot be completed; the server cuts the connection
  // without the final chunk, so the client sees a truncated body, never a complete one.
  virtual Step Next(std::string& out, size_t hint) = 0;
  // What the server calls: makes the next piece wherever the stream's work may block (a
  // stream that reads the store runs Next on a pool), then calls `done` from any thread; the
  // server writes `out` only after that. By default, Next at once.
  virtual void NextAsync(std::string& out, size_t hint, std::function<void(Step)> done) {
    done(Next(out, hint));
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::shared_ptr<BodyStream> stream;  // when set, the body (`body` is ignored)

  HttpResponse& Header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

using Responder = std::function<void(HttpResponse)>;

// What the server does with a request whose headers have arrived and whose body has not:
// read a body of at most `body_limit` bytes (413 beyond), or send `answer` at once without
// reading the body (the connection then closes). See ServerOptions::admit.
struct Admission {
  size_t body_limit = size_t{1} << 20;
  std::optional<HttpResponse> answer;
};

// Percent-decoding of a path or query component ('+' is a space in queries). False on a
// malformed escape.
[[nodiscard]] bool PercentDecode(std::string_view in, bool plus_is_space, std::string& out);
// Splits "a=1&b=2" into decoded pairs; false on a malformed escape.
[[nodiscard]] bool ParseQuery(std::string_view query,
                              std::vector<std::pair<std::string, std::string>>& out);

}  // namespace custos::api
