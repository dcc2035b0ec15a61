// The Beast side of HttpServer. The only file of api/ that includes Beast and Asio. A session
// is plain TCP or TLS (Session<Stream>), the rest the same.
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <sys/resource.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "api/server.h"
#include "core/log.h"

namespace custos::api {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string MakeRequestId() {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng(std::random_device{}());
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(++counter));
  return buf;
}

// An X-Request-Id the client sent, if it is reasonable to echo.
bool UsableRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

std::string ProblemBody(int status, std::string_view title, std::string_view detail) {
  std::string body = "{\"type\":\"about:blank\",\"title\":\"";
  body += title;
  body += "\",\"status\":";
  body += std::to_string(status);
  body += ",\"detail\":\"";
  body += detail;
  body += "\"}";
  return body;
}

// Who is connected, shared by the server and its sessions (a session may outlive the
// server while a handler still holds its Responder).
struct Registry {
  std::mutex mu;
  std::condition_variable cv;
  std::set<const void*> open;
  std::map<std::string, size_t> per_address;  // open connections by source address
};

// Sent to a connection past a cap, which is then closed.
const std::string& TooManyConnections() {
  static const std::string answer = [] {
    const std::string body =
        ProblemBody(503, "Service Unavailable", "too many connections; retry later");
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n"
           "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  return answer;
}

// What Stop needs of a session, whatever its stream.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void ForceClose() = 0;
  virtual void Shutdown() = 0;
};

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

template <class Stream>
Stream MakeStream(tcp::socket socket, net::ssl::context* tls) {
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    return Stream(std::move(socket), *tls);
  } else {
    return Stream(std::move(socket));
  }
}

