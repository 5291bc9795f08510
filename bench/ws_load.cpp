// talon-bench-client: the load client of bench/side-by-side.sh. It speaks OpenClaw's gateway protocol v4
// (docs: /work/shared/reference/openclaw-protocol.md §1) over plain sockets (ws_connection.h), to Talon,
// to OpenClaw and, with --raw, to the bare echo server (talon-bench-echo). Each run prints one JSON
// object on stdout; progress and errors go to stderr. Exit status: 0 ok, 1 the run failed, 2 bad usage.
//
//   talon-bench-client startup   (--port N|auto | --port-file F) [--settle-ms 1000] [--leave-running]
//                                [--log FILE] [--pid-file FILE] [--poll-us 500] [--timeout-ms 180000]
//                                [--stop-timeout-ms 10000] -- COMMAND ARGS...   ("{port}" in ARGS: the port)
//   talon-bench-client latency   [--count 20000] [--warmup 1000] [--answer-out PATH]
//   talon-bench-client handshake [--count 1000] [--warmup 50]
//   talon-bench-client throughput --conns N [--duration-ms 5000] [--warmup-ms 1000] [--inflight 1]
//                                [--cpu-pid PID]
//   talon-bench-client chat      [--sessions 1] [--turns 100] [--warmup-turns 1] [--session-prefix bench]
//                                [--message TEXT] [--turn-timeout-ms 120000] [--rss-pid PID]
//                                [--rss-settle-ms 2000] [--new-session-keys]
//   talon-bench-client hooks     [--conns 100] [--duration-ms 10000] [--warmup-ms 2000] [--cpu-pid PID]
//                                [--hook-path /hooks/agent] [--message TEXT]
//                                [--session-key-prefix hook:bench-peer-] [--no-wait]
//   talon-bench-client rss       --pid PID
// hooks: --conns peers, each on its own HTTP/1.1 keep-alive connection, POST the hook path (Bearer
// --token) one request at a time, each with its own sessionKey (prefix + peer number; an empty prefix
// sends none: the default isolated session) and "waitForCompletion": true unless --no-wait. A good
// answer is 200 {"ok":true,...} with completion.status "ok". Reports messages/s in the window, latency
// (ms) and, with --cpu-pid, the server's CPU per message (µs).
// Connection options (all modes but rss): --host 127.0.0.1, --port N or --port-file F, --path /,
// --token T, --raw (echo server: no gateway handshake, any message with the request's id answers it),
// --timeout-ms 30000 (one operation: connect, handshake, one RPC).
//
// Memory readings (startup, chat --rss-pid, rss) give, summed over the server's process tree: RSS
// (VmRSS), PSS and private memory (Private_Clean + Private_Dirty) and anonymous memory (Anonymous) from
// /proc/PID/smaps_rollup. Server CPU (throughput --cpu-pid, chat --rss-pid): utime + stime of the process
// tree from /proc/PID/stat over the measured interval, as cores used (CPU seconds / wall seconds) and per
// RPC or per turn (CPU time / count), so the server's own cost shows whatever the client costs.
// latency --answer-out PATH writes the last `health` answer as it came (the frame talon-bench-echo
// --answer-file replays).
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "base/file_io.h"
#include "base/ids.h"
#include "base/json.h"
#include "ws_connection.h"
#include "ws_wire.h"

namespace talon::bench {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr std::string_view kUsage =
    "usage: talon-bench-client MODE [options]   (MODE: startup latency handshake throughput chat hooks rss)\n"
    "  see the comment at the top of bench/ws_load.cpp and bench/README.md\n";
constexpr std::string_view kConnectId = "0:connect";

// ---------------------------------------------------------------- options

struct Options {
  std::string mode;
  std::map<std::string, std::string, std::less<>> values;
  std::set<std::string, std::less<>> flags;
  std::vector<std::string> command;  // after "--" (startup)

  bool has(std::string_view k) const { return values.count(k) > 0 || flags.count(k) > 0; }
  std::string get(std::string_view k, std::string fallback = {}) const {
    auto it = values.find(k);
    return it == values.end() ? fallback : it->second;
  }
  Result<int64_t> getInt(std::string_view k, int64_t fallback) const {
    auto it = values.find(k);
    if (it == values.end()) return fallback;
    int64_t v = 0;
    auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
    if (ec != std::errc() || p != it->second.data() + it->second.size() || v < 0)
      return fail(ErrorCode::kInvalidArgument, "--" + std::string(k) + " needs a non-negative integer");
    return v;
  }
};

const std::set<std::string, std::less<>> kFlagOptions{"raw", "leave-running", "new-session-keys", "no-wait"};

Result<Options> parseOptions(int argc, char** argv) {
  Options o;
  if (argc < 2) return fail(ErrorCode::kInvalidArgument, "missing MODE");
  o.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      for (++i; i < argc; ++i) o.command.emplace_back(argv[i]);
      break;
    }
    if (a.substr(0, 2) != "--") return fail(ErrorCode::kInvalidArgument, "unexpected argument " + std::string(a));
    std::string name(a.substr(2));
    if (kFlagOptions.count(name)) {
      o.flags.insert(name);
      continue;
    }
    if (i + 1 >= argc) return fail(ErrorCode::kInvalidArgument, std::string(a) + " needs a value");
    o.values[name] = argv[++i];
  }
  return o;
}

// ---------------------------------------------------------------- statistics and output

struct Percentiles {
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, mean = 0, min = 0, max = 0;
};

// Nearest-rank percentiles of `samples` (sorted in place).
Percentiles percentiles(std::vector<double>& samples) {
  Percentiles p;
  if (samples.empty()) return p;
  std::sort(samples.begin(), samples.end());
  auto rank = [&](double q) {
    std::size_t i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples.size())));
    return samples[std::min(samples.size() - 1, i == 0 ? 0 : i - 1)];
  };
  p.p50 = rank(0.50);
  p.p90 = rank(0.90);
  p.p99 = rank(0.99);
  p.p999 = rank(0.999);
  double sum = 0;
  for (double s : samples) sum += s;
  p.mean = sum / static_cast<double>(samples.size());
  p.min = samples.front();
  p.max = samples.back();
  return p;
}

double round2(double v) { return std::round(v * 100.0) / 100.0; }

void putPercentiles(json::object& out, std::string_view prefix, std::string_view unit, std::vector<double>& samples) {
  Percentiles p = percentiles(samples);
  auto key = [&](std::string_view what) { return std::string(prefix) + std::string(what) + std::string(unit); };
  out[key("P50")] = round2(p.p50);
  out[key("P90")] = round2(p.p90);
  out[key("P99")] = round2(p.p99);
  out[key("P999")] = round2(p.p999);
  out[key("Mean")] = round2(p.mean);
  out[key("Min")] = round2(p.min);
  out[key("Max")] = round2(p.max);
}

void printResult(const json::object& o) {
  std::string text = toJson(o);
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

double microsSince(SteadyClock::time_point t0, SteadyClock::time_point t1) {
  return std::chrono::duration<double, std::micro>(t1 - t0).count();
}

// ---------------------------------------------------------------- /proc

std::optional<int64_t> vmRssKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoll(line.c_str() + 6, nullptr, 10);
  }
  return std::nullopt;
}

