// The provider against a scripted HttpClient (the net seam): every byte arrangement and outcome the
// client can report, without sockets. openai_provider_mock_test.cpp runs it against a real server.
#include "gateway/providers/openai_provider.h"

#include <gtest/gtest.h>

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "base/file_io.h"
#include "gateway/providers/openai_chat_wire.h"
#include "support/provider_testdata.h"

namespace talon::gateway {
namespace {

using testing::providerTestdata;

/// One request the provider started; the test plays the client's callbacks.
struct FakeExchange {
  net::ClientRequest request;
  net::ClientHandlers handlers;
  int cancels = 0;

  void headers(int status, net::Headers h) { handlers.onHeaders(status, h); }
  void body(std::string_view data) { handlers.onBody(data); }
  void complete(Status st = {}) { handlers.onComplete(std::move(st)); }
};

class FakeCall final : public net::ClientCall {
 public:
  explicit FakeCall(std::shared_ptr<FakeExchange> ex) : ex_(std::move(ex)) {}
  void cancel() override { ++ex_->cancels; }

 private:
  std::shared_ptr<FakeExchange> ex_;
};

class FakeHttpClient final : public net::HttpClient {
 public:
  net::ClientCallPtr start(net::ClientRequest request, net::ClientHandlers handlers) override {
    auto ex = std::make_shared<FakeExchange>();
    ex->request = std::move(request);
    ex->handlers = std::move(handlers);
    exchanges.push_back(ex);
    if (failSynchronously) ex->complete(fail(ErrorCode::kInvalidArgument, "bad URL"));
    return std::make_shared<FakeCall>(ex);
  }
  std::vector<std::shared_ptr<FakeExchange>> exchanges;
  bool failSynchronously = false;
};

/// What a call reported.
struct Outcome {
  std::string deltas;
  int completions = 0;
  std::optional<Result<ModelResponse>> result;

