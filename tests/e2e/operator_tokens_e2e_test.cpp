// End-to-end test of named operator tokens (issue 6, "Operator roles beyond the shared token"): tokens
// created with `talon tokens create` on the state dir of a running `talon gateway run` connect with
// exactly their role's scopes (a read-only role cannot call a write method, admin can), a role's agent
// allowlist is enforced, a revoked token is refused at the next connect and its open connection is closed
// with 4001, and every create, revoke and
// use is in the audit log by the token's name — never the token.
#include <gtest/gtest.h>
#include <signal.h>
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

CliResult talon(const fs::path& dir, const std::vector<std::string>& args,
                const std::map<std::string, std::string>& env) {
  return runTalon(dir, args, env);
}

std::string errorCode(const json::object& res) {
  const auto* e = getObject(res, "error");
  if (!e) return "";
  const auto* d = getObject(*e, "details");
  return std::string(getString(*e, "code").value_or("")) + "/" +
         (d ? std::string(getString(*d, "code").value_or("")) : std::string());
}

std::vector<std::string> helloScopes(const ProtocolClient& c) {
  std::vector<std::string> out;
  const auto* auth = getObject(c.hello(), "auth");
  if (!auth) return out;
  if (const auto* a = getArray(*auth, "scopes")) {
    for (const auto& s : *a) out.emplace_back(s.as_string());
  }
  return out;
}

