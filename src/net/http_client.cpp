// Asynchronous HTTP/1.1 client over TCP or TLS (Beast + OpenSSL) with streamed response bodies and
// an idle keep-alive pool per origin.
#include "net/http_client.h"

#include <fmt/format.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cerrno>
#include <chrono>
#include <exception>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "base/ascii.h"
#include "net/endpoint_url.h"

namespace talon::net {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

using TcpStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr std::size_t kBodyChunkBytes = 16u << 10;
constexpr std::size_t kMaxResponseHeaderBytes = 64u << 10;

/// RFC 9110 §5.6.2 token.
bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f ||
        std::string_view("\"(),/:;<=>?@[\\]{}").find(static_cast<char>(c)) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" || method == "DELETE";
}

/// One connection to an origin; reusable after a complete response.
struct Connection {
  std::unique_ptr<TcpStream> tcp;  // set for http
  std::unique_ptr<TlsStream> tls;  // set for https
  beast::flat_buffer buffer;
  Clock::time_point idleSince;

  TcpStream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *tcp; }
};

/// The TLS context and the idle pool, shared by the client and its calls. Thread-safe.
class ClientCore {
 public:
  ClientCore(asio::io_context& io, HttpClientOptions options) : io_(io), options_(std::move(options)) {}

  asio::io_context& io() { return io_; }

  /// The TLS client context, built at the first https request (loading the system trust store takes
  /// a while, and plain http never needs it).
  Result<ssl::context*> tlsContext() {
    std::call_once(tlsOnce_, [this] {
      auto context = makeTlsContext(options_);
      if (context) {
        tls_.emplace(std::move(*context));
      } else {
        tlsError_ = std::move(context).error();
      }
    });
    if (!tls_) return fail(tlsError_);
    return &*tls_;
  }

  /// A live idle connection to `origin`, or null.
  std::unique_ptr<Connection> take(const std::string& origin) {
    std::lock_guard lock(mutex_);
    auto it = idle_.find(origin);
    if (it == idle_.end()) return nullptr;
    auto& list = it->second;
    auto now = Clock::now();
    while (!list.empty()) {
      auto conn = std::move(list.back());
      list.pop_back();
      if (now - conn->idleSince <= options_.maxIdleAge && stillOpen(*conn)) return conn;
    }
    idle_.erase(it);
    return nullptr;
  }

  /// Keeps `conn` for reuse (or drops it when the origin has enough idle connections).
  void put(const std::string& origin, std::unique_ptr<Connection> conn) {
    std::lock_guard lock(mutex_);
    auto& list = idle_[origin];
    if (list.size() >= options_.maxIdlePerOrigin) return;
    conn->idleSince = Clock::now();
    list.push_back(std::move(conn));
  }

 private:
  /// An idle connection must have nothing to read: readable means the server closed it (or sent
  /// something unexpected), either way it is not reusable.
  /// One recv(2) with MSG_PEEK | MSG_DONTWAIT: a check before every reuse, so no fcntl/ioctl round trip
  /// to switch the socket's blocking mode.
  static bool stillOpen(Connection& conn) {
    char byte;
    const ssize_t n = ::recv(conn.lowest().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  static Result<ssl::context> makeTlsContext(const HttpClientOptions& options) {
    error_code ec;
    ssl::context context(ssl::context::tls_client);
    context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                            ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                        ec);
    if (ec) return fail(ErrorCode::kInternal, "cannot set TLS options: " + ec.message());
    context.set_default_verify_paths(ec);
    if (ec) return fail(ErrorCode::kInternal, "cannot load the system trust store: " + ec.message());
    if (!options.extraCaPem.empty()) {
      context.add_certificate_authority(asio::buffer(options.extraCaPem), ec);
      if (ec) return fail(ErrorCode::kInvalidArgument, "bad extra CA certificate: " + ec.message());
    }
    context.set_verify_mode(ssl::verify_peer);
    // ALPN (RFC 7301): this client speaks HTTP/1.1 only.
    static constexpr unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_CTX_set_alpn_protos(context.native_handle(), kAlpn, sizeof(kAlpn));
    return context;
  }

  asio::io_context& io_;
  const HttpClientOptions options_;
  std::once_flag tlsOnce_;
  std::optional<ssl::context> tls_;
  Error tlsError_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;
};

/// One request. Everything after start() runs on executor_ (a strand shared with the connection).
class Call final : public ClientCall, public std::enable_shared_from_this<Call> {
 public:
  Call(std::shared_ptr<ClientCore> core, asio::any_io_executor executor, ClientRequest request, ClientHandlers handlers,
       Result<EndpointUrl> url, std::unique_ptr<Connection> reused)
      : core_(std::move(core)),
        executor_(std::move(executor)),
        request_(std::move(request)),
        handlers_(std::move(handlers)),
        resolver_(executor_),
        phaseTimer_(executor_),
        totalTimer_(executor_),
        conn_(std::move(reused)) {
    reused_ = conn_ != nullptr;
    if (url) {
      url_ = std::move(*url);
    } else {
      startError_ = std::move(url).error();
    }
  }

