#include "e2e_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "base/ids.h"
#include "child_process.h"

namespace talon::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

fs::path makeTempDir() {
  auto base = fs::temp_directory_path() / ("talon-e2e-" + randomHex(6));
  fs::create_directories(base);
  return base;
}

void writeText(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << s;
}

std::string readText(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string finalText(const json::object& chatFinal) {
  std::string text;
  if (const auto* m = getObject(chatFinal, "message")) {
    if (const auto* c = getArray(*m, "content")) {
      for (const auto& part : *c) text += getString(part.as_object(), "text").value_or("");
    }
  }
  return text;
}

int freeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

int freeLoopbackPortApart(const std::vector<int>& taken, int minGap) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    int port = freeLoopbackPort();
    if (port == 0) return 0;
    if (std::all_of(taken.begin(), taken.end(), [&](int t) { return std::abs(port - t) > minGap; })) return port;
  }
  return 0;
}

std::size_t residentBytes(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return static_cast<std::size_t>(std::stoull(line.substr(6))) * 1024;
  }
  return 0;
}

bool pollUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  // Files and /proc have no event to wait on; the interval only bounds how fast a change is noticed.
  for (;;) {
    if (pred()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
}

// ---- ProtocolClient ----

std::unique_ptr<ProtocolClient> ProtocolClient::connect(int port, const std::string& token,
                                                        std::vector<std::string> scopes) {
  auto ws = net::WsClient::connect("ws://127.0.0.1:" + std::to_string(port), 5s);
  if (!ws) return nullptr;
  auto c = std::make_unique<ProtocolClient>(std::move(*ws));
  auto challenge = c->nextFrame();
  if (!challenge || getString(*challenge, "event") != "connect.challenge") return nullptr;
  json::array sc;
  for (auto& s : scopes) sc.push_back(json::string(s));
  auto res = c->request(
      "connect",
      json::object{{"minProtocol", 4},
                   {"maxProtocol", 4},
                   {"client", json::object{{"id", "cli"}, {"version", "e2e"}, {"platform", "linux"}, {"mode", "cli"}}},
                   {"role", "operator"},
                   {"scopes", sc},
                   {"caps", json::array{}},
                   {"auth", json::object{{"token", token}}}});
  if (!res || !getBool(*res, "ok").value_or(false)) return nullptr;
  c->hello_ = res->at("payload").as_object();
  return c;
}

std::optional<json::object> ProtocolClient::nextFrame(std::chrono::milliseconds timeout) {
  auto text = ws_->receive(timeout);
  if (!text) return std::nullopt;
  bytesReceived_ += text->size();
  auto v = parseJson(*text);
  if (!v || !v->is_object()) return std::nullopt;
  return v->get_object();
}

std::optional<json::object> ProtocolClient::request(const std::string& method, const json::value& params) {
  std::string id = std::to_string(next_++);
  json::object req{{"type", "req"}, {"id", id}, {"method", method}};
  if (!params.is_null()) req["params"] = params;
  if (!ws_->send(json::serialize(req))) return std::nullopt;
  return response(id);
}

std::optional<json::object> ProtocolClient::response(const std::string& id, std::chrono::milliseconds timeout) {
  for (;;) {
    auto f = nextFrame(timeout);
    if (!f) return std::nullopt;
    if (getString(*f, "type") == "event") {
      events_.push_back(*f);
      continue;
    }
    if (getString(*f, "id") == id) return f;
  }
}

std::optional<json::object> ProtocolClient::chatEvent(const std::string& runId, std::chrono::milliseconds timeout) {
  for (;;) {
    while (!events_.empty()) {
      auto e = events_.front();
      events_.erase(events_.begin());
      const auto* p = getObject(e, "payload");
      if (getString(e, "event") == "chat" && p && getString(*p, "runId") == runId) return *p;
    }
    auto f = nextFrame(timeout);
    if (!f) return std::nullopt;
    if (getString(*f, "type") == "event") events_.push_back(*f);
  }
}

std::optional<json::object> ProtocolClient::waitTerminal(const std::string& runId, std::vector<std::string>* deltas,
                                                         std::chrono::milliseconds timeout) {
  for (;;) {
    auto e = chatEvent(runId, timeout);
    if (!e) return std::nullopt;
    auto state = getString(*e, "state").value_or("");
    if (state == "delta" && deltas) deltas->emplace_back(getString(*e, "deltaText").value_or(""));
    if (state == "final" || state == "error" || state == "aborted") return e;
  }
}

// ---- RawWsClient ----

std::unique_ptr<RawWsClient> RawWsClient::connect(int port, int receiveBufferBytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  std::unique_ptr<RawWsClient> c(new RawWsClient(fd));
  if (receiveBufferBytes > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receiveBufferBytes, sizeof receiveBufferBytes);
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return nullptr;
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  std::string upgrade = "GET / HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  auto deadline = Clock::now() + 5s;
  if (!c->writeAll(upgrade, deadline)) return nullptr;
  std::size_t end;
  while ((end = c->in_.find("\r\n\r\n")) == std::string::npos) {
    if (!c->readMore(deadline)) return nullptr;
  }
  if (c->in_.rfind("HTTP/1.1 101", 0) != 0) return nullptr;
  c->in_.erase(0, end + 4);
  return c;
}

RawWsClient::~RawWsClient() {
  if (fd_ >= 0) ::close(fd_);
}

std::string RawWsClient::encodeFrame(uint8_t opcode, std::string_view payload) {
  std::string f;
  f.push_back(static_cast<char>(0x80 | opcode));
  const std::size_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xFFFF) {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xFF));
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
  }
  static thread_local std::mt19937 rng{std::random_device{}()};
  uint8_t mask[4];
  for (auto& m : mask) m = static_cast<uint8_t>(rng());
  f.append(reinterpret_cast<const char*>(mask), 4);
  for (std::size_t i = 0; i < n; ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  return f;
}

