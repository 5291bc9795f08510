// The hooks ingress in process: requests dispatched through the route seam to the real AgentRunner
// (SQLite in a temp dir, a FakeModelProvider the test answers, deterministic executors and a
// SimulatedClock; tests/support/gateway_components.h). Nothing sleeps.
#include <gtest/gtest.h>

#include <optional>

#include "gateway/http/builtin_routes.h"
#include "gateway/http/hook_template.h"
#include "net/http_router.h"
#include "security/webhook_signature.h"
#include "support/gateway_components.h"

namespace talon::gateway::http {
namespace {

constexpr std::string_view kToken = "hook-token-0123456789abcdef";

/// An exchange that records the answer.
class RecordingExchange final : public net::HttpExchange {
 public:
  explicit RecordingExchange(net::HttpRequest request) : request_(std::move(request)) {}
  const net::HttpRequest& request() const override { return request_; }
  void respond(net::HttpResponse response) override {
    std::lock_guard lock(mu_);
    response_ = std::move(response);
  }
  net::ResponseStreamPtr startStream(int, std::string, net::Headers) override { return nullptr; }
  std::optional<net::HttpResponse> response() const {
    std::lock_guard lock(mu_);
    return response_;
  }

 private:
  net::HttpRequest request_;
  mutable std::mutex mu_;
  std::optional<net::HttpResponse> response_;
};

struct Sent {
  std::shared_ptr<RecordingExchange> exchange;
  int status() const { return exchange->response() ? exchange->response()->status : -1; }
  json::object body() const {
    auto r = exchange->response();
    if (!r) return {};
    auto v = parseJson(r->body);
    return v && v->is_object() ? v->get_object() : json::object{};
  }
  std::string text() const { return exchange->response() ? exchange->response()->body : ""; }
  std::string header(std::string_view name) const {
    auto r = exchange->response();
    if (!r) return {};
    for (const auto& [k, v] : r->headers)
      if (k == name) return v;
    return {};
  }
};

class HooksRouteTest : public ::testing::Test {
 protected:
  void start(std::string hooks, std::string agents = "") {
    testing::GatewayComponentsOptions o;
    o.configText = "{" + agents + " hooks: " + hooks + "}";
    gw_ = std::make_unique<testing::GatewayComponents>(o);
    ASSERT_TRUE(gw_->ok());
    ASSERT_TRUE(registerBuiltinRoutes(router_, gw_->services()));
  }

  Sent post(std::string path, std::string body,
            net::Headers headers = {{"Authorization", "Bearer " + std::string(kToken)}}, std::string method = "POST",
            std::string remote = "10.0.0.7") {
    net::HttpRequest req;
    req.method = std::move(method);
    auto q = path.find('?');
    req.target = path;
    req.path = path.substr(0, q);
    req.query = q == std::string::npos ? "" : path.substr(q + 1);
    req.headers = std::move(headers);
    req.body = std::move(body);
    req.remoteAddress = std::move(remote);
    auto ex = std::make_shared<RecordingExchange>(std::move(req));
    router_.dispatch(ex);
    return Sent{ex};
  }

  std::vector<store::TranscriptEntry> transcript(const std::string& sessionKey) {
    auto t = gw_->store->transcripts().tail(sessionKey, 0);
    EXPECT_TRUE(t) << t.error().toString();
    return t ? *t : std::vector<store::TranscriptEntry>{};
  }

  double metric(std::string_view series) const {
    const std::string text = gw_->metrics.render();
    const std::string prefix = std::string(series) + " ";
    auto pos = text.find("\n" + prefix);
    if (pos == std::string::npos) return -1;
    return std::stod(text.substr(pos + 1 + prefix.size()));
  }

  static std::string hooks(std::string extra = "") {
    return "{enabled: true, token: '" + std::string(kToken) + "'" + (extra.empty() ? "" : ", " + extra) + "}";
  }

