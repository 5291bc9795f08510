// The google-generative-ai provider against a scripted peer speaking Gemini's streamGenerateContent
// with alt=sse (https://ai.google.dev/api/generate-content): a function call, the functionResponse
// turn, usageMetadata, and every failure as a run error.
#include "gateway/providers/gemini_provider.h"

#include <gtest/gtest.h>

#include "support/io_thread.h"
#include "support/provider_call.h"
#include "support/provider_peer_cases.h"
#include "support/scripted_peer.h"

namespace talon::gateway {
namespace {

using talon::testing::PeerReply;
using talon::testing::ScriptedPeer;

std::string data(std::string_view json) { return "data: " + std::string(json) + "\r\n\r\n"; }

const std::string kFirstChunk = data(
    R"({"candidates": [{"content": {"parts": [{"text": "Checking"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 71,"totalTokenCount": 71},"modelVersion": "gemini-test"})");

PeerReply functionCallReply() {
  PeerReply r;
  r.pieces = {
      kFirstChunk,
      data(
          R"({"candidates": [{"content": {"parts": [{"text": "I should call the tool.","thought": true}],"role": "model"},"index": 0}],"modelVersion": "gemini-test"})"),
      data(
          R"({"candidates": [{"content": {"parts": [{"text": " the lights."},{"functionCall": {"name": "set_light_values","args": {"brightness": 25,"color_temp": "warm"}},"thoughtSignature": "CiQB0e2Kb7sig+/="}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 71,"cachedContentTokenCount": 64,"candidatesTokenCount": 21,"thoughtsTokenCount": 9,"totalTokenCount": 101},"modelVersion": "gemini-test"})"),
  };
  return r;
}

PeerReply geminiFinalReply() {
  PeerReply r;
  r.pieces = {
      data(R"({"candidates": [{"content": {"parts": [{"text": "The lights are now"}],"role": "model"},"index": 0}]})"),
      data(
          R"({"candidates": [{"content": {"parts": [{"text": " dim and warm."}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 120,"candidatesTokenCount": 8,"totalTokenCount": 128}})"),
  };
  return r;
}

class GeminiProviderTest : public ::testing::Test {
 protected:
  GeminiProviderTest() { io_.start(); }

  ModelProviderPtr make(const std::string& origin) {
    config::ProviderConfig c;
    c.id = "google";
    c.api = "google-generative-ai";
    c.baseUrl = origin + "/v1beta";
    c.apiKey = std::string(talon::testing::kPeerTestKey);
    c.timeoutSeconds = 1;
    auto p = createGeminiProvider(c, client_, nullptr);
    EXPECT_TRUE(p) << p.error().toString();
    return p ? *p : nullptr;
  }

  static ModelRequest request() {
    ModelRequest r;
    r.model = "gemini-test";
    r.messages.push_back({"system", "You control the lights.", {}, ""});
    r.messages.push_back({"user", "Dim the lights so the room feels cozy and warm.", {}, ""});
    r.tools.push_back(ToolSpec{
        "set_light_values", "Sets the brightness and color temperature of a light.",
        json::object{{"type", "object"}, {"properties", json::object{{"brightness", {{"type", "integer"}}}}}}});
    r.timeout = std::chrono::milliseconds(20'000);
    return r;
  }

  talon::testing::IoThread io_;
  net::HttpClientPtr client_ = net::HttpClient::create(io_.io());
};

TEST_F(GeminiProviderTest, StreamedFunctionCallThenFinalAnswer) {
  ScriptedPeer peer({functionCallReply(), geminiFinalReply()});
  auto provider = make(peer.origin());
  auto first = talon::testing::runProviderCall(*provider, request());
  ASSERT_TRUE(first.result) << first.result.error().toString();
  EXPECT_EQ(first.deltas, "Checking the lights.");  // the thought part is not answer text
  EXPECT_EQ(first.result->finishReason, "tool_calls");
  ASSERT_EQ(first.result->toolCalls.size(), 1u);
  EXPECT_EQ(first.result->toolCalls[0].id, "call_0");
  EXPECT_EQ(first.result->toolCalls[0].name, "set_light_values");
  EXPECT_EQ(first.result->toolCalls[0].argumentsJson, R"({"brightness":25,"color_temp":"warm"})");
  EXPECT_EQ(first.result->toolCalls[0].signature, "CiQB0e2Kb7sig+/=");
  EXPECT_EQ(first.result->usage.inputTokens, 71);
  EXPECT_EQ(first.result->usage.cacheReadTokens, 64);
  EXPECT_EQ(first.result->usage.outputTokens, 30);

  ModelRequest second = request();
  second.messages.push_back({"assistant", first.result->text, first.result->toolCalls, ""});
  second.messages.push_back({"tool", R"({"brightness":25})", {}, "call_0"});
  auto out = talon::testing::runProviderCall(*provider, second);
  ASSERT_TRUE(out.result) << out.result.error().toString();
  EXPECT_EQ(out.result->text, "The lights are now dim and warm.");
  EXPECT_EQ(out.deltas, out.result->text);
  EXPECT_EQ(out.result->finishReason, "stop");
  EXPECT_EQ(out.result->usage.outputTokens, 8);

  auto seen = peer.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].target, "/v1beta/models/gemini-test:streamGenerateContent?alt=sse");
  EXPECT_EQ(seen[0].header("x-goog-api-key"), talon::testing::kPeerTestKey);
  EXPECT_EQ(
      seen[0].body,
      R"({"systemInstruction":{"parts":[{"text":"You control the lights."}]},)"
      R"("tools":[{"functionDeclarations":[{"name":"set_light_values","description":"Sets the brightness and color temperature of a light.",)"
      R"("parametersJsonSchema":{"type":"object","properties":{"brightness":{"type":"integer"}}}}]}],)"
      R"("contents":[{"role":"user","parts":[{"text":"Dim the lights so the room feels cozy and warm."}]}]})");
  auto body = parseJson(seen[1].body);
  ASSERT_TRUE(body);
  const auto& contents = body->at("contents").as_array();
  ASSERT_EQ(contents.size(), 3u);
  EXPECT_EQ(
      toJson(contents[1]),
      R"({"role":"model","parts":[{"text":"Checking the lights."},{"functionCall":{"name":"set_light_values","args":{"brightness":25,"color_temp":"warm"}},"thoughtSignature":"CiQB0e2Kb7sig+/="}]})");
  EXPECT_EQ(
      toJson(contents[2]),
      R"({"role":"user","parts":[{"functionResponse":{"name":"set_light_values","response":{"output":"{\"brightness\":25}"}}}]})");
}

