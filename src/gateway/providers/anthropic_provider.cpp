#include "gateway/providers/anthropic_provider.h"

#include <fmt/format.h>

#include <map>

#include "gateway/providers/http_stream_call.h"

namespace talon::gateway {

namespace {

constexpr std::string_view kAnthropicBaseUrl = "https://api.anthropic.com";
constexpr std::string_view kApiVersion = "2023-06-01";

json::object ephemeral() { return json::object{{"type", "ephemeral"}}; }

/// Appends `blocks` as a message of `role`, merged into the previous message when it has that role.
void appendMessage(json::array& messages, std::string_view role, json::array blocks) {
  if (blocks.empty()) return;
  if (!messages.empty() && messages.back().as_object().at("role").as_string() == role) {
    auto& content = messages.back().as_object().at("content").as_array();
    for (auto& b : blocks) content.push_back(std::move(b));
    return;
  }
  messages.push_back(json::object{{"role", role}, {"content", std::move(blocks)}});
}

std::string_view anthropicFinishReason(std::string_view stopReason) {
  if (stopReason == "end_turn" || stopReason == "stop_sequence") return "stop";
  if (stopReason == "tool_use") return "tool_calls";
  if (stopReason == "max_tokens") return "length";
  return stopReason;
}

int64_t intField(const json::object& o, std::string_view key) { return getInt(o, key).value_or(0); }

class AnthropicDecoder final : public SseJsonDecoder {
 protected:
  Result<std::optional<ModelResponse>> onEvent(std::string_view eventName, const json::value& data,
                                               const TextSink& onText) override {
    if (!data.is_object()) return malformed(eventName, "data is not an object");
    const auto& o = data.get_object();
    std::string_view type = getString(o, "type").value_or(eventName);
    if (type == "message_start") {
      if (const auto* message = getObject(o, "message")) {
        if (const auto* usage = getObject(*message, "usage")) readUsage(*usage);
      }
    } else if (type == "content_block_start") {
      auto index = getInt(o, "index");
      const auto* block = getObject(o, "content_block");
      if (!index || block == nullptr) return malformed(type, "no index or content_block");
      Block& b = blocks_[*index];
      b.type = std::string(getString(*block, "type").value_or(""));
      if (b.type == "tool_use") {
        b.id = std::string(getString(*block, "id").value_or(""));
        b.name = std::string(getString(*block, "name").value_or(""));
        if (b.name.empty()) return malformed(type, "tool_use block without a name");
        if (const auto* input = getObject(*block, "input"); input != nullptr && !input->empty()) {
          b.startInput = toJson(*input);
        }
      } else if (b.type == "text") {
        if (auto text = getString(*block, "text"); text && !text->empty()) addText(*text, onText);
      }
    } else if (type == "content_block_delta") {
      auto index = getInt(o, "index");
      const auto* delta = getObject(o, "delta");
      if (!index || delta == nullptr) return malformed(type, "no index or delta");
      std::string_view deltaType = getString(*delta, "type").value_or("");
      if (deltaType == "text_delta") {
        auto text = getString(*delta, "text");
        if (!text) return malformed(type, "text_delta without text");
        addText(*text, onText);
      } else if (deltaType == "input_json_delta") {
        auto it = blocks_.find(*index);
        if (it == blocks_.end() || it->second.type != "tool_use") {
          return malformed(type, fmt::format("input_json_delta for block {}, which is not a tool_use", *index));
        }
        auto part = getString(*delta, "partial_json");
        if (!part) return malformed(type, "input_json_delta without partial_json");
        it->second.json.append(*part);
      }
      // thinking_delta, signature_delta, citations_delta: not part of the answer text.
    } else if (type == "message_delta") {
      if (const auto* delta = getObject(o, "delta")) {
        if (auto reason = getString(*delta, "stop_reason")) stopReason_ = std::string(*reason);
      }
      if (const auto* usage = getObject(o, "usage")) readUsage(*usage);
    } else if (type == "message_stop") {
      return std::optional<ModelResponse>(response());
    } else if (type == "error") {
      return fail(streamError(o));
    }
    // content_block_stop, ping and event types added later: nothing to do.
    return std::optional<ModelResponse>();
  }

