// End-to-end: `talon gateway run` (a real process, port 0, temp state dir) with `talon-mock-model`
// speaking the OpenAI chat-completions wire format, driven over WebSocket (protocol v4) and HTTP.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <sstream>

#include "base/ids.h"
#include "base/json.h"
#include "child_process.h"
#include "e2e_support.h"
#include "net/ws_client.h"
#include "support/scripted_peer.h"

namespace talon::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kGatewayToken = "e2e-token-0123456789";

/// The scripted model: a "write" tool call for a message asking to save a note, a text answer after a
/// tool result, faults on demand, "ok" otherwise.
const char* kGatewayScript = R"({
  "rules": [
    {"match": {"lastRole": "user", "lastUserContains": "save a note"},
     "reply": {"toolCalls": [{"name": "write", "arguments": {"path": "notes/note.txt", "content": "hello from talon"}}]}},
    {"match": {"lastRole": "tool"}, "reply": {"text": "I saved notes/note.txt for you.", "chunks": 3}},
    {"match": {"lastUserContains": "fault:401"}, "status": 401, "error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}},
    {"match": {"lastUserContains": "fault:429"}, "status": 429, "retryAfter": "7", "error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}},
    {"match": {"lastUserContains": "fault:500"}, "status": 500, "error": {"message": "upstream exploded", "type": "server_error"}},
    {"match": {"lastUserContains": "fault:malformed"}, "malformed": true},
    {"match": {"lastUserContains": "fault:hang"}, "hang": true},
    {"match": {"systemContains": "You are Pip"}, "reply": {"text": "Pip here."}},
    {"reply": {"text": "ok", "chunks": 2}}
  ]
})";

class GatewayE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir();
    writeText(dir_ / "script.json", kGatewayScript);
    mock_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{TALON_MOCK_MODEL_BINARY, "--port", "0", "--port-file", (dir_ / "mock.port").string(),
                                 "--script", (dir_ / "script.json").string(), "--log",
                                 (dir_ / "model-requests.jsonl").string()},
        std::map<std::string, std::string>{}, (dir_ / "mock.log").string());
    mockPort_ = waitForPortFile((dir_ / "mock.port").string(), 10s);
    ASSERT_GT(mockPort_, 0) << mock_->log();
    writeConfig("");
    startGateway();
  }

  void TearDown() override {
    gateway_.reset();
    mock_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }

  void writeConfig(const std::string& extraAgents) {
    std::string cfg = R"({
  // e2e config (JSON5)
  gateway: { auth: { mode: "token", token: ")" +
                      std::string(kGatewayToken) + R"(" },
             http: { endpoints: { chatCompletions: { enabled: true } } } },
  models: { providers: { mock: { baseUrl: "http://127.0.0.1:)" +
                      std::to_string(mockPort_) + R"(/v1",
                                 apiKey: "${MOCK_KEY}", api: "openai-completions",
                                 models: [{ id: "mock-model", name: "Mock" }] } } },
  agents: { defaults: { model: "mock/mock-model" } },
})";
    writeText(dir_ / "talon.json", cfg);
  }

  void startGateway() {
    fs::remove(dir_ / "gateway.port");
    gateway_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{TALON_BINARY, "gateway", "run", "--config", (dir_ / "talon.json").string(), "--port",
                                 "0", "--port-file", (dir_ / "gateway.port").string()},
        std::map<std::string, std::string>{{"TALON_STATE_DIR", (dir_ / "state").string()}, {"MOCK_KEY", "test-key"}},
        (dir_ / "gateway.log").string());
    port_ = waitForPortFile((dir_ / "gateway.port").string(), 15s);
    ASSERT_GT(port_, 0) << gateway_->log();
  }

  std::unique_ptr<ProtocolClient> client() {
    auto c = ProtocolClient::connect(port_, kGatewayToken);
    EXPECT_TRUE(c) << gateway_->log();
    return c;
  }

  /// chat.send and wait for the terminal event.
  json::object chat(ProtocolClient& c, const std::string& message, const std::string& sessionKey = "main",
                    std::vector<std::string>* deltas = nullptr, json::object extra = {}) {
    std::string key = newUuid();
    json::object params{{"sessionKey", sessionKey}, {"message", message}, {"idempotencyKey", key}};
    for (auto& kv : extra) params[kv.key()] = kv.value();
    auto res = c.request("chat.send", params);
    EXPECT_TRUE(res);
    if (!res) return {};
    EXPECT_TRUE(getBool(*res, "ok").value_or(false)) << json::serialize(*res);
    auto term = c.waitTerminal(key, deltas);
    EXPECT_TRUE(term) << "no terminal chat event for " << message;
    return term.value_or(json::object{});
  }

  fs::path dir_;
  std::unique_ptr<ChildProcess> mock_;
  std::unique_ptr<ChildProcess> gateway_;
  int mockPort_ = 0;
  int port_ = 0;
};