// The process `root` and all its descendants (from the ppid field of /proc/*/stat).
std::vector<pid_t> processTree(pid_t root) {
  std::multimap<pid_t, pid_t> children;
  if (DIR* dir = ::opendir("/proc")) {
    while (dirent* entry = ::readdir(dir)) {
      const pid_t pid = static_cast<pid_t>(std::strtol(entry->d_name, nullptr, 10));
      if (pid <= 0) continue;
      std::ifstream in(std::string("/proc/") + entry->d_name + "/stat");
      std::string stat;
      std::getline(in, stat);
      const std::size_t close = stat.rfind(')');  // comm may contain spaces and parentheses
      if (close == std::string::npos) continue;
      std::istringstream fields(stat.substr(close + 2));
      char state;
      pid_t ppid = 0;
      fields >> state >> ppid;
      children.emplace(ppid, pid);
    }
    ::closedir(dir);
  }
  std::vector<pid_t> tree{root};
  for (std::size_t i = 0; i < tree.size(); ++i) {
    auto [b, e] = children.equal_range(tree[i]);
    for (auto it = b; it != e; ++it) tree.push_back(it->second);
  }
  return tree;
}

/// Sums of /proc/PID/smaps_rollup (KiB).
struct SmapsRollup {
  int64_t pssKiB = 0;
  int64_t privateKiB = 0;  // Private_Clean + Private_Dirty
  int64_t anonKiB = 0;     // Anonymous
};

std::optional<SmapsRollup> smapsRollup(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  if (!in) return std::nullopt;
  SmapsRollup r;
  std::string line;
  auto value = [&](std::size_t prefix) { return std::strtoll(line.c_str() + prefix, nullptr, 10); };
  while (std::getline(in, line)) {
    if (line.rfind("Pss:", 0) == 0)
      r.pssKiB = value(4);
    else if (line.rfind("Private_Clean:", 0) == 0)
      r.privateKiB += value(14);
    else if (line.rfind("Private_Dirty:", 0) == 0)
      r.privateKiB += value(14);
    else if (line.rfind("Anonymous:", 0) == 0)
      r.anonKiB = value(10);
  }
  return r;
}

struct RssReading {
  int64_t mainKiB = 0;
  int64_t treeKiB = 0;
  int64_t processes = 0;
  SmapsRollup main, tree;
};

RssReading readRss(pid_t pid) {
  RssReading r;
  r.mainKiB = vmRssKiB(pid).value_or(0);
  if (auto s = smapsRollup(pid)) r.main = *s;
  for (pid_t p : processTree(pid)) {
    if (auto kib = vmRssKiB(p)) {
      r.treeKiB += *kib;
      ++r.processes;
      if (auto s = smapsRollup(p)) {
        r.tree.pssKiB += s->pssKiB;
        r.tree.privateKiB += s->privateKiB;
        r.tree.anonKiB += s->anonKiB;
      }
    }
  }
  return r;
}

void putRss(json::object& out, std::string_view prefix, const RssReading& r) {
  const std::string p(prefix);
  out[p + "MainKiB"] = r.mainKiB;
  out[p + "TreeKiB"] = r.treeKiB;
  out[p + "Processes"] = r.processes;
  // "rssIdle" -> "pssIdleTreeKiB", "privateIdleTreeKiB", "anonIdleTreeKiB"
  const std::string rest = p.rfind("rss", 0) == 0 ? p.substr(3) : "_" + p;
  out["pss" + rest + "MainKiB"] = r.main.pssKiB;
  out["pss" + rest + "TreeKiB"] = r.tree.pssKiB;
  out["private" + rest + "MainKiB"] = r.main.privateKiB;
  out["private" + rest + "TreeKiB"] = r.tree.privateKiB;
  out["anon" + rest + "MainKiB"] = r.main.anonKiB;
  out["anon" + rest + "TreeKiB"] = r.tree.anonKiB;
}

/// CPU time (user + system) used so far by `root` and its descendants, in seconds (/proc/PID/stat
/// fields 14 and 15, clock ticks). Processes that exited are not counted.
double cpuSeconds(pid_t root) {
  static const double ticksPerSecond = static_cast<double>(::sysconf(_SC_CLK_TCK));
  int64_t ticks = 0;
  for (pid_t p : processTree(root)) {
    std::ifstream in("/proc/" + std::to_string(p) + "/stat");
    std::string stat;
    std::getline(in, stat);
    const std::size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    int64_t utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {  // field 3 is the state
      if (i == 14) utime = std::strtoll(field.c_str(), nullptr, 10);
      if (i == 15) stime = std::strtoll(field.c_str(), nullptr, 10);
    }
    ticks += utime + stime;
  }
  return static_cast<double>(ticks) / ticksPerSecond;
}

/// Server CPU over an interval: cores used and CPU per unit of work.
void putCpu(json::object& out, double cpuSecondsUsed, double wallSeconds, int64_t count, std::string_view per,
            double perScale, std::string_view perUnit) {
  out["serverCpuSeconds"] = std::round(cpuSecondsUsed * 1000.0) / 1000.0;
  out["serverCores"] = wallSeconds > 0 ? std::round(cpuSecondsUsed / wallSeconds * 1000.0) / 1000.0 : 0.0;
  if (count > 0) {
    out["serverCpuPer" + std::string(per) + std::string(perUnit)] =
        std::round(cpuSecondsUsed / static_cast<double>(count) * perScale * 1000.0) / 1000.0;
  }
}

// ---------------------------------------------------------------- gateway protocol

struct Target {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string path = "/";
  std::string token;
  bool raw = false;
  milliseconds timeout{30000};
};

Result<uint16_t> readPortFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail(ErrorCode::kNotFound, "no port file " + path);
  long port = 0;
  if (!(in >> port) || port <= 0 || port > 65535) return fail(ErrorCode::kUnavailable, "port file not written yet");
  return static_cast<uint16_t>(port);
}

Result<Target> targetFrom(const Options& o) {
  Target t;
  t.host = o.get("host", "127.0.0.1");
  t.path = o.get("path", "/");
  t.token = o.get("token");
  t.raw = o.has("raw");
  auto timeout = o.getInt("timeout-ms", 30000);
  if (!timeout) return fail(timeout.error());
  t.timeout = milliseconds(*timeout);
  if (o.values.count("port-file")) {
    auto port = readPortFile(o.get("port-file"));
    if (!port) return fail(port.error());
    t.port = *port;
  } else {
    auto port = o.getInt("port", 0);
    if (!port) return fail(port.error());
    if (*port <= 0 || *port > 65535) return fail(ErrorCode::kInvalidArgument, "--port or --port-file is required");
    t.port = static_cast<uint16_t>(*port);
  }
  return t;
}

// The connect request as OpenClaw's CLI sends it on a loopback URL with a token
// (openclaw-wire/req.connect.json): no device identity.
std::string connectRequest(const std::string& token) {
  json::object client{{"id", "cli"}, {"version", "talon-bench"}, {"platform", "linux"}, {"mode", "cli"}};
  json::object params{{"minProtocol", 4},
                      {"maxProtocol", 4},
                      {"client", client},
                      {"caps", json::array{}},
                      {"auth", json::object{{"token", token}}},
                      {"role", "operator"},
                      {"scopes", json::array{"operator.admin", "operator.read", "operator.write"}}};
  return toJson(json::object{{"type", "req"}, {"id", kConnectId}, {"method", "connect"}, {"params", params}});
}

std::string healthRequest(std::string_view id) {
  std::string r;
  r.reserve(64);
  r += R"({"type":"req","id":")";
  r += id;
  r += R"(","method":"health"})";
  return r;
}

struct HandshakeTiming {
  SteadyClock::time_point challengeAt;
  SteadyClock::time_point connectSentAt;
  SteadyClock::time_point helloAt;
  std::size_t helloBytes = 0;
};

