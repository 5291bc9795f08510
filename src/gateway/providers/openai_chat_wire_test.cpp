#include "gateway/providers/openai_chat_wire.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/file_io.h"
#include "gateway/providers/sse_parser.h"
#include "support/provider_testdata.h"

namespace talon::gateway {
namespace {

using testing::providerTestdata;

json::value parsed(std::string_view s) {
  auto v = parseJson(s);
  EXPECT_TRUE(v) << s;
  return v ? *v : json::value();
}

ModelRequest goldenRequest() {
  ModelRequest r;
  r.model = "gpt-4o-mini";
  r.messages.push_back({"system", "You are Talon. Be brief.", {}, ""});
  r.messages.push_back({"user", "What's the weather in Paris, and the time?", {}, ""});
  r.messages.push_back(
      {"assistant", "", {{"call_1", "get_weather", R"({"location":"Paris"})"}, {"call_2", "get_time", ""}}, ""});
  r.messages.push_back({"tool", R"({"tempC":18})", {}, "call_1"});
  r.messages.push_back({"tool", "14:05", {}, "call_2"});
  r.messages.push_back({"assistant",
                        "18 \xC2\xB0"
                        "C and 14:05.\nAnything else?",
                        {},
                        ""});
  r.messages.push_back({"user", "quote: \"\\ \x01\"", {}, ""});
  ToolSpec weather{
      "get_weather", "Current weather for a place.",
      parsed(R"({"type":"object","properties":{"location":{"type":"string"}},"required":["location"]})").as_object()};
  r.tools.push_back(weather);
  r.tools.push_back(ToolSpec{"get_time", "", {}});
  r.maxTokens = 256;
  return r;
}

TEST(OpenAiWire, RequestEncodingMatchesGolden) {
  auto body = encodeChatRequest(goldenRequest(), ChatRequestEncoding{});
  // Parsing keeps the golden file's key order, so this also checks the order of the keys.
  EXPECT_EQ(toJson(body), toJson(parsed(providerTestdata("openai_request.golden.json"))));
  // The text sent is the compact form of the same JSON, byte for byte.
  EXPECT_EQ(encodeChatRequestBody(goldenRequest(), ChatRequestEncoding{}),
            toJson(parsed(providerTestdata("openai_request.golden.json"))));
}

TEST(OpenAiWire, RequestBodyTemperatureAndInvalidUtf8) {
  ModelRequest r;
  r.model = "m";
  r.messages.push_back({"user", "bad \xFF byte", {}, ""});
  r.temperature = 0.25;
  ChatRequestEncoding e;
  e.stream = false;
  auto body = encodeChatRequestBody(r, e);
  EXPECT_EQ(body, R"({"model":"m","messages":[{"role":"user","content":"bad \ufffd byte"}],"temperature":2.5E-1,)"
                  R"("stream":false})");
  EXPECT_TRUE(parseJson(body)) << body;
}

TEST(OpenAiWire, RequestEncodingOptions) {
  ModelRequest r;
  r.model = "m";
  r.messages.push_back({"user", "hi", {}, ""});
  ChatRequestEncoding e;
  e.stream = false;
  EXPECT_EQ(toJson(encodeChatRequest(r, e)),
            R"({"model":"m","messages":[{"role":"user","content":"hi"}],"stream":false})");
  e.stream = true;
  e.maxTokensField = "max_completion_tokens";
  e.defaultMaxTokens = 99;
  EXPECT_EQ(toJson(encodeChatRequest(r, e)),
            R"({"model":"m","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":99,)"
            R"("stream":true,"stream_options":{"include_usage":true}})");
  r.maxTokens = 7;  // the request's own limit wins over the default
  EXPECT_EQ(encodeChatRequest(r, e).at("max_completion_tokens").as_int64(), 7);
  // An assistant message with neither text nor tool calls keeps an empty string content.
  r.messages.push_back({"assistant", "", {}, ""});
  EXPECT_EQ(toJson(encodeChatRequest(r, e).at("messages").as_array().back()), R"({"role":"assistant","content":""})");
}

/// Runs a whole SSE stream through the parser and the accumulator, as the provider does.
ModelResponse accumulate(std::string_view stream, std::string* textOut = nullptr, bool* sawDone = nullptr) {
  ChatStreamAccumulator acc;
  SseParser parser([&](const SseEvent& e) {
    if (e.data == "[DONE]") {
      if (sawDone) *sawDone = true;
      return false;
    }
    auto added = acc.applyChunk(parsed(e.data));
    EXPECT_TRUE(added) << e.data;
    if (added && textOut) *textOut += *added;
    return true;
  });
  EXPECT_TRUE(parser.feed(stream));
  return acc.response();
}

TEST(OpenAiWire, AccumulatesRecordedTextStream) {
  std::string deltas;
  bool done = false;
  auto r = accumulate(providerTestdata("openai_stream_text.sse"), &deltas, &done);
  EXPECT_TRUE(done);
  const std::string expected = "Hello! Un caf\xC3\xA9 \xE2\x98\x95\n\nLine \"two\":\tdone.";
  EXPECT_EQ(r.text, expected);
  EXPECT_EQ(deltas, expected);
  EXPECT_EQ(r.finishReason, "stop");
  EXPECT_TRUE(r.toolCalls.empty());
  EXPECT_EQ(r.usage.inputTokens, 19);
  EXPECT_EQ(r.usage.outputTokens, 10);
}

TEST(OpenAiWire, AccumulatesTwoParallelToolCalls) {
  std::string deltas;
  auto r = accumulate(providerTestdata("openai_stream_tools.sse"), &deltas);
  EXPECT_EQ(deltas, "");
  EXPECT_EQ(r.text, "");
  EXPECT_EQ(r.finishReason, "tool_calls");
  ASSERT_EQ(r.toolCalls.size(), 2u);
  EXPECT_EQ(r.toolCalls[0].id, "call_FNkpC2ZXwHbx0ejyZxRTJGPd");
  EXPECT_EQ(r.toolCalls[0].name, "get_weather");
  EXPECT_EQ(r.toolCalls[0].argumentsJson, R"({"location": "Paris, France"})");
  EXPECT_EQ(r.toolCalls[1].id, "call_jTzoe3MXWUeXbRGrxqqvPAtJ");
  EXPECT_EQ(r.toolCalls[1].name, "get_time");
  EXPECT_EQ(r.toolCalls[1].argumentsJson, R"({"tz": "Europe/Paris"})");
  EXPECT_EQ(r.usage.inputTokens, 82);
  EXPECT_EQ(r.usage.outputTokens, 48);
}

TEST(OpenAiWire, InterleavedToolCallDeltasMergeByIndex) {
  ChatStreamAccumulator acc;
  const char* chunks[] = {
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"b","type":"function","function":{"name":"second","arguments":""}}]}}]})",
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"first","arguments":"{\"x\""}}]}}]})",
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"y\":"}},{"index":0,"function":{"arguments":":1}"}}]}}]})",
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"2}"}}]}}]})",
      R"({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})",
  };
  for (const char* c : chunks) ASSERT_TRUE(acc.applyChunk(parsed(c)));
  auto r = acc.response();
  ASSERT_EQ(r.toolCalls.size(), 2u);
  EXPECT_EQ(r.toolCalls[0].id, "a");
  EXPECT_EQ(r.toolCalls[0].name, "first");
  EXPECT_EQ(r.toolCalls[0].argumentsJson, R"({"x":1})");
  EXPECT_EQ(r.toolCalls[1].id, "b");
  EXPECT_EQ(r.toolCalls[1].name, "second");
  EXPECT_EQ(r.toolCalls[1].argumentsJson, R"({"y":2})");
  EXPECT_EQ(r.finishReason, "tool_calls");
}

