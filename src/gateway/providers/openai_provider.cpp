#include "gateway/providers/openai_provider.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>
#include <mutex>
#include <utility>

#include "base/ascii.h"
#include "base/text.h"
#include "config/config_redaction.h"
#include "gateway/providers/openai_chat_wire.h"
#include "gateway/providers/sse_parser.h"

namespace talon::gateway {

namespace {

constexpr std::size_t kMaxBodyBytes = 16u << 20;
constexpr std::chrono::milliseconds kDefaultIdleTimeout{60'000};
constexpr std::chrono::milliseconds kOpenAiConnectTimeout{10'000};

/// The host of an http(s) URL, lower-cased; empty when there is none.
std::string urlHost(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    return close == std::string_view::npos ? std::string() : std::string(rest.substr(0, close + 1));
  }
  rest = rest.substr(0, rest.find(':'));
  std::string host(rest);
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
  return host;
}

/// What a provider needs per call; shared, immutable.
struct ProviderSettings {
  std::string id;
  std::string url;
  net::Headers headers;
  std::string maxTokensField;
  std::optional<int64_t> providerMaxTokens;
  std::map<std::string, int64_t, std::less<>> modelMaxTokens;
  std::chrono::milliseconds idleTimeout{kDefaultIdleTimeout};
  std::string apiKeyUnavailable;
  ClockPtr clock;
};

enum class BodyMode { kNone, kEventStream, kJson, kError };

/// The state of one call. The HTTP handlers own it; it refers to the ClientCall only weakly (the
/// CallHandle given to the caller owns that), so no ownership cycle outlives the exchange even when the
/// io_context is torn down first. Everything except cancel() runs on the client's callback sequence
/// (one at a time), or in stream() before any I/O.
class OpenAiCall final : public std::enable_shared_from_this<OpenAiCall> {
 public:
  OpenAiCall(std::shared_ptr<const ProviderSettings> settings, ModelStreamHandlers handlers)
      : settings_(std::move(settings)),
        handlers_(std::move(handlers)),
        parser_([this](const SseEvent& e) { return onEvent(e); }) {}

  /// Starts the exchange; returns the client's handle for it.
  net::ClientCallPtr start(net::HttpClient& client, net::ClientRequest request) {
    auto self = shared_from_this();
    net::ClientHandlers h;
    h.onHeaders = [self](int status, const net::Headers& headers) { self->onHeaders(status, headers); };
    h.onBody = [self](std::string_view data) { self->onBody(data); };
    h.onComplete = [self](Status st) { self->onHttpComplete(std::move(st)); };
    net::ClientCallPtr call = client.start(std::move(request), std::move(h));
    bool cancelNow = false;
    {
      std::lock_guard lock(mu_);
      if (!httpFinished_) http_ = call;
      cancelNow = cancelRequested_;
    }
    if (cancelNow && call) call->cancel();
    return call;
  }

  void cancel() {
    net::ClientCallPtr http;
    {
      std::lock_guard lock(mu_);
      if (done_) return;
      cancelRequested_ = true;
      http = http_.lock();
    }
    if (http) http->cancel();
  }

  /// Completes without I/O (a request rejected up front).
  void finishNow(Error error) { finish(fail(std::move(error)), false); }

 private:
  void onHeaders(int status, const net::Headers& headers) {
    status_ = status;
    if (status < 200 || status > 299) {
      mode_ = BodyMode::kError;
      errorHeaders_ = headers;
      return;
    }
    std::string_view contentType = findHeader(headers, "content-type").value_or("");
    bool json = contentType.find("json") != std::string_view::npos &&
                contentType.find("event-stream") == std::string_view::npos;
    mode_ = json ? BodyMode::kJson : BodyMode::kEventStream;
  }

  void onBody(std::string_view data) {
    if (done_) return;
    if (mode_ == BodyMode::kEventStream) {
      if (auto st = parser_.feed(data); !st) {
        Error e = std::move(st).error();
        e.message = fmt::format("provider {}: {}", settings_->id, e.message);
        e.externalMessage = "the model provider sent a malformed answer";
        finish(fail(std::move(e)), true);
      }
      return;
    }
    if (body_.size() + data.size() > kMaxBodyBytes) {
      finish(fail(ErrorCode::kUpstream,
                  fmt::format("provider {}: response body exceeds {} bytes", settings_->id, kMaxBodyBytes),
                  "the model provider sent a malformed answer"),
             true);
      return;
    }
    body_.append(data);
  }

  bool onEvent(const SseEvent& event) {
    if (done_) return false;
    if (event.type != "message" && event.type != "error") return true;
    if (event.data == "[DONE]") {
      finish(accumulator_.response(), false);
      return false;
    }
    // A chunk is read and dropped here (the accumulator copies out strings): its JSON lives in this
    // buffer (the heap only past it), not in a dozen heap blocks per chunk.
    unsigned char chunkMemory[4096];
    json::monotonic_resource chunkResource(chunkMemory, sizeof chunkMemory);
    auto chunk = parseJson(event.data, &chunkResource);
    if (!chunk) {
      finish(fail(ErrorCode::kUpstream,
                  fmt::format("provider {}: stream chunk is not JSON ({}): {}", settings_->id, chunk.error().message,
                              printablePrefix(event.data, 200)),
                  "the model provider sent a malformed answer"),
             true);
      return false;
    }
    bool hasError = event.type == "error";
    if (chunk->is_object()) {
      auto it = chunk->get_object().find("error");
      hasError = hasError || (it != chunk->get_object().end() && !it->value().is_null());
    }
    if (hasError) {
      std::string message = errorMessageOf(*chunk).value_or(printablePrefix(event.data, 200));
      finish(fail(ErrorCode::kUpstream, fmt::format("provider {}: error in stream: {}", settings_->id, message),
                  "the model provider reported an error"),
             true);
      return false;
    }
    auto added = accumulator_.applyChunk(*chunk);
    if (!added) {
      Error e = std::move(added).error();
      e.message = fmt::format("provider {}: {}", settings_->id, e.message);
      finish(fail(std::move(e)), true);
      return false;
    }
    if (!added->empty() && handlers_.onTextDelta && !cancelRequested()) handlers_.onTextDelta(*added);
    return true;
  }

  void onHttpComplete(Status st) {
    {
      std::lock_guard lock(mu_);
      httpFinished_ = true;
      http_.reset();
    }
    if (done_) return;
    if (cancelRequested()) {
      finish(fail(ErrorCode::kCancelled, fmt::format("provider {}: call cancelled", settings_->id)), false);
      return;
    }
    if (mode_ == BodyMode::kError) {
      finish(fail(chatHttpError(settings_->id, status_, errorHeaders_, body_, settings_->clock->nowMs())), false);
      return;
    }
    if (!st) {
      Error e = std::move(st).error();
      e.message = fmt::format("provider {}: {}", settings_->id, e.message);
      if (e.code == ErrorCode::kDeadlineExceeded) {
        e.externalMessage = "the model provider did not answer in time";
      } else if (e.code == ErrorCode::kUnavailable) {
        e.externalMessage = "the model provider is unreachable";
      } else if (e.code == ErrorCode::kUpstream) {
        e.externalMessage = "the model provider sent a malformed answer";
      }
      finish(fail(std::move(e)), false);
      return;
    }
    switch (mode_) {
      case BodyMode::kEventStream:
        finish(fail(ErrorCode::kUpstream,
                    fmt::format("provider {}: event stream ended without [DONE]{}", settings_->id,
                                parser_.hasPendingInput() ? " (in the middle of an event)" : ""),
                    "the model provider's answer was cut short"),
               false);
        return;
      case BodyMode::kJson:
        finishFromJsonBody();
        return;
      default:
        finish(fail(ErrorCode::kUpstream, fmt::format("provider {}: no response", settings_->id),
                    "the model provider sent no answer"),
               false);
        return;
    }
  }

  void finishFromJsonBody() {
    auto body = parseJson(body_);
    if (!body) {
      finish(fail(ErrorCode::kUpstream,
                  fmt::format("provider {}: response body is not JSON ({}): {}", settings_->id, body.error().message,
                              printablePrefix(body_, 200)),
                  "the model provider sent a malformed answer"),
             false);
      return;
    }
    if (body->is_object() && body->get_object().contains("error") && !body->get_object().contains("choices")) {
      finish(fail(ErrorCode::kUpstream,
                  fmt::format("provider {}: error in response: {}", settings_->id,
                              errorMessageOf(*body).value_or(printablePrefix(body_, 200))),
                  "the model provider reported an error"),
             false);
      return;
    }
    auto response = decodeChatCompletion(*body);
    if (!response) {
      Error e = std::move(response).error();
      e.message = fmt::format("provider {}: {}", settings_->id, e.message);
      finish(fail(std::move(e)), false);
      return;
    }
    if (!response->text.empty() && handlers_.onTextDelta) handlers_.onTextDelta(response->text);
    finish(std::move(response), false);
  }

  bool cancelRequested() {
    std::lock_guard lock(mu_);
    return cancelRequested_;
  }

  /// Delivers the outcome exactly once; `abortHttp` also cancels the HTTP exchange (the rest of the
  /// body is of no use). The HTTP call's own completion is then ignored.
  void finish(Result<ModelResponse> result, bool abortHttp) {
    net::ClientCallPtr http;
    {
      std::lock_guard lock(mu_);
      if (done_) return;
      done_ = true;
      if (abortHttp) http = http_.lock();
    }
    if (http) http->cancel();
    auto onComplete = std::move(handlers_.onComplete);
    handlers_ = {};
    if (onComplete) onComplete(std::move(result));
  }

  std::shared_ptr<const ProviderSettings> settings_;
  ModelStreamHandlers handlers_;

  std::mutex mu_;
  std::weak_ptr<net::ClientCall> http_;  // guarded by mu_
  bool cancelRequested_ = false;         // guarded by mu_
  bool httpFinished_ = false;            // guarded by mu_
  std::atomic<bool> done_{false};        // written under mu_

  // Callback-sequence state.
  int status_ = 0;
  BodyMode mode_ = BodyMode::kNone;
  net::Headers errorHeaders_;
  std::string body_;
  SseParser parser_;
  ChatStreamAccumulator accumulator_;
};

/// What stream() returns: owns the ClientCall (for cancel()) and the call state.
class CallHandle final : public ModelCall {
 public:
  CallHandle(std::shared_ptr<OpenAiCall> call, net::ClientCallPtr http)
      : call_(std::move(call)), http_(std::move(http)) {}
  void cancel() override { call_->cancel(); }

 private:
  std::shared_ptr<OpenAiCall> call_;
  net::ClientCallPtr http_;
};

class OpenAiProvider final : public ModelProvider {
 public:
  OpenAiProvider(std::shared_ptr<const ProviderSettings> settings, net::HttpClientPtr client)
      : settings_(std::move(settings)), client_(std::move(client)) {}

  const std::string& id() const override { return settings_->id; }

  ModelCallPtr stream(ModelRequest request, ModelStreamHandlers handlers) override {
    auto call = std::make_shared<OpenAiCall>(settings_, std::move(handlers));
    if (request.model.empty()) {
      call->finishNow(Error(ErrorCode::kInvalidArgument, fmt::format("provider {}: no model given", settings_->id),
                            "no model given"));
      return std::make_shared<CallHandle>(call, nullptr);
    }
    if (!settings_->apiKeyUnavailable.empty()) {
      call->finishNow(
          Error(ErrorCode::kUnauthenticated,
                fmt::format("provider {}: API key unavailable: {}", settings_->id, settings_->apiKeyUnavailable),
                "the model provider's API key is not configured"));
      return std::make_shared<CallHandle>(call, nullptr);
    }
    ChatRequestEncoding encoding;
    encoding.stream = true;
    encoding.maxTokensField = settings_->maxTokensField;
    if (auto it = settings_->modelMaxTokens.find(request.model); it != settings_->modelMaxTokens.end()) {
      encoding.defaultMaxTokens = it->second;
    } else {
      encoding.defaultMaxTokens = settings_->providerMaxTokens;
    }

    net::ClientRequest http;
    http.method = "POST";
    http.url = settings_->url;
    http.headers = settings_->headers;
    if (!request.traceparent.empty()) http.headers.emplace_back("traceparent", request.traceparent);
    http.body = encodeChatRequestBody(request, encoding);
    auto budget = request.timeout;
    if (budget.count() > 0) {
      http.totalTimeout = budget;
      http.idleTimeout = std::min(settings_->idleTimeout, budget);
      http.connectTimeout = std::min(kOpenAiConnectTimeout, budget);
    } else {
      http.totalTimeout = std::chrono::milliseconds(0);
      http.idleTimeout = settings_->idleTimeout;
      http.connectTimeout = kOpenAiConnectTimeout;
    }
    auto clientCall = call->start(*client_, std::move(http));
    return std::make_shared<CallHandle>(std::move(call), std::move(clientCall));
  }

 private:
  std::shared_ptr<const ProviderSettings> settings_;
  net::HttpClientPtr client_;
};

}  // namespace

Result<ModelProviderPtr> createOpenAiProvider(const config::ProviderConfig& config, net::HttpClientPtr client,
                                              ClockPtr clock) {
  if (config.api != "openai-completions" && config.api != "openai") {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("provider {}: api \"{}\" is not openai-completions", config.id, config.api));
  }
  std::string_view base = config.baseUrl;
  bool http = base.rfind("http://", 0) == 0 || base.rfind("https://", 0) == 0;
  if (!http || urlHost(base).empty()) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("provider {}: baseUrl \"{}\" is not an http(s) URL", config.id,
                            config::hasUrlCredentials(config.baseUrl) ? config::kRedactedSentinel
                                                                      : std::string_view(config.baseUrl)));
  }
  if (!client) return fail(ErrorCode::kInvalidArgument, fmt::format("provider {}: no HTTP client", config.id));

  auto settings = std::make_shared<ProviderSettings>();
  settings->id = config.id;
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  settings->url = std::string(base) + "/chat/completions";
  settings->maxTokensField = urlHost(base) == "api.openai.com" ? "max_completion_tokens" : "max_tokens";
  settings->providerMaxTokens = config.maxTokens;
  for (const auto& m : config.models) {
    if (m.maxTokens) settings->modelMaxTokens[m.id] = *m.maxTokens;
  }
  if (config.timeoutSeconds && *config.timeoutSeconds > 0) {
    settings->idleTimeout = std::chrono::seconds(*config.timeoutSeconds);
  }
  settings->apiKeyUnavailable = config.apiKey.empty() ? config.apiKeyUnavailable : std::string();
  settings->clock = clock ? std::move(clock) : ClockPtr(SystemClock::instance());

  auto overridden = [&](std::string_view name) {
    return std::any_of(config.headers.begin(), config.headers.end(),
                       [&](const auto& kv) { return equalsIgnoreAsciiCase(kv.first, name); });
  };
  auto addDefault = [&](std::string name, std::string value) {
    if (!overridden(name)) settings->headers.emplace_back(std::move(name), std::move(value));
  };
  addDefault("Content-Type", "application/json");
  addDefault("Accept", "text/event-stream, application/json");
  addDefault("User-Agent", "talon");
  if (!config.apiKey.empty()) addDefault("Authorization", "Bearer " + config.apiKey);
  for (const auto& [name, value] : config.headers) settings->headers.emplace_back(name, value);

  return ModelProviderPtr(std::make_shared<OpenAiProvider>(std::move(settings), std::move(client)));
}

}  // namespace talon::gateway
