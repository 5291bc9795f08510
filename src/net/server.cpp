// The HTTP side of the server: one acceptor per bind address, an HTTP/1.1 session per connection
// (keep-alive, body limit, 100-continue, chunked streams), and the hand-over of upgrade requests to
// websocket_connection.cpp.
#include "net/server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <cerrno>
#include <chrono>
#include <exception>

#include "base/ascii.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <optional>
#include <sstream>

#include "net/server_connection.h"

namespace talon::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

/// Longest silence while waiting for (the rest of) a request, including between keep-alive requests.
constexpr auto kIdleTimeout = std::chrono::seconds(60);
/// Longest time one response write may take (a client that stopped reading).
constexpr auto kWriteTimeout = std::chrono::seconds(60);
/// After a response with "Connection: close": how long unread request bytes are drained so that
/// closing does not reset the connection before the client read the response.
constexpr auto kDrainTimeout = std::chrono::seconds(5);
constexpr std::size_t kMaxDrainBytes = 4u << 20;
constexpr std::size_t kMaxHeaderBytes = 64u << 10;
/// A streamed response's queues keep their slots up to this many chunks; a longer burst gives them back.
constexpr std::size_t kKeepQueueSlots = 64;
/// Delay before accepting again after an accept error (e.g. EMFILE), so the loop does not spin.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);

/// Whether a request's body framing is one this server reads unambiguously: no Transfer-Encoding, or
/// exactly one Transfer-Encoding field whose value is "chunked" (case-insensitive, surrounding
/// whitespace ignored) and no Content-Length. Anything else ("chunked, identity", "gzip, chunked",
/// "identity", two fields, chunked plus Content-Length) is refused: Beast would read such a body as
/// empty and the rest as a next request, the seed of request smuggling (RFC 9112 §6.1, §6.3).
bool acceptableFraming(const http::request<http::string_body>& req) {
  auto [begin, end] = req.equal_range(http::field::transfer_encoding);
  if (begin == end) return true;
  if (std::next(begin) != end) return false;
  std::string_view value = begin->value();
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  return equalsIgnoreAsciiCase(value, "chunked") && req.find(http::field::content_length) == req.end();
}

/// The handler set "Connection: close" (RFC 9112 §9.6).
bool asksToClose(const Headers& headers) {
  for (const auto& [name, value] : headers) {
    if (equalsIgnoreAsciiCase(name, "connection") && equalsIgnoreAsciiCase(value, "close")) return true;
  }
  return false;
}

/// The request head (and body) as the public HttpRequest.
HttpRequest toHttpRequest(http::request<http::string_body>& req, const std::string& remoteAddress,
                          bool remoteIsLoopback, const ServerOptions& options) {
  HttpRequest out;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  auto q = out.target.find('?');
  if (q == std::string::npos) {
    out.path = out.target;
  } else {
    out.path = out.target.substr(0, q);
    out.query = out.target.substr(q + 1);
  }
  out.headers.reserve(std::distance(req.begin(), req.end()));
  for (const auto& field : req) out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  out.body = std::move(req.body());
  ForwardedHeaders forwarded;
  for (const auto& [name, value] : out.headers) {
    if (equalsIgnoreAsciiCase(name, "x-forwarded-for")) {
      if (forwarded.forwardedFor.empty()) forwarded.forwardedFor = value;
    } else if (equalsIgnoreAsciiCase(name, "x-real-ip")) {
      if (forwarded.realIp.empty()) forwarded.realIp = value;
    }
    std::string_view n = name;
    forwarded.any = forwarded.any || equalsIgnoreAsciiCase(n, "forwarded") || equalsIgnoreAsciiCase(n, "x-real-ip") ||
                    (n.size() > 12 && equalsIgnoreAsciiCase(n.substr(0, 12), "x-forwarded-"));
  }
  auto client = resolveClientAddress(remoteAddress, remoteIsLoopback, forwarded, options.trustedProxies,
                                     options.allowRealIpFallback);
  out.remoteAddress = std::move(client.address);
  out.remoteIsLoopback = client.isLoopback;
  out.peerAddress = remoteAddress;
  return out;
}

class HttpSession;

class ResponseStreamImpl final : public ResponseStream {
 public:
  ResponseStreamImpl(std::shared_ptr<HttpSession> session, uint64_t generation)
      : session_(std::move(session)), generation_(generation) {}
  ~ResponseStreamImpl() override;
  void write(std::string data) override;
  void end() override;
  bool closed() const override;