TEST(OpenAiWire, ToolCallDeltasWithoutIndexFromCompatibleServers) {
  ChatStreamAccumulator acc;
  const char* chunks[] = {
      // Whole calls in one delta each, arguments as an object, no index, no id on the second.
      R"({"choices":[{"delta":{"tool_calls":[{"id":"c1","function":{"name":"read","arguments":{"path":"a"}}}]}}]})",
      R"({"choices":[{"delta":{"tool_calls":[{"id":"c2","function":{"name":"list","arguments":"{\"d"}}]}}]})",
      R"({"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"\":1}"}}]}}]})",
  };
  for (const char* c : chunks) ASSERT_TRUE(acc.applyChunk(parsed(c)));
  auto r = acc.response();
  ASSERT_EQ(r.toolCalls.size(), 2u);
  EXPECT_EQ(r.toolCalls[0].id, "c1");
  EXPECT_EQ(r.toolCalls[0].argumentsJson, R"({"path":"a"})");
  EXPECT_EQ(r.toolCalls[1].id, "c2");
  EXPECT_EQ(r.toolCalls[1].argumentsJson, R"({"d":1})");

  ChatStreamAccumulator noId;
  ASSERT_TRUE(noId.applyChunk(
      parsed(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":3,"function":{"name":"x"}}]}}]})")));
  EXPECT_EQ(noId.response().toolCalls.at(0).id, "call_3");
}

