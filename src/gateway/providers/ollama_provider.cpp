#include "gateway/providers/ollama_provider.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <cmath>
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

namespace {

/// One JSON request to the native API (GET when `body` is empty, else POST): the parsed answer object,
/// errors as discoverOllamaModels. `what` names the request in errors ("model discovery").
void ollamaJsonRequest(net::HttpClient& client, const config::ProviderConfig& config, std::string path,
                       std::string body, std::chrono::milliseconds timeout, std::string what,
                       std::function<void(Result<json::object>)> done) {
  struct State {
    int status = 0;
    net::Headers headers;
    std::string body;
    std::function<void(Result<json::object>)> done;
  };
  auto state = std::make_shared<State>();
  state->done = std::move(done);
  net::ClientRequest request;
  request.url = ollamaApiBase(config.baseUrl) + path;
  request.headers = {{"Accept", "application/json"}, {"User-Agent", "talon"}};
  if (!body.empty()) {
    request.method = "POST";
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = std::move(body);
  }
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
  h.onComplete = [state, id = config.id, key = config.apiKey, path, what](Status st) {
    auto finish = [&](Result<json::object> r) {
      if (!r) r.error().message = scrubSecret(std::move(r.error().message), key);
      state->done(std::move(r));
    };
    if (!st) {
      Error e = std::move(st).error();
      e.message = fmt::format("provider {}: {}: {}", id, what, e.message);
      return finish(fail(std::move(e)));
    }
    if (state->status < 200 || state->status > 299) {
      return finish(fail(chatHttpError(id, state->status, state->headers, state->body, 0)));
    }
    auto parsed = parseJson(state->body);
    if (!parsed || !parsed->is_object()) {
      return finish(fail(ErrorCode::kUpstream, fmt::format("provider {}: {}: the {} answer is not a JSON object: {}",
                                                           id, what, path, printablePrefix(state->body, 200))));
    }
    finish(std::move(parsed->get_object()));
  };
  client.start(std::move(request), std::move(h));
}

std::optional<std::vector<std::string>> ollamaStringArray(const json::object& o, std::string_view key) {
  const json::array* values = getArray(o, key);
  if (values == nullptr) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& v : *values) {
    if (v.is_string()) out.emplace_back(v.get_string());
  }
  return out;
}

/// A JSON number as a positive integer (floored), or nullopt.
std::optional<int64_t> positiveInteger(const json::value& v) {
  double d = 0;
  if (v.is_int64()) {
    d = static_cast<double>(v.get_int64());
  } else if (v.is_uint64()) {
    d = static_cast<double>(v.get_uint64());
  } else if (v.is_double()) {
    d = v.get_double();
  } else {
    return std::nullopt;
  }
  if (!std::isfinite(d) || d < 1 || d > 9.0e15) return std::nullopt;
  return static_cast<int64_t>(std::floor(d));
}

/// The last `num_ctx N` line with N > 0 (OpenClaw parseOllamaNumCtxParameter).
std::optional<int64_t> numCtxParameter(std::string_view parameters) {
  std::optional<int64_t> last;
  while (!parameters.empty()) {
    auto nl = parameters.find('\n');
    std::string line = trimWhitespace(parameters.substr(0, nl));
    parameters = nl == std::string_view::npos ? std::string_view() : parameters.substr(nl + 1);
    if (line.rfind("num_ctx", 0) != 0) continue;
    std::string_view rest = std::string_view(line).substr(7);
    std::size_t spaces = 0;
    while (spaces < rest.size() && (rest[spaces] == ' ' || rest[spaces] == '\t')) ++spaces;
    if (spaces == 0) continue;
    rest.remove_prefix(spaces);
    bool negative = !rest.empty() && rest[0] == '-';
    if (negative) rest.remove_prefix(1);
    std::size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    // `\b` after the digits: the number must not run on into a word character.
    if (digits == 0 || digits > 15) continue;
    if (digits < rest.size() && (std::isalnum(static_cast<unsigned char>(rest[digits])) != 0 || rest[digits] == '_')) {
      continue;
    }
    int64_t value = std::stoll(std::string(rest.substr(0, digits)));
    if (!negative && value > 0) last = value;
  }
  return last;
}

}  // namespace

