// HttpClient against the Server (http) and against a small TLS server in this file (https): streamed
// bodies, timeouts, errors, cancellation, keep-alive reuse, certificate verification.
#include "net/http_client.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "net/ws_client.h"

namespace talon::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

class ClientIoThreads {
 public:
  ClientIoThreads() : guard_(asio::make_work_guard(io)) {
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io.run(); });
  }
  ~ClientIoThreads() {
    guard_.reset();
    io.stop();
    for (auto& t : threads_) t.join();
  }
  asio::io_context io;

 private:
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
};

/// Everything one request reported, with waits for the test thread.
class ResponseRecorder {
 public:
  ClientHandlers handlers() {
    ClientHandlers h;
    h.onHeaders = [this](int status, const Headers& headers) {
      std::lock_guard lock(mutex_);
      EXPECT_FALSE(completed_) << "onHeaders after onComplete";
      status_ = status;
      headers_ = headers;
      cv_.notify_all();
    };
    h.onBody = [this](std::string_view data) {
      std::lock_guard lock(mutex_);
      EXPECT_NE(status_, 0) << "onBody before onHeaders";
      EXPECT_FALSE(completed_) << "onBody after onComplete";
      chunks_.emplace_back(data);
      body_.append(data);
      cv_.notify_all();
    };
    h.onComplete = [this](Status status) {
      std::lock_guard lock(mutex_);
      EXPECT_FALSE(completed_) << "onComplete called twice";
      completed_ = true;
      result_ = std::move(status);
      cv_.notify_all();
    };
    return h;
  }

  /// Waits for onComplete (bounded so a bug fails instead of hanging) and returns its status.
  Status waitComplete() {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, 20s, [&] { return completed_; })) return fail(ErrorCode::kInternal, "never completed");
    return result_;
  }

  /// Waits for the next onBody chunk.
  std::string nextChunk() {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, 10s, [&] { return chunks_.size() > taken_ || completed_; });
    return chunks_.size() > taken_ ? chunks_[taken_++] : std::string("<none>");
  }

  int status() {
    std::lock_guard lock(mutex_);
    return status_;
  }
  std::string body() {
    std::lock_guard lock(mutex_);
    return body_;
  }
  std::size_t chunkCount() {
    std::lock_guard lock(mutex_);
    return chunks_.size();
  }
  std::string header(std::string_view name) {
    std::lock_guard lock(mutex_);
    for (const auto& [n, v] : headers_) {
      if (n == name) return v;
    }
    return {};
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int status_ = 0;
  Headers headers_;
  std::vector<std::string> chunks_;
  std::size_t taken_ = 0;
  std::string body_;
  bool completed_ = false;
  Status result_;
};

ServerOptions httpLoopbackOptions() {
  ServerOptions options;
  options.bindAddresses = {"127.0.0.1"};
  options.port = 0;
  return options;
}

ClientRequest get(const std::string& url) {
  ClientRequest request;
  request.url = url;
  return request;
}

/// A server whose handler the test controls, plus a place to park exchanges it never answers.
class TestServer {
 public:
  TestServer(asio::io_context& io, std::function<void(HttpExchangePtr)> onHttp) {
    ServerHandlers handlers;
    handlers.onHttp = [this, onHttp = std::move(onHttp)](HttpExchangePtr exchange) {
      {
        std::lock_guard lock(mutex_);
        ++requests_;
        cv_.notify_all();
      }
      onHttp(std::move(exchange));
    };
    auto created = Server::create(io, httpLoopbackOptions(), std::move(handlers));
    EXPECT_TRUE(created) << created.error().toString();
    server = std::move(*created);
  }

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(server->port()) + path; }

  void waitRequests(int n) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, 10s, [&] { return requests_ >= n; });
  }

  ServerPtr server;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int requests_ = 0;
};

