// End-to-end canary test for secrets (issue 6, "Secrets"): a gateway whose token comes from a file ref,
// whose provider API key comes from the vault (`source: "store"`) and whose provider headers come from
// an env ref and an exec ref, each holding a unique canary value. After a full scenario (vault set,
// connect, a chat turn against the mock model, config.get, logs.tail, stop) no canary may appear in
// any file under the state dir, in the gateway's output, or in what config.get and logs.tail return —
// while the mock model proves each value was resolved and sent where it belongs.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/ids.h"
#include "base/json.h"
#include "child_process.h"
#include "e2e_support.h"

namespace talon::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Unique per run: a canary found anywhere can only have come from this test.
const std::string kRun = newUuid().substr(0, 8);
const std::string kTokenCanary = "canary-token-file-" + kRun;
const std::string kVaultCanary = "canary-apikey-vault-" + kRun;
const std::string kEnvCanary = "canary-header-env-" + kRun;
const std::string kExecCanary = "canary-header-exec-" + kRun;
const std::string kPassphrase = "canary-passphrase-" + kRun;

std::string fileBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `talon args...` to completion with `env`, stdin from `stdinFile`; returns its exit status.
int runTalonToFiles(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                    const fs::path& stdinFile, const fs::path& log) {
  std::string cmd = "exec '" + std::string(TALON_BINARY) + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " < '" + stdinFile.string() + "'";
  ChildProcess p({"/bin/sh", "-c", cmd}, env, log.string());
  auto status = p.wait(60s);
  if (!status) return -1;
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
}