void discoverOllamaModels(net::HttpClient& client, const config::ProviderConfig& config,
                          std::chrono::milliseconds timeout,
                          std::function<void(Result<std::vector<OllamaTagsModel>>)> done) {
  ollamaJsonRequest(client, config, "/api/tags", "", timeout, "model discovery",
                    [done = std::move(done), id = config.id](Result<json::object> answer) {
                      if (!answer) return done(fail(std::move(answer).error()));
                      const json::array* models = getArray(*answer, "models");
                      if (models == nullptr) {
                        return done(fail(ErrorCode::kUpstream,
                                         fmt::format("provider {}: /api/tags answer has no \"models\" array: {}", id,
                                                     printablePrefix(toJson(*answer), 200))));
                      }
                      std::vector<OllamaTagsModel> found;
                      for (const auto& m : *models) {
                        if (!m.is_object()) continue;
                        const auto& o = m.get_object();
                        auto name = getString(o, "name");
                        if (!name || name->empty()) continue;
                        OllamaTagsModel model;
                        model.name = std::string(*name);
                        model.digest = std::string(trimWhitespace(getString(o, "digest").value_or("")));
                        model.modifiedAt = std::string(trimWhitespace(getString(o, "modified_at").value_or("")));
                        model.capabilities = ollamaStringArray(o, "capabilities");
                        if (const auto* details = getObject(o, "details")) {
                          if (auto it = details->find("context_length"); it != details->end()) {
                            model.contextLength = positiveInteger(it->value());
                          }
                        }
                        model.remote = !trimWhitespace(getString(o, "remote_host").value_or("")).empty() ||
                                       !trimWhitespace(getString(o, "remote_model").value_or("")).empty();
                        found.push_back(std::move(model));
                      }
                      done(std::move(found));
                    });
}

namespace {

OllamaShowInfo showInfoFromObject(const json::object& o) {
  OllamaShowInfo info;
  if (const auto* modelInfo = getObject(o, "model_info")) {
    constexpr std::string_view kSuffix = ".context_length";
    for (const auto& [key, value] : *modelInfo) {
      std::string_view k = key;
      if (k.size() < kSuffix.size() || k.substr(k.size() - kSuffix.size()) != kSuffix) continue;
      if (auto n = positiveInteger(value)) {
        info.contextWindow = n;
        break;
      }
    }
  }
  if (auto parameters = getString(o, "parameters")) {
    if (auto numCtx = numCtxParameter(*parameters); numCtx && (!info.contextWindow || *numCtx > *info.contextWindow)) {
      info.contextWindow = numCtx;
    }
  }
  info.capabilities = ollamaStringArray(o, "capabilities");
  return info;
}

}  // namespace

Result<OllamaShowInfo> parseOllamaShowInfo(std::string_view body) {
  auto parsed = parseJson(body);
  if (!parsed || !parsed->is_object()) {
    return fail(ErrorCode::kUpstream, "the /api/show answer is not a JSON object: " + printablePrefix(body, 200));
  }
  return showInfoFromObject(parsed->get_object());
}

void showOllamaModel(net::HttpClient& client, const config::ProviderConfig& config, const std::string& name,
                     std::chrono::milliseconds timeout, std::function<void(Result<OllamaShowInfo>)> done) {
  ollamaJsonRequest(client, config, "/api/show", toJson(json::object{{"model", name}}), timeout,
                    "model inspection of " + name, [done = std::move(done)](Result<json::object> answer) {
                      if (!answer) return done(fail(std::move(answer).error()));
                      done(showInfoFromObject(*answer));
                    });
}

}  // namespace talon::gateway
