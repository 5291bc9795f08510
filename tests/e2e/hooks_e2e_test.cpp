// End-to-end: the hooks ingress of a real `talon gateway run` (port 0, temp state dir, `talon-mock-model`
// as the model), driven with plain HTTP requests as curl sends them: token auth, Talon's signatures
// (computed here with OpenSSL, independently of the gateway's code), a mapping, the limits, and the
// turn's transcript read back over the gateway protocol.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <filesystem>

#include "base/json.h"
#include "child_process.h"
#include "e2e_support.h"
#include "net/ws_client.h"

namespace talon::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kHooksToken = "e2e-token-0123456789";
constexpr const char* kHookToken = "e2e-hook-token-abcdefghijklmnop";
constexpr const char* kSigningSecret = "e2e-signing-secret";

std::string hmacHex(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), digest, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

class HooksE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir();
    writeText(dir_ / "script.json", R"({"rules": [
      {"match": {"lastUserContains": "deploy"}, "reply": {"text": "deploy noted"}},
      {"reply": {"text": "ok"}}]})");
    mock_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{TALON_MOCK_MODEL_BINARY, "--port", "0", "--port-file", (dir_ / "mock.port").string(),
                                 "--script", (dir_ / "script.json").string()},
        std::map<std::string, std::string>{}, (dir_ / "mock.log").string());
    int mockPort = waitForPortFile((dir_ / "mock.port").string(), 10s);
    ASSERT_GT(mockPort, 0) << mock_->log();
    writeText(dir_ / "talon.json", R"({
  gateway: { auth: { mode: "token", token: ")" +
                                       std::string(kHooksToken) +
                                       R"(" } },
  models: { providers: { mock: { baseUrl: "http://127.0.0.1:)" +
                                       std::to_string(mockPort) + R"(/v1", apiKey: "k", api: "openai-completions",
                                 models: [{ id: "mock-model", name: "Mock" }] } } },
  agents: { defaults: { model: "mock/mock-model" } },
  hooks: {
    enabled: true,
    token: "${HOOKS_TOKEN}",
    allowRequestSessionKey: true,
    allowedSessionKeyPrefixes: ["hook:"],
    mappings: [{ match: { path: "deploys" }, sessionKey: "hook:deploys", sessionMode: "persistent",
                 messageTemplate: "deploy of {{service}} finished: {{status}}" }],
    signing: { secret: "${HOOKS_SIGNING_SECRET}", toleranceSeconds: 300 },
  },
})");
    startGateway();
  }

  /// Starts `talon gateway run` over dir_ (its state in dir_/state, kept across restarts).
  void startGateway() {
    fs::remove(dir_ / "gateway.port");
    gateway_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{TALON_BINARY, "gateway", "run", "--config", (dir_ / "talon.json").string(), "--port",
                                 "0", "--port-file", (dir_ / "gateway.port").string()},
        std::map<std::string, std::string>{{"TALON_STATE_DIR", (dir_ / "state").string()},
                                           {"HOOKS_TOKEN", kHookToken},
                                           {"HOOKS_SIGNING_SECRET", kSigningSecret}},
        (dir_ / "gateway.log").string());
    port_ = waitForPortFile((dir_ / "gateway.port").string(), 15s);
    ASSERT_GT(port_, 0) << gateway_->log();
    base_ = "http://127.0.0.1:" + std::to_string(port_);
  }

  void TearDown() override {
    gateway_.reset();
    mock_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }

  net::SimpleHttpResponse post(const std::string& path, const std::string& body, net::Headers headers) {
    headers.emplace_back("Content-Type", "application/json");
    auto r = net::httpRequest("POST", base_ + path, headers, body, 20s);
    EXPECT_TRUE(r) << (r ? "" : r.error().toString());
    return r ? *r : net::SimpleHttpResponse{};
  }

  net::Headers bearer() const { return {{"Authorization", std::string("Bearer ") + kHookToken}}; }

  json::array history(const std::string& sessionKey) {
    auto c = ProtocolClient::connect(port_, kHooksToken);
    EXPECT_TRUE(c) << gateway_->log();
    if (!c) return {};
    auto res = c->request("chat.history", json::object{{"sessionKey", sessionKey}});
    EXPECT_TRUE(res && getBool(*res, "ok").value_or(false)) << (res ? json::serialize(*res) : "no answer");
    return res && getBool(*res, "ok").value_or(false) ? res->at("payload").at("messages").as_array() : json::array{};
  }

  fs::path dir_;
  std::unique_ptr<ChildProcess> mock_;
  std::unique_ptr<ChildProcess> gateway_;
  int port_ = 0;
  std::string base_;
};

