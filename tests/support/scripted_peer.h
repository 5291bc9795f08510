#pragma once
// A scripted HTTP/1.1 peer for provider tests: it answers each request with the next reply of its
// script, byte for byte as the test wrote it (status, headers, body pieces), so a test states a
// vendor's wire format exactly (Anthropic's SSE events, Ollama's NDJSON lines, ...). It can also
// misbehave as real peers do: hang after some bytes, cut the connection in the middle of a chunked
// body, or close a kept-alive connection without answering. Plain TCP on 127.0.0.1, port 0, a thread
// per connection (blocking I/O): small and independent of the code under test (net::Server).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "net/server.h"

namespace talon::testing {

/// One scripted answer.
struct PeerReply {
  enum class End {
    kComplete,            // the body ends normally
    kHang,                // after the pieces, silence until the client closes
    kCut,                 // after the pieces, the connection closes inside the chunked body
    kCloseWithoutAnswer,  // the request is read, then the connection closes without a byte
  };
  int status = 200;
  std::string contentType = "text/event-stream";
  net::Headers headers;  // extra headers, as given
  /// Body pieces: each one HTTP chunk (Transfer-Encoding: chunked) written on its own; when `chunked`
  /// is false they are joined and sent with Content-Length.
  std::vector<std::string> pieces;
  bool chunked = true;
  End end = End::kComplete;

  /// A whole JSON (or other) body with Content-Length.
  static PeerReply whole(int status, std::string body, std::string contentType = "application/json",
                         net::Headers headers = {});
};

/// A request the peer received.
struct PeerRequest {
  std::string method;
  std::string target;  // "/v1/messages?x=1"
  net::Headers headers;
  std::string body;
  uint64_t connection = 0;  // 1-based number of the TCP connection it came on
  /// First header named `name` (ASCII case-insensitive), or empty.
  std::string header(std::string_view name) const;
};

class ScriptedPeer {
 public:
  /// Listens on 127.0.0.1:0. Requests take the replies in order; when they run out, the last one is
  /// repeated (an empty script answers 500).
  explicit ScriptedPeer(std::vector<PeerReply> replies);
  /// Listens on 127.0.0.1:0 and answers each request with `responder(request)` (called on the
  /// request's connection thread, possibly on several at once: it must be thread-safe), for peers
  /// whose answer depends on the request (concurrent requests to several paths).
  /// (A template, so that `ScriptedPeer({})` still names the empty script.)
  template <typename Responder>
  requires std::is_invocable_r_v<PeerReply, Responder&, const PeerRequest&>
  explicit ScriptedPeer(Responder responder)
      : ScriptedPeer(std::function<PeerReply(const PeerRequest&)>(std::move(responder)), ResponderTag{}) {}
  /// Closes the listener and every connection, then joins the threads.
  ~ScriptedPeer();
  ScriptedPeer(const ScriptedPeer&) = delete;
  ScriptedPeer& operator=(const ScriptedPeer&) = delete;

  /// "http://127.0.0.1:PORT".
  std::string origin() const;
  /// Requests so far. Thread-safe.
  std::vector<PeerRequest> requests() const;
  /// TCP connections accepted so far. Thread-safe.
  uint64_t connections() const;

  struct Impl;

 private:
  struct ResponderTag {};
  ScriptedPeer(std::function<PeerReply(const PeerRequest&)> responder, ResponderTag);
  void listen();
  std::unique_ptr<Impl> impl_;
};

}  // namespace talon::testing
