// TcpLineClient against a loopback peer the test drives with blocking Asio calls (plain TCP and TLS with
// a self-signed certificate): lines in both directions, framing across reads, the limits, the ways a
// connection ends. Waits are on futures and condition variables, bounded by a safety net only.
#include "net/tcp_line_client.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

namespace talon::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr auto kSafetyNet = 10s;  // a broken test fails instead of hanging; no outcome depends on it

/// An io_context run by one thread for the client under test.
struct IoThread {
  IoThread() : work(asio::make_work_guard(io)), thread([this] { io.run(); }) {}
  ~IoThread() {
    work.reset();
    io.stop();
    thread.join();
  }
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::thread thread;
};

/// What the client reported, with waits.
class Events {
 public:
  TcpLineHandlers handlers() {
    TcpLineHandlers h;
    h.onConnected = [this] { push("connected"); };
    h.onLine = [this](std::string line) { push("line:" + line); };
    h.onClosed = [this](Error e) {
      std::lock_guard lock(mu_);
      closed_ = e;
      cv_.notify_all();
    };
    return h;
  }
  /// The next event ("connected", "line:<text>"), or "" on the safety net.
  std::string next() {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, kSafetyNet, [&] { return !events_.empty(); })) return "";
    auto e = events_.front();
    events_.pop_front();
    return e;
  }
  std::optional<Error> waitClosed() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, kSafetyNet, [&] { return closed_.has_value(); });
    return closed_;
  }

 private:
  void push(std::string e) {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(e));
    cv_.notify_all();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> events_;
  std::optional<Error> closed_;
};

/// A promise-like flag for onWritten.
struct Written {
  std::function<void(Status)> callback() {
    return [this](Status s) {
      std::lock_guard lock(mu);
      result = std::move(s);
      cv.notify_all();
    };
  }
  std::optional<Status> wait() {
    std::unique_lock lock(mu);
    cv.wait_for(lock, kSafetyNet, [&] { return result.has_value(); });
    return result;
  }
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Status> result;
};

/// A plain TCP peer on 127.0.0.1 that accepts one connection; driven by the test thread.
class Peer {
 public:
  Peer() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), socket_(io_) {}
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void accept() { acceptor_.accept(socket_); }
  void write(std::string_view bytes) { asio::write(socket_, asio::buffer(bytes)); }
  /// The next CRLF-terminated line the client wrote (without CRLF).
  std::string readLine() {
    asio::read_until(socket_, buffer_, "\r\n");
    std::istream in(&buffer_);
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  }
  void close() {
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

 private:
  asio::io_context io_;
  tcp::acceptor acceptor_;
  tcp::socket socket_;
  asio::streambuf buffer_;
};

TcpLineClientOptions local(uint16_t port) {
  TcpLineClientOptions o;
  o.host = "127.0.0.1";
  o.port = port;
  return o;
}

TEST(TcpLineClientTest, ExchangesLinesFramedAcrossReads) {
  IoThread io;
  Peer peer;
  Events events;
  auto client = TcpLineClient::create(io.io, local(peer.port()), events.handlers());
  ASSERT_TRUE(client) << client.error().toString();
  // A line queued before the connection is up is written once it is.
  Written first;
  ASSERT_TRUE((*client)->send("NICK talon", first.callback()));
  (*client)->connect();
  peer.accept();
  EXPECT_EQ(events.next(), "connected");
  EXPECT_EQ(peer.readLine(), "NICK talon");
  ASSERT_TRUE(first.wait().value_or(fail(ErrorCode::kInternal, "no callback")));

  // CRLF and bare LF, a line split over two writes, an empty line passed through.
  peer.write(":srv 001 talon :Welcome\r\nPING :x");
  peer.write("yz\nlast\r\n\r\n");
  EXPECT_EQ(events.next(), "line::srv 001 talon :Welcome");
  EXPECT_EQ(events.next(), "line:PING :xyz");
  EXPECT_EQ(events.next(), "line:last");
  EXPECT_EQ(events.next(), "line:");

  Written second;
  ASSERT_TRUE((*client)->send("PONG :xyz", second.callback()));
  EXPECT_EQ(peer.readLine(), "PONG :xyz");
  ASSERT_TRUE(second.wait().value_or(fail(ErrorCode::kInternal, "no callback")));
  EXPECT_EQ((*client)->queuedBytes(), 0u);

  // The peer hangs up: kUnavailable, and send() refuses from then on.
  peer.close();
  auto closed = events.waitClosed();
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, ErrorCode::kUnavailable) << closed->toString();
  auto late = (*client)->send("PRIVMSG x :y");
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, ErrorCode::kUnavailable);
}