// Fails (does not skip) when the gateway does not serve the hooks endpoints.
TEST_F(HooksE2E, TokenAuthenticatedAgentHookRunsATurnWhoseTranscriptIsInTheSession) {
  auto r = post("/hooks/agent",
                R"({"message": "nightly report", "sessionKey": "hook:nightly", "sessionMode": "persistent",
                    "waitForCompletion": true})",
                bearer());
  ASSERT_EQ(r.status, 200) << r.body << "\n" << gateway_->log();
  auto body = parseJson(r.body);
  ASSERT_TRUE(body && body->is_object());
  EXPECT_EQ(body->at("ok"), true);
  EXPECT_FALSE(body->at("runId").as_string().empty());
  EXPECT_EQ(body->at("completion").at("status"), "ok");
  auto messages = history("agent:main:hook:nightly");
  ASSERT_EQ(messages.size(), 2u) << json::serialize(messages);
  EXPECT_EQ(messages[0].at("role"), "user");
  EXPECT_EQ(finalText(json::object{{"message", messages[1]}}), "ok");

  // X-OpenClaw-Token works as well.
  EXPECT_EQ(post("/hooks/agent", R"({"message": "x"})", {{"X-OpenClaw-Token", kHookToken}}).status, 200);
}

TEST_F(HooksE2E, RefusalsAsOpenClawAnswersThem) {
  auto missing = post("/hooks/agent", R"({"message": "x"})", {});
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.body, "Unauthorized");
  EXPECT_EQ(post("/hooks/agent", R"({"message": "x"})", {{"Authorization", "Bearer wrong"}}).status, 401);
  EXPECT_EQ(post(std::string("/hooks/agent?token=") + kHookToken, R"({"message": "x"})", bearer()).status, 400);
  auto get = net::httpRequest("GET", base_ + "/hooks/agent", bearer(), "", 10s);
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
  auto big = post("/hooks/agent", R"({"message": ")" + std::string(300'000, 'a') + R"("})", bearer());
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.body, R"({"ok":false,"error":"payload too large"})");
  EXPECT_EQ(post("/hooks/agent", R"({"message": "x", "sessionKey": "other:1"})", bearer()).status, 400);
  EXPECT_EQ(post("/hooks/nothing-here", "{}", bearer()).status, 404);
}

TEST_F(HooksE2E, SignedRequestsAndTheReplayWindow) {
  std::string body = R"({"message": "signed hello", "sessionKey": "hook:signed", "sessionMode": "persistent"})";
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  auto signedHeaders = [&](int64_t ts, std::string_view secret) {
    return net::Headers{{"X-Talon-Timestamp", std::to_string(ts)},
                        {"X-Talon-Signature", "sha256=" + hmacHex(secret, std::to_string(ts) + "." + body)}};
  };
  auto ok = post("/hooks/agent", body, signedHeaders(now.count(), kSigningSecret));
  ASSERT_EQ(ok.status, 200) << ok.body << "\n" << gateway_->log();
  EXPECT_EQ(post("/hooks/agent", body, signedHeaders(now.count(), kSigningSecret)).status, 401);         // replayed
  EXPECT_EQ(post("/hooks/agent", body, signedHeaders(now.count() - 3600, kSigningSecret)).status, 401);  // stale
  EXPECT_EQ(post("/hooks/agent", body, signedHeaders(now.count() + 1, "not-the-secret")).status, 401);
}

TEST_F(HooksE2E, MappingRendersItsTemplateIntoAPersistentSession) {
  auto r = post("/hooks/deploys", R"({"service": "api", "status": "green"})", bearer());
  ASSERT_EQ(r.status, 200) << r.body << "\n" << gateway_->log();
  std::string runId(parseJson(r.body)->at("runId").as_string());
  json::array messages;
  ASSERT_TRUE(pollUntil(
      [&] {
        messages = history("agent:main:hook:deploys");
        return messages.size() >= 2;
      },
      15s))
      << json::serialize(messages);
  auto first = json::serialize(messages[0]);
  EXPECT_NE(first.find("deploy of api finished: green"), std::string::npos) << first;
  EXPECT_EQ(finalText(json::object{{"message", messages[1]}}), "deploy noted");
}

TEST_F(HooksE2E, ARetriedIdempotencyKeyIsAnsweredByTheFirstRunAcrossARestart) {
  const std::string body =
      R"({"message": "deploy 7 finished", "idempotencyKey": "deploy-7", "waitForCompletion": true})";
  auto first = post("/hooks/agent", body, bearer());
  ASSERT_EQ(first.status, 200) << first.body << "\n" << gateway_->log();
  auto firstBody = parseJson(first.body);
  ASSERT_TRUE(firstBody && firstBody->is_object());
  const std::string runId(firstBody->at("runId").as_string());
  EXPECT_EQ(firstBody->at("completion").at("status"), "ok");

  // A new process over the same state dir: the run ledger still knows the key.
  gateway_.reset();
  startGateway();
  auto again = post("/hooks/agent", body, bearer());
  ASSERT_EQ(again.status, 200) << again.body << "\n" << gateway_->log();
  auto againBody = parseJson(again.body);
  ASSERT_TRUE(againBody && againBody->is_object());
  EXPECT_EQ(againBody->at("runId").as_string(), runId) << "a retry must not start a second run";
  EXPECT_EQ(againBody->at("completion").at("status"), "ok");
  EXPECT_EQ(againBody->at("completion").at("replyDisposition"), "visible");
}

}  // namespace
}  // namespace talon::test
