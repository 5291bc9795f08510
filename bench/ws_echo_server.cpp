// talon-bench-echo: a bare WebSocket echo server on Talon's net module (net::Server, the same HTTP +
// WebSocket stack the gateway uses). It is the "floor" of bench/side-by-side.sh: the cost of one
// WebSocket round trip through src/net with no protocol work, measured by the same client. It also
// answers POST /hooks/<anything> at once with a finished hook run's answer: the floor of bench/inbound.sh.
//   talon-bench-echo [--port 0] [--port-file PATH] [--threads N] [--answer-bytes N] [--answer-file PATH]
// --threads defaults to the number of cores (as the gateway's io_context pool). --answer-bytes N (0:
// off) answers a JSON object message with the same object padded to N bytes (a "pad" member of 'x's
// before its closing brace), so the floor's answer can have the size of the gateway's: the kernel's
// and the client's cost of a larger answer then shows in the floor too (a message that is not an
// object, or already N bytes or more, is echoed as it came). Prints "listening on PORT" once it
// accepts connections; runs until SIGINT or SIGTERM.
// --answer-file PATH answers every message with the frame in PATH (a gateway's `res` frame, as
// `talon-bench-client latency --answer-out` saves it) carrying the request's id instead of its own: the
// same bytes the gateway answers, with no protocol work behind them (the "replay floor"). The frame's
// first `"id":"` member is the one replaced (the gateway writes it second, after "type"); the request's
// id is read the same way (plain characters, no escapes, as the bench clients send it).
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <charconv>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "base/file_io.h"
#include "net/server.h"

namespace {

// `text` (a JSON object) padded to `bytes` with a "pad" member before its closing brace; `text` itself
// when it is not an object or leaves no room for the member.
std::string padded(std::string_view text, std::size_t bytes) {
  constexpr std::string_view kHead = R"(,"pad":")";
  if (text.size() < 2 || text.front() != '{' || text.back() != '}' || text.size() + kHead.size() + 2 > bytes) {
    return std::string(text);
  }
  std::string out;
  out.reserve(bytes);
  out.append(text.substr(0, text.size() - 1));
  out.append(kHead);
  out.append(bytes - out.size() - 2, 'x');
  out.append("\"}");
  return out;
}

constexpr std::string_view kIdMember = R"("id":")";

// Where the value of the first `"id":"` member of `text` lies: [first, second) up to the next quote.
std::optional<std::pair<std::size_t, std::size_t>> idRange(std::string_view text) {
  const auto at = text.find(kIdMember);
  if (at == std::string_view::npos) return std::nullopt;
  const auto begin = at + kIdMember.size();
  const auto end = text.find('"', begin);
  if (end == std::string_view::npos) return std::nullopt;
  return std::pair{begin, end};
}

// A recorded answer split around its id: head + the request's id + tail.
struct ReplayFrame {
  std::string head, tail;
};

std::optional<ReplayFrame> splitAtId(std::string_view frame) {
  const auto range = idRange(frame);
  if (!range) return std::nullopt;
  return ReplayFrame{std::string(frame.substr(0, range->first)), std::string(frame.substr(range->second))};
}

// Sends every message back as it came, padded to answerBytes, or as the replayed frame with the
// message's id. Holds the connection weakly: the connection owns the session.
class EchoSession final : public talon::net::WebSocketSession {
 public:
  EchoSession(std::weak_ptr<talon::net::WebSocketConnection> connection, std::size_t answerBytes,
              std::shared_ptr<const ReplayFrame> replay)
      : connection_(std::move(connection)), answerBytes_(answerBytes), replay_(std::move(replay)) {}
  void onMessage(std::string_view text) override {
    auto c = connection_.lock();
    if (!c) return;
    if (replay_) {
      const auto range = idRange(text);
      const auto id = range ? text.substr(range->first, range->second - range->first) : std::string_view();
      std::string out;
      out.reserve(replay_->head.size() + id.size() + replay_->tail.size());
      out.append(replay_->head).append(id).append(replay_->tail);
      c->send(std::move(out));
    } else {
      c->send(answerBytes_ == 0 ? std::string(text) : padded(text, answerBytes_));
    }
  }
  void onClose(uint16_t) override {}