bool RawWsClient::writeAll(std::string_view bytes, Clock::time_point deadline) {
  while (!bytes.empty()) {
    ssize_t w = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (w > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(w));
      continue;
    }
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLOUT, 0};
    ::poll(&p, 1, static_cast<int>(left));
  }
  return true;
}

bool RawWsClient::sendFrame(uint8_t opcode, std::string_view payload, std::chrono::milliseconds timeout) {
  return writeAll(encodeFrame(opcode, payload), Clock::now() + timeout);
}

std::size_t RawWsClient::sendUntilStalled(const std::string& bytes, std::chrono::milliseconds stallTimeout,
                                          const std::function<void()>& onWait) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t w = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (w > 0) {
      sent += static_cast<std::size_t>(w);
      continue;
    }
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) break;
    if (onWait) onWait();
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(stallTimeout.count())) == 0) break;  // the peer takes nothing
  }
  return sent;
}

bool RawWsClient::readMore(Clock::time_point deadline) {
  if (eof_) return false;
  char buf[64 * 1024];
  for (;;) {
    ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
    if (r > 0) {
      in_.append(buf, static_cast<std::size_t>(r));
      return true;
    }
    if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      eof_ = true;
      return false;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(left));
  }
}

std::optional<RawWsClient::Frame> RawWsClient::readFrame(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    // Header: 2 bytes, extended length, no mask (server frames are unmasked).
    if (in_.size() >= 2) {
      auto b = [&](std::size_t i) { return static_cast<uint8_t>(in_[i]); };
      uint8_t opcode = b(0) & 0x0F;
      uint64_t len = b(1) & 0x7F;
      std::size_t header = 2;
      bool complete = true;
      if (len == 126) {
        header = 4;
        complete = in_.size() >= header;
        if (complete) len = (uint64_t{b(2)} << 8) | b(3);
      } else if (len == 127) {
        header = 10;
        complete = in_.size() >= header;
        if (complete) {
          len = 0;
          for (int i = 2; i < 10; ++i) len = (len << 8) | b(static_cast<std::size_t>(i));
        }
      }
      if (complete && in_.size() >= header + len) {
        Frame f{opcode, in_.substr(header, static_cast<std::size_t>(len))};
        in_.erase(0, header + static_cast<std::size_t>(len));
        if (opcode == 9) {  // ping: answer, keep reading
          writeAll(encodeFrame(10, f.payload), deadline);
          continue;
        }
        if (opcode == 8) {
          closeCode_ = f.payload.size() >= 2 ? static_cast<uint16_t>((static_cast<uint8_t>(f.payload[0]) << 8) |
                                                                     static_cast<uint8_t>(f.payload[1]))
                                             : 1005;
          closeReason_ = f.payload.size() > 2 ? f.payload.substr(2) : "";
        }
        return f;
      }
    }
    if (!readMore(deadline)) {
      if (eof_ && !closeCode_) closeCode_ = 1006;
      return std::nullopt;
    }
  }
}