TEST(HttpClientTest, ChunkedStreamArrivesChunkByChunk) {
  ClientIoThreads threads;
  std::promise<ResponseStreamPtr> streamPromise;
  TestServer server(threads.io, [&](HttpExchangePtr exchange) {
    streamPromise.set_value(exchange->startStream(200, "text/event-stream", {{"Cache-Control", "no-cache"}}));
  });
  auto client = HttpClient::create(threads.io);
  ResponseRecorder recorder;
  client->start(get(server.url("/events")), recorder.handlers());
  auto stream = streamPromise.get_future().get();
  // Each write is sent only after the client saw the previous one, so each must be its own onBody.
  for (std::string event : {"data: one\n\n", "data: two\n\n", "data: three\n\n"}) {
    stream->write(event);
    EXPECT_EQ(recorder.nextChunk(), event);
  }
  EXPECT_FALSE(stream->closed());
  stream->end();
  EXPECT_TRUE(stream->closed());
  auto status = recorder.waitComplete();
  ASSERT_TRUE(status) << status.error().toString();
  EXPECT_EQ(recorder.status(), 200);
  EXPECT_EQ(recorder.header("Content-Type"), "text/event-stream");
  EXPECT_EQ(recorder.header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(recorder.chunkCount(), 3u);
  EXPECT_EQ(recorder.body(), "data: one\n\ndata: two\n\ndata: three\n\n");
}

TEST(HttpClientTest, StreamsOneAfterAnotherOnAKeepAliveConnection) {
  ClientIoThreads threads;
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<ResponseStreamPtr> streams;
  TestServer server(threads.io, [&](HttpExchangePtr exchange) {
    std::lock_guard lock(mutex);
    streams.push_back(exchange->startStream(200, "text/plain"));
    cv.notify_all();
  });
  auto streamNumber = [&](std::size_t i) {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, 10s, [&] { return streams.size() > i; });
    return streams.at(i);
  };
  auto client = HttpClient::create(threads.io);

  ResponseRecorder first;
  client->start(get(server.url("/one")), first.handlers());
  auto one = streamNumber(0);
  one->write("a");
  one->end();
  auto firstStatus = first.waitComplete();
  ASSERT_TRUE(firstStatus) << firstStatus.error().toString();
  EXPECT_EQ(first.body(), "a");

  ResponseRecorder second;
  client->start(get(server.url("/two")), second.handlers());
  auto two = streamNumber(1);
  one->write("stale");  // the first response's handle no longer writes anything
  EXPECT_TRUE(one->closed());
  EXPECT_FALSE(two->closed());
  two->write("b");
  {
    std::lock_guard lock(mutex);
    streams[1].reset();
  }
  two.reset();  // dropping the last handle ends the response
  ASSERT_TRUE(second.waitComplete());
  EXPECT_EQ(second.body(), "b");
  EXPECT_EQ(server.server->stats().connectionsAccepted, 1u);
  std::lock_guard lock(mutex);
  streams.clear();
}

TEST(HttpClientTest, LargeBodyWithContentLengthIsStreamedInPieces) {
  ClientIoThreads threads;
  std::string big(1 << 20, 'x');
  for (std::size_t i = 0; i < big.size(); i += 1000) big[i] = static_cast<char>('a' + (i / 1000) % 26);
  TestServer server(threads.io, [&](HttpExchangePtr exchange) { exchange->respond({200, "text/plain", {}, big}); });
  auto client = HttpClient::create(threads.io);
  ResponseRecorder recorder;
  client->start(get(server.url("/big")), recorder.handlers());
  auto status = recorder.waitComplete();
  ASSERT_TRUE(status) << status.error().toString();
  EXPECT_EQ(recorder.body(), big);
  EXPECT_GT(recorder.chunkCount(), 1u);
}

TEST(HttpClientTest, PostSendsTheBody) {
  ClientIoThreads threads;
  TestServer server(threads.io, [](HttpExchangePtr exchange) {
    const auto& req = exchange->request();
    exchange->respond(
        {201, "text/plain", {}, req.method + ":" + std::string(req.header("content-type")) + ":" + req.body});
  });
  auto client = HttpClient::create(threads.io);
  ResponseRecorder recorder;
  ClientRequest request;
  request.method = "POST";
  request.url = server.url("/v1/things");
  request.headers = {{"Content-Type", "application/json"}};
  request.body = R"({"k":"v"})";
  client->start(request, recorder.handlers());
  ASSERT_TRUE(recorder.waitComplete());
  EXPECT_EQ(recorder.status(), 201);
  EXPECT_EQ(recorder.body(), R"(POST:application/json:{"k":"v"})");
}