 private:
  std::shared_ptr<HttpSession> session_;  // null for a stream refused by a second answer
  const uint64_t generation_;             // which streamed response of the connection this is
};

class HttpExchangeImpl final : public HttpExchange {
 public:
  HttpExchangeImpl(std::shared_ptr<HttpSession> session, HttpRequest request)
      : session_(std::move(session)), request_(std::move(request)) {}
  ~HttpExchangeImpl() override;
  const HttpRequest& request() const override { return request_; }
  void respond(HttpResponse response) override;
  ResponseStreamPtr startStream(int status, std::string contentType, Headers headers) override;

 private:
  std::shared_ptr<HttpSession> session_;
  HttpRequest request_;
  std::atomic<bool> answered_{false};
};

/// One accepted HTTP connection. Everything but the public entry points (respond, startStream,
/// streamWrite, streamEnd, shutdown) runs on the connection's strand.
class HttpSession final : public ServerConnection, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(std::shared_ptr<ServerState> state, ConnectionSocket socket, std::string remoteAddress, bool loopback)
      : state_(std::move(state)),
        id_(nextConnectionId()),
        stream_(std::move(socket)),
        remoteAddress_(std::move(remoteAddress)),
        remoteIsLoopback_(loopback) {}

  ~HttpSession() override { state_->remove(id_); }

  ConnectionStrand executor() { return stream_.get_executor(); }

  /// On the strand.
  void start() {
    if (!state_->add(id_, weak_from_this())) {
      closeSocket();
      return;
    }
    readRequest();
  }

  void shutdown() override {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->stopping_ = true;
      if (self->phase_ != Phase::kHandling && self->phase_ != Phase::kWriting) self->closeSocket();
    });
  }

  /// Any thread.
  void respond(HttpResponse response) {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this(), response = std::move(response)]() mutable {
      if (self->phase_ == Phase::kHandling) self->writeResponse(std::move(response), self->keepAlive_);
    });
  }

  /// Any thread.
  ResponseStreamPtr startStream(int status, std::string contentType, Headers headers) {
    uint64_t generation;
    {
      // A keep-alive connection streams one response after another; a stream handle of an earlier
      // response must not write into this one.
      std::lock_guard lock(streamMutex_);
      generation = streamGeneration_.fetch_add(1, std::memory_order_acq_rel) + 1;
      streamPending_.clear();
      streamQueuedBytes_ = 0;
      streamEndRequested_ = false;
      streamKickPending_ = false;
      streamClosed_.store(false, std::memory_order_release);
    }
    auto stream = std::make_shared<ResponseStreamImpl>(shared_from_this(), generation);
    asio::dispatch(stream_.get_executor(), [self = shared_from_this(), status, contentType = std::move(contentType),
                                            headers = std::move(headers)]() mutable {
      if (self->phase_ == Phase::kHandling) {
        self->beginStream(status, std::move(contentType), std::move(headers));
      } else {
        self->streamClosed_ = true;
      }
    });
    return stream;
  }

  /// Any thread.
  void streamWrite(uint64_t generation, std::string data) {
    if (streamClosed(generation) || data.empty()) return;
    bool kick = false;
    bool overflow = false;
    std::vector<std::string> dropped;  // freed outside the lock
    std::size_t limit = state_->options.maxHttpStreamBufferedBytes;
    {
      std::lock_guard lock(streamMutex_);
      if (generation != streamGeneration_.load(std::memory_order_relaxed) || streamEndRequested_) return;
      if (data.size() > limit || streamQueuedBytes_ > limit - data.size()) {
        // The client does not read: drop the queue and end the connection.
        std::swap(dropped, streamPending_);
        overflow = true;
        streamEndRequested_ = true;
        streamClosed_.store(true, std::memory_order_release);
      } else {
        streamQueuedBytes_ += data.size();
        streamPending_.push_back(std::move(data));
        kick = !streamKickPending_;
        streamKickPending_ = true;
      }
    }
    if (kick) kickStream();
    if (overflow) {
      dropped = {};
      asio::dispatch(stream_.get_executor(), [self = shared_from_this(), generation, limit] {
        if (self->phase_ != Phase::kStreaming || generation != self->streamGeneration_.load()) return;
        spdlog::warn("net: streamed response to {} has more than {} bytes queued; closing the connection",
                     self->remoteAddress_, limit);
        self->closeSocket();
      });
    }
  }

  /// Any thread.
  void streamEnd(uint64_t generation) {
    bool kick = false;
    {
      std::lock_guard lock(streamMutex_);
      if (generation != streamGeneration_.load(std::memory_order_relaxed) || streamEndRequested_) return;
      streamEndRequested_ = true;
      kick = !streamKickPending_;
      streamKickPending_ = true;
      streamClosed_.store(true, std::memory_order_release);
    }
    if (kick) kickStream();
  }

  bool streamClosed(uint64_t generation) const {
    return generation != streamGeneration_.load(std::memory_order_acquire) ||
           streamClosed_.load(std::memory_order_acquire);
  }

 private:
  using Stream = beast::basic_stream<tcp, ConnectionStrand>;

  enum class Phase {
    kReading,    // waiting for a request
    kHandling,   // onHttp has the exchange
    kWriting,    // a complete response is being written
    kStreaming,  // a chunked response is open
    kClosing,    // draining before close
    kClosed,     // socket closed or handed to a WebSocket
  };

  void readRequest() {
    phase_ = Phase::kReading;
    parser_.emplace();
    parser_->body_limit(state_->options.maxHttpBodyBytes);
    parser_->header_limit(kMaxHeaderBytes);
    stream_.expires_after(kIdleTimeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](error_code ec, std::size_t) { self->onHeader(ec); });
  }

  void onHeader(error_code ec) {
    if (ec) return onReadError(ec);
    if (stopping_) return closeSocket();
    auto& req = parser_->get();
    if (!acceptableFraming(req)) {
      // The body's end cannot be known the way the client meant it, so nothing after the head can be
      // trusted as a next request: answer 400 and close (RFC 9112 §6.1, §6.3).
      version_ = req.version();
      return writeError(400, "unsupported Transfer-Encoding: only \"chunked\" is accepted, without Content-Length");
    }
    if (state_->handlers.onWebSocket && beast::websocket::is_upgrade(req)) return upgrade();
    if (!parser_->is_done() && equalsIgnoreAsciiCase(req[http::field::expect], "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(kWriteTimeout);
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = shared_from_this()](error_code ec, std::size_t) {
                          if (ec) return self->closeSocket();
                          self->readBody();
                        });
      return;
    }
    readBody();
  }

  void readBody() {
    if (parser_->is_done()) return onRequest({});
    stream_.expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](error_code ec, std::size_t) { self->onRequest(ec); });
  }

  void onReadError(error_code ec) {
    if (parser_ && parser_->is_header_done()) version_ = parser_->get().version();
    if (ec == http::error::body_limit) {
      return writeError(413, "request body too large");
    }
    if (ec == http::error::header_limit) {
      return writeError(431, "request header fields too large");
    }
    if (ec != http::error::end_of_stream &&
        ec.category() == http::make_error_code(http::error::bad_target).category()) {
      return writeError(400, "malformed request");
    }
    closeSocket();  // the client closed, reset or timed out: nothing to answer
  }

  void writeError(int status, std::string_view message) {
    HttpResponse response;
    response.status = status;
    response.body = fmt::format("{{\"error\":{{\"message\":\"{}\"}}}}", message);
    writeResponse(std::move(response), false);
  }

  void onRequest(error_code ec) {
    if (ec) return onReadError(ec);
    if (stopping_) return closeSocket();
    auto& req = parser_->get();
    keepAlive_ = req.keep_alive();
    isHead_ = req.method() == http::verb::head;
    version_ = req.version();
    auto exchange = std::make_shared<HttpExchangeImpl>(
        shared_from_this(), toHttpRequest(req, remoteAddress_, remoteIsLoopback_, state_->options));
    parser_.reset();
    phase_ = Phase::kHandling;
    state_->httpRequests.fetch_add(1, std::memory_order_relaxed);
    if (!state_->handlers.onHttp) {
      exchange->respond(HttpResponse{404, "application/json", {}, R"({"error":{"message":"not found"}})"});
      return;
    }
    try {
      state_->handlers.onHttp(std::move(exchange));
    } catch (const std::exception& e) {
      // The exchange (if the handler dropped it) already answered 500.
      spdlog::error("net: HTTP handler threw for {}: {}", remoteAddress_, e.what());
    }
  }

  void upgrade() {
    auto request = toHttpRequest(parser_->get(), remoteAddress_, remoteIsLoopback_, state_->options);
    parser_.reset();
    stream_.expires_never();
    phase_ = Phase::kClosed;
    state_->remove(id_);
    startWebSocketConnection(state_, stream_.release_socket(), std::move(request));
  }

  void writeResponse(HttpResponse r, bool keepAlive) {
    keepAlive = keepAlive && !stopping_ && !state_->stopping() && !asksToClose(r.headers);
    response_.emplace();
    auto& res = *response_;
    res.version(version_);
    if (r.status < 100 || r.status > 999) r.status = 500;
    res.result(static_cast<unsigned>(r.status));
    if (!r.contentType.empty()) res.set(http::field::content_type, r.contentType);
    for (auto& [name, value] : r.headers) {
      if (validHeaderValue(name) && validHeaderValue(value)) {
        res.insert(name, value);
      } else {
        spdlog::warn("net: dropped response header '{}': it contains a line break", name);
      }
    }
    res.keep_alive(keepAlive);
    bool noBody = r.status < 200 || r.status == 204 || r.status == 304;
    if (noBody) {
      // RFC 9110 §6.4.1: these responses have no content.
    } else if (isHead_) {
      res.content_length(r.body.size());
    } else {
      res.body() = std::move(r.body);
      res.prepare_payload();
    }
    phase_ = Phase::kWriting;
    stream_.expires_after(kWriteTimeout);
    http::async_write(stream_, res, [self = shared_from_this(), keepAlive](error_code ec, std::size_t) {
      self->response_.reset();
      if (ec) return self->closeSocket();
      if (keepAlive && !self->stopping_) return self->readRequest();
      self->closeGracefully();
    });
  }

  void beginStream(int status, std::string contentType, Headers headers) {
    http::response<http::empty_body> res;
    res.version(version_);
    res.result(static_cast<unsigned>(status < 100 || status > 999 ? 500 : status));
    if (!contentType.empty()) res.set(http::field::content_type, contentType);
    for (auto& [name, value] : headers) {
      if (validHeaderValue(name) && validHeaderValue(value)) res.insert(name, value);
    }
    res.keep_alive(keepAlive_ && !stopping_ && !state_->stopping() && !asksToClose(headers));
    if (version_ >= 11) {
      res.chunked(true);
      chunked_ = true;
    } else {
      // HTTP/1.0 has no chunked coding: the body ends when the connection closes.
      res.keep_alive(false);
      chunked_ = false;
    }
    keepAlive_ = res.keep_alive();
    std::ostringstream head;
    head << res.base();
    streamHead_ = std::move(head).str();
    phase_ = Phase::kStreaming;
    streamHeadSent_ = false;
    streamEndSent_ = false;
    pumpStream();
    // Notice a client that goes away while the stream is quiet.
    watchPeerWhileStreaming();
  }

  void watchPeerWhileStreaming() {
    stream_.socket().async_wait(tcp::socket::wait_read,
                                [self = shared_from_this(), generation = streamGeneration_.load()](error_code ec) {
                                  self->onReadableWhileStreaming(generation, ec);
                                });
  }

  void onReadableWhileStreaming(uint64_t generation, error_code ec) {
    // A wait left over from an earlier stream of this connection completes when the next request
    // arrives; that request is being handled and says nothing about the peer.
    if (phase_ != Phase::kStreaming || ec || generation != streamGeneration_.load()) return;
    // Asio may report a stale readiness: peek to tell end of stream, data and nothing apart.
    char byte;
    const ssize_t n = ::recv(stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      return watchPeerWhileStreaming();  // nothing there yet
    }
    if (n <= 0) return closeSocket();  // end of stream or reset: the client is gone
    // Otherwise the client pipelined its next request: it is read after the stream ends.
  }

  void kickStream() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->pumpStream(); });
  }

  void pumpStream() {
    bool end = false;
    {
      std::lock_guard lock(streamMutex_);
      if (phase_ != Phase::kStreaming || streamWriting_) {
        streamKickPending_ = false;
        return;
      }
      streamKickPending_ = false;
      streamActive_.clear();
      std::swap(streamActive_, streamPending_);
      streamActiveBytes_ = 0;
      for (const auto& data : streamActive_) streamActiveBytes_ += data.size();
      end = streamEndRequested_;
    }
    streamBuffers_.clear();
    streamFraming_.clear();
    streamFraming_.reserve(streamActive_.size());  // the buffers point into these strings
    static constexpr std::string_view kCrlf = "\r\n";
    static constexpr std::string_view kLastChunk = "0\r\n\r\n";
    if (!streamHeadSent_) {
      streamBuffers_.push_back(asio::buffer(streamHead_));
      streamHeadSent_ = true;
    }
    for (const auto& data : streamActive_) {
      if (chunked_) {
        streamFraming_.push_back(fmt::format("{:x}\r\n", data.size()));
        streamBuffers_.push_back(asio::buffer(streamFraming_.back()));
      }
      streamBuffers_.push_back(asio::buffer(data));
      if (chunked_) streamBuffers_.push_back(asio::buffer(kCrlf.data(), kCrlf.size()));
    }
    if (end && !streamEndSent_) {
      if (chunked_) streamBuffers_.push_back(asio::buffer(kLastChunk.data(), kLastChunk.size()));
      streamEndSent_ = true;
    }
    if (streamBuffers_.empty()) return;
    streamWriting_ = true;
    stream_.expires_after(kWriteTimeout);
    asio::async_write(stream_, streamBuffers_,
                      [self = shared_from_this()](error_code ec, std::size_t) { self->onStreamWritten(ec); });
  }

  void onStreamWritten(error_code ec) {
    streamWriting_ = false;
    streamActive_.clear();
    if (streamActive_.capacity() > kKeepQueueSlots) streamActive_ = {};
    if (streamFraming_.capacity() > kKeepQueueSlots) streamFraming_ = {};
    if (streamBuffers_.capacity() > kKeepQueueSlots) streamBuffers_ = {};
    {
      std::lock_guard lock(streamMutex_);
      streamQueuedBytes_ -= std::min(streamQueuedBytes_, streamActiveBytes_);
      streamActiveBytes_ = 0;
    }
    if (ec) return closeSocket();
    if (!streamEndSent_) return pumpStream();
    streamClosed_ = true;
    if (chunked_ && keepAlive_ && !stopping_ && !state_->stopping()) return readRequest();
    closeGracefully();
  }

  /// Half-closes, then discards what the client still sends until it closes too (bounded in time and
  /// bytes), so the client reads the whole response instead of a connection reset.
  void closeGracefully() {
    if (stopping_) return closeSocket();
    phase_ = Phase::kClosing;
    state_->remove(id_);
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kDrainTimeout);
    drain();
  }

  void drain() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(64u << 10), [self = shared_from_this()](error_code ec, std::size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > kMaxDrainBytes) return self->closeSocket();
      self->drain();
    });
  }

  void closeSocket() {
    if (phase_ == Phase::kClosed && !stream_.socket().is_open()) return;
    phase_ = Phase::kClosed;
    streamClosed_ = true;
    stream_.close();
    state_->remove(id_);
  }

  std::shared_ptr<ServerState> state_;
  const uint64_t id_;
  Stream stream_;
  const std::string remoteAddress_;
  const bool remoteIsLoopback_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  Phase phase_ = Phase::kReading;
  bool stopping_ = false;
  bool keepAlive_ = true;
  bool isHead_ = false;
  unsigned version_ = 11;
  std::size_t drained_ = 0;

  // Chunked stream. Guarded by streamMutex_ (the atomics are also read without it):
  std::mutex streamMutex_;
  std::atomic<uint64_t> streamGeneration_{0};
  std::vector<std::string> streamPending_;
  std::size_t streamQueuedBytes_ = 0;  // in streamPending_ and being written
  bool streamEndRequested_ = false;
  bool streamKickPending_ = false;
  std::atomic<bool> streamClosed_{false};
  // On the strand:
  bool streamWriting_ = false;
  bool streamHeadSent_ = false;
  bool streamEndSent_ = false;
  bool chunked_ = true;
  std::string streamHead_;
  std::vector<std::string> streamActive_;
  std::size_t streamActiveBytes_ = 0;  // guarded by streamMutex_
  std::vector<std::string> streamFraming_;
  std::vector<asio::const_buffer> streamBuffers_;
};

