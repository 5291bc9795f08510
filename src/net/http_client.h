#pragma once
// Asynchronous HTTP/1.1 client (http and https) with streamed response bodies, on Boost.Beast.
// Beast-free header. Keeps idle keep-alive connections per origin for reuse.
//
// Threads: callbacks of one request run one at a time on the io_context's threads, in order
// onHeaders → onBody* → onComplete. Callbacks must not block.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"
#include "net/server.h"

namespace talon::net {

struct ClientRequest {
  std::string method = "GET";
  /// Absolute URL: http://host:port/path?query or https://...
  std::string url;
  Headers headers;
  std::string body;
  /// Connect (DNS + TCP + TLS) budget (0: none).
  std::chrono::milliseconds connectTimeout{10'000};
  /// Longest silence while sending the request or waiting for the response head or the next body
  /// bytes (0: none).
  std::chrono::milliseconds idleTimeout{60'000};
  /// Whole-exchange budget (0: none).
  std::chrono::milliseconds totalTimeout{0};
  /// The caller declares this request safe to send again when a reused keep-alive connection fails
  /// before any response byte arrived (the server closed it while idle: the request most likely never
  /// reached it). Idempotent methods are always resent so; this extends it to others (a model call's
  /// POST). At most one resend, on a new connection.
  bool resendOnStaleConnection = false;
};

struct ClientHandlers {
  /// Status line and headers arrived.
  std::function<void(int status, const Headers& headers)> onHeaders;
  /// Decoded body bytes (chunked transfer decoded), as they arrive.
  std::function<void(std::string_view data)> onBody;
  /// Called exactly once (also when onHeaders was never called). Errors: kDeadlineExceeded (a
  /// timeout), kUnavailable (connect/DNS/TLS handshake and certificate verification/reset/closed
  /// early), kUpstream (malformed HTTP), kCancelled (cancel()), kInvalidArgument (bad URL, method or
  /// header). Any HTTP status is a success here: look at the status given to onHeaders.
  std::function<void(Status)> onComplete;
};

/// Handle to an in-flight request.
class ClientCall {
 public:
  virtual ~ClientCall() = default;
  /// Aborts the request; onComplete gets kCancelled if it has not run yet. Thread-safe.
  virtual void cancel() = 0;
};
using ClientCallPtr = std::shared_ptr<ClientCall>;

struct HttpClientOptions {
  /// Extra trusted CA certificates (PEM), added to the system trust store: a private CA.
  std::string extraCaPem;
  /// Idle keep-alive connections kept per origin (scheme, host, port).
  std::size_t maxIdlePerOrigin = 8;
  /// An idle pooled connection older than this is not reused.
  std::chrono::milliseconds maxIdleAge{30'000};
};

/// Connections are kept for reuse after a complete response that allows keep-alive; a reused
/// connection that fails before any response byte arrived is retried once on a new connection for
/// idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE) and for requests that set
/// ClientRequest::resendOnStaleConnection. https verifies the peer (RFC 6125 host name,
/// SNI) against the system trust store.
class HttpClient {
 public:
  virtual ~HttpClient() = default;
  /// Verifies TLS peers against the system trust store.
  static std::shared_ptr<HttpClient> create(boost::asio::io_context& io);
  /// As above, with options. Errors: kInvalidArgument when extraCaPem holds no PEM certificate. (The
  /// TLS context is built at the first https request; if OpenSSL fails there, that request fails.)
  static Result<std::shared_ptr<HttpClient>> create(boost::asio::io_context& io, HttpClientOptions options);
  /// Starts a request. Thread-safe.
  virtual ClientCallPtr start(ClientRequest request, ClientHandlers handlers) = 0;
};
using HttpClientPtr = std::shared_ptr<HttpClient>;

}  // namespace talon::net