TEST(HttpClientTest, HeadHasNoBody) {
  ClientIoThreads threads;
  TestServer server(threads.io, [](HttpExchangePtr exchange) { exchange->respond({200, "text/plain", {}, "12345"}); });
  auto client = HttpClient::create(threads.io);
  ResponseRecorder recorder;
  auto request = get(server.url("/"));
  request.method = "HEAD";
  client->start(request, recorder.handlers());
  ASSERT_TRUE(recorder.waitComplete());
  EXPECT_EQ(recorder.header("Content-Length"), "5");
  EXPECT_EQ(recorder.body(), "");
}

TEST(HttpClientTest, SilentServerHitsTheIdleTimeout) {
  ClientIoThreads threads;
  std::mutex parkedMutex;
  std::vector<HttpExchangePtr> parked;  // never answered while the test runs
  TestServer server(threads.io, [&](HttpExchangePtr exchange) {
    std::lock_guard lock(parkedMutex);
    parked.push_back(std::move(exchange));
  });
  auto client = HttpClient::create(threads.io);
  ResponseRecorder recorder;
  auto request = get(server.url("/slow"));
  request.idleTimeout = 100ms;
  client->start(request, recorder.handlers());
  auto status = recorder.waitComplete();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kDeadlineExceeded) << status.error().toString();
  EXPECT_EQ(recorder.status(), 0);
  std::lock_guard lock(parkedMutex);
  parked.clear();
}

TEST(HttpClientTest, TotalTimeoutBoundsAStreamThatKeepsTalking) {
  ClientIoThreads threads;
  std::promise<ResponseStreamPtr> streamPromise;
  TestServer server(
      threads.io, [&](HttpExchangePtr exchange) { streamPromise.set_value(exchange->startStream(200, "text/plain")); });
  auto client = HttpClient::create(threads.io);
  ResponseRecorder recorder;
  auto request = get(server.url("/stream"));
  request.totalTimeout = 300ms;
  client->start(request, recorder.handlers());
  auto stream = streamPromise.get_future().get();
  stream->write("first");
  EXPECT_EQ(recorder.nextChunk(), "first");
  auto status = recorder.waitComplete();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kDeadlineExceeded) << status.error().toString();
}

TEST(HttpClientTest, RefusedConnectionIsUnavailable) {
  // A bound socket that does not listen: connecting to its port is refused, and no one else gets it.
  asio::io_context io;
  asio::ip::tcp::acceptor bound(io);
  bound.open(asio::ip::tcp::v4());
  bound.bind({asio::ip::make_address("127.0.0.1"), 0});
  ClientIoThreads threads;
  auto client = HttpClient::create(threads.io);
  ResponseRecorder recorder;
  client->start(get("http://127.0.0.1:" + std::to_string(bound.local_endpoint().port()) + "/"), recorder.handlers());
  auto status = recorder.waitComplete();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kUnavailable) << status.error().toString();
}

TEST(HttpClientTest, BadUrlIsInvalidArgument) {
  ClientIoThreads threads;
  auto client = HttpClient::create(threads.io);
  for (std::string url : {"ftp://example.com/", "not a url", "http:///nohost"}) {
    ResponseRecorder recorder;
    client->start(get(url), recorder.handlers());
    auto status = recorder.waitComplete();
    ASSERT_FALSE(status) << url;
    EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument) << url;
  }
}