  void cancel() override {
    asio::dispatch(executor_, [self = shared_from_this()] { self->abort(ErrorCode::kCancelled, "request cancelled"); });
  }

  /// On executor_.
  void run() {
    if (startError_) return complete(fail(std::move(*startError_)));
    if (auto invalid = validateRequest(); !invalid) return complete(std::move(invalid));
    if (abortError_) return complete(fail(*abortError_));
    if (request_.totalTimeout.count() > 0) {
      totalTimer_.expires_after(request_.totalTimeout);
      totalTimer_.async_wait([self = shared_from_this()](error_code ec) {
        if (!ec) {
          self->abort(ErrorCode::kDeadlineExceeded,
                      fmt::format("{} {} did not complete within {} ms", self->request_.method, self->url_.origin,
                                  self->request_.totalTimeout.count()));
        }
      });
    }
    buildRequest();
    if (conn_) return sendRequest();
    resolve();
  }

 private:
  Status validateRequest() {
    if (!isToken(request_.method))
      return fail(ErrorCode::kInvalidArgument, "bad HTTP method '" + request_.method + "'");
    for (const auto& [name, value] : request_.headers) {
      if (!isToken(name) || !validHeaderValue(value)) {
        return fail(ErrorCode::kInvalidArgument, "bad HTTP header '" + name + "'");
      }
    }
    return {};
  }

  void buildRequest() {
    auto& req = message_.emplace();
    req.version(11);
    req.method_string(request_.method);
    req.target(url_.target);
    req.set(http::field::host, url_.hostHeader);
    bool userAgent = false;
    for (const auto& [name, value] : request_.headers) {
      if (equalsIgnoreAsciiCase(name, "host")) {
        req.set(http::field::host, value);
      } else {
        req.insert(name, value);
      }
      userAgent = userAgent || equalsIgnoreAsciiCase(name, "user-agent");
    }
    if (!userAgent) req.set(http::field::user_agent, "talon");
    req.body() = std::move(request_.body);
    req.prepare_payload();
    isHead_ = req.method() == http::verb::head;
  }

  // --- timeouts -------------------------------------------------------------------------------

  /// Fails the call with kDeadlineExceeded (`what`) unless progress moves the deadline first.
  void setDeadline(std::chrono::milliseconds budget, std::string what) {
    if (budget.count() <= 0) {
      deadline_.reset();
      return;
    }
    deadlineWhat_ = std::move(what);
    deadlineBudget_ = budget;
    touchDeadline();
  }

  /// Progress: the current phase's budget starts again now. Cheap: the timer is re-armed only when it
  /// would fire too late.
  void touchDeadline() {
    if (!deadlineBudget_) return;
    auto at = Clock::now() + *deadlineBudget_;
    deadline_ = at;
    if (timerArmed_ && timerExpiry_ <= at) return;  // fires earlier, sees the new deadline, waits again
    armTimer(at);
  }

