#include "ws_connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace talon::bench {
namespace {

constexpr std::size_t kReadChunk = 64u << 10;

Error socketError(const char* what, int err) {
  const ErrorCode code = (err == ECONNREFUSED || err == ECONNRESET || err == EPIPE || err == ENOTCONN)
                             ? ErrorCode::kUnavailable
                             : ErrorCode::kIo;
  return Error{code, std::string(what) + ": " + std::strerror(err)};
}

int remainingMs(SteadyClock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// Waits until `fd` is ready for `events` or the deadline passes.
Status waitFor(int fd, short events, SteadyClock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, remainingMs(deadline));
    if (r > 0) return {};
    if (r == 0) return fail(ErrorCode::kDeadlineExceeded, "timed out");
    if (errno != EINTR) return fail(socketError("poll", errno));
  }
}

}  // namespace

Result<std::unique_ptr<WsConnection>> WsConnection::open(const std::string& host, uint16_t port,
                                                         const std::string& path, std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  sockaddr_storage address{};
  socklen_t addressLength = 0;
  int family = AF_INET;
  if (auto* v4 = reinterpret_cast<sockaddr_in*>(&address); ::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    addressLength = sizeof(sockaddr_in);
  } else if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
             ::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    addressLength = sizeof(sockaddr_in6);
    family = AF_INET6;
  } else {
    return fail(ErrorCode::kInvalidArgument, "not a numeric address: " + host);
  }

  const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return fail(socketError("socket", errno));
  std::unique_ptr<WsConnection> connection(new WsConnection(fd));
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), addressLength) != 0) {
    if (errno != EINPROGRESS) return fail(socketError("connect", errno));
    if (auto st = waitFor(fd, POLLOUT, deadline); !st) return fail(st.error());
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return fail(socketError("connect", err));
  }
  // Back to blocking for the handshake and for blocking use.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);

  const std::string key = newWebSocketKey();
  const std::string request = buildUpgradeRequest(host, port, path, key);
  if (auto st = connection->writeAll(request.data(), request.size()); !st) return fail(st.error());

  std::string head;
  char buffer[4096];
  for (;;) {
    if (auto st = waitFor(fd, POLLIN, deadline); !st) return fail(st.error());
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n == 0) return fail(ErrorCode::kUnavailable, "connection closed during the upgrade");
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(socketError("recv", errno));
    }
    head.append(buffer, static_cast<std::size_t>(n));
    const std::size_t end = head.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (head.size() > 16384) return fail(ErrorCode::kUpstream, "upgrade response head too large");
      continue;
    }
    if (auto st = checkUpgradeResponse(std::string_view(head).substr(0, end + 2), key); !st) return fail(st.error());
    // Frames the server sent right after its answer (e.g. connect.challenge) are already here.
    connection->decoder_.append(std::string_view(head).substr(end + 4));
    return connection;
  }
}

WsConnection::~WsConnection() {
  if (fd_ >= 0) ::close(fd_);
}

uint32_t WsConnection::nextMask() {
  // xorshift64: masking only has to be unpredictable to intermediaries, not secret (RFC 6455 §10.3).
  if (maskState_ == 0) maskState_ = (uint64_t(std::random_device()()) << 32) | std::random_device()() | 1;
  maskState_ ^= maskState_ << 13;
  maskState_ ^= maskState_ >> 7;
  maskState_ ^= maskState_ << 17;
  return static_cast<uint32_t>(maskState_ >> 16);
}

Status WsConnection::writeAll(const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd_, data, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return fail(socketError("send", errno));
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return {};
}

Status WsConnection::sendText(std::string_view text) {
  if (fd_ < 0) return fail(ErrorCode::kUnavailable, "connection closed");
  if (!nonBlocking_) {
    out_.clear();
    appendClientFrame(out_, Opcode::kText, text, nextMask());
    return writeAll(out_.data(), out_.size());
  }
  appendClientFrame(out_, Opcode::kText, text, nextMask());
  return flush();
}

