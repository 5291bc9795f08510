// End-to-end: `talon fleet apply|plan|status|revisions|logs|stop` with the process provider over an
// inventory of three Talon gateways on free loopback ports, kept in a real git repository. Each gateway is
// a real `talon gateway run` process started detached by the fleet; the test checks the git gate, the
// secret-variable gate, readiness, status (with the protocol health call), a one-key change (plan shows
// only it; apply restarts only that gateway), drift, the audit chain and stop. One OpenClaw-runtime
// gateway too, when OpenClaw is installed (tools/install-openclaw; skipped otherwise). `talon fleet drift`
// against the running gateways, and `talon fleet serve`: a gateway's chat turn through the model proxy to a
// mock OpenAI upstream that only takes the real key, with virtual keys, limits, revocation and usage — per
// gateway, and per agent (modelProxy.attribution "agent": two agents of one gateway, each with its own key).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "base/ids.h"
#include "base/json.h"
#include "child_process.h"
#include "e2e_support.h"
#include "net/ws_client.h"
#include "support/scripted_peer.h"

namespace talon::test {
namespace {

namespace fs = std::filesystem;

/// True when `pid` exists and is not a zombie (the gateways are adopted by init, which reaps them).
bool fleetApplyProcessRuns(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return false;
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

json::value fleetApplyJson(const std::string& text) {
  auto v = parseJson(text);
  return v ? *v : json::value();
}

class FleetApplyE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir();
    repo_ = dir_ / "org";
    fs::create_directories(repo_);
    std::vector<int> taken;
    for (const char* id : {"gw-a", "gw-b", "gw-c"}) {
      ports_[id] = freeLoopbackPortApart(taken);
      taken.push_back(ports_[id]);
    }
    ASSERT_TRUE(git({"init", "-q"}));
    ASSERT_TRUE(git({"config", "user.email", "fleet@example.test"}));
    ASSERT_TRUE(git({"config", "user.name", "Fleet E2E"}));
  }
  void TearDown() override {
    talon({"fleet", "stop"});
    // Whatever a failed test left running.
    for (const char* id : {"gw-a", "gw-b", "gw-c", "oc"}) {
      std::ifstream pid(repo_ / ".talon-fleet" / "gateways" / id / "gateway.pid");
      int p = 0;
      if (pid >> p && p > 0) ::kill(p, SIGKILL);
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  bool git(const std::vector<std::string>& args) {
    std::string cmd = "cd '" + repo_.string() + "' && git";
    for (const auto& a : args) cmd += " '" + a + "'";
    return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
  }

  /// The inventory of the gateways in ports_; `topLevel` is added to the root object and
  /// `gatewayKeys[id]` to that gateway's entry (both JSON5 members ending in ",").
  void writeInventory(const std::string& topLevel = "", const std::map<std::string, std::string>& gatewayKeys = {}) {
    std::string gateways;
    for (const auto& [id, port] : ports_) {
      auto extra = gatewayKeys.find(id);
      gateways += "    \"" + id + "\": { port: " + std::to_string(port) + ", stateDir: \"" +
                  (dir_ / id / "state").string() + "\", workspaceRoot: \"" + (dir_ / id / "ws").string() + "\", " +
                  (extra != gatewayKeys.end() ? extra->second : "") + " },\n";
    }
    writeText(repo_ / "fleet.json5",
              "{\n  organisation: { id: \"org-e2e\", slug: \"e2e\", displayName: \"E2E\" },\n"
              "  defaults: { runtime: \"talon\", provider: \"process\", auth: { mode: \"token\", token: "
              "\"${FLEET_E2E_TOKEN}\" } },\n  gateways: {\n" +
                  gateways + "  },\n" + topLevel + "\n}\n");
  }

  CliResult talon(std::vector<std::string> args, bool withToken = true, std::map<std::string, std::string> env = {}) {
    args.push_back("--inventory");
    args.push_back((repo_ / "fleet.json5").string());
    if (withToken) env["FLEET_E2E_TOKEN"] = "fleet-e2e-canary-token";
    return runTalon(dir_, args, env);
  }

  /// `talon-mock-model` as the upstream, scripted by <dir>/mock-script.json, logging every request to
  /// <dir>/mock.log; its port lands in <dir>/mock.port.
  std::unique_ptr<ChildProcess> startMockUpstream() {
    return std::make_unique<ChildProcess>(
        std::vector<std::string>{TALON_MOCK_MODEL_BINARY, "--port", "0", "--port-file", (dir_ / "mock.port").string(),
                                 "--script", (dir_ / "mock-script.json").string(), "--log",
                                 (dir_ / "mock.log").string()},
        std::map<std::string, std::string>{}, (dir_ / "mock.out").string());
  }

  json::object statusOf(const std::string& gateway) {
    auto r = talon({"fleet", "status", "--json"});
    EXPECT_EQ(r.status, 0) << r.err;
    json::object all = jsonObjectOf(r.out);
    const json::value* gateways = all.if_contains("gateways");
    if (gateways == nullptr || !gateways->is_array()) {
      ADD_FAILURE() << "no gateways in: " << r.out << r.err;
      return {};
    }
    for (const auto& g : gateways->as_array()) {
      if (g.at("gateway") == gateway.c_str()) return g.as_object();
    }
    ADD_FAILURE() << "no status for " << gateway << ": " << r.out;
    return {};
  }

  fs::path dir_;
  fs::path repo_;
  std::map<std::string, int> ports_;
};

TEST_F(FleetApplyE2E, AppliesPlansRestartsOnlyWhatChangedAndStops) {
  writeInventory();

  // An inventory with uncommitted changes is refused, and nothing starts.
  auto dirty = talon({"fleet", "apply"});
  EXPECT_NE(dirty.status, 0);
  EXPECT_NE(dirty.err.find("uncommitted"), std::string::npos) << dirty.err;
  ASSERT_TRUE(git({"add", "fleet.json5"}));
  ASSERT_TRUE(git({"commit", "-q", "-m", "three gateways"}));

  // A secret the configs reference but the environment lacks: a clear error before anything starts.
  auto noSecret = talon({"fleet", "apply"}, /*withToken=*/false);
  EXPECT_NE(noSecret.status, 0);
  EXPECT_NE(noSecret.err.find("FLEET_E2E_TOKEN (gateways gw-a, gw-b, gw-c)"), std::string::npos) << noSecret.err;
  EXPECT_EQ(statusOf("gw-a").at("state"), "stopped");

  auto plan0 = talon({"fleet", "plan", "--json"});
  ASSERT_EQ(plan0.status, 0) << plan0.err;
  EXPECT_EQ(jsonObjectOf(plan0.out).at("changedGateways"), 3);

  auto applied = talon({"fleet", "apply", "--actor", "e2e-operator", "--json"});
  ASSERT_EQ(applied.status, 0) << applied.out << applied.err;
  json::object a1 = jsonObjectOf(applied.out);
  EXPECT_EQ(a1.at("revision"), 1);
  for (const auto& g : a1.at("gateways").as_array()) EXPECT_EQ(g.at("action"), "started") << applied.out;
  EXPECT_NE(applied.err.find("gw-b: ready on 127.0.0.1:" + std::to_string(ports_["gw-b"])), std::string::npos)
      << applied.err;

  std::map<std::string, int64_t> pids;
  for (const char* id : {"gw-a", "gw-b", "gw-c"}) {
    json::object s = statusOf(id);
    EXPECT_EQ(s.at("state"), "running") << toJson(s);
    EXPECT_EQ(s.at("readyz").at("status"), 200);
    EXPECT_EQ(s.at("health").at("ok"), true) << toJson(s);
    EXPECT_EQ(s.at("appliedRevision"), 1);
    EXPECT_EQ(s.at("drift"), "in-sync");
    pids[id] = s.at("pid").as_int64();
  }

  // Re-applying an unchanged fleet restarts nothing and records no revision.
  auto again = talon({"fleet", "apply", "--json"});
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_FALSE(jsonObjectOf(again.out).contains("revision"));

  // One key of one gateway changes: the plan shows only that key, apply restarts only that gateway.
  ports_["gw-b"] = freeLoopbackPortApart({ports_["gw-a"], ports_["gw-b"], ports_["gw-c"]});
  writeInventory();
  ASSERT_TRUE(git({"commit", "-q", "-am", "move gw-b"}));
  auto plan = talon({"fleet", "plan", "--json"});
  ASSERT_EQ(plan.status, 0) << plan.err;
  json::object p = jsonObjectOf(plan.out);
  EXPECT_EQ(p.at("changedGateways"), 1);
  for (const auto& g : p.at("gateways").as_array()) {
    if (g.at("gateway") == "gw-b") {
      EXPECT_EQ(g.at("status"), "changed");
      EXPECT_EQ(toJson(g.at("changed")), R"(["gateway.port"])");
      EXPECT_TRUE(g.at("added").as_array().empty());
      EXPECT_TRUE(g.at("removed").as_array().empty());
    } else {
      EXPECT_EQ(g.at("status"), "unchanged") << toJson(g);
    }
  }
  auto planText = talon({"fleet", "plan"});
  EXPECT_NE(planText.out.find("gw-a: no changes"), std::string::npos) << planText.out;
  EXPECT_NE(planText.out.find("  ~ gateway.port"), std::string::npos) << planText.out;

  auto applied2 = talon({"fleet", "apply", "--json"});
  ASSERT_EQ(applied2.status, 0) << applied2.out << applied2.err;
  json::object a2 = jsonObjectOf(applied2.out);
  EXPECT_EQ(a2.at("revision"), 2);
  for (const auto& g : a2.at("gateways").as_array()) {
    EXPECT_EQ(g.at("action"), g.at("gateway") == "gw-b" ? "restarted" : "unchanged") << applied2.out;
  }
  EXPECT_EQ(statusOf("gw-a").at("pid"), pids["gw-a"]);
  EXPECT_EQ(statusOf("gw-c").at("pid"), pids["gw-c"]);
  json::object b = statusOf("gw-b");
  EXPECT_NE(b.at("pid"), pids["gw-b"]);
  EXPECT_EQ(b.at("state"), "running");
  EXPECT_EQ(b.at("appliedRevision"), 2);
  EXPECT_EQ(statusOf("gw-a").at("appliedRevision"), 1);

  // Revisions: who, the git commit, the changed key; the rendered files never hold the secret value.
  auto revisions = talon({"fleet", "revisions", "--json"});
  ASSERT_EQ(revisions.status, 0) << revisions.err;
  json::value list = fleetApplyJson(revisions.out);
  ASSERT_TRUE(list.is_array()) << revisions.out;
  ASSERT_EQ(list.as_array().size(), 2u);
  EXPECT_EQ(list.as_array()[0].at("actor"), "e2e-operator");
  EXPECT_EQ(list.as_array()[1].at("inventory").at("gitDirty"), false);
  EXPECT_EQ(list.as_array()[1].at("inventory").at("gitCommit").as_string().size(), 40u);
  auto shown = talon({"fleet", "revisions", "show", "2", "--json"});
  ASSERT_EQ(shown.status, 0) << shown.err;
  json::object r2 = jsonObjectOf(shown.out);
  ASSERT_EQ(r2.at("gateways").as_array().size(), 1u);
  EXPECT_EQ(r2.at("gateways").as_array()[0].at("previousRevision"), 1);
  EXPECT_EQ(toJson(r2.at("gateways").as_array()[0].at("changes")), R"([{"op":"changed","path":"gateway.port"}])");
  for (const auto& entry : fs::recursive_directory_iterator(repo_ / ".talon-fleet" / "revisions")) {
    EXPECT_EQ(readText(entry.path()).find("fleet-e2e-canary-token"), std::string::npos) << entry.path();
  }

  // Logs, then drift: the deployed config edited behind the fleet's back.
  auto logs = talon({"fleet", "logs", "gw-b", "-n", "5"});
  EXPECT_EQ(logs.status, 0) << logs.err;
  EXPECT_FALSE(logs.out.empty());
  {
    std::ofstream edit(dir_ / "gw-c" / "state" / "openclaw.json", std::ios::app);
    edit << "\n";
  }
  EXPECT_EQ(statusOf("gw-c").at("drift"), "drifted");

  // The applies are in the fleet's audit chain.
  auto audit = runTalon(dir_, {"audit", "list", "--json"}, {{"TALON_STATE_DIR", (repo_ / ".talon-fleet").string()}});
  ASSERT_EQ(audit.status, 0) << audit.err;
  EXPECT_NE(audit.out.find("fleet.apply"), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("revision:2"), std::string::npos) << audit.out;

  auto stopped = talon({"fleet", "stop"});
  ASSERT_EQ(stopped.status, 0) << stopped.err;
  pids["gw-b"] = b.at("pid").as_int64();
  for (const char* id : {"gw-a", "gw-b", "gw-c"}) {
    EXPECT_EQ(statusOf(id).at("state"), "stopped");
    EXPECT_FALSE(fleetApplyProcessRuns(static_cast<int>(pids[id]))) << id;
  }
}

json::object fleetDriftOf(const json::object& report, const std::string& gateway) {
  for (const auto& g : report.at("gateways").as_array()) {
    if (g.at("gateway") == gateway.c_str()) return g.as_object();
  }
  ADD_FAILURE() << "no drift for " << gateway << " in " << toJson(report);
  return {};
}

TEST_F(FleetApplyE2E, DriftReadsTheRunningConfigAndVersionThroughTheProtocol) {
  // gw-a is deployed at a catalogued version whose binary is this talon, which reports its own version.
  writeInventory(
      std::string("  runtimes: { talon: { versions: { \"9.9.9-e2e\": { binary: \"") + TALON_BINARY + "\" } } } },",
      {{"gw-a", "version: \"9.9.9-e2e\","}});

  auto before = talon({"fleet", "drift", "--json"});
  EXPECT_EQ(before.status, 0) << before.out << before.err;
  EXPECT_EQ(fleetDriftOf(jsonObjectOf(before.out), "gw-b").at("state"), "not-applied");

  auto applied = talon({"fleet", "apply", "--allow-dirty", "--json"});
  ASSERT_EQ(applied.status, 0) << applied.out << applied.err;

  auto first = talon({"fleet", "drift", "--json"});
  EXPECT_EQ(first.status, 1) << "gw-a runs another version: " << first.out << first.err;
  json::object report = jsonObjectOf(first.out);
  json::object a = fleetDriftOf(report, "gw-a");
  EXPECT_EQ(a.at("state"), "drifted") << toJson(a);
  EXPECT_EQ(toJson(a.at("drifted")), R"(["version"])") << toJson(a);
  EXPECT_EQ(a.at("appliedVersion"), "9.9.9-e2e");
  EXPECT_NE(a.at("runningVersion"), "9.9.9-e2e");
  for (const char* id : {"gw-b", "gw-c"}) {
    json::object g = fleetDriftOf(report, id);
    EXPECT_EQ(g.at("state"), "in-sync") << toJson(g);
    EXPECT_EQ(g.at("appliedRevision"), 1);
    // The hash the gateway reports it runs is the one the fleet computes from the applied render.
    EXPECT_EQ(g.at("runningHash"), g.at("expectedHash")) << toJson(g);
    EXPECT_FALSE(g.at("runningVersion").as_string().empty());
  }

  // gw-c's config is edited behind the fleet's back: its file, and once reloaded what it runs, differ.
  fs::path configC = dir_ / "gw-c" / "state" / "openclaw.json";
  json::object edited = jsonObjectOf(readText(configC));
  edited["bindings"] = json::array{};
  writeText(configC, toJson(edited));
  // gw-b is stopped: its drift cannot be read.
  auto stopped = talon({"fleet", "stop", "--gateway", "gw-b"});
  ASSERT_EQ(stopped.status, 0) << stopped.err;

  json::object c;
  CliResult later;
  EXPECT_TRUE(pollUntil(
      [&] {
        later = talon({"fleet", "drift", "--json"});
        c = fleetDriftOf(jsonObjectOf(later.out), "gw-c");
        return c.at("state") == "drifted";
      },
      std::chrono::seconds(20)))
      << later.out << later.err;
  EXPECT_EQ(later.status, 1);
  EXPECT_EQ(toJson(c.at("drifted")), R"(["hash"])") << toJson(c);
  EXPECT_NE(c.at("fileHash"), c.at("expectedHash"));
  json::object b = fleetDriftOf(jsonObjectOf(later.out), "gw-b");
  EXPECT_EQ(b.at("state"), "unreachable") << toJson(b);
  EXPECT_FALSE(b.at("detail").as_string().empty());

  auto text = talon({"fleet", "drift", "--gateway", "gw-b"});
  EXPECT_EQ(text.status, 5) << "only an unreachable gateway: " << text.out << text.err;
  EXPECT_NE(text.out.find("unreachable"), std::string::npos) << text.out;
}

/// POST a chat completion to the model proxy as gateway `key`.
net::SimpleHttpResponse fleetProxyPost(int proxyPort, const std::string& key, const std::string& body) {
  auto r = net::httpRequest(
      "POST", "http://127.0.0.1:" + std::to_string(proxyPort) + "/providers/mock/chat/completions",
      {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}}, body, std::chrono::seconds(15));
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : net::SimpleHttpResponse{};
}

TEST_F(FleetApplyE2E, ServeProxiesAGatewaysModelCallsWithItsVirtualKey) {
  const std::string realKey = "sk-fleet-e2e-REAL-canary-7f3a91";
  // The upstream: OpenAI's wire format, answering only the real key, logging each request's headers.
  writeText(
      dir_ / "mock-script.json",
      R"({"apiKey":")" + realKey +
          R"(","rules":[{"reply":{"text":"proxied ok","usage":{"prompt_tokens":1000,"completion_tokens":500}}}]})");
  auto mock = startMockUpstream();
  int mockPort = waitForPortFile((dir_ / "mock.port").string(), std::chrono::seconds(10));
  ASSERT_GT(mockPort, 0) << mock->log();
  int proxyPort = freeLoopbackPort();
  testing::ScriptedPeer alertReceiver({testing::PeerReply::whole(204, "")});
  // Each request costs 1000 * 1 + 500 * 2 = 2000 USD per million tokens: 0.002 USD; the limit allows two.
  writeInventory(R"(
  alerts: { targets: [ { kind: "webhook", url: ")" +
                 alertReceiver.origin() +
                 R"(/drift", secret: "${FLEET_E2E_ALERT_SECRET}" } ] },
  catalogs: { models: { "mock/mock-model": {}, "mock/other-model": { status: "blocked" } } },
  agents: { helper: { gateway: "gw-a", kind: "use-case", model: "mock/mock-model" } },
  modelProxy: {
    listen: "127.0.0.1:)" +
                 std::to_string(proxyPort) +
                 R"(",
    driftIntervalSeconds: 1,
    gateways: ["gw-a"],
    providers: { mock: { baseUrl: "http://127.0.0.1:)" +
                 std::to_string(mockPort) + R"(/v1", apiKey: "${FLEET_E2E_UPSTREAM_KEY}" } },
    limits: { gateways: { "gw-a": { dailyUsd: 0.003 } } },
    pricing: { "mock/mock-model": { inputPerMTokUsd: 1, outputPerMTokUsd: 2 } },
  },)");