TEST_F(GatewayE2E, TurnCallsWriteToolThenAnswersAndHistorySurvivesRestartAndKill) {
  auto c = client();
  ASSERT_TRUE(c);
  EXPECT_EQ(getInt(c->hello(), "protocol"), 4);
  std::vector<std::string> deltas;
  auto final = chat(*c, "please save a note", "main", &deltas);
  ASSERT_EQ(getString(final, "state"), "final") << json::serialize(final);
  EXPECT_EQ(finalText(final), "I saved notes/note.txt for you.");
  EXPECT_GE(deltas.size(), 2u);  // streamed in chunks
  EXPECT_EQ(readText(dir_ / "state" / "workspace" / "notes" / "note.txt"), "hello from talon");

  // The model saw the tool result in the second call.
  auto requests = readText(dir_ / "model-requests.jsonl");
  EXPECT_NE(requests.find("\"role\":\"tool\""), std::string::npos);
  EXPECT_NE(requests.find("Bearer test-key"), std::string::npos) << "the ${MOCK_KEY} api key was not sent";

  auto history = [&](ProtocolClient& cl) {
    auto res = cl.request("chat.history", json::object{{"sessionKey", "main"}});
    EXPECT_TRUE(res && getBool(*res, "ok").value_or(false));
    return res ? res->at("payload").at("messages").as_array() : json::array{};
  };
  auto before = history(*c);
  ASSERT_EQ(before.size(), 4u) << json::serialize(before);  // user, assistant(tool call), tool result, final
  EXPECT_EQ(before[0].at("role"), "user");
  EXPECT_EQ(before[1].at("content").as_array()[0].at("type"), "toolCall");
  EXPECT_EQ(before[2].at("role"), "toolResult");
  EXPECT_EQ(before[3].at("content").as_array()[0].at("text"), "I saved notes/note.txt for you.");

  // Graceful restart.
  c.reset();
  ASSERT_TRUE(gateway_->stop(SIGTERM).has_value());
  startGateway();
  c = client();
  ASSERT_TRUE(c);
  EXPECT_EQ(json::serialize(history(*c)), json::serialize(before));

  // A second turn in the same session sees the history, then kill -9: the committed turn survives.
  auto second = chat(*c, "and again");
  EXPECT_EQ(getString(second, "state"), "final");
  c.reset();
  ASSERT_TRUE(gateway_->stop(SIGKILL).has_value());
  startGateway();
  c = client();
  ASSERT_TRUE(c);
  auto after = history(*c);
  ASSERT_EQ(after.size(), 6u);
  EXPECT_EQ(after[4].at("content").as_array()[0].at("text"), "and again");
  EXPECT_EQ(after[5].at("content").as_array()[0].at("text"), "ok");
  auto last = readText(dir_ / "model-requests.jsonl");
  EXPECT_NE(last.find("I saved notes/note.txt for you."), std::string::npos) << "history not sent to the model";
}