std::optional<json::object> RawWsClient::readResponse(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    auto f = readFrame(std::max(left, std::chrono::milliseconds(0)));
    if (!f || f->opcode == 8) return std::nullopt;
    auto v = parseJson(f->payload);
    if (v && v->is_object() && getString(v->get_object(), "type") == "res") return v->get_object();
  }
}

std::optional<uint16_t> RawWsClient::readUntilClose(std::chrono::milliseconds timeout, std::size_t* bytesRead) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    auto f = readFrame(std::max(left, std::chrono::milliseconds(0)));
    if (!f) return closeCode_;  // 1006 at the end of the stream, nullopt on timeout
    if (bytesRead) *bytesRead += f->payload.size();
    if (f->opcode == 8) return closeCode_;
  }
}

bool RawWsClient::handshake(const std::string& token) {
  auto challenge = readFrame(5s);
  if (!challenge || challenge->payload.find("connect.challenge") == std::string::npos) return false;
  json::object req{
      {"type", "req"},
      {"id", "connect"},
      {"method", "connect"},
      {"params",
       json::object{{"minProtocol", 4},
                    {"maxProtocol", 4},
                    {"client", json::object{{"id", "cli"}, {"version", "e2e"}, {"platform", "linux"}, {"mode", "cli"}}},
                    {"role", "operator"},
                    {"scopes", json::array{"operator.admin", "operator.read", "operator.write"}},
                    {"caps", json::array{}},
                    {"auth", json::object{{"token", token}}}}}};
  if (!sendFrame(1, json::serialize(req))) return false;
  auto res = readResponse(5s);
  return res && getBool(*res, "ok").value_or(false);
}

CliResult runTalon(const std::filesystem::path& dir, const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env) {
  static std::atomic<int> runs{0};
  const int n = ++runs;
  const auto out = dir / ("cli-" + std::to_string(n) + ".out");
  const auto err = dir / ("cli-" + std::to_string(n) + ".err");
  std::string cmd = "exec '" + std::string(TALON_BINARY) + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " > '" + out.string() + "' 2> '" + err.string() + "' < /dev/null";
  ChildProcess p({"/bin/sh", "-c", cmd}, env, (dir / "cli.log").string());
  CliResult r;
  auto status = p.wait(std::chrono::seconds(60));
  if (status && WIFEXITED(*status)) r.status = WEXITSTATUS(*status);
  r.out = readText(out);
  r.err = readText(err);
  return r;
}

json::object jsonObjectOf(const std::string& output) {
  auto start = output.find('{');
  auto end = output.rfind('}');
  if (start == std::string::npos || end == std::string::npos || end < start) return {};
  auto v = parseJson(output.substr(start, end - start + 1));
  return v && v->is_object() ? v->as_object() : json::object{};
}

std::filesystem::path installedOpenClaw() {
  const char* ref = std::getenv("OPENCLAW_REF_DIR");
  const char* home = std::getenv("HOME");
  std::filesystem::path bin = ref != nullptr ? std::filesystem::path(ref) / "bin"
                                             : std::filesystem::path(home != nullptr ? home : "/nonexistent") /
                                                   ".cache" / "openclaw-ref" / "bin";
  std::error_code ec;
  return std::filesystem::exists(bin / "openclaw", ec) ? bin / "openclaw" : std::filesystem::path();
}

}  // namespace talon::test
