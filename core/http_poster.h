// HttpPoster: the port through which the webhook sink (projections/webhook_sink.h) hands a
// batch to an HTTP endpoint and learns what it answered. The adapter is storage::CurlPoster
// (libcurl); the sink keeps the batches, the order and the cursor.
//
// Thread-safety: one thread calls Post at a time; Cancel may be called from any thread.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "core/publisher.h"
#include "core/result.h"

namespace custos::core {

struct HttpAnswer {
  long status = 0;        // the HTTP status
  std::string body_head;  // the first bytes of the answer's body, for the log
};

class HttpPoster {
 public:
  virtual ~HttpPoster() = default;

  // POSTs `body` with `headers` to the endpoint. kUnavailable when no answer came (refused,
  // timed out, TLS failed, cancelled), with why; any answer, whatever its status, is OK.
  [[nodiscard]] virtual Result<HttpAnswer> Post(std::string_view body,
                                                std::span<const MessageHeader> headers) = 0;
  // Makes a Post in progress, and every later one, give up at once.
  virtual void Cancel() = 0;
};

}  // namespace custos::core