  void armTimer(Clock::time_point at) {
    timerArmed_ = true;
    timerExpiry_ = at;
    ++timerGeneration_;
    phaseTimer_.expires_at(at);
    phaseTimer_.async_wait(
        [self = shared_from_this(), generation = timerGeneration_](error_code ec) { self->onTimer(generation, ec); });
  }

  void onTimer(uint64_t generation, error_code ec) {
    if (generation != timerGeneration_) return;  // superseded by a re-arm
    timerArmed_ = false;
    if (ec || done_ || !deadline_) return;
    if (Clock::now() < *deadline_) return armTimer(*deadline_);
    abort(ErrorCode::kDeadlineExceeded, deadlineWhat_);
  }

  void clearDeadline() {
    deadline_.reset();
    deadlineBudget_.reset();
  }

  // --- connect --------------------------------------------------------------------------------

  void resolve() {
    setDeadline(request_.connectTimeout,
                fmt::format("connecting to {} took longer than {} ms", url_.origin, request_.connectTimeout.count()));
    resolver_.async_resolve(url_.host, url_.port,
                            [self = shared_from_this()](error_code ec, tcp::resolver::results_type results) {
                              self->onResolved(ec, std::move(results));
                            });
  }

  void onResolved(error_code ec, tcp::resolver::results_type results) {
    if (abortError_) return complete(fail(*abortError_));
    if (ec)
      return complete(fail(ErrorCode::kUnavailable, fmt::format("cannot resolve {}: {}", url_.host, ec.message())));
    conn_ = std::make_unique<Connection>();
    if (url_.secure) {
      auto context = core_->tlsContext();
      if (!context) return complete(fail(context.error()));
      conn_->tls = std::make_unique<TlsStream>(executor_, **context);
    } else {
      conn_->tcp = std::make_unique<TcpStream>(executor_);
    }
    conn_->lowest().async_connect(
        results, [self = shared_from_this()](error_code ec, const tcp::endpoint&) { self->onConnected(ec); });
  }

  void onConnected(error_code ec) {
    if (abortError_) return complete(fail(*abortError_));
    if (ec) {
      return complete(
          fail(ErrorCode::kUnavailable, fmt::format("cannot connect to {}: {}", url_.origin, ec.message())));
    }
    error_code ignored;
    conn_->lowest().socket().set_option(tcp::no_delay(true), ignored);
    if (!conn_->tls) return sendRequest();
    auto* ssl = conn_->tls->native_handle();
    // RFC 6066 §3: no SNI for IP literals.
    if (!url_.hostIsAddress && SSL_set_tlsext_host_name(ssl, url_.host.c_str()) != 1) {
      return complete(fail(ErrorCode::kInternal, "cannot set TLS server name " + url_.host));
    }
    conn_->tls->set_verify_mode(ssl::verify_peer);
    conn_->tls->set_verify_callback(ssl::host_name_verification(url_.host));
    conn_->tls->async_handshake(ssl::stream_base::client,
                                [self = shared_from_this()](error_code ec) { self->onHandshake(ec); });
  }

  void onHandshake(error_code ec) {
    if (abortError_) return complete(fail(*abortError_));
    if (ec) {
      std::string reason = ec.message();
      long verify = SSL_get_verify_result(conn_->tls->native_handle());
      if (verify != X509_V_OK) reason += fmt::format(" ({})", X509_verify_cert_error_string(verify));
      return complete(
          fail(ErrorCode::kUnavailable, fmt::format("TLS handshake with {} failed: {}", url_.origin, reason)));
    }
    sendRequest();
  }

  // --- exchange -------------------------------------------------------------------------------

  template <class F>
  void withStream(F&& f) {
    if (conn_->tls) {
      f(*conn_->tls);
    } else {
      f(*conn_->tcp);
    }
  }

  void sendRequest() {
    setDeadline(request_.idleTimeout,
                fmt::format("no response from {} within {} ms", url_.origin, request_.idleTimeout.count()));
    withStream([&](auto& stream) {
      http::async_write(stream, *message_,
                        [self = shared_from_this()](error_code ec, std::size_t) { self->onRequestWritten(ec); });
    });
  }