template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  // Counted in the registry under `address` (the caller checked the caps). `tls` (TLS
  // sessions only) is the context current when the connection was accepted.
  Session(std::shared_ptr<net::io_context> ioc, tcp::socket socket,
          std::shared_ptr<net::ssl::context> tls, std::string address, const ServerOptions& options,
          const Handler& handler, std::shared_ptr<std::atomic<bool>> stopping,
          std::shared_ptr<Registry> registry)
      : ioc_(std::move(ioc)),
        tls_(std::move(tls)),
        stream_(MakeStream<Stream>(std::move(socket), tls_.get())),
        address_(std::move(address)),
        options_(options),
        handler_(handler),
        stopping_(std::move(stopping)),
        registry_(std::move(registry)) {
    std::lock_guard lock(registry_->mu);
    registry_->open.insert(this);
    ++registry_->per_address[address_];
  }

  ~Session() { Forget(); }

  void Run() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->Begin(); });
  }

  // Posted at the end of Stop's grace period: close whatever is left.
  void ForceClose() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->Close(); });
  }

  // Posted at Stop: close at once if idle, otherwise after the answers in flight.
  void Shutdown() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->closing_ = true;
      if (self->slots_.empty() && (self->waiting_for_request_ || self->handshaking_)) {
        self->Close();
      }
    });
  }

 private:
  struct Slot {
    std::optional<http::response<http::string_body>> response;
    // A streamed answer: `response` holds its head (chunked, empty body), these the rest.
    std::shared_ptr<BodyStream> stream;
    std::optional<http::response<http::empty_body>> head;
    std::optional<http::response_serializer<http::empty_body>> head_writer;
    bool raw = false;  // HTTP/1.0: pieces as they are, no chunk framing
    size_t bytes = 0;  // of `response`'s body, counted in queued_bytes_
  };

  // A TLS session shakes hands first, within the read timeout (a client that never finishes
  // is cut off like a slow request).
  void Begin() {
    if constexpr (kTls) {
      Lowest().expires_after(options_.read_timeout);
      handshaking_ = true;
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                self->handshaking_ = false;
                                if (ec) {
                                  self->closing_ = true;
                                  return self->Close();
                                }
                                self->DoRead();
                              });
    } else {
      DoRead();
    }
  }

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void DoRead() {
    if (closing_ || stopping_->load()) {
      closing_ = true;
      if (slots_.empty()) Close();
      return;
    }
    if (slots_.size() >= options_.max_pipelined || streaming_ ||
        queued_bytes_ >= options_.max_queued_bytes) {
      reading_paused_ = true;
      return;
    }
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(options_.header_limit));
    parser_->body_limit(boost::none);  // set once the headers are admitted (OnHeader)
    if (buffer_.size() > 0) return ReadHeader();
    // Until the first byte of a request, the idle timeout; from it on, the read timeout for
    // the whole request, however slowly its bytes trickle in (slowloris).
    Lowest().expires_after(options_.idle_timeout);
    waiting_for_request_ = true;
    stream_.async_read_some(buffer_.prepare(kFirstRead),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              self->waiting_for_request_ = false;
                              if (ec) return self->OnReadError(ec);
                              self->buffer_.commit(n);
                              self->ReadHeader();
                            });
  }

  void ReadHeader() {
    Lowest().expires_after(options_.read_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    // The body reads on under the deadline set at the request's first byte.
    const auto& header = parser_->get();
    HttpRequest r;
    r.method = std::string(header.method_string());
    r.target = std::string(header.target());
    const size_t q = r.target.find('?');
    if (!PercentDecode(std::string_view(r.target).substr(0, q), false, r.path) ||
        (q != std::string::npos &&
         !ParseQuery(std::string_view(r.target).substr(q + 1), r.query))) {
      return RespondAndClose(http::status::bad_request, "Bad Request",
                             "malformed percent-encoding in the request target");
    }
    for (const auto& field : header) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    r.remote_ip = options_.trusted_proxies.empty()
                      ? address_
                      : options_.trusted_proxies.ClientAddress(address_, r.headers);
    const std::optional<std::string_view> sent = r.Header("x-request-id");
    r.request_id = sent && UsableRequestId(*sent) ? std::string(*sent) : MakeRequestId();
    // A body is admitted (or refused, unread) on the headers alone: who sends it and where.
    const bool has_body = parser_->chunked() || parser_->content_length().value_or(0) > 0;
    if (has_body) {
      Admission admission = options_.admit(r);
      if (admission.answer) {
        slots_.emplace_back();
        closing_after_ = true;
        linger_ = true;
        Fill(slots_.back(), std::move(*admission.answer), false, header.version(), r.request_id);
        return;
      }
      parser_->body_limit(admission.body_limit);
      if (parser_->content_length() && *parser_->content_length() > admission.body_limit) {
        return RespondAndClose(
            http::status::payload_too_large, "Payload Too Large",
            "the body is larger than " + std::to_string(admission.body_limit) + " bytes");
      }
    }
    head_ = std::move(r);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == net::error::operation_aborted && streaming_ && !closed_) {
      // Cancelled for a streamed answer (DoWrite): read again once it is sent.
      reading_paused_ = true;
      return;
    }
    if (ec == http::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::operation_aborted || ec == beast::error::timeout ||
        ec == net::error::connection_reset) {
      closing_ = true;
      if (slots_.empty()) Close();
      return;
    }
    if (ec == http::error::header_limit) {
      return RespondAndClose(
          http::status::request_header_fields_too_large, "Request Header Fields Too Large",
          "the headers are larger than " + std::to_string(options_.header_limit) + " bytes");
    }
    if (ec == http::error::body_limit) {
      return RespondAndClose(http::status::payload_too_large, "Payload Too Large",
                             "the body is larger than allowed");
    }
    RespondAndClose(http::status::bad_request, "Bad Request",
                    "malformed HTTP request: " + ec.message());
  }

  void OnRead(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    http::request<http::string_body> req = parser_->release();
    HttpRequest r = std::move(*head_);
    head_.reset();
    r.body = std::move(req.body());
    const bool keep_alive = req.keep_alive();
    const unsigned version = req.version();
    // Holds the session (and with it the io_context) for as long as the request lives.
    r.dispatch = [self = this->shared_from_this()](std::function<void()> work) {
      net::post(self->stream_.get_executor(), std::move(work));
    };

    slots_.emplace_back();
    Slot* slot = &slots_.back();
    const std::string request_id = r.request_id;
    auto self = this->shared_from_this();
    Responder respond = [self, slot, keep_alive, version,
                         request_id](HttpResponse response) mutable {
      // Already on the connection's strand (a synchronous answer, or work dispatched back
      // to it): answer in place rather than queueing another hop.
      if (self->stream_.get_executor()
              .template target<net::strand<net::io_context::executor_type>>()
              ->running_in_this_thread()) {
        return self->Fill(*slot, std::move(response), keep_alive, version, request_id);
      }
      net::post(self->stream_.get_executor(), [self, slot, keep_alive, version, request_id,
                                               response = std::move(response)]() mutable {
        self->Fill(*slot, std::move(response), keep_alive, version, request_id);
      });
    };
    if (!keep_alive) closing_after_ = true;
    try {
      handler_(std::move(r), std::move(respond));
    } catch (const std::exception& e) {
      core::log::Error(std::string("a request's handler threw: ") + e.what(),
                       {{"request_id", request_id}});
      HttpResponse failure;
      failure.status = 500;
      failure.content_type = "application/problem+json";
      failure.body = ProblemBody(500, "Internal Server Error", "the request failed");
      Fill(*slot, std::move(failure), keep_alive, version, request_id);
    }
    if (!closing_after_) DoRead();
  }

  void Fill(Slot& slot, HttpResponse response, bool keep_alive, unsigned version,
            const std::string& request_id) {
    http::response<http::string_body> res{static_cast<http::status>(response.status), version};
    res.set(http::field::server, "custos");
    res.set(http::field::content_type, response.content_type);
    res.set("X-Request-Id", request_id);
    for (auto& [name, value] : response.headers) res.set(name, value);
    res.keep_alive(keep_alive && !closing_ && !stopping_->load());
    if (response.stream) {
      slot.stream = std::move(response.stream);
      slot.head.emplace(res.result(), version);
      for (const auto& field : res) slot.head->set(field.name_string(), field.value());
      if (version >= 11) {
        slot.head->keep_alive(res.keep_alive());
        slot.head->chunked(true);
      } else {
        // HTTP/1.0 has no chunks: the body runs to the end of the connection.
        slot.raw = true;
        slot.head->keep_alive(false);
        res.keep_alive(false);
      }
    } else {
      res.body() = std::move(response.body);
      res.prepare_payload();
      slot.bytes = res.body().size();
      queued_bytes_ += slot.bytes;
    }
    slot.response = std::move(res);
    DoWrite();
  }

  // Answers a request whose body is left unread, then closes (after a lingering read, so that
  // a client still sending its body sees the answer rather than a reset).
  void RespondAndClose(http::status status, std::string_view title, const std::string& detail) {
    slots_.emplace_back();
    closing_after_ = true;
    linger_ = true;
    HttpResponse r;
    r.status = static_cast<int>(status);
    r.content_type = "application/problem+json";
    r.body = ProblemBody(r.status, title, detail);
    Fill(slots_.back(), std::move(r), false, 11, MakeRequestId());
  }

  void DoWrite() {
    if (writing_ || slots_.empty() || !slots_.front().response) return;
    writing_ = true;
    Lowest().expires_after(options_.read_timeout);
    Slot& slot = slots_.front();
    if (slot.stream) {
      streaming_ = true;
      // A read waiting for the next request would time out (and close the socket) during a
      // long stream: it is cancelled if nothing of a request has arrived, and started again
      // once the stream is sent.
      if (waiting_for_request_ && buffer_.size() == 0) {
        beast::error_code ignored;
        Lowest().socket().cancel(ignored);
      }
      // The first piece before the head: a body that fails at once is still answered 500.
      return MakePiece([self = this->shared_from_this()](BodyStream::Step step) {
        self->step_ = step;
        Slot& slot = self->slots_.front();
        if (step == BodyStream::Step::kFailed) {
          self->streaming_ = false;
          slot.stream.reset();
          slot.response->result(http::status::internal_server_error);
          slot.response->set(http::field::content_type, "application/problem+json");
          slot.response->body() = ProblemBody(500, "Internal Server Error", "the body failed");
          slot.response->keep_alive(false);
          slot.response->prepare_payload();
          return http::async_write(self->stream_, *slot.response,
                                   [self](beast::error_code ec, size_t) { self->OnWrite(ec); });
        }
        slot.head_writer.emplace(*slot.head);
        http::async_write_header(self->stream_, *slot.head_writer,
                                 [self](beast::error_code ec, size_t) {
                                   if (ec) return self->OnWrite(ec);
                                   self->WritePiece();
                                 });
      });
    }
    http::async_write(
        stream_, *slot.response,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnWrite(ec); });
  }

  // The next non-empty piece of a streamed body into chunk_ (or the end, or a failure), made
  // where the stream makes it (off this strand when it reads the store); `then` runs back on
  // the strand.
  void MakePiece(std::function<void(BodyStream::Step)> then) {
    chunk_.clear();
    auto self = this->shared_from_this();
    slots_.front().stream->NextAsync(
        chunk_, kChunkBytes, [self, then = std::move(then)](BodyStream::Step step) mutable {
          net::dispatch(self->stream_.get_executor(), [self, then = std::move(then), step] {
            if (self->chunk_.empty() && step == BodyStream::Step::kMore) {
              return self->MakePiece(std::move(then));
            }
            then(step);
          });
        });
  }

  // One piece of a streamed body per write (chunk_, made before): the next is made only once
  // this one is sent, so a slow reader holds one piece in memory, not the export. A reader
  // that takes nothing for the read timeout is cut off. A failure cuts the connection before
  // the last chunk, so the client sees a truncated body, never a complete-looking one.
  void WritePiece() {
    Slot& slot = slots_.front();
    auto self = this->shared_from_this();
    Lowest().expires_after(options_.read_timeout);
    const bool last = step_ == BodyStream::Step::kEnd;
    auto after = [self, last](beast::error_code ec, size_t) {
      if (ec) return self->OnWrite(ec);
      if (last) return self->EndStream();
      self->MakePiece([self](BodyStream::Step step) {
        self->step_ = step;
        if (step == BodyStream::Step::kFailed) {
          return self->OnWrite(net::error::make_error_code(net::error::connection_aborted));
        }
        self->WritePiece();
      });
    };
    if (chunk_.empty()) return after({}, 0);
    if (slot.raw) return net::async_write(stream_, net::buffer(chunk_), std::move(after));
    net::async_write(stream_, http::make_chunk(net::buffer(chunk_)), std::move(after));
  }

  void EndStream() {
    auto self = this->shared_from_this();
    if (slots_.front().raw) return OnWrite({});  // not keep-alive: the close ends the body
    Lowest().expires_after(options_.read_timeout);
    net::async_write(stream_, http::make_chunk_last(),
                     [self](beast::error_code ec, size_t) { self->OnWrite(ec); });
  }

  void OnWrite(beast::error_code ec) {
    writing_ = false;
    streaming_ = false;
    const bool keep_alive = slots_.front().response->keep_alive();
    queued_bytes_ -= slots_.front().bytes;
    slots_.pop_front();
    if (ec || !keep_alive) return Close();
    if (!slots_.empty()) return DoWrite();
    if (closing_ || closing_after_) return Close();
    if (reading_paused_) {
      reading_paused_ = false;
      DoRead();
    }
  }

  void Close() {
    if (closed_) return;
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    if (linger_ && !ec && !stopping_->load()) {
      linger_ = false;
      // The rest of an unread body is read and dropped for a little while (nginx's lingering
      // close): closing with unread data would reset the connection under the answer.
      Lowest().expires_after(kLinger);
      return Discard();
    }
    closed_ = true;
    Lowest().close();
    Forget();
  }

  void Discard() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(kFirstRead),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              self->lingered_ += n;
                              if (ec || self->lingered_ > kMaxLinger) return self->Close();
                              self->Discard();
                            });
  }

  // Leaves the registry: the server's Stop waits for it to be empty.
  void Forget() {
    std::lock_guard lock(registry_->mu);
    if (registry_->open.erase(this) == 0) return;
    auto it = registry_->per_address.find(address_);
    if (it != registry_->per_address.end() && --it->second == 0) registry_->per_address.erase(it);
    if (registry_->open.empty()) registry_->cv.notify_all();
  }

  // Declared first so that it is destroyed last: the socket needs its io_context.
  std::shared_ptr<net::io_context> ioc_;
  std::shared_ptr<net::ssl::context> tls_;  // outlives stream_, which refers to it
  Stream stream_;
  const std::string address_;  // the peer's IP address
  const ServerOptions& options_;
  const Handler& handler_;
  std::shared_ptr<std::atomic<bool>> stopping_;
  std::shared_ptr<Registry> registry_;
  static constexpr size_t kFirstRead = 4096;  // the read that waits for a request to begin
  static constexpr std::chrono::seconds kLinger{2};
  static constexpr size_t kMaxLinger = size_t{64} << 20;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<HttpRequest> head_;  // the request whose body is being read
  size_t queued_bytes_ = 0;          // answers made and not yet sent (Slot::bytes)
  size_t lingered_ = 0;              // bytes dropped while lingering
  bool linger_ = false;              // a body was left unread: linger before closing
  std::deque<Slot> slots_;  // answers in request order (deque: stable addresses at the ends)
  static constexpr size_t kChunkBytes = 256 * 1024;
  std::string chunk_;                                // the piece of a streamed body being written
  BodyStream::Step step_ = BodyStream::Step::kMore;  // what made chunk_
  bool streaming_ = false;                           // a streamed body is being written
  bool writing_ = false;
  bool reading_paused_ = false;
  bool waiting_for_request_ = false;
  bool handshaking_ = false;    // TLS: until the handshake ends (Stop closes such sessions)
  bool closing_ = false;        // stop reading; close once answered
  bool closing_after_ = false;  // the client asked to close after this request
  bool closed_ = false;
};

