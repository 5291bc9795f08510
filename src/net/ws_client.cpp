// Blocking WebSocket client (ws and wss) and the one-shot blocking HTTP helper. Each WsClient owns an
// io_context that only the calling thread runs, for as long as one call waits: a read stays pending
// across receive() calls, so a receive timeout never breaks the stream.
#include "net/ws_client.h"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <deque>
#include <optional>
#include <type_traits>

#include "net/endpoint_url.h"
#include "net/http_client.h"

namespace talon::net {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

/// How long send() may wait for the socket to take a message.
constexpr auto kSendTimeout = std::chrono::seconds(30);
/// How long close() waits for the server's close frame.
constexpr auto kCloseTimeout = std::chrono::seconds(2);
/// After an abort: how long pending handlers may take to finish.
constexpr auto kAbortDrainTimeout = std::chrono::seconds(1);
/// Largest message received (the OpenClaw gateway's maxPayload is 25 MiB).
constexpr std::size_t kMaxMessageBytes = 64u << 20;

template <bool kTls>
class WsClientImpl final : public WsClient {
 public:
  using NextLayer = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  WsClientImpl() : ssl_(ssl::context::tls_client) {
    if constexpr (kTls) {
      error_code ignored;
      ssl_.set_default_verify_paths(ignored);
      ssl_.set_verify_mode(ssl::verify_peer);
      ws_.emplace(io_.get_executor(), ssl_);
    } else {
      ws_.emplace(io_.get_executor());
    }
  }

  ~WsClientImpl() override {
    if (!closed_) close();
  }

  Status open(const EndpointUrl& url, std::chrono::milliseconds timeout, const Headers& headers) {
    auto deadline = Clock::now() + timeout;
    auto timedOut = [&](const char* what) {
      abortAll();
      return fail(ErrorCode::kDeadlineExceeded, fmt::format("{} ws{}://{} took longer than {} ms", what,
                                                            kTls ? "s" : "", url.hostHeader, timeout.count()));
    };

    tcp::resolver resolver(io_);
    bool done = false;
    error_code ec;
    tcp::resolver::results_type endpoints;
    resolver.async_resolve(url.host, url.port, [&](error_code e, tcp::resolver::results_type r) {
      ec = e;
      endpoints = std::move(r);
      done = true;
    });
    if (!runUntil([&] { return done; }, deadline)) {
      resolver.cancel();
      return timedOut("resolving");
    }
    if (ec) return fail(ErrorCode::kUnavailable, fmt::format("cannot resolve {}: {}", url.host, ec.message()));

    auto& lowest = beast::get_lowest_layer(*ws_);
    done = false;
    lowest.async_connect(endpoints, [&](error_code e, const tcp::endpoint&) {
      ec = e;
      done = true;
    });
    if (!runUntil([&] { return done; }, deadline)) return timedOut("connecting to");
    if (ec) return fail(ErrorCode::kUnavailable, fmt::format("cannot connect to {}: {}", url.hostHeader, ec.message()));
    lowest.socket().set_option(tcp::no_delay(true), ec);

    if constexpr (kTls) {
      auto& tls = ws_->next_layer();
      if (!url.hostIsAddress) SSL_set_tlsext_host_name(tls.native_handle(), url.host.c_str());
      tls.set_verify_callback(ssl::host_name_verification(url.host));
      done = false;
      tls.async_handshake(ssl::stream_base::client, [&](error_code e) {
        ec = e;
        done = true;
      });
      if (!runUntil([&] { return done; }, deadline)) return timedOut("TLS handshake with");
      if (ec) {
        std::string reason = ec.message();
        long verify = SSL_get_verify_result(tls.native_handle());
        if (verify != X509_V_OK) reason += fmt::format(" ({})", X509_verify_cert_error_string(verify));
        abortAll();
        return fail(ErrorCode::kUnavailable, fmt::format("TLS handshake with {} failed: {}", url.hostHeader, reason));
      }
    }

    // Our deadlines replace Beast's timeouts.
    ws_->set_option(
        websocket::stream_base::timeout{websocket::stream_base::none(), websocket::stream_base::none(), false});
    ws_->set_option(websocket::stream_base::decorator([&headers](websocket::request_type& req) {
      req.set(http::field::user_agent, "talon");
      for (const auto& [name, value] : headers) req.set(name, value);
    }));
    ws_->read_message_max(kMaxMessageBytes);
    ws_->auto_fragment(false);
    ws_->text(true);
    websocket::response_type response;
    done = false;
    ws_->async_handshake(response, url.hostHeader, url.target, [&](error_code e) {
      ec = e;
      done = true;
    });
    if (!runUntil([&] { return done; }, deadline)) return timedOut("WebSocket upgrade at");
    if (ec) {
      abortAll();
      std::string status =
          ec == websocket::error::upgrade_declined ? fmt::format(" (HTTP {})", response.result_int()) : "";
      return fail(ErrorCode::kUnavailable, fmt::format("WebSocket upgrade at {}{} failed: {}{}", url.hostHeader,
                                                       url.target, ec.message(), status));
    }
    // The decorator refers to `headers`; later handshakes do not happen, but do not keep a dangling ref.
    ws_->set_option(websocket::stream_base::decorator([](websocket::request_type&) {}));
    closed_ = false;
    startRead();
    return {};
  }