TEST(GeminiRequestTest, CallsWithoutASignatureGetTheDocumentedDummyOnTheStepsFirstCall) {
  // Calls another model made (before a fallback): Gemini 3 wants a signature on the first call of a step.
  ModelRequest r;
  r.model = "gemini-test";
  r.messages.push_back({"user", "two lights", {}, ""});
  r.messages.push_back({"assistant", "", {ToolCall{"a", "light", "{}"}, ToolCall{"b", "light", "{}"}}, ""});
  r.messages.push_back({"tool", "ok", {}, "a"});
  r.messages.push_back({"tool", "ok", {}, "b"});
  json::object body = encodeGeminiRequest(r, std::nullopt);
  const auto& parts = body.at("contents").as_array().at(1).at("parts").as_array();
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].at("thoughtSignature"), "skip_thought_signature_validator");
  EXPECT_FALSE(parts[1].as_object().contains("thoughtSignature"));
}

TEST_F(GeminiProviderTest, MaxTokensAndModelPrefix) {
  PeerReply r;
  r.pieces = {
      data(R"({"candidates":[{"content":{"parts":[{"text":"Once"}],"role":"model"},"finishReason":"MAX_TOKENS"}]})")};
  ScriptedPeer peer({r});
  ModelRequest req = request();
  req.model = "models/gemini test";
  req.maxTokens = 1;
  auto out = talon::testing::runProviderCall(*make(peer.origin()), req);
  ASSERT_TRUE(out.result) << out.result.error().toString();
  EXPECT_EQ(out.result->finishReason, "length");
  EXPECT_EQ(peer.requests()[0].target, "/v1beta/models/gemini%20test:streamGenerateContent?alt=sse");
  EXPECT_NE(peer.requests()[0].body.find(R"("generationConfig":{"maxOutputTokens":1})"), std::string::npos);
}

TEST_F(GeminiProviderTest, EveryFailureIsARunError) {
  auto errorBody = [](int status, std::string_view, std::string_view message) {
    std::string_view s = status == 401   ? "UNAUTHENTICATED"
                         : status == 403 ? "PERMISSION_DENIED"
                         : status == 429 ? "RESOURCE_EXHAUSTED"
                                         : "INTERNAL";
    return toJson(json::object{{"error", json::object{{"code", status}, {"message", message}, {"status", s}}}});
  };
  auto cases = talon::testing::commonPeerErrorCases(errorBody, kFirstChunk, "text/event-stream");
  PeerReply malformed;
  malformed.pieces = {kFirstChunk, "data: {\"candidates\": [\r\n\r\n"};
  cases.push_back({"malformed", malformed, ErrorCode::kUpstream, 0, "is not JSON"});
  PeerReply streamError;
  streamError.pieces = {kFirstChunk,
                        data(R"({"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}})")};
  cases.push_back(
      {"error in stream", streamError, ErrorCode::kUnavailable, 0, "UNAVAILABLE: The model is overloaded."});
  PeerReply noFinish;
  noFinish.pieces = {kFirstChunk};
  cases.push_back({"ends without finishReason", noFinish, ErrorCode::kUpstream, 0, "ended before the answer"});
  talon::testing::expectPeerErrors([this](const std::string& origin) { return make(origin); }, request(), cases);
}

}  // namespace
}  // namespace talon::gateway