// A server context of TLS 1.2 and 1.3 from PEM files: the certificate chain (leaf first) and
// its private key, which must match.
core::Result<std::shared_ptr<net::ssl::context>> LoadTls(const std::string& cert_file,
                                                         const std::string& key_file) {
  auto context = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
  beast::error_code ec;
  context->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                           net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                           net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use,
                       ec);
  // An encrypted key would make OpenSSL ask the terminal for a passphrase, blocking the
  // server (at SIGHUP, its signal loop): no passphrase is given, so it fails instead.
  if (!ec) {
    context->set_password_callback(
        [](std::size_t, net::ssl::context::password_purpose) { return std::string(); }, ec);
  }
  if (!ec) context->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    return core::InvalidArgument("--tls-cert " + cert_file + ": " + ec.message());
  }
  context->use_private_key_file(key_file, net::ssl::context::pem, ec);
  if (ec) return core::InvalidArgument("--tls-key " + key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
    return core::InvalidArgument("--tls-key " + key_file + " is not the key of " + cert_file);
  }
  return context;
}

}  // namespace

struct HttpServer::Impl {
  ServerOptions options;
  Handler handler;
  // Shared with the sessions, which may outlive the server while a handler holds a Responder.
  std::shared_ptr<net::io_context> ioc = std::make_shared<net::io_context>();
  // Keeps the threads running while handlers work elsewhere (an fsync) with no I/O pending.
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  tcp::acceptor acceptor{*ioc};
  std::vector<std::thread> threads;
  std::shared_ptr<std::atomic<bool>> stopping = std::make_shared<std::atomic<bool>>(false);
  uint16_t port = 0;
  bool stopped = false;

