#include "gateway/providers/openai_responses_provider.h"

#include <fmt/format.h>

#include <map>

#include "gateway/providers/http_stream_call.h"

namespace talon::gateway {

namespace {

constexpr std::string_view kResponsesBaseUrl = "https://api.openai.com/v1";

Error vendorError(std::string_view where, std::string_view code, std::string_view message) {
  ErrorCode c = ErrorCode::kUpstream;
  std::string external = "the model provider reported an error";
  if (code == "rate_limit_exceeded") {
    c = ErrorCode::kResourceExhausted;
    external = "the model provider is rate limiting requests";
  } else if (code == "server_error" || code == "server_is_overloaded") {
    c = ErrorCode::kUnavailable;
    external = "the model provider is unavailable";
  }
  Error e(c, fmt::format("{}: {}: {}", where, code.empty() ? "error" : code, message), std::move(external));
  if (!code.empty()) e.details["vendorCode"] = code;
  return e;
}

class ResponsesDecoder final : public SseJsonDecoder {
 protected:
  Result<std::optional<ModelResponse>> onEvent(std::string_view eventName, const json::value& data,
                                               const TextSink& onText) override {
    if (!data.is_object()) return malformed(eventName, "data is not an object");
    const auto& o = data.get_object();
    std::string_view type = getString(o, "type").value_or(eventName);
    if (type == "response.output_text.delta") {
      auto delta = getString(o, "delta");
      if (!delta) return malformed(type, "no delta");
      text_.append(*delta);
      onText(*delta);
    } else if (type == "response.output_item.added" || type == "response.output_item.done") {
      const auto* item = getObject(o, "item");
      if (item == nullptr) return malformed(type, "no item");
      if (getString(*item, "type").value_or("") != "function_call") return std::optional<ModelResponse>();
      auto index = getInt(o, "output_index").value_or(static_cast<int64_t>(calls_.size()));
      Call& call = calls_[index];
      if (auto id = getString(*item, "id")) {
        call.itemId = std::string(*id);
        itemIndex_[call.itemId] = index;
      }
      if (auto callId = getString(*item, "call_id")) call.callId = std::string(*callId);
      if (auto name = getString(*item, "name")) call.name = std::string(*name);
      if (auto args = getString(*item, "arguments"); args && (type == "response.output_item.done" || !args->empty())) {
        call.arguments = std::string(*args);
      }
      if (call.name.empty()) return malformed(type, "function_call item without a name");
    } else if (type == "response.function_call_arguments.delta" || type == "response.function_call_arguments.done") {
      Call* call = find(o);
      if (call == nullptr) return malformed(type, "arguments for an unknown function_call item");
      if (type == "response.function_call_arguments.delta") {
        auto delta = getString(o, "delta");
        if (!delta) return malformed(type, "no delta");
        call->arguments.append(*delta);
      } else if (auto args = getString(o, "arguments")) {
        call->arguments = std::string(*args);
      }
    } else if (type == "response.completed" || type == "response.incomplete") {
      const auto* response = getObject(o, "response");
      if (response == nullptr) return malformed(type, "no response");
      return std::optional<ModelResponse>(finalResponse(*response));
    } else if (type == "response.failed") {
      std::string_view code, message = "(no message)";
      if (const auto* response = getObject(o, "response")) {
        if (const auto* err = getObject(*response, "error")) {
          code = getString(*err, "code").value_or("");
          message = getString(*err, "message").value_or(message);
        }
      }
      return fail(vendorError("response.failed", code, message));
    } else if (type == "error") {
      return fail(vendorError("error in stream", getString(o, "code").value_or(""),
                              getString(o, "message").value_or("(no message)")));
    }
    return std::optional<ModelResponse>();
  }

 private:
  struct Call {
    std::string itemId, callId, name, arguments;
  };

  static Unexpected<Error> malformed(std::string_view type, std::string_view what) {
    return fail(ErrorCode::kUpstream, fmt::format("malformed {} event: {}", type, what));
  }

  Call* find(const json::object& o) {
    if (auto id = getString(o, "item_id")) {
      if (auto it = itemIndex_.find(*id); it != itemIndex_.end()) return &calls_[it->second];
    }
    if (auto index = getInt(o, "output_index")) {
      if (auto it = calls_.find(*index); it != calls_.end()) return &it->second;
    }
    return nullptr;
  }

