#pragma once
// A client WebSocket on a plain POSIX TCP socket, for the benchmark client. Blocking use (one
// connection per thread: receive()) and non-blocking use (many connections on one epoll loop:
// readAvailable() + nextMessage()) share the framing in ws_wire.h. Pings are answered with pongs.
// Not thread-safe: one instance is used by one thread.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "ws_wire.h"

namespace talon::bench {

using SteadyClock = std::chrono::steady_clock;

class WsConnection {
 public:
  /// Connects to `host`:`port` (a numeric IPv4 or IPv6 address), sends the opening handshake for `path`
  /// and checks the answer, all within `timeout`. The socket is blocking, with TCP_NODELAY. Errors:
  /// kUnavailable when the connection is refused or reset or the upgrade is refused,
  /// kDeadlineExceeded, kUpstream for a bad handshake answer, kIo for other socket failures.
  static Result<std::unique_ptr<WsConnection>> open(const std::string& host, uint16_t port, const std::string& path,
                                                    std::chrono::milliseconds timeout);
  ~WsConnection();
  WsConnection(const WsConnection&) = delete;
  WsConnection& operator=(const WsConnection&) = delete;

  int fd() const { return fd_; }

  /// Sends one text message. Blocking mode writes all of it. Non-blocking mode writes what the socket
  /// takes and queues the rest for flush(). Errors: kUnavailable when the peer went away, kIo.
  Status sendText(std::string_view text);

  /// Blocking mode: the next message (text of a data frame). It stays valid until the next call on
  /// this connection. Errors: kDeadlineExceeded after `timeout`; kUnavailable when the server closed
  /// (closeCode() then holds the code, 1006 for a connection dropped without a close frame); the
  /// decoder's errors.
  Result<std::string_view> receive(std::chrono::milliseconds timeout);

  /// Switches the socket to non-blocking mode (for epoll).
  Status setNonBlocking();
  /// Non-blocking mode: reads everything the socket has. Errors: kUnavailable at end of stream or
  /// reset (closeCode() becomes 1006), kIo.
  Status readAvailable();
  /// The next buffered message, or nullopt when none is complete. Valid until the next call on this
  /// connection. Pings are answered; a close frame gives kUnavailable (closeCode() holds its code).
  Result<std::optional<std::string_view>> nextMessage();
  /// Non-blocking mode: writes queued output. Errors as sendText().
  Status flush();
  /// Bytes queued by sendText() in non-blocking mode and not yet written.
  std::size_t pendingOutput() const { return out_.size() - outStart_; }

  /// The close code the server sent, once closed.
  std::optional<uint16_t> closeCode() const { return closeCode_; }

  /// Sends a close frame (1000) when still open, then closes the socket without waiting for the answer.
  void closeNow();

 private:
  explicit WsConnection(int fd) : fd_(fd) {}
  Status writeAll(const char* data, std::size_t n);
  Status setReceiveTimeout(std::chrono::milliseconds timeout);
  uint32_t nextMask();

  int fd_ = -1;
  bool nonBlocking_ = false;
  FrameDecoder decoder_;
  std::string out_;  // encoded frames not yet written (non-blocking mode); scratch in blocking mode
  std::size_t outStart_ = 0;
  std::optional<uint16_t> closeCode_;
  std::chrono::milliseconds receiveTimeout_{-1};
  uint64_t maskState_ = 0;
};

}  // namespace talon::bench