  // The virtual key: printed once, given to the gateway through its environment.
  auto issued = talon({"fleet", "keys", "issue", "gw-a", "--json"});
  ASSERT_EQ(issued.status, 0) << issued.out << issued.err;
  json::object issuedJson = jsonObjectOf(issued.out);
  const std::string virtualKey(issuedJson.at("key").as_string());
  EXPECT_EQ(issuedJson.at("variable"), "TALON_FLEET_PROXY_KEY_GW_A");
  auto applied =
      talon({"fleet", "apply", "--allow-dirty", "--json"}, true, {{"TALON_FLEET_PROXY_KEY_GW_A", virtualKey}});
  ASSERT_EQ(applied.status, 0) << applied.out << applied.err;

  ChildProcess serve({TALON_BINARY, "fleet", "serve", "--inventory", (repo_ / "fleet.json5").string()},
                     {{"FLEET_E2E_TOKEN", "fleet-e2e-canary-token"},
                      {"FLEET_E2E_UPSTREAM_KEY", realKey},
                      {"FLEET_E2E_ALERT_SECRET", "whsec-drift"}},
                     (dir_ / "serve.log").string());
  std::string health;
  ASSERT_TRUE(pollUntil(
      [&] {
        auto r = net::httpRequest("GET", "http://127.0.0.1:" + std::to_string(proxyPort) + "/fleet/health", {}, "",
                                  std::chrono::seconds(2));
        health = r ? r->body : "";
        return r && r->status == 200 && health.find("in-sync") != std::string::npos;
      },
      std::chrono::seconds(20)))
      << health << serve.log();

