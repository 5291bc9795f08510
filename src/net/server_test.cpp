// Server: HTTP on IPv4 and IPv6, limits, WebSocket messages, limits, close codes and concurrency,
// exercised with the blocking clients (WsClient, httpRequest).
#include "net/server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "net/ws_client.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace talon::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

/// An io_context run by `count` threads (two by default) for the lifetime of the test.
class ServerIoThreads {
 public:
  explicit ServerIoThreads(int count = 2) : guard_(asio::make_work_guard(io)) {
    for (int i = 0; i < count; ++i) threads_.emplace_back([this] { io.run(); });
  }
  ~ServerIoThreads() {
    guard_.reset();
    io.stop();
    for (auto& t : threads_) t.join();
  }
  asio::io_context io;

 private:
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
};

bool haveIpv6Loopback() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io);
  boost::system::error_code ec;
  acceptor.open(asio::ip::tcp::v6(), ec);
  if (!ec) acceptor.set_option(asio::ip::v6_only(true), ec);
  if (!ec) acceptor.bind({asio::ip::make_address("::1"), 0}, ec);
  return !ec;
}

ServerOptions loopbackOptions(std::vector<std::string> addresses = {"127.0.0.1"}) {
  ServerOptions options;
  options.bindAddresses = std::move(addresses);
  options.port = 0;
  return options;
}

/// Answers every request with a JSON-ish dump of what it received.
ServerHandlers echoHttpHandlers() {
  ServerHandlers handlers;
  handlers.onHttp = [](HttpExchangePtr exchange) {
    const auto& req = exchange->request();
    if (req.path == "/missing") {
      exchange->respond({404, "text/plain", {}, "nothing here"});
      return;
    }
    HttpResponse response;
    response.contentType = "text/plain";
    response.headers.emplace_back("X-Remote", req.remoteAddress);
    response.headers.emplace_back("X-Loopback", req.remoteIsLoopback ? "yes" : "no");
    response.body = req.method + " " + req.path + " ?" + req.query + " h=" + std::string(req.header("x-test")) +
                    " body=" + req.body;
    exchange->respond(std::move(response));
  };
  return handlers;
}

std::string headerOf(const Headers& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return {};
}

void expectHttpRoundTrip(const std::string& base, const std::string& remote) {
  auto get = httpRequest("GET", base + "/hello?x=1", {{"X-Test", "abc"}}, "", 5s);
  ASSERT_TRUE(get) << get.error().toString();
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "GET /hello ?x=1 h=abc body=");
  EXPECT_EQ(headerOf(get->headers, "X-Remote"), remote);
  EXPECT_EQ(headerOf(get->headers, "X-Loopback"), "yes");

  auto post = httpRequest("POST", base + "/submit", {{"Content-Type", "application/json"}}, R"({"a":1})", 5s);
  ASSERT_TRUE(post) << post.error().toString();
  EXPECT_EQ(post->status, 200);
  EXPECT_EQ(post->body, R"(POST /submit ? h= body={"a":1})");
}

TEST(ServerTest, HttpRoundTripOnIpv4) {
  ServerIoThreads threads;
  auto server = Server::create(threads.io, loopbackOptions(), echoHttpHandlers());
  ASSERT_TRUE(server) << server.error().toString();
  ASSERT_NE((*server)->port(), 0);
  expectHttpRoundTrip("http://127.0.0.1:" + std::to_string((*server)->port()), "127.0.0.1");
}

TEST(ServerTest, HttpRoundTripOnIpv6) {
  if (!haveIpv6Loopback()) GTEST_SKIP() << "no IPv6 loopback on this machine";
  ServerIoThreads threads;
  auto server = Server::create(threads.io, loopbackOptions({"::1"}), echoHttpHandlers());
  ASSERT_TRUE(server) << server.error().toString();
  expectHttpRoundTrip("http://[::1]:" + std::to_string((*server)->port()), "::1");
}

TEST(ServerTest, PortZeroGivesTheSamePortOnEveryAddress) {
  if (!haveIpv6Loopback()) GTEST_SKIP() << "no IPv6 loopback on this machine";
  ServerIoThreads threads;
  auto server = Server::create(threads.io, loopbackOptions({"127.0.0.1", "::1"}), echoHttpHandlers());
  ASSERT_TRUE(server) << server.error().toString();
  auto port = std::to_string((*server)->port());
  expectHttpRoundTrip("http://127.0.0.1:" + port, "127.0.0.1");
  expectHttpRoundTrip("http://[::1]:" + port, "::1");
}