  std::unique_ptr<testing::GatewayComponents> gw_;
  net::HttpRouter router_;
};

TEST_F(HooksRouteTest, AgentHookRunsATurnOnChannelWebhookAndAnswersRunId) {
  start(hooks());
  auto sent = post("/hooks/agent", R"({"message": "build failed on main", "name": "CI"})");
  ASSERT_EQ(sent.status(), 200) << sent.text();
  auto body = sent.body();
  EXPECT_EQ(body.at("ok"), true);
  std::string runId(body.at("runId").as_string());
  ASSERT_TRUE(gw_->waitCalls(1));
  auto call = gw_->provider->call(0);
  EXPECT_EQ(call->request.messages.back().content, "build failed on main");
  call->answer("looking into it");
  ASSERT_TRUE(gw_->settle(runId));
  auto outcome = gw_->outcome(runId);
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->error);
  EXPECT_EQ(outcome->agentId, "main");
  // Isolated (the default): a fresh session under the generated hook key.
  EXPECT_EQ(outcome->sessionKey.rfind("agent:main:hook:", 0), 0u) << outcome->sessionKey;
  EXPECT_NE(outcome->sessionKey.find(":run:" + runId), std::string::npos) << outcome->sessionKey;
  auto t = transcript(outcome->sessionKey);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].content, "build failed on main");
  EXPECT_EQ(t[1].content, "looking into it");
  auto session = gw_->store->sessions().get(outcome->sessionKey);
  ASSERT_TRUE(session && *session);
  EXPECT_EQ((*session)->channel, "webhook");
  auto dispatched = gw_->audit.ofKind("hooks.dispatch");
  ASSERT_EQ(dispatched.size(), 1u);
  EXPECT_EQ(dispatched[0].outcome, security::AuditOutcome::kAllowed);
  EXPECT_EQ(dispatched[0].details.at("auth"), "token");
  EXPECT_EQ(metric(R"(talon_hooks_requests_total{result="accepted"})"), 1);
}

TEST_F(HooksRouteTest, XOpenClawTokenHeaderIsAccepted) {
  start(hooks());
  auto sent = post("/hooks/agent", R"({"message": "x"})", {{"X-OpenClaw-Token", std::string(kToken)}});
  EXPECT_EQ(sent.status(), 200) << sent.text();
}

TEST_F(HooksRouteTest, MissingOrWrongTokenIs401AndAudited) {
  start(hooks());
  auto missing = post("/hooks/agent", R"({"message": "x"})", {});
  EXPECT_EQ(missing.status(), 401);
  EXPECT_EQ(missing.text(), "Unauthorized");
  auto wrong = post("/hooks/agent", R"({"message": "x"})", {{"Authorization", "Bearer nope"}});
  EXPECT_EQ(wrong.status(), 401);
  auto denied = gw_->audit.ofKind("hooks.auth");
  ASSERT_EQ(denied.size(), 2u);
  EXPECT_EQ(denied[0].details.at("reason"), "token_missing");
  EXPECT_EQ(denied[1].details.at("reason"), "token_mismatch");
  EXPECT_EQ(denied[1].outcome, security::AuditOutcome::kDenied);
  EXPECT_EQ(denied[1].actor, "client:10.0.0.7");
  for (const auto& e : denied) EXPECT_EQ(json::serialize(e.details).find("nope"), std::string::npos);
  EXPECT_EQ(gw_->provider->count(), 0u);
  EXPECT_EQ(metric(R"(talon_hooks_requests_total{result="unauthorized"})"), 2);
}

TEST_F(HooksRouteTest, QueryTokenIsRefusedEvenWithAValidHeader) {
  start(hooks());
  auto sent = post("/hooks/agent?token=" + std::string(kToken), R"({"message": "x"})");
  EXPECT_EQ(sent.status(), 400);
  EXPECT_NE(sent.text().find("query parameters are not allowed"), std::string::npos);
}

TEST_F(HooksRouteTest, WrongMethodIs405WithAllowPost) {
  start(hooks());
  auto sent = post("/hooks/agent", "", {}, "GET");
  EXPECT_EQ(sent.status(), 405);
  EXPECT_EQ(sent.header("Allow"), "POST");
}

