#pragma once
// A line-oriented TCP client (optionally over TLS) for text protocols such as IRC (RFC 1459 §2.3,
// RFC 2812 §2.3): one connection, lines terminated by CRLF (a bare LF is accepted on input), a maximum
// line length, a bounded send queue. Asio-free header; the implementation runs on the caller's
// io_context.
//
// Thread rules: connect(), send() and close() may be called from any thread. Every handler runs on the
// io_context's threads, one at a time and in order (a strand of their own), never inside connect(),
// send() or close(). One object is one connection: connect() once; reconnecting means a new object.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/error.h"

namespace boost::asio {
class io_context;
}

namespace talon::net {

/// Where and how to connect.
struct TcpLineClientOptions {
  std::string host;        // a host name or an IP address
  uint16_t port = 0;       // the TCP port
  bool tls = false;        // TLS 1.2+, the peer verified against the system trust store (RFC 6125 host name, SNI)
  std::string extraCaPem;  // extra trusted CA certificates (PEM) for `tls`: a private CA
  /// The longest line accepted from the peer, in bytes without the line terminator; a longer line is a
  /// protocol error that closes the connection (kUpstream). IRC: 512 bytes, plus up to 8,191 bytes of
  /// IRCv3 message tags.
  std::size_t maxLineBytes = 8704;
  /// The most bytes waiting to be written; send() refuses a line beyond it (kResourceExhausted).
  std::size_t maxQueuedBytes = 1 << 20;
  /// Name resolution, the TCP connect and the TLS handshake together must finish within this.
  std::chrono::milliseconds connectTimeout{15000};
};

/// What the client reports. Each member may be empty.
struct TcpLineHandlers {
  /// The connection is up (after the TLS handshake with `tls`); send() now writes.
  std::function<void()> onConnected;
  /// One line from the peer, without its CR LF (or LF).
  std::function<void(std::string line)> onLine;
  /// The connection ended, once per object: kUnavailable (resolve, connect, TLS or socket failure; the
  /// peer closed), kDeadlineExceeded (connect timeout), kUpstream (a line over maxLineBytes), kCancelled
  /// (close() was called). No handler runs after it.
  std::function<void(Error)> onClosed;
};

class TcpLineClient : public std::enable_shared_from_this<TcpLineClient> {
 public:
  /// A client bound to `io`, which must outlive it. Errors: kInvalidArgument for an empty host or port
  /// 0; kInternal when the TLS context cannot be set up; kInvalidArgument for a bad `extraCaPem`.
  static Result<std::shared_ptr<TcpLineClient>> create(boost::asio::io_context& io, TcpLineClientOptions options,
                                                       TcpLineHandlers handlers);
  virtual ~TcpLineClient() = default;

  /// Starts resolving and connecting; the outcome is onConnected or onClosed.
  virtual void connect() = 0;
  /// Queues `line` (a CR LF is appended; the line must not contain CR, LF or NUL) for writing, in
  /// order. Lines queued before the connection is up are written once it is. `onWritten` (may be empty)
  /// runs once: ok when the socket took the whole line, else the connection's end (kUnavailable,
  /// kCancelled). Errors (and `onWritten` is then not called): kInvalidArgument for CR/LF/NUL in the
  /// line, kResourceExhausted when the queue is full, kUnavailable after the connection ended.
  virtual Status send(std::string line, std::function<void(Status)> onWritten = {}) = 0;
  /// Closes once the lines queued so far were written (or the connection failed), then reports
  /// onClosed(kCancelled). For a polite QUIT. Idempotent.
  virtual void closeAfterFlush() = 0;
  /// Closes now; queued lines are dropped (their onWritten gets kCancelled); onClosed(kCancelled).
  /// Idempotent.
  virtual void close() = 0;
  /// Bytes queued and not yet written. Thread-safe.
  virtual std::size_t queuedBytes() const = 0;
};
using TcpLineClientPtr = std::shared_ptr<TcpLineClient>;

}  // namespace talon::net