  void onRequestWritten(error_code ec) {
    if (abortError_) return complete(fail(*abortError_));
    if (ec) return onTransportError(ec, "sending the request");
    touchDeadline();
    readHead();
  }

  void readHead() {
    parser_.emplace();
    parser_->body_limit(boost::none);
    parser_->header_limit(kMaxResponseHeaderBytes);
    if (isHead_) parser_->skip(true);
    withStream([&](auto& stream) {
      http::async_read_header(stream, conn_->buffer, *parser_,
                              [self = shared_from_this()](error_code ec, std::size_t) { self->onHead(ec); });
    });
  }

  void onHead(error_code ec) {
    if (abortError_) return complete(fail(*abortError_));
    if (ec) return onTransportError(ec, "reading the response head");
    responseStarted_ = true;
    touchDeadline();
    const auto& res = parser_->get();
    int status = static_cast<int>(res.result_int());
    if (status >= 100 && status < 200 && status != 101) return readHead();  // interim response: skip
    if (handlers_.onHeaders) {
      Headers headers;
      for (const auto& field : res) headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      try {
        handlers_.onHeaders(status, headers);
      } catch (const std::exception& e) {
        return complete(fail(ErrorCode::kInternal, fmt::format("onHeaders threw: {}", e.what())));
      }
      if (abortError_) return complete(fail(*abortError_));
    }
    readBody();
  }

  void readBody() {
    if (parser_->is_done()) return onResponseDone();
    auto& body = parser_->get().body();
    body.data = bodyBuffer_.data();
    body.size = bodyBuffer_.size();
    body.more = true;
    withStream([&](auto& stream) {
      http::async_read_some(stream, conn_->buffer, *parser_,
                            [self = shared_from_this()](error_code ec, std::size_t) { self->onBodyRead(ec); });
    });
  }

  void onBodyRead(error_code ec) {
    if (ec == http::error::need_buffer) ec = {};
    if (ec == ssl::error::stream_truncated && parser_->need_eof()) {
      parser_->put_eof(ec);  // the body ends at EOF and the server skipped TLS close_notify
    }
    if (abortError_) return complete(fail(*abortError_));
    std::size_t got = bodyBuffer_.size() - parser_->get().body().size;
    if (ec && got == 0) return onTransportError(ec, "reading the response body");
    touchDeadline();
    if (got > 0 && handlers_.onBody) {
      try {
        handlers_.onBody(std::string_view(bodyBuffer_.data(), got));
      } catch (const std::exception& e) {
        return complete(fail(ErrorCode::kInternal, fmt::format("onBody threw: {}", e.what())));
      }
      if (abortError_) return complete(fail(*abortError_));
    }
    if (ec) return onTransportError(ec, "reading the response body");
    readBody();
  }

  void onResponseDone() {
    bool reusable = parser_->keep_alive() && conn_->buffer.size() == 0 && !abortError_;
    parser_.reset();
    if (reusable) {
      clearDeadline();
      core_->put(url_.origin, std::move(conn_));
    }
    complete({});
  }

  void onTransportError(error_code ec, const char* during) {
    // A kept-alive connection the server closed meanwhile: try once more on a new connection.
    if (reused_ && !responseStarted_ && !retried_ &&
        (idempotent(request_.method) || request_.resendOnStaleConnection)) {
      retried_ = true;
      reused_ = false;
      conn_->lowest().close();
      conn_.reset();
      spdlog::debug("net: reused connection to {} failed ({}), retrying", url_.origin, ec.message());
      return resolve();
    }
    ErrorCode code = ErrorCode::kUnavailable;
    std::string what;
    if (ec == http::error::end_of_stream) {
      what = "the connection closed before a response";
    } else if (ec == http::error::partial_message) {
      what = "the connection closed in the middle of the response";
    } else if (ec.category() == http::make_error_code(http::error::bad_version).category()) {
      code = ErrorCode::kUpstream;
      what = "malformed response: " + ec.message();
    } else {
      what = ec.message();
    }
    complete(fail(code, fmt::format("{} {} ({}): {}", request_.method, url_.origin, during, what)));
  }

