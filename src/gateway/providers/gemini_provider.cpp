#include "gateway/providers/gemini_provider.h"

#include <fmt/format.h>

#include <cctype>

#include "gateway/providers/http_stream_call.h"

namespace talon::gateway {

namespace {

constexpr std::string_view kGeminiBaseUrl = "https://generativelanguage.googleapis.com/v1beta";
/// The dummy thought signature the Gemini API accepts for function calls it did not generate
/// (https://ai.google.dev/gemini-api/docs/thought-signatures, "FAQs").
constexpr std::string_view kGeminiSkipSignature = "skip_thought_signature_validator";

std::string percentEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string geminiFinishReason(std::string_view reason) {
  if (reason == "STOP") return "stop";
  if (reason == "MAX_TOKENS") return "length";
  if (reason == "SAFETY" || reason == "RECITATION" || reason == "BLOCKLIST" || reason == "PROHIBITED_CONTENT" ||
      reason == "SPII") {
    return "content_filter";
  }
  std::string out(reason);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void appendContent(json::array& contents, std::string_view role, json::array parts) {
  if (parts.empty()) return;
  if (!contents.empty() && contents.back().as_object().at("role").as_string() == role) {
    auto& existing = contents.back().as_object().at("parts").as_array();
    for (auto& p : parts) existing.push_back(std::move(p));
    return;
  }
  contents.push_back(json::object{{"role", role}, {"parts", std::move(parts)}});
}

class GeminiDecoder final : public SseJsonDecoder {
 public:
  Result<ModelResponse> end() override {
    if (finishReason_.empty()) return SseJsonDecoder::end();
    ModelResponse r;
    r.text = text_;
    r.toolCalls = calls_;
    r.finishReason = finishReason_ == "stop" && !calls_.empty() ? "tool_calls" : finishReason_;
    r.usage = usage_;
    return r;
  }

 protected:
  Result<std::optional<ModelResponse>> onEvent(std::string_view, const json::value& data,
                                               const TextSink& onText) override {
    if (!data.is_object()) return malformed("data is not an object");
    const auto& o = data.get_object();
    if (const auto* err = getObject(o, "error")) {
      std::string_view status = getString(*err, "status").value_or("");
      ErrorCode code = ErrorCode::kUpstream;
      std::string external = "the model provider reported an error";
      if (status == "RESOURCE_EXHAUSTED") {
        code = ErrorCode::kResourceExhausted;
        external = "the model provider is rate limiting requests";
      } else if (status == "UNAVAILABLE" || status == "INTERNAL") {
        code = ErrorCode::kUnavailable;
        external = "the model provider is unavailable";
      }
      Error e(code,
              fmt::format("error in stream: {}: {}", status.empty() ? "error" : status,
                          getString(*err, "message").value_or("(no message)")),
              std::move(external));
      if (!status.empty()) e.details["vendorCode"] = status;
      return fail(std::move(e));
    }
    if (const auto* candidates = getArray(o, "candidates"); candidates != nullptr && !candidates->empty()) {
      if (!(*candidates)[0].is_object()) return malformed("candidates[0] is not an object");
      const auto& candidate = (*candidates)[0].get_object();
      if (const auto* content = getObject(candidate, "content")) {
        if (const auto* parts = getArray(*content, "parts")) {
          for (const auto& p : *parts) {
            if (!p.is_object()) return malformed("a part is not an object");
            const auto& part = p.get_object();
            bool thought = getBool(part, "thought").value_or(false);
            if (auto text = getString(part, "text"); text && !thought && !text->empty()) {
              text_.append(*text);
              onText(*text);
            }
            if (const auto* call = getObject(part, "functionCall")) {
              auto name = getString(*call, "name");
              if (!name || name->empty()) return malformed("functionCall without a name");
              ToolCall tc;
              tc.name = std::string(*name);
              auto id = getString(*call, "id");
              tc.id = id && !id->empty() ? std::string(*id) : fmt::format("call_{}", calls_.size());
              const auto* args = getObject(*call, "args");
              tc.argumentsJson = args != nullptr ? toJson(*args) : "{}";
              // A sibling of functionCall in the Part; sent back with the call (encodeGeminiRequest).
              if (auto signature = getString(part, "thoughtSignature")) tc.signature = std::string(*signature);
              calls_.push_back(std::move(tc));
            }
          }
        }
      }
      if (auto reason = getString(candidate, "finishReason"); reason && !reason->empty()) {
        finishReason_ = geminiFinishReason(*reason);
      }
    }
    if (const auto* feedback = getObject(o, "promptFeedback")) {
      if (auto block = getString(*feedback, "blockReason"); block && !block->empty()) finishReason_ = "content_filter";
    }
    if (const auto* usage = getObject(o, "usageMetadata")) {
      usage_.inputTokens = getInt(*usage, "promptTokenCount").value_or(usage_.inputTokens);
      usage_.cacheReadTokens = getInt(*usage, "cachedContentTokenCount").value_or(usage_.cacheReadTokens);
      if (usage->contains("candidatesTokenCount") || usage->contains("thoughtsTokenCount")) {
        usage_.outputTokens =
            getInt(*usage, "candidatesTokenCount").value_or(0) + getInt(*usage, "thoughtsTokenCount").value_or(0);
      }
    }
    return std::optional<ModelResponse>();
  }

 private:
  static Unexpected<Error> malformed(std::string_view what) {
    return fail(ErrorCode::kUpstream, fmt::format("malformed GenerateContentResponse: {}", what));
  }

  std::string text_;
  std::vector<ToolCall> calls_;
  std::string finishReason_;
  TokenUsage usage_;
};

class GeminiProvider final : public ModelProvider {
 public:
  GeminiProvider(std::shared_ptr<const HttpProviderSettings> settings, net::HttpClientPtr client)
      : settings_(std::move(settings)), client_(std::move(client)) {}

  const std::string& id() const override { return settings_->id; }

  ModelCallPtr stream(ModelRequest request, ModelStreamHandlers handlers) override {
    std::string_view model = request.model;
    if (model.rfind("models/", 0) == 0) model.remove_prefix(7);
    StreamingCallSpec spec;
    spec.settings = settings_;
    spec.url = fmt::format("{}/models/{}:streamGenerateContent?alt=sse", settings_->baseUrl, percentEncode(model));
    spec.body = toJson(encodeGeminiRequest(request, settings_->maxTokensFor(request)));
    spec.decoder = std::make_unique<GeminiDecoder>();
    spec.budget = request.timeout;
    spec.traceparent = request.traceparent;
    return startStreamingCall(*client_, model, std::move(spec), std::move(handlers));
  }

 private:
  std::shared_ptr<const HttpProviderSettings> settings_;
  net::HttpClientPtr client_;
};

}  // namespace

json::object encodeGeminiRequest(const ModelRequest& request, std::optional<int64_t> maxOutputTokens) {
  json::object body;
  std::string system;
  for (const auto& m : request.messages) {
    if (m.role != "system" || m.content.empty()) continue;
    if (!system.empty()) system += "\n\n";
    system += m.content;
  }
  if (!system.empty()) body["systemInstruction"] = json::object{{"parts", json::array{json::object{{"text", system}}}}};
  if (!request.tools.empty()) {
    json::array declarations;
    for (const auto& t : request.tools) {
      json::object fn{{"name", t.name}};
      if (!t.description.empty()) fn["description"] = t.description;
      fn["parametersJsonSchema"] =
          t.parameters().empty() ? json::object{{"type", "object"}, {"properties", json::object{}}} : t.parameters();
      declarations.push_back(std::move(fn));
    }
    body["tools"] = json::array{json::object{{"functionDeclarations", std::move(declarations)}}};
  }
  json::array contents;
  for (std::size_t i = 0; i < request.messages.size(); ++i) {
    const auto& m = request.messages[i];
    if (m.role == "user") {
      json::array parts;
      if (!m.content.empty()) parts.push_back(json::object{{"text", m.content}});
      appendContent(contents, "user", std::move(parts));
    } else if (m.role == "assistant") {
      json::array parts;
      if (!m.content.empty()) parts.push_back(json::object{{"text", m.content}});
      for (std::size_t c = 0; c < m.toolCalls.size(); ++c) {
        const auto& tc = m.toolCalls[c];
        json::object part{
            {"functionCall", json::object{{"name", tc.name}, {"args", argumentsObject(tc.argumentsJson)}}}};
        // Gemini 3 refuses a replayed function call without the signature it came with. A call that has none
        // (made by another model before a fallback, or recorded before signatures were kept) gets the value
        // the Gemini API documents for such histories, on the step's first call as it requires.
        if (!tc.signature.empty()) {
          part["thoughtSignature"] = tc.signature;
        } else if (c == 0) {
          part["thoughtSignature"] = kGeminiSkipSignature;
        }
        parts.push_back(std::move(part));
      }
      appendContent(contents, "model", std::move(parts));
    } else if (m.role == "tool") {
      std::string name = toolNameForCall(request.messages, i, m.toolCallId);
      json::array parts;
      parts.push_back(
          json::object{{"functionResponse", json::object{{"name", name.empty() ? m.toolCallId : name},
                                                         {"response", json::object{{"output", m.content}}}}}});
      appendContent(contents, "user", std::move(parts));
    }
  }
  body["contents"] = std::move(contents);
  json::object generation;
  if (maxOutputTokens) generation["maxOutputTokens"] = *maxOutputTokens;
  if (request.temperature) generation["temperature"] = *request.temperature;
  if (!generation.empty()) body["generationConfig"] = std::move(generation);
  return body;
}

Result<ModelProviderPtr> createGeminiProvider(const config::ProviderConfig& config, net::HttpClientPtr client,
                                              ClockPtr clock) {
  net::Headers defaults{{"Content-Type", "application/json"}, {"User-Agent", "talon"}};
  if (!config.apiKey.empty()) {
    // `authHeader: true`: the key as `Authorization: Bearer` instead of Gemini's own header.
    if (config.authHeader.value_or(false)) {
      defaults.emplace_back("Authorization", "Bearer " + config.apiKey);
    } else {
      defaults.emplace_back("x-goog-api-key", config.apiKey);
    }
  }
  auto settings =
      makeHttpProviderSettings(config, "google-generative-ai", kGeminiBaseUrl, defaults, client, std::move(clock));
  if (!settings) return fail(std::move(settings).error());
  return ModelProviderPtr(std::make_shared<GeminiProvider>(std::move(*settings), std::move(client)));
}

}  // namespace talon::gateway