// connect.challenge → connect → hello-ok (openclaw-protocol.md §1, Handshake).
Result<HandshakeTiming> gatewayHandshake(WsConnection& c, const Target& t) {
  HandshakeTiming timing;
  for (;;) {
    auto message = c.receive(t.timeout);
    if (!message) return fail(message.error());
    auto f = scanFrame(*message);
    if (!f) return fail(f.error());
    if (f->type == "event" && f->event == "connect.challenge") break;
  }
  timing.challengeAt = SteadyClock::now();
  static const std::string request = connectRequest(t.token);
  timing.connectSentAt = SteadyClock::now();
  if (auto st = c.sendText(request); !st) return fail(st.error());
  for (;;) {
    auto message = c.receive(t.timeout);
    if (!message) return fail(message.error());
    auto f = scanFrame(*message);
    if (!f) return fail(f.error());
    if (f->type != "res" || f->id != kConnectId) continue;
    timing.helloAt = SteadyClock::now();
    if (f->ok != true) return fail(ErrorCode::kUnavailable, "connect refused: " + std::string(f->error));
    timing.helloBytes = message->size();
    return timing;
  }
}

Result<std::unique_ptr<WsConnection>> openSession(const Target& t) {
  auto c = WsConnection::open(t.host, t.port, t.path, t.timeout);
  if (!c) return fail(c.error());
  if (!t.raw) {
    if (auto h = gatewayHandshake(**c, t); !h) return fail(h.error());
  }
  return std::move(*c);
}

// One blocking RPC: sends `request` and waits for the answer with `id` (events in between are skipped).
// With raw, any message carrying `id` (the echo) answers it. Returns the answer's size in bytes; with
// `answerText`, the answer is kept there too.
Result<std::size_t> call(WsConnection& c, const Target& t, const std::string& request, std::string_view id,
                         std::string* answerText = nullptr) {
  if (auto st = c.sendText(request); !st) return fail(st.error());
  for (;;) {
    auto message = c.receive(t.timeout);
    if (!message) return fail(message.error());
    auto f = scanFrame(*message);
    if (!f) return fail(f.error());
    if (f->id != id) continue;
    if (t.raw || (f->type == "res" && f->ok == true)) {
      if (answerText) *answerText = *message;
      return message->size();
    }
    if (f->type != "res") continue;
    return fail(ErrorCode::kUpstream, "error answer: " + std::string(f->error));
  }
}

// ---------------------------------------------------------------- mode: startup

std::atomic<pid_t> gChildGroup{0};

void killChildAndExit(int sig) {
  if (pid_t g = gChildGroup.load(); g > 0) ::kill(-g, SIGKILL);
  ::_exit(128 + sig);
}

Result<uint16_t> pickFreePort() {
  // Bind port 0 and release it: the gateway gets a port nothing else listens on (OpenClaw has no
  // port file to report one it picked itself).
  auto probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(probe, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(probe, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(probe);
    return fail(ErrorCode::kIo, std::string("cannot pick a port: ") + std::strerror(errno));
  }
  ::close(probe);
  return ntohs(a.sin_port);
}

// Stops the process group `pgid` led by `pid`: SIGTERM, then SIGKILL after `grace`. Returns the ms it took.
double stopGroup(pid_t pid, milliseconds grace) {
  const auto t0 = SteadyClock::now();
  ::kill(-pid, SIGTERM);
  int status = 0;
  while (SteadyClock::now() - t0 < grace) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      ::kill(-pid, SIGKILL);  // helpers the leader left behind
      return microsSince(t0, SteadyClock::now()) / 1000.0;
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
  ::kill(-pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return microsSince(t0, SteadyClock::now()) / 1000.0;
}

int runStartup(const Options& o) {
  if (o.command.empty()) return std::fprintf(stderr, "startup: missing -- COMMAND\n"), 2;
  Target t;
  t.host = o.get("host", "127.0.0.1");
  t.path = o.get("path", "/");
  t.token = o.get("token");
  t.raw = o.has("raw");
  auto timeoutMs = o.getInt("timeout-ms", 180000);
  auto settleMs = o.getInt("settle-ms", 1000);
  auto pollUs = o.getInt("poll-us", 500);
  auto stopMs = o.getInt("stop-timeout-ms", 10000);
  if (!timeoutMs || !settleMs || !pollUs || !stopMs) return std::fprintf(stderr, "startup: bad number\n"), 2;
  t.timeout = milliseconds(std::min<int64_t>(*timeoutMs, 5000));
  const std::string portFile = o.get("port-file");
  std::optional<uint16_t> fixedPort;
  if (portFile.empty()) {
    if (o.get("port") == "auto") {
      auto p = pickFreePort();
      if (!p) return std::fprintf(stderr, "startup: %s\n", p.error().toString().c_str()), 1;
      fixedPort = *p;
    } else {
      auto p = o.getInt("port", 0);
      if (!p || *p <= 0 || *p > 65535) return std::fprintf(stderr, "startup: --port or --port-file needed\n"), 2;
      fixedPort = static_cast<uint16_t>(*p);
    }
  } else {
    ::unlink(portFile.c_str());
  }
  std::vector<std::string> command = o.command;
  if (fixedPort)
    for (auto& arg : command)
      for (std::size_t at; (at = arg.find("{port}")) != std::string::npos;)
        arg.replace(at, 6, std::to_string(*fixedPort));
  const bool leaveRunning = o.has("leave-running");
  const std::string logPath = o.get("log", "/dev/null");

  std::vector<char*> argv;
  for (auto& a : command) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::signal(SIGTERM, killChildAndExit);
  std::signal(SIGINT, killChildAndExit);
  std::signal(SIGHUP, killChildAndExit);

  // The client's own one-time set-up (OpenSSL reading its config and seeding its DRBG for the first
  // WebSocket key, the SHA-1 fetch for the accept check) happens here, not inside the timed start: it is
  // not the server's (under strace it showed as milliseconds between connect() and the upgrade request).
  if (webSocketAccept(newWebSocketKey()).empty()) return std::fprintf(stderr, "startup: OpenSSL failed\n"), 1;

  const auto t0 = SteadyClock::now();
  const pid_t pid = ::fork();
  if (pid < 0) return std::fprintf(stderr, "startup: fork: %s\n", std::strerror(errno)), 1;
  if (pid == 0) {
    ::setpgid(0, 0);
    if (!leaveRunning) ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int log = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log >= 0) {
      ::dup2(log, 1);
      ::dup2(log, 2);
    }
    const int devNull = ::open("/dev/null", O_RDONLY);
    if (devNull >= 0) ::dup2(devNull, 0);
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  gChildGroup = pid;
  if (std::string pidFile = o.get("pid-file"); !pidFile.empty()) {
    std::ofstream(pidFile) << pid << "\n";
  }

  const auto deadline = t0 + milliseconds(*timeoutMs);
  // Polls every --poll-us for the first second (Talon's whole start-up), then every 5 ms: a slow starter
  // (OpenClaw, ~11 s) is not slowed down by thousands of refused connects, and 5 ms is < 0.1 % of it.
  auto pollInterval = [&, t0] {
    const microseconds fine(*pollUs);
    return SteadyClock::now() - t0 < std::chrono::seconds(1) ? fine : std::max(fine, microseconds(5000));
  };
  int64_t refused = 0, rejected = 0;
  std::string lastError;
  std::optional<SteadyClock::time_point> healthyAt;
  uint16_t port = fixedPort.value_or(0);
  while (SteadyClock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      gChildGroup = 0;
      std::fprintf(stderr, "startup: the gateway %s %d before answering health; log: %s\n",
                   WIFSIGNALED(status) ? "was killed by signal" : "exited with status",
                   WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), logPath.c_str());
      return 1;
    }
    if (!fixedPort) {
      auto p = readPortFile(portFile);
      if (!p) {
        std::this_thread::sleep_for(pollInterval());
        continue;
      }
      port = *p;
    }
    t.port = port;
    auto c = WsConnection::open(t.host, t.port, t.path, t.timeout);
    if (!c) {
      ++refused;
      lastError = c.error().message;
      std::this_thread::sleep_for(pollInterval());
      continue;
    }
    Status ok;
    if (!t.raw) {
      if (auto h = gatewayHandshake(**c, t); !h) ok = fail(h.error());
    }
    if (ok) {
      auto answer = call(**c, t, healthRequest("1:startup"), "1:startup");
      if (!answer) ok = fail(answer.error());
    }
    if (!ok) {
      // Accepted but not ready (OpenClaw answers UNAVAILABLE "gateway starting" and closes with 1013).
      ++rejected;
      lastError = ok.error().message;
      (*c)->closeNow();
      std::this_thread::sleep_for(milliseconds(10));
      continue;
    }
    healthyAt = SteadyClock::now();
    (*c)->closeNow();
    break;
  }
  if (!healthyAt) {
    std::fprintf(stderr, "startup: no successful health within %lld ms (last error: %s)\n",
                 static_cast<long long>(*timeoutMs), lastError.c_str());
    stopGroup(pid, milliseconds(*stopMs));
    gChildGroup = 0;
    return 1;
  }
  json::object out{{"mode", "startup"},
                   {"pid", pid},
                   {"port", port},
                   {"startToHealthMs", round2(microsSince(t0, *healthyAt) / 1000.0)},
                   {"refusedAttempts", refused},
                   {"rejectedAttempts", rejected}};
  putRss(out, "rssAtHealth", readRss(pid));
  std::this_thread::sleep_for(milliseconds(*settleMs));
  putRss(out, "rssIdle", readRss(pid));
  out["settleMs"] = *settleMs;
  if (!leaveRunning) {
    out["stopMs"] = round2(stopGroup(pid, milliseconds(*stopMs)));
    gChildGroup = 0;
  }
  printResult(out);
  return 0;
}

