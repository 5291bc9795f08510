// End-to-end test of GET /metrics (issue 9, "Metrics and traces"; docs/metrics.md): a real
// `talon gateway run` with `talon-mock-model` serves a few RPCs, agent turns (one with a tool call, one
// with a model error) and an OpenAI-compatible request; the scrape is refused without a token (401) and
// for a caller without operator.read (403), passes `promtool check metrics` with no complaint, and holds
// every required family with a plausible value. A W3C traceparent sent on a request frame and on an HTTP
// request reaches the model requests as a child span; malformed ones are counted, never errors. With
// gateway.metrics.allowUnauthenticatedLoopback a loopback scrape needs no token.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <regex>
#include <sstream>
#include <thread>

#include "base/ids.h"
#include "base/json.h"
#include "child_process.h"
#include "e2e_support.h"
#include "net/ws_client.h"

namespace talon::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kMetricsToken = "metrics-e2e-token-0123456789";
constexpr const char* kFrameTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kHttpTraceId = "0af7651916cd43dd8448eb211c80319c";
constexpr const char* kPromtool = "/usr/bin/promtool";  // Debian's prometheus package (scripts/install-deps.sh)

const char* kMetricsScript = R"({
  "rules": [
    {"match": {"lastRole": "user", "lastUserContains": "save a note"},
     "reply": {"toolCalls": [{"name": "write", "arguments": {"path": "note.txt", "content": "hi"}}]}},
    {"match": {"lastRole": "tool"}, "reply": {"text": "saved", "chunks": 2}},
    {"match": {"lastUserContains": "fault:401"}, "status": 401, "error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}},
    {"reply": {"text": "ok", "chunks": 2}}
  ]
})";

/// The value of the sample `series` (name with its labels, exactly as rendered), or nullopt.
std::optional<double> sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

/// Runs `promtool check metrics` on `text`: its exit status and what it printed.
std::pair<int, std::string> promtoolCheck(const fs::path& dir, const std::string& text) {
  writeText(dir / "scrape.txt", text);
  const std::string cmd = std::string(kPromtool) + " check metrics < '" + (dir / "scrape.txt").string() + "' > '" +
                          (dir / "promtool.out").string() + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, readText(dir / "promtool.out")};
}