Status WsConnection::flush() {
  while (outStart_ < out_.size()) {
    const ssize_t w = ::send(fd_, out_.data() + outStart_, out_.size() - outStart_, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return {};
      return fail(socketError("send", errno));
    }
    outStart_ += static_cast<std::size_t>(w);
  }
  out_.clear();
  outStart_ = 0;
  return {};
}

Status WsConnection::setReceiveTimeout(std::chrono::milliseconds timeout) {
  if (timeout == receiveTimeout_) return {};
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  if (tv.tv_sec == 0 && tv.tv_usec == 0) tv.tv_usec = 1;  // 0 would mean "no timeout"
  if (::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) return fail(socketError("setsockopt", errno));
  receiveTimeout_ = timeout;
  return {};
}

Result<std::optional<std::string_view>> WsConnection::nextMessage() {
  for (;;) {
    auto event = decoder_.next();
    if (!event) return fail(event.error());
    if (!*event) return std::optional<std::string_view>();
    const WsEvent& e = **event;
    switch (e.kind) {
      case WsEvent::Kind::kMessage:
        return std::optional<std::string_view>(e.data);
      case WsEvent::Kind::kPing: {
        const std::string payload(e.data);
        if (nonBlocking_) {
          appendClientFrame(out_, Opcode::kPong, payload, nextMask());
          if (auto st = flush(); !st) return fail(st.error());
        } else {
          std::string frame;
          appendClientFrame(frame, Opcode::kPong, payload, nextMask());
          if (auto st = writeAll(frame.data(), frame.size()); !st) return fail(st.error());
        }
        continue;
      }
      case WsEvent::Kind::kPong:
        continue;
      case WsEvent::Kind::kClose:
        closeCode_ = e.closeCode;
        return fail(ErrorCode::kUnavailable, "server closed the connection with " + std::to_string(e.closeCode) +
                                                 (e.data.empty() ? "" : " (" + std::string(e.data) + ")"));
    }
  }
}

Result<std::string_view> WsConnection::receive(std::chrono::milliseconds timeout) {
  if (auto st = setReceiveTimeout(timeout); !st) return fail(st.error());
  for (;;) {
    auto message = nextMessage();
    if (!message) return fail(message.error());
    if (*message) return **message;
    if (fd_ < 0) return fail(ErrorCode::kUnavailable, "connection closed");
    char* into = decoder_.prepare(kReadChunk);
    const ssize_t n = ::recv(fd_, into, kReadChunk, 0);
    if (n > 0) {
      decoder_.commit(static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) {
      closeCode_ = 1006;
      return fail(ErrorCode::kUnavailable, "connection closed without a close frame");
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return fail(ErrorCode::kDeadlineExceeded, "receive timed out");
    closeCode_ = 1006;
    return fail(socketError("recv", errno));
  }
}

Status WsConnection::setNonBlocking() {
  if (::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK) != 0) return fail(socketError("fcntl", errno));
  nonBlocking_ = true;
  out_.clear();
  outStart_ = 0;
  return {};
}

Status WsConnection::readAvailable() {
  for (;;) {
    char* into = decoder_.prepare(kReadChunk);
    const ssize_t n = ::recv(fd_, into, kReadChunk, 0);
    if (n > 0) {
      decoder_.commit(static_cast<std::size_t>(n));
      if (static_cast<std::size_t>(n) < kReadChunk) return {};
      continue;
    }
    if (n == 0) {
      closeCode_ = closeCode_.value_or(1006);
      return fail(ErrorCode::kUnavailable, "connection closed by the server");
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {};
    closeCode_ = closeCode_.value_or(1006);
    return fail(socketError("recv", errno));
  }
}

void WsConnection::closeNow() {
  if (fd_ < 0) return;
  if (!closeCode_) {
    std::string frame;
    const char payload[2] = {static_cast<char>(1000 >> 8), static_cast<char>(1000 & 0xFF)};
    appendClientFrame(frame, Opcode::kClose, std::string_view(payload, 2), nextMask());
    ::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  ::close(fd_);
  fd_ = -1;
}

}  // namespace talon::bench
