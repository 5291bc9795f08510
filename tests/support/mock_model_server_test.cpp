// The mock model server's script parser, its exact wire format, and the talon-mock-model process.
#include "support/mock_model_server.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <future>
#include <thread>

#include "base/file_io.h"
#include "net/http_client.h"

extern char** environ;

namespace talon::mock {
namespace {

json::value parsed(std::string_view s) {
  auto v = parseJson(s);
  EXPECT_TRUE(v) << s;
  return v ? *v : json::value();
}

TEST(MockScript, ParsesRulesAndFaults) {
  auto s = parseMockScript(parsed(R"({"models":["a","b"],"apiKey":"k","rules":[
      {"match":{"lastUserContains":"write a file","lastRole":"user"},
       "reply":{"toolCalls":[{"name":"write","arguments":{"path":"a.txt","content":"hi"}}]}},
      {"match":{"lastRole":"tool"},"reply":{"text":"done","chunks":3}},
      {"status":429,"retryAfter":2,"times":1},
      {"malformed":true},{"hang":true},{"delayMs":5,"reply":{"text":"late"}}]})"));
  ASSERT_TRUE(s) << s.error().toString();
  EXPECT_EQ(s->models, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s->apiKey, "k");
  ASSERT_EQ(s->rules.size(), 6u);
  EXPECT_EQ(s->rules[0].match.lastUserContains, "write a file");
  ASSERT_EQ(s->rules[0].toolCalls.size(), 1u);
  EXPECT_EQ(s->rules[0].toolCalls[0].arguments, R"({"path":"a.txt","content":"hi"})");
  EXPECT_EQ(s->rules[1].chunks, 3);
  EXPECT_EQ(s->rules[2].status, 429);
  EXPECT_EQ(s->rules[2].retryAfter, "2");
  EXPECT_EQ(s->rules[2].times, 1);
  EXPECT_TRUE(s->rules[3].malformed);
  EXPECT_TRUE(s->rules[4].hang);
  EXPECT_EQ(s->rules[5].delayMs, 5);

  auto def = parseMockScript(json::value());
  ASSERT_TRUE(def);
  ASSERT_EQ(def->rules.size(), 1u);
  EXPECT_EQ(def->rules[0].text, "ok");
}

TEST(MockScript, RejectsMistakesNamingTheRule) {
  const std::pair<const char*, const char*> bad[] = {
      {R"([{"reply":{"txt":"x"}}])", "rules[0].reply: unknown key \"txt\""},
      {R"([{"reply":{"text":"x"}},{"match":{"lastrole":"user"}}])", "rules[1].match: unknown key \"lastrole\""},
      {R"([{"status":"429"}])", "rules[0]: \"status\""},
      {R"([{"delayMs":-1}])", "rules[0]: \"delayMs\""},
      {R"([{"reply":{"chunks":0}}])", "rules[0].reply: \"chunks\""},
      {R"([{"reply":{"toolCalls":[{"arguments":{}}]}}])", "toolCalls[0]: \"name\" is required"},
      {R"({"rules":{}})", "\"rules\" must be an array"},
      {R"(7)", "must be an array of rules"},
  };
  for (const auto& [script, expected] : bad) {
    auto s = parseMockScript(parsed(script));
    ASSERT_FALSE(s) << script;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(s.error().message.find(expected), std::string::npos) << s.error().message;
  }
}

/// A blocking HTTP exchange over net::HttpClient.
struct Reply {
  int status = 0;
  net::Headers headers;
  std::string body;
  Status done;
};

class Fetcher {
 public:
  Fetcher() : thread_([this] { io_.run(); }) {}
  ~Fetcher() {
    work_.reset();
    io_.stop();
    thread_.join();
  }
  Reply fetch(std::string method, std::string url, std::string body = {}) {
    auto reply = std::make_shared<Reply>();
    auto promise = std::make_shared<std::promise<void>>();
    auto future = promise->get_future();
    net::ClientRequest req;
    req.method = std::move(method);
    req.url = std::move(url);
    req.body = std::move(body);
    if (!req.body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    req.totalTimeout = std::chrono::seconds(20);
    net::ClientHandlers h;
    h.onHeaders = [reply](int status, const net::Headers& headers) {
      reply->status = status;
      reply->headers = headers;
    };
    h.onBody = [reply](std::string_view d) { reply->body.append(d); };
    h.onComplete = [reply, promise](Status st) {
      reply->done = std::move(st);
      promise->set_value();
    };
    auto call = client_->start(std::move(req), std::move(h));
    future.wait();
    return *reply;
  }

 private:
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      boost::asio::make_work_guard(io_)};
  net::HttpClientPtr client_ = net::HttpClient::create(io_);
  std::thread thread_;
};

/// The `data:` payloads of an SSE body framed as the mock frames it ("data: X\n\n").
std::vector<std::string> dataEvents(const std::string& body) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto end = body.find("\n\n", pos);
    EXPECT_NE(end, std::string::npos);
    if (end == std::string::npos) break;
    std::string_view ev(body.data() + pos, end - pos);
    EXPECT_EQ(ev.substr(0, 6), "data: ");
    out.emplace_back(ev.substr(6));
    pos = end + 2;
  }
  return out;
}

class MockServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    work_.reset();
    io_.stop();
    thread_.join();
  }
  void serve(std::string_view script, std::optional<std::filesystem::path> log = std::nullopt) {
    auto s = parseMockScript(parsed(script));
    ASSERT_TRUE(s) << s.error().toString();
    MockModelOptions o;
    o.script = std::move(*s);
    o.logPath = std::move(log);
    auto server = MockModelServer::create(io_, std::move(o));
    ASSERT_TRUE(server) << server.error().toString();
    server_ = std::move(*server);
  }
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      boost::asio::make_work_guard(io_)};
  std::thread thread_;
  std::unique_ptr<MockModelServer> server_;
  Fetcher fetcher_;
};

TEST_F(MockServerTest, StreamsChunksInTheOpenAiWireFormat) {
  serve(R"([{"reply":{"text":"abcdef","chunks":3,"usage":{"prompt_tokens":11,"completion_tokens":3}}}])");
  auto r = fetcher_.fetch(
      "POST", server_->baseUrl() + "/chat/completions",
      R"({"model":"m1","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(r.done) << r.done.error().toString();
  EXPECT_EQ(r.status, 200);
  auto events = dataEvents(r.body);
  // role chunk, 3 content chunks, finish chunk, usage chunk, [DONE]
  ASSERT_EQ(events.size(), 7u) << r.body;
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text;
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    auto chunk = parsed(events[i]);
    const auto& o = chunk.as_object();
    EXPECT_EQ(o.at("object").as_string(), "chat.completion.chunk");
    EXPECT_EQ(o.at("model").as_string(), "m1");
    EXPECT_EQ(o.at("id").as_string(), parsed(events[0]).at("id").as_string());
    const auto& choices = o.at("choices").as_array();
    if (i == 5) {
      EXPECT_TRUE(choices.empty());
      EXPECT_EQ(o.at("usage").at("prompt_tokens").as_int64(), 11);
      EXPECT_EQ(o.at("usage").at("completion_tokens").as_int64(), 3);
      EXPECT_EQ(o.at("usage").at("total_tokens").as_int64(), 14);
      continue;
    }
    EXPECT_TRUE(o.at("usage").is_null());
    ASSERT_EQ(choices.size(), 1u);
    const auto& delta = choices[0].at("delta").as_object();
    if (i == 0) {
      EXPECT_EQ(delta.at("role").as_string(), "assistant");
    }
    if (i == 4) {
      EXPECT_TRUE(delta.empty());
      EXPECT_EQ(choices[0].at("finish_reason").as_string(), "stop");
    } else {
      EXPECT_TRUE(choices[0].at("finish_reason").is_null());
    }
    if (auto* c = delta.if_contains("content")) text += c->as_string();
  }
  EXPECT_EQ(text, "abcdef");

  // Without stream_options.include_usage there is no usage chunk and no usage field (as OpenAI).
  auto plain = fetcher_.fetch("POST", server_->baseUrl() + "/chat/completions",
                              R"({"model":"m1","stream":true,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(plain.done) << plain.done.error().toString();
  EXPECT_EQ(plain.status, 200);
  auto plainEvents = dataEvents(plain.body);
  ASSERT_EQ(plainEvents.size(), 6u);
  EXPECT_FALSE(parsed(plainEvents[0]).as_object().contains("usage"));
}

TEST_F(MockServerTest, WholeCompletionModelsAndErrors) {
  serve(R"({"models":["m1","m2"],"rules":[
      {"match":{"model":"boom"},"status":500},
      {"reply":{"toolCalls":[{"id":"call_x","name":"write","arguments":{"a":1}}]}}]})");
  auto r = fetcher_.fetch("POST", server_->baseUrl() + "/chat/completions",
                          R"({"model":"m1","messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(r.done);
  EXPECT_EQ(r.status, 200);
  auto body = parsed(r.body);
  EXPECT_EQ(body.at("object").as_string(), "chat.completion");
  const auto& choice = body.at("choices").as_array().at(0);
  EXPECT_EQ(choice.at("finish_reason").as_string(), "tool_calls");
  EXPECT_TRUE(choice.at("message").at("content").is_null());
  const auto& tc = choice.at("message").at("tool_calls").as_array().at(0);
  EXPECT_EQ(tc.at("id").as_string(), "call_x");
  EXPECT_EQ(tc.at("type").as_string(), "function");
  EXPECT_EQ(tc.at("function").at("arguments").as_string(), R"({"a":1})");

  auto models = fetcher_.fetch("GET", server_->baseUrl() + "/models");
  EXPECT_EQ(models.status, 200);
  auto list = parsed(models.body);
  EXPECT_EQ(list.at("object").as_string(), "list");
  EXPECT_EQ(list.at("data").as_array().size(), 2u);
  EXPECT_EQ(list.at("data").as_array()[1].at("id").as_string(), "m2");

  auto err = fetcher_.fetch("POST", server_->baseUrl() + "/chat/completions",
                            R"({"model":"boom","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(err.status, 500);
  EXPECT_TRUE(parsed(err.body).at("error").at("message").is_string());
  EXPECT_EQ(fetcher_.fetch("POST", server_->baseUrl() + "/chat/completions", "{").status, 400);
  EXPECT_EQ(fetcher_.fetch("GET", server_->baseUrl() + "/nope").status, 404);
}

TEST_F(MockServerTest, NoMatchingRuleIsA500) {
  serve(R"([{"match":{"lastRole":"tool"},"reply":{"text":"x"}}])");
  auto r = fetcher_.fetch("POST", server_->baseUrl() + "/chat/completions",
                          R"({"model":"m","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("no_rule_matched"), std::string::npos);
}

TEST_F(MockServerTest, LogsEveryRequestAsAJsonLine) {
  auto dir = std::filesystem::temp_directory_path() / ("talon-mock-log-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto log = dir / "requests.jsonl";
  std::filesystem::remove(log);
  serve(R"([{"reply":{"text":"ok"}}])", log);
  fetcher_.fetch("POST", server_->baseUrl() + "/chat/completions",
                 R"({"model":"m","messages":[{"role":"system","content":"SYS"},{"role":"user","content":"hi"}]})");
  fetcher_.fetch("GET", server_->baseUrl() + "/models");
  auto text = readFile(log);
  ASSERT_TRUE(text);
  auto nl = text->find('\n');
  ASSERT_NE(nl, std::string::npos);
  auto first = parsed(text->substr(0, nl));
  EXPECT_EQ(first.at("seq").as_int64(), 1);
  EXPECT_EQ(first.at("path").as_string(), "/v1/chat/completions");
  EXPECT_EQ(first.at("headers").at("content-type").as_string(), "application/json");
  EXPECT_EQ(first.at("body").at("messages").as_array()[0].at("content").as_string(), "SYS");
  auto second = parsed(text->substr(nl + 1, text->find('\n', nl + 1) - nl - 1));
  EXPECT_EQ(second.at("method").as_string(), "GET");
  std::filesystem::remove_all(dir);
}

TEST(MockModelProcess, PrintsItsPortServesAndStopsOnSigterm) {
  auto dir = std::filesystem::temp_directory_path() / ("talon-mock-proc-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto script = dir / "script.json";
  ASSERT_TRUE(writeFileAtomic(script, R"([{"reply":{"text":"from the process"}}])"));
  auto portFile = dir / "port";
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  std::string scriptArg = script.string(), portArg = portFile.string();
  const char* argv[] = {TALON_MOCK_MODEL_BIN, "--port",        "0",    "--script", scriptArg.c_str(),
                        "--port-file",        portArg.c_str(), nullptr};
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, TALON_MOCK_MODEL_BIN, &actions, nullptr, const_cast<char**>(argv), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  std::string line;
  char c;
  while (::read(out[0], &c, 1) == 1 && c != '\n') line.push_back(c);
  ::close(out[0]);
  ASSERT_EQ(line.rfind("listening on ", 0), 0u) << line;
  std::string port = line.substr(13);
  auto written = readFile(portFile);
  ASSERT_TRUE(written);
  EXPECT_EQ(*written, port + "\n");

  {
    Fetcher fetcher;
    auto r = fetcher.fetch("POST", "http://127.0.0.1:" + port + "/v1/chat/completions",
                           R"({"model":"m","messages":[{"role":"user","content":"hi"}]})");
    ASSERT_TRUE(r.done) << r.done.error().toString();
    EXPECT_EQ(parsed(r.body).at("choices").as_array()[0].at("message").at("content").as_string(), "from the process");
  }
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  std::filesystem::remove_all(dir);
}

TEST(MockModelProcess, RejectsABadScript) {
  auto dir = std::filesystem::temp_directory_path() / ("talon-mock-bad-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto script = dir / "script.json";
  ASSERT_TRUE(writeFileAtomic(script, R"([{"reply":{"txt":"typo"}}])"));
  std::string scriptArg = script.string();
  const char* argv[] = {TALON_MOCK_MODEL_BIN, "--port", "0", "--script", scriptArg.c_str(), nullptr};
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, TALON_MOCK_MODEL_BIN, nullptr, nullptr, const_cast<char**>(argv), environ), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace talon::mock
