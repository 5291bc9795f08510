#pragma once
// The CLI's client of a running gateway: WebSocket + protocol v4 handshake as client `cli`/`cli`,
// then requests and events. Blocking; one instance per thread.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "net/ws_client.h"

namespace talon::cli {

struct ClientOptions {
  std::string url;    // ws://host:port
  std::string token;  // shared token (or password with usePassword)
  bool usePassword = false;
  std::vector<std::string> scopes{"operator.read", "operator.write"};
  std::chrono::milliseconds timeout{10'000};
};

/// A server answer `{ok:false, error}` as an Error: code mapped from the protocol code (FORBIDDEN →
/// kPermissionDenied, UNAVAILABLE → kUnavailable, AUTH_* details → kUnauthenticated, ...), the server's
/// message as both messages, details kept.
Error errorFromWire(const json::object& error);

class GatewayClient {
 public:
  /// Connects and completes the handshake. Errors: kUnavailable (cannot connect; the message names the
  /// URL and says how to start a gateway), kUnauthenticated (bad token), kDeadlineExceeded, or the
  /// server's handshake error.
  static Result<std::unique_ptr<GatewayClient>> connect(const ClientOptions& options);

  /// Sends a request and waits for its final response (skipping `status:"accepted"` answers when
  /// `expectFinal`). Events that arrive meanwhile are queued for nextEvent().
  Result<json::value> call(const std::string& method, const json::value& params, bool expectFinal = false,
                           std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  /// The next event frame ({event, payload, seq}), queued or received within `timeout`.
  Result<json::object> nextEvent(std::chrono::milliseconds timeout);
  /// The hello-ok payload.
  const json::object& hello() const { return hello_; }
  void close();

 private:
  GatewayClient(std::unique_ptr<net::WsClient> ws, ClientOptions options)
      : ws_(std::move(ws)), options_(std::move(options)) {}
  Result<json::object> receiveFrame(std::chrono::steady_clock::time_point deadline);

  std::unique_ptr<net::WsClient> ws_;
  ClientOptions options_;
  json::object hello_;
  std::vector<json::object> events_;
  uint64_t nextId_ = 1;
};

}  // namespace talon::cli