TEST(TcpLineClientTest, RefusesLinesWithLineBreaksAndAFullQueue) {
  IoThread io;
  Peer peer;
  Events events;
  auto options = local(peer.port());
  options.maxQueuedBytes = 16;
  auto client = TcpLineClient::create(io.io, options, events.handlers());
  ASSERT_TRUE(client);
  for (std::string bad : {std::string("a\r\nQUIT"), std::string("a\nb"), std::string("a\0b", 3)}) {
    auto s = (*client)->send(bad);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  }
  // Not connected yet: lines wait in the queue, which holds 16 bytes (each line counts its CR LF).
  ASSERT_TRUE((*client)->send("0123456789"));  // 12 bytes
  auto full = (*client)->send("abc");          // 5 more: 17 > 16
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ((*client)->queuedBytes(), 12u);
  (*client)->connect();
  peer.accept();
  EXPECT_EQ(peer.readLine(), "0123456789");
  (*client)->close();
  auto closed = events.waitClosed();
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, ErrorCode::kCancelled);
}

TEST(TcpLineClientTest, ALineOverTheLimitEndsTheConnection) {
  IoThread io;
  Peer peer;
  Events events;
  auto options = local(peer.port());
  options.maxLineBytes = 10;
  auto client = TcpLineClient::create(io.io, options, events.handlers());
  ASSERT_TRUE(client);
  (*client)->connect();
  peer.accept();
  EXPECT_EQ(events.next(), "connected");
  peer.write("0123456789\r\n");  // exactly the limit: fine
  EXPECT_EQ(events.next(), "line:0123456789");
  peer.write("0123456789AB");  // over the limit (and its CR) before any line end
  auto closed = events.waitClosed();
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, ErrorCode::kUpstream) << closed->toString();
}

TEST(TcpLineClientTest, ARefusedConnectionIsUnavailable) {
  uint16_t port;
  {
    Peer gone;  // a port that was free a moment ago and has no listener now
    port = gone.port();
  }
  IoThread io;
  Events events;
  auto client = TcpLineClient::create(io.io, local(port), events.handlers());
  ASSERT_TRUE(client);
  Written queued;
  ASSERT_TRUE((*client)->send("NICK a", queued.callback()));
  (*client)->connect();
  auto closed = events.waitClosed();
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, ErrorCode::kUnavailable) << closed->toString();
  auto written = queued.wait();
  ASSERT_TRUE(written);
  ASSERT_FALSE(*written);  // the queued line failed with the connection
  EXPECT_EQ(written->error().code, ErrorCode::kUnavailable);
}

TEST(TcpLineClientTest, CloseAfterFlushWritesTheQueueFirst) {
  IoThread io;
  Peer peer;
  Events events;
  auto client = TcpLineClient::create(io.io, local(peer.port()), events.handlers());
  ASSERT_TRUE(client);
  (*client)->connect();
  peer.accept();
  EXPECT_EQ(events.next(), "connected");
  ASSERT_TRUE((*client)->send("PRIVMSG #a :bye"));
  ASSERT_TRUE((*client)->send("QUIT :stopping"));
  (*client)->closeAfterFlush();
  EXPECT_EQ(peer.readLine(), "PRIVMSG #a :bye");
  EXPECT_EQ(peer.readLine(), "QUIT :stopping");
  auto closed = events.waitClosed();
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, ErrorCode::kCancelled);
}

