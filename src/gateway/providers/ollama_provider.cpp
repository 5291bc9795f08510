#include "gateway/providers/ollama_provider.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <mutex>

#include "base/text.h"
#include "gateway/providers/http_stream_call.h"
#include "gateway/providers/openai_chat_wire.h"

namespace talon::gateway {

namespace {

constexpr std::size_t kMaxLineBytes = 16u << 20;

bool endsWithV1(std::string_view base) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  if (base.size() < 3) return false;
  auto tail = base.substr(base.size() - 3);
  return tail[0] == '/' && (tail[1] == 'v' || tail[1] == 'V') && tail[2] == '1';
}

class OllamaDecoder final : public StreamDecoder {
 public:
  Result<std::optional<ModelResponse>> feed(std::string_view bytes, const TextSink& onText) override {
    while (!bytes.empty()) {
      auto nl = bytes.find('\n');
      if (nl == std::string_view::npos) {
        if (line_.size() + bytes.size() > kMaxLineBytes) {
          return fail(ErrorCode::kUpstream, fmt::format("an NDJSON line exceeds {} bytes", kMaxLineBytes));
        }
        line_.append(bytes);
        return std::optional<ModelResponse>();
      }
      line_.append(bytes.substr(0, nl));
      bytes.remove_prefix(nl + 1);
      std::string line = std::move(line_);
      line_.clear();
      auto out = onLine(line, onText);
      if (!out || *out) return out;
    }
    return std::optional<ModelResponse>();
  }

  Result<ModelResponse> end() override {
    if (!line_.empty()) {  // the last line without its LF
      std::string line = std::move(line_);
      line_.clear();
      auto out = onLine(line, [](std::string_view) {});
      if (!out) return fail(std::move(out).error());
      if (*out) return std::move(**out);
    }
    return fail(ErrorCode::kUpstream, "the NDJSON stream ended before the object with \"done\": true",
                "the model provider's answer was cut short");
  }

 private:
  Result<std::optional<ModelResponse>> onLine(std::string_view line, const TextSink& onText) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) return std::optional<ModelResponse>();
    auto parsed = parseJson(line);
    if (!parsed || !parsed->is_object()) {
      return fail(ErrorCode::kUpstream, fmt::format("stream line is not a JSON object{}: {}",
                                                    parsed ? std::string() : " (" + parsed.error().message + ")",
                                                    printablePrefix(line, 200)));
    }
    const auto& o = parsed->get_object();
    if (auto it = o.find("error"); it != o.end() && !it->value().is_null()) {
      std::string message = it->value().is_string() ? std::string(it->value().get_string()) : toJson(it->value());
      return fail(ErrorCode::kUpstream, "error in stream: " + message, "the model provider reported an error");
    }
    if (const auto* message = getObject(o, "message")) {
      if (auto content = getString(*message, "content"); content && !content->empty()) {
        text_.append(*content);
        onText(*content);
      }
      if (const auto* calls = getArray(*message, "tool_calls")) {
        for (const auto& c : *calls) {
          const auto* fn = c.is_object() ? getObject(c.get_object(), "function") : nullptr;
          auto name = fn != nullptr ? getString(*fn, "name") : std::nullopt;
          if (!name || name->empty()) return fail(ErrorCode::kUpstream, "a tool call without function.name");
          ToolCall call;
          call.name = std::string(*name);
          if (auto id = getString(c.get_object(), "id"); id && !id->empty()) {
            call.id = std::string(*id);
          } else {
            call.id = fmt::format("call_{}", calls_.size());
          }
          auto args = fn->find("arguments");
          if (args == fn->end() || args->value().is_null()) {
            call.argumentsJson = "{}";
          } else if (args->value().is_string()) {
            call.argumentsJson = std::string(args->value().get_string());
          } else {
            call.argumentsJson = toJson(args->value());
          }
          calls_.push_back(std::move(call));
        }
      }
    }
    if (getBool(o, "done").value_or(false)) {
      ModelResponse r;
      r.text = text_;
      r.toolCalls = calls_;
      std::string reason(getString(o, "done_reason").value_or("stop"));
      r.finishReason = calls_.empty() ? reason : "tool_calls";
      r.usage.inputTokens = getInt(o, "prompt_eval_count").value_or(0);
      r.usage.outputTokens = getInt(o, "eval_count").value_or(0);
      return std::optional<ModelResponse>(std::move(r));
    }
    return std::optional<ModelResponse>();
  }

  std::string line_;
  std::string text_;
  std::vector<ToolCall> calls_;
};

class OllamaProvider final : public ModelProvider {
 public:
  OllamaProvider(std::shared_ptr<const HttpProviderSettings> settings, net::HttpClientPtr client)
      : settings_(std::move(settings)), client_(std::move(client)) {}

  const std::string& id() const override { return settings_->id; }

  ModelCallPtr stream(ModelRequest request, ModelStreamHandlers handlers) override {
    StreamingCallSpec spec;
    spec.settings = settings_;
    spec.url = settings_->baseUrl + "/api/chat";
    spec.body = toJson(encodeOllamaChatRequest(request, settings_->maxTokensFor(request)));
    spec.decoder = std::make_unique<OllamaDecoder>();
    spec.budget = request.timeout;
    spec.traceparent = request.traceparent;
    return startStreamingCall(*client_, request.model, std::move(spec), std::move(handlers));
  }

 private:
  std::shared_ptr<const HttpProviderSettings> settings_;
  net::HttpClientPtr client_;
};

}  // namespace