class MetricsE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir();
    writeText(dir_ / "script.json", kMetricsScript);
    mock_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{TALON_MOCK_MODEL_BINARY, "--port", "0", "--port-file", (dir_ / "mock.port").string(),
                                 "--script", (dir_ / "script.json").string(), "--log",
                                 (dir_ / "model-requests.jsonl").string()},
        std::map<std::string, std::string>{}, (dir_ / "mock.log").string());
    mockPort_ = waitForPortFile((dir_ / "mock.port").string(), 10s);
    ASSERT_GT(mockPort_, 0) << mock_->log();
  }

  void TearDown() override {
    gateway_.reset();
    mock_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }

  void writeConfig(bool openOnLoopback) {
    writeText(dir_ / "talon.json", R"({
  gateway: {
    auth: { mode: "token", token: ")" + std::string(kMetricsToken) +
                                       R"(" },
    http: { endpoints: { chatCompletions: { enabled: true } } },
    metrics: { allowUnauthenticatedLoopback: )" +
                                       (openOnLoopback ? "true" : "false") + R"( },
    probes: [{ name: "llm", kind: "provider", model: "mock/mock-model", intervalSeconds: 3600 }],
    roles: {
      default: "approver",
      definitions: { approver: { scopes: ["operator.approvals"], agents: "*", sessions: { others: "write" } } },
    },
  },
  models: { providers: { mock: { baseUrl: "http://127.0.0.1:)" +
                                       std::to_string(mockPort_) + R"(/v1",
    apiKey: "k", api: "openai-completions", models: [{ id: "mock-model", name: "Mock" }] } } },
  agents: { defaults: { model: "mock/mock-model" } },
  channels: { loopback: { dmPolicy: "open", allowFrom: ["*"] } },
})");
  }

  void startGateway() {
    fs::remove(dir_ / "gateway.port");
    gateway_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{TALON_BINARY, "gateway", "run", "--config", (dir_ / "talon.json").string(), "--port",
                                 "0", "--port-file", (dir_ / "gateway.port").string()},
        env(), (dir_ / "gateway.log").string());
    port_ = waitForPortFile((dir_ / "gateway.port").string(), 20s);
    ASSERT_GT(port_, 0) << gateway_->log();
  }

  std::map<std::string, std::string> env() const { return {{"TALON_STATE_DIR", (dir_ / "state").string()}}; }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }

  Result<net::SimpleHttpResponse> scrape(const std::string& token) {
    net::Headers headers;
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return net::httpRequest("GET", base() + "/metrics", headers, "", 10s);
  }

  /// chat.send with an optional raw traceparent on the frame; waits for the terminal chat event.
  json::object chat(ProtocolClient& c, const std::string& message, std::optional<std::string> traceparent = {}) {
    const std::string key = newUuid();
    const std::string id = "chat-" + key;
    json::object frame{
        {"type", "req"},
        {"id", id},
        {"method", "chat.send"},
        {"params",
         json::object{{"sessionKey", "main"}, {"message", message}, {"idempotencyKey", key}, {"timeoutMs", 8000}}}};
    if (traceparent) frame["traceparent"] = *traceparent;
    EXPECT_TRUE(c.ws().send(json::serialize(frame)));
    auto res = c.response(id);
    EXPECT_TRUE(res && getBool(*res, "ok").value_or(false)) << (res ? json::serialize(*res) : "no answer");
    auto term = c.waitTerminal(key, nullptr, 20s);
    EXPECT_TRUE(term) << "no terminal chat event for " << message;
    return term.value_or(json::object{});
  }

  fs::path dir_;
  std::unique_ptr<ChildProcess> mock_;
  std::unique_ptr<ChildProcess> gateway_;
  int mockPort_ = 0;
  int port_ = 0;
};