TEST_F(HooksRouteTest, FailedAuthIsThrottledAfterTwentyFailuresThenTheRightTokenStillPasses) {
  start(hooks());
  for (int i = 0; i < 20; ++i) EXPECT_EQ(post("/hooks/agent", "{}", {{"Authorization", "Bearer bad"}}).status(), 401);
  auto limited = post("/hooks/agent", "{}", {{"Authorization", "Bearer bad"}});
  EXPECT_EQ(limited.status(), 429);
  EXPECT_EQ(limited.header("Retry-After"), "60");
  EXPECT_EQ(gw_->audit.ofKind("hooks.auth").back().details.at("reason"), "rate_limited");
  // Another client is not affected; the right token passes (OpenClaw checks the limiter after a failure).
  EXPECT_EQ(post("/hooks/agent", "{}", {{"Authorization", "Bearer bad"}}, "POST", "10.0.0.8").status(), 401);
  EXPECT_EQ(post("/hooks/agent", R"({"message": "x"})").status(), 200);
  gw_->clock->advance(60'001);
  EXPECT_EQ(post("/hooks/agent", "{}", {{"Authorization", "Bearer bad"}}).status(), 401);
}

TEST_F(HooksRouteTest, BodyOverTheLimitIs413) {
  start(hooks());
  std::string big = R"({"message": ")" + std::string(262'144, 'a') + R"("})";
  auto sent = post("/hooks/agent", big);
  EXPECT_EQ(sent.status(), 413);
  EXPECT_EQ(sent.body().at("error"), "payload too large");
  EXPECT_EQ(gw_->provider->count(), 0u);
}

TEST_F(HooksRouteTest, PayloadErrorsUseOpenClawsMessages) {
  start(hooks());
  EXPECT_EQ(post("/hooks/agent", "{}").body().at("error"), "message required");
  EXPECT_EQ(post("/hooks/agent", "{nope").status(), 400);
  EXPECT_EQ(post("/hooks/agent", R"({"message": "x", "sessionMode": "forever"})").body().at("error"),
            "sessionMode must be isolated or persistent");
  EXPECT_EQ(post("/hooks/agent", R"({"message": "x", "agentId": "ghost"})").body().at("error"),
            "unknown agentId \"ghost\"");
  EXPECT_EQ(post("/hooks/agent", R"({"message": "x", "waitForCompletion": 1})").body().at("error"),
            "waitForCompletion must be boolean");
  // Not implemented yet: refused, never ignored.
  EXPECT_EQ(post("/hooks/agent", R"({"message": "x", "channel": "telegram", "to": "1"})").status(), 400);
  EXPECT_EQ(post("/hooks/agent", R"({"message": "x", "model": "m"})").status(), 400);
  EXPECT_EQ(post("/hooks/wake", R"({"text": "x"})").status(), 501);
  EXPECT_EQ(post("/hooks", "{}").status(), 404);
  EXPECT_EQ(post("/hooks/unmapped", "{}").status(), 404);
  EXPECT_EQ(gw_->provider->count(), 0u);
}

TEST_F(HooksRouteTest, AllowedAgentIdsRefusesOtherAgents) {
  start(hooks("allowedAgentIds: ['alpha']"), "agents: {ownership: 'explicit', entries: {alpha: {}, beta: {}}},");
  auto refused = post("/hooks/agent", R"({"message": "x", "agentId": "beta"})");
  EXPECT_EQ(refused.status(), 400);
  EXPECT_EQ(refused.body().at("error"), "agentId is not allowed by hooks.allowedAgentIds");
  EXPECT_EQ(gw_->audit.ofKind("hooks.dispatch").back().details.at("reason"), "agent_not_allowed");
  // Several agents, none named: no default to fall back on.
  EXPECT_EQ(post("/hooks/agent", R"({"message": "x"})").body().at("error"),
            "agentId is required when multiple agents are configured");
  auto ok = post("/hooks/agent", R"({"message": "x", "agentId": "Alpha"})");
  ASSERT_EQ(ok.status(), 200) << ok.text();
  ASSERT_TRUE(gw_->waitCalls(1));
  EXPECT_EQ(gw_->provider->count(), 1u);
}

TEST_F(HooksRouteTest, EmptyAllowedAgentIdsDeniesAll) {
  start(hooks("allowedAgentIds: []"));
  EXPECT_EQ(post("/hooks/agent", R"({"message": "x"})").body().at("error"),
            "agentId is not allowed by hooks.allowedAgentIds");
}

TEST_F(HooksRouteTest, RequestSessionKeysNeedOptInAndAnAllowedPrefix) {
  start(hooks());
  EXPECT_NE(
      std::string(post("/hooks/agent", R"({"message": "x", "sessionKey": "hook:a"})").body().at("error").as_string())
          .find("set hooks.allowRequestSessionKey=true"),
      std::string::npos);
}

TEST_F(HooksRouteTest, PersistentSessionsReuseTheKeyWithinAllowedPrefixes) {
  start(hooks("allowRequestSessionKey: true, allowedSessionKeyPrefixes: ['hook:', 'agent:main:hook:']"));
  auto refused = post("/hooks/agent", R"({"message": "x", "sessionKey": "other:1"})");
  EXPECT_EQ(refused.body().at("error"), "sessionKey must start with one of: hook:, agent:main:hook:");
  EXPECT_EQ(post("/hooks/agent", R"({"message": "x", "sessionMode": "persistent"})").body().at("error"),
            "sessionKey is required when sessionMode is persistent");

  std::string first(
      post("/hooks/agent", R"({"message": "one", "sessionKey": "hook:Deploys", "sessionMode": "persistent"})")
          .body()
          .at("runId")
          .as_string());
  ASSERT_TRUE(gw_->waitCalls(1));
  gw_->provider->call(0)->answer("ack one");
  ASSERT_TRUE(gw_->settle(first));
  std::string second(
      post("/hooks/agent", R"({"message": "two", "sessionKey": "hook:deploys", "sessionMode": "persistent"})")
          .body()
          .at("runId")
          .as_string());
  ASSERT_TRUE(gw_->waitCalls(2));
  gw_->provider->call(1)->answer("ack two");
  ASSERT_TRUE(gw_->settle(second));
  EXPECT_EQ(gw_->outcome(second)->sessionKey, "agent:main:hook:deploys");
  auto t = transcript("agent:main:hook:deploys");
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[2].content, "two");
}