ResponseStreamImpl::~ResponseStreamImpl() { end(); }
void ResponseStreamImpl::write(std::string data) {
  if (session_) session_->streamWrite(generation_, std::move(data));
}
void ResponseStreamImpl::end() {
  if (session_) session_->streamEnd(generation_);
}
bool ResponseStreamImpl::closed() const { return !session_ || session_->streamClosed(generation_); }

HttpExchangeImpl::~HttpExchangeImpl() {
  if (!answered_.exchange(true)) {
    session_->respond(HttpResponse{500, "application/json", {}, R"({"error":{"message":"no response"}})"});
  }
}

void HttpExchangeImpl::respond(HttpResponse response) {
  if (answered_.exchange(true)) {
    spdlog::error("net: second answer to {} {} ignored", request_.method, request_.path);
    return;
  }
  session_->respond(std::move(response));
}

ResponseStreamPtr HttpExchangeImpl::startStream(int status, std::string contentType, Headers headers) {
  if (answered_.exchange(true)) {
    spdlog::error("net: second answer to {} {} ignored", request_.method, request_.path);
    return std::make_shared<ResponseStreamImpl>(nullptr, 0);
  }
  return session_->startStream(status, std::move(contentType), std::move(headers));
}

using Acceptor = asio::basic_socket_acceptor<tcp, ConnectionStrand>;

