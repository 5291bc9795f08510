// The server side of one WebSocket (RFC 6455): handshake on an upgraded HTTP connection, a read loop
// that hands each message to the session on the connection's strand, and an ordered write queue.
#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <exception>
#include <optional>

#include "net/server_connection.h"

namespace talon::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using boost::system::error_code;

/// After Server::stop() sent close 1001: how long the peer has to answer before the socket is closed.
constexpr auto kStopCloseTimeout = std::chrono::seconds(2);
/// The read buffer is given back to the allocator after a message larger than this.
constexpr std::size_t kKeepReadBufferBytes = 1u << 20;
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

class WebSocketConnectionImpl final : public WebSocketConnection,
                                      public ServerConnection,
                                      public std::enable_shared_from_this<WebSocketConnectionImpl> {
 public:
  WebSocketConnectionImpl(std::shared_ptr<ServerState> state, ConnectionSocket socket, HttpRequest upgrade)
      : state_(std::move(state)),
        id_(nextConnectionId()),
        ws_(std::move(socket)),
        upgrade_(std::move(upgrade)),
        remoteAddress_(upgrade_.remoteAddress),
        remoteIsLoopback_(upgrade_.remoteIsLoopback) {}

  ~WebSocketConnectionImpl() override { state_->remove(id_); }

  /// On the strand.
  void start() {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
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
    ws_.async_accept(*handshake_, [self = shared_from_this()](error_code ec) { self->onAccepted(ec); });
  }

  // WebSocketConnection

  void send(std::string text) override {
    bool start = false;
    {
      std::lock_guard lock(mutex_);
      if (closeRequested_) return;
      buffered_.fetch_add(text.size(), std::memory_order_relaxed);
      pending_.push_back(std::move(text));
      start = !writing_;
      writing_ = true;
    }
    if (!start) return;
    if (ws_.get_executor().running_in_this_thread()) {
      writeNext();
    } else {
      asio::post(ws_.get_executor(), [self = shared_from_this()] { self->writeNext(); });
    }
  }

  void close(uint16_t code, std::string reason) override {
    {
      std::lock_guard lock(mutex_);
      if (closeRequested_) return;
      closeRequested_ = true;
    }
    if (!sendableCloseCode(code)) code = 1011;
    asio::dispatch(ws_.get_executor(), [self = shared_from_this(), code, reason = truncateReason(std::move(reason))] {
      self->requestClose(code, reason);
    });
  }

  void setMaxMessageBytes(std::size_t bytes) override {
    if (ws_.get_executor().running_in_this_thread()) {
      ws_.read_message_max(bytes);
    } else {
      asio::post(ws_.get_executor(), [self = shared_from_this(), bytes] { self->ws_.read_message_max(bytes); });
    }
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
    asio::dispatch(ws_.get_executor(), [self = shared_from_this()] {
      if (self->finished_) return;
      {
        // Queued messages are dropped; only the one being written completes.
        std::lock_guard lock(self->mutex_);
        self->pending_.clear();
      }
      self->stopTimer_.emplace(self->ws_.get_executor());
      self->stopTimer_->expires_after(kStopCloseTimeout);
      self->stopTimer_->async_wait([self](error_code ec) {
        if (ec || self->finished_) return;
        error_code ignored;
        beast::get_lowest_layer(self->ws_).close(ignored);  // the pending read fails and finishes with 1001
      });
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
    if (!state_->add(id_, weak_from_this())) {
      requestClose(1001, "server stopping");
      doRead();
      return;
    }
    try {
      session_ = state_->handlers.onWebSocket(shared_from_this(), upgrade_);
    } catch (const std::exception& e) {
      spdlog::error("net: WebSocket handler threw for {}: {}", remoteAddress_, e.what());
    }
    upgrade_ = HttpRequest{};
    if (!session_) close(1008, "");
    doRead();
  }

  void doRead() {
    ws_.async_read(buffer_, [self = shared_from_this()](error_code ec, std::size_t) { self->onRead(ec); });
  }

  void onRead(error_code ec) {
    if (ec) return onReadEnded(ec);
    if (!finished_ && !closeStarted_ && !closeWanted_ && session_) {
      auto data = buffer_.cdata();
      try {
        session_->onMessage(std::string_view(static_cast<const char*>(data.data()), data.size()));
      } catch (const std::exception& e) {
        spdlog::error("net: WebSocket message handler threw for {}: {}", remoteAddress_, e.what());
        close(1011, "internal error");
      }
    }
    buffer_.consume(buffer_.size());
    if (buffer_.capacity() > kKeepReadBufferBytes) buffer_.shrink_to_fit();
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
    finish(code);
  }

  void writeNext() {
    if (activeIndex_ >= active_.size()) {
      active_.clear();
      activeIndex_ = 0;
      {
        std::lock_guard lock(mutex_);
        if (pending_.empty() || finished_) {
          pending_.clear();
          writing_ = false;
        } else {
          std::swap(active_, pending_);
        }
      }
      if (active_.empty()) {
        startCloseIfWanted();
        return;
      }
    }
    ws_.async_write(asio::buffer(active_[activeIndex_]),
                    [self = shared_from_this()](error_code ec, std::size_t) { self->onWritten(ec); });
  }

  void onWritten(error_code ec) {
    buffered_.fetch_sub(active_[activeIndex_].size(), std::memory_order_relaxed);
    ++activeIndex_;
    if (ec) {
      // The read loop sees the same failure and finishes the connection.
      active_.clear();
      activeIndex_ = 0;
      std::lock_guard lock(mutex_);
      closeRequested_ = true;
      pending_.clear();
      writing_ = false;
      buffered_.store(0, std::memory_order_relaxed);
      return;
    }
    writeNext();
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
                    [self = shared_from_this()](error_code) { self->finish(self->closeCode_); });
  }

  void finish(uint16_t code) {
    if (finished_) return;
    finished_ = true;
    {
      std::lock_guard lock(mutex_);
      closeRequested_ = true;
      pending_.clear();
    }
    if (stopTimer_) stopTimer_->cancel();
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
  websocket::stream<ConnectionSocket> ws_;
  HttpRequest upgrade_;
  const std::string remoteAddress_;
  const bool remoteIsLoopback_;
  std::optional<http::request<http::empty_body>> handshake_;
  WebSocketSessionPtr session_;
  beast::flat_buffer buffer_;
  std::atomic<std::size_t> buffered_{0};

  // Guarded by mutex_:
  std::mutex mutex_;
  std::vector<std::string> pending_;  // queued by send(), not yet taken by the writer
  bool writing_ = false;              // a writer owns active_ (running or scheduled)
  bool closeRequested_ = false;       // no more sends accepted

  // On the strand:
  std::vector<std::string> active_;  // the batch being written, in order
  std::size_t activeIndex_ = 0;
  bool closeWanted_ = false;
  bool closeStarted_ = false;
  bool finished_ = false;
  uint16_t closeCode_ = 1000;
  std::string closeReason_;
  std::optional<asio::steady_timer> stopTimer_;
};

}  // namespace

void startWebSocketConnection(std::shared_ptr<ServerState> state, ConnectionSocket socket, HttpRequest upgrade) {
  auto connection = std::make_shared<WebSocketConnectionImpl>(std::move(state), std::move(socket), std::move(upgrade));
  connection->start();
}

}  // namespace talon::net