  ModelStreamHandlers handlers() {
    return {[this](std::string_view d) { deltas.append(d); },
            [this](Result<ModelResponse> r) {
              ++completions;
              result = std::move(r);
            }};
  }
  const Error& error() const { return result->error(); }
};

config::ProviderConfig providerConfig() {
  config::ProviderConfig c;
  c.id = "acme";
  c.baseUrl = "http://127.0.0.1:9/v1/";
  c.apiKey = "sk-test-123";
  c.headers = {{"X-Title", "Talon"}};
  return c;
}

ModelRequest simpleRequest() {
  ModelRequest r;
  r.model = "gpt-test";
  r.messages.push_back({"user", "hi", {}, ""});
  r.timeout = std::chrono::milliseconds(30'000);
  return r;
}

const net::Headers kSse = {{"Content-Type", "text/event-stream; charset=utf-8"}};

class OpenAiProviderTest : public ::testing::Test {
 protected:
  void SetUp() override { makeProvider(providerConfig()); }
  void makeProvider(const config::ProviderConfig& c) {
    auto p = createOpenAiProvider(c, client_, clock_);
    ASSERT_TRUE(p) << p.error().toString();
    provider_ = *p;
  }
  /// Starts a call and returns its exchange.
  FakeExchange& start(Outcome& out, ModelRequest r = simpleRequest()) {
    call_ = provider_->stream(std::move(r), out.handlers());
    EXPECT_FALSE(client_->exchanges.empty());
    return *client_->exchanges.back();
  }

  std::shared_ptr<FakeHttpClient> client_ = std::make_shared<FakeHttpClient>();
  std::shared_ptr<SimulatedClock> clock_ = std::make_shared<SimulatedClock>();
  ModelProviderPtr provider_;
  ModelCallPtr call_;
};

TEST_F(OpenAiProviderTest, SendsTheRequest) {
  Outcome out;
  ModelRequest r = simpleRequest();
  r.timeout = std::chrono::milliseconds(5'000);
  auto& ex = start(out, r);
  EXPECT_EQ(provider_->id(), "acme");
  EXPECT_EQ(ex.request.method, "POST");
  EXPECT_EQ(ex.request.url, "http://127.0.0.1:9/v1/chat/completions");
  EXPECT_EQ(findHeader(ex.request.headers, "authorization"), "Bearer sk-test-123");
  EXPECT_EQ(findHeader(ex.request.headers, "content-type"), "application/json");
  EXPECT_EQ(findHeader(ex.request.headers, "x-title"), "Talon");
  EXPECT_EQ(ex.request.body, encodeChatRequestBody(r, ChatRequestEncoding{}));
  EXPECT_EQ(ex.request.totalTimeout, std::chrono::milliseconds(5'000));
  EXPECT_EQ(ex.request.idleTimeout, std::chrono::milliseconds(5'000));  // capped by the call's budget
  EXPECT_EQ(out.completions, 0);
}

TEST_F(OpenAiProviderTest, RequestVariantsFromConfig) {
  auto c = providerConfig();
  c.baseUrl = "https://api.openai.com/v1";
  c.timeoutSeconds = 2;
  c.maxTokens = 100;
  c.models.push_back({"gpt-test", "", std::nullopt, 64});
  makeProvider(c);
  Outcome out;
  auto& ex = start(out);
  EXPECT_EQ(ex.request.url, "https://api.openai.com/v1/chat/completions");
  EXPECT_EQ(ex.request.idleTimeout, std::chrono::milliseconds(2'000));
  EXPECT_EQ(parseJson(ex.request.body)->at("max_completion_tokens").as_int64(), 64);
  ModelRequest other = simpleRequest();
  other.model = "other";
  auto& ex2 = start(out, other);
  EXPECT_EQ(parseJson(ex2.request.body)->at("max_completion_tokens").as_int64(), 100);

  // No key (Ollama): no Authorization. A configured Authorization replaces the Bearer header.
  c = providerConfig();
  c.apiKey.clear();
  makeProvider(c);
  EXPECT_EQ(findHeader(start(out).request.headers, "authorization"), std::nullopt);
  EXPECT_EQ(parseJson(client_->exchanges.back()->request.body)->as_object().count("max_tokens"), 0u);
  c = providerConfig();
  c.headers = {{"authorization", "Token abc"}};
  makeProvider(c);
  auto& ex3 = start(out);
  int auths = 0;
  for (const auto& [k, v] : ex3.request.headers) auths += (k == "Authorization" || k == "authorization");
  EXPECT_EQ(auths, 1);
  EXPECT_EQ(findHeader(ex3.request.headers, "authorization"), "Token abc");
}

TEST_F(OpenAiProviderTest, StreamsTextAtEverySplitPoint) {
  const std::string stream = providerTestdata("openai_stream_text.sse");
  const std::string expected = "Hello! Un caf\xC3\xA9 \xE2\x98\x95\n\nLine \"two\":\tdone.";
  for (std::size_t i = 0; i <= stream.size(); ++i) {
    Outcome out;
    auto& ex = start(out);
    ex.headers(200, kSse);
    ex.body(std::string_view(stream).substr(0, i));
    ex.body(std::string_view(stream).substr(i));
    ASSERT_EQ(out.completions, 1) << "split at " << i;
    ASSERT_TRUE(*out.result) << out.error().toString();
    const ModelResponse& r = **out.result;
    ASSERT_EQ(r.text, expected) << "split at " << i;
    ASSERT_EQ(out.deltas, expected);
    ASSERT_EQ(r.finishReason, "stop");
    ASSERT_EQ(r.usage.inputTokens, 19);
    ASSERT_EQ(r.usage.outputTokens, 10);
    ex.complete();  // the client finishing the response after [DONE] changes nothing
    ASSERT_EQ(out.completions, 1);
    ASSERT_EQ(ex.cancels, 0);
  }
}

TEST_F(OpenAiProviderTest, StreamsTwoToolCalls) {
  Outcome out;
  auto& ex = start(out);
  ex.headers(200, kSse);
  const std::string stream = providerTestdata("openai_stream_tools.sse");
  for (std::size_t i = 0; i < stream.size(); i += 7) ex.body(std::string_view(stream).substr(i, 7));
  ASSERT_EQ(out.completions, 1);
  ASSERT_TRUE(*out.result);
  const auto& calls = (*out.result)->toolCalls;
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].name, "get_weather");
  EXPECT_EQ(calls[0].argumentsJson, R"({"location": "Paris, France"})");
  EXPECT_EQ(calls[1].name, "get_time");
  EXPECT_EQ(calls[1].argumentsJson, R"({"tz": "Europe/Paris"})");
  EXPECT_EQ((*out.result)->finishReason, "tool_calls");
  EXPECT_EQ(out.deltas, "");
}

TEST_F(OpenAiProviderTest, AcceptsAWholeJsonAnswer) {
  Outcome out;
  auto& ex = start(out);
  ex.headers(200, {{"content-type", "application/json"}});
  ex.body(R"({"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant",)");
  ex.body(R"("content":"whole"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}})");
  EXPECT_EQ(out.completions, 0);
  ex.complete();
  ASSERT_EQ(out.completions, 1);
  ASSERT_TRUE(*out.result);
  EXPECT_EQ((*out.result)->text, "whole");
  EXPECT_EQ(out.deltas, "whole");
  EXPECT_EQ((*out.result)->usage.inputTokens, 3);

  Outcome bad;
  auto& ex2 = start(bad);
  ex2.headers(200, {{"content-type", "application/json"}});
  ex2.body("{not json");
  ex2.complete();
  ASSERT_EQ(bad.completions, 1);
  EXPECT_EQ(bad.error().code, ErrorCode::kUpstream);

  Outcome err;
  auto& ex3 = start(err);
  ex3.headers(200, {{"content-type", "application/json"}});
  ex3.body(R"({"error":{"message":"model overloaded"}})");
  ex3.complete();
  ASSERT_EQ(err.completions, 1);
  EXPECT_EQ(err.error().code, ErrorCode::kUpstream);
  EXPECT_NE(err.error().message.find("model overloaded"), std::string::npos);
}

struct StatusCase {
  int status;
  net::Headers headers;
  ErrorCode code;
  long long retryAfterMs;
};

TEST_F(OpenAiProviderTest, MapsHttpErrors) {
  // SimulatedClock starts at 1'700'000'000'000 ms = Tue, 14 Nov 2023 22:13:20 GMT.
  const StatusCase cases[] = {
      {401, {}, ErrorCode::kUnauthenticated, 0},
      {403, {}, ErrorCode::kUnauthenticated, 0},
      {429, {{"Retry-After", "2"}}, ErrorCode::kResourceExhausted, 2000},
      {429, {{"Retry-After", "Tue, 14 Nov 2023 22:13:50 GMT"}}, ErrorCode::kResourceExhausted, 30000},
      {429, {{"retry-after-ms", "750"}, {"Retry-After", "1"}}, ErrorCode::kResourceExhausted, 750},
      {500, {}, ErrorCode::kUnavailable, 0},
      {503, {{"Retry-After", "5"}}, ErrorCode::kUnavailable, 5000},
      {400, {}, ErrorCode::kInvalidArgument, 0},
      {404, {}, ErrorCode::kInvalidArgument, 0},
  };
  for (const auto& c : cases) {
    Outcome out;
    auto& ex = start(out);
    net::Headers h = c.headers;
    h.emplace_back("Content-Type", "application/json");
    ex.headers(c.status, h);
    ex.body(R"({"error":{"message":"vendor says )" + std::to_string(c.status) + R"(","type":"x"}})");
    EXPECT_EQ(out.completions, 0);
    ex.complete();
    ASSERT_EQ(out.completions, 1) << c.status;
    ASSERT_FALSE(*out.result);
    EXPECT_EQ(out.error().code, c.code) << c.status;
    EXPECT_EQ(out.error().retryAfterMs, c.retryAfterMs) << c.status;
    EXPECT_NE(out.error().message.find("vendor says " + std::to_string(c.status)), std::string::npos)
        << out.error().message;
    EXPECT_EQ(out.error().publicMessage().find("vendor"), std::string::npos);
  }
}

TEST_F(OpenAiProviderTest, StreamWithoutDoneIsUpstreamError) {
  Outcome out;
  auto& ex = start(out);
  ex.headers(200, kSse);
  ex.body("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"partial\"}}]}\n\n");
  ex.complete();
  ASSERT_EQ(out.completions, 1);
  EXPECT_EQ(out.error().code, ErrorCode::kUpstream);
  EXPECT_NE(out.error().message.find("[DONE]"), std::string::npos);
  EXPECT_EQ(out.deltas, "partial");

  // [DONE] without its terminating blank line is not an event.
  Outcome cut;
  auto& ex2 = start(cut);
  ex2.headers(200, kSse);
  ex2.body("data: [DONE]\n");
  ex2.complete();
  ASSERT_EQ(cut.completions, 1);
  EXPECT_EQ(cut.error().code, ErrorCode::kUpstream);
}

TEST_F(OpenAiProviderTest, GarbageInTheStreamIsUpstreamErrorAndAbortsTheExchange) {
  Outcome out;
  auto& ex = start(out);
  ex.headers(200, kSse);
  ex.body("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choices\":[{\"ind");
  EXPECT_EQ(out.completions, 0);
  ex.body("ex\":0,\"delta\":{\"content\":\"b\"}}]}\n\ndata: {oops}\n\ndata: [DONE]\n\n");
  ASSERT_EQ(out.completions, 1);
  EXPECT_EQ(out.error().code, ErrorCode::kUpstream);
  EXPECT_NE(out.error().message.find("{oops}"), std::string::npos);
  EXPECT_EQ(out.deltas, "ab");
  EXPECT_EQ(ex.cancels, 1);
  ex.complete(fail(ErrorCode::kCancelled, "cancelled"));
  EXPECT_EQ(out.completions, 1);
}

TEST_F(OpenAiProviderTest, ErrorObjectInsideTheStream) {
  Outcome out;
  auto& ex = start(out);
  ex.headers(200, kSse);
  ex.body(
      "data: {\"error\":{\"message\":\"The server had an error while processing your request.\",\"type\":"
      "\"server_error\"}}\n\n");
  ASSERT_EQ(out.completions, 1);
  EXPECT_EQ(out.error().code, ErrorCode::kUpstream);
  EXPECT_NE(out.error().message.find("The server had an error"), std::string::npos);
  EXPECT_EQ(ex.cancels, 1);

  Outcome named;
  auto& ex2 = start(named);
  ex2.headers(200, kSse);
  ex2.body("event: ping\ndata: {}\n\n: keep-alive\n\nevent: error\ndata: {\"message\":\"quota\"}\n\n");
  ASSERT_EQ(named.completions, 1);
  EXPECT_EQ(named.error().code, ErrorCode::kUpstream);
  EXPECT_NE(named.error().message.find("quota"), std::string::npos);
}

TEST_F(OpenAiProviderTest, TransportErrorsPassThrough) {
  for (ErrorCode code : {ErrorCode::kDeadlineExceeded, ErrorCode::kUnavailable, ErrorCode::kUpstream}) {
    Outcome out;
    auto& ex = start(out);
    ex.headers(200, kSse);
    ex.body("data: {\"choices\":[]}\n\n");
    ex.complete(fail(code, "transport said no"));
    ASSERT_EQ(out.completions, 1);
    EXPECT_EQ(out.error().code, code);
    EXPECT_NE(out.error().message.find("acme"), std::string::npos);
  }
  // No headers at all (connect failure).
  Outcome out;
  auto& ex = start(out);
  ex.complete(fail(ErrorCode::kUnavailable, "connection refused"));
  EXPECT_EQ(out.error().code, ErrorCode::kUnavailable);
  // An error status whose body was cut by a timeout keeps the status mapping.
  Outcome cut;
  auto& ex2 = start(cut);
  ex2.headers(429, {{"Retry-After", "1"}});
  ex2.complete(fail(ErrorCode::kDeadlineExceeded, "idle"));
  EXPECT_EQ(cut.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(cut.error().retryAfterMs, 1000);
}

TEST_F(OpenAiProviderTest, CancelStopsTextAndReportsCancelled) {
  Outcome out;
  auto& ex = start(out);
  ex.headers(200, kSse);
  ex.body("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n");
  call_->cancel();
  EXPECT_EQ(ex.cancels, 1);
  EXPECT_EQ(out.completions, 0);  // the client reports the cancellation on its own thread
  ex.body("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}\n\n");
  ex.complete(fail(ErrorCode::kCancelled, "cancelled"));
  ASSERT_EQ(out.completions, 1);
  EXPECT_EQ(out.error().code, ErrorCode::kCancelled);
  EXPECT_EQ(out.deltas, "a");
  call_->cancel();  // after completion: nothing
  EXPECT_EQ(ex.cancels, 1);
}

TEST_F(OpenAiProviderTest, CancelWinsOverALateSuccess) {
  Outcome out;
  auto& ex = start(out);
  call_->cancel();
  ex.headers(200, kSse);
  ex.complete();
  ASSERT_EQ(out.completions, 1);
  EXPECT_EQ(out.error().code, ErrorCode::kCancelled);
}

TEST_F(OpenAiProviderTest, RejectsUpFrontWithoutIo) {
  Outcome out;
  ModelRequest r = simpleRequest();
  r.model.clear();
  provider_->stream(r, out.handlers());
  ASSERT_EQ(out.completions, 1);
  EXPECT_EQ(out.error().code, ErrorCode::kInvalidArgument);

  auto c = providerConfig();
  c.apiKey.clear();
  c.apiKeyUnavailable = "environment variable OPENAI_API_KEY is not set";
  makeProvider(c);
  Outcome noKey;
  provider_->stream(simpleRequest(), noKey.handlers());
  ASSERT_EQ(noKey.completions, 1);
  EXPECT_EQ(noKey.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(noKey.error().message.find("OPENAI_API_KEY"), std::string::npos);
  EXPECT_TRUE(client_->exchanges.empty());
}

TEST_F(OpenAiProviderTest, ClientFailingInsideStartCompletesOnce) {
  client_->failSynchronously = true;
  Outcome out;
  auto& ex = start(out);
  ASSERT_EQ(out.completions, 1);
  EXPECT_EQ(out.error().code, ErrorCode::kInvalidArgument);
  call_->cancel();
  EXPECT_EQ(ex.cancels, 0);
}

TEST(OpenAiProviderCreate, ValidatesConfig) {
  auto client = std::make_shared<FakeHttpClient>();
  auto c = providerConfig();
  EXPECT_TRUE(createOpenAiProvider(c, client, nullptr));
  c.api = "openai";
  EXPECT_TRUE(createOpenAiProvider(c, client, nullptr));
  c.api = "anthropic-messages";
  EXPECT_EQ(createOpenAiProvider(c, client, nullptr).error().code, ErrorCode::kInvalidArgument);
  c = providerConfig();
  for (const char* url : {"", "ftp://x/v1", "http://", "127.0.0.1:11434/v1"}) {
    c.baseUrl = url;
    EXPECT_EQ(createOpenAiProvider(c, client, nullptr).error().code, ErrorCode::kInvalidArgument) << url;
  }
  EXPECT_EQ(createOpenAiProvider(providerConfig(), nullptr, nullptr).error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace talon::gateway