// ---------------------------------------------------------------- mode: latency

int runLatency(const Options& o) {
  auto t = targetFrom(o);
  auto count = o.getInt("count", 20000);
  auto warmup = o.getInt("warmup", 1000);
  if (!t || !count || !warmup) return std::fprintf(stderr, "latency: bad options\n"), 2;
  auto c = openSession(*t);
  if (!c) return std::fprintf(stderr, "latency: %s\n", c.error().toString().c_str()), 1;
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(*count));
  std::size_t responseBytes = 0;
  std::string id;
  std::string answerText;
  const std::string answerOut = o.get("answer-out");
  for (int64_t i = 0; i < *warmup + *count; ++i) {
    id = "l" + std::to_string(i);
    const std::string request = healthRequest(id);
    const bool last = i + 1 == *warmup + *count;
    const auto s = SteadyClock::now();
    auto answer = call(**c, *t, request, id, last && !answerOut.empty() ? &answerText : nullptr);
    const auto e = SteadyClock::now();
    if (!answer) {
      std::fprintf(stderr, "latency: request %lld: %s\n", static_cast<long long>(i), answer.error().toString().c_str());
      return 1;
    }
    responseBytes = *answer;
    if (i >= *warmup) samples.push_back(microsSince(s, e));
  }
  (*c)->closeNow();
  if (!answerOut.empty()) {
    if (auto st = writeFileAtomic(answerOut, answerText + "\n"); !st) {
      return std::fprintf(stderr, "latency: --answer-out: %s\n", st.error().toString().c_str()), 1;
    }
  }
  json::object out{{"mode", "latency"}, {"raw", t->raw}, {"count", *count}, {"responseBytes", responseBytes}};
  putPercentiles(out, "rtt", "Us", samples);
  printResult(out);
  return 0;
}

// ---------------------------------------------------------------- mode: handshake

int runHandshake(const Options& o) {
  auto t = targetFrom(o);
  auto count = o.getInt("count", 1000);
  auto warmup = o.getInt("warmup", 50);
  if (!t || !count || !warmup) return std::fprintf(stderr, "handshake: bad options\n"), 2;
  if (t->raw) return std::fprintf(stderr, "handshake: --raw has no handshake to measure\n"), 2;
  std::vector<double> connectToHello, openToHello;
  std::size_t helloBytes = 0;
  for (int64_t i = 0; i < *warmup + *count; ++i) {
    const auto s = SteadyClock::now();
    auto c = WsConnection::open(t->host, t->port, t->path, t->timeout);
    if (!c) return std::fprintf(stderr, "handshake %lld: %s\n", (long long)i, c.error().toString().c_str()), 1;
    auto h = gatewayHandshake(**c, *t);
    if (!h) return std::fprintf(stderr, "handshake %lld: %s\n", (long long)i, h.error().toString().c_str()), 1;
    (*c)->closeNow();
    helloBytes = h->helloBytes;
    if (i < *warmup) continue;
    connectToHello.push_back(microsSince(h->connectSentAt, h->helloAt));
    openToHello.push_back(microsSince(s, h->helloAt));
  }
  json::object out{{"mode", "handshake"}, {"count", *count}, {"helloBytes", helloBytes}};
  putPercentiles(out, "connectToHello", "Us", connectToHello);
  putPercentiles(out, "tcpToHello", "Us", openToHello);
  printResult(out);
  return 0;
}

// ---------------------------------------------------------------- epoll loop

class Epoll {
 public:
  Epoll() : fd_(::epoll_create1(EPOLL_CLOEXEC)) {}
  ~Epoll() { ::close(fd_); }
  void add(int fd, uint64_t tag) {
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.u64 = tag;
    ::epoll_ctl(fd_, EPOLL_CTL_ADD, fd, &e);
  }
  void setWantWrite(int fd, uint64_t tag, bool want) {
    epoll_event e{};
    e.events = want ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
    e.data.u64 = tag;
    ::epoll_ctl(fd_, EPOLL_CTL_MOD, fd, &e);
  }
  void remove(int fd) { ::epoll_ctl(fd_, EPOLL_CTL_DEL, fd, nullptr); }
  int wait(epoll_event* events, int max, int timeoutMs) { return ::epoll_wait(fd_, events, max, timeoutMs); }

 private:
  int fd_;
};

Result<std::vector<std::unique_ptr<WsConnection>>> openSessions(const Target& t, int64_t n) {
  std::vector<std::unique_ptr<WsConnection>> conns;
  for (int64_t i = 0; i < n; ++i) {
    auto c = openSession(t);
    if (!c) return fail(c.error().code, "connection " + std::to_string(i) + ": " + c.error().message);
    if (auto st = (*c)->setNonBlocking(); !st) return fail(st.error());
    conns.push_back(std::move(*c));
  }
  return conns;
}

// ---------------------------------------------------------------- mode: throughput