/// Accepts connections on one bound address. The acceptor is guarded by a mutex rather than a strand
/// so that stop() closes it (and frees the port) before it returns.
class Listener final : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& io, Acceptor acceptor, std::shared_ptr<ServerState> state)
      : io_(io), acceptor_(std::move(acceptor)), retryTimer_(acceptor_.get_executor()), state_(std::move(state)) {}

  void start() {
    std::lock_guard lock(mutex_);
    accept();
  }

  void stop() {
    std::lock_guard lock(mutex_);
    error_code ignored;
    acceptor_.close(ignored);
    retryTimer_.cancel();
  }

 private:
  /// With mutex_ held.
  void accept() {
    if (!acceptor_.is_open()) return;
    acceptor_.async_accept(asio::make_strand(io_), [self = shared_from_this()](error_code ec, ConnectionSocket socket) {
      self->onAccept(ec, std::move(socket));
    });
  }

  void onAccept(error_code ec, ConnectionSocket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      state_->connectionsAccepted.fetch_add(1, std::memory_order_relaxed);
      error_code endpointEc;
      auto remote = socket.remote_endpoint(endpointEc);
      if (!endpointEc) {
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        auto address = remote.address();
        auto session =
            std::make_shared<HttpSession>(state_, std::move(socket), address.to_string(), isLoopback(address));
        asio::post(session->executor(), [session] { session->start(); });
      }
    }
    std::lock_guard lock(mutex_);
    if (!acceptor_.is_open()) return;
    if (!ec) return accept();
    spdlog::warn("net: accept failed: {}", ec.message());
    retryTimer_.expires_after(kAcceptRetryDelay);
    retryTimer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec) return;
      std::lock_guard lock(self->mutex_);
      self->accept();
    });
  }

  asio::io_context& io_;
  std::mutex mutex_;
  Acceptor acceptor_;
  asio::steady_timer retryTimer_;
  std::shared_ptr<ServerState> state_;
};

