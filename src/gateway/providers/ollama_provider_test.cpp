// The native ollama provider against a scripted peer speaking Ollama's /api/chat NDJSON stream
// (https://github.com/ollama/ollama/blob/main/docs/api.md, https://ollama.com/blog/streaming-tool) and
// /api/tags: a streamed tool call, the tool result turn, usage, the /v1 baseUrl rule, discovery, and
// every failure as a run error.
#include "gateway/providers/ollama_provider.h"

#include <gtest/gtest.h>

#include <future>

#include "support/io_thread.h"
#include "support/provider_call.h"
#include "support/provider_peer_cases.h"
#include "support/scripted_peer.h"

namespace talon::gateway {
namespace {

using talon::testing::PeerReply;
using talon::testing::ScriptedPeer;

constexpr std::string_view kNdjson = "application/x-ndjson";

const std::string kFirstLine =
    R"({"model":"qwen3","created_at":"2025-05-27T22:54:57.641643Z","message":{"role":"assistant","content":"Let me check"},"done":false})"
    "\n";

PeerReply ollamaToolCallReply() {
  PeerReply r;
  r.contentType = kNdjson;
  r.pieces = {
      kFirstLine,
      R"({"model":"qwen3","created_at":"2025-05-27T22:54:57.7Z","message":{"role":"assistant","content":".","thinking":"weather tool"},"done":false})"
      "\n",
      // One line split over two writes.
      R"({"model":"qwen3","created_at":"2025-05-27T22:54:58.1Z","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_current_weather",)",
      R"("arguments":{"format":"celsius","location":"Toronto"}}}]},"done":false})"
      "\n",
      R"({"model":"qwen3","created_at":"2025-05-27T22:54:58.2Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":2402400875,"load_duration":24245708,"prompt_eval_count":212,"prompt_eval_duration":36914833,"eval_count":65,"eval_duration":2340736542})"
      "\n",
  };
  return r;
}

PeerReply ollamaFinalReply() {
  PeerReply r;
  r.contentType = kNdjson;
  r.pieces = {
      R"({"model":"qwen3","created_at":"2025-05-27T22:55:00Z","message":{"role":"assistant","content":"It is 11"},"done":false})"
      "\n",
      R"({"model":"qwen3","created_at":"2025-05-27T22:55:00.1Z","message":{"role":"assistant","content":"\u00b0C."},"done":false})"
      "\n",
      // The last line without its LF.
      R"({"model":"qwen3","created_at":"2025-05-27T22:55:00.2Z","message":{"role":"assistant","content":""},"done_reason":"length","done":true,"prompt_eval_count":300,"eval_count":5})",
  };
  return r;
}

class OllamaProviderTest : public ::testing::Test {
 protected:
  OllamaProviderTest() { io_.start(); }

  ModelProviderPtr make(const std::string& baseUrl, std::string key = std::string(talon::testing::kPeerTestKey)) {
    config::ProviderConfig c;
    c.id = "ollama";
    c.api = "ollama";
    c.baseUrl = baseUrl;
    c.apiKey = std::move(key);
    c.timeoutSeconds = 1;
    auto p = createOllamaProvider(c, client_, nullptr);
    EXPECT_TRUE(p) << p.error().toString();
    return p ? *p : nullptr;
  }

