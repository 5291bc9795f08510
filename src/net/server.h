#pragma once
// HTTP/1.1 and WebSocket (RFC 6455) on one listening port, on Boost.Beast. This header is Beast-free;
// the implementation lives in src/net/*.cpp. Text frames only; permessage-deflate is not negotiated
// (as OpenClaw: docs/gateway/protocol/transport.md).
//
// Threads: handlers run on the io_context's threads. Calls for one connection (HTTP requests on one
// keep-alive connection; onMessage/onClose of one WebSocket) never run concurrently with each other.
// Handlers must not block: post blocking work elsewhere.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "net/client_address.h"

namespace boost::asio {
class io_context;
}

namespace talon::net {

using Headers = std::vector<std::pair<std::string, std::string>>;

/// A received HTTP request (also the upgrade request of a WebSocket).
struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: "/v1/models?x=1"
  std::string path;    // target without the query: "/v1/models"
  std::string query;   // without '?', may be empty
  Headers headers;
  std::string body;
  /// The client's address: the socket's peer, or — when the peer is one of
  /// ServerOptions::trustedProxies — the client its X-Forwarded-For names (client_address.h).
  std::string remoteAddress;  // "127.0.0.1", "::1"
  /// The client connected directly from loopback: the socket's peer is loopback and the request has
  /// no forwarded-identity header (Forwarded, X-Real-IP, X-Forwarded-*), as OpenClaw's
  /// isLocalDirectRequest decides.
  bool remoteIsLoopback = false;
  /// The socket's peer address (the proxy's, when the request came through one).
  std::string peerAddress;

  /// First header named `name` (case-insensitive), or empty.
  std::string_view header(std::string_view name) const;
};

/// A complete HTTP response.
struct HttpResponse {
  int status = 200;
  std::string contentType = "application/json";
  Headers headers;
  std::string body;
};

/// Incremental body of a streamed (chunked) response, e.g. Server-Sent Events. Thread-safe: writes
/// are queued and sent in order on the connection's strand.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  /// Queues bytes for the client. Ignored once the stream is closed. A write that would put more than
  /// ServerOptions::maxHttpStreamBufferedBytes in the queue closes the connection instead.
  virtual void write(std::string data) = 0;
  /// Ends the response (last chunk). Idempotent.
  virtual void end() = 0;
  /// True when the client went away or end() was called.
  virtual bool closed() const = 0;
};
using ResponseStreamPtr = std::shared_ptr<ResponseStream>;

/// One request awaiting its answer. Exactly one of respond() / startStream() must be called, from any
/// thread; dropping the last reference without either answers 500.
class HttpExchange {
 public:
  virtual ~HttpExchange() = default;
  virtual const HttpRequest& request() const = 0;
  virtual void respond(HttpResponse response) = 0;
  /// Sends the status and headers now and returns a stream for the body (Transfer-Encoding: chunked).
  virtual ResponseStreamPtr startStream(int status, std::string contentType, Headers headers = {}) = 0;
};
using HttpExchangePtr = std::shared_ptr<HttpExchange>;

/// The server side of one accepted WebSocket. Thread-safe.
class WebSocketConnection {
 public:
  virtual ~WebSocketConnection() = default;
  /// Queues a text frame. Ignored after close. Never blocks.
  virtual void send(std::string text) = 0;
  /// Sends a close frame with `code` (RFC 6455 §7.4) and `reason` (≤ 123 bytes), then closes.
  virtual void close(uint16_t code, std::string reason) = 0;
  /// Largest accepted incoming message in bytes; a larger one closes the connection with 1009.
  virtual void setMaxMessageBytes(std::size_t bytes) = 0;
  /// Largest number of bytes this connection may hold queued for sending (bufferedBytes() plus the
  /// message being sent). A send() that would go over it drops everything queued and closes the
  /// connection with kSlowConsumerCloseCode / kSlowConsumerCloseReason, as OpenClaw does when a
  /// socket's bufferedAmount passes MAX_BUFFERED_BYTES (the value hello-ok advertises as
  /// policy.maxBufferedBytes). Starts at ServerOptions::maxWsBufferedBytes; `bytes` must be > 0.
  /// Thread-safe; applies to the next send().
  virtual void setMaxBufferedBytes(std::size_t bytes) = 0;
  /// Bytes queued for sending and not yet written (for backpressure decisions). Thread-safe.
  virtual std::size_t bufferedBytes() const = 0;
  virtual const std::string& remoteAddress() const = 0;
  virtual bool remoteIsLoopback() const = 0;
  /// Process-unique connection number.
  virtual uint64_t id() const = 0;
};
using WebSocketConnectionPtr = std::shared_ptr<WebSocketConnection>;

/// The close code and reason for a WebSocket closed because its client does not read what it is sent
/// fast enough (OpenClaw 2026.9.6: dist/ws-connection-*.mjs `closeWithGrace(1008, "slow consumer")`,
/// SLOW_CONSUMER_CLOSE_CODE in dist/node-registry-*.mjs).
inline constexpr uint16_t kSlowConsumerCloseCode = 1008;
inline constexpr std::string_view kSlowConsumerCloseReason = "slow consumer";

/// Receives one WebSocket's traffic; created by ServerHandlers::onWebSocket.
class WebSocketSession {
 public:
  virtual ~WebSocketSession() = default;
  /// A complete text (or binary) message. `text` is valid only during the call (it points into the
  /// connection's read buffer); the next message is read after this returns.
  virtual void onMessage(std::string_view text) = 0;
  /// The connection closed (by either side, or failed). Called once; no onMessage after it. `code`:
  /// ours when this side closed first (close(), 1001 from Server::stop(), 1009 for a message over the
  /// limit), else the peer's (1005 when its close frame had none); 1006 when the connection ended
  /// without a close handshake (reset, timeout).
  virtual void onClose(uint16_t code) = 0;
};
using WebSocketSessionPtr = std::shared_ptr<WebSocketSession>;