  // A stream straight through the proxy: passed through as SSE, usage asked for and read.
  auto streamed = fleetProxyPost(proxyPort, virtualKey,
                                 R"({"model":"mock-model","stream":true,"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(streamed.status, 200) << streamed.body;
  EXPECT_NE(streamed.body.find("data: [DONE]"), std::string::npos) << streamed.body;
  EXPECT_NE(streamed.body.find("\"prompt_tokens\":1000"), std::string::npos) << streamed.body;

  // A chat turn on gw-a reaches the upstream through the proxy, with the real key.
  auto client = ProtocolClient::connect(ports_["gw-a"], "fleet-e2e-canary-token");
  ASSERT_TRUE(client);
  std::string runId = newUuid();
  auto sent = client->request("chat.send",
                              json::object{{"sessionKey", "main"}, {"message", "hello"}, {"idempotencyKey", runId}});
  ASSERT_TRUE(sent && getBool(*sent, "ok").value_or(false)) << (sent ? toJson(*sent) : "no response");
  auto final = client->waitTerminal(runId, nullptr, std::chrono::seconds(30));
  ASSERT_TRUE(final) << readText(dir_ / "mock.log");
  EXPECT_EQ(finalText(*final), "proxied ok") << toJson(*final);
  std::string upstreamLog = readText(dir_ / "mock.log");
  EXPECT_NE(upstreamLog.find("\"authorization\":\"Bearer " + realKey + "\""), std::string::npos) << upstreamLog;
  EXPECT_EQ(upstreamLog.find(virtualKey), std::string::npos) << "the virtual key stops at the proxy";
  EXPECT_EQ(upstreamLog.find("\"authorization\":\"Bearer tfk_"), std::string::npos);
  // Both calls streamed with usage asked for: the direct one because the proxy added it, the turn's too.
  std::size_t streamedCalls = 0;
  for (std::size_t at = upstreamLog.find("\"include_usage\":true"); at != std::string::npos;
       at = upstreamLog.find("\"include_usage\":true", at + 1))
    ++streamedCalls;
  EXPECT_EQ(streamedCalls, 2u) << upstreamLog;

  // The real key is nowhere Talon wrote: renders, deployed configs, revisions, the ledger, logs, CLI output.
  auto rendered = talon({"fleet", "render", "--out", (dir_ / "rendered").string()});
  ASSERT_EQ(rendered.status, 0) << rendered.err;
  EXPECT_NE(readText(dir_ / "rendered" / "gw-a" / "openclaw.json").find("${TALON_FLEET_PROXY_KEY_GW_A}"),
            std::string::npos);
  std::size_t scanned = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
    if (!entry.is_regular_file()) continue;
    std::string name = entry.path().filename().string();
    if (name == "mock-script.json" || name == "mock.log") continue;  // the upstream's own script and log
    std::string text = readText(entry.path());
    EXPECT_EQ(text.find(realKey), std::string::npos) << entry.path();
    if (entry.path().string().find(".talon-fleet") != std::string::npos) {
      EXPECT_EQ(text.find(virtualKey), std::string::npos) << "the ledger keeps hashes only: " << entry.path();
    }
    ++scanned;
  }
  EXPECT_GT(scanned, 10u);

  // Usage per gateway and model: the stream and the turn.
  auto usage = talon({"fleet", "usage", "--json"});
  ASSERT_EQ(usage.status, 0) << usage.err;
  json::object u = jsonObjectOf(usage.out);
  ASSERT_EQ(u.at("usage").as_array().size(), 1u) << usage.out;
  const auto& row = u.at("usage").as_array()[0];
  EXPECT_EQ(row.at("gateway"), "gw-a");
  EXPECT_EQ(row.at("model"), "mock/mock-model");
  EXPECT_EQ(row.at("requests"), 2) << usage.out;
  EXPECT_EQ(row.at("promptTokens"), 2000) << usage.out;
  EXPECT_NEAR(row.at("costUsd").to_number<double>(), 0.004, 1e-9);

  // The limit is spent: 429 in OpenAI's format. A model policy denies: 403.
  const std::string body = R"({"model":"mock-model","messages":[{"role":"user","content":"again"}]})";
  auto limited = fleetProxyPost(proxyPort, virtualKey, body);
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_NE(limited.body.find("\"code\":\"insufficient_quota\""), std::string::npos) << limited.body;
  auto denied = fleetProxyPost(proxyPort, virtualKey, R"({"model":"other-model","messages":[]})");
  EXPECT_EQ(denied.status, 403) << denied.body;
  EXPECT_NE(denied.body.find("model_not_allowed"), std::string::npos) << denied.body;

  // Revoked: 401 at once, without touching the real key.
  auto revoked = talon({"fleet", "keys", "revoke", "gw-a", "--json"});
  ASSERT_EQ(revoked.status, 0) << revoked.err;
  auto refused = fleetProxyPost(proxyPort, virtualKey, body);
  EXPECT_EQ(refused.status, 401) << refused.body;
  EXPECT_NE(refused.body.find("\"code\":\"invalid_api_key\""), std::string::npos) << refused.body;
  EXPECT_EQ(fleetProxyPost(proxyPort, "tfk_not-a-key", body).status, 401);
  auto keys = talon({"fleet", "keys", "list", "--json"});
  ASSERT_EQ(keys.status, 0) << keys.err;
  auto keyList = parseJson(keys.out);
  ASSERT_TRUE(keyList && keyList->is_array() && keyList->as_array().size() == 1u) << keys.out;
  EXPECT_EQ(keyList->as_array()[0].at("active"), false) << keys.out;
  EXPECT_EQ(keys.out.find(virtualKey), std::string::npos);