  std::shared_ptr<Registry> registry = std::make_shared<Registry>();
  std::mutex sessions_mu;
  std::vector<std::weak_ptr<SessionBase>> sessions;  // for Stop to reach them
  // The TLS context new connections take (null: plain HTTP); ReloadTls replaces it, and
  // connections already open keep theirs.
  std::mutex tls_mu;
  std::shared_ptr<net::ssl::context> tls;

  net::steady_timer accept_pause{*ioc};
  size_t max_connections = 0;  // options.max_connections, or from the file limit

  void Accept() {
    acceptor.async_accept(net::make_strand(*ioc), [this](beast::error_code ec, tcp::socket s) {
      if (ec) {
        if (ec == net::error::operation_aborted || stopping->load()) return;
        // Out of file descriptors (or another transient failure): the others keep being
        // served; accepting resumes a little later rather than spinning on the error.
        accept_pause.expires_after(std::chrono::milliseconds(50));
        return accept_pause.async_wait([this](beast::error_code wait) {
          if (!wait && !stopping->load()) Accept();
        });
      }
      beast::error_code ignored;
      const tcp::endpoint peer = s.remote_endpoint(ignored);
      std::string address = ignored ? "" : peer.address().to_string();
      bool over = false;
      {
        std::lock_guard lock(registry->mu);
        auto it = registry->per_address.find(address);
        over = registry->open.size() >= max_connections ||
               (it != registry->per_address.end() &&
                it->second >= options.max_connections_per_address &&
                !options.trusted_proxies.Contains(address));
      }
      std::shared_ptr<net::ssl::context> context;
      {
        std::lock_guard lock(tls_mu);
        context = tls;
      }
      if (over) {
        Refuse(s, /*plain=*/context == nullptr);
        return Accept();
      }
      std::shared_ptr<SessionBase> session;
      if (context) {
        auto made = std::make_shared<Session<TlsStream>>(ioc, std::move(s), std::move(context),
                                                         std::move(address), options, handler,
                                                         stopping, registry);
        made->Run();
        session = std::move(made);
      } else {
        auto made = std::make_shared<Session<beast::tcp_stream>>(
            ioc, std::move(s), nullptr, std::move(address), options, handler, stopping, registry);
        made->Run();
        session = std::move(made);
      }
      {
        std::lock_guard lock(sessions_mu);
        if (sessions.size() > 1024) {
          std::erase_if(sessions, [](const std::weak_ptr<SessionBase>& w) { return w.expired(); });
        }
        sessions.push_back(session);
      }
      Accept();
    });
  }