TEST_F(HooksRouteTest, MappingRendersItsTemplatesAndTargetsItsAgent) {
  start(hooks(R"J(allowRequestSessionKey: true, allowedSessionKeyPrefixes: ["hook:"],
                 mappings: [
                   {match: {path: "github", source: "gh"}, agentId: "beta", name: "GitHub {{action}}",
                    sessionKey: "hook:gh:{{pull_request.number}}", sessionMode: "persistent",
                    messageTemplate: "PR #{{pull_request.number}} {{action}} by {{payload.sender.login}} ({{headers.x-github-event}}, {{query.kind}}, {{path}})"},
                   {match: {path: "github"}, agentId: "alpha", messageTemplate: "other source: {{source}}"},
                 ])J"),
        "agents: {ownership: 'explicit', entries: {alpha: {}, beta: {}}},");
  auto sent =
      post("/hooks/github?kind=pr",
           R"({"source": "gh", "action": "opened", "pull_request": {"number": 42}, "sender": {"login": "ana"}})",
           {{"Authorization", "Bearer " + std::string(kToken)}, {"X-GitHub-Event", "pull_request"}});
  ASSERT_EQ(sent.status(), 200) << sent.text();
  std::string runId(sent.body().at("runId").as_string());
  ASSERT_TRUE(gw_->waitCalls(1));
  EXPECT_EQ(gw_->provider->call(0)->request.messages.back().content, "PR #42 opened by ana (pull_request, pr, github)");
  gw_->provider->call(0)->answer("on it");
  ASSERT_TRUE(gw_->settle(runId));
  EXPECT_EQ(gw_->outcome(runId)->agentId, "beta");
  EXPECT_EQ(gw_->outcome(runId)->sessionKey, "agent:beta:hook:gh:42");
  EXPECT_EQ(gw_->audit.ofKind("hooks.dispatch").back().details.at("mappingId"), "mapping-1");

  // The second mapping takes the other sources; its session is a fresh isolated one.
  auto other = post("/hooks/github", R"({"source": "ci"})");
  ASSERT_EQ(other.status(), 200) << other.text();
  ASSERT_TRUE(gw_->waitCalls(2));
  EXPECT_EQ(gw_->provider->call(1)->request.messages.back().content, "other source: ci");
}