TEST_F(GatewayE2E, RunLedgerShowsProviderModelToolCallsAndDiffsRuns) {
  auto c = client();
  ASSERT_TRUE(c);
  const std::string toolRun = newUuid();
  auto res =
      c->request("chat.send",
                 json::object{{"sessionKey", "main"}, {"message", "please save a note"}, {"idempotencyKey", toolRun}});
  ASSERT_TRUE(res && getBool(*res, "ok").value_or(false));
  ASSERT_TRUE(c->waitTerminal(toolRun));
  auto plain = chat(*c, "just say ok");
  ASSERT_EQ(getString(plain, "state"), "final");
  const std::map<std::string, std::string> env{{"TALON_STATE_DIR", (dir_ / "state").string()}};

  auto listed = runTalon(dir_, {"runs", "list", "--json"}, env);
  ASSERT_EQ(listed.status, 0) << listed.out << listed.err;
  const json::object listedJson = jsonObjectOf(listed.out);
  const auto* runs = getArray(listedJson, "runs");
  ASSERT_TRUE(runs) << listed.out;
  ASSERT_EQ(runs->size(), 2u) << listed.out;
  EXPECT_EQ(getString(runs->at(1).as_object(), "runId"), toolRun);  // newest first

  auto shown = runTalon(dir_, {"runs", "show", toolRun, "--json"}, env);
  ASSERT_EQ(shown.status, 0) << shown.out << shown.err;
  auto ledger = jsonObjectOf(shown.out);
  const auto& run = ledger.at("run").as_object();
  EXPECT_EQ(getString(run, "status"), "ok");
  const auto& provider = run.at("provider").as_object();
  EXPECT_EQ(getString(provider, "id"), "mock");
  EXPECT_EQ(getString(provider, "api"), "openai-completions");
  EXPECT_EQ(getString(provider, "baseUrl"), "http://127.0.0.1:" + std::to_string(mockPort_));
  EXPECT_EQ(getString(provider, "model"), "mock-model");
  EXPECT_EQ(shown.out.find("test-key"), std::string::npos) << "the provider key must never be shown";
  // user → assistant with the write call → its result (ok, with a duration) → the answer.
  const auto& steps = ledger.at("steps").as_array();
  ASSERT_EQ(steps.size(), 4u) << shown.out;
  const auto& call = steps[1].at("toolCalls").at(0).as_object();
  EXPECT_EQ(getString(call, "name"), "write");
  EXPECT_EQ(json::serialize(call.at("arguments").at("path")), "\"notes/note.txt\"");
  const auto& result = steps[2].as_object();
  EXPECT_EQ(getString(result, "tool"), "write");
  EXPECT_EQ(getBool(result, "isError"), false);
  EXPECT_TRUE(getInt(result, "durationMs").has_value()) << shown.out;
  EXPECT_EQ(getString(steps[3].as_object(), "text"), "I saved notes/note.txt for you.");
  EXPECT_EQ(ledger.at("attempts").as_array().size(), 2u) << shown.out;  // two model calls

  auto human = runTalon(dir_, {"runs", "show", toolRun}, env);
  EXPECT_EQ(human.status, 0);
  EXPECT_NE(human.out.find("tool call    write"), std::string::npos) << human.out;

  auto same = runTalon(dir_, {"runs", "diff", toolRun, toolRun, "--json"}, env);
  EXPECT_EQ(same.status, 0) << same.out << same.err;
  EXPECT_EQ(getBool(jsonObjectOf(same.out), "same"), true);
  const std::string other(getString(runs->at(0).as_object(), "runId").value_or(""));
  auto differ = runTalon(dir_, {"runs", "diff", toolRun, other, "--json"}, env);
  EXPECT_EQ(differ.status, 1) << differ.out << differ.err;
  EXPECT_EQ(getInt(jsonObjectOf(differ.out), "firstDivergence"), 0);  // the user messages differ

  auto missing = runTalon(dir_, {"runs", "show", "no-such-run"}, env);
  EXPECT_EQ(missing.status, 6) << missing.out << missing.err;

  // Replay: the recorded answers are replayed without calling the model, and the write (a tool with side
  // effects) is answered from the record instead of running again.
  const auto note = dir_ / "state" / "workspace" / "notes" / "note.txt";
  std::filesystem::remove(note);
  const std::string modelCallsBefore = readText(dir_ / "model-requests.jsonl");
  const std::string url = "ws://127.0.0.1:" + std::to_string(port_);
  auto replayed = runTalon(dir_, {"runs", "replay", toolRun, "--url", url, "--token", kGatewayToken, "--json"}, env);
  ASSERT_EQ(replayed.status, 0) << replayed.out << replayed.err;  // same steps
  const auto replayJson = jsonObjectOf(replayed.out);
  const auto& replay = replayJson.at("replay").as_object();
  EXPECT_EQ(getString(replay, "status"), "ok");
  EXPECT_EQ(getInt(replay, "modelSteps"), 2);
  EXPECT_EQ(getInt(replay, "toolsFromRecord"), 1);
  EXPECT_EQ(getBool(replayJson.at("diff").as_object(), "same"), true);
  EXPECT_FALSE(std::filesystem::exists(note)) << "the replay ran the write";
  EXPECT_EQ(readText(dir_ / "model-requests.jsonl"), modelCallsBefore) << "the replay called the model";
  const std::string replayRun(getString(replay, "replayRunId").value_or(""));
  auto replayShown = runTalon(dir_, {"runs", "show", replayRun, "--json"}, env);
  ASSERT_EQ(replayShown.status, 0) << replayShown.out << replayShown.err;
  EXPECT_EQ(getString(jsonObjectOf(replayShown.out).at("run").at("provider").as_object(), "api"), "replay");
  auto replayMissing = runTalon(dir_, {"runs", "replay", "no-such-run", "--url", url, "--token", kGatewayToken}, env);
  EXPECT_EQ(replayMissing.status, 6) << replayMissing.out << replayMissing.err;
}

TEST_F(GatewayE2E, ProviderFaultsBecomeRunErrorsNeverHangs) {
  auto c = client();
  ASSERT_TRUE(c);
  // 429 and 500 are retried on the same model with backoff (OpenClaw's recovery order) until no wait
  // fits in the turn's deadline: a short deadline makes them end in an error within seconds.
  for (const char* fault : {"fault:401", "fault:429", "fault:500", "fault:malformed"}) {
    auto e = chat(*c, fault, "main", nullptr, json::object{{"timeoutMs", 4000}});
    EXPECT_EQ(getString(e, "state"), "error") << fault << ": " << json::serialize(e);
    EXPECT_FALSE(getString(e, "errorMessage").value_or("").empty());
  }
  auto hang = chat(*c, "fault:hang", "main", nullptr, json::object{{"timeoutMs", 1500}});
  EXPECT_EQ(getString(hang, "state"), "error");
  EXPECT_EQ(getString(hang, "errorKind"), "timeout");
  // The gateway logged each failure and still serves.
  auto ok = chat(*c, "hello");
  EXPECT_EQ(getString(ok, "state"), "final");
  EXPECT_NE(gateway_->log().find("failed"), std::string::npos);
}

