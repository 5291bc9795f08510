#pragma once
// A scripted OpenAI-compatible model server for tests and benchmarks (in-process, or as the
// `talon-mock-model` executable). Serves POST /v1/chat/completions (streamed and whole, in the OpenAI
// wire format: https://platform.openai.com/docs/api-reference/chat) and GET /v1/models; each request is
// answered by the first script rule that matches it. The script format is documented in
// tests/support/README.md.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "net/server.h"

namespace talon::mock {

/// When a rule applies; every set field must hold.
struct MockMatch {
  std::optional<std::string> lastRole;            // role of the last message
  std::optional<std::string> lastUserContains;    // substring of the last "user" message's text
  std::optional<std::string> lastToolContains;    // substring of the last "tool" message's text
  std::optional<std::string> systemContains;      // substring of the first "system"/"developer" message
  std::optional<std::string> anyMessageContains;  // substring of any message's text
  std::optional<std::string> model;               // equals the request's model
  std::optional<bool> hasTools;                   // the request offers tools
  std::optional<bool> stream;                     // the request asks for a stream
};

struct MockToolCall {
  std::string id;  // empty: "call_mock_<request>_<index>"
  std::string name;
  std::string arguments;  // JSON text
};

/// One script rule: a match, an optional fault, and the reply.
struct MockRule {
  MockMatch match;
  std::optional<int64_t> times;  // applies to this many matching requests, then is skipped
  int64_t delayMs = 0;           // before the response head
  /// 0: the whole answer in one response with Content-Length. > 0: a chunked response, one HTTP
  /// chunk per event (per `chunks` piece for `raw`), this many ms apart.
  int64_t chunkDelayMs = 0;
  // Faults.
  int status = 200;  // non-2xx: an OpenAI error body {"error":{message,type,param,code}}
  std::string errorMessage, errorType, errorCode;
  std::optional<std::string> retryAfter;   // Retry-After header value (seconds or an HTTP-date)
  std::optional<int64_t> retryAfterMs;     // retry-after-ms header
  bool malformed = false;                  // role chunk, then a chunk that is not JSON, then [DONE]
  bool hang = false;                       // stream head, then silence until the client leaves
  bool noDone = false;                     // the stream ends without data: [DONE]
  std::optional<std::string> streamError;  // data: {"error":{...}} after the text, then the stream ends
  // Reply.
  std::string text;
  int chunks = 1;  // text deltas (split on UTF-8 boundaries)
  std::vector<MockToolCall> toolCalls;
  int argumentChunks = 1;  // argument deltas per tool call
  std::optional<std::string> finishReason;
  std::optional<int64_t> promptTokens, completionTokens;
  bool nonStream = false;          // answer a whole chat.completion even when a stream was asked for
  std::optional<std::string> raw;  // this body verbatim (split into `chunks` writes), status 200
  std::string rawContentType = "text/event-stream";
};

struct MockScript {
  std::vector<MockRule> rules;
  std::vector<std::string> models{"mock-model"};  // GET /v1/models
  std::string apiKey;  // when set, requests must carry "Authorization: Bearer <apiKey>" (else 401)
};

/// Parses a script: an array of rules, or {"rules": [...], "models": [...], "apiKey": "..."}; null
/// gives the default script [{"reply":{"text":"ok"}}]. Errors: kInvalidArgument naming the rule and the
/// key (unknown keys are errors).
Result<MockScript> parseMockScript(const json::value& script);

struct MockModelOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: a free port
  MockScript script;
  /// Appends one JSON line per request: {"seq","method","path","headers":{lower-case name: value},
  /// "body": <the parsed JSON body, or the text when it is not JSON>}. Flushed per line.
  std::optional<std::filesystem::path> logPath;
  /// Keeps every request in memory for requests() (in-process tests).
  bool recordRequests = false;
};

/// A request the server received.
struct MockRequest {
  std::string method;
  std::string path;
  net::Headers headers;
  std::string body;
};

/// The server, running on the caller's io_context (on any number of threads).
class MockModelServer {
 public:
  /// Binds and starts serving. Errors: as net::Server::create; kIo when the log cannot be opened.
  static Result<std::unique_ptr<MockModelServer>> create(boost::asio::io_context& io, MockModelOptions options);
  ~MockModelServer();

  uint16_t port() const;
  /// "http://127.0.0.1:PORT/v1": the baseUrl of a provider pointed at this server.
  std::string baseUrl() const;
  /// Chat-completion and model-list requests received so far. Thread-safe.
  uint64_t requestCount() const;
  /// Recorded requests (empty unless MockModelOptions::recordRequests). Thread-safe.
  std::vector<MockRequest> requests() const;
  /// Stops listening, ends hanging streams, closes connections. Idempotent.
  void stop();

  struct State;

 private:
  MockModelServer(std::shared_ptr<State> state, net::ServerPtr server);
  std::shared_ptr<State> state_;
  net::ServerPtr server_;
};

}  // namespace talon::mock