TEST_F(HooksRouteTest, TemplatedMappingKeyNeedsRequestSessionKeyOptIn) {
  start(hooks(R"(allowedSessionKeyPrefixes: ["hook:"],
                 mappings: [{match: {path: "x"}, sessionKey: "{{id}}", messageTemplate: "m"}])"));
  EXPECT_NE(std::string(post("/hooks/x", R"({"id": "1"})").body().at("error").as_string())
                .find("hooks.allowRequestSessionKey=true"),
            std::string::npos);
  EXPECT_EQ(post("/hooks/x", R"({})").body().at("error"), "hook mapping sessionKey template rendered empty");
}

TEST_F(HooksRouteTest, WaitForCompletionAnswersAfterTheRun) {
  start(hooks());
  auto sent = post("/hooks/agent", R"({"message": "x", "waitForCompletion": true})");
  EXPECT_EQ(sent.status(), -1);  // not answered before the run ends
  ASSERT_TRUE(gw_->waitCalls(1));
  gw_->provider->call(0)->answer("done");
  ASSERT_TRUE(gw_->executors.runUntil([&] { return sent.status() != -1; }));
  EXPECT_EQ(sent.status(), 200);
  auto completion = sent.body().at("completion").as_object();
  EXPECT_EQ(completion.at("status"), "ok");
  EXPECT_EQ(completion.at("replyDisposition"), "visible");
}

TEST_F(HooksRouteTest, ARepeatedIdempotencyKeyAnswersTheFirstRunInsteadOfStartingAnother) {
  start(hooks());
  // A request with a key looks the key up in the run ledger on the blocking pool before it answers.
  auto answered = [&](Sent sent) {
    EXPECT_TRUE(gw_->executors.runUntil([&] { return sent.status() != -1; }));
    return sent;
  };
  const std::string body = R"({"message": "deploy 42 finished", "idempotencyKey": "deploy-42"})";
  auto first = answered(post("/hooks/agent", body));
  ASSERT_EQ(first.status(), 200) << first.text();
  const std::string runId(first.body().at("runId").as_string());
  // While the run is in flight, and after it ended: the same run, no second model call.
  auto inFlight = answered(post("/hooks/agent", body));
  ASSERT_EQ(inFlight.status(), 200) << inFlight.text();
  EXPECT_EQ(inFlight.body().at("runId").as_string(), runId);
  ASSERT_TRUE(gw_->waitCalls(1));
  gw_->provider->call(0)->answer("noted");
  ASSERT_TRUE(gw_->settle(runId));
  auto after = answered(post("/hooks/agent", body));
  EXPECT_EQ(after.body().at("runId").as_string(), runId);
  EXPECT_EQ(gw_->provider->count(), 1u);
  EXPECT_EQ(metric(R"(talon_hooks_requests_total{result="replayed"})"), 2);
  EXPECT_EQ(metric(R"(talon_hooks_requests_total{result="accepted"})"), 1);
  // The run carries the scoped replay key, not the caller's raw key.
  auto run = gw_->store->runs().get(runId);
  ASSERT_TRUE(run && *run);
  EXPECT_EQ((*run)->idempotencyKey.rfind("hook:", 0), 0u) << (*run)->idempotencyKey;
  // The key with another message is another request (OpenClaw scopes the key by the request): a new run.
  auto other = answered(post("/hooks/agent", R"({"message": "deploy 43 finished", "idempotencyKey": "deploy-42"})"));
  ASSERT_EQ(other.status(), 200) << other.text();
  EXPECT_NE(other.body().at("runId").as_string(), runId);
  // The header form (OpenClaw reads Idempotency-Key first) names the same key.
  auto header = answered(post("/hooks/agent", R"({"message": "deploy 42 finished"})",
                              {{"Authorization", "Bearer " + std::string(kToken)}, {"Idempotency-Key", "deploy-42"}}));
  EXPECT_EQ(header.body().at("runId").as_string(), runId);
}

TEST_F(HooksRouteTest, AReplayWithWaitForCompletionWaitsForTheFirstRun) {
  start(hooks());
  const std::string body = R"({"message": "backup failed", "idempotencyKey": "backup-7", "waitForCompletion": true})";
  auto first = post("/hooks/agent", body);
  ASSERT_TRUE(gw_->waitCalls(1));
  auto second = post("/hooks/agent", body);
  gw_->executors.runReady();
  EXPECT_EQ(second.status(), -1);  // waits for the first run's completion
  gw_->provider->call(0)->answer("on it");
  ASSERT_TRUE(gw_->executors.runUntil([&] { return first.status() != -1 && second.status() != -1; }));
  EXPECT_EQ(second.body().at("runId"), first.body().at("runId"));
  EXPECT_EQ(second.body().at("completion").at("status"), "ok");
  EXPECT_EQ(second.body().at("completion").at("replyDisposition"), "visible");
  EXPECT_EQ(gw_->provider->count(), 1u);
}

// --- Talon's signatures (hooks.signing) ---

class SignedHooksTest : public HooksRouteTest {
 protected:
  net::Headers signedHeaders(std::string_view body, int64_t ts, std::string_view secret = "whsec-1") {
    return {{std::string(security::kWebhookTimestampHeader), std::to_string(ts)},
            {std::string(security::kWebhookSignatureHeader), security::signWebhook(secret, ts, body)}};
  }
  int64_t now() const { return gw_->clock->nowMs() / 1000; }
};

TEST_F(SignedHooksTest, AValidSignatureAuthenticatesWithoutTheToken) {
  start(hooks("signing: {secret: 'whsec-1'}"));
  std::string body = R"({"message": "signed"})";
  auto sent = post("/hooks/agent", body, signedHeaders(body, now()));
  ASSERT_EQ(sent.status(), 200) << sent.text();
  EXPECT_EQ(gw_->audit.ofKind("hooks.dispatch").back().details.at("auth"), "signature");
  // The token still works when signatures are optional.
  EXPECT_EQ(post("/hooks/agent", body).status(), 200);
}

TEST_F(SignedHooksTest, BadSignatureStaleTimestampAndReplayAreRefused) {
  start(hooks("signing: {secret: 'whsec-1', toleranceSeconds: 300}"));
  std::string body = R"({"message": "signed"})";
  EXPECT_EQ(post("/hooks/agent", body, signedHeaders(body, now(), "wrong")).status(), 401);
  EXPECT_EQ(post("/hooks/agent", body, signedHeaders(body, now() - 301)).status(), 401);
  EXPECT_EQ(post("/hooks/agent", R"({"message": "changed"})", signedHeaders(body, now())).status(), 401);
  auto headers = signedHeaders(body, now());
  EXPECT_EQ(post("/hooks/agent", body, headers).status(), 200);
  EXPECT_EQ(post("/hooks/agent", body, headers).status(), 401);  // the same request again
  auto reasons = gw_->audit.ofKind("hooks.auth");
  ASSERT_EQ(reasons.size(), 4u);
  EXPECT_EQ(reasons[0].details.at("reason"), "signature_mismatch");
  EXPECT_EQ(reasons[1].details.at("reason"), "signature_stale");
  EXPECT_EQ(reasons[2].details.at("reason"), "signature_mismatch");
  EXPECT_EQ(reasons[3].details.at("reason"), "signature_replayed");
}

TEST_F(SignedHooksTest, RequiredSigningRefusesTheTokenAlone) {
  start(hooks("signing: {secret: 'whsec-1', required: true}"));
  EXPECT_EQ(post("/hooks/agent", R"({"message": "x"})").status(), 401);
  EXPECT_EQ(gw_->audit.ofKind("hooks.auth").back().details.at("reason"), "signature_missing");
}

TEST(HookTemplate, RendersOpenClawsExpressions) {
  HookTemplateContext ctx;
  ctx.payload = json::parse(R"({"a": {"b": [10, {"c": "deep"}]}, "n": 1.5, "t": true, "o": {"k": 1}, "z": null})");
  ctx.headers = {{"x-kind", "push"}};
  ctx.query = {{"q", "v"}};
  ctx.path = "p/q";
  ctx.now = isoTimestamp(1'700'000'000'123);
  EXPECT_EQ(renderHookTemplate("{{a.b[1].c}}|{{ payload.a.b[0] }}|{{n}}|{{t}}|{{o}}|{{z}}|{{missing.x}}", ctx),
            "deep|10|1.5|true|{\"k\":1}||");
  EXPECT_EQ(renderHookTemplate("{{headers.x-kind}} {{query.q}} {{path}} {{now}}", ctx),
            "push v p/q 2023-11-14T22:13:20.123Z");
  EXPECT_EQ(renderHookTemplate("{{constructor}}{{a.__proto__}}", ctx), "");
  EXPECT_TRUE(hasHookTemplate("x {{ y }}"));
  EXPECT_FALSE(hasHookTemplate("x { y }"));
  EXPECT_EQ(parseQuery("a=1&b=x%20y+z&a=2&flag"),
            (std::map<std::string, std::string>{{"a", "2"}, {"b", "x y z"}, {"flag", ""}}));
}

}  // namespace
}  // namespace talon::gateway::http