  static ModelRequest request() {
    ModelRequest r;
    r.model = "qwen3";
    r.messages.push_back({"system", "Be brief.", {}, ""});
    r.messages.push_back({"user", "What is the weather today in Toronto?", {}, ""});
    r.tools.push_back(
        ToolSpec{"get_current_weather", "Get the current weather for a location",
                 json::object{{"type", "object"}, {"properties", json::object{{"location", {{"type", "string"}}}}}}});
    r.timeout = std::chrono::milliseconds(20'000);
    return r;
  }

  talon::testing::IoThread io_;
  net::HttpClientPtr client_ = net::HttpClient::create(io_.io());
};

TEST_F(OllamaProviderTest, StreamedToolCallThenFinalAnswer) {
  ScriptedPeer peer({ollamaToolCallReply(), ollamaFinalReply()});
  auto provider = make(peer.origin(), "");
  auto first = talon::testing::runProviderCall(*provider, request());
  ASSERT_TRUE(first.result) << first.result.error().toString();
  EXPECT_EQ(first.deltas, "Let me check.");
  EXPECT_EQ(first.result->finishReason, "tool_calls");
  ASSERT_EQ(first.result->toolCalls.size(), 1u);
  EXPECT_EQ(first.result->toolCalls[0].id, "call_0");
  EXPECT_EQ(first.result->toolCalls[0].name, "get_current_weather");
  EXPECT_EQ(first.result->toolCalls[0].argumentsJson, R"({"format":"celsius","location":"Toronto"})");
  EXPECT_EQ(first.result->usage.inputTokens, 212);
  EXPECT_EQ(first.result->usage.outputTokens, 65);

  ModelRequest second = request();
  second.messages.push_back({"assistant", first.result->text, first.result->toolCalls, ""});
  second.messages.push_back({"tool", "11 degrees celsius", {}, "call_0"});
  auto out = talon::testing::runProviderCall(*provider, second);
  ASSERT_TRUE(out.result) << out.result.error().toString();
  EXPECT_EQ(out.result->text,
            "It is 11\xC2\xB0"
            "C.");
  EXPECT_EQ(out.deltas,
            "It is 11\xC2\xB0"
            "C.");
  EXPECT_EQ(out.result->finishReason, "length");
  EXPECT_EQ(out.result->usage.outputTokens, 5);

  auto seen = peer.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].target, "/api/chat");
  EXPECT_EQ(seen[0].header("authorization"), "");  // a local Ollama needs no key
  EXPECT_EQ(seen[0].body, toJson(encodeOllamaChatRequest(request(), std::nullopt)));
  auto body = parseJson(seen[1].body);
  ASSERT_TRUE(body);
  const auto& messages = body->at("messages").as_array();
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(toJson(messages[2].at("tool_calls")),
            R"([{"function":{"name":"get_current_weather","arguments":{"format":"celsius","location":"Toronto"}}}])");
  EXPECT_EQ(toJson(messages[3]), R"({"role":"tool","content":"11 degrees celsius","tool_name":"get_current_weather"})");
}

TEST_F(OllamaProviderTest, AV1BaseUrlUsesTheNativeApiAsOpenClawDoes) {
  EXPECT_EQ(ollamaApiBase(""), "http://127.0.0.1:11434");
  EXPECT_EQ(ollamaApiBase("http://host:11434/v1/"), "http://host:11434");
  EXPECT_EQ(ollamaApiBase("http://host:11434/"), "http://host:11434");
  EXPECT_EQ(ollamaApiBase("http://host:11434/ollama"), "http://host:11434/ollama");

  ScriptedPeer peer({ollamaFinalReply()});
  auto provider = make(peer.origin() + "/v1");
  auto out = talon::testing::runProviderCall(*provider, request());
  ASSERT_TRUE(out.result) << out.result.error().toString();
  auto seen = peer.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/api/chat");
  EXPECT_EQ(seen[0].header("authorization"), "Bearer " + std::string(talon::testing::kPeerTestKey));
}

TEST_F(OllamaProviderTest, EveryFailureIsARunError) {
  auto errorBody = [](int, std::string_view, std::string_view message) {
    return toJson(json::object{{"error", message}});
  };
  auto cases = talon::testing::commonPeerErrorCases(errorBody, kFirstLine, std::string(kNdjson));
  PeerReply malformed;
  malformed.contentType = kNdjson;
  malformed.pieces = {kFirstLine, "{\"model\":\"qwen3\",\"message\":\n"};
  cases.push_back({"malformed", malformed, ErrorCode::kUpstream, 0, "not a JSON object"});
  PeerReply streamError;
  streamError.contentType = kNdjson;
  streamError.pieces = {kFirstLine, "{\"error\":\"model runner has unexpectedly stopped\"}\n"};
  cases.push_back({"error line", streamError, ErrorCode::kUpstream, 0, "model runner has unexpectedly stopped"});
  PeerReply noDone;
  noDone.contentType = kNdjson;
  noDone.pieces = {kFirstLine};
  cases.push_back({"ends without done", noDone, ErrorCode::kUpstream, 0, "ended before"});
  talon::testing::expectPeerErrors([this](const std::string& origin) { return make(origin); }, request(), cases);
}

TEST_F(OllamaProviderTest, DiscoversModelsFromApiTags) {
  ScriptedPeer peer({PeerReply::whole(
      200,
      R"({"models":[{"name":"qwen3:latest","model":"qwen3:latest","modified_at":"2025-05-27T22:54:57Z","size":5225388164,"digest":"e4b5","details":{"format":"gguf","family":"qwen3","parameter_size":"8.2B","quantization_level":"Q4_K_M"}},{"name":"llama3.2:3b","model":"llama3.2:3b"}]})")});
  config::ProviderConfig c;
  c.id = "ollama";
  c.api = "ollama";
  c.baseUrl = peer.origin() + "/v1";
  std::promise<Result<std::vector<OllamaTagsModel>>> promise;
  discoverOllamaModels(*client_, c, std::chrono::milliseconds(10'000),
                       [&](Result<std::vector<OllamaTagsModel>> r) { promise.set_value(std::move(r)); });
  auto found = promise.get_future().get();
  ASSERT_TRUE(found) << found.error().toString();
  ASSERT_EQ(found->size(), 2u);
  EXPECT_EQ((*found)[0].name, "qwen3:latest");
  EXPECT_EQ((*found)[0].digest, "e4b5");
  EXPECT_EQ((*found)[0].modifiedAt, "2025-05-27T22:54:57Z");
  EXPECT_FALSE((*found)[0].capabilities);
  EXPECT_FALSE((*found)[0].remote);
  EXPECT_EQ((*found)[1].name, "llama3.2:3b");
  EXPECT_TRUE((*found)[1].digest.empty());
  ASSERT_EQ(peer.requests().size(), 1u);
  EXPECT_EQ(peer.requests()[0].method, "GET");
  EXPECT_EQ(peer.requests()[0].target, "/api/tags");

  ScriptedPeer broken({PeerReply::whole(200, R"({"nope":[]})")});
  c.baseUrl = broken.origin();
  std::promise<Result<std::vector<OllamaTagsModel>>> second;
  discoverOllamaModels(*client_, c, std::chrono::milliseconds(10'000),
                       [&](Result<std::vector<OllamaTagsModel>> r) { second.set_value(std::move(r)); });
  auto bad = second.get_future().get();
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kUpstream);
}

TEST_F(OllamaProviderTest, ShowsAModelWithPostApiShow) {
  // An /api/show answer as Ollama 0.12 writes it (Ollama API reference "Show Model Information").
  ScriptedPeer peer({PeerReply::whole(
      200,
      R"({"modelfile":"FROM qwen3","parameters":"temperature 0.6\nnum_ctx 8192\nstop \"<|im_end|>\"","template":"{{ .Prompt }}","details":{"family":"qwen3"},"model_info":{"general.architecture":"qwen3","general.parameter_count":8190735360,"qwen3.context_length":40960,"qwen3.embedding_length":4096},"capabilities":["completion","tools","thinking"],"modified_at":"2025-05-27T22:54:57Z"})")});
  config::ProviderConfig c;
  c.id = "ollama";
  c.api = "ollama";
  c.baseUrl = peer.origin();
  c.apiKey = "secret-key";
  std::promise<Result<OllamaShowInfo>> promise;
  showOllamaModel(*client_, c, "qwen3:latest", std::chrono::milliseconds(10'000),
                  [&](Result<OllamaShowInfo> r) { promise.set_value(std::move(r)); });
  auto info = promise.get_future().get();
  ASSERT_TRUE(info) << info.error().toString();
  EXPECT_EQ(info->contextWindow, 40960);  // num_ctx 8192 is smaller: it does not lower the window
  EXPECT_EQ(info->capabilities, (std::vector<std::string>{"completion", "tools", "thinking"}));
  ASSERT_EQ(peer.requests().size(), 1u);
  EXPECT_EQ(peer.requests()[0].method, "POST");
  EXPECT_EQ(peer.requests()[0].target, "/api/show");
  EXPECT_EQ(peer.requests()[0].body, R"({"model":"qwen3:latest"})");
  EXPECT_EQ(peer.requests()[0].header("Content-Type"), "application/json");
  EXPECT_EQ(peer.requests()[0].header("Authorization"), "Bearer secret-key");
}

TEST(OllamaShowInfo, ContextWindowFromModelInfoRaisedByTheLastNumCtxLine) {
  auto raised = parseOllamaShowInfo(
      R"({"parameters":"num_ctx 4096\r\n  num_ctx 65536\nnum_ctx -1\nnum_ctxx 9\nnum_ctx 99abc","model_info":{"llama.context_length":32768}})");
  ASSERT_TRUE(raised);
  EXPECT_EQ(raised->contextWindow, 65536);
  EXPECT_FALSE(raised->capabilities);  // no array: unknown, not empty

  auto first = parseOllamaShowInfo(
      R"({"model_info":{"a.context_length":0,"b.context_length":"big","c.context_length":2048.7,"d.context_length":4096},"capabilities":["completion",7]})");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->contextWindow, 2048);  // the first positive number, floored
  EXPECT_EQ(first->capabilities, (std::vector<std::string>{"completion"}));

  auto none = parseOllamaShowInfo(R"({"parameters":"temperature 1"})");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->contextWindow);
  EXPECT_FALSE(parseOllamaShowInfo("[1]"));
}

}  // namespace
}  // namespace talon::gateway
