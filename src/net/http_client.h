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
  /// Connect (DNS + TCP + TLS) budget.
  std::chrono::milliseconds connectTimeout{10'000};
  /// Longest silence while waiting for the response head or the next body bytes.
  std::chrono::milliseconds idleTimeout{60'000};
  /// Whole-exchange budget (0: none).
  std::chrono::milliseconds totalTimeout{0};
};

struct ClientHandlers {
  /// Status line and headers arrived.
  std::function<void(int status, const Headers& headers)> onHeaders;
  /// Decoded body bytes (chunked transfer decoded), as they arrive.
  std::function<void(std::string_view data)> onBody;
  /// Called exactly once. Errors: kDeadlineExceeded (a timeout), kUnavailable (connect/DNS/reset),
  /// kUpstream (malformed HTTP), kCancelled (cancel()), kInvalidArgument (bad URL).
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

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  /// Verifies TLS peers against the system trust store.
  static std::shared_ptr<HttpClient> create(boost::asio::io_context& io);
  /// Starts a request. Thread-safe.
  virtual ClientCallPtr start(ClientRequest request, ClientHandlers handlers) = 0;
};
using HttpClientPtr = std::shared_ptr<HttpClient>;

}  // namespace talon::net