TEST_F(GatewayE2E, IdempotencyKeyIsDeduplicated) {
  auto c = client();
  ASSERT_TRUE(c);
  json::object params{{"sessionKey", "main"}, {"message", "hi"}, {"idempotencyKey", "fixed-key-1"}};
  auto first = c->request("chat.send", params);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->at("payload").at("status"), "started");
  ASSERT_TRUE(c->waitTerminal("fixed-key-1"));
  auto again = c->request("chat.send", params);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->at("payload").at("runId"), "fixed-key-1");
  EXPECT_EQ(again->at("payload").at("status"), "ok");
  auto hist = c->request("chat.history", json::object{{"sessionKey", "main"}});
  EXPECT_EQ(hist->at("payload").at("messages").as_array().size(), 2u);  // one turn only
}

/// Runs `talon ARGS...` against the gateway's state dir; returns its exit code (-1 when it did not
/// exit) and output.
std::pair<int, std::string> runTalonOutput(const fs::path& dir, std::vector<std::string> args) {
  args.insert(args.begin(), TALON_BINARY);
  fs::path out = dir / ("talon-" + newUuid() + ".out");
  ChildProcess p(args, {{"TALON_STATE_DIR", (dir / "state").string()}}, out.string());
  auto status = p.wait(30s);  // a wait status
  int rc = status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  return {rc, readText(out)};
}

/// Every byte of every file under `dir`.
std::string allBytesUnder(const fs::path& dir) {
  std::string out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out += readText(e.path());
  }
  return out;
}

TEST_F(GatewayE2E, AuthDecisionsAreAuditedInAVerifiableChainWithoutSecrets) {
  const std::string canary = "canary-secret-e2e-91c4d7";
  EXPECT_FALSE(ProtocolClient::connect(port_, canary));  // refused: a wrong token
  ASSERT_TRUE(client());
  auto base = "http://127.0.0.1:" + std::to_string(port_);
  auto refused = net::httpRequest("GET", base + "/v1/models", {{"Authorization", "Bearer " + canary}}, "", 5s);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  ASSERT_TRUE(gateway_->stop(SIGTERM, 30s));

  auto [verifyRc, verifyOut] = runTalonOutput(dir_, {"audit", "verify", "--json"});
  EXPECT_EQ(verifyRc, 0) << verifyOut;
  auto report = parseJson(verifyOut);
  ASSERT_TRUE(report && report->is_object()) << verifyOut;
  EXPECT_TRUE(report->at("ok").as_bool());
  ASSERT_TRUE(report->as_object().contains("checkpoint")) << verifyOut;

  auto [exportRc, exported] = runTalonOutput(dir_, {"audit", "export"});
  ASSERT_EQ(exportRc, 0) << exported;
  std::vector<std::string> seen;
  std::istringstream lines(exported);
  for (std::string line; std::getline(lines, line);) {
    auto r = parseJson(line);
    ASSERT_TRUE(r && r->is_object()) << line;
    seen.push_back(std::string(r->at("kind").as_string()) + " " + std::string(r->at("outcome").as_string()));
  }
  std::vector<std::string> expected = {"gateway.start allowed", "auth.connect denied", "auth.connect allowed",
                                       "auth.http denied", "gateway.stop allowed"};
  EXPECT_EQ(seen, expected) << exported;

  auto [listRc, listed] = runTalonOutput(dir_, {"audit", "list", "--kind", "auth", "--json"});
  ASSERT_EQ(listRc, 0) << listed;
  auto list = parseJson(listed);
  ASSERT_TRUE(list && list->is_object()) << listed;
  EXPECT_EQ(list->at("records").as_array().size(), 3u);

  // No secret anywhere in the state dir: neither the canary a client sent nor the gateway's token
  // (the database, the checkpoint, and the log file that also carries a line per audit record).
  std::string state = allBytesUnder(dir_ / "state");
  EXPECT_NE(state.find("auth.connect"), std::string::npos);
  EXPECT_EQ(state.find(canary), std::string::npos);
  EXPECT_EQ(state.find(kGatewayToken), std::string::npos);

  // A checkpoint that counted more records than the log holds: the tail was truncated.
  auto cp = parseJson(readText(dir_ / "state" / "audit.checkpoint"));
  ASSERT_TRUE(cp && cp->is_object());
  int64_t count = cp->at("count").as_int64();
  cp->as_object()["count"] = count + 3;
  writeText(dir_ / "state" / "audit.checkpoint", json::serialize(*cp));
  auto [badRc, badOut] = runTalonOutput(dir_, {"audit", "verify"});
  EXPECT_EQ(badRc, 1) << badOut;
  EXPECT_NE(badOut.find("TAMPERED at record " + std::to_string(count + 1) + " (truncated)"), std::string::npos)
      << badOut;
}