TEST(OpenAiWire, AccumulatorRejectsWrongTypes) {
  const char* bad[] = {
      R"([1,2])",
      R"({"choices":{}})",
      R"({"choices":[{"index":0,"delta":[]}]})",
      R"({"choices":[{"index":0,"delta":{"content":5}}]})",
      R"({"choices":[{"index":0,"delta":{"tool_calls":{}}}]})",
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":"f"}]}}]})",
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":3}}]}}]})",
  };
  for (const char* c : bad) {
    ChatStreamAccumulator acc;
    auto r = acc.applyChunk(parsed(c));
    ASSERT_FALSE(r) << c;
    EXPECT_EQ(r.error().code, ErrorCode::kUpstream) << c;
  }
  // Tolerated: null choices, null delta, content null, choices for another index only.
  ChatStreamAccumulator ok;
  EXPECT_TRUE(ok.applyChunk(parsed(R"({"choices":null,"usage":null})")));
  EXPECT_TRUE(ok.applyChunk(parsed(R"({"choices":[{"index":0,"delta":null}]})")));
  EXPECT_TRUE(ok.applyChunk(parsed(R"({"choices":[{"index":0,"delta":{"content":null}}]})")));
  EXPECT_TRUE(ok.applyChunk(parsed(R"({"choices":[{"index":1,"delta":{"content":"other"}}]})")));
  EXPECT_EQ(ok.response().text, "");
}

TEST(OpenAiWire, DecodesWholeCompletion) {
  // The shape of the API reference's "The chat completion object" example, with a tool call.
  auto r = decodeChatCompletion(parsed(R"({
    "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "object": "chat.completion", "created": 1741570283,
    "model": "gpt-4o-2024-08-06",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Checking.", "refusal": null,
      "tool_calls": [{"id": "call_abc", "type": "function",
                      "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}}],
      "annotations": []}, "logprobs": null, "finish_reason": "tool_calls"}],
    "usage": {"prompt_tokens": 1117, "completion_tokens": 46, "total_tokens": 1163},
    "service_tier": "default", "system_fingerprint": "fp_fc9f1d7035"})"));
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->text, "Checking.");
  ASSERT_EQ(r->toolCalls.size(), 1u);
  EXPECT_EQ(r->toolCalls[0].id, "call_abc");
  EXPECT_EQ(r->toolCalls[0].name, "get_weather");
  EXPECT_EQ(r->toolCalls[0].argumentsJson, R"({"location":"Paris"})");
  EXPECT_EQ(r->finishReason, "tool_calls");
  EXPECT_EQ(r->usage.inputTokens, 1117);
  EXPECT_EQ(r->usage.outputTokens, 46);

  auto parts = decodeChatCompletion(parsed(
      R"({"choices":[{"index":0,"message":{"role":"assistant","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},"finish_reason":"stop"}]})"));
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->text, "ab");

  for (const char* bad : {R"([])", R"({"choices":[]})", R"({"choices":[{"index":0}]})",
                          R"({"choices":[{"index":0,"message":{"content":1}}]})"}) {
    auto e = decodeChatCompletion(parsed(bad));
    ASSERT_FALSE(e) << bad;
    EXPECT_EQ(e.error().code, ErrorCode::kUpstream);
  }
}

TEST(OpenAiWire, ErrorMessageShapes) {
  EXPECT_EQ(errorMessageOf(parsed(R"({"error":{"message":"bad key","type":"invalid_request_error"}})")), "bad key");
  EXPECT_EQ(errorMessageOf(parsed(R"({"error":"plain"})")), "plain");
  EXPECT_EQ(errorMessageOf(parsed(R"({"message":"top"})")), "top");
  EXPECT_EQ(errorMessageOf(parsed(R"({"error":{"code":5}})")), R"({"code":5})");
  EXPECT_EQ(errorMessageOf(parsed(R"({"choices":[]})")), std::nullopt);
}