  // Drift while serving: gw-b's config is edited; serve raises a health record, a stderr line and an audit record.
  fs::path configB = dir_ / "gw-b" / "state" / "openclaw.json";
  json::object edited = jsonObjectOf(readText(configB));
  edited["bindings"] = json::array{};
  writeText(configB, toJson(edited));
  EXPECT_TRUE(pollUntil(
      [&] {
        auto r = net::httpRequest("GET", "http://127.0.0.1:" + std::to_string(proxyPort) + "/fleet/health", {}, "",
                                  std::chrono::seconds(2));
        health = r ? r->body : "";
        return health.find("\"status\":\"drifted\"") != std::string::npos;
      },
      std::chrono::seconds(20)))
      << health;
  EXPECT_TRUE(pollUntil([&] { return serve.log().find("gateway gw-b drifted (hash)") != std::string::npos; },
                        std::chrono::seconds(5)))
      << serve.log();
  EXPECT_NE(readText(repo_ / ".talon-fleet" / "proxy" / "health.json").find("drifted"), std::string::npos);
  auto audit = runTalon(dir_, {"audit", "list", "--json"}, {{"TALON_STATE_DIR", (repo_ / ".talon-fleet").string()}});
  EXPECT_NE(audit.out.find("fleet.drift"), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("fleet.keys.revoke"), std::string::npos) << audit.out;
  // And an alert to the webhook target, once, however many checks saw it drifted.
  ASSERT_TRUE(pollUntil([&] { return !alertReceiver.requests().empty(); }, std::chrono::seconds(10))) << serve.log();
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // two more drift checks (1 s interval)
  auto driftAlerts = alertReceiver.requests();
  ASSERT_EQ(driftAlerts.size(), 1u) << serve.log() << driftAlerts[0].body << driftAlerts.back().body;
  json::object driftAlert = jsonObjectOf(driftAlerts[0].body);
  EXPECT_EQ(driftAlert.at("key"), "fleet:drift/gw-b");
  EXPECT_EQ(driftAlert.at("type"), "alert.firing");
  EXPECT_EQ(driftAlert.at("fields").at("drifted"), "hash");

  auto exited = serve.stop(SIGTERM);
  ASSERT_TRUE(exited);
  EXPECT_TRUE(WIFEXITED(*exited) && WEXITSTATUS(*exited) == 0) << serve.log();
}

// Per-agent attribution: two agents of gw-a, each with its own provider entry and virtual key; their turns
// through the running gateway are recorded apart, and one agent's limit cuts it off while the other agent
// (and the gateway, whose limit is far) goes on.
TEST_F(FleetApplyE2E, ServeAttributesUsageAndLimitsToEachAgentOfAGateway) {
  const std::string realKey = "sk-fleet-e2e-REAL-canary-agents";
  writeText(
      dir_ / "mock-script.json",
      R"({"apiKey":")" + realKey +
          R"(","rules":[{"reply":{"text":"proxied ok","usage":{"prompt_tokens":1000,"completion_tokens":500}}}]})");
  auto mock = startMockUpstream();
  int mockPort = waitForPortFile((dir_ / "mock.port").string(), std::chrono::seconds(10));
  ASSERT_GT(mockPort, 0) << mock->log();
  int proxyPort = freeLoopbackPort();
  // One request costs 0.002 USD: sales (limit 0.001 a day) gets one, research (no limit of its own) more.
  writeInventory(R"(
  catalogs: { models: { "mock/mock-model": {} } },
  agents: {
    sales: { gateway: "gw-a", kind: "use-case", model: "mock/mock-model" },
    research: { gateway: "gw-a", kind: "use-case", model: "mock/mock-model" },
  },
  modelProxy: {
    listen: "127.0.0.1:)" +
                 std::to_string(proxyPort) +
                 R"(",
    gateways: ["gw-a"],
    attribution: "agent",
    providers: { mock: { baseUrl: "http://127.0.0.1:)" +
                 std::to_string(mockPort) + R"(/v1", apiKey: "${FLEET_E2E_UPSTREAM_KEY}" } },
    limits: { gateways: { "gw-a": { dailyUsd: 1 } }, agents: { sales: { dailyUsd: 0.001 } } },
    pricing: { "mock/mock-model": { inputPerMTokUsd: 1, outputPerMTokUsd: 2 } },
  },)");

  std::map<std::string, std::string> keys;
  std::map<std::string, std::string> keyEnv;
  for (const char* agent : {"sales", "research"}) {
    auto issued = talon({"fleet", "keys", "issue", "gw-a", "--agent", agent, "--json"});
    ASSERT_EQ(issued.status, 0) << issued.out << issued.err;
    json::object j = jsonObjectOf(issued.out);
    EXPECT_EQ(j.at("agent"), agent);
    keys[agent] = std::string(j.at("key").as_string());
    keyEnv[std::string(j.at("variable").as_string())] = keys[agent];
  }
  EXPECT_EQ(keyEnv.count("TALON_FLEET_PROXY_KEY_GW_A__SALES"), 1u);
  EXPECT_EQ(keyEnv.count("TALON_FLEET_PROXY_KEY_GW_A__RESEARCH"), 1u);
  EXPECT_EQ(talon({"fleet", "keys", "issue", "gw-b", "--agent", "sales"}).status, 6) << "sales is not on gw-b";

  // apply requires each agent's key variable, like the gateway's.
  auto missing = talon({"fleet", "apply", "--gateway", "gw-a", "--allow-dirty"}, true,
                       {{"TALON_FLEET_PROXY_KEY_GW_A__SALES", keys["sales"]}});
  EXPECT_EQ(missing.status, 1) << missing.out << missing.err;
  EXPECT_NE((missing.out + missing.err).find("TALON_FLEET_PROXY_KEY_GW_A__RESEARCH"), std::string::npos)
      << missing.out << missing.err;
  auto applied = talon({"fleet", "apply", "--gateway", "gw-a", "--allow-dirty", "--json"}, true, keyEnv);
  ASSERT_EQ(applied.status, 0) << applied.out << applied.err;
  json::object deployed = jsonObjectOf(readText(dir_ / "gw-a" / "state" / "openclaw.json"));
  EXPECT_EQ(deployed.at("agents").at("entries").at("sales").at("model"), "mock--sales/mock-model");
  EXPECT_EQ(deployed.at("models").at("providers").at("mock--research").at("apiKey"),
            "${TALON_FLEET_PROXY_KEY_GW_A__RESEARCH}");

  ChildProcess serve({TALON_BINARY, "fleet", "serve", "--inventory", (repo_ / "fleet.json5").string()},
                     {{"FLEET_E2E_TOKEN", "fleet-e2e-canary-token"}, {"FLEET_E2E_UPSTREAM_KEY", realKey}},
                     (dir_ / "serve.log").string());
  ASSERT_TRUE(pollUntil(
      [&] {
        auto r = net::httpRequest("GET", "http://127.0.0.1:" + std::to_string(proxyPort) + "/fleet/health", {}, "",
                                  std::chrono::seconds(2));
        return r && r->status == 200;
      },
      std::chrono::seconds(20)))
      << serve.log();

  // A turn of each agent on the running gateway: each goes through the proxy with its own key.
  auto client = ProtocolClient::connect(ports_["gw-a"], "fleet-e2e-canary-token");
  ASSERT_TRUE(client);
  auto turn = [&](const std::string& agent) {
    std::string runId = newUuid();
    auto sent = client->request(
        "chat.send",
        json::object{{"sessionKey", "agent:" + agent + ":main"}, {"message", "hello"}, {"idempotencyKey", runId}});
    EXPECT_TRUE(sent && getBool(*sent, "ok").value_or(false)) << (sent ? toJson(*sent) : "no response");
    auto final = client->waitTerminal(runId, nullptr, std::chrono::seconds(30));
    EXPECT_TRUE(final) << readText(dir_ / "mock.log") << serve.log();
    return final ? finalText(*final) : std::string();
  };
  EXPECT_EQ(turn("sales"), "proxied ok");
  EXPECT_EQ(turn("research"), "proxied ok");
  std::string upstreamLog = readText(dir_ / "mock.log");
  EXPECT_EQ(upstreamLog.find("tfk_"), std::string::npos) << "virtual keys stop at the proxy";

  auto byAgent = [&] {
    auto r = talon({"fleet", "usage", "--by", "agent", "--json"});
    EXPECT_EQ(r.status, 0) << r.err;
    std::map<std::string, int64_t> requests;
    json::object u = jsonObjectOf(r.out);
    EXPECT_EQ(u.at("by"), "agent");
    for (const auto& row : u.at("usage").as_array()) {
      EXPECT_EQ(row.at("gateway"), "gw-a");
      EXPECT_EQ(row.at("model"), "mock/mock-model");
      requests[std::string(row.at("agent").as_string())] = row.at("requests").as_int64();
    }
    return requests;
  };
  EXPECT_EQ(byAgent(), (std::map<std::string, int64_t>{{"research", 1}, {"sales", 1}}));

  // sales spent past its limit: refused, naming its limit; research and the gateway's limit are untouched.
  const std::string body = R"({"model":"mock-model","messages":[{"role":"user","content":"again"}]})";
  auto cut = fleetProxyPost(proxyPort, keys["sales"], body);
  EXPECT_EQ(cut.status, 429) << cut.body;
  EXPECT_NE(cut.body.find("\"code\":\"insufficient_quota\""), std::string::npos) << cut.body;
  EXPECT_NE(cut.body.find("modelProxy.limits.agents.sales.dailyUsd"), std::string::npos) << cut.body;
  EXPECT_EQ(fleetProxyPost(proxyPort, keys["research"], body).status, 200);
  EXPECT_EQ(turn("research"), "proxied ok");
  EXPECT_EQ(byAgent(), (std::map<std::string, int64_t>{{"research", 3}, {"sales", 1}}));
  auto byGateway = talon({"fleet", "usage", "--json"});
  ASSERT_EQ(byGateway.status, 0) << byGateway.err;
  json::object total = jsonObjectOf(byGateway.out);
  ASSERT_EQ(total.at("usage").as_array().size(), 1u) << byGateway.out;
  EXPECT_EQ(total.at("usage").as_array()[0].at("requests"), 4);
  EXPECT_FALSE(total.at("usage").as_array()[0].as_object().contains("agent"));
  auto table = talon({"fleet", "usage", "--by", "agent"});
  EXPECT_NE(table.out.find("AGENT"), std::string::npos) << table.out;

  // Revoking research's key leaves sales's; the list shows whose key is whose.
  auto revoked = talon({"fleet", "keys", "revoke", "gw-a", "--agent", "research", "--json"});
  ASSERT_EQ(revoked.status, 0) << revoked.err;
  EXPECT_EQ(jsonObjectOf(revoked.out).at("revoked"), 1);
  EXPECT_EQ(fleetProxyPost(proxyPort, keys["research"], body).status, 401);
  // An agent no longer in the inventory can still have its keys revoked (none here); not issued one.
  auto ghost = talon({"fleet", "keys", "revoke", "gw-a", "--agent", "ghost", "--json"});
  EXPECT_EQ(ghost.status, 0) << ghost.err;
  EXPECT_EQ(jsonObjectOf(ghost.out).at("revoked"), 0) << ghost.out;
  EXPECT_EQ(talon({"fleet", "keys", "issue", "gw-a", "--agent", "ghost"}).status, 6);
  EXPECT_EQ(fleetProxyPost(proxyPort, keys["sales"], body).status, 429) << "sales's key is still known";
  auto listed = talon({"fleet", "keys", "list", "--json"});
  ASSERT_EQ(listed.status, 0) << listed.err;
  std::set<std::string> active;
  const json::value keyList = fleetApplyJson(listed.out);
  ASSERT_TRUE(keyList.is_array()) << listed.out;
  for (const auto& k : keyList.as_array()) {
    if (k.at("active").as_bool()) active.insert(std::string(k.at("agent").as_string()));
  }
  EXPECT_EQ(active, (std::set<std::string>{"sales"})) << listed.out;

  // Removing an agent revokes its own key at once (before the removal is deployed).
  auto reissued = talon({"fleet", "keys", "issue", "gw-a", "--agent", "research", "--json"});
  ASSERT_EQ(reissued.status, 0) << reissued.err;
  const std::string researchKey(jsonObjectOf(reissued.out).at("key").as_string());
  EXPECT_EQ(fleetProxyPost(proxyPort, researchKey, body).status, 200);
  auto removed = talon({"fleet", "agents", "rm", "research", "--json"});
  ASSERT_EQ(removed.status, 0) << removed.out << removed.err;
  EXPECT_EQ(jsonObjectOf(removed.out).at("proxyKeysRevoked"), 1) << removed.out;
  EXPECT_EQ(fleetProxyPost(proxyPort, researchKey, body).status, 401);

  auto exited = serve.stop(SIGTERM);
  ASSERT_TRUE(exited);
  EXPECT_TRUE(WIFEXITED(*exited) && WEXITSTATUS(*exited) == 0) << serve.log();
}