  Status send(const std::string& text) override {
    if (closed_) return fail(ErrorCode::kUnavailable, "WebSocket is closed");
    writeDone_ = false;
    ws_->async_write(asio::buffer(text), [this](error_code ec, std::size_t) {
      writeEc_ = ec;
      writeDone_ = true;
    });
    if (!runUntil([this] { return writeDone_; }, Clock::now() + kSendTimeout)) {
      abortAll();  // the write must not outlive `text`
      return fail(ErrorCode::kDeadlineExceeded, "WebSocket send timed out");
    }
    if (writeEc_) return fail(ErrorCode::kUnavailable, "WebSocket send failed: " + writeEc_.message());
    return {};
  }

  Result<std::string> receive(std::chrono::milliseconds timeout) override {
    if (incoming_.empty() && !closed_) {
      runUntil([this] { return !incoming_.empty() || closed_; }, Clock::now() + timeout);
    }
    if (!incoming_.empty()) {
      std::string message = std::move(incoming_.front());
      incoming_.pop_front();
      return message;
    }
    if (closed_) {
      return fail(ErrorCode::kUnavailable, fmt::format("WebSocket closed with {} {}", closeCode_.value_or(1006),
                                                       closeReason_.empty() ? failure_ : closeReason_));
    }
    return fail(ErrorCode::kDeadlineExceeded, fmt::format("no WebSocket message within {} ms", timeout.count()));
  }

  std::optional<uint16_t> closeCode() const override { return closed_ ? closeCode_ : std::nullopt; }
  std::string closeReason() const override { return closeReason_; }

  void close() override {
    if (closed_) return;
    bool closeDone = false;
    ws_->async_close(websocket::close_code::normal, [this, &closeDone](error_code ec) {
      closeDone = true;
      if (!closed_) markClosed(ec);
    });
    // The pending read sees the server's close frame and ends too.
    bool finished = runUntil([&] { return closeDone && !reading_; }, Clock::now() + kCloseTimeout);
    if (!finished) abortAll();
    if (!closed_) markClosed(websocket::error::closed);
  }

 private:
  /// Runs the io_context on this thread until `pred` holds (true) or the deadline passes (false).
  template <class Pred>
  bool runUntil(Pred pred, Clock::time_point deadline) {
    while (!pred()) {
      if (io_.stopped()) io_.restart();
      if (Clock::now() >= deadline) return false;
      if (io_.run_one_until(deadline) == 0 && io_.stopped() && !pred()) {
        return false;  // nothing left that could satisfy pred
      }
    }
    return true;
  }