TEST(ServerTest, BindFailuresAreErrors) {
  ServerIoThreads threads;
  auto first = Server::create(threads.io, loopbackOptions(), echoHttpHandlers());
  ASSERT_TRUE(first);
  auto options = loopbackOptions();
  options.port = (*first)->port();
  auto second = Server::create(threads.io, options, echoHttpHandlers());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(second.error().message.find("127.0.0.1:" + std::to_string(options.port) + ": the port is already in use"),
            std::string::npos)
      << second.error().message;

  auto bad = Server::create(threads.io, loopbackOptions({"not-an-address"}), echoHttpHandlers());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

TEST(ServerTest, HandlerAnswers404) {
  ServerIoThreads threads;
  auto server = Server::create(threads.io, loopbackOptions(), echoHttpHandlers());
  ASSERT_TRUE(server);
  auto res = httpRequest("GET", "http://127.0.0.1:" + std::to_string((*server)->port()) + "/missing", {}, "", 5s);
  ASSERT_TRUE(res) << res.error().toString();
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(res->body, "nothing here");
}

TEST(ServerTest, ExpectContinueAndPipelinedRequestsOverOneConnection) {
  ServerIoThreads threads;
  auto server = Server::create(threads.io, loopbackOptions(), echoHttpHandlers());
  ASSERT_TRUE(server);
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), (*server)->port()});
  std::string head = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n";
  asio::write(socket, asio::buffer(head));
  std::string received;
  asio::read_until(socket, asio::dynamic_buffer(received), "\r\n\r\n");
  EXPECT_EQ(received, "HTTP/1.1 100 Continue\r\n\r\n");
  std::string rest = "abcGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  asio::write(socket, asio::buffer(rest));
  received.clear();
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(received), ec);  // until the server closes after /c
  EXPECT_EQ(ec, asio::error::eof);
  auto a = received.find("POST /a ? h= body=abc");
  auto b = received.find("GET /b ? h= body=");
  auto c = received.find("GET /c ? h= body=");
  ASSERT_NE(a, std::string::npos) << received;
  ASSERT_NE(b, std::string::npos) << received;
  ASSERT_NE(c, std::string::npos) << received;
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ((*server)->stats().httpRequests, 3u);
}

/// Sends `bytes` on a fresh connection and reads until the server closes (or 5 s pass); returns what
/// was received and whether the server closed.
std::pair<std::string, bool> exchangeRaw(uint16_t port, const std::string& bytes) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(socket, asio::buffer(bytes));
  std::string received;
  // Wait for end of stream with a deadline: a socket receive timeout turns a server that keeps the
  // connection open into a failed read rather than a hung test.
  timeval tv{5, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(received), ec);
  return {received, ec == asio::error::eof};
}