TEST(OperatorTokensE2E, RolesScopesAgentsRevocationAndAudit) {
  fs::path dir = makeTempDir();
  fs::path state = dir / "state";
  const std::string shared = "shared-" + newUuid();
  writeText(dir / "script.json", R"({"rules": [{"reply": {"text": "ok", "chunks": 1}}]})");
  ChildProcess mock({TALON_MOCK_MODEL_BINARY, "--port", "0", "--port-file", (dir / "mock.port").string(), "--script",
                     (dir / "script.json").string()},
                    {}, (dir / "mock.log").string());
  int mockPort = waitForPortFile((dir / "mock.port").string(), 10s);
  ASSERT_GT(mockPort, 0) << mock.log();
  writeText(dir / "talon.json", R"({
  gateway: {
    auth: { mode: "token", token: ")" +
                                    shared + R"(" },
    roles: {
      default: "reader",
      definitions: {
        reader: { scopes: ["operator.read"], agents: "*", sessions: { others: "write" } },
        opsonly: { scopes: ["operator.read", "operator.write"], agents: ["ops"], sessions: { others: "write" } },
      },
    },
  },
  models: { providers: { mock: { baseUrl: "http://127.0.0.1:)" +
                                    std::to_string(mockPort) + R"(/v1",
    apiKey: "k", api: "openai-completions", models: [{ id: "m", name: "M" }] } } },
  agents: { ownership: "explicit", defaults: { model: "mock/m" }, entries: { main: {}, ops: {} } },
})");
  std::map<std::string, std::string> env{{"TALON_STATE_DIR", state.string()}};
  const std::string config = (dir / "talon.json").string();

  // Tokens created before the gateway starts (offline, on the state dir).
  auto create = [&](const std::string& name, const std::string& role) -> std::string {
    auto r = talon(dir, {"tokens", "create", "--name", name, "--role", role, "--config", config, "--json"}, env);
    EXPECT_EQ(r.status, 0) << r.err;
    auto v = parseJson(r.out);
    if (!v || !v->is_object()) {
      ADD_FAILURE() << "not JSON: " << r.out << r.err;
      return "";
    }
    EXPECT_EQ(getString(v->as_object(), "role"), role);
    return std::string(getString(v->as_object(), "token").value_or(""));
  };
  const std::string reader = create("ro", "reader");
  const std::string admin = create("root", "admin");
  ASSERT_EQ(reader.rfind("talon_op_", 0), 0u) << reader;
  auto unknownRole = talon(dir, {"tokens", "create", "--name", "x", "--role", "nope", "--config", config}, env);
  EXPECT_NE(unknownRole.status, 0);
  EXPECT_NE(unknownRole.err.find("unknown role"), std::string::npos) << unknownRole.err;

  auto gateway = std::make_unique<ChildProcess>(
      std::vector<std::string>{TALON_BINARY, "gateway", "run", "--config", config, "--port", "0", "--port-file",
                               (dir / "gateway.port").string()},
      env, (dir / "gateway.log").string());
  int port = waitForPortFile((dir / "gateway.port").string(), 20s);
  ASSERT_GT(port, 0) << gateway->log();

  // A token created while the gateway runs works at once.
  const std::string opsOnly = create("ops-bot", "opsonly");
  const std::vector<std::string> all{"operator.admin", "operator.read", "operator.write", "operator.approvals",
                                     "operator.pairing"};
  {
    auto ro = ProtocolClient::connect(port, reader, all);
    ASSERT_TRUE(ro) << gateway->log();
    EXPECT_EQ(helloScopes(*ro), (std::vector<std::string>{"operator.read"}));
    auto list = ro->request("sessions.list", json::object{});
    ASSERT_TRUE(list);
    EXPECT_TRUE(getBool(*list, "ok").value_or(false)) << json::serialize(*list);
    auto send = ro->request("chat.send",
                            json::object{{"sessionKey", "main"}, {"message", "hi"}, {"idempotencyKey", newUuid()}});
    ASSERT_TRUE(send);
    EXPECT_FALSE(getBool(*send, "ok").value_or(true));
    EXPECT_EQ(errorCode(*send), "FORBIDDEN/MISSING_SCOPE") << json::serialize(*send);
  }
  {
    auto root = ProtocolClient::connect(port, admin, all);
    ASSERT_TRUE(root);
    EXPECT_EQ(helloScopes(*root), all);
    auto cfg = root->request("config.get", json::object{});
    ASSERT_TRUE(cfg);
    EXPECT_TRUE(getBool(*cfg, "ok").value_or(false)) << json::serialize(*cfg);
    std::string key = newUuid();
    auto send = root->request(
        "chat.send",
        json::object{{"sessionKey", "main"}, {"agentId", "main"}, {"message", "hi"}, {"idempotencyKey", key}});
    ASSERT_TRUE(send);
    EXPECT_TRUE(getBool(*send, "ok").value_or(false)) << json::serialize(*send);
    EXPECT_TRUE(root->waitTerminal(key));
  }
  {
    auto ops = ProtocolClient::connect(port, opsOnly, all);
    ASSERT_TRUE(ops);
    EXPECT_EQ(helloScopes(*ops), (std::vector<std::string>{"operator.read", "operator.write"}));
    auto denied = ops->request(
        "chat.send",
        json::object{{"sessionKey", "main"}, {"agentId", "main"}, {"message", "hi"}, {"idempotencyKey", newUuid()}});
    ASSERT_TRUE(denied);
    EXPECT_FALSE(getBool(*denied, "ok").value_or(true)) << json::serialize(*denied);
    EXPECT_EQ(errorCode(*denied).substr(0, 9), "FORBIDDEN") << json::serialize(*denied);
    std::string key = newUuid();
    auto allowed = ops->request(
        "chat.send",
        json::object{{"sessionKey", "main"}, {"agentId", "ops"}, {"message", "hi"}, {"idempotencyKey", key}});
    ASSERT_TRUE(allowed);
    EXPECT_TRUE(getBool(*allowed, "ok").value_or(false)) << json::serialize(*allowed);
    EXPECT_TRUE(ops->waitTerminal(key));
  }

  // Revoked: refused at the next connect, and a connection open with it is closed with 4001 (within the
  // gateway's 5 s check); the shared token still works.
  auto openWithReader = RawWsClient::connect(port);
  ASSERT_TRUE(openWithReader);
  ASSERT_TRUE(openWithReader->handshake(reader)) << gateway->log();
  auto revoke = talon(dir, {"tokens", "revoke", "ro", "--json"}, env);
  ASSERT_EQ(revoke.status, 0) << revoke.err;
  EXPECT_FALSE(ProtocolClient::connect(port, reader, all));
  EXPECT_EQ(openWithReader->readUntilClose(20s), std::optional<uint16_t>(4001)) << gateway->log();
  EXPECT_EQ(openWithReader->closeReason(), "operator token revoked");
  EXPECT_TRUE(ProtocolClient::connect(port, shared, all));
  auto again = talon(dir, {"tokens", "revoke", "ro"}, env);
  EXPECT_NE(again.status, 0);

  auto list = talon(dir, {"tokens", "list", "--json"}, env);
  ASSERT_EQ(list.status, 0) << list.err;
  auto listed = parseJson(list.out);
  ASSERT_TRUE(listed && listed->is_object()) << list.out;
  std::map<std::string, std::string> states;
  for (const auto& t : listed->as_object().at("tokens").as_array()) {
    states[std::string(t.as_object().at("name").as_string())] = std::string(t.as_object().at("state").as_string());
  }
  EXPECT_EQ(states, (std::map<std::string, std::string>{{"ops-bot", "active"}, {"ro", "revoked"}, {"root", "active"}}));
  ASSERT_TRUE(gateway->stop(SIGTERM).has_value());

  // The audit chain: create, revoke and each use by name; no token anywhere in it or under the state dir.
  auto audit = talon(dir, {"audit", "export"}, env);
  ASSERT_EQ(audit.status, 0) << audit.err;
  for (const std::string needle :
       {"operator.token.create", "operator.token.revoke", "connection.close", "operator-token:ro",
        "operator-token:root", "operator-token:ops-bot", "\"tokenRefusal\":\"revoked\"", "access.agent"}) {
    EXPECT_NE(audit.out.find(needle), std::string::npos) << needle << "\n" << audit.out.substr(0, 4000);
  }
  for (const auto& e : fs::recursive_directory_iterator(state)) {
    if (!e.is_regular_file()) continue;
    std::string bytes = readText(e.path());
    for (const auto& token : {reader, admin, opsOnly}) {
      EXPECT_EQ(bytes.find(token), std::string::npos) << e.path() << " holds a token";
    }
  }
  EXPECT_TRUE(audit.out.find(reader) == std::string::npos);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace talon::test
