// The provider over real HTTP (net::HttpClient) against the scripted mock model server
// (tests/support/mock_model_server.h) on port 0: the wire format end to end and every error mapping.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "gateway/providers/openai_chat_wire.h"
#include "gateway/providers/openai_provider.h"
#include "support/io_thread.h"
#include "support/mock_model_server.h"

namespace talon::gateway {
namespace {

/// Upper bound for one call in these tests; reaching it fails the test instead of hanging the suite.
constexpr auto kTestGuard = std::chrono::seconds(30);

struct CallResult {
  std::string deltas;
  Result<ModelResponse> result;
};

class OpenAiProviderMockTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (server_) server_->stop();
    io_.stop();
  }

  /// Starts the mock with `script` (JSON text) and a provider pointed at it.
  void serve(std::string_view script, config::ProviderConfig c = {}) {
    auto parsed = parseJson(script);
    ASSERT_TRUE(parsed) << parsed.error().toString();
    auto s = mock::parseMockScript(*parsed);
    ASSERT_TRUE(s) << s.error().toString();
    mock::MockModelOptions options;
    options.script = std::move(*s);
    options.recordRequests = true;
    auto server = mock::MockModelServer::create(io_.io(), std::move(options));
    ASSERT_TRUE(server) << server.error().toString();
    server_ = std::move(*server);
    io_.start();
    c.id = "mock";
    if (c.baseUrl.empty()) c.baseUrl = server_->baseUrl();
    if (c.apiKey.empty()) c.apiKey = "sk-mock";
    auto p = createOpenAiProvider(c, client_, nullptr);
    ASSERT_TRUE(p) << p.error().toString();
    provider_ = *p;
  }

  static ModelRequest request(std::string userText) {
    ModelRequest r;
    r.model = "mock-model";
    r.messages.push_back({"system", "You are a test.", {}, ""});
    r.messages.push_back({"user", std::move(userText), {}, ""});
    r.timeout = std::chrono::milliseconds(20'000);
    return r;
  }

  /// Runs one call to completion. `started` runs with the call handle right after stream().
  CallResult call(ModelRequest r, const std::function<void(const ModelCallPtr&)>& started = nullptr) {
    auto state = std::make_shared<std::pair<std::promise<void>, CallResult>>();
    state->second.result = fail(ErrorCode::kInternal, "no result");
    auto done = state->first.get_future();
    ModelStreamHandlers h;
    h.onTextDelta = [state](std::string_view d) { state->second.deltas.append(d); };
    h.onComplete = [state](Result<ModelResponse> res) {
      state->second.result = std::move(res);
      state->first.set_value();
    };
    auto handle = provider_->stream(std::move(r), std::move(h));
    if (started) started(handle);
    if (done.wait_for(kTestGuard) != std::future_status::ready) {
      ADD_FAILURE() << "the call did not complete";
      handle->cancel();
      done.wait();
    }
    return state->second;
  }

  talon::testing::IoThread io_;
  net::HttpClientPtr client_ = net::HttpClient::create(io_.io());
  std::unique_ptr<mock::MockModelServer> server_;
  ModelProviderPtr provider_;
};

TEST_F(OpenAiProviderMockTest, StreamsTextAndSendsTheEncodedRequest) {
  serve(R"([{"match":{"lastUserContains":"hello"},"reply":{"text":"Hi there, caf\u00e9 \u2615!","chunks":4}},
            {"reply":{"text":"fallback"}}])");
  ModelRequest r = request("hello model");
  r.tools.push_back(ToolSpec{"write", "Writes a file.", json::object{{"type", "object"}}});
  auto out = call(r);
  ASSERT_TRUE(out.result) << out.result.error().toString();
  EXPECT_EQ(out.result->text, "Hi there, caf\xC3\xA9 \xE2\x98\x95!");
  EXPECT_EQ(out.deltas, out.result->text);
  EXPECT_EQ(out.result->finishReason, "stop");
  EXPECT_GT(out.result->usage.inputTokens, 0);
  EXPECT_GT(out.result->usage.outputTokens, 0);

  auto seen = server_->requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].path, "/v1/chat/completions");
  EXPECT_EQ(*findHeader(seen[0].headers, "authorization"), "Bearer sk-mock");
  EXPECT_EQ(seen[0].body, encodeChatRequestBody(r, ChatRequestEncoding{}));

  EXPECT_EQ(call(request("something else")).result->text, "fallback");
}

// ModelRequest::traceparent goes out as the W3C `traceparent` header; without one no header is sent.
TEST_F(OpenAiProviderMockTest, SendsTheCallsTraceparentHeader) {
  serve(R"([{"reply":{"text":"ok"}}])");
  ModelRequest r = request("hello");
  r.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01";
  ASSERT_TRUE(call(r).result);
  ASSERT_TRUE(call(request("again")).result);
  auto seen = server_->requests();
  ASSERT_EQ(seen.size(), 2u);
  auto sent = findHeader(seen[0].headers, "traceparent");
  ASSERT_TRUE(sent);
  EXPECT_EQ(*sent, "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01");
  EXPECT_FALSE(findHeader(seen[1].headers, "traceparent"));
}