TEST_F(GatewayE2E, BadInputGetsOpenClawErrorsAndOthersKeepBeingServed) {
  auto healthy = client();
  ASSERT_TRUE(healthy);
  auto url = "ws://127.0.0.1:" + std::to_string(port_);

  {  // invalid JSON before connect: closed 1000 without an error frame
    auto ws = net::WsClient::connect(url, 5s);
    ASSERT_TRUE(ws);
    ASSERT_TRUE((*ws)->receive(5s));  // challenge
    ASSERT_TRUE((*ws)->send("{not json"));
    EXPECT_FALSE((*ws)->receive(5s));
    EXPECT_EQ((*ws)->closeCode(), 1000);
  }
  {  // oversized pre-connect frame (> 64 KiB): closed 1009
    auto ws = net::WsClient::connect(url, 5s);
    ASSERT_TRUE(ws);
    ASSERT_TRUE((*ws)->receive(5s));
    (void)(*ws)->send(std::string(70 * 1024, 'x'));
    EXPECT_FALSE((*ws)->receive(5s));
    EXPECT_EQ((*ws)->closeCode(), 1009);
  }
  {  // first request not connect: INVALID_REQUEST, closed 1008
    auto ws = net::WsClient::connect(url, 5s);
    ASSERT_TRUE(ws);
    ASSERT_TRUE((*ws)->receive(5s));
    ASSERT_TRUE((*ws)->send(R"({"type":"req","id":"1","method":"health"})"));
    auto res = (*ws)->receive(5s);
    ASSERT_TRUE(res);
    auto v = parseJson(*res);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->at("error").at("code"), "INVALID_REQUEST");
    EXPECT_NE(std::string(v->at("error").at("message").as_string()).find("first request must be connect"),
              std::string::npos);
    EXPECT_FALSE((*ws)->receive(5s));
    EXPECT_EQ((*ws)->closeCode(), 1008);
  }
  {  // wrong token: INVALID_REQUEST with AUTH_TOKEN_MISMATCH, closed 1008
    EXPECT_FALSE(ProtocolClient::connect(port_, "wrong-token"));
    auto ws = net::WsClient::connect(url, 5s);
    ASSERT_TRUE(ws);
    ASSERT_TRUE((*ws)->receive(5s));
    ASSERT_TRUE((*ws)->send(R"({"type":"req","id":"c","method":"connect","params":{"minProtocol":4,"maxProtocol":4,)"
                            R"("client":{"id":"cli","version":"x","platform":"linux","mode":"cli"},"role":"operator",)"
                            R"("scopes":["operator.read"],"auth":{"token":"nope"}}})"));
    auto res = (*ws)->receive(5s);
    ASSERT_TRUE(res);
    auto v = parseJson(*res);
    EXPECT_EQ(v->at("error").at("code"), "INVALID_REQUEST");
    EXPECT_EQ(v->at("error").at("details").at("code"), "AUTH_TOKEN_MISMATCH");
    EXPECT_FALSE((*ws)->receive(5s));
    EXPECT_EQ((*ws)->closeCode(), 1008);
  }
  {  // protocol mismatch: closed 1002
    auto ws = net::WsClient::connect(url, 5s);
    ASSERT_TRUE(ws);
    ASSERT_TRUE((*ws)->receive(5s));
    ASSERT_TRUE((*ws)->send(R"({"type":"req","id":"c","method":"connect","params":{"minProtocol":5,"maxProtocol":6,)"
                            R"("client":{"id":"cli","version":"x","platform":"linux","mode":"cli"},"role":"operator",)"
                            R"("scopes":[],"auth":{"token":")" +
                            std::string(kGatewayToken) + R"("}}})"));
    auto res = (*ws)->receive(5s);
    ASSERT_TRUE(res);
    EXPECT_NE(res->find("PROTOCOL_MISMATCH"), std::string::npos) << *res;
    EXPECT_FALSE((*ws)->receive(5s));
    EXPECT_EQ((*ws)->closeCode(), 1002);
  }
  {  // after connect: unknown method (admin) and a missing scope; an invalid frame gets an error res
    auto admin = client();
    ASSERT_TRUE(admin);
    auto unknown = admin->request("no.such.method", nullptr);
    ASSERT_TRUE(unknown);
    EXPECT_EQ(unknown->at("error").at("code"), "INVALID_REQUEST");
    EXPECT_EQ(unknown->at("error").at("message"), "unknown method: no.such.method");
    auto reader = ProtocolClient::connect(port_, kGatewayToken, {"operator.read"});
    ASSERT_TRUE(reader);
    auto denied =
        reader->request("chat.send", json::object{{"sessionKey", "main"}, {"message", "x"}, {"idempotencyKey", "k"}});
    ASSERT_TRUE(denied);
    EXPECT_EQ(denied->at("error").at("code"), "FORBIDDEN");
    EXPECT_EQ(denied->at("error").at("details").at("code"), "MISSING_SCOPE");
    ASSERT_TRUE(admin->ws().send(R"({"type":"req","id":"","method":"health"})"));
    auto bad = admin->nextFrame();
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->at("error").at("code"), "INVALID_REQUEST");
    auto health = admin->request("health", nullptr);  // the connection is still usable
    EXPECT_TRUE(health && getBool(*health, "ok").value_or(false));
  }
  auto health = healthy->request("health", nullptr);
  ASSERT_TRUE(health);
  EXPECT_TRUE(getBool(*health, "ok").value_or(false));
  EXPECT_TRUE(gateway_->running());
}