TEST(HttpClientTest, CancelWhileWaitingAndWhileStreaming) {
  ClientIoThreads threads;
  std::mutex mutex;
  std::vector<HttpExchangePtr> parked;
  std::promise<ResponseStreamPtr> streamPromise;
  TestServer server(threads.io, [&](HttpExchangePtr exchange) {
    if (exchange->request().path == "/stream") {
      streamPromise.set_value(exchange->startStream(200, "text/plain"));
      return;
    }
    std::lock_guard lock(mutex);
    parked.push_back(std::move(exchange));
  });
  auto client = HttpClient::create(threads.io);

  ResponseRecorder waiting;
  auto call = client->start(get(server.url("/wait")), waiting.handlers());
  server.waitRequests(1);
  call->cancel();
  auto status = waiting.waitComplete();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kCancelled);
  call->cancel();  // after completion: nothing happens

  ResponseRecorder streaming;
  auto streamingCall = client->start(get(server.url("/stream")), streaming.handlers());
  auto stream = streamPromise.get_future().get();
  stream->write("part");
  EXPECT_EQ(streaming.nextChunk(), "part");
  streamingCall->cancel();
  status = streaming.waitComplete();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kCancelled);

  std::lock_guard lock(mutex);
  parked.clear();
}

TEST(HttpClientTest, KeepAliveReusesTheConnection) {
  ClientIoThreads threads;
  TestServer server(threads.io, [](HttpExchangePtr exchange) {
    HttpResponse response{200, "text/plain", {}, exchange->request().path};
    if (exchange->request().path == "/close") response.headers.emplace_back("Connection", "close");
    exchange->respond(std::move(response));
  });
  auto client = HttpClient::create(threads.io);
  for (int i = 0; i < 3; ++i) {
    ResponseRecorder recorder;
    client->start(get(server.url("/again")), recorder.handlers());
    ASSERT_TRUE(recorder.waitComplete());
    EXPECT_EQ(recorder.body(), "/again");
  }
  EXPECT_EQ(server.server->stats().connectionsAccepted, 1u);
  EXPECT_EQ(server.server->stats().httpRequests, 3u);

  // A response that closes the connection (sent on the pooled one) leaves nothing to reuse.
  for (std::string path : {"/close", "/again"}) {
    ResponseRecorder recorder;
    client->start(get(server.url(path)), recorder.handlers());
    ASSERT_TRUE(recorder.waitComplete());
    EXPECT_EQ(recorder.body(), path);
  }
  EXPECT_EQ(server.server->stats().connectionsAccepted, 2u);
}

/// A plain-TCP HTTP/1.1 server that follows a script: for each accepted connection, for each request
/// on it, answer (true) or close the connection without answering (false).
class ScriptedServer {
 public:
  explicit ScriptedServer(std::vector<std::vector<bool>> script) : acceptor_(io_), script_(std::move(script)) {
    acceptor_.open(asio::ip::tcp::v4());
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    thread_ = std::thread([this] {
      for (const auto& connection : script_) serve(connection);
    });
  }
  ~ScriptedServer() {
    for (std::size_t i = accepted_; i < script_.size(); ++i) {  // unblock accepts a failed test left
      asio::ip::tcp::socket socket(io_);
      boost::system::error_code ec;
      socket.connect(acceptor_.local_endpoint(), ec);
    }
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/"; }
  int answered() const { return answered_; }

 private:
  void serve(const std::vector<bool>& requests) {
    asio::ip::tcp::socket socket(io_);
    boost::system::error_code ec;
    acceptor_.accept(socket, ec);
    ++accepted_;
    if (ec) return;
    asio::streambuf buffer;
    for (bool answer : requests) {
      std::size_t headEnd = asio::read_until(socket, buffer, "\r\n\r\n", ec);
      if (ec) return;
      std::string head(static_cast<const char*>(buffer.data().data()), headEnd);
      buffer.consume(headEnd);
      auto at = head.find("Content-Length: ");
      std::size_t length = at == std::string::npos ? 0 : std::stoul(head.substr(at + 16));
      if (buffer.size() < length) asio::read(socket, buffer, asio::transfer_exactly(length - buffer.size()), ec);
      buffer.consume(length);
      if (!answer) return;  // closes without a response
      std::string body = "answer " + std::to_string(++answered_);
      std::string response = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
      asio::write(socket, asio::buffer(response), ec);
    }
  }

  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  const std::vector<std::vector<bool>> script_;
  std::atomic<std::size_t> accepted_{0};
  std::atomic<int> answered_{0};
  std::thread thread_;
};

TEST(HttpClientTest, ReusedConnectionThatDiesIsRetriedForIdempotentMethodsOnly) {
  // Connection 1 answers once, then closes on the second request; connection 2 answers.
  ScriptedServer server({{true, false}, {true}});
  ClientIoThreads threads;
  auto client = HttpClient::create(threads.io);
  for (std::string expected : {"answer 1", "answer 2"}) {
    ResponseRecorder recorder;
    client->start(get(server.url()), recorder.handlers());
    auto status = recorder.waitComplete();
    ASSERT_TRUE(status) << status.error().toString();
    EXPECT_EQ(recorder.body(), expected);
  }

  ScriptedServer postServer({{true, false}});
  auto request = get(postServer.url());
  request.method = "POST";
  request.body = "payload";
  ResponseRecorder first;
  client->start(request, first.handlers());
  ASSERT_TRUE(first.waitComplete());
  ResponseRecorder second;
  client->start(request, second.handlers());
  auto status = second.waitComplete();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kUnavailable) << status.error().toString();
}