  void startRead() {
    reading_ = true;
    ws_->async_read(buffer_, [this](error_code ec, std::size_t) { onRead(ec); });
  }

  void onRead(error_code ec) {
    reading_ = false;
    if (ec) {
      markClosed(ec);
      return;
    }
    incoming_.push_back(beast::buffers_to_string(buffer_.cdata()));
    buffer_.consume(buffer_.size());
    startRead();
  }

  void markClosed(error_code ec) {
    if (closed_) return;
    closed_ = true;
    auto reason = ws_->reason();
    if (ec == websocket::error::closed || reason.code != websocket::close_code::none) {
      closeCode_ = reason.code == websocket::close_code::none ? 1005 : static_cast<uint16_t>(reason.code);
      closeReason_ = std::string(reason.reason.data(), reason.reason.size());
    } else {
      closeCode_ = 1006;  // abnormal closure: no close frame
      failure_ = ec.message();
    }
  }

  /// Closes the socket and lets every pending handler run (they refer to this object).
  void abortAll() {
    error_code ignored;
    beast::get_lowest_layer(*ws_).socket().close(ignored);
    if (io_.stopped()) io_.restart();
    io_.run_for(kAbortDrainTimeout);
    if (!closed_) markClosed(asio::error::operation_aborted);
  }

  asio::io_context io_{1};  // first: destroyed last, after the stream that uses it
  ssl::context ssl_;
  std::optional<websocket::stream<NextLayer>> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::string> incoming_;
  bool reading_ = false;
  bool closed_ = true;  // until open() succeeds
  bool writeDone_ = false;
  error_code writeEc_;
  std::optional<uint16_t> closeCode_;
  std::string closeReason_;
  std::string failure_;
};

template <bool kTls>
Result<std::unique_ptr<WsClient>> connectWith(const EndpointUrl& url, std::chrono::milliseconds timeout,
                                              const Headers& headers) {
  auto client = std::make_unique<WsClientImpl<kTls>>();
  auto opened = client->open(url, timeout, headers);
  if (!opened) return fail(std::move(opened).error());
  return std::unique_ptr<WsClient>(std::move(client));
}

}  // namespace

Result<std::unique_ptr<WsClient>> WsClient::connect(const std::string& url, std::chrono::milliseconds timeout,
                                                    Headers headers) {
  auto parsed = parseEndpointUrl(url, true);
  if (!parsed) return fail(std::move(parsed).error());
  for (const auto& [name, value] : headers) {
    if (name.empty() || name.find_first_of(":\r\n") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos) {
      return fail(ErrorCode::kInvalidArgument, "bad header '" + name + "'");
    }
  }
  return parsed->secure ? connectWith<true>(*parsed, timeout, headers) : connectWith<false>(*parsed, timeout, headers);
}

Result<SimpleHttpResponse> httpRequest(const std::string& method, const std::string& url, const Headers& headers,
                                       const std::string& body, std::chrono::milliseconds timeout) {
  asio::io_context io{1};
  auto client = HttpClient::create(io);
  SimpleHttpResponse response;
  Status result = fail(ErrorCode::kInternal, "the HTTP request did not complete");
  ClientRequest request;
  request.method = method;
  request.url = url;
  request.headers = headers;
  request.body = body;
  request.connectTimeout = timeout;
  request.idleTimeout = timeout;
  request.totalTimeout = timeout;
  ClientHandlers handlers;
  handlers.onHeaders = [&](int status, const Headers& h) {
    response.status = status;
    response.headers = h;
  };
  handlers.onBody = [&](std::string_view data) { response.body.append(data); };
  handlers.onComplete = [&](Status status) { result = std::move(status); };
  client->start(std::move(request), std::move(handlers));
  io.run();
  if (!result) return fail(std::move(result).error());
  return response;
}

}  // namespace talon::net