class ServerImpl final : public Server {
 public:
  ServerImpl(std::shared_ptr<ServerState> state, std::vector<std::shared_ptr<Listener>> listeners, uint16_t port)
      : state_(std::move(state)), listeners_(std::move(listeners)), port_(port) {
    for (auto& listener : listeners_) listener->start();
  }
  ~ServerImpl() override { stop(); }

  uint16_t port() const override { return port_; }

  void stop() override {
    if (stopped_.exchange(true)) return;
    for (auto& listener : listeners_) listener->stop();
    for (auto& connection : state_->stopAll()) connection->shutdown();
  }

  ServerStats stats() const override {
    ServerStats s;
    s.connectionsAccepted = state_->connectionsAccepted.load(std::memory_order_relaxed);
    s.httpRequests = state_->httpRequests.load(std::memory_order_relaxed);
    s.webSocketsAccepted = state_->webSocketsAccepted.load(std::memory_order_relaxed);
    s.openConnections = state_->openConnections();
    s.webSocketWrites = state_->webSocketWrites.load(std::memory_order_relaxed);
    return s;
  }

 private:
  std::shared_ptr<ServerState> state_;
  std::vector<std::shared_ptr<Listener>> listeners_;
  uint16_t port_;
  std::atomic<bool> stopped_{false};
};