TEST_F(GatewayE2E, ModelsListAddsTheModelsAnOllamaServerHasPulled) {
  // An Ollama server: GET /api/tags (Ollama API reference "List Local Models") and POST /api/show ("Show
  // Model Information", the capability probe); llama3.2's show fails.
  talon::testing::ScriptedPeer ollama([](const talon::testing::PeerRequest& r) {
    if (r.target == "/api/tags") {
      return talon::testing::PeerReply::whole(
          200,
          R"({"models":[{"name":"qwen3:latest","model":"qwen3:latest","size":5225388164,"digest":"d1"},{"name":"llama3.2:3b"}]})");
    }
    if (r.target == "/api/show" && r.body == R"({"model":"qwen3:latest"})") {
      return talon::testing::PeerReply::whole(
          200,
          R"({"model_info":{"qwen3.context_length":40960},"capabilities":["completion","tools","thinking","vision"]})");
    }
    return talon::testing::PeerReply::whole(500, R"({"error":"boom"})");
  });
  auto tagsQueries = [&ollama] {
    std::size_t n = 0;
    for (const auto& r : ollama.requests()) n += r.target == "/api/tags" ? 1 : 0;
    return n;
  };
  gateway_.reset();
  writeText(dir_ / "talon.json", R"({
  gateway: { auth: { mode: "token", token: ")" +
                                     std::string(kGatewayToken) +
                                     R"(" } },
  models: { providers: {
    mock: { baseUrl: "http://127.0.0.1:)" +
                                     std::to_string(mockPort_) +
                                     R"(/v1", apiKey: "k", api: "openai-completions",
            models: [{ id: "mock-model", name: "Mock" }] },
    ollama: { baseUrl: ")" + ollama.origin() +
                                     R"(" } } },
  agents: { defaults: { model: "mock/mock-model" } },
})");
  startGateway();
  auto c = client();
  ASSERT_TRUE(c);
  auto ids = [](const json::object& res) {
    std::vector<std::string> out;
    for (const auto& m : res.at("payload").at("models").as_array()) {
      out.push_back(std::string(m.at("provider").as_string()) + "/" + std::string(m.at("id").as_string()));
    }
    return out;
  };
  auto listed = c->request("models.list", json::object{{"view", "default"}, {"includeDetails", true}});
  ASSERT_TRUE(listed);
  ASSERT_TRUE(getBool(*listed, "ok").value_or(false)) << json::serialize(*listed);
  EXPECT_EQ(ids(*listed), (std::vector<std::string>{"mock/mock-model", "ollama/qwen3:latest", "ollama/llama3.2:3b"}));
  const auto& qwen = listed->at("payload").at("models").as_array()[1].as_object();
  EXPECT_EQ(qwen.at("api"), "ollama");
  EXPECT_EQ(qwen.at("available"), true);
  EXPECT_EQ(qwen.at("contextWindow"), 40960);
  EXPECT_EQ(qwen.at("reasoning"), true);
  EXPECT_EQ(qwen.at("supportsTools"), true);
  EXPECT_EQ(json::serialize(qwen.at("input")), R"(["text","image"])");
  const auto& llama = listed->at("payload").at("models").as_array()[2].as_object();
  EXPECT_EQ(llama.at("contextWindow"), 128000);  // the show failed: the default
  EXPECT_EQ(llama.at("supportsTools"), false);
  EXPECT_EQ(llama.at("reasoning"), false);
  // The gateway's start-up inventory, and this call's when it came before that one answered.
  const std::size_t queried = tagsQueries();
  EXPECT_GE(queried, 1u);
  EXPECT_LE(queried, 2u);

  // Answered from the cache within a minute; the provider filter applies to discovered models too;
  // `input` only with includeDetails (OpenClaw's public projection).
  auto filtered = c->request("models.list", json::object{{"provider", "ollama"}});
  ASSERT_TRUE(filtered);
  EXPECT_EQ(ids(*filtered), (std::vector<std::string>{"ollama/qwen3:latest", "ollama/llama3.2:3b"}));
  EXPECT_FALSE(filtered->at("payload").at("models").as_array()[0].as_object().contains("input"));
  EXPECT_EQ(tagsQueries(), queried);
}

