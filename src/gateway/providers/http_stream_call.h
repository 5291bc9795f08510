#pragma once
// What every HTTP model provider shares: the common `models.providers.<id>` settings (headers, token
// limits, idle timeout, key state) and one streamed POST whose body a per-API StreamDecoder turns into
// a ModelResponse. The provider APIs (anthropic_provider.h, ollama_provider.h, ...) add only their
// wire format: the request body and the decoder.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/error.h"
#include "base/json.h"
#include "config/config_model.h"
#include "gateway/providers/model_provider.h"
#include "gateway/providers/sse_parser.h"
#include "net/http_client.h"

namespace talon::gateway {

/// Receives answer text as it streams.
using TextSink = std::function<void(std::string_view delta)>;

/// Decodes one API's 2xx answer body as it arrives. One instance per call, used from one thread at a
/// time (the HTTP client's callback sequence).
class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  /// Body bytes, split anywhere. Text deltas go to `onText`. Returns the complete answer when the
  /// stream says it is complete (the rest of the body is then ignored), nullopt to read on. Errors:
  /// kUpstream for a malformed stream; an error the vendor reports inside the stream as the decoder
  /// maps it (kUnavailable for overload, kResourceExhausted for rate limits, else kUpstream). Messages
  /// are internal and need not name the provider (the call prefixes it).
  virtual Result<std::optional<ModelResponse>> feed(std::string_view bytes, const TextSink& onText) = 0;
  /// The body ended cleanly before feed() returned an answer: the answer when the API ends streams
  /// that way (Gemini, Ollama's last line without LF), else kUpstream "cut short".
  virtual Result<ModelResponse> end() = 0;
};
using StreamDecoderPtr = std::unique_ptr<StreamDecoder>;

/// A StreamDecoder for `text/event-stream` bodies (sse_parser.h) whose events carry JSON data.
class SseJsonDecoder : public StreamDecoder {
 public:
  SseJsonDecoder();
  Result<std::optional<ModelResponse>> feed(std::string_view bytes, const TextSink& onText) final;
  Result<ModelResponse> end() override;

 protected:
  /// One event (`type` is the SSE event name, "message" when absent) with its data parsed as JSON.
  /// Returns the complete answer, or nullopt to read on. Events whose data is not JSON fail the call
  /// with kUpstream before reaching this.
  virtual Result<std::optional<ModelResponse>> onEvent(std::string_view type, const json::value& data,
                                                       const TextSink& onText) = 0;

 private:
  SseParser parser_;
  const TextSink* sink_ = nullptr;
  std::optional<Error> error_;
  std::optional<ModelResponse> done_;
};

/// The settings of `models.providers.<id>` every HTTP provider uses; immutable once built.
struct HttpProviderSettings {
  std::string id;
  /// baseUrl without trailing slashes ("https://api.anthropic.com").
  std::string baseUrl;
  /// Sent with every request: the API's defaults (unless `headers` overrides one by name, ASCII
  /// case-insensitively), then `headers` from the config.
  net::Headers headers;
  std::optional<int64_t> providerMaxTokens;
  std::map<std::string, int64_t, std::less<>> modelMaxTokens;
  /// Longest silence on the stream: `timeoutSeconds`, default 60 s.
  std::chrono::milliseconds idleTimeout{60'000};
  /// The resolved key (only to scrub it from error messages); empty when none.
  std::string apiKey;
  /// Why the configured key could not be resolved (non-empty: every call fails kUnauthenticated).
  std::string apiKeyUnavailable;
  ClockPtr clock;

  /// The output-token limit for `request`: ModelRequest::maxTokens, else the model's `maxTokens`,
  /// else the provider's; nullopt when none is set.
  std::optional<int64_t> maxTokensFor(const ModelRequest& request) const;
};

/// Builds HttpProviderSettings from `config`. `defaultBaseUrl` is used when `baseUrl` is empty (an
/// empty default makes baseUrl required). `defaultHeaders` are the API's own headers (content type,
/// auth, version), each left out when `config.headers` sets the same name. Errors: kInvalidArgument
/// when `config.api` is not `api`, the baseUrl is not an http(s) URL with a host, or `client` is null.
Result<std::shared_ptr<HttpProviderSettings>> makeHttpProviderSettings(
    const config::ProviderConfig& config, std::string_view api, std::string_view defaultBaseUrl,
    const net::Headers& defaultHeaders, const net::HttpClientPtr& client, ClockPtr clock);

/// One streamed POST.
struct StreamingCallSpec {
  std::shared_ptr<const HttpProviderSettings> settings;
  std::string url;
  std::string body;
  StreamDecoderPtr decoder;
  /// ModelRequest::timeout: the whole call (0: none); also caps the idle and connect timeouts.
  std::chrono::milliseconds budget{0};
  /// ModelRequest::traceparent: sent as the `traceparent` header when not empty.
  std::string traceparent;
};

/// Starts the call; the handlers get what ModelProvider::stream() promises. A complete answer is
/// delivered when the HTTP exchange ends (at once for a server that ends the body after its final
/// event, as every vendor does; at the idle timeout at worst), so the connection is kept for reuse;
/// a transport failure after the final event does not fail the call. Before any I/O it fails
/// with kInvalidArgument when `model` is empty and kUnauthenticated when the key is unavailable.
///
/// The request is sent with net::ClientRequest::resendOnStaleConnection (a kept-alive connection the
/// provider closed before any response byte is retried once on a new connection). A non-2xx answer
/// becomes chatHttpError() (401/403 kUnauthenticated, 429 kResourceExhausted with retry-after, 5xx and
/// 529 kUnavailable, ...); a connection failure kUnavailable; a stall past the idle timeout or the
/// budget kDeadlineExceeded; a malformed or cut stream kUpstream; cancel() kCancelled. Every internal
/// message starts with "provider <id>: " and has the API key replaced by "***"; external messages never
/// carry vendor text.
ModelCallPtr startStreamingCall(net::HttpClient& client, std::string_view model, StreamingCallSpec spec,
                                ModelStreamHandlers handlers);

/// `text` with every occurrence of `secret` replaced by "***" (nothing when `secret` is empty).
std::string scrubSecret(std::string text, std::string_view secret);

/// The tool name of the assistant tool call `toolCallId` in `messages` before index `before`; empty
/// when none (APIs that identify tool results by name: Ollama, Gemini).
std::string toolNameForCall(const std::vector<ChatMessage>& messages, std::size_t before, std::string_view toolCallId);

/// Parses tool-call arguments text to a JSON object; `{}` when empty or not a JSON object.
json::object argumentsObject(std::string_view argumentsJson);

}  // namespace talon::gateway