std::string ollamaApiBase(std::string_view configuredBaseUrl) {
  std::string_view base = configuredBaseUrl.empty() ? kOllamaDefaultBaseUrl : configuredBaseUrl;
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  if (endsWithV1(base)) base.remove_suffix(3);
  return std::string(base);
}

json::object encodeOllamaChatRequest(const ModelRequest& request, std::optional<int64_t> maxTokens) {
  json::object body;
  body["model"] = request.model;
  json::array messages;
  for (std::size_t i = 0; i < request.messages.size(); ++i) {
    const auto& m = request.messages[i];
    json::object out{{"role", m.role}, {"content", m.content}};
    if (m.role == "assistant" && !m.toolCalls.empty()) {
      json::array calls;
      for (const auto& tc : m.toolCalls) {
        calls.push_back(json::object{
            {"function", json::object{{"name", tc.name}, {"arguments", argumentsObject(tc.argumentsJson)}}}});
      }
      out["tool_calls"] = std::move(calls);
    }
    if (m.role == "tool") {
      std::string name = toolNameForCall(request.messages, i, m.toolCallId);
      if (!name.empty()) out["tool_name"] = name;
    }
    messages.push_back(std::move(out));
  }
  body["messages"] = std::move(messages);
  if (!request.tools.empty()) {
    json::array tools;
    for (const auto& t : request.tools) {
      json::object fn{{"name", t.name}};
      if (!t.description.empty()) fn["description"] = t.description;
      fn["parameters"] =
          t.parameters().empty() ? json::object{{"type", "object"}, {"properties", json::object{}}} : t.parameters();
      tools.push_back(json::object{{"type", "function"}, {"function", std::move(fn)}});
    }
    body["tools"] = std::move(tools);
  }
  body["stream"] = true;
  json::object options;
  if (maxTokens) options["num_predict"] = *maxTokens;
  if (request.temperature) options["temperature"] = *request.temperature;
  if (!options.empty()) body["options"] = std::move(options);
  return body;
}

Result<ModelProviderPtr> createOllamaProvider(const config::ProviderConfig& config, net::HttpClientPtr client,
                                              ClockPtr clock) {
  if (endsWithV1(config.baseUrl)) {
    spdlog::warn(
        "models.providers.{}: baseUrl \"{}\" ends in /v1, the OpenAI-compatible path, which breaks tool calling; "
        "api \"ollama\" uses the native API at \"{}\" (set api \"openai-completions\" to use /v1)",
        config.id, config.baseUrl, ollamaApiBase(config.baseUrl));
  }
  config::ProviderConfig native = config;
  native.baseUrl = ollamaApiBase(config.baseUrl);
  net::Headers defaults{{"Content-Type", "application/json"}, {"User-Agent", "talon"}};
  if (!config.apiKey.empty()) defaults.emplace_back("Authorization", "Bearer " + config.apiKey);
  auto settings = makeHttpProviderSettings(native, "ollama", kOllamaDefaultBaseUrl, defaults, client, std::move(clock));
  if (!settings) return fail(std::move(settings).error());
  return ModelProviderPtr(std::make_shared<OllamaProvider>(std::move(*settings), std::move(client)));
}

void discoverOllamaModels(net::HttpClient& client, const config::ProviderConfig& config,
                          std::chrono::milliseconds timeout,
                          std::function<void(Result<std::vector<std::string>>)> done) {
  struct State {
    int status = 0;
    net::Headers headers;
    std::string body;
    std::function<void(Result<std::vector<std::string>>)> done;
  };
  auto state = std::make_shared<State>();
  state->done = std::move(done);
  net::ClientRequest request;
  request.url = ollamaApiBase(config.baseUrl) + "/api/tags";
  request.headers = {{"Accept", "application/json"}, {"User-Agent", "talon"}};
  if (!config.apiKey.empty()) request.headers.emplace_back("Authorization", "Bearer " + config.apiKey);
  for (const auto& [k, v] : config.headers) request.headers.emplace_back(k, v);
  request.totalTimeout = timeout;
  request.idleTimeout = timeout;
  request.connectTimeout = timeout;
  net::ClientHandlers h;
  h.onHeaders = [state](int status, const net::Headers& headers) {
    state->status = status;
    state->headers = headers;
  };
  h.onBody = [state](std::string_view data) {
    if (state->body.size() < kMaxLineBytes) state->body.append(data);
  };
  std::string id = config.id;
  std::string key = config.apiKey;
  h.onComplete = [state, id, key](Status st) {
    auto finish = [&](Result<std::vector<std::string>> r) {
      if (!r) r.error().message = scrubSecret(std::move(r.error().message), key);
      state->done(std::move(r));
    };
    if (!st) {
      Error e = std::move(st).error();
      e.message = fmt::format("provider {}: model discovery: {}", id, e.message);
      return finish(fail(std::move(e)));
    }
    if (state->status < 200 || state->status > 299) {
      return finish(fail(chatHttpError(id, state->status, state->headers, state->body, 0)));
    }
    auto parsed = parseJson(state->body);
    const json::array* models = parsed && parsed->is_object() ? getArray(parsed->get_object(), "models") : nullptr;
    if (models == nullptr) {
      return finish(fail(ErrorCode::kUpstream, fmt::format("provider {}: /api/tags answer has no \"models\" array: {}",
                                                           id, printablePrefix(state->body, 200))));
    }
    std::vector<std::string> names;
    for (const auto& m : *models) {
      if (!m.is_object()) continue;
      if (auto name = getString(m.get_object(), "name"); name && !name->empty()) names.emplace_back(*name);
    }
    finish(std::move(names));
  };
  client.start(std::move(request), std::move(h));
}

}  // namespace talon::gateway