TEST_F(GatewayE2E, ModelsListDiscoverAsksTheOllamaServersAndReportsAFailedOne) {
  // `talon models list --discover` (offline: no gateway involved) with two Ollama servers: one answers
  // /api/tags and /api/show, the other fails its /api/tags.
  talon::testing::ScriptedPeer ollama([](const talon::testing::PeerRequest& r) {
    if (r.target == "/api/tags") {
      return talon::testing::PeerReply::whole(
          200,
          R"({"models":[{"name":"qwen3:latest","digest":"d1"},{"name":"nomic-embed-text:latest","digest":"d2"}]})");
    }
    if (r.body == R"({"model":"qwen3:latest"})") {
      return talon::testing::PeerReply::whole(
          200, R"({"model_info":{"qwen3.context_length":40960},"capabilities":["completion","tools","thinking"]})");
    }
    return talon::testing::PeerReply::whole(200, R"({"capabilities":["embedding"]})");
  });
  talon::testing::ScriptedPeer down({talon::testing::PeerReply::whole(503, R"({"error":"loading"})")});
  // A server whose /api/tags fails: reported, not fatal (only the bundled id "ollama" may leave out its
  // models list, so one server per run).
  writeText(dir_ / "discover.json", R"({
  models: { providers: { ollama: { baseUrl: ")" +
                                        down.origin() + R"(/v1" } } },
  agents: { defaults: { model: "ollama/qwen3:latest" } },
})");
  const std::map<std::string, std::string> env{{"TALON_STATE_DIR", (dir_ / "cli-state").string()}};
  auto listed =
      runTalon(dir_, {"models", "list", "--config", (dir_ / "discover.json").string(), "--discover", "--json"}, env);
  ASSERT_EQ(listed.status, 0) << listed.err;
  auto out = jsonObjectOf(listed.out);
  ASSERT_TRUE(out.contains("models")) << listed.out;
  ASSERT_EQ(out.at("models").as_array().size(), 1u) << listed.out;
  EXPECT_EQ(out.at("models").as_array()[0].at("role"), "primary");
  const auto& discovery = out.at("discovery").as_array();
  ASSERT_EQ(discovery.size(), 1u);
  EXPECT_EQ(discovery[0].at("provider"), "ollama");
  EXPECT_EQ(discovery[0].at("ok"), false);
  EXPECT_NE(std::string(discovery[0].at("error").as_string()).find("HTTP 503"), std::string::npos)
      << json::serialize(discovery[0]);

  // A live server; with the primary elsewhere, the discovered model is its own row, saying where it comes
  // from (the embedding model is left out).
  writeText(dir_ / "discover.json", R"({
  models: { providers: {
    mock: { baseUrl: "http://127.0.0.1:9/v1", apiKey: "k", api: "openai-completions", models: [{ id: "m", name: "M" }] },
    ollama: { baseUrl: ")" + ollama.origin() +
                                        R"(" } } },
  agents: { defaults: { model: "mock/m" } },
})");
  listed =
      runTalon(dir_, {"models", "list", "--config", (dir_ / "discover.json").string(), "--discover", "--json"}, env);
  ASSERT_EQ(listed.status, 0) << listed.err;
  out = jsonObjectOf(listed.out);
  const auto& models = out.at("models").as_array();
  ASSERT_EQ(models.size(), 2u) << listed.out;
  EXPECT_EQ(out.at("discovery").as_array()[0].at("ok"), true);
  const auto& qwen = models[1].as_object();
  EXPECT_EQ(qwen.at("ref"), "ollama/qwen3:latest");
  EXPECT_EQ(qwen.at("role"), "discovered");
  EXPECT_EQ(qwen.at("providerSource"), "discovered");
  EXPECT_EQ(std::string(qwen.at("why").as_string()), "discovered (GET " + ollama.origin() + "/api/tags)");
  EXPECT_EQ(qwen.at("contextWindow"), 40960);
  EXPECT_EQ(qwen.at("reasoning"), true);
  EXPECT_EQ(qwen.at("supportsTools"), true);

  auto table = runTalon(dir_, {"models", "list", "--config", (dir_ / "discover.json").string(), "--discover"}, env);
  ASSERT_EQ(table.status, 0) << table.err;
  EXPECT_NE(table.out.find("ollama/qwen3:latest"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("ok: 1 models"), std::string::npos) << table.out;
  // Without --discover nothing is asked.
  const std::size_t asked = ollama.requests().size();
  auto offline = runTalon(dir_, {"models", "list", "--config", (dir_ / "discover.json").string(), "--json"}, env);
  ASSERT_EQ(offline.status, 0) << offline.err;
  EXPECT_EQ(jsonObjectOf(offline.out).at("models").as_array().size(), 1u);
  EXPECT_FALSE(jsonObjectOf(offline.out).contains("discovery"));
  EXPECT_EQ(ollama.requests().size(), asked);
}