TEST_F(FleetApplyE2E, ServeSchedulesAndVerifiesBackupsAlertsAndADrillRecoversOne) {
  // The alert target: a webhook receiver answering 204.
  testing::ScriptedPeer receiver({testing::PeerReply::whole(204, "")});
  writeInventory(
      "  backups: { intervalHours: 24, keep: 3, verifyIntervalHours: 24 },\n"
      "  alerts: { targets: [ { id: \"ops\", kind: \"webhook\", url: \"" +
      receiver.origin() + "/fleet-alerts\", secret: \"${FLEET_E2E_ALERT_SECRET}\" } ] },");
  auto applied = talon({"fleet", "apply", "--allow-dirty", "--gateway", "gw-a", "--json"});
  ASSERT_EQ(applied.status, 0) << applied.out << applied.err;
  auto serveOnce = [&](const std::string& until, const std::string& name) {
    ChildProcess serve({TALON_BINARY, "fleet", "serve", "--inventory", (repo_ / "fleet.json5").string()},
                       {{"FLEET_E2E_TOKEN", "fleet-e2e-canary-token"}, {"FLEET_E2E_ALERT_SECRET", "whsec-fleet-e2e"}},
                       (dir_ / name).string());
    EXPECT_TRUE(pollUntil([&] { return serve.log().find(until) != std::string::npos; }, std::chrono::seconds(30)))
        << serve.log();
    auto exited = serve.stop(SIGTERM);
    EXPECT_TRUE(exited && WIFEXITED(*exited) && WEXITSTATUS(*exited) == 0) << serve.log();
    return serve.log();
  };

  // The first tick backs up the one applied gateway (no backup yet: it is due) and verifies what is kept.
  // (SIGTERM is taken between ticks: the tick that printed the line finishes and publishes its record.)
  std::string first = serveOnce("fleet serve: backup 1: gw-a: ", "serve-1.log");
  auto list = talon({"fleet", "backup", "list", "--json"});
  ASSERT_EQ(list.status, 0) << list.err;
  auto backups = parseJson(list.out);
  ASSERT_TRUE(backups && backups->is_array() && backups->as_array().size() == 1u) << list.out << first;
  EXPECT_EQ(backups->as_array()[0].at("gateway"), "gw-a");
  EXPECT_EQ(backups->as_array()[0].at("reason"), "scheduled");
  json::object health = jsonObjectOf(readText(repo_ / ".talon-fleet" / "proxy" / "health.json"));
  ASSERT_TRUE(health.contains("backups")) << toJson(health);
  EXPECT_EQ(health.at("backups").at("status"), "ok") << toJson(health);
  EXPECT_EQ(health.at("backups").at("backupsChecked"), 1) << toJson(health);

  // The drill restores it into a scratch folder, runs `talon doctor` there and reports the recovery time.
  auto drill = talon({"fleet", "backup", "drill", "--json"});
  ASSERT_EQ(drill.status, 0) << drill.out << drill.err;
  json::object drilled = jsonObjectOf(drill.out);
  EXPECT_EQ(drilled.at("ok"), true);
  EXPECT_EQ(drilled.at("backup"), 1);
  const auto& g = drilled.at("gateways").as_array().at(0).as_object();
  EXPECT_EQ(g.at("gateway"), "gw-a");
  EXPECT_EQ(g.at("doctor").at("exitCode"), 0) << drill.out;
  EXPECT_GT(g.at("files").as_int64(), 0);
  EXPECT_GE(g.at("recoveryMs").as_int64(), g.at("doctorMs").as_int64());
  EXPECT_FALSE(fs::exists(std::string(g.at("scratchDir").as_string())));
  EXPECT_EQ(talon({"fleet", "backup", "drill", "99"}).status, 6);

  // A damaged backup: the drill refuses it, and serve's integrity check (due on its first tick) reports it
  // in the health record, on stderr and in the audit chain.
  fs::path config;
  for (const auto& e : fs::recursive_directory_iterator(repo_ / ".talon-fleet" / "backups")) {
    if (e.path().parent_path().filename() == "config") config = e.path();
  }
  ASSERT_FALSE(config.empty());
  fs::permissions(config, fs::perms::owner_read | fs::perms::owner_write);
  writeText(config, readText(config) + " ");
  auto refused = talon({"fleet", "backup", "drill", "1", "--json"});
  EXPECT_EQ(refused.status, 1) << refused.out << refused.err;
  EXPECT_NE(refused.out.find("does not verify"), std::string::npos) << refused.out;
  std::string second = serveOnce("FAILED its integrity check", "serve-2.log");
  health = jsonObjectOf(readText(repo_ / ".talon-fleet" / "proxy" / "health.json"));
  EXPECT_EQ(health.at("backups").at("status"), "failed") << toJson(health);
  EXPECT_EQ(health.at("backups").at("failing").as_array().size(), 1u) << toJson(health);
  // Not due again: still one backup.
  auto again = parseJson(talon({"fleet", "backup", "list", "--json"}).out);
  ASSERT_TRUE(again && again->is_array());
  EXPECT_EQ(again->as_array().size(), 1u) << second;
  // The failing backup was also a signed webhook alert; the first run raised none (all was well).
  auto alerts = receiver.requests();
  ASSERT_EQ(alerts.size(), 1u) << second;
  EXPECT_EQ(alerts[0].target, "/fleet-alerts");
  EXPECT_NE(alerts[0].header("x-talon-signature").rfind("sha256=", 0), std::string::npos);
  json::object alert = jsonObjectOf(alerts[0].body);
  EXPECT_EQ(alert.at("type"), "alert.firing");
  EXPECT_EQ(alert.at("key"), "fleet:backup-integrity/1/gw-a");
  EXPECT_EQ(alert.at("fields").at("organisation"), "org-e2e");
  EXPECT_NE(second.find("alert alert.firing fleet:backup-integrity/1/gw-a sent to ops"), std::string::npos) << second;
  auto audit = runTalon(dir_, {"audit", "list", "--json"}, {{"TALON_STATE_DIR", (repo_ / ".talon-fleet").string()}});
  EXPECT_NE(audit.out.find("fleet.backup.integrity"), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("fleet.backup.drill"), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("fleet.alert"), std::string::npos) << audit.out;
}

