// The server side of one WebSocket (RFC 6455): handshake on an upgraded HTTP connection, a read loop
// that hands each message to the session on the connection's strand, and an ordered, bounded write
// queue: a client that does not read is closed as a slow consumer, and one that sends requests without
// reading the answers is not read from until it catches up.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/append.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <type_traits>
#include <vector>

#include "net/server_connection.h"

namespace talon::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using boost::system::error_code;

/// The connection whose message this thread is delivering to its session (WebSocketConnectionImpl::onRead),
/// or null.
thread_local const void* tDeliveringTo = nullptr;

/// After Server::stop() sent close 1001: how long the peer has to answer before the socket is closed.
constexpr auto kStopCloseTimeout = std::chrono::seconds(2);
/// A slow consumer's close frame gets this long to leave before the socket is closed (OpenClaw's
/// WEBSOCKET_CLOSE_GRACE_MS, dist/server-constants-*.mjs).
constexpr auto kSlowConsumerCloseGrace = std::chrono::milliseconds(1000);
/// The read buffer is given back to the allocator after a message larger than this.
constexpr std::size_t kKeepReadBufferBytes = 64u << 10;
/// Send queues keep their slots up to this many messages; a longer burst gives them back.
constexpr std::size_t kKeepQueueSlots = 64;
/// A connection whose send queue held more than this gives the freed memory back to the OS
/// (returnFreedMemory) once the queue is empty again or the connection ends.
constexpr std::size_t kReturnMemoryAboveBytes = 4u << 20;
/// A WebSocket that received nothing (no message, no control frame) for half of this is pinged, and
/// closed when the next half passes without anything either (Beast's suggested server setting).
constexpr auto kIdleTimeout = std::chrono::seconds(300);
/// RFC 6455 §5.5: a control frame payload is at most 125 bytes, 2 of them the close code.
constexpr std::size_t kMaxCloseReasonBytes = 123;

/// A close code an endpoint may send (RFC 6455 §7.4.1-2): 1005, 1006 and 1015 are reserved for
/// reporting only.
bool sendableCloseCode(uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/// Cuts `reason` to the close frame's limit without splitting a UTF-8 sequence.
std::string truncateReason(std::string reason) {
  if (reason.size() <= kMaxCloseReasonBytes) return reason;
  std::size_t n = kMaxCloseReasonBytes;
  while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80) --n;
  reason.resize(n);
  return reason;
}

/// The TCP layer under a server WebSocket: a TCP socket that can hold back small writes so that
/// several queued messages leave in one system call, and whose close-handshake teardown reads (and
/// discards) what the peer still sends until it closes its side.
///
/// Holding back ("corking"): Beast writes each message with its own `async_write`, so a connection
/// with five queued event frames made five `sendmsg` calls (and, on loopback, five trips through the
/// receive path). While `corkNextWrite(true)` is in effect, a write of at most kMaxCorkedBytes in all is
/// copied into a buffer and completed at once (posted, never inline); the first write made without it
/// sends the held bytes and its own in one gathered write. The connection sets it only around the
/// initiation of a message that another queued message follows, so held bytes always leave with the
/// next write on the stream: Beast's own frames (pong, close) are never held and flush what is. Held
/// bytes count as written in the connection's send-queue accounting (bufferedBytes), an error of at most
/// kMaxCorkedBytes against the slow-consumer limit.
///
/// Beast's own TCP teardown (boost/beast/websocket/impl/teardown.hpp, Boost 1.81) leaves its drain loop
/// after the first successful read. When the server fails a connection while the client is still
/// sending (a message over `read_message_max`: close 1009), the socket is then closed with unread data
/// and the kernel answers with RST; a client may see the reset before it reads the close frame, and
/// reports close 1006 instead of 1009. RFC 6455 §7.1.1 wants the server to close the TCP connection
/// after the close handshake. Beast's close timeout (the `handshake_timeout` of the options set in
/// start()) bounds the drain: it closes the socket, which ends the teardown with operation_aborted.
///
/// Models Asio's AsyncStream; Beast finds `async_teardown` below by argument-dependent lookup (Beast's
/// teardown customization point). Thread rules: those of the socket (the connection's executor: its strand,
/// or the io_context's own executor on a single I/O thread).
template <class Executor>
class DrainingSocket {
 public:
  using Socket = asio::basic_stream_socket<asio::ip::tcp, Executor>;
  using executor_type = typename Socket::executor_type;
  using next_layer_type = Socket;

