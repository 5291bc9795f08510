// The openai-responses provider against a scripted peer speaking the Responses API's SSE events
// (https://platform.openai.com/docs/api-reference/responses-streaming): reasoning and a function call,
// the function_call_output turn, usage with cached tokens, and every failure as a run error.
#include "gateway/providers/openai_responses_provider.h"

#include <gtest/gtest.h>

#include "support/io_thread.h"
#include "support/provider_call.h"
#include "support/provider_peer_cases.h"
#include "support/scripted_peer.h"

namespace talon::gateway {
namespace {

using talon::testing::PeerReply;
using talon::testing::ScriptedPeer;

std::string responsesSse(std::string_view event, std::string_view data) {
  return "event: " + std::string(event) + "\ndata: " + std::string(data) + "\n\n";
}

const std::string kCreated = responsesSse(
    "response.created",
    R"({"type":"response.created","sequence_number":0,"response":{"id":"resp_67c","object":"response","created_at":1741290958,"status":"in_progress","error":null,"incomplete_details":null,"model":"gpt-test","output":[],"usage":null}})");

PeerReply responsesFunctionCallReply() {
  PeerReply r;
  r.pieces = {
      kCreated,
      responsesSse(
          "response.in_progress",
          R"({"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_67c","object":"response","status":"in_progress","output":[]}})"),
      responsesSse(
          "response.output_item.added",
          R"({"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"rs_1","type":"reasoning","summary":[]}})"),
      responsesSse(
          "response.reasoning_summary_text.delta",
          R"({"type":"response.reasoning_summary_text.delta","sequence_number":3,"item_id":"rs_1","output_index":0,"summary_index":0,"delta":"Need the weather."})"),
      responsesSse(
          "response.output_item.done",
          R"({"type":"response.output_item.done","sequence_number":4,"output_index":0,"item":{"id":"rs_1","type":"reasoning","summary":[{"type":"summary_text","text":"Need the weather."}]}})"),
      responsesSse(
          "response.output_item.added",
          R"({"type":"response.output_item.added","sequence_number":5,"output_index":1,"item":{"type":"function_call","id":"fc_12345xyz","call_id":"call_12345xyz","name":"get_weather","arguments":"","status":"in_progress"}})"),
      responsesSse(
          "response.function_call_arguments.delta",
          R"({"type":"response.function_call_arguments.delta","sequence_number":6,"item_id":"fc_12345xyz","output_index":1,"delta":"{\"location\":"})"),
      responsesSse(
          "response.function_call_arguments.delta",
          R"({"type":"response.function_call_arguments.delta","sequence_number":7,"item_id":"fc_12345xyz","output_index":1,"delta":"\"Paris, France\"}"})"),
      responsesSse(
          "response.function_call_arguments.done",
          R"({"type":"response.function_call_arguments.done","sequence_number":8,"item_id":"fc_12345xyz","output_index":1,"arguments":"{\"location\":\"Paris, France\"}"})"),
      responsesSse(
          "response.output_item.done",
          R"({"type":"response.output_item.done","sequence_number":9,"output_index":1,"item":{"type":"function_call","id":"fc_12345xyz","call_id":"call_12345xyz","name":"get_weather","arguments":"{\"location\":\"Paris, France\"}","status":"completed"}})"),
      responsesSse(
          "response.completed",
          R"({"type":"response.completed","sequence_number":10,"response":{"id":"resp_67c","object":"response","status":"completed","error":null,"incomplete_details":null,"output":[],"usage":{"input_tokens":328,"input_tokens_details":{"cached_tokens":256},"output_tokens":52,"output_tokens_details":{"reasoning_tokens":30},"total_tokens":380}}})"),
  };
  return r;
}

PeerReply responsesFinalReply() {
  PeerReply r;
  r.pieces = {
      kCreated,
      responsesSse(
          "response.output_item.added",
          R"({"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"msg_1","type":"message","status":"in_progress","role":"assistant","content":[]}})"),
      responsesSse(
          "response.content_part.added",
          R"({"type":"response.content_part.added","sequence_number":2,"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}})"),
      responsesSse(
          "response.output_text.delta",
          R"({"type":"response.output_text.delta","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"It is 18"})"),
      responsesSse(
          "response.output_text.delta",
          R"({"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":" degrees in Paris."})"),
      responsesSse(
          "response.output_text.done",
          R"({"type":"response.output_text.done","sequence_number":5,"item_id":"msg_1","output_index":0,"content_index":0,"text":"It is 18 degrees in Paris."})"),
      responsesSse(
          "response.completed",
          R"({"type":"response.completed","sequence_number":6,"response":{"id":"resp_2","object":"response","status":"completed","output":[],"usage":{"input_tokens":400,"input_tokens_details":{"cached_tokens":0},"output_tokens":9,"total_tokens":409}}})"),
  };
  return r;
}

class ResponsesProviderTest : public ::testing::Test {
 protected:
  ResponsesProviderTest() { io_.start(); }

  ModelProviderPtr make(const std::string& origin) {
    config::ProviderConfig c;
    c.id = "openai";
    c.api = "openai-responses";
    c.baseUrl = origin + "/v1";
    c.apiKey = std::string(talon::testing::kPeerTestKey);
    c.timeoutSeconds = 1;
    auto p = createOpenAiResponsesProvider(c, client_, nullptr);
    EXPECT_TRUE(p) << p.error().toString();
    return p ? *p : nullptr;
  }