TEST_F(FleetApplyE2E, ARolloutIsGatedOnAProbeTurnAndServeReloadsItsInventory) {
  const std::string realKey = "sk-fleet-probe-REAL-4c1e";
  writeText(dir_ / "mock-script.json",
            R"({"apiKey":")" + realKey + R"(","rules":[{"reply":{"text":"The fleet probe is OK."}}]})");
  auto mock = startMockUpstream();
  int mockPort = waitForPortFile((dir_ / "mock.port").string(), std::chrono::seconds(10));
  ASSERT_GT(mockPort, 0) << mock->log();
  int proxyPort = freeLoopbackPort();
  // Versions 2.0.0 and 3.0.0 are this Talon under other paths: a rollout to each is a real change.
  fs::create_directories(dir_ / "bin");
  fs::create_symlink(TALON_BINARY, dir_ / "bin" / "talon-2.0.0");
  fs::create_symlink(TALON_BINARY, dir_ / "bin" / "talon-3.0.0");
  auto inventory = [&](const std::string& expect, const std::string& modelEntry = "{}") {
    writeInventory(R"(
  catalogs: { models: { "mock/mock-model": )" +
                       modelEntry + R"( } },
  agents: { helper: { gateway: "gw-a", kind: "use-case", model: "mock/mock-model" } },
  runtimes: { talon: { versions: { "2.0.0": { binary: ")" +
                       (dir_ / "bin" / "talon-2.0.0").string() + R"(" }, "3.0.0": { binary: ")" +
                       (dir_ / "bin" / "talon-3.0.0").string() + R"(" } } } },
  modelProxy: {
    listen: "127.0.0.1:)" +
                       std::to_string(proxyPort) +
                       R"(",
    gateways: ["gw-a"],
    providers: { mock: { baseUrl: "http://127.0.0.1:)" +
                       std::to_string(mockPort) + R"(/v1", apiKey: "${FLEET_E2E_UPSTREAM_KEY}" } },
  },)",
                   {{"gw-a", "probeTurn: { message: \"Answer the fleet probe\", agent: \"helper\", expect: \"" +
                                 expect + "\", timeoutSeconds: 30 },"}});
  };
  inventory("fleet probe is ok");
  auto issued = talon({"fleet", "keys", "issue", "gw-a", "--json"});
  ASSERT_EQ(issued.status, 0) << issued.out << issued.err;
  const std::string virtualKey(jsonObjectOf(issued.out).at("key").as_string());
  const std::map<std::string, std::string> keyEnv{{"TALON_FLEET_PROXY_KEY_GW_A", virtualKey}};
  auto applied = talon({"fleet", "apply", "--allow-dirty", "--gateway", "gw-a", "--json"}, true, keyEnv);
  ASSERT_EQ(applied.status, 0) << applied.out << applied.err;
  ChildProcess serve({TALON_BINARY, "fleet", "serve", "--inventory", (repo_ / "fleet.json5").string()},
                     {{"FLEET_E2E_TOKEN", "fleet-e2e-canary-token"}, {"FLEET_E2E_UPSTREAM_KEY", realKey}},
                     (dir_ / "serve.log").string());
  ASSERT_TRUE(
      pollUntil([&] { return serve.log().find("listening on") != std::string::npos; }, std::chrono::seconds(20)))
      << serve.log();

  // The canary passes /readyz, health, and a real turn of agent helper whose reply has the expected text.
  auto passed =
      talon({"fleet", "rollout", "--to", "2.0.0", "--gateway", "gw-a", "--allow-dirty", "--json"}, true, keyEnv);
  ASSERT_EQ(passed.status, 0) << passed.out << passed.err;
  EXPECT_NE(passed.err.find("rollout: gw-a: probing (probe turn to agent helper)"), std::string::npos) << passed.err;
  EXPECT_NE(passed.err.find("probe turn answered: \"The fleet probe is OK.\""), std::string::npos) << passed.err;
  std::string upstream = readText(dir_ / "mock.log");
  EXPECT_NE(upstream.find("Answer the fleet probe"), std::string::npos) << upstream;

  // The same turn, but the reply lacks what is now expected: the canary is rolled back to 2.0.0.
  inventory("a phrase the model never says");
  auto failed =
      talon({"fleet", "rollout", "--to", "3.0.0", "--gateway", "gw-a", "--allow-dirty", "--json"}, true, keyEnv);
  EXPECT_EQ(failed.status, 7) << failed.out << failed.err;
  json::object report = jsonObjectOf(failed.out);
  ASSERT_TRUE(report.contains("gateways")) << failed.out << failed.err;
  const auto& gw = report.at("gateways").as_array().at(0).as_object();
  EXPECT_EQ(gw.at("state"), "rolled-back") << failed.out;
  EXPECT_NE(std::string(gw.at("error").as_string()).find("turn: probe turn: the reply does not contain"),
            std::string::npos)
      << failed.out;
  // A reload (SIGHUP) applies a changed inventory to the running proxy; a broken one is refused and changes
  // nothing.
  const std::string chat = R"({"model":"mock-model","messages":[{"role":"user","content":"hi"}]})";
  EXPECT_EQ(fleetProxyPost(proxyPort, virtualKey, chat).status, 200);
  writeText(repo_ / "fleet.json5", "{ organisation: { id: 1 } }");
  ::kill(serve.pid(), SIGHUP);
  EXPECT_TRUE(pollUntil([&] { return serve.log().find("fleet serve: reload refused") != std::string::npos; },
                        std::chrono::seconds(10)))
      << serve.log();
  EXPECT_EQ(fleetProxyPost(proxyPort, virtualKey, chat).status, 200);
  inventory("fleet probe is ok", "{ status: \"blocked\" }");
  ::kill(serve.pid(), SIGHUP);
  EXPECT_TRUE(pollUntil([&] { return serve.log().find("fleet serve: reloaded") != std::string::npos; },
                        std::chrono::seconds(10)))
      << serve.log();
  auto blocked = fleetProxyPost(proxyPort, virtualKey, chat);
  EXPECT_EQ(blocked.status, 403) << blocked.body;
  EXPECT_NE(blocked.body.find("model_not_allowed"), std::string::npos) << blocked.body;

  // Back on 2.0.0: the gateway's process is that version's executable.
  json::object st = statusOf("gw-a");
  ASSERT_TRUE(st.contains("pid")) << toJson(st);
  std::ifstream cmdline("/proc/" + std::to_string(st.at("pid").as_int64()) + "/cmdline");
  std::string argv0;
  std::getline(cmdline, argv0, '\0');
  EXPECT_EQ(argv0, (dir_ / "bin" / "talon-2.0.0").string());
  auto exited = serve.stop(SIGTERM);
  EXPECT_TRUE(exited && WIFEXITED(*exited) && WEXITSTATUS(*exited) == 0) << serve.log();
}