  /// The most bytes held back at once; a write that would pass it flushes.
  static constexpr std::size_t kMaxCorkedBytes = 64u << 10;
  /// A hold-back buffer larger than this is freed once flushed; smaller ones are reused.
  static constexpr std::size_t kKeepCorkBufferBytes = 4u << 10;

  /// `writes` counts the writes handed to the socket (ServerStats::webSocketWrites); it must outlive this.
  DrainingSocket(Socket socket, std::atomic<uint64_t>& writes) : socket_(std::move(socket)), writes_(&writes) {}

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  next_layer_type& next_layer() noexcept { return socket_; }
  const next_layer_type& next_layer() const noexcept { return socket_; }

  /// Whether the writes started from now on may be held back (see the class comment).
  void corkNextWrite(bool cork) noexcept { cork_ = cork; }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return socket_.async_read_some(buffers, std::forward<Token>(token));
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& buffers) {
          std::size_t size = asio::buffer_size(buffers);
          if (cork_ && corked_.size() + size <= kMaxCorkedBytes) {
            for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it) {
              asio::const_buffer buffer(*it);
              corked_.append(static_cast<const char*>(buffer.data()), buffer.size());
            }
            asio::post(asio::append(std::move(handler), error_code{}, size));
            return;
          }
          writes_->fetch_add(1, std::memory_order_relaxed);
          if (corked_.empty()) return socket_.async_write_some(buffers, std::move(handler));
          // The held bytes, then these: one gathered write, completed when both are written.
          flushing_.swap(corked_);  // corked_ takes the emptied buffer of the previous flush
          corked_.clear();
          gathered_.clear();
          gathered_.emplace_back(flushing_.data(), flushing_.size());
          for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it) {
            gathered_.emplace_back(*it);
          }
          auto executor = asio::get_associated_executor(handler, socket_.get_executor());  // before the move
          asio::async_write(socket_, gathered_,
                            asio::bind_executor(executor, [this, handler = std::move(handler), size](
                                                              error_code ec, std::size_t) mutable {
                              flushing_.clear();
                              if (flushing_.capacity() > kKeepCorkBufferBytes) flushing_ = std::string();
                              std::move(handler)(ec, ec ? 0 : size);
                            }));
        },
        token, buffers);
  }

 private:
  Socket socket_;
  std::atomic<uint64_t>* writes_;
  bool cork_ = false;
  std::string corked_;    // held-back bytes, in write order
  std::string flushing_;  // held-back bytes being written
  std::vector<asio::const_buffer> gathered_;
};

/// The drain of async_teardown: a server shuts its sending side down first (the peer then reads EOF),
/// reads until the peer's EOF, and closes. Completes with success on EOF, otherwise with the error.
template <class Socket>
class DrainingTeardown {
 public:
  DrainingTeardown(Socket& socket, beast::role_type role) : socket_(&socket), role_(role) {}

  template <class Self>
  void operator()(Self& self, error_code ec = {}) {
    if (!started_) {
      started_ = true;
      socket_->non_blocking(true, ec);
      if (!ec && role_ == beast::role_type::server) socket_->shutdown(asio::socket_base::shutdown_send, ec);
      if (ec) return finish(self, ec);
      // Always wait once: the handler never runs inside the initiating call.
      return socket_->async_wait(asio::socket_base::wait_read, std::move(self));
    }
    if (ec) return finish(self, ec);
    for (;;) {
      char discarded[16 * 1024];
      socket_->read_some(asio::buffer(discarded), ec);
      if (ec == asio::error::would_block) {
        return socket_->async_wait(asio::socket_base::wait_read, std::move(self));
      }
      if (ec) break;
    }
    if (ec == asio::error::eof) ec = {};
    if (!ec && role_ == beast::role_type::client) socket_->shutdown(asio::socket_base::shutdown_send, ec);
    finish(self, ec);
  }

