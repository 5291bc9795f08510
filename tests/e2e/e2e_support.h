#pragma once
// Shared pieces of the end-to-end tests: temp dirs and files, a protocol v4 client over net::WsClient,
// a raw WebSocket client on a plain POSIX socket (for clients that misbehave: never read, send binary
// or malformed frames) and the resident memory of a child process.
//
// Thread rules: none of these are thread-safe; use each instance from one thread.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "net/ws_client.h"

namespace talon::test {

/// A new empty directory under the system temp dir (talon-e2e-<random>).
std::filesystem::path makeTempDir();
/// Writes `s` to `p`, creating parent directories.
void writeText(const std::filesystem::path& p, const std::string& s);
/// The whole file, or "" when it cannot be read.
std::string readText(const std::filesystem::path& p);
/// The text parts of a `chat` final event's message, concatenated.
std::string finalText(const json::object& chatFinal);
/// A TCP port that was free on 127.0.0.1 a moment ago (bound to port 0 and released), or 0 when none
/// could be bound. Another process may take it before the caller does.
int freeLoopbackPort();
/// freeLoopbackPort() more than `minGap` away from every port in `taken` (an OpenClaw gateway also uses
/// the 110 ports above its own, and fleet preflight refuses overlapping ranges: FLEET-PORT-CONFLICT);
/// 0 when 200 tries found none.
int freeLoopbackPortApart(const std::vector<int>& taken, int minGap = 256);
/// VmRSS of process `pid` in bytes (/proc/<pid>/status), or 0 when it cannot be read.
std::size_t residentBytes(int pid);
/// Polls `pred` (e.g. a log line appearing) until it holds or `timeout` passes; returns its last value.
bool pollUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

/// What a `talon` CLI run printed and how it exited.
struct CliResult {
  int status = -1;  // the exit code; -1 when it did not exit within the wait or was killed by a signal
  std::string out;  // stdout
  std::string err;  // stderr
};
/// Runs `talon args...` (the TALON_BINARY under test) to completion with `env` and no stdin, waiting up
/// to 60 s; its stdout and stderr are kept apart (files cli-<n>.out/.err under `dir`).
CliResult runTalon(const std::filesystem::path& dir, const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env);
/// The JSON object a CLI printed (from its first '{' to its last '}'), or an empty object.
json::object jsonObjectOf(const std::string& output);
/// The `openclaw` executable of tools/install-openclaw on this machine (`$OPENCLAW_REF_DIR/bin/openclaw`, else
/// `~/.cache/openclaw-ref/bin/openclaw`), or an empty path when OpenClaw is not installed.
std::filesystem::path installedOpenClaw();

/// A protocol v4 client over net::WsClient: handshake, requests, events.
class ProtocolClient {
 public:
  /// Connects to ws://127.0.0.1:port and completes the handshake with `token`; nullptr on any failure.
  static std::unique_ptr<ProtocolClient> connect(int port, const std::string& token,
                                                 std::vector<std::string> scopes = {"operator.admin", "operator.read",
                                                                                    "operator.write"});
  explicit ProtocolClient(std::unique_ptr<net::WsClient> ws) : ws_(std::move(ws)) {}

  /// The next frame as a JSON object; nullopt on timeout, close or a frame that is not an object.
  std::optional<json::object> nextFrame(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Sends a request; returns its first res frame (events meanwhile are queued).
  std::optional<json::object> request(const std::string& method, const json::value& params);
  /// Waits for the res frame with `id`; events meanwhile are queued.
  std::optional<json::object> response(const std::string& id,
                                       std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// The next `chat` event payload of `runId` (queued or new).
  std::optional<json::object> chatEvent(const std::string& runId,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(15));
  /// Waits for the terminal chat event (final/error/aborted) of `runId`; collects the deltas' texts.
  std::optional<json::object> waitTerminal(const std::string& runId, std::vector<std::string>* deltas = nullptr,
                                           std::chrono::milliseconds timeout = std::chrono::seconds(15));

  net::WsClient& ws() { return *ws_; }
  const json::object& hello() const { return hello_; }
  /// Bytes of all messages received so far (frames' payloads, before parsing).
  std::size_t bytesReceived() const { return bytesReceived_; }

 private:
  std::unique_ptr<net::WsClient> ws_;
  json::object hello_;
  std::vector<json::object> events_;
  std::size_t bytesReceived_ = 0;
  int next_ = 1;
};

/// A WebSocket client written directly on a TCP socket: it sends whatever frames a test asks for
/// (text, binary, garbage, floods without reading) and reads only when told to. Frames it sends are
/// masked as RFC 6455 requires of a client; it reads unfragmented server frames.
class RawWsClient {
 public:
  struct Frame {
    uint8_t opcode = 0;  // 1 text, 2 binary, 8 close, 9 ping, 10 pong
    std::string payload;
  };

  /// Connects to 127.0.0.1:port and upgrades GET / to a WebSocket. `receiveBufferBytes` > 0 sets
  /// SO_RCVBUF before connecting (a small window makes a non-reading client's backlog build up in the
  /// server rather than in the kernel). nullptr on failure.
  static std::unique_ptr<RawWsClient> connect(int port, int receiveBufferBytes = 0);
  ~RawWsClient();
  RawWsClient(const RawWsClient&) = delete;
  RawWsClient& operator=(const RawWsClient&) = delete;

  /// One masked frame with FIN set; false when the socket did not take it within `timeout` or failed.
  bool sendFrame(uint8_t opcode, std::string_view payload,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// The bytes of one masked text frame (to build floods).
  static std::string encodeFrame(uint8_t opcode, std::string_view payload);
  /// Writes `bytes` without blocking; stops once the socket took nothing for `stallTimeout` (the peer
  /// is not reading). Calls `onWait` (may be empty) before each wait. Returns the number of bytes written.
  std::size_t sendUntilStalled(const std::string& bytes, std::chrono::milliseconds stallTimeout,
                               const std::function<void()>& onWait = {});
  /// The next frame (ping frames are answered and skipped); nullopt on timeout or end of stream.
  std::optional<Frame> readFrame(std::chrono::milliseconds timeout);
  /// The next text or binary message whose JSON has "type":"res"; events are skipped. nullopt when a
  /// close frame or the end of the stream came first (see closeCode()) or on timeout.
  std::optional<json::object> readResponse(std::chrono::milliseconds timeout);
  /// Reads and discards everything up to the server's close frame; its code (1006 when the stream
  /// ended without one), or nullopt on timeout. `bytesRead` (optional) gets the bytes discarded.
  std::optional<uint16_t> readUntilClose(std::chrono::milliseconds timeout, std::size_t* bytesRead = nullptr);
  /// Reads the challenge and completes the protocol v4 handshake as an operator with `token`.
  bool handshake(const std::string& token);

  /// Close code and reason, once a close frame arrived (or 1006 after the stream ended).
  std::optional<uint16_t> closeCode() const { return closeCode_; }
  const std::string& closeReason() const { return closeReason_; }

 private:
  explicit RawWsClient(int fd) : fd_(fd) {}
  bool readMore(std::chrono::steady_clock::time_point deadline);
  bool writeAll(std::string_view bytes, std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string in_;  // received, not yet parsed
  std::optional<uint16_t> closeCode_;
  std::string closeReason_;
  bool eof_ = false;
};

}  // namespace talon::test
