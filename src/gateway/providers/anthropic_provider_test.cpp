// The anthropic-messages provider against a scripted peer speaking the Messages API's wire format
// (https://docs.anthropic.com/en/api/messages-streaming, .../api/errors): a streamed tool call, the
// tool result turn, usage, the cache breakpoint, and every failure as a run error.
#include "gateway/providers/anthropic_provider.h"

#include <gtest/gtest.h>

#include "gateway/providers/openai_chat_wire.h"
#include "support/io_thread.h"
#include "support/provider_call.h"
#include "support/provider_peer_cases.h"
#include "support/scripted_peer.h"

namespace talon::gateway {
namespace {

using talon::testing::PeerReply;
using talon::testing::ScriptedPeer;

std::string sse(std::string_view event, std::string_view data) {
  return "event: " + std::string(event) + "\ndata: " + std::string(data) + "\n\n";
}

const std::string kMessageStart = sse(
    "message_start",
    R"({"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-test","stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":1200,"cache_read_input_tokens":300,"output_tokens":2},"content":[],"stop_reason":null}})");

/// A streamed answer: some text, then a tool_use block whose input arrives in pieces.
PeerReply toolCallReply() {
  PeerReply r;
  r.pieces = {
      kMessageStart,
      sse("content_block_start",
          R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"),
      sse("ping", R"({"type": "ping"})"),
      sse("content_block_delta",
          R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Okay, let's check"}})"),
      sse("content_block_delta",
          R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" the weather."}})"),
      sse("content_block_stop", R"({"type":"content_block_stop","index":0})"),
      sse("content_block_start",
          R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}})"),
      sse("content_block_delta",
          R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}})"),
      sse("content_block_delta",
          R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\":"}})"),
      sse("content_block_delta",
          R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" \"San Francisco, CA\"}"}})"),
      sse("content_block_stop", R"({"type":"content_block_stop","index":1})"),
      sse("message_delta",
          R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}})"),
      sse("message_stop", R"({"type":"message_stop"})"),
  };
  return r;
}

/// The final answer after the tool result, with a thinking block first.
PeerReply anthropicFinalReply() {
  PeerReply r;
  r.pieces = {
      sse("message_start",
          R"({"type":"message_start","message":{"id":"msg_2","type":"message","role":"assistant","model":"claude-test","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":600,"cache_read_input_tokens":1500,"output_tokens":1}}})"),
      sse("content_block_start",
          R"({"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}})"),
      sse("content_block_delta",
          R"({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"It is sunny."}})"),
      sse("content_block_delta",
          R"({"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM"}})"),
      sse("content_block_stop", R"({"type":"content_block_stop","index":0})"),
      sse("content_block_start",
          R"({"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}})"),
      sse("content_block_delta",
          R"({"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"It is 15\u00b0C and sunny."}})"),
      sse("content_block_stop", R"({"type":"content_block_stop","index":1})"),
      sse("message_delta",
          R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":12}})"),
      sse("message_stop", R"({"type":"message_stop"})"),
  };
  return r;
}

class AnthropicProviderTest : public ::testing::Test {
 protected:
  AnthropicProviderTest() { io_.start(); }

  ModelProviderPtr make(const std::string& origin, config::ProviderConfig c = {}) {
    c.id = "anthropic";
    c.api = "anthropic-messages";
    c.baseUrl = origin;
    c.apiKey = std::string(talon::testing::kPeerTestKey);
    c.timeoutSeconds = 1;  // idle timeout for the stalled-stream case
    auto p = createAnthropicProvider(c, client_, nullptr);
    EXPECT_TRUE(p) << p.error().toString();
    return p ? *p : nullptr;
  }