 private:
  template <class Self>
  void finish(Self& self, error_code ec) {
    error_code closed;
    socket_->close(closed);
    self.complete(ec ? ec : closed);
  }

  Socket* socket_;
  beast::role_type role_;
  bool started_ = false;
};

/// Beast's teardown customization point for DrainingSocket (found by argument-dependent lookup).
template <class Executor, class TeardownHandler>
void async_teardown(beast::role_type role, DrainingSocket<Executor>& socket, TeardownHandler&& handler) {
  asio::async_compose<TeardownHandler, void(error_code)>(
      DrainingTeardown<typename DrainingSocket<Executor>::Socket>(socket.next_layer(), role), handler,
      socket.next_layer());
}

/// One server WebSocket whose handlers run on `Executor`: the connection's strand (ConnectionStrand)
/// when several threads run the io_context, or the io_context's own executor when one thread does
/// (ServerOptions::singleIoThread).
template <class Executor>
class WebSocketConnectionImpl final : public WebSocketConnection,
                                      public ServerConnection,
                                      public std::enable_shared_from_this<WebSocketConnectionImpl<Executor>> {
 public:
  using Socket = asio::basic_stream_socket<asio::ip::tcp, Executor>;

  WebSocketConnectionImpl(std::shared_ptr<ServerState> state, Socket socket, HttpRequest upgrade)
      : state_(std::move(state)),
        id_(nextConnectionId()),
        ws_(std::move(socket), state_->webSocketWrites),
        upgrade_(std::move(upgrade)),
        remoteAddress_(upgrade_.remoteAddress),
        remoteIsLoopback_(upgrade_.remoteIsLoopback),
        pauseReadingAbove_(state_->options.wsPauseReadingAboveBytes),
        maxBuffered_(std::max<std::size_t>(1, state_->options.maxWsBufferedBytes)) {}

  ~WebSocketConnectionImpl() override {
    state_->remove(id_);
    if (peakBuffered_ > kReturnMemoryAboveBytes) {
      pending_ = {};
      active_ = {};
      returnFreedMemory();
    }
  }

  /// On the strand.
  void start() {
    // Beast's idle timeout re-arms a timer on every read (a cancel, a cancelled completion through the
    // strand and a new wait per message); the connection keeps its own coarse idle timer instead
    // (startIdleTimer) and leaves Beast the handshake and close timeouts.
    auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws_.set_option(timeouts);
    ws_.control_callback([this](websocket::frame_type, beast::string_view) { ++received_; });
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "talon"); }));
    ws_.read_message_max(state_->options.initialMaxWsMessageBytes);
    ws_.auto_fragment(false);
    ws_.text(true);
    handshake_.emplace();
    handshake_->version(11);
    handshake_->method_string(upgrade_.method);
    handshake_->target(upgrade_.target);
    for (const auto& [name, value] : upgrade_.headers) handshake_->insert(name, value);
    ws_.async_accept(*handshake_, [self = this->shared_from_this()](error_code ec) { self->onAccepted(ec); });
  }

  // WebSocketConnection

  void send(std::string text) override {
    bool start = false;
    bool slow = false;
    std::vector<std::string> dropped;  // freed outside the lock
    {
      std::lock_guard lock(mutex_);
      if (closeRequested_) return;
      std::size_t queued = buffered_.load(std::memory_order_relaxed);
      std::size_t limit = maxBuffered_.load(std::memory_order_relaxed);
      if (text.size() > limit || queued > limit - text.size()) {
        // A slow consumer: nothing more is queued, and what is queued is dropped.
        slow = true;
        closeRequested_ = true;
        overflowQueued_ = queued + text.size();
        std::swap(dropped, pending_);
        for (const auto& message : dropped) queued -= message.size();
        buffered_.store(queued, std::memory_order_relaxed);
      } else {
        queued += text.size();
        buffered_.store(queued, std::memory_order_relaxed);
        if (queued > peakBuffered_) peakBuffered_ = queued;
        pending_.push_back(std::move(text));
        start = !writing_;
        writing_ = true;
      }
    }
    if (slow) {
      dropped = {};
      asio::dispatch(ws_.get_executor(), [self = this->shared_from_this()] { self->closeSlowConsumer(); });
      return;
    }
    if (!start) return;
    if (writesInline()) {
      writeNext();
    } else {
      asio::post(ws_.get_executor(), [self = this->shared_from_this()] { self->writeNext(); });
    }
  }

  void close(uint16_t code, std::string reason) override {
    {
      std::lock_guard lock(mutex_);
      if (closeRequested_) return;
      closeRequested_ = true;
    }
    if (!sendableCloseCode(code)) code = 1011;
    asio::dispatch(ws_.get_executor(),
                   [self = this->shared_from_this(), code, reason = truncateReason(std::move(reason))] {
                     self->requestClose(code, reason);
                   });
  }

  void setMaxMessageBytes(std::size_t bytes) override {
    if (ws_.get_executor().running_in_this_thread()) {
      ws_.read_message_max(bytes);
    } else {
      asio::post(ws_.get_executor(), [self = this->shared_from_this(), bytes] { self->ws_.read_message_max(bytes); });
    }
  }

  void setMaxBufferedBytes(std::size_t bytes) override {
    maxBuffered_.store(std::max<std::size_t>(1, bytes), std::memory_order_relaxed);
  }

  std::size_t bufferedBytes() const override { return buffered_.load(std::memory_order_relaxed); }
  const std::string& remoteAddress() const override { return remoteAddress_; }
  bool remoteIsLoopback() const override { return remoteIsLoopback_; }
  uint64_t id() const override { return id_; }

  // ServerConnection

  void shutdown() override {
    {
      std::lock_guard lock(mutex_);
      closeRequested_ = true;
    }
    asio::dispatch(ws_.get_executor(), [self = this->shared_from_this()] {
      if (self->finished_) return;
      // What is queued is still written before the close frame (e.g. the final events of the turns
      // the gateway drained before stopping); a peer that does not read is cut by the close timer.
      self->startCloseTimer(kStopCloseTimeout);
      self->requestClose(1001, "server stopping");
    });
  }

 private:
  void onAccepted(error_code ec) {
    handshake_.reset();
    if (ec) {
      spdlog::debug("net: WebSocket handshake from {} failed: {}", remoteAddress_, ec.message());
      return;  // Beast answered the HTTP request with an error status; the socket closes with us
    }
    state_->webSocketsAccepted.fetch_add(1, std::memory_order_relaxed);
    if (!state_->add(id_, this->weak_from_this())) {
      requestClose(1001, "server stopping");
      doRead();
      return;
    }
    try {
      session_ = state_->handlers.onWebSocket(this->shared_from_this(), upgrade_);
    } catch (const std::exception& e) {
      spdlog::error("net: WebSocket handler threw for {}: {}", remoteAddress_, e.what());
    }
    upgrade_ = HttpRequest{};
    if (!session_) close(1008, "");
    startIdleTimer();
    doRead();
  }

  /// On the strand: checks for silence every half idle period (kIdleTimeout).
  void startIdleTimer() {
    idleTimer_.emplace(ws_.get_executor());
    armIdleTimer();
  }

  void armIdleTimer() {
    idleTimer_->expires_after(kIdleTimeout / 2);
    idleTimer_->async_wait([self = this->shared_from_this()](error_code ec) { self->onIdleTick(ec); });
  }

  void onIdleTick(error_code ec) {
    if (ec || finished_ || closeStarted_) return;  // Beast times the close handshake out itself
    if (received_ != receivedAtTick_) {
      receivedAtTick_ = received_;
      idlePinged_ = false;
      return armIdleTimer();
    }
    if (!idlePinged_) {
      idlePinged_ = true;
      ws_.async_ping({}, [self = this->shared_from_this()](error_code) {});
      return armIdleTimer();
    }
    spdlog::debug("net: WebSocket {} from {} silent for {} s; closing", id_, remoteAddress_, kIdleTimeout.count());
    error_code ignored;
    beast::get_lowest_layer(ws_).close(ignored);  // pending operations fail and finish the connection
  }

  void doRead() {
    reading_ = true;
    ws_.async_read(buffer_, [self = this->shared_from_this()](error_code ec, std::size_t) { self->onRead(ec); });
  }

  void onRead(error_code ec) {
    reading_ = false;
    if (ec) return onReadEnded(ec);
    ++received_;
    if (!finished_ && !closeStarted_ && !closeWanted_ && session_) {
      auto data = buffer_.cdata();
      try {
        const void* const outer = tDeliveringTo;
        tDeliveringTo = this;
        struct Restore {
          const void* outer;
          ~Restore() { tDeliveringTo = outer; }
        } restore{outer};
        session_->onMessage(std::string_view(static_cast<const char*>(data.data()), data.size()));
      } catch (const std::exception& e) {
        spdlog::error("net: WebSocket message handler threw for {}: {}", remoteAddress_, e.what());
        close(1011, "internal error");
      }
    }
    buffer_.consume(buffer_.size());
    if (buffer_.capacity() > kKeepReadBufferBytes) buffer_.shrink_to_fit();
    if (finished_) return;
    if (pauseReadingAbove_ > 0 && bufferedBytes() > pauseReadingAbove_ && !closeWanted_) {
      // Backpressure: the next request waits until the client has read most of the answers.
      readPaused_ = true;
      return;
    }
    doRead();
  }

  void onReadEnded(error_code ec) {
    uint16_t code;
    if (ec == websocket::error::message_too_big) {
      code = 1009;  // Beast already sent the close frame with this code
    } else if (closeWanted_) {
      code = closeCode_;
    } else if (ec == websocket::error::closed) {
      code = ws_.reason().code;
      if (code == websocket::close_code::none) code = 1005;  // RFC 6455 §7.1.5: no status code received
    } else {
      code = 1006;  // abnormal closure: reset, timeout, protocol error
    }
    buffer_.clear();
    buffer_.shrink_to_fit();
    finish(code);
  }

  /// Whether a send() on this thread may start the write at once rather than post it. Inside this
  /// connection's own handlers (a request's answer), it may. Otherwise it posts, so that what else the
  /// running handler sends to this connection (a turn's events) is queued by then and leaves in one write:
  /// on a strand, "inside" is the strand's own test; on the io_context's executor, which every handler
  /// of the thread runs on, it is this connection's message delivery (tDeliveringTo).
  bool writesInline() {
    if constexpr (std::is_same_v<Executor, asio::io_context::executor_type>) {
      return tDeliveringTo == this;
    } else {
      return ws_.get_executor().running_in_this_thread();
    }
  }

  void writeNext() {
    bool tookBatch = false;
    if (activeIndex_ >= active_.size()) {
      active_.clear();
      activeIndex_ = 0;
      if (active_.capacity() > kKeepQueueSlots) active_ = {};
      bool drained = false;
      bool returnMemory = false;
      {
        std::lock_guard lock(mutex_);
        if (pending_.empty() || finished_) {
          pending_.clear();
          if (pending_.capacity() > kKeepQueueSlots) pending_ = {};
          writing_ = false;
          drained = true;
          returnMemory = peakBuffered_ > kReturnMemoryAboveBytes;
          peakBuffered_ = 0;
        } else {
          std::swap(active_, pending_);
          tookBatch = true;
        }
      }
      if (drained) {
        onDrained(returnMemory);
        startCloseIfWanted();
        return;
      }
    }
    // Another message follows this one: let it wait in the socket layer and leave with the next. A batch
    // taken just now left pending_ empty; what is queued since leaves with the next write (no second lock).
    bool more = activeIndex_ + 1 < active_.size();
    if (!more && !tookBatch) {
      std::lock_guard lock(mutex_);
      more = !pending_.empty();
    }
    auto& socket = ws_.next_layer();
    socket.corkNextWrite(more);
    ws_.async_write(asio::buffer(active_[activeIndex_]),
                    [self = this->shared_from_this()](error_code ec, std::size_t) { self->onWritten(ec); });
    socket.corkNextWrite(false);  // Beast started the write above, or queued it behind its own frame
  }

  void onWritten(error_code ec) {
    buffered_.fetch_sub(active_[activeIndex_].size(), std::memory_order_relaxed);
    std::string().swap(active_[activeIndex_]);  // free it now, not with the whole batch
    ++activeIndex_;
    if (ec) {
      active_ = {};
      activeIndex_ = 0;
      {
        std::lock_guard lock(mutex_);
        closeRequested_ = true;
        pending_ = {};
        writing_ = false;
        buffered_.store(0, std::memory_order_relaxed);
      }
      // The read loop sees the same failure and finishes the connection; without a read pending
      // (reading paused) nobody else will.
      if (!reading_ && !closeStarted_) finish(closeWanted_ ? closeCode_ : 1006);
      return;
    }
    if (readPaused_ && bufferedBytes() <= pauseReadingAbove_ / 2 && !finished_ && !closeStarted_) {
      readPaused_ = false;
      doRead();
    }
    writeNext();
  }

  /// On the strand, when the send queue became empty.
  void onDrained(bool returnMemory) {
    if (returnMemory) returnFreedMemory();
    if (readPaused_ && !finished_ && !closeStarted_) {
      readPaused_ = false;
      doRead();
    }
  }

  /// On the strand: drops the queued messages except the one being written.
  void dropQueued() {
    std::vector<std::string> dropped;
    {
      std::lock_guard lock(mutex_);
      std::swap(dropped, pending_);
    }
    std::size_t bytes = 0;
    for (const auto& message : dropped) bytes += message.size();
    // Outside writeNext/onWritten, active_[activeIndex_] (when there is one) is being written.
    std::size_t keep = std::min(activeIndex_ + 1, active_.size());
    for (std::size_t i = keep; i < active_.size(); ++i) bytes += active_[i].size();
    active_.resize(keep);
    buffered_.fetch_sub(bytes, std::memory_order_relaxed);
  }

  /// On the strand: send() went over the limit.
  void closeSlowConsumer() {
    if (finished_ || closeWanted_) return;
    spdlog::warn("net: WebSocket {} from {}: {} bytes to send exceed the limit of {}; closing it as a slow consumer",
                 id_, remoteAddress_, overflowQueued_, maxBuffered_.load(std::memory_order_relaxed));
    dropQueued();
    // The message being written may never complete (the client reads nothing): the close frame gets
    // OpenClaw's grace period, then the socket is closed.
    startCloseTimer(kSlowConsumerCloseGrace);
    requestClose(kSlowConsumerCloseCode, std::string(kSlowConsumerCloseReason));
  }

  /// On the strand: closes the socket after `timeout` unless the connection finished by then.
  void startCloseTimer(std::chrono::milliseconds timeout) {
    if (closeTimer_) return;
    closeTimer_.emplace(ws_.get_executor());
    closeTimer_->expires_after(timeout);
    closeTimer_->async_wait([self = this->shared_from_this()](error_code ec) {
      if (ec || self->finished_) return;
      error_code ignored;
      beast::get_lowest_layer(self->ws_).close(ignored);  // pending operations fail and finish the connection
    });
  }

  /// On the strand: remember the close and start it once the queued messages are written.
  void requestClose(uint16_t code, std::string reason) {
    if (closeWanted_ || finished_) return;
    closeWanted_ = true;
    closeCode_ = code;
    closeReason_ = std::move(reason);
    startCloseIfWanted();
  }

  void startCloseIfWanted() {
    if (!closeWanted_ || closeStarted_ || finished_) return;
    {
      std::lock_guard lock(mutex_);
      if (writing_) return;  // writeNext() calls again when the queue is empty
    }
    closeStarted_ = true;
    ws_.async_close(websocket::close_reason(static_cast<websocket::close_code>(closeCode_), closeReason_),
                    [self = this->shared_from_this()](error_code) { self->finish(self->closeCode_); });
  }

  void finish(uint16_t code) {
    if (finished_) return;
    finished_ = true;
    {
      std::lock_guard lock(mutex_);
      closeRequested_ = true;
      pending_ = {};
    }
    if (closeTimer_) closeTimer_->cancel();
    if (idleTimer_) idleTimer_->cancel();
    state_->remove(id_);
    auto session = std::move(session_);
    if (session) {
      try {
        session->onClose(code);
      } catch (const std::exception& e) {
        spdlog::error("net: WebSocket close handler threw for {}: {}", remoteAddress_, e.what());
      }
    }
  }

  std::shared_ptr<ServerState> state_;
  const uint64_t id_;
  websocket::stream<DrainingSocket<Executor>> ws_;
  HttpRequest upgrade_;
  const std::string remoteAddress_;
  const bool remoteIsLoopback_;
  const std::size_t pauseReadingAbove_;
  std::optional<http::request<http::empty_body>> handshake_;
  WebSocketSessionPtr session_;
  beast::flat_buffer buffer_;
  std::atomic<std::size_t> buffered_{0};  // bytes in pending_ and the unwritten part of active_
  std::atomic<std::size_t> maxBuffered_;  // setMaxBufferedBytes

  // Guarded by mutex_:
  std::mutex mutex_;
  std::vector<std::string> pending_;  // queued by send(), not yet taken by the writer
  bool writing_ = false;              // a writer owns active_ (running or scheduled)
  bool closeRequested_ = false;       // no more sends accepted
  std::size_t peakBuffered_ = 0;      // most bytes queued since the queue was last empty
  std::size_t overflowQueued_ = 0;    // what the refused send would have queued (for the log)

  // On the strand:
  std::vector<std::string> active_;  // the batch being written, in order
  std::size_t activeIndex_ = 0;
  bool reading_ = false;     // an async_read is pending
  bool readPaused_ = false;  // reading waits for the send queue to drain
  bool closeWanted_ = false;
  bool closeStarted_ = false;
  bool finished_ = false;
  uint16_t closeCode_ = 1000;
  std::string closeReason_;
  std::optional<asio::steady_timer> closeTimer_;
  std::optional<asio::steady_timer> idleTimer_;
  uint64_t received_ = 0;        // messages and control frames received
  uint64_t receivedAtTick_ = 0;  // received_ at the last idle check
  bool idlePinged_ = false;      // pinged for silence, no answer yet
};

}  // namespace

