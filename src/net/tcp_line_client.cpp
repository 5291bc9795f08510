#include "net/tcp_line_client.h"

#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <optional>

namespace talon::net {

namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

class TcpLineClientImpl final : public TcpLineClient {
 public:
  TcpLineClientImpl(asio::io_context& io, TcpLineClientOptions options, TcpLineHandlers handlers,
                    std::optional<ssl::context> tls)
      : options_(std::move(options)),
        handlers_(std::move(handlers)),
        strand_(asio::make_strand(io)),
        resolver_(strand_),
        timer_(strand_),
        tlsContext_(std::move(tls)) {
    if (tlsContext_) {
      tls_.emplace(strand_, *tlsContext_);
    } else {
      plain_.emplace(strand_);
    }
  }

  void connect() override {
    asio::post(strand_, [self = self()] { self->startConnect(); });
  }

  Status send(std::string line, std::function<void(Status)> onWritten) override {
    if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return fail(ErrorCode::kInvalidArgument, "a line must not contain CR, LF or NUL");
    }
    if (ended_.load()) return fail(ErrorCode::kUnavailable, "the connection has ended");
    line += "\r\n";
    const std::size_t size = line.size();
    std::size_t queued = queued_.load();
    do {
      if (queued + size > options_.maxQueuedBytes) {
        return fail(ErrorCode::kResourceExhausted,
                    "the send queue is full (" + std::to_string(queued) + " bytes waiting)");
      }
    } while (!queued_.compare_exchange_weak(queued, queued + size));
    asio::post(strand_, [self = self(), line = std::move(line), onWritten = std::move(onWritten)]() mutable {
      self->enqueue(std::move(line), std::move(onWritten));
    });
    return {};
  }

  void closeAfterFlush() override {
    asio::post(strand_, [self = self()] {
      if (self->closed_) return;
      self->closeWhenFlushed_ = true;
      if (!self->connected_ || (self->queue_.empty() && !self->writing_)) {
        self->finish(Error{ErrorCode::kCancelled, "closed"});
      }
    });
  }

  void close() override {
    asio::post(strand_, [self = self()] { self->finish(Error{ErrorCode::kCancelled, "closed"}); });
  }

  std::size_t queuedBytes() const override { return queued_.load(); }

 private:
  struct Pending {
    std::string line;
    std::function<void(Status)> onWritten;
  };

  std::shared_ptr<TcpLineClientImpl> self() { return std::static_pointer_cast<TcpLineClientImpl>(shared_from_this()); }

  tcp::socket& socket() { return tls_ ? tls_->next_layer() : *plain_; }