  // --- end ------------------------------------------------------------------------------------

  /// On executor_. Fails the call with `code`: closes the connection so the pending operation ends.
  void abort(ErrorCode code, std::string message) {
    if (done_ || abortError_) return;
    abortError_ = Error(code, std::move(message));
    resolver_.cancel();
    if (conn_) conn_->lowest().close();
  }

  void complete(Status status) {
    if (done_) return;
    done_ = true;
    ++timerGeneration_;
    phaseTimer_.cancel();
    totalTimer_.cancel();
    if (conn_) {
      conn_->lowest().close();  // not reusable: the exchange did not finish cleanly
      conn_.reset();
    }
    message_.reset();
    auto onComplete = std::move(handlers_.onComplete);
    handlers_ = {};
    if (!onComplete) return;
    try {
      onComplete(std::move(status));
    } catch (const std::exception& e) {
      spdlog::error("net: HTTP client onComplete threw: {}", e.what());
    }
  }

  std::shared_ptr<ClientCore> core_;
  asio::any_io_executor executor_;
  ClientRequest request_;
  ClientHandlers handlers_;
  EndpointUrl url_;
  std::optional<Error> startError_;
  tcp::resolver resolver_;
  asio::steady_timer phaseTimer_;
  asio::steady_timer totalTimer_;
  std::unique_ptr<Connection> conn_;
  std::optional<http::request<http::string_body>> message_;
  std::optional<http::response_parser<http::buffer_body>> parser_;
  std::array<char, kBodyChunkBytes> bodyBuffer_;

  bool reused_ = false;
  bool retried_ = false;
  bool responseStarted_ = false;
  bool isHead_ = false;
  bool done_ = false;
  std::optional<Error> abortError_;

  std::optional<Clock::time_point> deadline_;
  std::optional<std::chrono::milliseconds> deadlineBudget_;
  std::string deadlineWhat_;
  bool timerArmed_ = false;
  Clock::time_point timerExpiry_;
  uint64_t timerGeneration_ = 0;
};

class HttpClientImpl final : public HttpClient {
 public:
  explicit HttpClientImpl(std::shared_ptr<ClientCore> core) : core_(std::move(core)) {}

  ClientCallPtr start(ClientRequest request, ClientHandlers handlers) override {
    auto url = parseEndpointUrl(request.url, false);
    std::unique_ptr<Connection> reused;
    if (url) reused = core_->take(url->origin);
    asio::any_io_executor executor =
        reused ? reused->lowest().get_executor() : asio::any_io_executor(asio::make_strand(core_->io()));
    auto call = std::make_shared<Call>(core_, executor, std::move(request), std::move(handlers), std::move(url),
                                       std::move(reused));
    asio::post(executor, [call] { call->run(); });
    return call;
  }

 private:
  std::shared_ptr<ClientCore> core_;
};

}  // namespace

Result<std::shared_ptr<HttpClient>> HttpClient::create(asio::io_context& io, HttpClientOptions options) {
  if (!options.extraCaPem.empty()) {
    // Checked now; the TLS context that uses it is built at the first https request.
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(options.extraCaPem.data(), static_cast<int>(options.extraCaPem.size())), &BIO_free);
    std::unique_ptr<X509, decltype(&X509_free)> cert(
        bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr, &X509_free);
    if (!cert) return fail(ErrorCode::kInvalidArgument, "extraCaPem holds no PEM certificate");
  }
  return std::shared_ptr<HttpClient>(
      std::make_shared<HttpClientImpl>(std::make_shared<ClientCore>(io, std::move(options))));
}

std::shared_ptr<HttpClient> HttpClient::create(asio::io_context& io) {
  return std::make_shared<HttpClientImpl>(std::make_shared<ClientCore>(io, HttpClientOptions{}));
}

}  // namespace talon::net