void startWebSocketConnection(std::shared_ptr<ServerState> state, ConnectionSocket socket, HttpRequest upgrade) {
  if (!state->options.singleIoThread) {
    auto connection = std::make_shared<WebSocketConnectionImpl<ConnectionStrand>>(std::move(state), std::move(socket),
                                                                                  std::move(upgrade));
    return connection->start();
  }
  // One thread runs the io_context, so every handler already runs one at a time (Asio's "implicit
  // strand"): the socket moves to the io_context's own executor and the connection skips the strand's
  // locking and reference counting on every operation. This runs on the strand, where the upgrade
  // finished, with no operation pending on the socket.
  using PlainSocket = WebSocketConnectionImpl<asio::io_context::executor_type>::Socket;
  auto& io = socket.get_executor().get_inner_executor().context();
  const auto fail = [&](const error_code& ec) {
    spdlog::warn("net: WebSocket from {}: cannot take over the socket: {}", upgrade.remoteAddress, ec.message());
  };
  error_code ec;
  const auto protocol = socket.local_endpoint(ec).protocol();
  if (ec) return fail(ec);  // `socket` closes it
  const auto handle = socket.release(ec);
  if (ec) return fail(ec);  // not released: `socket` closes it
  PlainSocket plain(io.get_executor());
  plain.assign(protocol, handle, ec);
  if (ec) {
    ::close(handle);
    return fail(ec);
  }
  auto connection = std::make_shared<WebSocketConnectionImpl<asio::io_context::executor_type>>(
      std::move(state), std::move(plain), std::move(upgrade));
  connection->start();
}

}  // namespace talon::net