TEST(ServerTest, TransferEncodingOtherThanChunkedIs400AndTheConnectionCloses) {
  ServerIoThreads threads;
  auto server = Server::create(threads.io, loopbackOptions(), echoHttpHandlers());
  ASSERT_TRUE(server);
  // After each refused head come bytes that would be a second request if the body were taken as empty.
  const std::string smuggled = "5\r\nhello\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  for (std::string te :
       {"Transfer-Encoding: chunked, identity\r\n", "Transfer-Encoding: identity\r\n",
        "Transfer-Encoding: gzip, chunked\r\n", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"}) {
    SCOPED_TRACE(te);
    auto [received, closed] =
        exchangeRaw((*server)->port(), "POST /a HTTP/1.1\r\nHost: x\r\n" + te + "\r\n" + smuggled);
    EXPECT_EQ(received.rfind("HTTP/1.1 400", 0), 0u) << received;
    // Beast itself refuses some of these heads ("malformed request"); the rest are ours.
    if (te.find("identity") != std::string::npos || te.find("gzip") != std::string::npos) {
      EXPECT_NE(received.find("unsupported Transfer-Encoding"), std::string::npos) << received;
    }
    EXPECT_EQ(received.find("smuggled"), std::string::npos) << received;
    EXPECT_EQ(received.find("HTTP/1.1", 1), std::string::npos) << "a second response: " << received;
    EXPECT_TRUE(closed);
  }
  EXPECT_EQ((*server)->stats().httpRequests, 0u);
  // Exactly "chunked" (any case, padded) is read as chunked, and the next request is served.
  auto [received, closed] =
      exchangeRaw((*server)->port(),
                  "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:  Chunked \r\n\r\n" +
                      std::string("5\r\nhello\r\n0\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  EXPECT_NE(received.find("POST /a ? h= body=hello"), std::string::npos) << received;
  EXPECT_NE(received.find("GET /b ? h= body="), std::string::npos) << received;
  EXPECT_TRUE(closed);
}

TEST(ServerTest, AnswerFromAnotherThread) {
  ServerIoThreads threads;
  ServerHandlers handlers;
  handlers.onHttp = [](HttpExchangePtr exchange) {
    std::thread([exchange] { exchange->respond({202, "text/plain", {}, "later"}); }).detach();
  };
  auto server = Server::create(threads.io, loopbackOptions(), handlers);
  ASSERT_TRUE(server);
  auto res = httpRequest("GET", "http://127.0.0.1:" + std::to_string((*server)->port()) + "/", {}, "", 5s);
  ASSERT_TRUE(res) << res.error().toString();
  EXPECT_EQ(res->status, 202);
  EXPECT_EQ(res->body, "later");
}

TEST(ServerTest, DroppedExchangeAnswers500) {
  ServerIoThreads threads;
  ServerHandlers handlers;
  handlers.onHttp = [](HttpExchangePtr) {};
  auto server = Server::create(threads.io, loopbackOptions(), handlers);
  ASSERT_TRUE(server);
  auto res = httpRequest("GET", "http://127.0.0.1:" + std::to_string((*server)->port()) + "/", {}, "", 5s);
  ASSERT_TRUE(res) << res.error().toString();
  EXPECT_EQ(res->status, 500);
}

TEST(ServerTest, BodyOverTheLimitGets413) {
  ServerIoThreads threads;
  std::atomic<int> handled{0};
  ServerHandlers handlers;
  handlers.onHttp = [&](HttpExchangePtr exchange) {
    ++handled;
    exchange->respond({200, "text/plain", {}, std::to_string(exchange->request().body.size())});
  };
  auto options = loopbackOptions();
  options.maxHttpBodyBytes = 1024;
  auto server = Server::create(threads.io, options, handlers);
  ASSERT_TRUE(server);
  auto url = "http://127.0.0.1:" + std::to_string((*server)->port()) + "/upload";

  auto atLimit = httpRequest("POST", url, {}, std::string(1024, 'a'), 5s);
  ASSERT_TRUE(atLimit) << atLimit.error().toString();
  EXPECT_EQ(atLimit->status, 200);
  EXPECT_EQ(atLimit->body, "1024");

  auto over = httpRequest("POST", url, {}, std::string(64 * 1024, 'a'), 5s);
  ASSERT_TRUE(over) << over.error().toString();
  EXPECT_EQ(over->status, 413);
  EXPECT_EQ(handled.load(), 1);
}

/// A WebSocket session for tests: echoes, and obeys a few commands.
class TestSession : public WebSocketSession {
 public:
  explicit TestSession(WebSocketConnectionPtr connection) : connection_(std::move(connection)) {}

  void onMessage(std::string_view text) override {
    EXPECT_FALSE(inMessage_.exchange(true)) << "onMessage ran concurrently";
    if (text == "close-1008") {
      connection_->close(1008, "x");
    } else if (text == "raise-limit") {
      connection_->setMaxMessageBytes(1 << 20);
      connection_->send("raised");
    } else if (text.starts_with("flood ")) {
      // "flood N SIZE": N messages of SIZE bytes, queued at once (on the strand, so none is written
      // before the last is queued).
      auto rest = std::string(text.substr(6));
      auto space = rest.find(' ');
      int n = std::stoi(rest.substr(0, space));
      std::size_t size = std::stoul(rest.substr(space + 1));
      for (int i = 0; i < n; ++i) connection_->send(std::string(size, 'f'));
    } else if (text.starts_with("flood-stop ")) {
      // "flood-stop N SIZE": N messages of SIZE bytes queued at once, then Server::stop().
      auto rest = std::string(text.substr(11));
      auto space = rest.find(' ');
      int n = std::stoi(rest.substr(0, space));
      std::size_t size = std::stoul(rest.substr(space + 1));
      for (int i = 0; i < n; ++i) connection_->send(std::to_string(i) + std::string(size, 'f'));
      if (stopServer) stopServer();
    } else if (text.starts_with("seq ")) {
      // "seq N": the messages "0" … "N-1", queued at once on the strand.
      int n = std::stoi(std::string(text.substr(4)));
      for (int i = 0; i < n; ++i) connection_->send(std::to_string(i));
    } else if (text == "mark") {
      markBuffered_ = connection_->bufferedBytes();
      connection_->send("mark");
    } else if (text.starts_with("relay ")) {
      // "relay N": the messages "0" … "N-1" sent to the second session's connection (set by WsServer).
      if (relay) relay(std::stoi(std::string(text.substr(6))));
    } else if (text.starts_with("burst ")) {
      // Sends from a foreign thread: order must be kept.
      int n = std::stoi(std::string(text.substr(6)));
      std::thread([connection = connection_, n] {
        for (int i = 0; i < n; ++i) connection->send(std::to_string(i));
      }).detach();
    } else {
      connection_->send(std::string(text));
    }
    inMessage_ = false;
  }

  void onClose(uint16_t code) override {
    std::lock_guard lock(mutex_);
    EXPECT_FALSE(closeCode_.has_value()) << "onClose called twice";
    closeCode_ = code;
    cv_.notify_all();
  }

  /// Called by "flood-stop" (set by WsServer).
  std::function<void()> stopServer;
  /// Called by "relay N" (set by WsServer).
  std::function<void(int)> relay;
  WebSocketConnectionPtr connection() const { return connection_; }

  /// bufferedBytes() when the message "mark" was read.
  std::size_t markBuffered() const { return markBuffered_; }

  /// Waits for onClose (bounded so a bug fails the test instead of hanging it).
  std::optional<uint16_t> waitClose() {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, 10s, [&] { return closeCode_.has_value(); });
    return closeCode_;
  }

 private:
  WebSocketConnectionPtr connection_;
  std::atomic<bool> inMessage_{false};
  std::atomic<std::size_t> markBuffered_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
  std::optional<uint16_t> closeCode_;
};

/// A server whose WebSockets get TestSessions; remembers them.
class WsServer {
 public:
  explicit WsServer(asio::io_context& io, ServerOptions options = loopbackOptions()) {
    ServerHandlers handlers;
    handlers.onWebSocket = [this](WebSocketConnectionPtr connection, const HttpRequest& upgrade) {
      EXPECT_TRUE(connection->remoteIsLoopback());
      EXPECT_EQ(connection->remoteAddress(), "127.0.0.1");
      auto session = std::make_shared<TestSession>(connection);
      session->stopServer = [this] { server->stop(); };
      session->relay = [this](int n) {
        auto peer = this->session(1);
        ASSERT_TRUE(peer);
        for (int i = 0; i < n; ++i) peer->connection()->send(std::to_string(i));
      };
      std::lock_guard lock(mutex_);
      sessions_.push_back(session);
      paths_.push_back(upgrade.path);
      cv_.notify_all();
      return session;
    };
    handlers.onHttp = [](HttpExchangePtr exchange) { exchange->respond({200, "text/plain", {}, "plain"}); };
    auto created = Server::create(io, std::move(options), std::move(handlers));
    EXPECT_TRUE(created) << created.error().toString();
    server = std::move(*created);
  }
  /// Stops the server and waits until every session's connection has closed: a connection still open
  /// when the I/O threads stop keeps its session (and the session it) alive, which LeakSanitizer reports.
  ~WsServer() {
    if (server) server->stop();
    std::vector<std::shared_ptr<TestSession>> sessions;
    {
      std::lock_guard lock(mutex_);
      sessions = sessions_;
    }
    for (auto& s : sessions) s->waitClose();
  }
  WsServer(const WsServer&) = delete;
  WsServer& operator=(const WsServer&) = delete;

  std::string url(const std::string& path = "/") const {
    return "ws://127.0.0.1:" + std::to_string(server->port()) + path;
  }

  std::shared_ptr<TestSession> session(std::size_t i) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, 10s, [&] { return sessions_.size() > i; });
    return i < sessions_.size() ? sessions_[i] : nullptr;
  }

  std::vector<std::string> paths() {
    std::lock_guard lock(mutex_);
    return paths_;
  }

  ServerPtr server;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<TestSession>> sessions_;
  std::vector<std::string> paths_;
};