TEST(OpenAiWire, HttpDates) {
  // RFC 9110 §5.6.7's example instant in all three forms: 1994-11-06T08:49:37Z.
  constexpr int64_t kMs = 784111777000;
  EXPECT_EQ(parseHttpDateMs("Sun, 06 Nov 1994 08:49:37 GMT"), kMs);
  EXPECT_EQ(parseHttpDateMs("Sunday, 06-Nov-94 08:49:37 GMT"), kMs);
  EXPECT_EQ(parseHttpDateMs("Sun Nov  6 08:49:37 1994"), kMs);
  EXPECT_EQ(parseHttpDateMs("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
  EXPECT_EQ(parseHttpDateMs("Tue, 29 Feb 2028 23:59:60 GMT"), (1835481599 + 1) * int64_t{1000});
  for (const char* bad :
       {"", "soon", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 32 Nov 1994 08:49:37 GMT"}) {
    EXPECT_EQ(parseHttpDateMs(bad), std::nullopt) << bad;
  }
}

TEST(OpenAiWire, RetryAfter) {
  const int64_t now = *parseHttpDateMs("Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(retryAfterMs({}, now), std::nullopt);
  EXPECT_EQ(retryAfterMs({{"Retry-After", "2"}}, now), 2000);
  EXPECT_EQ(retryAfterMs({{"retry-after", " 1.5 "}}, now), 1500);
  EXPECT_EQ(retryAfterMs({{"RETRY-AFTER", "Sun, 06 Nov 1994 08:50:07 GMT"}}, now), 30000);
  EXPECT_EQ(retryAfterMs({{"Retry-After", "Sun, 06 Nov 1994 08:00:00 GMT"}}, now), 0);  // in the past
  EXPECT_EQ(retryAfterMs({{"Retry-After", "-3"}}, now), std::nullopt);
  EXPECT_EQ(retryAfterMs({{"Retry-After", "later"}}, now), std::nullopt);
  // OpenAI's retry-after-ms wins over Retry-After, as in the OpenAI SDKs.
  EXPECT_EQ(retryAfterMs({{"Retry-After", "2"}, {"retry-after-ms", "250"}}, now), 250);
  EXPECT_EQ(retryAfterMs({{"Retry-After", "2"}, {"retry-after-ms", "x"}}, now), 2000);
}

struct MappingCase {
  int status;
  ErrorCode code;
};

TEST(OpenAiWire, HttpErrorMapping) {
  const MappingCase cases[] = {
      {400, ErrorCode::kInvalidArgument}, {401, ErrorCode::kUnauthenticated},  {403, ErrorCode::kUnauthenticated},
      {404, ErrorCode::kInvalidArgument}, {408, ErrorCode::kDeadlineExceeded}, {409, ErrorCode::kUpstream},
      {413, ErrorCode::kInvalidArgument}, {422, ErrorCode::kInvalidArgument},  {429, ErrorCode::kResourceExhausted},
      {500, ErrorCode::kUnavailable},     {502, ErrorCode::kUnavailable},      {503, ErrorCode::kUnavailable},
      {504, ErrorCode::kUnavailable},     {302, ErrorCode::kUpstream},
  };
  const std::string body =
      R"({"error":{"message":"Incorrect API key provided: sk-abc***xyz.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}})";
  for (const auto& c : cases) {
    Error e = chatHttpError("openai", c.status, {{"Retry-After", "3"}}, body, 0);
    EXPECT_EQ(e.code, c.code) << c.status;
    EXPECT_NE(e.message.find("Incorrect API key provided"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find(std::to_string(c.status)), std::string::npos) << e.message;
    EXPECT_EQ(e.publicMessage().find("sk-"), std::string::npos);
    EXPECT_FALSE(e.externalMessage.empty());
    EXPECT_EQ(e.details.at("httpStatus").as_int64(), c.status);
    EXPECT_EQ(e.details.at("vendorCode").as_string(), "invalid_api_key");
    bool retryHint = c.code == ErrorCode::kResourceExhausted || c.code == ErrorCode::kUnavailable;
    EXPECT_EQ(e.retryAfterMs, retryHint ? 3000 : 0) << c.status;
  }
  // A body that is not JSON: its beginning, control characters blanked.
  Error html = chatHttpError("p", 502, {}, "<html>\n<body>Bad gateway</body></html>", 0);
  EXPECT_NE(html.message.find("<html> <body>Bad gateway"), std::string::npos) << html.message;
  Error empty = chatHttpError("p", 429, {}, "", 0);
  EXPECT_EQ(empty.retryAfterMs, 0);
  EXPECT_NE(empty.message.find("(empty body)"), std::string::npos);
}

}  // namespace
}  // namespace talon::gateway