/// Opens, binds and listens on one endpoint. On failure returns the OS error.
error_code openAcceptor(Acceptor& acceptor, const tcp::endpoint& endpoint) {
  error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return ec;
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return ec;
  if (endpoint.address().is_v6()) {
    acceptor.set_option(asio::ip::v6_only(true), ec);
    if (ec) return ec;
  }
  acceptor.bind(endpoint, ec);
  if (ec) return ec;
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  return ec;
}

}  // namespace

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (equalsIgnoreAsciiCase(n, name)) return v;
  }
  return {};
}

bool ServerState::add(uint64_t id, std::weak_ptr<ServerConnection> connection) {
  std::lock_guard lock(mutex_);
  if (stopping_) return false;
  connections_.emplace(id, std::move(connection));
  return true;
}

void ServerState::remove(uint64_t id) {
  std::lock_guard lock(mutex_);
  connections_.erase(id);
}

std::vector<std::shared_ptr<ServerConnection>> ServerState::stopAll() {
  std::vector<std::shared_ptr<ServerConnection>> live;
  std::lock_guard lock(mutex_);
  stopping_ = true;
  live.reserve(connections_.size());
  for (auto& [id, weak] : connections_) {
    if (auto c = weak.lock()) live.push_back(std::move(c));
  }
  return live;
}