TEST_F(OpenAiProviderMockTest, ToolCallsThenToolResultTurn) {
  serve(R"([{"match":{"lastRole":"tool"},"reply":{"text":"done","chunks":3}},
            {"match":{"lastUserContains":"write a file","lastRole":"user"},
             "reply":{"toolCalls":[{"name":"write","arguments":{"path":"a.txt","content":"hi"}},
                                   {"name":"read","arguments":"{\"path\":\"b.txt\"}"}],"argumentChunks":3}}])");
  auto first = call(request("please write a file"));
  ASSERT_TRUE(first.result) << first.result.error().toString();
  EXPECT_EQ(first.result->finishReason, "tool_calls");
  EXPECT_EQ(first.deltas, "");
  ASSERT_EQ(first.result->toolCalls.size(), 2u);
  EXPECT_EQ(first.result->toolCalls[0].name, "write");
  EXPECT_EQ(first.result->toolCalls[0].argumentsJson, R"({"path":"a.txt","content":"hi"})");
  EXPECT_EQ(first.result->toolCalls[1].name, "read");
  EXPECT_EQ(first.result->toolCalls[1].argumentsJson, R"({"path":"b.txt"})");
  EXPECT_FALSE(first.result->toolCalls[0].id.empty());
  EXPECT_NE(first.result->toolCalls[0].id, first.result->toolCalls[1].id);

  ModelRequest second = request("please write a file");
  second.messages.push_back({"assistant", "", first.result->toolCalls, ""});
  for (const auto& tc : first.result->toolCalls) second.messages.push_back({"tool", "ok", {}, tc.id});
  auto out = call(second);
  ASSERT_TRUE(out.result) << out.result.error().toString();
  EXPECT_EQ(out.result->text, "done");
  EXPECT_EQ(out.deltas, "done");
  // The second request carried the tool calls and their results back.
  auto body = parseJson(server_->requests().back().body);
  ASSERT_TRUE(body);
  const auto& msgs = body->at("messages").as_array();
  ASSERT_EQ(msgs.size(), 5u);
  EXPECT_EQ(msgs[2].at("tool_calls").as_array().size(), 2u);
  EXPECT_EQ(msgs[3].at("tool_call_id").as_string(), first.result->toolCalls[0].id);
}

TEST_F(OpenAiProviderMockTest, AcceptsAWholeJsonAnswer) {
  serve(R"([{"reply":{"text":"whole","nonStream":true,"usage":{"prompt_tokens":7,"completion_tokens":2}}}])");
  auto out = call(request("x"));
  ASSERT_TRUE(out.result) << out.result.error().toString();
  EXPECT_EQ(out.result->text, "whole");
  EXPECT_EQ(out.deltas, "whole");
  EXPECT_EQ(out.result->usage.inputTokens, 7);
  EXPECT_EQ(out.result->usage.outputTokens, 2);
}

TEST_F(OpenAiProviderMockTest, RawCrlfStreamSplitIntoManyWrites) {
  serve(
      R"([{"chunkDelayMs":1,"reply":{"chunks":9,"raw":": comment\r\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\r\n\r\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"},\"finish_reason\":\"stop\"}]}\r\n\r\ndata: [DONE]\r\n\r\n"}}])");
  auto out = call(request("x"));
  ASSERT_TRUE(out.result) << out.result.error().toString();
  EXPECT_EQ(out.result->text, "ab");
  EXPECT_EQ(out.result->finishReason, "stop");
}

struct ErrorCase {
  const char* rule;
  ErrorCode code;
  long long retryAfterMs;
  const char* inMessage;
};

