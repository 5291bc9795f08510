// libFuzzer target: the HTTP request path of the gateway's listener (src/net/server.h) — Beast's
// parser with Talon's limits, the WebSocket upgrade and the router's dispatch — driven end to end over
// a real loopback TCP connection. Each input is written as raw bytes on a fresh connection, the write
// side is shut down, and the answer is read until the server closes. The server runs in this process,
// so a memory error, leak or undefined behaviour in it is found by the sanitizers; a connection the
// server never closes shows up as a libFuzzer timeout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "net/http_router.h"
#include "net/server.h"

namespace {

class EchoSession final : public talon::net::WebSocketSession {
 public:
  explicit EchoSession(talon::net::WebSocketConnectionPtr connection) : connection_(std::move(connection)) {}
  void onMessage(std::string_view text) override { connection_->send(std::string(text)); }
  void onClose(uint16_t) override { connection_.reset(); }

 private:
  talon::net::WebSocketConnectionPtr connection_;
};

struct Listener {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  talon::net::ServerPtr server;
  std::thread thread;

  Listener() {
    talon::net::ServerOptions options;
    options.bindAddresses = {"127.0.0.1"};
    options.port = 0;
    options.maxHttpBodyBytes = 64u << 10;
    talon::net::ServerHandlers handlers;
    handlers.onHttp = [](talon::net::HttpExchangePtr exchange) {
      const auto& request = exchange->request();
      talon::net::HttpResponse response;
      response.body = request.method + " " + request.path + " " + std::to_string(request.body.size());
      if (request.path == "/stream") {
        auto stream = exchange->startStream(200, "text/event-stream");
        stream->write("data: 1\n\n");
        stream->end();
        return;
      }
      exchange->respond(std::move(response));
    };
    handlers.onWebSocket = [](talon::net::WebSocketConnectionPtr connection, const talon::net::HttpRequest&) {
      return std::make_shared<EchoSession>(std::move(connection));
    };
    auto created = talon::net::Server::create(io, options, std::move(handlers));
    if (!created) std::abort();
    server = std::move(*created);
    thread = std::thread([this] { io.run(); });
  }
};

Listener& listener() {
  static Listener* instance = new Listener();  // never destroyed: the fuzzer exits the process
  return *instance;
}

// Connects fd to addr, riding out EINTR: libFuzzer's timers signal the process, and a connect(2)
// interrupted by a signal goes on asynchronously (POSIX connect(2), EINTR), so the harness waits for it
// to finish and reads its outcome from SO_ERROR. Returns false with errno set on a real failure.
bool connectToListener(int fd, const sockaddr_in& addr) {
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return true;
  if (errno != EINTR && errno != EINPROGRESS) return false;
  pollfd waiting{fd, POLLOUT, 0};
  int ready = 0;
  do {
    ready = ::poll(&waiting, 1, -1);
  } while (ready < 0 && errno == EINTR);
  if (ready < 0) return false;
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return false;
  if (error != 0) {
    errno = error;
    return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& l = listener();
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) std::abort();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(l.server->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (!connectToListener(fd, addr)) {
    std::perror("connect to the listener");  // the harness's own failure (ports), not a finding
    std::abort();
  }
  size_t sent = 0;
  while (sent < size) {
    const ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the server may close early (a 400, 413) — that is an answer
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
  }
  // Close with a reset: neither side keeps the connection in TIME_WAIT, so millions of inputs do not
  // exhaust the loopback's ephemeral ports.
  const linger reset{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  ::close(fd);
  return 0;
}