TEST(HttpClientTest, PostThatAllowsAResendIsRetriedOnceOnAFreshConnection) {
  // Connection 1 answers, then closes on the second request; connection 2 answers the resend.
  ScriptedServer server({{true, false}, {true}});
  ClientIoThreads threads;
  auto client = HttpClient::create(threads.io);
  auto request = get(server.url());
  request.method = "POST";
  request.body = "payload";
  request.resendOnStaleConnection = true;
  for (std::string expected : {"answer 1", "answer 2"}) {
    ResponseRecorder recorder;
    client->start(request, recorder.handlers());
    auto status = recorder.waitComplete();
    ASSERT_TRUE(status) << status.error().toString();
    EXPECT_EQ(recorder.body(), expected);
  }

  // Bounded: when the fresh connection fails too, the call fails (no second resend).
  ScriptedServer failing({{true, false}, {false}});
  auto again = get(failing.url());
  again.method = "POST";
  again.resendOnStaleConnection = true;
  ResponseRecorder first;
  client->start(again, first.handlers());
  ASSERT_TRUE(first.waitComplete());
  ResponseRecorder second;
  client->start(again, second.handlers());
  auto status = second.waitComplete();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kUnavailable) << status.error().toString();
}

TEST(HttpClientTest, PooledConnectionToARestartedServerIsNotUsed) {
  ClientIoThreads threads;
  TestServer first(threads.io, [](HttpExchangePtr exchange) { exchange->respond({200, "text/plain", {}, "one"}); });
  auto client = HttpClient::create(threads.io);
  {
    ResponseRecorder recorder;
    client->start(get(first.url("/")), recorder.handlers());
    ASSERT_TRUE(recorder.waitComplete());
  }
  // The pooled connection dies with the server; a new server on the same port answers the retry.
  auto port = first.server->port();
  first.server.reset();
  ServerOptions options;
  options.bindAddresses = {"127.0.0.1"};
  options.port = port;
  ServerHandlers handlers;
  handlers.onHttp = [](HttpExchangePtr exchange) { exchange->respond({200, "text/plain", {}, "two"}); };
  auto second = Server::create(threads.io, options, handlers);
  ASSERT_TRUE(second) << second.error().toString();
  ResponseRecorder recorder;
  client->start(get("http://127.0.0.1:" + std::to_string(port) + "/"), recorder.handlers());
  auto status = recorder.waitComplete();
  ASSERT_TRUE(status) << status.error().toString();
  EXPECT_EQ(recorder.body(), "two");
}

// --- TLS -----------------------------------------------------------------------------------------

/// A self-signed certificate for DNS name "localhost" only (no IP address), as PEM.
struct HttpsTestCertificate {
  std::string certPem;
  std::string keyPem;
};

HttpsTestCertificate makeCertificate() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (auto [nid, value] :
       {std::pair{NID_subject_alt_name, "DNS:localhost"}, std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert, key, EVP_sha256());
  auto toPem = [](auto write) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio);
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<std::size_t>(size));
    BIO_free(bio);
    return pem;
  };
  HttpsTestCertificate out;
  out.certPem = toPem([&](BIO* bio) { PEM_write_bio_X509(bio, cert); });
  out.keyPem = toPem([&](BIO* bio) { PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr); });
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

