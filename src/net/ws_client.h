#pragma once
// A blocking WebSocket client for the CLI, tests and benchmarks (one connection, one thread).
// Beast-free header. Not thread-safe: use one instance from one thread.
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "base/error.h"
#include "net/server.h"

namespace talon::net {

class WsClient {
 public:
  virtual ~WsClient() = default;
  /// Connects to ws://host:port/path (wss:// with TLS, the server certificate verified against the
  /// system trust store with SNI and host name check). `headers` go on the upgrade request. Errors:
  /// kUnavailable when the connection is refused, TLS fails or the upgrade is declined (the HTTP
  /// status is in the message), kDeadlineExceeded after `timeout`, kInvalidArgument for a bad URL or
  /// header.
  static Result<std::unique_ptr<WsClient>> connect(const std::string& url, std::chrono::milliseconds timeout,
                                                   Headers headers = {});
  /// Sends one text frame; returns once the socket took it. Messages that arrive meanwhile are kept
  /// for receive(). Errors: kUnavailable when closed, kDeadlineExceeded when the socket did not take
  /// the message within 30 s (the connection is then closed).
  virtual Status send(const std::string& text) = 0;
  /// Waits for the next message. A timeout leaves the connection usable. Errors: kDeadlineExceeded,
  /// kUnavailable when closed (the close code is then in closeCode()). Messages received before the
  /// close are returned first.
  virtual Result<std::string> receive(std::chrono::milliseconds timeout) = 0;
  /// Close code received from the server, once closed (1005: a close frame without a code; 1006:
  /// the connection ended without a close frame).
  virtual std::optional<uint16_t> closeCode() const = 0;
  /// Close reason received from the server (may be empty).
  virtual std::string closeReason() const = 0;
  /// Sends a close frame (1000) and waits up to 2 s for the server's. The destructor does this too.
  virtual void close() = 0;
};

/// Blocking one-shot HTTP request (for the CLI and tests) over http:// or https:// (system trust
/// store), on HttpClient with a private io_context; `timeout` bounds the whole exchange. Any HTTP
/// status is a success. Errors: those of ClientHandlers::onComplete.
struct SimpleHttpResponse {
  int status = 0;
  Headers headers;
  std::string body;
};
Result<SimpleHttpResponse> httpRequest(const std::string& method, const std::string& url, const Headers& headers,
                                       const std::string& body, std::chrono::milliseconds timeout);

}  // namespace talon::net
