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
  /// Connects to ws://host:port/path (wss:// with TLS). Errors: kUnavailable when the connection is
  /// refused or the upgrade fails, kDeadlineExceeded after `timeout`, kInvalidArgument for a bad URL.
  static Result<std::unique_ptr<WsClient>> connect(const std::string& url, std::chrono::milliseconds timeout,
                                                   Headers headers = {});
  /// Sends one text frame.
  virtual Status send(const std::string& text) = 0;
  /// Waits for the next message. Errors: kDeadlineExceeded, kUnavailable when closed (the close code
  /// is then in closeCode()).
  virtual Result<std::string> receive(std::chrono::milliseconds timeout) = 0;
  /// Close code received from the server, once closed.
  virtual std::optional<uint16_t> closeCode() const = 0;
  virtual std::string closeReason() const = 0;
  /// Sends a close frame (1000) and waits briefly for the server's.
  virtual void close() = 0;
};

/// Blocking one-shot HTTP request (for the CLI and tests). Returns status and body.
struct SimpleHttpResponse {
  int status = 0;
  Headers headers;
  std::string body;
};
Result<SimpleHttpResponse> httpRequest(const std::string& method, const std::string& url, const Headers& headers,
                                       const std::string& body, std::chrono::milliseconds timeout);

}  // namespace talon::net