/// Serves `connections` TLS connections one after the other on 127.0.0.1 with a fixed response;
/// handshakes the client refuses just end that connection.
class TlsServer {
 public:
  TlsServer(const HttpsTestCertificate& certificate, int connections)
      : context_(asio::ssl::context::tls_server), acceptor_(io_), connections_(connections) {
    context_.use_certificate_chain(asio::buffer(certificate.certPem));
    context_.use_private_key(asio::buffer(certificate.keyPem), asio::ssl::context::pem);
    acceptor_.open(asio::ip::tcp::v4());
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    thread_ = std::thread([this, connections] {
      for (int i = 0; i < connections; ++i) serveOne();
    });
  }
  ~TlsServer() {
    // If the test ended early, unblock the remaining accepts with connections that close at once.
    for (int i = accepted_; i < connections_; ++i) {
      asio::ip::tcp::socket socket(io_);
      boost::system::error_code ec;
      socket.connect({asio::ip::make_address("127.0.0.1"), port()}, ec);
    }
    thread_.join();
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int served() const { return served_; }

 private:
  void serveOne() {
    boost::system::error_code ec;
    asio::ssl::stream<asio::ip::tcp::socket> stream(io_, context_);
    acceptor_.accept(stream.next_layer(), ec);
    ++accepted_;
    if (ec) return;
    stream.handshake(asio::ssl::stream_base::server, ec);
    if (ec) return;
    asio::streambuf request;
    asio::read_until(stream, request, "\r\n\r\n", ec);
    if (ec) return;
    std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecure";
    asio::write(stream, asio::buffer(response), ec);
    stream.shutdown(ec);
    ++served_;
  }

  asio::io_context io_;
  asio::ssl::context context_;
  asio::ip::tcp::acceptor acceptor_;
  const int connections_;
  std::atomic<int> accepted_{0};
  std::atomic<int> served_{0};
  std::thread thread_;
};

TEST(HttpClientTest, HttpsVerifiesTheCertificateAndTheHostName) {
  auto certificate = makeCertificate();
  TlsServer tls(certificate, 3);
  auto base = [&](const char* host) { return "https://" + std::string(host) + ":" + std::to_string(tls.port()); };
  ClientIoThreads threads;

  // Not in the system trust store: refused.
  auto systemOnly = HttpClient::create(threads.io);
  ResponseRecorder untrusted;
  systemOnly->start(get(base("localhost") + "/"), untrusted.handlers());
  auto status = untrusted.waitComplete();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(status.error().message.find("certificate"), std::string::npos) << status.error().message;

  auto trusting = HttpClient::create(threads.io, HttpClientOptions{.extraCaPem = certificate.certPem});
  ASSERT_TRUE(trusting) << trusting.error().toString();

  // Trusted, but the certificate does not name 127.0.0.1: refused.
  ResponseRecorder wrongName;
  (*trusting)->start(get(base("127.0.0.1") + "/"), wrongName.handlers());
  status = wrongName.waitComplete();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kUnavailable) << status.error().toString();

  // Trusted and the right name: served.
  ResponseRecorder ok;
  (*trusting)->start(get(base("localhost") + "/"), ok.handlers());
  status = ok.waitComplete();
  ASSERT_TRUE(status) << status.error().toString();
  EXPECT_EQ(ok.status(), 200);
  EXPECT_EQ(ok.body(), "secure");
}

TEST(HttpClientTest, WssVerifiesTheCertificateToo) {
  auto certificate = makeCertificate();
  TlsServer tls(certificate, 1);
  auto client = WsClient::connect("wss://localhost:" + std::to_string(tls.port()) + "/", 5s);
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(client.error().message.find("certificate"), std::string::npos) << client.error().message;
}

TEST(HttpClientTest, BadExtraCaIsInvalidArgument) {
  asio::io_context io;
  auto client = HttpClient::create(io, HttpClientOptions{.extraCaPem = "not a certificate"});
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace talon::net
