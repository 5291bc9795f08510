// End-to-end test of `gateway.auth.mode: "trusted-proxy"` (issue 6; OpenClaw docs/gateway/trusted-proxy-auth.md):
// a real `talon gateway run` on loopback with trustedProxies ["127.0.0.1"] and allowLoopback, this test
// playing the same-host reverse proxy (it sends X-Forwarded-For and the user header itself). A
// WebSocket connect gets exactly its user's identityScopes (a method needing another scope is refused
// with OpenClaw's MISSING_SCOPE), x-openclaw-scopes caps it, a connect without the user header or from
// a source that is not a listed proxy ([::1]) is refused, and the OpenAI HTTP API follows the doc's
// "Operator scopes header" rules with a mock model behind it; the refusals are audited and
// `talon security audit` reports the mode.
#include <gtest/gtest.h>

#include <filesystem>

#include "base/ids.h"
#include "base/json.h"
#include "child_process.h"
#include "e2e_support.h"

namespace talon::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// The outcome of one connect: the res frame's payload (ok) or error.
struct ProxyConnect {
  std::unique_ptr<ProtocolClient> client;
  json::object res;
  bool ok() const { return getBool(res, "ok").value_or(false); }
  std::vector<std::string> scopes() const {
    std::vector<std::string> out;
    const auto* payload = getObject(res, "payload");
    const auto* auth = payload ? getObject(*payload, "auth") : nullptr;
    if (const auto* a = auth ? getArray(*auth, "scopes") : nullptr) {
      for (const auto& s : *a) out.emplace_back(s.as_string());
    }
    return out;
  }
  std::string authMethod() const {
    const auto* payload = getObject(res, "payload");
    const auto* auth = payload ? getObject(*payload, "auth") : nullptr;
    return auth ? std::string(getString(*auth, "method").value_or("")) : "";
  }
  std::string authReason() const {
    const auto* e = getObject(res, "error");
    const auto* d = e ? getObject(*e, "details") : nullptr;
    return d ? std::string(getString(*d, "authReason").value_or("")) : "";
  }
};

/// Connects to `host`:port with `headers` on the upgrade request and sends a device-less operator
/// connect asking for every scope (the self-declared scopes a trusted-proxy connect must not get).
ProxyConnect connectThroughProxy(const std::string& host, int port, net::Headers headers) {
  ProxyConnect out;
  auto ws = net::WsClient::connect("ws://" + host + ":" + std::to_string(port), 5s, std::move(headers));
  if (!ws) {
    ADD_FAILURE() << ws.error().toString();
    return out;
  }
  out.client = std::make_unique<ProtocolClient>(std::move(*ws));
  auto challenge = out.client->nextFrame();
  EXPECT_TRUE(challenge && getString(*challenge, "event") == "connect.challenge");
  auto res = out.client->request(
      "connect",
      json::object{{"minProtocol", 4},
                   {"maxProtocol", 4},
                   {"client", json::object{{"id", "cli"}, {"version", "e2e"}, {"platform", "linux"}, {"mode", "cli"}}},
                   {"role", "operator"},
                   {"scopes", json::array{"operator.admin", "operator.read", "operator.write"}},
                   {"caps", json::array{}}});
  EXPECT_TRUE(res);
  if (res) out.res = *res;
  return out;
}

std::string errorCodes(const json::object& res) {
  const auto* e = getObject(res, "error");
  if (!e) return "";
  const auto* d = getObject(*e, "details");
  return std::string(getString(*e, "code").value_or("")) + "/" +
         (d ? std::string(getString(*d, "code").value_or("")) : std::string());
}