TEST(TcpLineClientTest, BadArgumentsAreRefusedAtCreate) {
  asio::io_context io;
  TcpLineClientOptions options;
  options.port = 1;
  auto noHost = TcpLineClient::create(io, options, {});
  ASSERT_FALSE(noHost);
  EXPECT_EQ(noHost.error().code, ErrorCode::kInvalidArgument);
  options.host = "x";
  options.port = 0;
  auto noPort = TcpLineClient::create(io, options, {});
  ASSERT_FALSE(noPort);
  options.port = 1;
  options.tls = true;
  options.extraCaPem = "no";
  auto badCa = TcpLineClient::create(io, options, {});
  ASSERT_FALSE(badCa);
  EXPECT_EQ(badCa.error().code, ErrorCode::kInvalidArgument);
}

// --- TLS -----------------------------------------------------------------------------------------

/// A self-signed certificate (and CA) for DNS name "localhost" only, as PEM.
struct LineTestCertificate {
  std::string certPem;
  std::string keyPem;
};

LineTestCertificate makeLocalhostCertificate() {
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
  LineTestCertificate out;
  out.certPem = toPem([&](BIO* bio) { PEM_write_bio_X509(bio, cert); });
  out.keyPem = toPem([&](BIO* bio) { PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr); });
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

TEST(TcpLineClientTest, TlsVerifiesThePeerAndCarriesLines) {
  const auto certificate = makeLocalhostCertificate();
  asio::io_context serverIo;
  asio::ssl::context serverTls(asio::ssl::context::tls_server);
  serverTls.use_certificate_chain(asio::buffer(certificate.certPem));
  serverTls.use_private_key(asio::buffer(certificate.keyPem), asio::ssl::context::pem);
  tcp::acceptor acceptor(serverIo, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const uint16_t port = acceptor.local_endpoint().port();
  IoThread io;

  // Not trusted (the system store does not know the certificate): the handshake fails.
  {
    Events events;
    auto options = local(port);
    options.host = "localhost";
    options.tls = true;
    auto client = TcpLineClient::create(io.io, options, events.handlers());
    ASSERT_TRUE(client);
    (*client)->connect();
    asio::ssl::stream<tcp::socket> stream(serverIo, serverTls);
    acceptor.accept(stream.next_layer());
    boost::system::error_code ec;
    stream.handshake(asio::ssl::stream_base::server, ec);
    auto closed = events.waitClosed();
    ASSERT_TRUE(closed);
    EXPECT_EQ(closed->code, ErrorCode::kUnavailable);
    EXPECT_NE(closed->message.find("TLS"), std::string::npos) << closed->message;
  }

  // Trusted: lines go both ways.
  Events events;
  auto options = local(port);
  options.host = "localhost";
  options.tls = true;
  options.extraCaPem = certificate.certPem;
  auto client = TcpLineClient::create(io.io, options, events.handlers());
  ASSERT_TRUE(client) << client.error().toString();
  (*client)->connect();
  asio::ssl::stream<tcp::socket> stream(serverIo, serverTls);
  acceptor.accept(stream.next_layer());
  stream.handshake(asio::ssl::stream_base::server);
  EXPECT_EQ(events.next(), "connected");
  ASSERT_TRUE((*client)->send("NICK secure"));
  asio::streambuf buffer;
  asio::read_until(stream, buffer, "\r\n");
  std::string got(asio::buffers_begin(buffer.data()), asio::buffers_end(buffer.data()));
  EXPECT_EQ(got, "NICK secure\r\n");
  asio::write(stream, asio::buffer(std::string_view(":srv 001 secure :hi\r\n")));
  EXPECT_EQ(events.next(), "line::srv 001 secure :hi");
  (*client)->close();
  auto closed = events.waitClosed();
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, ErrorCode::kCancelled);
}

}  // namespace
}  // namespace talon::net