TEST_F(OpenAiProviderMockTest, MapsEveryErrorFromTheServer) {
  const ErrorCase cases[] = {
      {R"({"status":401})", ErrorCode::kUnauthenticated, 0, "Incorrect API key"},
      {R"({"status":403,"error":{"message":"region not supported"}})", ErrorCode::kUnauthenticated, 0, "region"},
      {R"({"status":429,"retryAfter":2})", ErrorCode::kResourceExhausted, 2000, "Rate limit"},
      {R"({"status":429,"retryAfterMs":1500,"retryAfter":9})", ErrorCode::kResourceExhausted, 1500, "429"},
      {R"({"status":429,"retryAfter":"Thu, 01 Jan 1970 00:00:00 GMT"})", ErrorCode::kResourceExhausted, 0, "429"},
      {R"({"status":500})", ErrorCode::kUnavailable, 0, "The server had an error"},
      {R"({"status":503,"retryAfter":1})", ErrorCode::kUnavailable, 1000, "overloaded"},
      {R"({"status":400,"error":{"message":"Invalid 'messages[1].content': string too long.","code":"string_above_max_length"}})",
       ErrorCode::kInvalidArgument, 0, "string too long"},
      {R"({"status":404,"error":{"message":"The model `nope` does not exist","code":"model_not_found"}})",
       ErrorCode::kInvalidArgument, 0, "does not exist"},
      {R"({"malformed":true})", ErrorCode::kUpstream, 0, "not JSON"},
      {R"({"noDone":true,"reply":{"text":"cut"}})", ErrorCode::kUpstream, 0, "[DONE]"},
      {R"({"streamError":"The server had an error while processing your request.","reply":{"text":"partial"}})",
       ErrorCode::kUpstream, 0, "error in stream: The server had an error"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.rule);
    if (server_) server_->stop();
    serve(std::string("[") + c.rule + "]");
    auto out = call(request("x"));
    ASSERT_FALSE(out.result);
    EXPECT_EQ(out.result.error().code, c.code) << out.result.error().toString();
    EXPECT_EQ(out.result.error().retryAfterMs, c.retryAfterMs);
    EXPECT_NE(out.result.error().message.find(c.inMessage), std::string::npos) << out.result.error().message;
  }
}

TEST_F(OpenAiProviderMockTest, ApiKeyIsCheckedByTheServer) {
  config::ProviderConfig c;
  c.apiKey = "sk-wrong";
  serve(R"({"apiKey":"sk-right","rules":[{"reply":{"text":"ok"}}]})", c);
  auto out = call(request("x"));
  ASSERT_FALSE(out.result);
  EXPECT_EQ(out.result.error().code, ErrorCode::kUnauthenticated);
}

TEST_F(OpenAiProviderMockTest, TotalTimeoutEndsAHangingStream) {
  serve(R"([{"hang":true}])");
  ModelRequest r = request("x");
  r.timeout = std::chrono::milliseconds(300);
  auto out = call(r);
  ASSERT_FALSE(out.result);
  EXPECT_EQ(out.result.error().code, ErrorCode::kDeadlineExceeded) << out.result.error().toString();
}

TEST_F(OpenAiProviderMockTest, IdleTimeoutEndsASilentStream) {
  config::ProviderConfig c;
  c.timeoutSeconds = 1;  // the provider's idle timeout; the call's own budget is 20 s
  serve(R"([{"hang":true}])", c);
  auto out = call(request("x"));
  ASSERT_FALSE(out.result);
  EXPECT_EQ(out.result.error().code, ErrorCode::kDeadlineExceeded) << out.result.error().toString();
}

TEST_F(OpenAiProviderMockTest, DelayedAnswerArrives) {
  serve(R"([{"delayMs":50,"chunkDelayMs":5,"reply":{"text":"slow but sure","chunks":4}}])");
  // Twice: the second chunked stream runs on the kept-alive connection of the first.
  for (int i = 0; i < 2; ++i) {
    auto out = call(request("x"));
    ASSERT_TRUE(out.result) << out.result.error().toString();
    EXPECT_EQ(out.result->text, "slow but sure");
    EXPECT_EQ(out.deltas, "slow but sure");
  }
}

TEST_F(OpenAiProviderMockTest, CancelEndsAHangingCall) {
  serve(R"([{"hang":true}])");
  auto out = call(request("x"), [](const ModelCallPtr& c) { c->cancel(); });
  ASSERT_FALSE(out.result);
  EXPECT_EQ(out.result.error().code, ErrorCode::kCancelled);
}

TEST_F(OpenAiProviderMockTest, ConnectionRefusedIsUnavailable) {
  serve(R"([{"reply":{"text":"ok"}}])");
  config::ProviderConfig c;
  c.id = "gone";
  c.baseUrl = server_->baseUrl();
  server_->stop();
  auto p = createOpenAiProvider(c, client_, nullptr);
  ASSERT_TRUE(p);
  provider_ = *p;
  auto out = call(request("x"));
  ASSERT_FALSE(out.result);
  EXPECT_EQ(out.result.error().code, ErrorCode::kUnavailable) << out.result.error().toString();
}

TEST_F(OpenAiProviderMockTest, TimesLimitsARuleAndConnectionsAreReused) {
  serve(R"([{"times":1,"status":429,"retryAfter":0},{"reply":{"text":"second try"}}])");
  auto first = call(request("x"));
  ASSERT_FALSE(first.result);
  EXPECT_EQ(first.result.error().code, ErrorCode::kResourceExhausted);
  for (int i = 0; i < 50; ++i) {
    auto out = call(request("x"));
    ASSERT_TRUE(out.result) << out.result.error().toString();
    EXPECT_EQ(out.result->text, "second try");
  }
  EXPECT_EQ(server_->requestCount(), 51u);
}

}  // namespace
}  // namespace talon::gateway