TEST(TrustedProxyE2E, IdentityScopesCapsRefusalsAndHttp) {
  fs::path dir = makeTempDir();
  writeText(dir / "script.json", R"({"rules": [{"reply": {"text": "proxied", "chunks": 1}}]})");
  ChildProcess mock({TALON_MOCK_MODEL_BINARY, "--port", "0", "--port-file", (dir / "mock.port").string(), "--script",
                     (dir / "script.json").string()},
                    {}, (dir / "mock.log").string());
  int mockPort = waitForPortFile((dir / "mock.port").string(), 10s);
  ASSERT_GT(mockPort, 0) << mock.log();
  writeText(dir / "talon.json", R"({
  gateway: {
    trustedProxies: ["127.0.0.1"],
    auth: {
      mode: "trusted-proxy",
      trustedProxy: { userHeader: "x-forwarded-user", allowLoopback: true },
      identityScopes: {
        "Reader@Example.com": ["operator.read"],
        "ops@example.com": ["operator.read", "operator.write"],
      },
    },
    http: { endpoints: { chatCompletions: { enabled: true } } },
  },
  models: { providers: { mock: { baseUrl: "http://127.0.0.1:)" +
                                    std::to_string(mockPort) + R"(/v1",
    apiKey: "k", api: "openai-completions", models: [{ id: "m", name: "M" }] } } },
  agents: { defaults: { model: "mock/m" } },
})");
  std::map<std::string, std::string> env{{"TALON_STATE_DIR", (dir / "state").string()}};
  ChildProcess gateway({TALON_BINARY, "gateway", "run", "--config", (dir / "talon.json").string(), "--port", "0",
                        "--port-file", (dir / "gateway.port").string()},
                       env, (dir / "gateway.log").string());
  int port = waitForPortFile((dir / "gateway.port").string(), 20s);
  ASSERT_GT(port, 0) << gateway.log();
  const net::Headers forwarded{{"X-Forwarded-For", "203.0.113.7"}, {"X-Forwarded-Proto", "https"}};
  auto as = [&](const std::string& user, net::Headers extra = {}) {
    net::Headers h = forwarded;
    h.emplace_back("X-Forwarded-User", user);
    for (auto& e : extra) h.push_back(std::move(e));
    return h;
  };

  // The reader gets exactly its identity grant (email key matched ignoring case), not what it asked for.
  {
    auto reader = connectThroughProxy("127.0.0.1", port, as("reader@example.com"));
    ASSERT_TRUE(reader.ok()) << json::serialize(reader.res) << gateway.log();
    EXPECT_EQ(reader.authMethod(), "trusted-proxy");
    EXPECT_EQ(reader.scopes(), (std::vector<std::string>{"operator.read"}));
    auto list = reader.client->request("sessions.list", json::object{});
    ASSERT_TRUE(list);
    EXPECT_TRUE(getBool(*list, "ok").value_or(false)) << json::serialize(*list);
    auto send = reader.client->request(
        "chat.send", json::object{{"sessionKey", "main"}, {"message", "hi"}, {"idempotencyKey", newUuid()}});
    ASSERT_TRUE(send);
    EXPECT_EQ(errorCodes(*send), "FORBIDDEN/MISSING_SCOPE") << json::serialize(*send);
  }
  // ops may write; its own x-openclaw-scopes header narrows it to read.
  {
    auto ops = connectThroughProxy("127.0.0.1", port, as("ops@example.com"));
    ASSERT_TRUE(ops.ok()) << json::serialize(ops.res);
    EXPECT_EQ(ops.scopes(), (std::vector<std::string>{"operator.read", "operator.write"}));
    std::string key = newUuid();
    auto send = ops.client->request("chat.send",
                                    json::object{{"sessionKey", "main"}, {"message", "hi"}, {"idempotencyKey", key}});
    ASSERT_TRUE(send);
    EXPECT_TRUE(getBool(*send, "ok").value_or(false)) << json::serialize(*send);
    EXPECT_TRUE(ops.client->waitTerminal(key));

    auto capped =
        connectThroughProxy("127.0.0.1", port, as("ops@example.com", {{"x-openclaw-scopes", "operator.read"}}));
    ASSERT_TRUE(capped.ok()) << json::serialize(capped.res);
    EXPECT_EQ(capped.scopes(), (std::vector<std::string>{"operator.read"}));
    auto none = connectThroughProxy("127.0.0.1", port, as("ops@example.com", {{"x-openclaw-scopes", ""}}));
    ASSERT_TRUE(none.ok()) << json::serialize(none.res);
    EXPECT_TRUE(none.scopes().empty());
    // A user without an identityScopes entry connects with no scopes at all.
    auto stranger = connectThroughProxy("127.0.0.1", port, as("stranger@example.com"));
    ASSERT_TRUE(stranger.ok()) << json::serialize(stranger.res);
    EXPECT_TRUE(stranger.scopes().empty());
  }
  // Refusals: no user header; the user header without X-Forwarded-For (no client named); a direct
  // loopback connect; [::1], which is not a listed proxy (with and without forwarded headers).
  {
    auto noUser = connectThroughProxy("127.0.0.1", port, forwarded);
    EXPECT_FALSE(noUser.ok());
    EXPECT_EQ(noUser.authReason(), "trusted_proxy_user_missing") << json::serialize(noUser.res);
    auto noClient = connectThroughProxy("127.0.0.1", port, {{"X-Forwarded-User", "ops@example.com"}});
    EXPECT_FALSE(noClient.ok());
    EXPECT_EQ(noClient.authReason(), "proxy_attribution_required") << json::serialize(noClient.res);
    auto direct = connectThroughProxy("127.0.0.1", port, {});
    EXPECT_FALSE(direct.ok());
    EXPECT_EQ(direct.authReason(), "trusted_proxy_user_missing") << json::serialize(direct.res);
    auto v6 = connectThroughProxy("[::1]", port, {});
    EXPECT_FALSE(v6.ok());
    EXPECT_EQ(v6.authReason(), "trusted_proxy_untrusted_source") << json::serialize(v6.res);
    auto v6Proxy = connectThroughProxy("[::1]", port, as("ops@example.com"));
    EXPECT_FALSE(v6Proxy.ok());
    EXPECT_EQ(v6Proxy.authReason(), "proxy_attribution_required") << json::serialize(v6Proxy.res);
  }

  // HTTP: identity-bearing, x-openclaw-scopes honoured, the default operator set without it.
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  const std::string body = R"({"model":"openclaw","messages":[{"role":"user","content":"hi"}]})";
  auto post = [&](net::Headers h) {
    h.emplace_back("Content-Type", "application/json");
    auto r = net::httpRequest("POST", base + "/v1/chat/completions", h, body, 20s);
    EXPECT_TRUE(r) << r.error().toString();
    return r ? *r : net::SimpleHttpResponse{};
  };
  auto defaults = post(as("anyone@example.com"));
  EXPECT_EQ(defaults.status, 200) << defaults.body;
  EXPECT_NE(defaults.body.find("proxied"), std::string::npos) << defaults.body;
  auto readOnly = post(as("anyone@example.com", {{"x-openclaw-scopes", "operator.read"}}));
  EXPECT_EQ(readOnly.status, 403) << readOnly.body;
  EXPECT_NE(readOnly.body.find("missing scope: operator.write"), std::string::npos) << readOnly.body;
  auto models =
      net::httpRequest("GET", base + "/v1/models", as("anyone@example.com", {{"x-openclaw-scopes", ""}}), "", 10s);
  ASSERT_TRUE(models);
  EXPECT_EQ(models->status, 403) << models->body;
  auto modelsRead = net::httpRequest("GET", base + "/v1/models",
                                     as("anyone@example.com", {{"x-openclaw-scopes", "operator.read"}}), "", 10s);
  ASSERT_TRUE(modelsRead);
  EXPECT_EQ(modelsRead->status, 200) << modelsRead->body;
  auto anonymous = net::httpRequest("GET", base + "/v1/models", forwarded, "", 10s);
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401) << anonymous->body;
  auto unattributed = net::httpRequest("GET", base + "/v1/models", {{"X-Forwarded-User", "ops@example.com"}}, "", 10s);
  ASSERT_TRUE(unattributed);
  EXPECT_EQ(unattributed->status, 403) << unattributed->body;
  EXPECT_NE(unattributed->body.find("proxy_attribution_required"), std::string::npos) << unattributed->body;
  auto v6 = net::httpRequest("GET", "http://[::1]:" + std::to_string(port) + "/v1/models", {}, "", 10s);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->status, 401) << v6->body;

  // Every refused connect is in the audit log with its reason; the allowed ones name the user.
  auto audit = runTalon(dir, {"audit", "list", "--kind", "auth.connect", "--json"}, env);
  EXPECT_EQ(audit.status, 0) << audit.err;
  EXPECT_NE(audit.out.find("trusted_proxy_user_missing"), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("ops@example.com"), std::string::npos) << audit.out;

  // `talon security audit` names the mode and the loopback opt-in (critical: non-zero exit).
  auto findings = runTalon(dir, {"security", "audit", "--config", (dir / "talon.json").string(), "--json"}, env);
  EXPECT_NE(findings.status, 0) << findings.out << findings.err;
  for (const char* id :
       {"gateway.trusted_proxy_auth", "gateway.trusted_proxy_allow_loopback", "gateway.trusted_proxy_no_allowlist"}) {
    EXPECT_NE(findings.out.find(id), std::string::npos) << id << "\n" << findings.out;
  }
}

}  // namespace
}  // namespace talon::test