 private:
  struct Block {
    std::string type;
    std::string id, name, json, startInput;
  };

  static Unexpected<Error> malformed(std::string_view type, std::string_view what) {
    return fail(ErrorCode::kUpstream, fmt::format("malformed {} event: {}", type, what));
  }

  static Error streamError(const json::object& o) {
    std::string_view errType = "error";
    std::string_view message = "(no message)";
    if (const auto* err = getObject(o, "error")) {
      errType = getString(*err, "type").value_or(errType);
      message = getString(*err, "message").value_or(message);
    }
    ErrorCode code = ErrorCode::kUpstream;
    std::string external = "the model provider reported an error";
    if (errType == "overloaded_error" || errType == "api_error") {
      code = ErrorCode::kUnavailable;
      external = "the model provider is unavailable";
    } else if (errType == "rate_limit_error") {
      code = ErrorCode::kResourceExhausted;
      external = "the model provider is rate limiting requests";
    }
    Error e(code, fmt::format("error in stream: {}: {}", errType, message), std::move(external));
    e.details["vendorCode"] = errType;
    return e;
  }

  void readUsage(const json::object& usage) {
    // message_start carries the prompt side; message_delta's counts are cumulative.
    if (usage.contains("input_tokens")) input_ = intField(usage, "input_tokens");
    if (usage.contains("cache_creation_input_tokens")) cacheWrite_ = intField(usage, "cache_creation_input_tokens");
    if (usage.contains("cache_read_input_tokens")) cacheRead_ = intField(usage, "cache_read_input_tokens");
    if (usage.contains("output_tokens")) output_ = intField(usage, "output_tokens");
  }

  void addText(std::string_view text, const TextSink& onText) {
    text_.append(text);
    onText(text);
  }

  ModelResponse response() const {
    ModelResponse r;
    r.text = text_;
    for (const auto& [index, b] : blocks_) {
      if (b.type != "tool_use") continue;
      std::string args = !b.json.empty() ? b.json : (!b.startInput.empty() ? b.startInput : "{}");
      r.toolCalls.push_back(ToolCall{b.id.empty() ? fmt::format("toolu_{}", index) : b.id, b.name, std::move(args)});
    }
    r.finishReason = std::string(anthropicFinishReason(stopReason_));
    if (r.finishReason.empty()) r.finishReason = r.toolCalls.empty() ? "stop" : "tool_calls";
    r.usage.inputTokens = input_ + cacheWrite_ + cacheRead_;
    r.usage.outputTokens = output_;
    r.usage.cacheReadTokens = cacheRead_;
    r.usage.cacheWriteTokens = cacheWrite_;
    return r;
  }

  std::string text_;
  std::map<int64_t, Block> blocks_;  // by content block index
  std::string stopReason_;
  int64_t input_ = 0, output_ = 0, cacheRead_ = 0, cacheWrite_ = 0;
};

class AnthropicProvider final : public ModelProvider {
 public:
  AnthropicProvider(std::shared_ptr<const HttpProviderSettings> settings, net::HttpClientPtr client, std::string url)
      : settings_(std::move(settings)), client_(std::move(client)), url_(std::move(url)) {}

  const std::string& id() const override { return settings_->id; }

  ModelCallPtr stream(ModelRequest request, ModelStreamHandlers handlers) override {
    StreamingCallSpec spec;
    spec.settings = settings_;
    spec.url = url_;
    spec.body =
        toJson(encodeAnthropicRequest(request, settings_->maxTokensFor(request).value_or(kAnthropicDefaultMaxTokens)));
    spec.decoder = std::make_unique<AnthropicDecoder>();
    spec.budget = request.timeout;
    spec.traceparent = request.traceparent;
    return startStreamingCall(*client_, request.model, std::move(spec), std::move(handlers));
  }