int runThroughput(const Options& o) {
  auto t = targetFrom(o);
  auto conns = o.getInt("conns", 1);
  auto durationMs = o.getInt("duration-ms", 5000);
  auto warmupMs = o.getInt("warmup-ms", 1000);
  auto inflight = o.getInt("inflight", 1);
  auto cpuPid = o.getInt("cpu-pid", 0);
  if (!t || !conns || !durationMs || !warmupMs || !inflight || !cpuPid || *conns < 1 || *inflight < 1)
    return std::fprintf(stderr, "throughput: bad options\n"), 2;

  auto opened = openSessions(*t, *conns);
  if (!opened) return std::fprintf(stderr, "throughput: %s\n", opened.error().toString().c_str()), 1;
  auto& connections = *opened;

  struct PerConn {
    uint64_t nextSeq = 0;
    int64_t outstanding = 0;
    std::unordered_map<uint64_t, SteadyClock::time_point> sentAt;
    bool dead = false;
  };
  std::vector<PerConn> state(connections.size());
  Epoll ep;
  for (std::size_t i = 0; i < connections.size(); ++i) ep.add(connections[i]->fd(), i);

  int64_t completed = 0, errors = 0, closed = 0, events = 0, total = 0;
  std::string firstError;
  std::vector<double> latencies;
  latencies.reserve(1 << 20);
  const auto start = SteadyClock::now();
  const auto windowStart = start + milliseconds(*warmupMs);
  const auto windowEnd = windowStart + milliseconds(*durationMs);
  bool sending = true;
  std::string id;
  // Server CPU across the window, read when the window opens and when it closes.
  std::optional<double> cpuAtStart, cpuAtEnd;
  SteadyClock::time_point cpuStartTime, cpuEndTime;

  auto sendOne = [&](std::size_t i) -> bool {
    PerConn& s = state[i];
    const uint64_t seq = s.nextSeq++;
    id = "t" + std::to_string(i) + "-" + std::to_string(seq);
    s.sentAt.emplace(seq, SteadyClock::now());
    ++s.outstanding;
    if (auto st = connections[i]->sendText(healthRequest(id)); !st) {
      if (firstError.empty()) firstError = st.error().message;
      return false;
    }
    if (connections[i]->pendingOutput() > 0) ep.setWantWrite(connections[i]->fd(), i, true);
    return true;
  };
  auto drop = [&](std::size_t i, const std::string& why) {
    if (state[i].dead) return;
    state[i].dead = true;
    ++closed;
    if (firstError.empty()) firstError = why;
    ep.remove(connections[i]->fd());
  };

  for (std::size_t i = 0; i < connections.size(); ++i)
    for (int64_t k = 0; k < *inflight; ++k)
      if (!sendOne(i)) drop(i, firstError);

  std::vector<epoll_event> ready(connections.size() + 1);
  for (;;) {
    const auto now = SteadyClock::now();
    if (*cpuPid > 0 && !cpuAtStart && now >= windowStart) {
      cpuAtStart = cpuSeconds(static_cast<pid_t>(*cpuPid));
      cpuStartTime = now;
    }
    if (sending && now >= windowEnd) {
      sending = false;
      if (*cpuPid > 0) {
        cpuAtEnd = cpuSeconds(static_cast<pid_t>(*cpuPid));
        cpuEndTime = now;
      }
    }
    int64_t outstanding = 0;
    for (auto& s : state)
      if (!s.dead) outstanding += s.outstanding;
    if (!sending && outstanding == 0) break;
    if (!sending && now >= windowEnd + t->timeout) {
      firstError = firstError.empty() ? "answers missing at the end of the run" : firstError;
      errors += outstanding;
      break;
    }
    const int n = ep.wait(ready.data(), static_cast<int>(ready.size()), 5);
    for (int r = 0; r < n; ++r) {
      const std::size_t i = ready[r].data.u64;
      if (state[i].dead) continue;
      WsConnection& c = *connections[i];
      if (ready[r].events & EPOLLOUT) {
        if (auto st = c.flush(); !st) {
          drop(i, st.error().message);
          continue;
        }
        if (c.pendingOutput() == 0) ep.setWantWrite(c.fd(), i, false);
      }
      if (!(ready[r].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
      Status readStatus = c.readAvailable();
      for (;;) {
        auto message = c.nextMessage();
        if (!message) {
          drop(i, message.error().message);
          break;
        }
        if (!*message) break;
        auto f = scanFrame(**message);
        if (!f) {
          drop(i, f.error().message);
          break;
        }
        if (!t->raw && f->type != "res") {
          ++events;
          continue;
        }
        // id "t<conn>-<seq>"
        const std::size_t dash = f->id.find('-');
        uint64_t seq = 0;
        if (dash == std::string_view::npos ||
            std::from_chars(f->id.data() + dash + 1, f->id.data() + f->id.size(), seq).ec != std::errc()) {
          ++events;
          continue;
        }
        auto sent = state[i].sentAt.find(seq);
        if (sent == state[i].sentAt.end()) continue;
        const auto done = SteadyClock::now();
        const SteadyClock::time_point sentTime = sent->second;
        state[i].sentAt.erase(sent);
        --state[i].outstanding;
        ++total;
        const bool good = t->raw || f->ok == true;
        if (!good) {
          ++errors;
          if (firstError.empty()) firstError = "error answer: " + std::string(f->error);
        }
        if (done >= windowStart && done < windowEnd && good) {
          ++completed;
          latencies.push_back(microsSince(sentTime, done));
        }
        if (sending && !sendOne(i)) {
          drop(i, firstError);
          break;
        }
      }
      if (!readStatus && !state[i].dead) drop(i, readStatus.error().message);
    }
  }
  for (auto& c : connections) c->closeNow();

  const double seconds = static_cast<double>(*durationMs) / 1000.0;
  json::object out{{"mode", "throughput"},
                   {"raw", t->raw},
                   {"connections", *conns},
                   {"inflightPerConnection", *inflight},
                   {"durationMs", *durationMs},
                   {"warmupMs", *warmupMs},
                   {"completed", completed},
                   {"answersTotal", total},
                   {"rps", round2(static_cast<double>(completed) / seconds)},
                   {"errors", errors},
                   {"closedConnections", closed},
                   {"eventsSkipped", events}};
  putPercentiles(out, "latency", "Us", latencies);
  if (cpuAtStart && cpuAtEnd) {
    putCpu(out, *cpuAtEnd - *cpuAtStart, microsSince(cpuStartTime, cpuEndTime) / 1e6, completed, "Rpc", 1e6, "Us");
  }
  if (!firstError.empty()) out["firstError"] = firstError;
  printResult(out);
  return (errors == 0 && closed == 0) ? 0 : 1;
}

// ---------------------------------------------------------------- mode: chat

int runChat(const Options& o) {
  auto t = targetFrom(o);
  auto sessions = o.getInt("sessions", 1);
  auto turns = o.getInt("turns", 100);
  auto warmupTurns = o.getInt("warmup-turns", 1);
  auto turnTimeoutMs = o.getInt("turn-timeout-ms", 120000);
  auto rssPid = o.getInt("rss-pid", 0);
  auto rssSettleMs = o.getInt("rss-settle-ms", 2000);
  if (!t || !sessions || !turns || !warmupTurns || !turnTimeoutMs || !rssPid || !rssSettleMs || *sessions < 1)
    return std::fprintf(stderr, "chat: bad options\n"), 2;
  if (t->raw) return std::fprintf(stderr, "chat: --raw makes no sense here\n"), 2;
  const std::string prefix = o.get("session-prefix", "bench");
  const std::string agent = o.get("agent", "main");
  const std::string messageText = o.get("message", "Say ok.");
  const std::string runTag = randomHex(4);
  // Every turn in a session key of its own (the store and the lanes keep growing their key sets).
  const bool newSessionKeys = o.has("new-session-keys");

  std::optional<RssReading> rssBefore;
  if (*rssPid > 0) rssBefore = readRss(static_cast<pid_t>(*rssPid));

  auto opened = openSessions(*t, *sessions);
  if (!opened) return std::fprintf(stderr, "chat: %s\n", opened.error().toString().c_str()), 1;
  auto& connections = *opened;

  struct Session {
    std::string sessionKey;
    int64_t turn = 0;  // turns started
    bool inTurn = false;
    std::string requestId, idempotencyKey, ackRunId;
    bool acked = false, finished = false, turnFailed = false;
    std::map<std::string, SteadyClock::time_point, std::less<>> earlyFinals;  // terminal events before the ack
    SteadyClock::time_point sentAt, finalAt;
    bool dead = false;
  };
  std::vector<Session> state(connections.size());
  for (std::size_t i = 0; i < state.size(); ++i)
    state[i].sessionKey = "agent:" + agent + ":" + prefix + "-" + runTag + "-" + std::to_string(i);

  Epoll ep;
  for (std::size_t i = 0; i < connections.size(); ++i) ep.add(connections[i]->fd(), i);

  int64_t errors = 0, chatEvents = 0, otherEvents = 0;
  std::string firstError;
  std::vector<double> latenciesMs;

  auto startTurn = [&](std::size_t i) -> bool {
    Session& s = state[i];
    s.requestId = "c" + std::to_string(i) + "-" + std::to_string(s.turn);
    s.idempotencyKey = "bench-" + runTag + "-" + std::to_string(i) + "-" + std::to_string(s.turn);
    s.ackRunId.clear();
    s.acked = s.finished = s.turnFailed = false;
    s.earlyFinals.clear();
    s.inTurn = true;
    if (newSessionKeys) {
      s.sessionKey =
          "agent:" + agent + ":" + prefix + "-" + runTag + "-" + std::to_string(i) + "-t" + std::to_string(s.turn);
    }
    ++s.turn;
    json::object params{{"sessionKey", s.sessionKey}, {"message", messageText}, {"idempotencyKey", s.idempotencyKey}};
    const std::string request =
        toJson(json::object{{"type", "req"}, {"id", s.requestId}, {"method", "chat.send"}, {"params", params}});
    s.sentAt = SteadyClock::now();
    if (auto st = connections[i]->sendText(request); !st) {
      if (firstError.empty()) firstError = st.error().message;
      return false;
    }
    if (connections[i]->pendingOutput() > 0) ep.setWantWrite(connections[i]->fd(), i, true);
    return true;
  };
  auto abandon = [&](std::size_t i, const std::string& why) {
    if (state[i].dead) return;
    state[i].dead = true;
    ++errors;
    if (firstError.empty()) firstError = "session " + std::to_string(i) + ": " + why;
    ep.remove(connections[i]->fd());
  };

  // Runs every live session to `target` turns; records latencies when `measure`.
  auto runPhase = [&](int64_t target, bool measure) -> bool {
    for (std::size_t i = 0; i < state.size(); ++i)
      if (!state[i].dead && state[i].turn < target && !startTurn(i)) abandon(i, firstError);
    std::vector<epoll_event> ready(connections.size() + 1);
    for (;;) {
      bool busy = false;
      const auto now = SteadyClock::now();
      for (std::size_t i = 0; i < state.size(); ++i) {
        if (state[i].dead || !state[i].inTurn) continue;
        busy = true;
        if (now - state[i].sentAt > milliseconds(*turnTimeoutMs)) abandon(i, "turn timed out (no final chat event)");
      }
      if (!busy) return true;
      const int n = ep.wait(ready.data(), static_cast<int>(ready.size()), 20);
      for (int r = 0; r < n; ++r) {
        const std::size_t i = ready[r].data.u64;
        Session& s = state[i];
        if (s.dead) continue;
        WsConnection& c = *connections[i];
        if (ready[r].events & EPOLLOUT) {
          if (auto st = c.flush(); !st) {
            abandon(i, st.error().message);
            continue;
          }
          if (c.pendingOutput() == 0) ep.setWantWrite(c.fd(), i, false);
        }
        Status readStatus = c.readAvailable();
        for (;;) {
          auto message = c.nextMessage();
          if (!message) {
            abandon(i, message.error().message);
            break;
          }
          if (!*message) break;
          auto f = scanFrame(**message);
          if (!f) {
            abandon(i, f.error().message);
            break;
          }
          if (f->type == "res" && f->id == s.requestId && s.inTurn) {
            if (f->ok != true) {
              s.turnFailed = true;
              s.finished = true;
              if (firstError.empty()) firstError = "chat.send refused: " + std::string(f->error);
            } else {
              s.ackRunId = std::string(scanStringField(f->payload, "runId").value_or(""));
              if (auto early = s.earlyFinals.find(s.ackRunId); early != s.earlyFinals.end()) {
                s.finished = true;
                s.finalAt = early->second;
              }
            }
            s.acked = true;
          } else if (f->type == "event" && f->event == "chat") {
            ++chatEvents;
            const auto phase = scanStringField(f->payload, "state").value_or("");
            if (s.inTurn && (phase == "final" || phase == "error" || phase == "aborted")) {
              const std::string_view runId = scanStringField(f->payload, "runId").value_or("");
              const bool mine = runId == s.idempotencyKey || (s.acked && runId == s.ackRunId);
              if (mine) {
                s.finished = true;
                s.finalAt = SteadyClock::now();
                if (phase != "final") {
                  s.turnFailed = true;
                  if (firstError.empty())
                    firstError = "turn ended " + std::string(phase) + ": " + std::string(**message);
                }
              } else if (!s.acked) {
                s.earlyFinals.emplace(std::string(runId), SteadyClock::now());
              }
            }
          } else {
            ++otherEvents;
          }
          if (s.inTurn && s.acked && s.finished) {
            s.inTurn = false;
            if (s.turnFailed) {
              ++errors;
            } else if (measure) {
              latenciesMs.push_back(microsSince(s.sentAt, s.finalAt) / 1000.0);
            }
            if (s.turn < target && !startTurn(i)) {
              abandon(i, firstError);
              break;
            }
          }
        }
        if (!readStatus && !s.dead) abandon(i, readStatus.error().message);
      }
    }
  };

  runPhase(*warmupTurns, false);
  const int64_t warmupErrors = errors;
  const double cpuStart = *rssPid > 0 ? cpuSeconds(static_cast<pid_t>(*rssPid)) : 0.0;
  const auto measureStart = SteadyClock::now();
  runPhase(*warmupTurns + *turns, true);
  const auto measureEnd = SteadyClock::now();
  const double cpuEnd = *rssPid > 0 ? cpuSeconds(static_cast<pid_t>(*rssPid)) : 0.0;

  for (auto& c : connections) c->closeNow();
  const double seconds = microsSince(measureStart, measureEnd) / 1e6;
  const int64_t measured = static_cast<int64_t>(latenciesMs.size());
  json::object out{{"mode", "chat"},
                   {"sessions", *sessions},
                   {"turnsPerSession", *turns},
                   {"warmupTurnsPerSession", *warmupTurns},
                   {"turnsCompleted", measured},
                   {"errors", errors},
                   {"warmupErrors", warmupErrors},
                   {"elapsedMs", round2(seconds * 1000.0)},
                   {"turnsPerSec", round2(seconds > 0 ? static_cast<double>(measured) / seconds : 0)},
                   {"chatEvents", chatEvents},
                   {"otherFrames", otherEvents},
                   {"newSessionKeys", newSessionKeys}};
  if (*rssPid > 0) putCpu(out, cpuEnd - cpuStart, seconds, measured, "Turn", 1e3, "Ms");
  putPercentiles(out, "turn", "Ms", latenciesMs);
  if (rssBefore) {
    const pid_t pid = static_cast<pid_t>(*rssPid);
    putRss(out, "rssBefore", *rssBefore);
    putRss(out, "rssAfter", readRss(pid));
    std::this_thread::sleep_for(milliseconds(*rssSettleMs));
    putRss(out, "rssAfterSettle", readRss(pid));
    out["rssSettleMs"] = *rssSettleMs;
  }
  if (!firstError.empty()) out["firstError"] = firstError;
  printResult(out);
  return errors == 0 ? 0 : 1;
}

// ---------------------------------------------------------------- mode: hooks (HTTP POST /hooks/agent)

// A non-blocking HTTP/1.1 keep-alive connection carrying one request at a time (one peer).
struct HttpPeer {
  int fd = -1;
  std::string request;  // the peer's request, the same every time
  std::string out;      // bytes of `request` not yet written
  std::string in;       // bytes of the answer read so far
  SteadyClock::time_point sentAt;
  bool inFlight = false;
  bool dead = false;
  HttpPeer() = default;
  HttpPeer(const HttpPeer&) = delete;
  HttpPeer& operator=(const HttpPeer&) = delete;
  ~HttpPeer() {
    if (fd >= 0) ::close(fd);
  }
};

// A blocking connect to t.host:t.port within t.timeout, then non-blocking with TCP_NODELAY.
Result<int> connectHttp(const Target& t) {
  sockaddr_storage address{};
  socklen_t length = 0;
  int family = AF_INET;
  if (auto* v4 = reinterpret_cast<sockaddr_in*>(&address); ::inet_pton(AF_INET, t.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(t.port);
    length = sizeof(sockaddr_in);
  } else if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
             ::inet_pton(AF_INET6, t.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(t.port);
    length = sizeof(sockaddr_in6);
    family = AF_INET6;
  } else {
    return fail(ErrorCode::kInvalidArgument, "not a numeric address: " + t.host);
  }
  const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(ErrorCode::kIo, std::string("socket: ") + std::strerror(errno));
  timeval tv{static_cast<time_t>(t.timeout.count() / 1000),
             static_cast<suseconds_t>((t.timeout.count() % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), length) != 0) {
    const int err = errno;
    ::close(fd);
    return fail(ErrorCode::kUnavailable, std::string("connect: ") + std::strerror(err));
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

/// One complete HTTP/1.1 answer taken from the front of a buffer.
struct HttpAnswer {
  int status = 0;
  std::string body;
  std::size_t consumed = 0;  // bytes of the buffer it took
  bool close = false;        // "Connection: close"
};

std::string lowerAscii(std::string_view s) {
  std::string r(s);
  for (char& c : r)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return r;
}

// The answer at the front of `in` (Content-Length or chunked body), nullopt while incomplete. Errors:
// kUpstream for a malformed head or chunk.
Result<std::optional<HttpAnswer>> takeHttpAnswer(const std::string& in) {
  const std::size_t headEnd = in.find("\r\n\r\n");
  if (headEnd == std::string::npos) {
    if (in.size() > 65536) return fail(ErrorCode::kUpstream, "answer head over 64 KiB");
    return std::optional<HttpAnswer>{};
  }
  HttpAnswer a;
  const std::string head = lowerAscii(std::string_view(in).substr(0, headEnd + 2));
  if (head.rfind("http/1.", 0) != 0 || head.size() < 12)
    return fail(ErrorCode::kUpstream, "not an HTTP/1.x answer: " + head.substr(0, 40));
  a.status = std::atoi(head.c_str() + 9);
  a.close = head.find("\r\nconnection: close") != std::string::npos;
  std::size_t pos = headEnd + 4;
  if (head.find("\r\ntransfer-encoding: chunked") != std::string::npos) {
    for (;;) {
      const std::size_t lineEnd = in.find("\r\n", pos);
      if (lineEnd == std::string::npos) return std::optional<HttpAnswer>{};
      std::size_t size = 0;
      auto [p, ec] = std::from_chars(in.data() + pos, in.data() + lineEnd, size, 16);
      if (ec != std::errc()) return fail(ErrorCode::kUpstream, "bad chunk size");
      (void)p;
      if (size == 0) {  // last chunk; no trailers expected
        if (in.size() < lineEnd + 4) return std::optional<HttpAnswer>{};
        a.consumed = lineEnd + 4;
        return std::optional<HttpAnswer>{std::move(a)};
      }
      if (in.size() < lineEnd + 2 + size + 2) return std::optional<HttpAnswer>{};
      a.body.append(in, lineEnd + 2, size);
      pos = lineEnd + 2 + size + 2;
    }
  }
  std::size_t length = 0;
  if (const std::size_t cl = head.find("\r\ncontent-length:"); cl != std::string::npos) {
    std::size_t v = cl + 17;
    while (v < head.size() && head[v] == ' ') ++v;
    length = static_cast<std::size_t>(std::strtoull(head.c_str() + v, nullptr, 10));
  }
  if (in.size() < pos + length) return std::optional<HttpAnswer>{};
  a.body.assign(in, pos, length);
  a.consumed = pos + length;
  return std::optional<HttpAnswer>{std::move(a)};
}

// A good answer to POST /hooks/agent: 200 {"ok":true,...}; when the client waited, with
// completion.status "ok". Otherwise a short reason.
std::optional<std::string> badHookAnswer(const HttpAnswer& a, bool waited) {
  if (a.status != 200) return "HTTP " + std::to_string(a.status) + ": " + a.body.substr(0, 200);
  auto parsed = parseJson(a.body);
  if (!parsed || !parsed->is_object()) return "answer is not a JSON object: " + a.body.substr(0, 200);
  const json::object& o = parsed->as_object();
  if (getBool(o, "ok") != true) return "ok is not true: " + a.body.substr(0, 200);
  if (waited) {
    const json::object* completion = getObject(o, "completion");
    if (!completion) return "no completion in the answer: " + a.body.substr(0, 200);
    if (getString(*completion, "status") != std::optional<std::string_view>("ok"))
      return "completion status is not ok: " + a.body.substr(0, 200);
  }
  return std::nullopt;
}

int runHooks(const Options& o) {
  auto t = targetFrom(o);
  auto conns = o.getInt("conns", 100);
  auto durationMs = o.getInt("duration-ms", 10000);
  auto warmupMs = o.getInt("warmup-ms", 2000);
  auto cpuPid = o.getInt("cpu-pid", 0);
  if (!t || !conns || !durationMs || !warmupMs || !cpuPid || *conns < 1)
    return std::fprintf(stderr, "hooks: bad options%s\n", t ? "" : (": " + t.error().toString()).c_str()), 2;
  const std::string path = o.get("hook-path", "/hooks/agent");
  const std::string message = o.get("message", "Say ok.");
  const std::string keyPrefix = o.get("session-key-prefix", "hook:bench-peer-");
  const bool wait = !o.has("no-wait");

  std::vector<std::unique_ptr<HttpPeer>> peers;
  for (int64_t i = 0; i < *conns; ++i) {
    auto fd = connectHttp(*t);
    if (!fd)
      return std::fprintf(stderr, "hooks: connection %lld: %s\n", static_cast<long long>(i),
                          fd.error().toString().c_str()),
             1;
    auto p = std::make_unique<HttpPeer>();
    p->fd = *fd;
    // deliver: false: the gateways under test have no channel to announce the result on.
    json::object body{{"message", message}, {"name", "bench"}, {"deliver", false}};
    if (!keyPrefix.empty()) body["sessionKey"] = keyPrefix + std::to_string(i);
    if (wait) body["waitForCompletion"] = true;
    const std::string text = toJson(body);
    p->request = "POST " + path + " HTTP/1.1\r\nHost: " + t->host + ":" + std::to_string(t->port) +
                 "\r\nAuthorization: Bearer " + t->token +
                 "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(text.size()) + "\r\n\r\n" +
                 text;
    peers.push_back(std::move(p));
  }

  Epoll ep;
  for (std::size_t i = 0; i < peers.size(); ++i) ep.add(peers[i]->fd, i);
  int64_t completed = 0, errors = 0, closed = 0, total = 0;
  std::map<int, int64_t> statuses;
  std::string firstError;
  std::vector<double> latencies;
  latencies.reserve(1 << 18);
  const auto start = SteadyClock::now();
  const auto windowStart = start + milliseconds(*warmupMs);
  const auto windowEnd = windowStart + milliseconds(*durationMs);
  bool sending = true;
  std::optional<double> cpuAtStart, cpuAtEnd;
  SteadyClock::time_point cpuStartTime, cpuEndTime;

  auto drop = [&](std::size_t i, const std::string& why) {
    HttpPeer& p = *peers[i];
    if (p.dead) return;
    p.dead = true;
    ++closed;
    if (p.inFlight) ++errors;
    if (firstError.empty()) firstError = "peer " + std::to_string(i) + ": " + why;
    ep.remove(p.fd);
  };
  // Writes what the socket takes of p.out; asks for EPOLLOUT while some is left.
  auto flush = [&](std::size_t i) -> bool {
    HttpPeer& p = *peers[i];
    while (!p.out.empty()) {
      const ssize_t n = ::send(p.fd, p.out.data(), p.out.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        drop(i, std::string("send: ") + std::strerror(errno));
        return false;
      }
      p.out.erase(0, static_cast<std::size_t>(n));
    }
    ep.setWantWrite(p.fd, i, !p.out.empty());
    return true;
  };
  auto sendOne = [&](std::size_t i) {
    HttpPeer& p = *peers[i];
    p.out = p.request;
    p.inFlight = true;
    p.sentAt = SteadyClock::now();
    flush(i);
  };
  for (std::size_t i = 0; i < peers.size(); ++i) sendOne(i);

  std::vector<epoll_event> ready(peers.size() + 1);
  char buffer[16384];
  for (;;) {
    const auto now = SteadyClock::now();
    if (*cpuPid > 0 && !cpuAtStart && now >= windowStart) {
      cpuAtStart = cpuSeconds(static_cast<pid_t>(*cpuPid));
      cpuStartTime = now;
    }
    if (sending && now >= windowEnd) {
      sending = false;
      if (*cpuPid > 0) {
        cpuAtEnd = cpuSeconds(static_cast<pid_t>(*cpuPid));
        cpuEndTime = now;
      }
    }
    int64_t inFlight = 0;
    for (auto& p : peers)
      if (!p->dead && p->inFlight) ++inFlight;
    if (!sending && inFlight == 0) break;
    if (!sending && now >= windowEnd + t->timeout) {
      if (firstError.empty()) firstError = "answers missing at the end of the run";
      errors += inFlight;
      break;
    }
    const int n = ep.wait(ready.data(), static_cast<int>(ready.size()), 5);
    for (int r = 0; r < n; ++r) {
      const std::size_t i = ready[r].data.u64;
      HttpPeer& p = *peers[i];
      if (p.dead) continue;
      if ((ready[r].events & EPOLLOUT) && !flush(i)) continue;
      if (!(ready[r].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
      bool eof = false;
      for (;;) {
        const ssize_t got = ::recv(p.fd, buffer, sizeof buffer, 0);
        if (got > 0) {
          p.in.append(buffer, static_cast<std::size_t>(got));
          continue;
        }
        if (got == 0) eof = true;
        if (got < 0 && errno == EINTR) continue;
        if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) eof = true;
        break;
      }
      auto answer = takeHttpAnswer(p.in);
      if (!answer) {
        drop(i, answer.error().message);
        continue;
      }
      if (*answer) {
        const auto done = SteadyClock::now();
        HttpAnswer& a = **answer;
        p.in.erase(0, a.consumed);
        p.inFlight = false;
        ++total;
        ++statuses[a.status];
        const auto bad = badHookAnswer(a, wait);
        if (bad) {
          ++errors;
          if (firstError.empty()) firstError = "peer " + std::to_string(i) + ": " + *bad;
        } else if (done >= windowStart && done < windowEnd) {
          ++completed;
          latencies.push_back(std::chrono::duration<double, std::milli>(done - p.sentAt).count());
        }
        if (a.close) {
          drop(i, "the server closed the connection (Connection: close)");
          continue;
        }
        if (sending) sendOne(i);
      }
      if (eof && !p.dead) drop(i, "connection closed by the server");
    }
  }

  const double seconds = static_cast<double>(*durationMs) / 1000.0;
  json::object statusCounts;
  for (const auto& [status, count] : statuses) statusCounts[std::to_string(status)] = count;
  json::object out{{"mode", "hooks"},
                   {"path", path},
                   {"connections", *conns},
                   {"waitForCompletion", wait},
                   {"sessionKeys", keyPrefix.empty() ? "default" : keyPrefix + "<peer>"},
                   {"durationMs", *durationMs},
                   {"warmupMs", *warmupMs},
                   {"completed", completed},
                   {"answersTotal", total},
                   {"messagesPerSec", round2(static_cast<double>(completed) / seconds)},
                   {"errors", errors},
                   {"closedConnections", closed},
                   {"statusCounts", statusCounts}};
  putPercentiles(out, "latency", "Ms", latencies);
  if (cpuAtStart && cpuAtEnd) {
    putCpu(out, *cpuAtEnd - *cpuAtStart, microsSince(cpuStartTime, cpuEndTime) / 1e6, completed, "Message", 1e6, "Us");
  }
  if (!firstError.empty()) out["firstError"] = firstError;
  printResult(out);
  return (errors == 0 && closed == 0) ? 0 : 1;
}

// ---------------------------------------------------------------- mode: rss

int runRss(const Options& o) {
  auto pid = o.getInt("pid", 0);
  if (!pid || *pid <= 0) return std::fprintf(stderr, "rss: --pid needed\n"), 2;
  json::object out{{"mode", "rss"}, {"pid", *pid}};
  putRss(out, "rss", readRss(static_cast<pid_t>(*pid)));
  printResult(out);
  return 0;
}

}  // namespace
}  // namespace talon::bench

int main(int argc, char** argv) {
  using namespace talon::bench;
  std::signal(SIGPIPE, SIG_IGN);
  auto options = parseOptions(argc, argv);
  if (!options) {
    std::fprintf(stderr, "talon-bench-client: %s\n%.*s", options.error().message.c_str(),
                 static_cast<int>(kUsage.size()), kUsage.data());
    return 2;
  }
  const std::string& mode = options->mode;
  if (mode == "startup") return runStartup(*options);
  if (mode == "latency") return runLatency(*options);
  if (mode == "handshake") return runHandshake(*options);
  if (mode == "throughput") return runThroughput(*options);
  if (mode == "chat") return runChat(*options);
  if (mode == "rss") return runRss(*options);
  if (mode == "hooks") return runHooks(*options);
  if (mode == "--help" || mode == "-h" || mode == "help") {
    std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
    return 0;
  }
  std::fprintf(stderr, "talon-bench-client: unknown mode %s\n%.*s", mode.c_str(), static_cast<int>(kUsage.size()),
               kUsage.data());
  return 2;
}