bool ServerState::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

uint64_t ServerState::openConnections() const {
  std::lock_guard lock(mutex_);
  return connections_.size();
}

uint64_t nextConnectionId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

void returnFreedMemory() {
#if defined(__GLIBC__)
  static std::atomic<bool> running{false};
  if (running.exchange(true, std::memory_order_acquire)) return;
  malloc_trim(0);
  running.store(false, std::memory_order_release);
#endif
}

bool isLoopback(const asio::ip::address& address) {
  if (address.is_loopback()) return true;
  if (address.is_v6()) {
    auto v6 = address.to_v6();
    if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).is_loopback();
  }
  return false;
}

Result<std::unique_ptr<Server>> Server::create(asio::io_context& io, ServerOptions options, ServerHandlers handlers) {
  if (options.bindAddresses.empty()) return fail(ErrorCode::kInvalidArgument, "no bind address");
  std::vector<asio::ip::address> addresses;
  for (const auto& text : options.bindAddresses) {
    error_code ec;
    auto address = asio::ip::make_address(text, ec);
    if (ec) return fail(ErrorCode::kInvalidArgument, fmt::format("bad bind address '{}': {}", text, ec.message()));
    addresses.push_back(address);
  }
  // With port 0 the first address picks a free port and the others must get the same one; if one of
  // them has it taken, start over with a new port.
  const int attempts = options.port == 0 ? 16 : 1;
  for (int attempt = 1;; ++attempt) {
    uint16_t port = options.port;
    std::vector<Acceptor> acceptors;
    error_code ec;
    std::size_t failedIndex = 0;
    for (std::size_t i = 0; i < addresses.size(); ++i) {
      Acceptor acceptor(asio::make_strand(io));
      ec = openAcceptor(acceptor, tcp::endpoint(addresses[i], port));
      if (ec) {
        failedIndex = i;
        break;
      }
      if (port == 0) port = acceptor.local_endpoint().port();
      acceptors.push_back(std::move(acceptor));
    }
    if (!ec) {
      auto state = std::make_shared<ServerState>(std::move(options), std::move(handlers));
      std::vector<std::shared_ptr<Listener>> listeners;
      for (auto& acceptor : acceptors) listeners.push_back(std::make_shared<Listener>(io, std::move(acceptor), state));
      return std::unique_ptr<Server>(std::make_unique<ServerImpl>(std::move(state), std::move(listeners), port));
    }
    bool retry = options.port == 0 && failedIndex > 0 && ec == asio::error::address_in_use && attempt < attempts;
    if (!retry) {
      const auto& address = options.bindAddresses[failedIndex];
      bool v6 = addresses[failedIndex].is_v6();
      auto where = fmt::format("{}{}{}:{}", v6 ? "[" : "", address, v6 ? "]" : "", port);
      if (ec == asio::error::address_in_use) {
        return fail(ErrorCode::kAlreadyExists,
                    fmt::format("cannot listen on {}: the port is already in use (another gateway or program "
                                "listens on it; choose another with --port or gateway.port)",
                                where),
                    "the port is already in use");
      }
      return fail(ErrorCode::kIo, fmt::format("cannot listen on {}: {}", where, ec.message()));
    }
  }
}

}  // namespace talon::net
