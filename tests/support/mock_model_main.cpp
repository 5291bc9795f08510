// talon-mock-model: the scripted OpenAI-compatible server as a process (e2e tests, benchmarks).
//   talon-mock-model --port 0 --script FILE [--port-file PATH] [--log FILE] [--host ADDR] [--threads N]
// Prints "listening on PORT" once it accepts connections; runs until SIGINT or SIGTERM.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/file_io.h"
#include "base/json.h"
#include "support/mock_model_server.h"

namespace {

constexpr std::string_view kUsage =
    "usage: talon-mock-model [--port N] [--script FILE] [--port-file PATH] [--log FILE] [--host ADDR] "
    "[--threads N]\n";

int usageError(const std::string& message) {
  std::fprintf(stderr, "talon-mock-model: %s\n%.*s", message.c_str(), static_cast<int>(kUsage.size()), kUsage.data());
  return 2;
}

bool parseUnsigned(std::string_view s, unsigned long max, unsigned long& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out <= max;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace talon;
  mock::MockModelOptions options;
  std::string scriptPath, portFile;
  unsigned long threads = 1;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "--help" || a == "-h") {
      std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
      return 0;
    }
    if (i + 1 >= args.size()) return usageError(std::string(a) + " needs a value (or is unknown)");
    std::string_view v = args[++i];
    unsigned long n = 0;
    if (a == "--port") {
      if (!parseUnsigned(v, 65535, n)) return usageError("bad --port");
      options.port = static_cast<uint16_t>(n);
    } else if (a == "--script") {
      scriptPath = v;
    } else if (a == "--port-file") {
      portFile = v;
    } else if (a == "--log") {
      options.logPath = std::string(v);
    } else if (a == "--host") {
      options.host = v;
    } else if (a == "--threads") {
      if (!parseUnsigned(v, 256, threads) || threads == 0) return usageError("bad --threads");
    } else {
      return usageError("unknown option " + std::string(a));
    }
  }

  json::value scriptJson;
  if (!scriptPath.empty()) {
    auto text = readFile(scriptPath);
    if (!text) return usageError(text.error().toString());
    auto parsed = parseJson(*text);
    if (!parsed) return usageError(scriptPath + ": " + parsed.error().message);
    scriptJson = std::move(*parsed);
  }
  auto script = mock::parseMockScript(scriptJson);
  if (!script) return usageError(script.error().message);
  options.script = std::move(*script);

  boost::asio::io_context io;
  auto server = mock::MockModelServer::create(io, std::move(options));
  if (!server) {
    std::fprintf(stderr, "talon-mock-model: %s\n", server.error().toString().c_str());
    return 1;
  }
  const uint16_t port = (*server)->port();
  if (!portFile.empty()) {
    if (auto st = writeFileAtomic(portFile, std::to_string(port) + "\n"); !st) {
      std::fprintf(stderr, "talon-mock-model: %s\n", st.error().toString().c_str());
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