TEST_F(MetricsE2E, ScrapePassesPromtoolAndHoldsEveryRequiredFamily) {
  ASSERT_TRUE(fs::exists(kPromtool)) << "promtool is required: scripts/install-deps.sh installs Debian's prometheus";
  writeConfig(false);
  auto approver = runTalon(dir_,
                           {"tokens", "create", "--name", "scraper", "--role", "approver", "--config",
                            (dir_ / "talon.json").string(), "--json"},
                           env());
  ASSERT_EQ(approver.status, 0) << approver.err;
  auto created = parseJson(approver.out);
  ASSERT_TRUE(created && created->is_object()) << approver.out;
  const std::string approverToken(getString(created->as_object(), "token").value_or(""));
  ASSERT_FALSE(approverToken.empty());
  startGateway();

  auto c = ProtocolClient::connect(port_, kMetricsToken);
  ASSERT_TRUE(c) << gateway_->log();
  for (int i = 0; i < 3; ++i) {
    auto h = c->request("health", json::object{});
    ASSERT_TRUE(h && getBool(*h, "ok").value_or(false));
  }
  auto unknown = c->request("no.such.method", json::object{});
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(getBool(*unknown, "ok").value_or(true));
  // A turn with a tool call, traced from the request frame; a malformed traceparent is ignored.
  auto traced = chat(*c, "please save a note", "00-" + std::string(kFrameTraceId) + "-00f067aa0ba902b7-01");
  EXPECT_EQ(getString(traced, "state"), "final") << json::serialize(traced);
  auto untraced = chat(*c, "hello", std::string("00-not-a-trace-01"));
  EXPECT_EQ(getString(untraced, "state"), "final") << json::serialize(untraced);
  // The OpenAI-compatible API with a traceparent header, then with a malformed one.
  net::Headers api{{"Authorization", std::string("Bearer ") + kMetricsToken}, {"Content-Type", "application/json"}};
  const std::string body = R"({"model":"openclaw/main","messages":[{"role":"user","content":"hi"}]})";
  auto tracedApi = api;
  tracedApi.emplace_back("traceparent", "00-" + std::string(kHttpTraceId) + "-b7ad6b7169203331-01");
  auto completion = net::httpRequest("POST", base() + "/v1/chat/completions", tracedApi, body, 15s);
  ASSERT_TRUE(completion);
  EXPECT_EQ(completion->status, 200) << completion->body;
  auto badApi = api;
  badApi.emplace_back("traceparent", "ff-" + std::string(kHttpTraceId) + "-b7ad6b7169203331-01");
  auto completion2 = net::httpRequest("POST", base() + "/v1/chat/completions", badApi, body, 15s);
  ASSERT_TRUE(completion2);
  EXPECT_EQ(completion2->status, 200) << completion2->body;  // never an error
  // Last, as it may put the only model in cooldown: a model error.
  auto failed = chat(*c, "fault:401");
  EXPECT_EQ(getString(failed, "state"), "error") << json::serialize(failed);

  // The provider probe ran at start (a small completion against the mock model): polled, not timed.
  bool probed = false;
  for (int i = 0; i < 150 && !probed; ++i) {
    auto s = scrape(kMetricsToken);
    probed = s && s->status == 200 && sample(s->body, R"(talon_probe_success{probe="llm"})") == 1.0;
    if (!probed) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(probed) << "the provider probe did not succeed within 15 s";

  // Auth: no token 401, a caller without operator.read 403, the shared token 200.
  auto anonymous = scrape("");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  auto wrong = scrape("wrong-token");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  auto forbidden = scrape(approverToken);
  ASSERT_TRUE(forbidden);
  EXPECT_EQ(forbidden->status, 403) << forbidden->body;
  auto ok = scrape(kMetricsToken);
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200) << ok->body;
  const std::string& text = ok->body;

  auto [rc, report] = promtoolCheck(dir_, text);
  EXPECT_EQ(rc, 0) << report;
  EXPECT_EQ(report, "") << report;

  // Every family the issue names (the cron ones belong to the cron service), with a plausible value.
  for (const char* family :
       {"talon_gateway_connected_clients", "talon_gateway_active_sessions", "talon_rpc_requests_total",
        "talon_rpc_duration_seconds", "talon_model_request_duration_seconds", "talon_model_errors_total",
        "talon_tool_calls_total", "talon_runs_total", "talon_channel_health_status", "process_cpu_seconds_total",
        "process_resident_memory_bytes", "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
        "process_start_time_seconds", "talon_probe_runs_total", "talon_probe_success",
        "talon_probe_duration_seconds"}) {
    EXPECT_NE(text.find(std::string("# TYPE ") + family + " "), std::string::npos) << family << " missing\n" << text;
  }
  auto v = [&](const std::string& series) { return sample(text, series).value_or(-1); };
  EXPECT_GE(v("talon_gateway_connected_clients"), 1);
  EXPECT_GE(v("talon_gateway_active_sessions"), 0);  // every turn has ended; a lane may still be releasing
  EXPECT_LE(v("talon_gateway_active_sessions"), 1);
  EXPECT_GE(v("talon_agent_session_cache_sessions"), 1);  // the sessions of the turns above
  EXPECT_GT(v("talon_agent_session_cache_bytes"), 0);
  EXPECT_LE(v("talon_agent_session_cache_bytes"), 4 << 20);
  EXPECT_GE(v(R"(talon_rpc_requests_total{method="health",outcome="ok"})"), 3);
  EXPECT_GE(v(R"(talon_rpc_requests_total{method="chat.send",outcome="ok"})"), 3);
  EXPECT_EQ(v(R"(talon_rpc_requests_total{method="unknown",outcome="denied"})"), 1);
  EXPECT_EQ(text.find("no.such.method"), std::string::npos) << "an unknown name became a label value";
  EXPECT_GE(v(R"(talon_rpc_duration_seconds_count{method="health"})"), 3);
  EXPECT_GT(v(R"(talon_rpc_duration_seconds_sum{method="health"})"), 0);
  EXPECT_GE(v(R"(talon_model_request_duration_seconds_count{provider="mock",model="mock-model"})"), 4);
  double modelErrors = 0;
  for (const char* kind : {"auth", "auth_permanent"}) {
    modelErrors +=
        sample(text, std::string(R"(talon_model_errors_total{provider="mock",kind=")") + kind + "\"}").value_or(0);
  }
  EXPECT_GE(modelErrors, 1) << text;
  EXPECT_EQ(v(R"(talon_tool_calls_total{tool="write",outcome="ok"})"), 1);
  EXPECT_GE(v(R"(talon_runs_total{outcome="ok"})"), 4);  // three chat.send and the two API turns, one failed
  EXPECT_GE(v(R"(talon_runs_total{outcome="error"})"), 1);
  EXPECT_EQ(v(R"(talon_traceparent_invalid_total{source="rpc"})"), 1);
  EXPECT_EQ(v(R"(talon_traceparent_invalid_total{source="http"})"), 1);
  EXPECT_GT(v("process_resident_memory_bytes"), 1 << 20);
  EXPECT_GE(v("process_virtual_memory_bytes"), v("process_resident_memory_bytes"));
  EXPECT_GT(v("process_open_fds"), 3);
  EXPECT_GE(v("process_max_fds"), v("process_open_fds"));
  EXPECT_GE(v("process_cpu_seconds_total"), 0);
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_GT(v("process_start_time_seconds"), now - 3600);
  EXPECT_LE(v("process_start_time_seconds"), now + 1);

  // The traces reached the model requests as child spans (a new span id, the caller's trace and flags).
  const std::string requests = readText(dir_ / "model-requests.jsonl");
  std::smatch m;
  EXPECT_TRUE(std::regex_search(
      requests, m, std::regex(std::string("\"traceparent\":\"00-") + kFrameTraceId + "-[0-9a-f]{16}-01\"")))
      << requests;
  EXPECT_EQ(requests.find("00f067aa0ba902b7"), std::string::npos) << "the caller's span id was forwarded as is";
  EXPECT_TRUE(std::regex_search(requests, m,
                                std::regex(std::string("\"traceparent\":\"00-") + kHttpTraceId + "-[0-9a-f]{16}-01\"")))
      << requests;

  // The refused scrape is in the audit chain by the token's name, never the token.
  ASSERT_TRUE(gateway_->stop(SIGTERM).has_value());
  auto audit = runTalon(dir_, {"audit", "export"}, env());
  ASSERT_EQ(audit.status, 0) << audit.err;
  for (const char* needle : {"\"target\":\"GET /metrics\"", "missing scope: operator.read", "operator-token:scraper"}) {
    EXPECT_NE(audit.out.find(needle), std::string::npos) << needle << "\n" << audit.out.substr(0, 4000);
  }
  EXPECT_EQ(audit.out.find(approverToken), std::string::npos);
}

TEST_F(MetricsE2E, LoopbackScrapingWithoutATokenOnlyWhenConfigured) {
  writeConfig(true);
  startGateway();
  auto open = scrape("");
  ASSERT_TRUE(open);
  EXPECT_EQ(open->status, 200) << open->body;
  EXPECT_NE(open->body.find("# TYPE talon_rpc_requests_total counter"), std::string::npos);
  auto wrong = scrape("wrong-token");  // a token that is sent is still checked
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  ASSERT_TRUE(gateway_->stop(SIGTERM).has_value());
  auto audit = runTalon(dir_, {"audit", "export"}, env());  // the open endpoint is on record
  ASSERT_EQ(audit.status, 0) << audit.err;
  EXPECT_NE(audit.out.find("gateway.metrics.allowUnauthenticatedLoopback"), std::string::npos) << audit.out;

  writeConfig(false);
  startGateway();
  auto closed = scrape("");
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->status, 401);
}

}  // namespace
}  // namespace talon::test