  static ModelRequest request() {
    ModelRequest r;
    r.model = "gpt-test";
    r.messages.push_back({"system", "You answer weather questions.", {}, ""});
    r.messages.push_back({"user", "What's the weather in Paris?", {}, ""});
    r.tools.push_back(
        ToolSpec{"get_weather", "Current weather.",
                 json::object{{"type", "object"}, {"properties", json::object{{"location", {{"type", "string"}}}}}}});
    r.maxTokens = 500;
    r.timeout = std::chrono::milliseconds(20'000);
    return r;
  }

  talon::testing::IoThread io_;
  net::HttpClientPtr client_ = net::HttpClient::create(io_.io());
};

TEST_F(ResponsesProviderTest, StreamedFunctionCallThenFinalAnswer) {
  ScriptedPeer peer({responsesFunctionCallReply(), responsesFinalReply()});
  auto provider = make(peer.origin());
  auto first = talon::testing::runProviderCall(*provider, request());
  ASSERT_TRUE(first.result) << first.result.error().toString();
  EXPECT_EQ(first.deltas, "");  // the reasoning summary is not answer text
  EXPECT_EQ(first.result->finishReason, "tool_calls");
  ASSERT_EQ(first.result->toolCalls.size(), 1u);
  EXPECT_EQ(first.result->toolCalls[0].id, "call_12345xyz");
  EXPECT_EQ(first.result->toolCalls[0].name, "get_weather");
  EXPECT_EQ(first.result->toolCalls[0].argumentsJson, R"({"location":"Paris, France"})");
  EXPECT_EQ(first.result->usage.inputTokens, 328);
  EXPECT_EQ(first.result->usage.cacheReadTokens, 256);
  EXPECT_EQ(first.result->usage.outputTokens, 52);

  ModelRequest second = request();
  second.messages.push_back({"assistant", "", first.result->toolCalls, ""});
  second.messages.push_back({"tool", "18C", {}, "call_12345xyz"});
  auto out = talon::testing::runProviderCall(*provider, second);
  ASSERT_TRUE(out.result) << out.result.error().toString();
  EXPECT_EQ(out.result->text, "It is 18 degrees in Paris.");
  EXPECT_EQ(out.deltas, out.result->text);
  EXPECT_EQ(out.result->finishReason, "stop");

  auto seen = peer.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].target, "/v1/responses");
  EXPECT_EQ(seen[0].header("authorization"), "Bearer " + std::string(talon::testing::kPeerTestKey));
  EXPECT_EQ(seen[0].body,
            R"({"model":"gpt-test","instructions":"You answer weather questions.",)"
            R"("input":[{"role":"user","content":"What's the weather in Paris?"}],)"
            R"("tools":[{"type":"function","name":"get_weather","description":"Current weather.",)"
            R"("parameters":{"type":"object","properties":{"location":{"type":"string"}}},"strict":false}],)"
            R"("max_output_tokens":500,"stream":true,"store":false})");
  auto body = parseJson(seen[1].body);
  ASSERT_TRUE(body);
  const auto& input = body->at("input").as_array();
  ASSERT_EQ(input.size(), 3u);
  EXPECT_EQ(
      toJson(input[1]),
      R"({"type":"function_call","call_id":"call_12345xyz","name":"get_weather","arguments":"{\"location\":\"Paris, France\"}"})");
  EXPECT_EQ(toJson(input[2]), R"({"type":"function_call_output","call_id":"call_12345xyz","output":"18C"})");
}

TEST_F(ResponsesProviderTest, IncompleteMeansLength) {
  PeerReply r;
  r.pieces = {
      kCreated,
      responsesSse(
          "response.output_text.delta",
          R"({"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"Once upon"})"),
      responsesSse(
          "response.incomplete",
          R"({"type":"response.incomplete","response":{"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"usage":{"input_tokens":5,"output_tokens":3}}})"),
  };
  ScriptedPeer peer({r});
  auto out = talon::testing::runProviderCall(*make(peer.origin()), request());
  ASSERT_TRUE(out.result) << out.result.error().toString();
  EXPECT_EQ(out.result->text, "Once upon");
  EXPECT_EQ(out.result->finishReason, "length");
  EXPECT_EQ(out.result->usage.outputTokens, 3);
}

TEST_F(ResponsesProviderTest, EveryFailureIsARunError) {
  auto errorBody = [](int, std::string_view type, std::string_view message) {
    return toJson(json::object{
        {"error", json::object{{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}}}});
  };
  auto cases = talon::testing::commonPeerErrorCases(errorBody, kCreated, "text/event-stream");
  PeerReply malformed;
  malformed.pieces = {kCreated, "event: response.output_text.delta\ndata: {\"type\":\"response.output\n\n"};
  cases.push_back({"malformed", malformed, ErrorCode::kUpstream, 0, "is not JSON"});
  PeerReply failed;
  failed.pieces = {
      kCreated,
      responsesSse(
          "response.failed",
          R"({"type":"response.failed","response":{"id":"resp_1","status":"failed","error":{"code":"server_error","message":"The model failed to generate a response."}}})")};
  cases.push_back({"response.failed", failed, ErrorCode::kUnavailable, 0, "server_error: The model failed"});
  PeerReply error;
  error.pieces = {
      kCreated,
      responsesSse(
          "error",
          R"({"type":"error","code":"rate_limit_exceeded","message":"Slow down.","param":null,"sequence_number":1})")};
  cases.push_back({"error event", error, ErrorCode::kResourceExhausted, 0, "rate_limit_exceeded: Slow down."});
  PeerReply noCompleted;
  noCompleted.pieces = {kCreated};
  cases.push_back({"ends without response.completed", noCompleted, ErrorCode::kUpstream, 0, "ended before the answer"});
  talon::testing::expectPeerErrors([this](const std::string& origin) { return make(origin); }, request(), cases);
}

}  // namespace
}  // namespace talon::gateway