  template <typename F>
  void withStream(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(*plain_);
    }
  }

  void startConnect() {
    if (closed_ || started_) return;
    started_ = true;
    timer_.expires_after(options_.connectTimeout);
    timer_.async_wait([self = self()](error_code ec) {
      if (ec || self->connected_ || self->closed_) return;
      self->finish(Error{ErrorCode::kDeadlineExceeded, "connecting to " + self->where() + " timed out after " +
                                                           std::to_string(self->options_.connectTimeout.count()) +
                                                           " ms"});
    });
    resolver_.async_resolve(options_.host, std::to_string(options_.port),
                            [self = self()](error_code ec, tcp::resolver::results_type results) {
                              if (self->closed_) return;
                              if (ec) return self->finish(self->unavailable("cannot resolve", ec));
                              asio::async_connect(
                                  self->socket(), results,
                                  [self](error_code ec2, const tcp::endpoint&) { self->onTcpConnected(ec2); });
                            });
  }

  void onTcpConnected(error_code ec) {
    if (closed_) return;
    if (ec) return finish(unavailable("cannot connect to", ec));
    error_code ignored;
    socket().set_option(tcp::no_delay(true), ignored);
    if (!tls_) return onUp();
    error_code addrEc;
    asio::ip::make_address(options_.host, addrEc);
    if (addrEc && SSL_set_tlsext_host_name(tls_->native_handle(), options_.host.c_str()) != 1) {
      return finish(Error{ErrorCode::kInternal, "cannot set the TLS server name"});
    }
    tls_->set_verify_mode(ssl::verify_peer);
    tls_->set_verify_callback(ssl::host_name_verification(options_.host));
    tls_->async_handshake(ssl::stream_base::client, [self = self()](error_code ec2) {
      if (self->closed_) return;
      if (ec2) return self->finish(self->unavailable("TLS handshake failed with", ec2));
      self->onUp();
    });
  }

  void onUp() {
    connected_ = true;
    timer_.cancel();
    if (handlers_.onConnected) handlers_.onConnected();
    if (closed_) return;
    read();
    writeNext();
  }

  void read() {
    withStream([this](auto& stream) {
      stream.async_read_some(asio::buffer(chunk_), [self = self()](error_code ec, std::size_t n) {
        if (self->closed_) return;
        if (ec) {
          return self->finish(
              ec == asio::error::eof || ec == ssl::error::stream_truncated
                  ? Error{ErrorCode::kUnavailable, "the peer " + self->where() + " closed the connection"}
                  : self->unavailable("reading from", ec));
        }
        self->onData(std::string_view(self->chunk_.data(), n));
      });
    });
  }

  void onData(std::string_view data) {
    in_.append(data);
    std::size_t start = 0;
    for (;;) {
      const std::size_t nl = in_.find('\n', start);
      if (nl == std::string::npos) break;
      std::size_t end = nl;
      if (end > start && in_[end - 1] == '\r') --end;
      if (end - start > options_.maxLineBytes) return finish(lineTooLong());
      std::string line = in_.substr(start, end - start);
      start = nl + 1;
      if (handlers_.onLine) handlers_.onLine(std::move(line));
      if (closed_) return;
    }
    in_.erase(0, start);
    if (in_.size() > options_.maxLineBytes + 1) return finish(lineTooLong());
    read();
  }

  void enqueue(std::string line, std::function<void(Status)> onWritten) {
    if (closed_) {
      queued_ -= line.size();
      if (onWritten) onWritten(fail(endError_));
      return;
    }
    queue_.push_back(Pending{std::move(line), std::move(onWritten)});
    if (connected_) writeNext();
  }

  void writeNext() {
    if (writing_ || queue_.empty() || closed_) return;
    writing_ = true;
    withStream([this](auto& stream) {
      asio::async_write(stream, asio::buffer(queue_.front().line), [self = self()](error_code ec, std::size_t) {
        self->writing_ = false;
        if (self->closed_) return;
        if (ec) return self->finish(self->unavailable("writing to", ec));
        Pending done = std::move(self->queue_.front());
        self->queue_.pop_front();
        self->queued_ -= done.line.size();
        if (done.onWritten) done.onWritten(Status{});
        if (self->closed_) return;
        if (self->closeWhenFlushed_ && self->queue_.empty()) {
          return self->finish(Error{ErrorCode::kCancelled, "closed"});
        }
        self->writeNext();
      });
    });
  }

  /// Ends the connection once: fails the queued lines, closes the socket, reports onClosed.
  void finish(Error error) {
    if (closed_) return;
    closed_ = true;
    ended_ = true;
    endError_ = error;
    error_code ignored;
    timer_.cancel();
    resolver_.cancel();
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
    std::deque<Pending> pending;
    pending.swap(queue_);
    for (auto& p : pending) {
      queued_ -= p.line.size();
      if (p.onWritten) p.onWritten(fail(error));
    }
    if (handlers_.onClosed) handlers_.onClosed(std::move(error));
    handlers_ = {};
  }

  Error unavailable(std::string_view what, const error_code& ec) const {
    return Error{ErrorCode::kUnavailable, std::string(what) + " " + where() + ": " + ec.message()};
  }
  Error lineTooLong() const {
    return Error{ErrorCode::kUpstream,
                 where() + " sent a line longer than " + std::to_string(options_.maxLineBytes) + " bytes"};
  }
  std::string where() const { return options_.host + ":" + std::to_string(options_.port); }

  const TcpLineClientOptions options_;
  TcpLineHandlers handlers_;
  asio::strand<asio::io_context::executor_type> strand_;
  tcp::resolver resolver_;
  asio::steady_timer timer_;
  std::optional<ssl::context> tlsContext_;
  std::optional<tcp::socket> plain_;
  std::optional<ssl::stream<tcp::socket>> tls_;
  // Strand-only state.
  bool started_ = false;
  bool connected_ = false;
  bool closed_ = false;
  bool writing_ = false;
  bool closeWhenFlushed_ = false;
  Error endError_{ErrorCode::kUnavailable, "the connection has ended"};
  std::array<char, 4096> chunk_{};
  std::string in_;
  std::deque<Pending> queue_;
  // Any thread.
  std::atomic<bool> ended_{false};
  std::atomic<std::size_t> queued_{0};
};

Result<ssl::context> makeTlsContext(const TcpLineClientOptions& options) {
  error_code ec;
  ssl::context context(ssl::context::tls_client);
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                          ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                      ec);
  if (ec) return fail(ErrorCode::kInternal, "cannot set TLS options: " + ec.message());
  context.set_default_verify_paths(ec);
  if (ec) return fail(ErrorCode::kInternal, "cannot load the system trust store: " + ec.message());
  if (!options.extraCaPem.empty()) {
    context.add_certificate_authority(asio::buffer(options.extraCaPem), ec);
    if (ec) return fail(ErrorCode::kInvalidArgument, "bad extra CA certificate: " + ec.message());
  }
  context.set_verify_mode(ssl::verify_peer);
  return context;
}

}  // namespace

Result<std::shared_ptr<TcpLineClient>> TcpLineClient::create(boost::asio::io_context& io, TcpLineClientOptions options,
                                                             TcpLineHandlers handlers) {
  if (options.host.empty()) return fail(ErrorCode::kInvalidArgument, "no host to connect to");
  if (options.port == 0) return fail(ErrorCode::kInvalidArgument, "no port to connect to");
  std::optional<ssl::context> tls;
  if (options.tls) {
    auto context = makeTlsContext(options);
    if (!context) return fail(context.error());
    tls.emplace(std::move(*context));
  }
  return std::shared_ptr<TcpLineClient>(
      std::make_shared<TcpLineClientImpl>(io, std::move(options), std::move(handlers), std::move(tls)));
}

}  // namespace talon::net
