#pragma once
// Internal to src/net (not for other modules): what the listener and HTTP sessions (server.cpp) share
// with the WebSocket sessions (websocket_connection.cpp). Asio only; no Beast in this header.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "net/server.h"

namespace talon::net {

/// The executor of one connection: all of its handlers run on this strand.
using ConnectionStrand = boost::asio::strand<boost::asio::io_context::executor_type>;
/// An accepted TCP socket bound to its connection's strand.
using ConnectionSocket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, ConnectionStrand>;

/// A live connection that Server::stop() must close.
class ServerConnection {
 public:
  virtual ~ServerConnection() = default;
  /// Closes the connection because the server stops (a WebSocket sends close 1001). Thread-safe.
  virtual void shutdown() = 0;
};

/// State shared by the Server and its connections; each connection holds a shared_ptr, so it outlives
/// the Server object while connections finish. Thread-safe.
class ServerState {
 public:
  ServerState(ServerOptions options, ServerHandlers handlers)
      : options(std::move(options)), handlers(std::move(handlers)) {}

  const ServerOptions options;
  const ServerHandlers handlers;

  std::atomic<uint64_t> connectionsAccepted{0};
  std::atomic<uint64_t> httpRequests{0};
  std::atomic<uint64_t> webSocketsAccepted{0};
  std::atomic<uint64_t> webSocketWrites{0};

  /// Registers a live connection under `id`. Returns false when the server is already stopping; the
  /// caller then shuts the connection down itself.
  bool add(uint64_t id, std::weak_ptr<ServerConnection> connection);
  /// Forgets a connection (from its destructor or when it ends). Unknown ids are ignored.
  void remove(uint64_t id);
  /// Marks the server stopping and returns the connections that are still alive.
  std::vector<std::shared_ptr<ServerConnection>> stopAll();
  bool stopping() const;
  uint64_t openConnections() const;

 private:
  mutable std::mutex mutex_;
  bool stopping_ = false;
  std::unordered_map<uint64_t, std::weak_ptr<ServerConnection>> connections_;
};

/// A process-unique connection number (never 0).
uint64_t nextConnectionId();

/// Takes over a socket whose HTTP request `upgrade` asked for a WebSocket: completes the handshake
/// (RFC 6455 §4.2.2, the response computed from `upgrade`'s headers), calls ServerHandlers::onWebSocket
/// and runs the session. Call on the socket's strand.
void startWebSocketConnection(std::shared_ptr<ServerState> state, ConnectionSocket socket, HttpRequest upgrade);

/// Gives memory that the allocator holds free back to the OS (glibc: malloc_trim), after a connection
/// freed a large send queue: without it the pages of a burst stay in the process. Thread-safe; a call
/// while another one runs returns at once. A no-op where the allocator has no such call.
void returnFreedMemory();

/// True for 127.0.0.0/8, ::1 and IPv4-mapped loopback.
bool isLoopback(const boost::asio::ip::address& address);

}  // namespace talon::net
