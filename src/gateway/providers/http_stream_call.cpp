#include "gateway/providers/http_stream_call.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <utility>

#include "base/ascii.h"
#include "base/text.h"
#include "gateway/providers/openai_chat_wire.h"

namespace talon::gateway {

namespace {

constexpr std::size_t kMaxErrorBodyBytes = 1u << 20;
constexpr std::chrono::milliseconds kConnectTimeout{10'000};

bool hasHost(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return false;
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  return !rest.empty() && rest.front() != ':';
}

/// The state of one call; the HTTP handlers own it (see OpenAiCall in openai_provider.cpp, the same
/// shape). Everything except cancel() runs on the client's callback sequence or before any I/O.
class StreamCall final : public std::enable_shared_from_this<StreamCall> {
 public:
  StreamCall(std::shared_ptr<const HttpProviderSettings> settings, StreamDecoderPtr decoder,
             ModelStreamHandlers handlers)
      : settings_(std::move(settings)), decoder_(std::move(decoder)), handlers_(std::move(handlers)) {}

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

  void finishNow(Error error) { finish(fail(std::move(error)), false); }

 private:
  void onHeaders(int status, const net::Headers& headers) {
    status_ = status;
    if (status < 200 || status > 299) {
      errorAnswer_ = true;
      errorHeaders_ = headers;
    }
  }

  void onBody(std::string_view data) {
    if (done_ || completed_) return;
    if (errorAnswer_) {
      if (errorBody_.size() < kMaxErrorBodyBytes) {
        errorBody_.append(data.substr(0, kMaxErrorBodyBytes - errorBody_.size()));
      }
      return;
    }
    TextSink sink = [this](std::string_view d) {
      if (!d.empty() && handlers_.onTextDelta && !cancelRequested()) handlers_.onTextDelta(d);
    };
    auto out = decoder_->feed(data, sink);
    if (!out) {
      finish(fail(decorate(std::move(out).error())), true);
    } else if (*out) {
      completed_ = std::move(**out);  // delivered when the exchange ends, so the connection can be reused
    }
  }

  void onHttpComplete(Status st) {
    {
      std::lock_guard lock(mu_);
      httpFinished_ = true;
      http_.reset();
    }
    if (done_) return;
    if (cancelRequested()) {
      finish(fail(ErrorCode::kCancelled, "call cancelled"), false);
      return;
    }
    if (completed_) {
      // The answer is complete; how the rest of the body went does not matter.
      finish(std::move(*completed_), false);
      return;
    }
    if (errorAnswer_) {
      Error e = chatHttpError(settings_->id, status_, errorHeaders_, errorBody_, settings_->clock->nowMs());
      e.message = scrubSecret(std::move(e.message), settings_->apiKey);
      finish(fail(std::move(e)), false);
      return;
    }
    if (!st) {
      Error e = std::move(st).error();
      if (e.code == ErrorCode::kDeadlineExceeded) {
        e.externalMessage = "the model provider did not answer in time";
      } else if (e.code == ErrorCode::kUnavailable) {
        e.externalMessage =
            status_ == 0 ? "the model provider is unreachable" : "the model provider's answer was cut short";
      } else if (e.code == ErrorCode::kUpstream) {
        e.externalMessage = "the model provider sent a malformed answer";
      }
      finish(fail(decorate(std::move(e))), false);
      return;
    }
    auto out = decoder_->end();
    if (!out) {
      finish(fail(decorate(std::move(out).error())), false);
      return;
    }
    finish(std::move(out), false);
  }

  Error decorate(Error e) const {
    e.message = scrubSecret(fmt::format("provider {}: {}", settings_->id, e.message), settings_->apiKey);
    if (e.externalMessage.empty()) {
      e.externalMessage = e.code == ErrorCode::kUpstream ? "the model provider sent a malformed answer"
                                                         : "the model provider reported an error";
    }
    if (!e.details.contains("provider")) e.details["provider"] = settings_->id;
    return e;
  }

  bool cancelRequested() {
    std::lock_guard lock(mu_);
    return cancelRequested_;
  }

  void finish(Result<ModelResponse> result, bool abortHttp) {
    net::ClientCallPtr http;
    {
      std::lock_guard lock(mu_);
      if (done_) return;
      done_ = true;
      if (abortHttp) http = http_.lock();
    }
    if (http) http->cancel();
    if (!result && result.error().message.rfind("provider ", 0) != 0) {
      result.error().message = fmt::format("provider {}: {}", settings_->id, result.error().message);
    }
    auto onComplete = std::move(handlers_.onComplete);
    handlers_ = {};
    if (onComplete) onComplete(std::move(result));
  }

  std::shared_ptr<const HttpProviderSettings> settings_;
  StreamDecoderPtr decoder_;
  ModelStreamHandlers handlers_;

  std::mutex mu_;
  std::weak_ptr<net::ClientCall> http_;  // guarded by mu_
  bool cancelRequested_ = false;         // guarded by mu_
  bool httpFinished_ = false;            // guarded by mu_
  std::atomic<bool> done_{false};        // written under mu_

  int status_ = 0;
  std::optional<ModelResponse> completed_;
  bool errorAnswer_ = false;
  net::Headers errorHeaders_;
  std::string errorBody_;
};

class StreamCallHandle final : public ModelCall {
 public:
  StreamCallHandle(std::shared_ptr<StreamCall> call, net::ClientCallPtr http)
      : call_(std::move(call)), http_(std::move(http)) {}
  void cancel() override { call_->cancel(); }

 private:
  std::shared_ptr<StreamCall> call_;
  net::ClientCallPtr http_;
};

}  // namespace

// --- SseJsonDecoder -------------------------------------------------------------------------------

SseJsonDecoder::SseJsonDecoder()
    : parser_([this](const SseEvent& event) {
        auto data = parseJson(event.data);
        if (!data) {
          error_ = Error(ErrorCode::kUpstream, fmt::format("event \"{}\" is not JSON ({}): {}", event.type,
                                                           data.error().message, printablePrefix(event.data, 200)));
          return false;
        }
        auto out = onEvent(event.type, *data, *sink_);
        if (!out) {
          error_ = std::move(out).error();
          return false;
        }
        if (*out) {
          done_ = std::move(**out);
          return false;
        }
        return true;
      }) {}

Result<std::optional<ModelResponse>> SseJsonDecoder::feed(std::string_view bytes, const TextSink& onText) {
  sink_ = &onText;
  auto st = parser_.feed(bytes);
  sink_ = nullptr;
  if (error_) return fail(std::move(*error_));
  if (!st) return fail(std::move(st).error());
  if (done_) return std::move(done_);
  return std::optional<ModelResponse>();
}

Result<ModelResponse> SseJsonDecoder::end() {
  return fail(ErrorCode::kUpstream,
              fmt::format("the event stream ended before the answer was complete{}",
                          parser_.hasPendingInput() ? " (in the middle of an event)" : ""),
              "the model provider's answer was cut short");
}

// --- settings -------------------------------------------------------------------------------------

std::optional<int64_t> HttpProviderSettings::maxTokensFor(const ModelRequest& request) const {
  if (request.maxTokens) return *request.maxTokens;
  if (auto it = modelMaxTokens.find(request.model); it != modelMaxTokens.end()) return it->second;
  return providerMaxTokens;
}

Result<std::shared_ptr<HttpProviderSettings>> makeHttpProviderSettings(
    const config::ProviderConfig& config, std::string_view api, std::string_view defaultBaseUrl,
    const net::Headers& defaultHeaders, const net::HttpClientPtr& client, ClockPtr clock) {
  if (config.api != api) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("provider {}: api \"{}\" is not {}", config.id, config.api, api));
  }
  std::string_view base = config.baseUrl.empty() ? defaultBaseUrl : std::string_view(config.baseUrl);
  bool http = base.rfind("http://", 0) == 0 || base.rfind("https://", 0) == 0;
  if (!http || !hasHost(base)) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("provider {}: baseUrl \"{}\" is not an http(s) URL", config.id, base));
  }
  if (!client) return fail(ErrorCode::kInvalidArgument, fmt::format("provider {}: no HTTP client", config.id));
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);

  auto s = std::make_shared<HttpProviderSettings>();
  s->id = config.id;
  s->baseUrl = std::string(base);
  s->providerMaxTokens = config.maxTokens;
  for (const auto& m : config.models) {
    if (m.maxTokens) s->modelMaxTokens[m.id] = *m.maxTokens;
  }
  if (config.timeoutSeconds && *config.timeoutSeconds > 0)
    s->idleTimeout = std::chrono::seconds(*config.timeoutSeconds);
  s->apiKey = config.apiKey;
  s->apiKeyUnavailable = config.apiKey.empty() ? config.apiKeyUnavailable : std::string();
  s->clock = clock ? std::move(clock) : ClockPtr(SystemClock::instance());
  for (const auto& [name, value] : defaultHeaders) {
    bool overridden = std::any_of(config.headers.begin(), config.headers.end(),
                                  [&](const auto& kv) { return equalsIgnoreAsciiCase(kv.first, name); });
    if (!overridden) s->headers.emplace_back(name, value);
  }
  for (const auto& [name, value] : config.headers) s->headers.emplace_back(name, value);
  return s;
}