  static ModelRequest request() {
    ModelRequest r;
    r.model = "claude-test";
    r.messages.push_back({"system", "You are a weather bot.", {}, ""});
    r.messages.push_back({"user", "Weather in SF?", {}, ""});
    r.tools.push_back(
        ToolSpec{"get_weather", "Current weather.",
                 json::object{{"type", "object"}, {"properties", json::object{{"location", {{"type", "string"}}}}}}});
    r.timeout = std::chrono::milliseconds(20'000);
    return r;
  }

  talon::testing::IoThread io_;
  net::HttpClientPtr client_ = net::HttpClient::create(io_.io());
};

TEST_F(AnthropicProviderTest, StreamedToolCallThenFinalAnswer) {
  ScriptedPeer peer({toolCallReply(), anthropicFinalReply()});
  auto provider = make(peer.origin());
  auto first = talon::testing::runProviderCall(*provider, request());
  ASSERT_TRUE(first.result) << first.result.error().toString();
  EXPECT_EQ(first.deltas, "Okay, let's check the weather.");
  EXPECT_EQ(first.result->text, first.deltas);
  EXPECT_EQ(first.result->finishReason, "tool_calls");
  ASSERT_EQ(first.result->toolCalls.size(), 1u);
  EXPECT_EQ(first.result->toolCalls[0].id, "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
  EXPECT_EQ(first.result->toolCalls[0].name, "get_weather");
  EXPECT_EQ(first.result->toolCalls[0].argumentsJson, R"({"location": "San Francisco, CA"})");
  EXPECT_EQ(first.result->usage.inputTokens, 472 + 1200 + 300);
  EXPECT_EQ(first.result->usage.outputTokens, 89);
  EXPECT_EQ(first.result->usage.cacheReadTokens, 300);
  EXPECT_EQ(first.result->usage.cacheWriteTokens, 1200);

  ModelRequest second = request();
  second.messages.push_back({"assistant", first.result->text, first.result->toolCalls, ""});
  second.messages.push_back({"tool", "15C, sunny", {}, "toolu_01T1x1fJ34qAmk2tNTrN7Up6"});
  auto out = talon::testing::runProviderCall(*provider, second);
  ASSERT_TRUE(out.result) << out.result.error().toString();
  EXPECT_EQ(out.result->text,
            "It is 15\xC2\xB0"
            "C and sunny.");
  EXPECT_EQ(out.deltas, out.result->text);  // the thinking block is not answer text
  EXPECT_EQ(out.result->finishReason, "stop");
  EXPECT_TRUE(out.result->toolCalls.empty());
  EXPECT_EQ(out.result->usage.inputTokens, 2100);
  EXPECT_EQ(out.result->usage.cacheReadTokens, 1500);

  auto seen = peer.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/v1/messages");
  EXPECT_EQ(seen[0].header("x-api-key"), talon::testing::kPeerTestKey);
  EXPECT_EQ(seen[0].header("anthropic-version"), "2023-06-01");
  EXPECT_EQ(seen[0].header("authorization"), "");
  EXPECT_EQ(seen[0].body, toJson(encodeAnthropicRequest(request(), kAnthropicDefaultMaxTokens)));
  EXPECT_EQ(seen[1].connection, seen[0].connection);  // kept alive

  auto body = parseJson(seen[1].body);
  ASSERT_TRUE(body);
  const auto& messages = body->at("messages").as_array();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(
      toJson(messages[1]),
      R"({"role":"assistant","content":[{"type":"text","text":"Okay, let's check the weather."},)"
      R"({"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{"location":"San Francisco, CA"}}]})");
  EXPECT_EQ(
      toJson(messages[2]),
      R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","content":"15C, sunny"}]})");
}

// `authHeader: true` sends the key as `Authorization: Bearer` and no x-api-key (OpenClaw's
// models.providers.*.authHeader: "force credential transport in the Authorization header").
TEST_F(AnthropicProviderTest, AuthHeaderTrueSendsTheKeyAsBearer) {
  ScriptedPeer peer({anthropicFinalReply()});
  config::ProviderConfig c;
  c.authHeader = true;
  auto provider = make(peer.origin(), c);
  auto out = talon::testing::runProviderCall(*provider, request());
  ASSERT_TRUE(out.result) << out.result.error().toString();
  auto seen = peer.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].header("authorization"), std::string("Bearer ") + std::string(talon::testing::kPeerTestKey));
  EXPECT_EQ(seen[0].header("x-api-key"), "");
}

// The shared streamed POST (http_stream_call.h, every API but OpenAI chat completions) sends
// ModelRequest::traceparent as the W3C `traceparent` header.
TEST_F(AnthropicProviderTest, SendsTheCallsTraceparentHeader) {
  ScriptedPeer peer({anthropicFinalReply()});
  auto provider = make(peer.origin(), {});
  auto r = request();
  r.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01";
  ASSERT_TRUE(talon::testing::runProviderCall(*provider, r).result);
  ASSERT_TRUE(talon::testing::runProviderCall(*provider, request()).result);
  auto seen = peer.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].header("traceparent"), "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01");
  EXPECT_EQ(seen[1].header("traceparent"), "");
}

TEST(AnthropicEncodingTest, SystemAndToolsAreATopLevelCachedPrefixThatStaysByteIdentical) {
  ModelRequest r;
  r.model = "claude-test";
  r.messages.push_back({"system", "Be brief.", {}, ""});
  r.messages.push_back({"user", "one", {}, ""});
  r.tools.push_back(ToolSpec{"read", "", {}});
  auto body = encodeAnthropicRequest(r, 100);
  EXPECT_EQ(toJson(body), R"({"model":"claude-test","max_tokens":100,)"
                          R"("system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],)"
                          R"("tools":[{"name":"read","input_schema":{"type":"object","properties":{}}}],)"
                          R"("messages":[{"role":"user","content":[{"type":"text","text":"one"}]}],"stream":true})");

  // The next turn: the bytes up to "messages" are the same.
  ModelRequest next = r;
  next.messages.push_back({"assistant", "ok", {}, ""});
  next.messages.push_back({"user", "two", {}, ""});
  std::string a = toJson(body), b = toJson(encodeAnthropicRequest(next, 100));
  auto prefix = a.substr(0, a.find("\"messages\""));
  EXPECT_EQ(b.substr(0, prefix.size()), prefix);

  // Without a system text the breakpoint goes on the last tool.
  ModelRequest noSystem;
  noSystem.model = "m";
  noSystem.messages.push_back({"user", "x", {}, ""});
  noSystem.tools.push_back(ToolSpec{"a", "A.", {}});
  noSystem.tools.push_back(ToolSpec{"b", "B.", {}});
  auto tools = encodeAnthropicRequest(noSystem, 1).at("tools").as_array();
  EXPECT_FALSE(tools[0].as_object().contains("cache_control"));
  EXPECT_EQ(toJson(tools[1].at("cache_control")), R"({"type":"ephemeral"})");
}