/// `talon args...` with a longer wait than runTalon's (an OpenClaw gateway takes 10-30 s to start here);
/// stdout and stderr together in `log`.
CliResult fleetApplySlowTalon(const fs::path& dir, const std::vector<std::string>& args,
                              const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv = {TALON_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  auto log = dir / "slow-cli.log";
  fs::remove(log);
  ChildProcess p(argv, env, log.string());
  CliResult r;
  auto status = p.wait(std::chrono::seconds(150));
  if (status && WIFEXITED(*status)) r.status = WEXITSTATUS(*status);
  if (!status) p.stop(SIGKILL);
  r.out = readText(log);
  return r;
}

TEST_F(FleetApplyE2E, RunsAnOpenClawRuntimeGatewayWhenOpenClawIsInstalled) {
  fs::path openclaw = installedOpenClaw();
  if (openclaw.empty()) GTEST_SKIP() << "OpenClaw is not installed (tools/install-openclaw)";
  int port = freeLoopbackPort();
  writeText(repo_ / "fleet.json5",
            "{\n  organisation: { id: \"org-e2e\", slug: \"e2e\", displayName: \"E2E\" },\n"
            "  defaults: { runtime: \"openclaw\", provider: \"process\", auth: { mode: \"token\", token: "
            "\"${FLEET_E2E_TOKEN}\" } },\n  gateways: { oc: { port: " +
                std::to_string(port) + ", stateDir: \"" + (dir_ / "oc" / "state").string() + "\", workspaceRoot: \"" +
                (dir_ / "oc" / "ws").string() + "\" } },\n}\n");
  std::map<std::string, std::string> env = {{"FLEET_E2E_TOKEN", "fleet-e2e-canary-token"},
                                            {"TALON_FLEET_OPENCLAW", openclaw.string()}};
  std::string inventory = (repo_ / "fleet.json5").string();
  auto applied = fleetApplySlowTalon(dir_, {"fleet", "apply", "--allow-dirty", "--inventory", inventory}, env);
  ASSERT_EQ(applied.status, 0) << applied.out;
  EXPECT_NE(applied.out.find("oc: ready on 127.0.0.1:" + std::to_string(port)), std::string::npos) << applied.out;
  auto status = runTalon(dir_, {"fleet", "status", "--json", "--inventory", inventory}, env);
  ASSERT_EQ(status.status, 0) << status.err;
  json::object s = jsonObjectOf(status.out);
  ASSERT_EQ(s.at("gateways").as_array().size(), 1u);
  const auto& oc = s.at("gateways").as_array()[0];
  EXPECT_EQ(oc.at("runtime"), "openclaw");
  EXPECT_EQ(oc.at("state"), "running") << status.out;
  EXPECT_EQ(oc.at("readyz").at("status"), 200);
  EXPECT_EQ(oc.at("health").at("ok"), true) << status.out;
  EXPECT_EQ(oc.at("drift"), "in-sync");
  // Its agents.list and logs.tail over the health call's connection: the inventory has no agents, so OpenClaw's
  // default agent is one the inventory does not know; its log was read (errors or none).
  ASSERT_EQ(oc.at("agents").as_array().size(), 1u) << status.out;
  EXPECT_EQ(oc.at("agents").as_array()[0].at("id"), "main") << status.out;
  EXPECT_EQ(oc.at("agents").as_array()[0].at("state"), "unmanaged") << status.out;
  EXPECT_FALSE(oc.as_object().contains("agentsError")) << status.out;
  EXPECT_FALSE(oc.as_object().contains("recentErrorsError")) << status.out;
  EXPECT_TRUE(oc.at("recentErrors").is_array()) << status.out;
  EXPECT_EQ(status.out.find("fleet-e2e-canary-token"), std::string::npos) << status.out;
  // The config OpenClaw read is the render, with the token as a reference.
  EXPECT_NE(readText(dir_ / "oc" / "state" / "openclaw.json").find("${FLEET_E2E_TOKEN}"), std::string::npos);
  // Drift through OpenClaw's own config.get: what it runs is its file, and its file is the render.
  auto drift = runTalon(dir_, {"fleet", "drift", "--json", "--inventory", inventory}, env);
  EXPECT_EQ(drift.status, 0) << drift.out << drift.err;
  json::object d = jsonObjectOf(drift.out).at("gateways").as_array()[0].as_object();
  EXPECT_EQ(d.at("state"), "in-sync") << drift.out;
  EXPECT_EQ(d.at("runningHash"), d.at("fileHash")) << drift.out;
  EXPECT_FALSE(d.at("runningVersion").as_string().empty()) << drift.out;
  auto stopped = fleetApplySlowTalon(dir_, {"fleet", "stop", "--inventory", inventory}, env);
  EXPECT_EQ(stopped.status, 0) << stopped.out;
  auto after = runTalon(dir_, {"fleet", "status", "--json", "--inventory", inventory}, env);
  json::object a = jsonObjectOf(after.out);
  EXPECT_EQ(a.at("gateways").as_array()[0].at("state"), "stopped") << after.out;
}

// The rollout gate's probe turn against a stock OpenClaw gateway: OpenClaw's own `agent` method runs a real turn
// of the inventory's agent, through the fleet's model proxy to the scripted upstream, and its final answer
// (status ok, result.payloads[].text) passes the gate.
TEST_F(FleetApplyE2E, AnOpenClawGatewaysRolloutIsGatedOnAProbeTurn) {
  fs::path openclaw = installedOpenClaw();
  if (openclaw.empty()) GTEST_SKIP() << "OpenClaw is not installed (tools/install-openclaw)";
  const std::string realKey = "sk-fleet-oc-probe-REAL-77d2";
  writeText(dir_ / "mock-script.json",
            R"({"apiKey":")" + realKey + R"(","rules":[{"reply":{"text":"The fleet probe is OK."}}]})");
  auto mock = startMockUpstream();
  int mockPort = waitForPortFile((dir_ / "mock.port").string(), std::chrono::seconds(10));
  ASSERT_GT(mockPort, 0) << mock->log();
  int proxyPort = freeLoopbackPort();
  fs::create_directories(dir_ / "bin");
  fs::create_symlink(openclaw, dir_ / "bin" / "openclaw-2.0.0");
  ports_.clear();
  ports_["oc"] = freeLoopbackPortApart({proxyPort});
  writeInventory(R"(
  catalogs: { models: { "mock/mock-model": {} } },
  agents: { helper: { gateway: "oc", kind: "use-case", model: "mock/mock-model" } },
  runtimes: { openclaw: { versions: { "2.0.0": { binary: ")" +
                     (dir_ / "bin" / "openclaw-2.0.0").string() + R"(" } } } },
  modelProxy: {
    listen: "127.0.0.1:)" +
                     std::to_string(proxyPort) +
                     R"(",
    gateways: ["oc"],
    providers: { mock: { baseUrl: "http://127.0.0.1:)" +
                     std::to_string(mockPort) + R"(/v1", apiKey: "${FLEET_E2E_UPSTREAM_KEY}" } },
  },)",
                 {{"oc",
                   "runtime: \"openclaw\", probeTurn: { message: \"Answer the fleet probe\", agent: "
                   "\"helper\", expect: \"fleet probe is ok\", timeoutSeconds: 60 },"}});
  auto issued = talon({"fleet", "keys", "issue", "oc", "--json"});
  ASSERT_EQ(issued.status, 0) << issued.out << issued.err;
  const std::string inventory = (repo_ / "fleet.json5").string();
  std::map<std::string, std::string> env = {
      {"FLEET_E2E_TOKEN", "fleet-e2e-canary-token"},
      {"TALON_FLEET_OPENCLAW", openclaw.string()},
      {"TALON_FLEET_PROXY_KEY_OC", std::string(jsonObjectOf(issued.out).at("key").as_string())}};
  ChildProcess serve({TALON_BINARY, "fleet", "serve", "--inventory", inventory},
                     {{"FLEET_E2E_TOKEN", "fleet-e2e-canary-token"}, {"FLEET_E2E_UPSTREAM_KEY", realKey}},
                     (dir_ / "serve.log").string());
  ASSERT_TRUE(
      pollUntil([&] { return serve.log().find("listening on") != std::string::npos; }, std::chrono::seconds(20)))
      << serve.log();
  auto applied = fleetApplySlowTalon(dir_, {"fleet", "apply", "--allow-dirty", "--inventory", inventory}, env);
  ASSERT_EQ(applied.status, 0) << applied.out;

  auto rolled = fleetApplySlowTalon(
      dir_, {"fleet", "rollout", "--to", "2.0.0", "--allow-dirty", "--gate-timeout", "90", "--inventory", inventory},
      env);
  EXPECT_EQ(rolled.status, 0) << rolled.out << "\n" << serve.log();
  EXPECT_NE(rolled.out.find("rollout: oc: probing (probe turn to agent helper)"), std::string::npos) << rolled.out;
  EXPECT_NE(rolled.out.find("probe turn answered: \"The fleet probe is OK.\""), std::string::npos) << rolled.out;
  // The turn reached the upstream through the proxy, with the real key swapped in there.
  std::string upstream = readText(dir_ / "mock.log");
  EXPECT_NE(upstream.find("Answer the fleet probe"), std::string::npos) << upstream;
  EXPECT_EQ(rolled.out.find(realKey), std::string::npos);
  auto exited = serve.stop(SIGTERM);
  EXPECT_TRUE(exited && WIFEXITED(*exited) && WEXITSTATUS(*exited) == 0) << serve.log();
}