 private:
  std::shared_ptr<const HttpProviderSettings> settings_;
  net::HttpClientPtr client_;
  std::string url_;
};

}  // namespace

json::object encodeAnthropicRequest(const ModelRequest& request, int64_t maxTokens) {
  json::object body;
  body["model"] = request.model;
  body["max_tokens"] = maxTokens;
  if (request.temperature) body["temperature"] = *request.temperature;
  std::string system;
  for (const auto& m : request.messages) {
    if (m.role != "system" || m.content.empty()) continue;
    if (!system.empty()) system += "\n\n";
    system += m.content;
  }
  if (!system.empty()) {
    body["system"] = json::array{json::object{{"type", "text"}, {"text", system}, {"cache_control", ephemeral()}}};
  }
  if (!request.tools.empty()) {
    json::array tools;
    for (const auto& t : request.tools) {
      json::object tool{{"name", t.name}};
      if (!t.description.empty()) tool["description"] = t.description;
      tool["input_schema"] =
          t.parameters().empty() ? json::object{{"type", "object"}, {"properties", json::object{}}} : t.parameters();
      tools.push_back(std::move(tool));
    }
    if (system.empty()) tools.back().as_object()["cache_control"] = ephemeral();
    body["tools"] = std::move(tools);
  }
  json::array messages;
  for (const auto& m : request.messages) {
    if (m.role == "user") {
      json::array blocks;
      if (!m.content.empty()) blocks.push_back(json::object{{"type", "text"}, {"text", m.content}});
      appendMessage(messages, "user", std::move(blocks));
    } else if (m.role == "assistant") {
      json::array blocks;
      if (!m.content.empty()) blocks.push_back(json::object{{"type", "text"}, {"text", m.content}});
      for (const auto& tc : m.toolCalls) {
        blocks.push_back(json::object{
            {"type", "tool_use"}, {"id", tc.id}, {"name", tc.name}, {"input", argumentsObject(tc.argumentsJson)}});
      }
      appendMessage(messages, "assistant", std::move(blocks));
    } else if (m.role == "tool") {
      json::array blocks;
      blocks.push_back(json::object{{"type", "tool_result"}, {"tool_use_id", m.toolCallId}, {"content", m.content}});
      appendMessage(messages, "user", std::move(blocks));
    }
  }
  body["messages"] = std::move(messages);
  body["stream"] = true;
  return body;
}

Result<ModelProviderPtr> createAnthropicProvider(const config::ProviderConfig& config, net::HttpClientPtr client,
                                                 ClockPtr clock) {
  net::Headers defaults{{"content-type", "application/json"},
                        {"accept", "text/event-stream"},
                        {"anthropic-version", std::string(kApiVersion)},
                        {"user-agent", "talon"}};
  // `authHeader: true` moves the key into `Authorization: Bearer` (OpenClaw: "force credential transport in the
  // Authorization header"), e.g. for a proxy in front of the Messages API.
  if (!config.apiKey.empty()) {
    if (config.authHeader.value_or(false)) {
      defaults.emplace_back("Authorization", "Bearer " + config.apiKey);
    } else {
      defaults.emplace_back("x-api-key", config.apiKey);
    }
  }
  auto settings =
      makeHttpProviderSettings(config, "anthropic-messages", kAnthropicBaseUrl, defaults, client, std::move(clock));
  if (!settings) return fail(std::move(settings).error());
  std::string_view base = (*settings)->baseUrl;
  std::string url = base.size() >= 3 && base.substr(base.size() - 3) == "/v1" ? std::string(base) + "/messages"
                                                                              : std::string(base) + "/v1/messages";
  return ModelProviderPtr(std::make_shared<AnthropicProvider>(std::move(*settings), std::move(client), std::move(url)));
}

}  // namespace talon::gateway