struct ServerHandlers {
  /// Every plain HTTP request. Requests over ServerOptions::maxHttpBodyBytes are answered 413 (and
  /// malformed ones 400) without calling this.
  std::function<void(HttpExchangePtr)> onHttp;
  /// A WebSocket upgrade on any path (after the handshake completed). Returns the session that gets
  /// the messages; the connection holds it until close. Returning nullptr closes with 1008. When
  /// unset, upgrade requests go to onHttp like any other request.
  std::function<WebSocketSessionPtr(WebSocketConnectionPtr, const HttpRequest& upgrade)> onWebSocket;
};

struct ServerOptions {
  /// Reverse proxies whose forwarded headers name the client (HttpRequest::remoteAddress,
  /// WebSocketConnection::remoteAddress). Empty: forwarded headers are never believed.
  TrustedProxies trustedProxies;
  /// With a trusted proxy and no usable X-Forwarded-For: take X-Real-IP (`gateway.allowRealIpFallback`).
  bool allowRealIpFallback = false;
  /// Addresses to listen on; each must bind or create() fails. "127.0.0.1" and "::1" by default.
  std::vector<std::string> bindAddresses{"127.0.0.1", "::1"};
  /// 0 picks a free port (the same one on every address); read it back with Server::port().
  uint16_t port = 18789;
  /// Largest accepted HTTP request body, bytes.
  std::size_t maxHttpBodyBytes = 8u << 20;
  /// Initial WebSocket message limit, bytes (before the protocol handshake raises it).
  std::size_t initialMaxWsMessageBytes = 64u << 10;
  /// Initial limit on a WebSocket's queued outgoing bytes (WebSocketConnection::setMaxBufferedBytes).
  /// Default: OpenClaw's MAX_BUFFERED_BYTES (50 MiB, dist/server-constants-*.mjs).
  std::size_t maxWsBufferedBytes = 52428800;
  /// Read-side backpressure: while more than this many bytes are queued for sending on a WebSocket,
  /// its next message is not read (so a client that sends requests without reading the answers is
  /// held to about this much queued output); reading resumes once the queue is down to half of it.
  /// Messages pushed by the application still count against maxWsBufferedBytes. 0 disables the pause.
  std::size_t wsPauseReadingAboveBytes = 4u << 20;
  /// Largest number of bytes a streamed HTTP response (ResponseStream, e.g. Server-Sent Events) may
  /// hold queued; a write that would go over it drops the queue and closes the connection (the client
  /// sees a truncated body; closed() turns true).
  std::size_t maxHttpStreamBufferedBytes = 52428800;
  /// Exactly one thread runs the io_context given to Server::create. Its handlers then never run
  /// concurrently (Asio's "implicit strand"), so WebSocket connections run on the io_context's own
  /// executor rather than each on a strand, and skip the strand's lock and reference counts on every
  /// read and write. Leave false when more than one thread runs it (connections would race).
  bool singleIoThread = false;
};

/// Counters since Server::create().
struct ServerStats {
  uint64_t connectionsAccepted = 0;  // TCP connections accepted, on every address
  uint64_t httpRequests = 0;         // plain HTTP requests handed to onHttp
  uint64_t webSocketsAccepted = 0;   // completed WebSocket handshakes
  uint64_t openConnections = 0;      // HTTP and WebSocket connections open now
  /// Writes WebSocket connections handed to their sockets (handshake responses and frames; several
  /// queued messages leaving in one gathered write count once).
  uint64_t webSocketWrites = 0;
};

/// The listening server. Created on an io_context the caller runs (on any number of threads).
/// Timeouts: an HTTP connection is closed after 60 s without a (complete) request or when a response
/// write takes over 60 s; WebSockets time out as Beast's suggested server settings do (handshake and
/// close 30 s; idle 300 s, with a ping after 150 s of silence; the idle check is the connection's own
/// coarse timer rather than Beast's per-read one). TCP_NODELAY is set on every connection.
/// Outgoing WebSocket queues are bounded (ServerOptions::maxWsBufferedBytes, slow-consumer close) and a
/// connection with much unread output is not read from (wsPauseReadingAboveBytes); memory a large queue
/// held is given back to the OS once it is empty.
/// Destroying it stops it (as stop()); connections that are still closing finish on the io_context
/// afterwards, and their WebSocketSession::onClose still runs.
class Server {
 public:
  virtual ~Server() = default;
  /// Binds and starts accepting; every address must bind (none is served if one fails). Errors:
  /// kAlreadyExists naming the address and port when one is already in use (EADDRINUSE); kIo with the address
  /// and the OS reason for any other bind failure (e.g. EADDRNOTAVAIL on a host without IPv6);
  /// kInvalidArgument for an unparsable address.
  static Result<std::unique_ptr<Server>> create(boost::asio::io_context& io, ServerOptions options,
                                                ServerHandlers handlers);
  /// The bound port.
  virtual uint16_t port() const = 0;
  /// Stops accepting and closes every connection (WebSockets with 1001, after the messages already
  /// queued on them; a peer that has not taken them within 2 s is disconnected). Thread-safe, idempotent.
  virtual void stop() = 0;
  /// Thread-safe.
  virtual ServerStats stats() const = 0;
};
using ServerPtr = std::unique_ptr<Server>;

}  // namespace talon::net