 private:
  std::weak_ptr<talon::net::WebSocketConnection> connection_;
  std::size_t answerBytes_;
  std::shared_ptr<const ReplayFrame> replay_;
};

bool parseUnsigned(std::string_view s, unsigned long max, unsigned long& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out <= max;
}

int usage(const char* message) {
  std::fprintf(
      stderr,
      "talon-bench-echo: %s\nusage: talon-bench-echo [--port N] [--port-file PATH] [--threads N] [--answer-bytes N] "
      "[--answer-file PATH]\n",
      message);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace talon;
  net::ServerOptions options;
  options.port = 0;
  options.bindAddresses = {"127.0.0.1"};
  std::string portFile;
  unsigned long threads = std::max(1u, std::thread::hardware_concurrency());
  unsigned long answerBytes = 0;
  std::shared_ptr<const ReplayFrame> replay;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (i + 1 >= argc) return usage("an option needs a value");
    std::string_view v = argv[++i];
    unsigned long n = 0;
    if (a == "--port") {
      if (!parseUnsigned(v, 65535, n)) return usage("bad --port");
      options.port = static_cast<uint16_t>(n);
    } else if (a == "--port-file") {
      portFile = v;
    } else if (a == "--threads") {
      if (!parseUnsigned(v, 256, threads) || threads == 0) return usage("bad --threads");
    } else if (a == "--answer-bytes") {
      if (!parseUnsigned(v, 16u << 20, answerBytes)) return usage("bad --answer-bytes");
    } else if (a == "--answer-file") {
      auto text = readFile(std::string(v));
      if (!text) return usage(("cannot read --answer-file: " + text.error().toString()).c_str());
      while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
      auto frame = splitAtId(*text);
      if (!frame) return usage("--answer-file: no \"id\":\"...\" member in the frame");
      replay = std::make_shared<const ReplayFrame>(std::move(*frame));
    } else {
      return usage("unknown option");
    }
  }

  // Built as the gateway is (src/gateway/gateway.cpp): one thread running the io_context is told to Asio
  // (concurrency hint 1) and serves its connections without strands.
  options.singleIoThread = threads == 1;
  boost::asio::io_context io(threads == 1 ? 1 : BOOST_ASIO_CONCURRENCY_HINT_DEFAULT);
  net::ServerHandlers handlers;
  // The floor of bench/inbound.sh: any POST under /hooks/ is answered at once as a gateway answers a
  // finished hook run (docs/webhooks.md), with no parsing, auth or run behind it.
  handlers.onHttp = [](net::HttpExchangePtr exchange) {
    const net::HttpRequest& request = exchange->request();
    if (request.method == "POST" && request.path.rfind("/hooks/", 0) == 0) {
      exchange->respond(net::HttpResponse{
          200,
          "application/json",
          {},
          R"({"ok":true,"runId":"floor","completion":{"status":"ok","replyDisposition":"visible"}})"});
      return;
    }
    exchange->respond(net::HttpResponse{404, "text/plain", {}, "websocket, or POST /hooks/...\n"});
  };
  handlers.onWebSocket = [answerBytes, replay](net::WebSocketConnectionPtr connection, const net::HttpRequest&) {
    connection->setMaxMessageBytes(64u << 20);
    return std::make_shared<EchoSession>(connection, answerBytes, replay);
  };
  auto server = net::Server::create(io, options, std::move(handlers));
  if (!server) {
    std::fprintf(stderr, "talon-bench-echo: %s\n", server.error().toString().c_str());
    return 1;
  }
  const uint16_t port = (*server)->port();
  if (!portFile.empty()) {
    if (auto st = writeFileAtomic(portFile, std::to_string(port) + "\n"); !st) {
      std::fprintf(stderr, "talon-bench-echo: %s\n", st.error().toString().c_str());
      return 1;
    }
  }
  std::printf("listening on %u\n", static_cast<unsigned>(port));
  std::fflush(stdout);

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    (*server)->stop();
    io.stop();
  });
  std::vector<std::thread> pool;
  for (unsigned long i = 1; i < threads; ++i) pool.emplace_back([&] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
  return 0;
}