TEST(SecretsE2E, CanaryValuesNeverReachTheStateDirLogsOrConfigGet) {
  fs::path dir = makeTempDir();
  fs::path state = dir / "state";
  const std::vector<std::string> canaries{kTokenCanary, kVaultCanary, kEnvCanary, kExecCanary, kPassphrase};

  writeText(dir / "script.json", R"({"rules": [{"reply": {"text": "ok", "chunks": 2}}]})");
  ChildProcess mock({TALON_MOCK_MODEL_BINARY, "--port", "0", "--port-file", (dir / "mock.port").string(), "--script",
                     (dir / "script.json").string(), "--log", (dir / "model-requests.jsonl").string()},
                    {}, (dir / "mock.log").string());
  int mockPort = waitForPortFile((dir / "mock.port").string(), 10s);
  ASSERT_GT(mockPort, 0) << mock.log();

  // The sources, outside the state dir: a private token file and a resolver command.
  fs::create_directories(dir / "secrets");
  writeText(dir / "secrets" / "gateway-token", kTokenCanary + "\n");
  ::chmod((dir / "secrets" / "gateway-token").c_str(), 0600);
  writeText(dir / "secrets" / "resolver.sh",
            "#!/bin/sh\ncat >/dev/null\nprintf '{\"protocolVersion\":1,\"values\":{\"headers/exec\":\"%s\"}}' \"" +
                kExecCanary + "\"\n");
  ::chmod((dir / "secrets" / "resolver.sh").c_str(), 0700);
  writeText(dir / "secrets" / "vault-value", kVaultCanary + "\n");

  std::map<std::string, std::string> env{
      {"TALON_STATE_DIR", state.string()}, {"TALON_VAULT_PASSPHRASE", kPassphrase}, {"ENV_CANARY", kEnvCanary}};
  ASSERT_EQ(runTalonToFiles({"secrets", "set", "MOCK_API_KEY"}, env, dir / "secrets" / "vault-value", dir / "set.log"),
            0)
      << fileBytes(dir / "set.log");
  ASSERT_EQ(runTalonToFiles({"secrets", "list", "--json"}, env, "/dev/null", dir / "list.log"), 0);
  EXPECT_NE(fileBytes(dir / "list.log").find("MOCK_API_KEY"), std::string::npos);

  std::string cfg = R"({
  gateway: { auth: { mode: "token", token: { source: "file", provider: "tokenfile", id: "value" } } },
  secrets: { providers: {
    tokenfile: { source: "file", path: ")" +
                    (dir / "secrets" / "gateway-token").string() + R"(", mode: "singleValue" },
    resolver: { source: "exec", command: ")" +
                    (dir / "secrets" / "resolver.sh").string() + R"(" },
  } },
  models: { providers: { mock: {
    baseUrl: "http://127.0.0.1:)" +
                    std::to_string(mockPort) + R"(/v1",
    apiKey: { source: "store", provider: "default", id: "MOCK_API_KEY" },
    headers: { "X-Env-Secret": { source: "env", provider: "default", id: "ENV_CANARY" },
               "X-Exec-Secret": { source: "exec", provider: "resolver", id: "headers/exec" } },
    api: "openai-completions",
    models: [{ id: "mock-model", name: "Mock" }] } } },
  agents: { defaults: { model: "mock/mock-model" } },
})";
  writeText(dir / "talon.json", cfg);

  auto gateway = std::make_unique<ChildProcess>(
      std::vector<std::string>{TALON_BINARY, "gateway", "run", "--config", (dir / "talon.json").string(), "--port", "0",
                               "--port-file", (dir / "gateway.port").string()},
      env, (dir / "gateway.log").string());
  int port = waitForPortFile((dir / "gateway.port").string(), 20s);
  ASSERT_GT(port, 0) << gateway->log();

  {
    auto c = ProtocolClient::connect(port, kTokenCanary);
    ASSERT_TRUE(c) << gateway->log();
    std::string key = newUuid();
    auto res =
        c->request("chat.send", json::object{{"sessionKey", "main"}, {"message", "hello"}, {"idempotencyKey", key}});
    ASSERT_TRUE(res && getBool(*res, "ok").value_or(false));
    auto term = c->waitTerminal(key);
    ASSERT_TRUE(term);
    EXPECT_EQ(getString(*term, "state"), "final") << json::serialize(*term) << gateway->log();

    auto config = c->request("config.get", json::object{});
    ASSERT_TRUE(config && getBool(*config, "ok").value_or(false));
    auto logs = c->request("logs.tail", json::object{{"limit", 500}});
    ASSERT_TRUE(logs && getBool(*logs, "ok").value_or(false));
    for (const auto& canary : canaries) {
      EXPECT_EQ(json::serialize(*config).find(canary), std::string::npos) << "config.get shows " << canary;
      EXPECT_EQ(json::serialize(*logs).find(canary), std::string::npos) << "logs.tail shows " << canary;
    }
  }
  ASSERT_TRUE(gateway->stop(SIGTERM).has_value());

  // Every value reached the model request where it belongs...
  std::string requests = fileBytes(dir / "model-requests.jsonl");
  EXPECT_NE(requests.find("Bearer " + kVaultCanary), std::string::npos) << "vault api key not sent";
  EXPECT_NE(requests.find(kEnvCanary), std::string::npos) << "env header not sent";
  EXPECT_NE(requests.find(kExecCanary), std::string::npos) << "exec header not sent";

  // ...and nowhere else: no file under the state dir, not the gateway's output.
  std::vector<fs::path> checked;
  for (const auto& e : fs::recursive_directory_iterator(state)) {
    if (e.is_regular_file()) checked.push_back(e.path());
  }
  checked.push_back(dir / "gateway.log");
  checked.push_back(dir / "set.log");
  checked.push_back(dir / "list.log");
  bool sawDatabase = false;
  bool sawLogFile = false;
  for (const auto& p : checked) {
    sawDatabase = sawDatabase || p.filename() == "talon.sqlite";
    sawLogFile = sawLogFile || p.filename() == "talon.log";
    std::string bytes = fileBytes(p);
    for (const auto& canary : canaries) {
      EXPECT_EQ(bytes.find(canary), std::string::npos) << p << " contains " << canary;
    }
  }
  EXPECT_TRUE(sawDatabase);
  EXPECT_TRUE(sawLogFile);
  // The reads were audited by name.
  std::string logFile = fileBytes(state / "logs" / "talon.log");
  EXPECT_NE(logFile.find("secret.read"), std::string::npos);
  EXPECT_NE(logFile.find("MOCK_API_KEY"), std::string::npos);
  mock.stop(SIGTERM);
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

}  // namespace
}  // namespace talon::test