  ModelResponse finalResponse(const json::object& response) const {
    ModelResponse r;
    r.text = text_;
    for (const auto& [index, c] : calls_) {
      r.toolCalls.push_back(
          ToolCall{!c.callId.empty() ? c.callId : (!c.itemId.empty() ? c.itemId : fmt::format("call_{}", index)),
                   c.name, c.arguments.empty() ? "{}" : c.arguments});
    }
    r.finishReason = r.toolCalls.empty() ? "stop" : "tool_calls";
    if (const auto* details = getObject(response, "incomplete_details")) {
      std::string_view reason = getString(*details, "reason").value_or("");
      if (reason == "max_output_tokens") {
        r.finishReason = "length";
      } else if (!reason.empty()) {
        r.finishReason = std::string(reason);
      }
    }
    if (const auto* usage = getObject(response, "usage")) {
      r.usage.inputTokens = getInt(*usage, "input_tokens").value_or(0);
      r.usage.outputTokens = getInt(*usage, "output_tokens").value_or(0);
      if (const auto* details = getObject(*usage, "input_tokens_details")) {
        r.usage.cacheReadTokens = getInt(*details, "cached_tokens").value_or(0);
      }
    }
    return r;
  }

  std::string text_;
  std::map<int64_t, Call> calls_;  // by output_index
  std::map<std::string, int64_t, std::less<>> itemIndex_;
};

class ResponsesProvider final : public ModelProvider {
 public:
  ResponsesProvider(std::shared_ptr<const HttpProviderSettings> settings, net::HttpClientPtr client)
      : settings_(std::move(settings)), client_(std::move(client)) {}

  const std::string& id() const override { return settings_->id; }

  ModelCallPtr stream(ModelRequest request, ModelStreamHandlers handlers) override {
    StreamingCallSpec spec;
    spec.settings = settings_;
    spec.url = settings_->baseUrl + "/responses";
    spec.body = toJson(encodeResponsesRequest(request, settings_->maxTokensFor(request)));
    spec.decoder = std::make_unique<ResponsesDecoder>();
    spec.budget = request.timeout;
    spec.traceparent = request.traceparent;
    return startStreamingCall(*client_, request.model, std::move(spec), std::move(handlers));
  }

 private:
  std::shared_ptr<const HttpProviderSettings> settings_;
  net::HttpClientPtr client_;
};

}  // namespace

json::object encodeResponsesRequest(const ModelRequest& request, std::optional<int64_t> maxOutputTokens) {
  json::object body;
  body["model"] = request.model;
  std::string instructions;
  for (const auto& m : request.messages) {
    if (m.role != "system" || m.content.empty()) continue;
    if (!instructions.empty()) instructions += "\n\n";
    instructions += m.content;
  }
  if (!instructions.empty()) body["instructions"] = instructions;
  json::array input;
  for (const auto& m : request.messages) {
    if (m.role == "user") {
      input.push_back(json::object{{"role", "user"}, {"content", m.content}});
    } else if (m.role == "assistant") {
      if (!m.content.empty()) input.push_back(json::object{{"role", "assistant"}, {"content", m.content}});
      for (const auto& tc : m.toolCalls) {
        input.push_back(json::object{{"type", "function_call"},
                                     {"call_id", tc.id},
                                     {"name", tc.name},
                                     {"arguments", tc.argumentsJson.empty() ? "{}" : tc.argumentsJson}});
      }
    } else if (m.role == "tool") {
      input.push_back(json::object{{"type", "function_call_output"}, {"call_id", m.toolCallId}, {"output", m.content}});
    }
  }
  body["input"] = std::move(input);
  if (!request.tools.empty()) {
    json::array tools;
    for (const auto& t : request.tools) {
      json::object tool{{"type", "function"}, {"name", t.name}};
      if (!t.description.empty()) tool["description"] = t.description;
      tool["parameters"] =
          t.parameters().empty() ? json::object{{"type", "object"}, {"properties", json::object{}}} : t.parameters();
      tool["strict"] = false;
      tools.push_back(std::move(tool));
    }
    body["tools"] = std::move(tools);
  }
  if (maxOutputTokens) body["max_output_tokens"] = *maxOutputTokens;
  if (request.temperature) body["temperature"] = *request.temperature;
  body["stream"] = true;
  body["store"] = false;
  return body;
}

Result<ModelProviderPtr> createOpenAiResponsesProvider(const config::ProviderConfig& config, net::HttpClientPtr client,
                                                       ClockPtr clock) {
  net::Headers defaults{{"Content-Type", "application/json"}, {"Accept", "text/event-stream"}, {"User-Agent", "talon"}};
  if (!config.apiKey.empty()) defaults.emplace_back("Authorization", "Bearer " + config.apiKey);
  auto settings =
      makeHttpProviderSettings(config, "openai-responses", kResponsesBaseUrl, defaults, client, std::move(clock));
  if (!settings) return fail(std::move(settings).error());
  return ModelProviderPtr(std::make_shared<ResponsesProvider>(std::move(*settings), std::move(client)));
}

}  // namespace talon::gateway