TEST(AnthropicEncodingTest, ParallelToolResultsShareOneUserMessage) {
  ModelRequest r;
  r.model = "m";
  r.messages.push_back({"user", "go", {}, ""});
  r.messages.push_back({"assistant", "", {{"t1", "a", "{}"}, {"t2", "b", "not json"}}, ""});
  r.messages.push_back({"tool", "A", {}, "t1"});
  r.messages.push_back({"tool", "B", {}, "t2"});
  auto messages = encodeAnthropicRequest(r, 1).at("messages").as_array();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[1].at("content").as_array().size(), 2u);  // no empty text block
  EXPECT_EQ(toJson(messages[1].at("content").at(1).at("input")), "{}");
  EXPECT_EQ(messages[2].at("content").as_array().size(), 2u);
}

TEST_F(AnthropicProviderTest, EveryFailureIsARunError) {
  auto errorBody = [](int, std::string_view type, std::string_view message) {
    return toJson(json::object{{"type", "error"}, {"error", json::object{{"type", type}, {"message", message}}}});
  };
  auto cases = talon::testing::commonPeerErrorCases(errorBody, kMessageStart, "text/event-stream");
  PeerReply malformed;
  malformed.pieces = {kMessageStart, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\n\n"};
  cases.push_back({"malformed", malformed, ErrorCode::kUpstream, 0, "is not JSON"});
  PeerReply overloaded;
  overloaded.pieces = {kMessageStart,
                       sse("error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})")};
  cases.push_back({"overloaded in stream", overloaded, ErrorCode::kUnavailable, 0, "overloaded_error: Overloaded"});
  PeerReply noStop;
  noStop.pieces = {kMessageStart,
                   sse("content_block_start",
                       R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})")};
  cases.push_back({"ends without message_stop", noStop, ErrorCode::kUpstream, 0, "ended before the answer"});
  talon::testing::expectPeerErrors([this](const std::string& origin) { return make(origin); }, request(), cases);
}

TEST_F(AnthropicProviderTest, CancelEndsAHangingCall) {
  PeerReply hang;
  hang.pieces = {kMessageStart};
  hang.end = PeerReply::End::kHang;
  ScriptedPeer peer({hang});
  auto provider = make(peer.origin());
  auto out = talon::testing::runProviderCall(*provider, request(), [](const ModelCallPtr& c) { c->cancel(); });
  ASSERT_FALSE(out.result);
  EXPECT_EQ(out.result.error().code, ErrorCode::kCancelled);
}

TEST_F(AnthropicProviderTest, AKeptAliveConnectionClosedByTheProviderIsRetriedOnAFreshOne) {
  PeerReply closed;
  closed.end = PeerReply::End::kCloseWithoutAnswer;
  ScriptedPeer peer({anthropicFinalReply(), closed, anthropicFinalReply()});
  auto provider = make(peer.origin());
  for (int i = 0; i < 2; ++i) {
    auto out = talon::testing::runProviderCall(*provider, request());
    ASSERT_TRUE(out.result) << out.result.error().toString();
    EXPECT_EQ(out.result->finishReason, "stop");
  }
  auto seen = peer.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1].connection, seen[0].connection);  // the kept-alive one, closed without an answer
  EXPECT_NE(seen[2].connection, seen[1].connection);  // the resend, on a new connection
  EXPECT_EQ(seen[2].body, seen[1].body);
}

TEST(AnthropicProviderCreateTest, ChecksTheConfig) {
  talon::testing::IoThread io;
  auto client = net::HttpClient::create(io.io());
  config::ProviderConfig c;
  c.id = "anthropic";
  c.api = "openai-completions";
  EXPECT_FALSE(createAnthropicProvider(c, client, nullptr));
  c.api = "anthropic-messages";
  EXPECT_TRUE(createAnthropicProvider(c, client, nullptr));  // baseUrl defaults to api.anthropic.com
  c.baseUrl = "ftp://x";
  EXPECT_FALSE(createAnthropicProvider(c, client, nullptr));
  c.baseUrl = "https://proxy.example/v1";
  EXPECT_TRUE(createAnthropicProvider(c, client, nullptr));
  EXPECT_FALSE(createAnthropicProvider(c, nullptr, nullptr));
}

}  // namespace
}  // namespace talon::gateway