/// The WebSocket tests run twice: on an io_context that two threads run (each connection on a strand),
/// and on one that a single thread runs (ServerOptions::singleIoThread: connections on the io_context's
/// own executor).
class ServerWebSocketTest : public ::testing::TestWithParam<bool> {
 protected:
  bool singleIoThread() const { return GetParam(); }
  int ioThreads() const { return singleIoThread() ? 1 : 2; }
  ServerOptions wsOptions() const {
    auto options = loopbackOptions();
    options.singleIoThread = singleIoThread();
    return options;
  }
};

INSTANTIATE_TEST_SUITE_P(IoThreads, ServerWebSocketTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("SingleIoThread") : std::string("StrandPerConnection");
                         });

TEST_P(ServerWebSocketTest, WebSocketEcho) {
  ServerIoThreads threads(ioThreads());
  WsServer ws(threads.io, wsOptions());
  auto client = WsClient::connect(ws.url("/any/path"), 5s);
  ASSERT_TRUE(client) << client.error().toString();
  for (std::string message : {std::string("hello"), std::string(), std::string(60'000, 'z')}) {
    ASSERT_TRUE((*client)->send(message));
    auto echoed = (*client)->receive(5s);
    ASSERT_TRUE(echoed) << echoed.error().toString();
    EXPECT_EQ(*echoed, message);
  }
  EXPECT_EQ(ws.paths(), std::vector<std::string>{"/any/path"});
  EXPECT_EQ(ws.server->stats().webSocketsAccepted, 1u);

  // A receive that times out leaves the connection usable.
  auto nothing = (*client)->receive(50ms);
  ASSERT_FALSE(nothing);
  EXPECT_EQ(nothing.error().code, ErrorCode::kDeadlineExceeded);
  ASSERT_TRUE((*client)->send("again"));
  EXPECT_EQ((*client)->receive(5s).value_or(""), "again");

  (*client)->close();
  EXPECT_EQ(ws.session(0)->waitClose(), 1000);
}

TEST_P(ServerWebSocketTest, PlainHttpStillWorksNextToWebSockets) {
  ServerIoThreads threads(ioThreads());
  WsServer ws(threads.io, wsOptions());
  auto res = httpRequest("GET", "http://127.0.0.1:" + std::to_string(ws.server->port()) + "/", {}, "", 5s);
  ASSERT_TRUE(res) << res.error().toString();
  EXPECT_EQ(res->body, "plain");
}

TEST_P(ServerWebSocketTest, UpgradeGoesToOnHttpWithoutAWebSocketHandler) {
  ServerIoThreads threads(ioThreads());
  ServerHandlers handlers;
  handlers.onHttp = [](HttpExchangePtr exchange) { exchange->respond({426, "text/plain", {}, "no"}); };
  auto server = Server::create(threads.io, wsOptions(), handlers);
  ASSERT_TRUE(server);
  auto client = WsClient::connect("ws://127.0.0.1:" + std::to_string((*server)->port()), 5s);
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(client.error().message.find("426"), std::string::npos) << client.error().message;
}

TEST_P(ServerWebSocketTest, RefusedWebSocketClosesWith1008) {
  ServerIoThreads threads(ioThreads());
  ServerHandlers handlers;
  handlers.onWebSocket = [](WebSocketConnectionPtr, const HttpRequest&) { return nullptr; };
  auto server = Server::create(threads.io, wsOptions(), handlers);
  ASSERT_TRUE(server);
  auto client = WsClient::connect("ws://127.0.0.1:" + std::to_string((*server)->port()), 5s);
  ASSERT_TRUE(client) << client.error().toString();
  EXPECT_FALSE((*client)->receive(5s));
  EXPECT_EQ((*client)->closeCode(), 1008);
}

TEST_P(ServerWebSocketTest, MessageOverTheLimitCloses1009AndTheLimitCanBeRaised) {
  ServerIoThreads threads(ioThreads());
  auto options = wsOptions();
  options.initialMaxWsMessageBytes = 1024;
  WsServer ws(threads.io, options);

  auto raised = WsClient::connect(ws.url(), 5s);
  ASSERT_TRUE(raised);
  ASSERT_TRUE((*raised)->send("raise-limit"));
  EXPECT_EQ((*raised)->receive(5s).value_or(""), "raised");
  std::string big(4096, 'b');
  ASSERT_TRUE((*raised)->send(big));
  EXPECT_EQ((*raised)->receive(5s).value_or(""), big);

  auto client = WsClient::connect(ws.url(), 5s);
  ASSERT_TRUE(client);
  ASSERT_TRUE((*client)->send(std::string(1024, 'a')));  // at the limit: fine
  EXPECT_EQ((*client)->receive(5s).value_or("").size(), 1024u);
  ASSERT_TRUE((*client)->send(big));
  auto closed = (*client)->receive(5s);
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ((*client)->closeCode(), 1009);
  EXPECT_EQ(ws.session(1)->waitClose(), 1009);
}

// A frame far larger than the socket buffers: the client is still writing it when the server fails the
// connection. The server must read (and discard) the rest instead of closing with unread data, which
// resets the connection before the client reads the close frame (RFC 6455 §7.1.1: the server closes the
// TCP connection after the close handshake).
TEST_P(ServerWebSocketTest, OversizedFrameStillBeingWrittenIsClosed1009NotReset) {
  ServerIoThreads threads(ioThreads());
  auto options = wsOptions();
  options.initialMaxWsMessageBytes = 1024;
  WsServer ws(threads.io, options);
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto client = WsClient::connect(ws.url(), 5s);
    ASSERT_TRUE(client);
    // The server reads the rest of the frame, so the write completes (a reset fails it with EPIPE).
    auto sent = (*client)->send(std::string(8 << 20, 'x'));
    EXPECT_TRUE(sent) << "attempt " << attempt << ": " << sent.error().message;
    EXPECT_FALSE((*client)->receive(5s));
    EXPECT_EQ((*client)->closeCode(), 1009) << "attempt " << attempt << ": " << (*client)->closeReason();
  }
}

TEST_P(ServerWebSocketTest, ServerCloseSendsCodeAndReason) {
  ServerIoThreads threads(ioThreads());
  WsServer ws(threads.io, wsOptions());
  auto client = WsClient::connect(ws.url(), 5s);
  ASSERT_TRUE(client);
  ASSERT_TRUE((*client)->send("before"));
  ASSERT_TRUE((*client)->send("close-1008"));
  EXPECT_EQ((*client)->receive(5s).value_or(""), "before");
  auto closed = (*client)->receive(5s);
  ASSERT_FALSE(closed);
  EXPECT_EQ((*client)->closeCode(), 1008);
  EXPECT_EQ((*client)->closeReason(), "x");
  EXPECT_EQ(ws.session(0)->waitClose(), 1008);
  EXPECT_FALSE((*client)->send("after"));
}

TEST_P(ServerWebSocketTest, StopClosesWebSocketsWith1001) {
  ServerIoThreads threads(ioThreads());
  WsServer ws(threads.io, wsOptions());
  auto a = WsClient::connect(ws.url(), 5s);
  auto b = WsClient::connect(ws.url(), 5s);
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  ASSERT_TRUE((*a)->send("ping"));
  EXPECT_EQ((*a)->receive(5s).value_or(""), "ping");
  ASSERT_NE(ws.session(1), nullptr);
  ws.server->stop();
  ws.server->stop();  // idempotent
  for (auto* client : {&*a, &*b}) {
    auto closed = (*client)->receive(5s);
    ASSERT_FALSE(closed);
    EXPECT_EQ((*client)->closeCode(), 1001);
  }
  EXPECT_EQ(ws.session(0)->waitClose(), 1001);
  EXPECT_EQ(ws.session(1)->waitClose(), 1001);
  // No longer accepting.
  auto late = WsClient::connect(ws.url(), 2s);
  EXPECT_FALSE(late);
}

TEST_P(ServerWebSocketTest, StopWritesWhatIsQueuedBeforeTheCloseFrame) {
  // The gateway drains its turns, then stops the server: the turns' final events, still queued,
  // must reach the clients before the 1001 close.
  ServerIoThreads threads(ioThreads());
  WsServer ws(threads.io, wsOptions());
  auto client = WsClient::connect(ws.url(), 5s);
  ASSERT_TRUE(client);
  ASSERT_TRUE((*client)->send("flood-stop 20 50000"));
  for (int i = 0; i < 20; ++i) {
    auto message = (*client)->receive(5s);
    ASSERT_TRUE(message) << "message " << i << ": " << message.error().toString();
    EXPECT_EQ(message->substr(0, std::to_string(i).size()), std::to_string(i));
  }
  EXPECT_FALSE((*client)->receive(5s));
  EXPECT_EQ((*client)->closeCode(), 1001);
}

TEST_P(ServerWebSocketTest, MessagesQueuedTogetherLeaveInOneWrite) {
  ServerIoThreads threads(ioThreads());
  WsServer ws(threads.io, wsOptions());
  auto client = WsClient::connect(ws.url(), 5s);
  ASSERT_TRUE(client);
  ASSERT_TRUE((*client)->send("mark"));
  ASSERT_EQ((*client)->receive(5s).value_or(""), "mark");
  uint64_t before = ws.server->stats().webSocketWrites;
  // The first message is written at once; the nine queued behind it leave together.
  ASSERT_TRUE((*client)->send("seq 10"));
  for (int i = 0; i < 10; ++i) {
    auto message = (*client)->receive(5s);
    ASSERT_TRUE(message) << message.error().toString();
    ASSERT_EQ(*message, std::to_string(i));
  }
  EXPECT_EQ(ws.server->stats().webSocketWrites - before, 2u);

  // A burst larger than what a write may hold back still arrives whole and in order.
  ASSERT_TRUE((*client)->send("flood 40 5000"));
  for (int i = 0; i < 40; ++i) {
    auto message = (*client)->receive(5s);
    ASSERT_TRUE(message) << message.error().toString();
    ASSERT_EQ(*message, std::string(5000, 'f'));
  }
}

/// A raw WebSocket client frame (FIN, masked with a fixed key as RFC 6455 §5.3 requires of clients);
/// payloads under 126 bytes.
std::string rawClientFrame(uint8_t opcode, std::string_view payload) {
  const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
  std::string frame;
  frame += static_cast<char>(0x80 | opcode);
  frame += static_cast<char>(0x80 | payload.size());
  frame.append(reinterpret_cast<const char*>(mask), 4);
  for (std::size_t i = 0; i < payload.size(); ++i) frame += static_cast<char>(payload[i] ^ mask[i % 4]);
  return frame;
}

TEST_P(ServerWebSocketTest, PingsBetweenQueuedMessagesAreAnsweredAndTheFramesStayWhole) {
  // A pong Beast writes while messages are held back leaves with them, in one piece and in order.
  ServerIoThreads threads(ioThreads());
  WsServer ws(threads.io, wsOptions());
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), ws.server->port()});
  timeval tv{5, 0};  // a server that stops sending fails the read instead of hanging the test
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  asio::write(socket, asio::buffer(std::string("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                                               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                               "Sec-WebSocket-Version: 13\r\n\r\n")));
  std::string received;
  std::size_t head = asio::read_until(socket, asio::dynamic_buffer(received), "\r\n\r\n");
  ASSERT_TRUE(received.starts_with("HTTP/1.1 101")) << received;
  received.erase(0, head);
  constexpr int kRounds = 20;
  constexpr int kMessages = 30;
  std::string requests;
  for (int round = 0; round < kRounds; ++round) {
    requests += rawClientFrame(0x1, "seq " + std::to_string(kMessages));
    requests += rawClientFrame(0x9, "p" + std::to_string(round));
  }
  asio::write(socket, asio::buffer(requests));

  // ::recv, not Asio's blocking read (which polls without a deadline after SO_RCVTIMEO's EAGAIN).
  auto readMore = [&] {
    char chunk[4096];
    ssize_t n = ::recv(socket.native_handle(), chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    received.append(chunk, static_cast<std::size_t>(n));
    return true;
  };
  int texts = 0;
  int pongs = 0;
  int next = 0;
  while (texts < kRounds * kMessages || pongs < kRounds) {
    // One server frame: unmasked, payload length 7-bit or 16-bit.
    while (received.size() < 2 || received.size() < 2 + ((received[1] & 0x7F) == 126 ? 2u : 0u)) {
      ASSERT_TRUE(readMore()) << "after " << texts << " messages and " << pongs << " pongs";
    }
    auto byte = [&](std::size_t i) { return static_cast<uint8_t>(received[i]); };
    ASSERT_EQ(byte(0) & 0x80, 0x80) << "every message is one frame";
    ASSERT_EQ(byte(1) & 0x80, 0) << "server frames are not masked";
    std::size_t length = byte(1) & 0x7F;
    std::size_t offset = 2;
    if (length == 126) {
      length = (std::size_t{byte(2)} << 8) | byte(3);
      offset = 4;
    }
    ASSERT_LT(length, 126u * 256u);
    while (received.size() < offset + length) {
      ASSERT_TRUE(readMore()) << "after " << texts << " messages and " << pongs << " pongs";
    }
    std::string payload = received.substr(offset, length);
    uint8_t opcode = byte(0) & 0x0F;
    received.erase(0, offset + length);
    if (opcode == 0x1) {
      ASSERT_EQ(payload, std::to_string(next)) << "message " << texts;
      next = (next + 1) % kMessages;
      ++texts;
    } else {
      ASSERT_EQ(opcode, 0xA) << "only texts and pongs are sent";
      ASSERT_EQ(payload, "p" + std::to_string(pongs));
      ++pongs;
    }
  }
  EXPECT_EQ(texts, kRounds * kMessages);
  EXPECT_EQ(pongs, kRounds);
  socket.close();  // no close handshake: the server sees the end of the stream
  EXPECT_EQ(ws.session(0)->waitClose(), 1006);
}

TEST_P(ServerWebSocketTest, SendsFromAnotherThreadKeepTheirOrder) {
  ServerIoThreads threads(ioThreads());
  WsServer ws(threads.io, wsOptions());
  auto client = WsClient::connect(ws.url(), 5s);
  ASSERT_TRUE(client);
  ASSERT_TRUE((*client)->send("burst 2000"));
  for (int i = 0; i < 2000; ++i) {
    auto message = (*client)->receive(5s);
    ASSERT_TRUE(message) << message.error().toString();
    ASSERT_EQ(*message, std::to_string(i));
  }
}

TEST_P(ServerWebSocketTest, SendsFromAnotherConnectionsHandlerKeepTheirOrderAndLeaveTogether) {
  ServerIoThreads threads(ioThreads());
  WsServer ws(threads.io, wsOptions());
  auto from = WsClient::connect(ws.url(), 5s);
  ASSERT_TRUE(from);
  ASSERT_TRUE(ws.session(0));
  auto to = WsClient::connect(ws.url(), 5s);
  ASSERT_TRUE(to);
  ASSERT_TRUE((*to)->send("mark"));
  ASSERT_EQ((*to)->receive(5s).value_or(""), "mark");
  const uint64_t before = ws.server->stats().webSocketWrites;
  ASSERT_TRUE((*from)->send("relay 10"));
  for (int i = 0; i < 10; ++i) {
    auto message = (*to)->receive(5s);
    ASSERT_TRUE(message) << message.error().toString();
    ASSERT_EQ(*message, std::to_string(i));
  }
  // On one I/O thread the ten are queued while the handler runs and leave in one write; with strands the
  // other thread may start writing before the handler has queued them all.
  if (singleIoThread()) EXPECT_EQ(ws.server->stats().webSocketWrites - before, 1u);
}

TEST_P(ServerWebSocketTest, ManyConcurrentWebSocketClients) {
  ServerIoThreads threads(ioThreads());
  WsServer ws(threads.io, wsOptions());
  constexpr int kClients = 48;
  constexpr int kMessages = 100;
  std::vector<std::future<int>> results;
  for (int c = 0; c < kClients; ++c) {
    results.push_back(std::async(std::launch::async, [&ws, c] {
      auto client = WsClient::connect(ws.url(), 10s);
      if (!client) return -1;
      int ok = 0;
      for (int i = 0; i < kMessages; ++i) {
        std::string message = std::to_string(c) + ":" + std::to_string(i);
        if (!(*client)->send(message)) break;
        auto echoed = (*client)->receive(10s);
        if (echoed && *echoed == message) ++ok;
      }
      (*client)->close();
      return ok;
    }));
  }
  for (auto& result : results) EXPECT_EQ(result.get(), kMessages);
  EXPECT_EQ(ws.server->stats().webSocketsAccepted, static_cast<uint64_t>(kClients));
}

/// Heap bytes in use (every malloc arena), or 0 where the allocator cannot tell.
std::size_t heapBytesInUse() {
#if defined(__GLIBC__)
  return mallinfo2().uordblks;
#else
  return 0;
#endif
}

/// Waits (bounded) until the heap in use is at most `bytes`; returns the last reading.
std::size_t waitHeapAtMost(std::size_t bytes) {
  std::size_t now = heapBytesInUse();
  for (int i = 0; i < 1000 && now > bytes; ++i) {
    std::this_thread::sleep_for(10ms);
    now = heapBytesInUse();
  }
  return now;
}

TEST_P(ServerWebSocketTest, ClientThatDoesNotReadIsClosedAsSlowConsumerAndItsQueueFreed) {
  constexpr std::size_t kLimit = 16u << 20;
  constexpr std::size_t kMessage = 64u << 10;
  ServerIoThreads threads(ioThreads());
  auto options = wsOptions();
  options.maxWsBufferedBytes = kLimit;
  WsServer ws(threads.io, options);
  auto client = WsClient::connect(ws.url(), 5s);
  ASSERT_TRUE(client);
  ASSERT_TRUE((*client)->send("warm-up"));
  EXPECT_EQ((*client)->receive(5s).value_or(""), "warm-up");
  auto session = ws.session(0);
  ASSERT_NE(session, nullptr);
  const std::size_t before = heapBytesInUse();

  // 32 MiB asked for: the first 16 MiB are queued (the client reads nothing), the next send is over
  // the limit.
  ASSERT_TRUE((*client)->send("flood 512 " + std::to_string(kMessage)));
  EXPECT_EQ(session->waitClose(), kSlowConsumerCloseCode);
  client->reset();  // the client leaves without having read

  if (before != 0) {
    // Everything queued (16 MiB) is freed: what is left is within noise of the start.
    std::size_t after = waitHeapAtMost(before + (1u << 20));
    EXPECT_LE(after, before + (1u << 20)) << "heap in use went from " << before << " to " << after;
  }
  EXPECT_EQ(ws.server->stats().openConnections, 0u);
}

TEST_P(ServerWebSocketTest, SlowConsumerGetsCloseCodeAndReasonWhenItReadsLate) {
  constexpr std::size_t kMessage = 64u << 10;
  ServerIoThreads threads(ioThreads());
  auto options = wsOptions();
  options.maxWsBufferedBytes = 1u << 20;
  WsServer ws(threads.io, options);
  auto client = WsClient::connect(ws.url(), 5s);
  ASSERT_TRUE(client);
  // 64 x 64 KiB queued at once: the 17th goes over 1 MiB; the queue is dropped but for the message
  // being written, and the close frame follows it.
  ASSERT_TRUE((*client)->send("flood 64 " + std::to_string(kMessage)));
  int received = 0;
  while (true) {
    auto message = (*client)->receive(5s);
    if (!message) break;
    EXPECT_EQ(message->size(), kMessage);
    ++received;
  }
  EXPECT_GE(received, 1);
  EXPECT_LT(received, 16);
  EXPECT_EQ((*client)->closeCode(), kSlowConsumerCloseCode);
  EXPECT_EQ((*client)->closeReason(), kSlowConsumerCloseReason);
  EXPECT_EQ(ws.session(0)->waitClose(), kSlowConsumerCloseCode);
}

TEST_P(ServerWebSocketTest, ClientThatReadsIsNotClosedByTheSendLimit) {
  constexpr std::size_t kMessage = 64u << 10;
  ServerIoThreads threads(ioThreads());
  auto options = wsOptions();
  options.maxWsBufferedBytes = 256u << 10;
  WsServer ws(threads.io, options);
  auto client = WsClient::connect(ws.url(), 5s);
  ASSERT_TRUE(client);
  // 3 x 64 KiB at a time, with the client reading everything between, never reaches the limit. (Not
  // 4: the client can receive a round's last message and send the next request before the server has
  // run that message's write completion, so one message of the previous round may still count.)
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE((*client)->send("flood 3 " + std::to_string(kMessage)));
    for (int i = 0; i < 3; ++i) {
      auto message = (*client)->receive(5s);
      ASSERT_TRUE(message) << "round " << round << ": " << message.error().toString();
      ASSERT_EQ(message->size(), kMessage);
    }
  }
  ASSERT_TRUE((*client)->send("still here"));
  EXPECT_EQ((*client)->receive(5s).value_or(""), "still here");
  (*client)->close();
  EXPECT_EQ(ws.session(0)->waitClose(), 1000);
}

TEST_P(ServerWebSocketTest, NextMessageIsNotReadWhileTheAnswersAreUnread) {
  constexpr std::size_t kPause = 256u << 10;
  constexpr std::size_t kMessage = 64u << 10;
  constexpr int kCount = 256;  // 16 MiB: more than loopback socket buffers take in
  ServerIoThreads threads(ioThreads());
  auto options = wsOptions();
  options.wsPauseReadingAboveBytes = kPause;
  WsServer ws(threads.io, options);
  auto client = WsClient::connect(ws.url(), 5s);
  ASSERT_TRUE(client);
  ASSERT_TRUE((*client)->send("flood " + std::to_string(kCount) + " " + std::to_string(kMessage)));
  ASSERT_TRUE((*client)->send("mark"));
  for (int i = 0; i < kCount; ++i) {
    auto message = (*client)->receive(5s);
    ASSERT_TRUE(message) << i << ": " << message.error().toString();
    ASSERT_EQ(message->size(), kMessage);
  }
  EXPECT_EQ((*client)->receive(5s).value_or(""), "mark");
  // "mark" was read only once the queue was down to half the pause threshold.
  EXPECT_LE(ws.session(0)->markBuffered(), kPause / 2);
}

/// Streams chunks of `size` bytes on request: "/stream?n=N&size=S".
ServerHandlers streamingHandlers(std::shared_ptr<std::promise<bool>> closedAfterOverflow) {
  ServerHandlers handlers;
  handlers.onHttp = [closedAfterOverflow](HttpExchangePtr exchange) {
    auto stream = exchange->startStream(200, "text/event-stream");
    std::thread([stream, closedAfterOverflow] {
      // The client never reads: the queue passes the limit and the stream closes.
      for (int i = 0; i < 4096 && !stream->closed(); ++i) stream->write(std::string(64u << 10, 'e'));
      closedAfterOverflow->set_value(stream->closed());
    }).detach();
  };
  return handlers;
}

TEST(ServerTest, StreamedResponseToAClientThatDoesNotReadIsBounded) {
  ServerIoThreads threads;
  auto options = loopbackOptions();
  options.maxHttpStreamBufferedBytes = 4u << 20;
  auto closed = std::make_shared<std::promise<bool>>();
  auto result = closed->get_future();
  auto server = Server::create(threads.io, options, streamingHandlers(closed));
  ASSERT_TRUE(server);
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), (*server)->port()});
  std::string request = "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n";
  asio::write(socket, asio::buffer(request));
  // 256 MiB would be written; the stream closes long before.
  ASSERT_EQ(result.wait_for(30s), std::future_status::ready);
  EXPECT_TRUE(result.get());
  std::string received;
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(received), ec);  // until the server closed the connection
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  EXPECT_LT(received.size(), 256u << 20);
}

}  // namespace
}  // namespace talon::net