  // A connection past a cap: a 503 if the socket takes it at once (plain HTTP: a TLS client
  // would read it as a broken handshake), then closed.
  static void Refuse(tcp::socket& s, bool plain) {
    beast::error_code ec;
    s.non_blocking(true, ec);
    if (!ec && plain) s.write_some(net::buffer(TooManyConnections()), ec);
    s.shutdown(tcp::socket::shutdown_both, ec);
    s.close(ec);
  }
};

core::Status CheckTlsFiles(const std::string& cert_file, const std::string& key_file) {
  core::Result<std::shared_ptr<net::ssl::context>> context = LoadTls(cert_file, key_file);
  if (!context.ok()) return context.error();
  return core::OkStatus();
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

core::Result<std::unique_ptr<HttpServer>> HttpServer::Bind(ServerOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  beast::error_code ec;
  const auto address = net::ip::make_address(impl->options.host, ec);
  if (ec) {
    return core::InvalidArgument("--listen: '" + impl->options.host + "' is not an IP address");
  }
  const tcp::endpoint endpoint(address, impl->options.port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (ec) {
    return core::Unavailable("cannot bind " + impl->options.host + ":" +
                             std::to_string(impl->options.port) + ": " + ec.message());
  }
  impl->port = impl->acceptor.local_endpoint().port();
  if (!impl->options.tls_cert_file.empty()) {
    CUSTOS_ASSIGN_OR_RETURN(impl->tls,
                            LoadTls(impl->options.tls_cert_file, impl->options.tls_key_file));
  }
  impl->max_connections = impl->options.max_connections;
  if (impl->max_connections == 0) {
    // Half the descriptors the process may open: the store and the rest keep the others.
    rlimit files{};
    const rlim_t soft = getrlimit(RLIMIT_NOFILE, &files) == 0 ? files.rlim_cur : 1024;
    impl->max_connections =
        soft == RLIM_INFINITY ? 10'000 : std::max<size_t>(16, static_cast<size_t>(soft / 2));
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

core::Status HttpServer::Serve(Handler handler) {
  impl_->handler = std::move(handler);
  beast::error_code ec;
  impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return core::Unavailable("cannot listen: " + ec.message());
  impl_->work.emplace(impl_->ioc->get_executor());
  impl_->Accept();
  const int threads = std::max(1, impl_->options.threads);
  for (int i = 0; i < threads; ++i) {
    impl_->threads.emplace_back([p = impl_.get()] { p->ioc->run(); });
  }
  return core::OkStatus();
}

core::Result<std::unique_ptr<HttpServer>> HttpServer::Start(ServerOptions options,
                                                            Handler handler) {
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<HttpServer> server, Bind(std::move(options)));
  CUSTOS_RETURN_IF_ERROR(server->Serve(std::move(handler)));
  return server;
}

uint16_t HttpServer::port() const { return impl_->port; }

core::Status HttpServer::ReloadTls() {
  if (impl_->options.tls_cert_file.empty()) return core::OkStatus();
  CUSTOS_ASSIGN_OR_RETURN(std::shared_ptr<net::ssl::context> context,
                          LoadTls(impl_->options.tls_cert_file, impl_->options.tls_key_file));
  std::lock_guard lock(impl_->tls_mu);
  impl_->tls = std::move(context);
  return core::OkStatus();
}

bool HttpServer::stopping() const { return impl_->stopping->load(); }

void HttpServer::SetAdmission(std::function<Admission(HttpRequest& head)> admit) {
  impl_->options.admit = std::move(admit);
}

size_t HttpServer::connections() const {
  std::lock_guard lock(impl_->registry->mu);
  return impl_->registry->open.size();
}

void HttpServer::Stop() {
  if (impl_ == nullptr || impl_->stopped) return;
  impl_->stopped = true;
  impl_->stopping->store(true);
  net::post(impl_->acceptor.get_executor(), [p = impl_.get()] {
    beast::error_code ec;
    p->acceptor.close(ec);
    p->accept_pause.cancel();
  });
  {
    std::lock_guard lock(impl_->sessions_mu);
    for (const std::weak_ptr<SessionBase>& weak : impl_->sessions) {
      if (std::shared_ptr<SessionBase> s = weak.lock()) s->Shutdown();
    }
  }
  {
    // In-flight requests finish and are written; idle connections close.
    std::unique_lock lock(impl_->registry->mu);
    impl_->registry->cv.wait_for(lock, impl_->options.stop_grace,
                                 [&] { return impl_->registry->open.empty(); });
  }
  {
    // Past the grace period (or all closed already): close what is left, then let the
    // threads drain every pending handler, so that no session dies inside the io_context's
    // destruction.
    std::lock_guard lock(impl_->sessions_mu);
    for (const std::weak_ptr<SessionBase>& weak : impl_->sessions) {
      if (std::shared_ptr<SessionBase> s = weak.lock()) s->ForceClose();
    }
  }
  impl_->work.reset();
  for (std::thread& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace custos::api