TEST_F(FleetApplyE2E, StatusShowsTheAgentsEachGatewayRunsAndItsRecentErrors) {
  ports_.erase("gw-c");
  // Agent main owns a Telegram account without a bot token: gw-a starts, the account does not, and the
  // gateway reports it (health: the account's lastError; its log: an error line).
  writeInventory(
      "  catalogs: { integrations: { telegram: { kind: \"core-channel\" } } },\n"
      "  accounts: { telegram: { ops: { name: \"Ops\" } } },\n"
      "  agents: {\n    main: { gateway: \"gw-a\", kind: \"use-case\", accounts: { telegram: \"ops\" } },\n"
      "    sales: { gateway: \"gw-a\", kind: \"use-case\" },\n    ops: { gateway: \"gw-b\", kind: \"use-case\" },\n  "
      "},");
  ASSERT_TRUE(git({"add", "fleet.json5"}));
  ASSERT_TRUE(git({"commit", "-q", "-m", "two gateways, three agents"}));
  auto applied = talon({"fleet", "apply", "--gateway", "gw-a", "--json"});
  ASSERT_EQ(applied.status, 0) << applied.out << applied.err;

  // The inventory moves on without an apply: sales leaves it, support joins it. gw-a still runs main and sales.
  std::string text = readText(repo_ / "fleet.json5");
  text.replace(text.find("sales: {"), 5, "support");
  writeText(repo_ / "fleet.json5", text);

  json::object a = statusOf("gw-a");
  EXPECT_EQ(a.at("state"), "running") << toJson(a);
  EXPECT_EQ(
      toJson(a.at("agents")),
      R"([{"id":"main","state":"running"},{"id":"support","state":"absent"},{"id":"sales","state":"unmanaged"}])");
  EXPECT_FALSE(a.contains("agentsError")) << toJson(a);
  const json::array& errors = a.at("recentErrors").as_array();
  ASSERT_GE(errors.size(), 2u) << toJson(a);
  EXPECT_EQ(errors[0].at("source"), "channel telegram/ops") << toJson(a);
  // Talon times the account's error (lastErrorAt).
  EXPECT_TRUE(errors[0].at("time").is_string()) << toJson(errors[0]);
  EXPECT_NE(toJson(errors[0].at("message")).find("needs a bot token"), std::string::npos) << toJson(a);
  bool logged = false;
  for (const auto& e : errors) {
    if (e.at("source") != "log") continue;
    logged = logged || toJson(e.at("message")).find("channel telegram:ops: not started") != std::string::npos;
    EXPECT_TRUE(e.at("time").is_string()) << toJson(e);
  }
  EXPECT_TRUE(logged) << toJson(a);

  // gw-b is not running: its agents are unknown, with the reason once.
  json::object b = statusOf("gw-b");
  EXPECT_EQ(toJson(b.at("agents")), R"([{"id":"ops","state":"unknown"}])");
  EXPECT_EQ(b.at("agentsError"), "the gateway is stopped");

  auto human = talon({"fleet", "status"});
  ASSERT_EQ(human.status, 0) << human.err;
  EXPECT_NE(human.out.find("gw-a: agents main running, support absent, sales unmanaged"), std::string::npos)
      << human.out;
  // The channel error with the time the gateway recorded it.
  EXPECT_NE(human.out.find("gw-a: recent errors (newest first)\n  20"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("Z  channel telegram/ops  "), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("gw-b: agents unknown (the gateway is stopped)"), std::string::npos) << human.out;
  EXPECT_EQ(human.out.find("fleet-e2e-canary-token"), std::string::npos) << human.out;

  // agents list --live compares the same way.
  auto live = talon({"fleet", "agents", "list", "--live", "--gateway", "gw-a", "--json"});
  ASSERT_EQ(live.status, 0) << live.err;
  EXPECT_EQ(toJson(jsonObjectOf(live.out).at("unmanaged")), R"([{"gateway":"gw-a","id":"sales"}])") << live.out;
}

/// The agent ids a running gateway lists (protocol agents.list), asked by a client of the test's own.
std::set<std::string> fleetAgentsListed(int port) {
  std::set<std::string> out;
  auto client = ProtocolClient::connect(port, "fleet-e2e-canary-token");
  if (!client) {
    ADD_FAILURE() << "cannot connect to 127.0.0.1:" << port;
    return out;
  }
  auto res = client->request("agents.list", json::object{});
  if (!res || !getBool(*res, "ok").value_or(false)) {
    ADD_FAILURE() << "agents.list failed: " << (res ? toJson(*res) : "no response");
    return out;
  }
  for (const auto& a : res->at("payload").at("agents").as_array()) out.emplace(a.at("id").as_string());
  return out;
}

TEST_F(FleetApplyE2E, AgentsAddAndRmGoThroughTheInventoryAndArchiveState) {
  ports_.erase("gw-c");
  writeInventory(
      "  catalogs: { integrations: { webchat: { kind: \"core-channel\" } } },\n"
      "  // The agents of the organisation; this comment stays.\n"
      "  agents: {\n    main: { gateway: \"gw-a\", kind: \"use-case\" },\n  },");
  ASSERT_TRUE(git({"add", "fleet.json5"}));
  ASSERT_TRUE(git({"commit", "-q", "-m", "two gateways"}));
  auto applied = talon({"fleet", "apply", "--gateway", "gw-a", "--json"});
  ASSERT_EQ(applied.status, 0) << applied.out << applied.err;
  EXPECT_FALSE(fleetAgentsListed(ports_["gw-a"]).contains("sales"));

  // A failing onboarding writes nothing: the model is not catalogued (FLEET-POLICY-UNCATALOGUED).
  std::string original = readText(repo_ / "fleet.json5");
  auto refused = talon({"fleet", "agents", "add", "sales", "--gateway", "gw-a", "--model", "openai/gpt-x", "--json"});
  EXPECT_EQ(refused.status, 1) << refused.out << refused.err;
  json::object refusal = jsonObjectOf(refused.out);
  EXPECT_EQ(refusal.at("written"), false);
  EXPECT_EQ(toJson(refusal.at("blocking")), R"(["FLEET-POLICY-UNCATALOGUED","FLEET-POLICY-UNCATALOGUED"])")
      << refused.out;
  EXPECT_EQ(readText(repo_ / "fleet.json5"), original);

  // The dry run prints the keys only.
  auto dry = talon({"fleet", "agents", "add", "sales", "--gateway", "gw-a", "--owner", "bo", "--dry-run"});
  EXPECT_EQ(dry.status, 0) << dry.err;
  EXPECT_NE(dry.out.find("+ agents.sales.owner"), std::string::npos) << dry.out;
  EXPECT_EQ(readText(repo_ / "fleet.json5"), original);

  auto added = talon(
      {"fleet", "agents", "add", "sales", "--gateway", "gw-a", "--owner", "bo", "--kind", "human-coupled", "--json"});
  ASSERT_EQ(added.status, 0) << added.out << added.err;
  EXPECT_EQ(jsonObjectOf(added.out).at("written"), true);
  std::string edited = readText(repo_ / "fleet.json5");
  EXPECT_NE(edited.find("// The agents of the organisation; this comment stays."), std::string::npos) << edited;
  auto list = talon({"fleet", "agents", "list", "--gateway", "gw-a", "--json"});
  ASSERT_EQ(list.status, 0) << list.err;
  json::array agents = jsonObjectOf(list.out).at("agents").as_array();
  ASSERT_EQ(agents.size(), 2u) << list.out;
  EXPECT_EQ(agents[1].at("id"), "sales");
  EXPECT_EQ(agents[1].at("owner"), "bo");
  EXPECT_EQ(agents[1].at("kind"), "human-coupled");

  // plan shows the agent's keys on gw-a only; apply deploys it; the gateway lists it.
  ASSERT_TRUE(git({"commit", "-q", "-am", "onboard sales"}));
  auto plan = talon({"fleet", "plan", "--json"});
  ASSERT_EQ(plan.status, 0) << plan.err;
  json::object planned = jsonObjectOf(plan.out);
  bool plannedA = false;
  for (const auto& g : planned.at("gateways").as_array()) {
    if (g.at("gateway") != "gw-a") continue;
    plannedA = true;
    EXPECT_EQ(g.at("status"), "changed") << toJson(g);
    EXPECT_NE(toJson(g.at("added")).find("agents.entries.sales"), std::string::npos) << toJson(g);
  }
  EXPECT_TRUE(plannedA) << plan.out;
  auto applied2 = talon({"fleet", "apply", "--gateway", "gw-a", "--json"});
  ASSERT_EQ(applied2.status, 0) << applied2.out << applied2.err;
  EXPECT_TRUE(fleetAgentsListed(ports_["gw-a"]).contains("sales"));
  auto live = talon({"fleet", "agents", "list", "--live", "--json"});
  ASSERT_EQ(live.status, 0) << live.err;
  json::object liveList = jsonObjectOf(live.out);
  ASSERT_EQ(liveList.at("agents").as_array().size(), 2u) << live.out;
  for (const auto& a : liveList.at("agents").as_array()) {
    EXPECT_EQ(a.at("live").at("state"), "running") << toJson(a);
  }

  // The agent's state on the gateway: its workspace, with a file in it.
  fs::path workspace = dir_ / "gw-a" / "ws" / "sales";
  fs::create_directories(workspace);
  writeText(workspace / "NOTES.md", "sales notes");

  auto unknown = talon({"fleet", "agents", "rm", "nobody"});
  EXPECT_EQ(unknown.status, 6) << unknown.err;

  fs::path archive = dir_ / "archive-sales";
  auto removed = talon({"fleet", "agents", "rm", "sales", "--archive-dir", archive.string(), "--json"});
  ASSERT_EQ(removed.status, 0) << removed.out << removed.err;
  EXPECT_EQ(readText(repo_ / "fleet.json5"), original) << "removal restores the inventory as it was";
  EXPECT_FALSE(fs::exists(workspace));
  EXPECT_EQ(readText(archive / "workspace" / "NOTES.md"), "sales notes");
  json::object manifest = jsonObjectOf(readText(archive / "manifest.json"));
  EXPECT_EQ(manifest.at("agent"), "sales");
  EXPECT_EQ(manifest.at("gateway"), "gw-a");

  ASSERT_TRUE(git({"commit", "-q", "-am", "offboard sales"}));
  auto applied3 = talon({"fleet", "apply", "--gateway", "gw-a", "--json"});
  ASSERT_EQ(applied3.status, 0) << applied3.out << applied3.err;
  std::set<std::string> after = fleetAgentsListed(ports_["gw-a"]);
  EXPECT_FALSE(after.contains("sales"));
  EXPECT_TRUE(after.contains("main"));

  auto audit = runTalon(dir_, {"audit", "list", "--json"}, {{"TALON_STATE_DIR", (repo_ / ".talon-fleet").string()}});
  ASSERT_EQ(audit.status, 0) << audit.err;
  EXPECT_NE(audit.out.find("fleet.agents.add"), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("fleet.agents.rm"), std::string::npos) << audit.out;
}

}  // namespace
}  // namespace talon::test