// --- the call -------------------------------------------------------------------------------------

ModelCallPtr startStreamingCall(net::HttpClient& client, std::string_view model, StreamingCallSpec spec,
                                ModelStreamHandlers handlers) {
  const auto& settings = spec.settings;
  auto call = std::make_shared<StreamCall>(settings, std::move(spec.decoder), std::move(handlers));
  if (model.empty()) {
    call->finishNow(
        Error(ErrorCode::kInvalidArgument, fmt::format("provider {}: no model given", settings->id), "no model given"));
    return std::make_shared<StreamCallHandle>(call, nullptr);
  }
  if (!settings->apiKeyUnavailable.empty()) {
    call->finishNow(
        Error(ErrorCode::kUnauthenticated,
              fmt::format("provider {}: API key unavailable: {}", settings->id, settings->apiKeyUnavailable),
              "the model provider's API key is not configured"));
    return std::make_shared<StreamCallHandle>(call, nullptr);
  }
  net::ClientRequest http;
  http.method = "POST";
  http.url = std::move(spec.url);
  http.headers = settings->headers;
  if (!spec.traceparent.empty()) http.headers.emplace_back("traceparent", std::move(spec.traceparent));
  http.body = std::move(spec.body);
  http.resendOnStaleConnection = true;
  if (spec.budget.count() > 0) {
    http.totalTimeout = spec.budget;
    http.idleTimeout = std::min(settings->idleTimeout, spec.budget);
    http.connectTimeout = std::min(kConnectTimeout, spec.budget);
  } else {
    http.totalTimeout = std::chrono::milliseconds(0);
    http.idleTimeout = settings->idleTimeout;
    http.connectTimeout = kConnectTimeout;
  }
  auto clientCall = call->start(client, std::move(http));
  return std::make_shared<StreamCallHandle>(std::move(call), std::move(clientCall));
}

std::string scrubSecret(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 3)) {
    text.replace(pos, secret.size(), "***");
  }
  return text;
}

std::string toolNameForCall(const std::vector<ChatMessage>& messages, std::size_t before, std::string_view toolCallId) {
  for (std::size_t i = std::min(before, messages.size()); i-- > 0;) {
    for (const auto& tc : messages[i].toolCalls) {
      if (tc.id == toolCallId) return tc.name;
    }
  }
  return {};
}

json::object argumentsObject(std::string_view argumentsJson) {
  if (argumentsJson.empty()) return {};
  auto parsed = parseJson(argumentsJson);
  if (parsed && parsed->is_object()) return std::move(parsed->get_object());
  return {};
}

}  // namespace talon::gateway