TEST_F(GatewayE2E, HttpProbesAndOpenAiCompatibleApi) {
  auto base = "http://127.0.0.1:" + std::to_string(port_);
  auto h = net::httpRequest("GET", base + "/healthz", {}, "", 5s);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->body, R"({"ok":true,"status":"live"})");
  auto ready = net::httpRequest("GET", base + "/readyz", {}, "", 5s);
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200) << ready->body;

  net::Headers auth{{"Authorization", std::string("Bearer ") + kGatewayToken}, {"Content-Type", "application/json"}};
  auto models = net::httpRequest("GET", base + "/v1/models", auth, "", 5s);
  ASSERT_TRUE(models);
  EXPECT_NE(models->body.find("openclaw/main"), std::string::npos);
  auto one = net::httpRequest("GET", base + "/v1/models/openclaw%2Fmain", auth, "", 5s);  // as the openai SDK sends it
  ASSERT_TRUE(one);
  EXPECT_EQ(one->status, 200) << one->body;
  auto unauthorized = net::httpRequest("GET", base + "/v1/models", {{"Authorization", "Bearer wrong"}}, "", 5s);
  ASSERT_TRUE(unauthorized);
  EXPECT_EQ(unauthorized->status, 401);

  auto done = net::httpRequest("POST", base + "/v1/chat/completions", auth,
                               R"({"model":"openclaw/main","messages":[{"role":"user","content":"hi"}]})", 10s);
  ASSERT_TRUE(done);
  ASSERT_EQ(done->status, 200) << done->body;
  auto v = parseJson(done->body);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->at("choices").at(0).at("message").at("content"), "ok");

  auto streamed =
      net::httpRequest("POST", base + "/v1/chat/completions", auth,
                       R"({"model":"talon/main","stream":true,"messages":[{"role":"user","content":"hi"}]})", 10s);
  ASSERT_TRUE(streamed);
  EXPECT_EQ(streamed->status, 200);
  EXPECT_NE(streamed->body.find("chat.completion.chunk"), std::string::npos);
  EXPECT_NE(streamed->body.find("data: [DONE]"), std::string::npos);

  auto noUser = net::httpRequest("POST", base + "/v1/chat/completions", auth,
                                 R"({"model":"openclaw/main","messages":[{"role":"system","content":"x"}]})", 10s);
  ASSERT_TRUE(noUser);
  EXPECT_EQ(noUser->status, 400);
}

// The channel runtime in a real gateway: configured loopback accounts start with `talon gateway run`, and
// `talon channels list|status|probe`, /readyz, /metrics and `health` show them. Fails (never skips) when
// the channels are not started.
TEST_F(GatewayE2E, ConfiguredChannelAccountsStartAndAreReported) {
  gateway_.reset();
  std::string cfg = readText(dir_ / "talon.json");
  auto end = cfg.rfind('}');
  ASSERT_NE(end, std::string::npos);
  cfg.insert(end, R"(  channels: { loopback: { dmPolicy: "open", allowFrom: ["*"],
                          accounts: { default: {}, lab: { name: "Lab" }, off: { enabled: false } } } },
)");
  writeText(dir_ / "talon.json", cfg);
  startGateway();
  const std::string url = "ws://127.0.0.1:" + std::to_string(port_);

  auto [statusRc, statusOut] =
      runTalonOutput(dir_, {"channels", "status", "--url", url, "--token", kGatewayToken, "--json"});
  ASSERT_EQ(statusRc, 0) << statusOut;
  auto status = parseJson(statusOut);
  ASSERT_TRUE(status) << statusOut;
  const auto& accounts = status->at("channelAccounts").at("loopback").as_array();
  ASSERT_EQ(accounts.size(), 3u) << statusOut;
  for (const auto& a : accounts) {
    const bool enabled = a.at("accountId") != json::value("off");
    EXPECT_EQ(a.at("running"), json::value(enabled)) << json::serialize(a) << gateway_->log();
    EXPECT_EQ(a.at("healthState"), json::value(enabled ? "healthy" : "disabled")) << json::serialize(a);
  }

  auto [listRc, listOut] = runTalonOutput(dir_, {"channels", "list", "--url", url, "--token", kGatewayToken});
  EXPECT_EQ(listRc, 0) << listOut;
  EXPECT_NE(listOut.find("default (default)"), std::string::npos) << listOut;
  EXPECT_NE(listOut.find("Lab"), std::string::npos) << listOut;

  auto [probeRc, probeOut] =
      runTalonOutput(dir_, {"channels", "probe", "--url", url, "--token", kGatewayToken, "--json"});
  ASSERT_EQ(probeRc, 0) << probeOut;
  auto probed = parseJson(probeOut);
  ASSERT_TRUE(probed) << probeOut;
  EXPECT_EQ(probed->at("channelAccounts").at("loopback").at(0).at("probe").at("ok"), json::value(true)) << probeOut;

  auto base = "http://127.0.0.1:" + std::to_string(port_);
  auto ready = net::httpRequest("GET", base + "/readyz", {}, "", 5s);
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200) << ready->body;
  EXPECT_NE(ready->body.find(R"("degraded":[])"), std::string::npos) << ready->body;
  auto metrics =
      net::httpRequest("GET", base + "/metrics", {{"Authorization", std::string("Bearer ") + kGatewayToken}}, "", 5s);
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find(R"(talon_channel_connected{channel="loopback",account_id="lab"} 1)"), std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find(
                R"(talon_channel_health_status{channel="loopback",account_id="default",dimension="functional"} 1)"),
            std::string::npos);
}

TEST_F(GatewayE2E, SystemPromptComesFromWorkspaceFiles) {
  writeText(dir_ / "state" / "workspace" / "SOUL.md", "You are Pip, a terse assistant.");
  auto c = client();
  ASSERT_TRUE(c);
  auto final = chat(*c, "who are you?");
  EXPECT_EQ(finalText(final), "Pip here.");
}

}  // namespace
}  // namespace talon::test
