// The model proxy's parts without sockets: the modelProxy section (schema, file:line errors), the render
// of a proxied gateway (virtual-key reference, never the real key), model policy, spending arithmetic,
// usage parsing (a completion body and an SSE stream cut anywhere), the ledger (hash-only keys, rotation,
// revocation, usage sums, the migration of a first-schema file) and drift transitions; per-agent attribution
// (agent keys, agent policy, agent limits, usage by agent) with the proxy on loopback in front of a real
// OpenAI-format upstream. The whole pipeline over real processes is in tests/e2e/fleet_apply_e2e_test.cpp.
#include "fleet/model_proxy.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "base/file_io.h"
#include "fleet/deployer.h"
#include "fleet/drift.h"
#include "fleet/fleet_test_util.h"
#include "fleet/preflight.h"
#include "fleet/proxy_accounting.h"
#include "fleet/proxy_ledger.h"
#include "fleet/render.h"
#include "net/server.h"
#include "net/ws_client.h"

namespace talon::fleet {
namespace {

using ::testing::HasSubstr;
using testing::inventoryText;
using testing::TempDir;

const char* const kProxyInventory = R"(
  catalogs: { models: { "up/small": {}, "up/big": { tier: "high-cost" }, "other/x": {} } },
  gateways: {
    a: { runtime: "talon", port: 19001, stateDir: "/tmp/pa", workspaceRoot: "/tmp/pa-ws" },
    b: { runtime: "talon", port: 19002, stateDir: "/tmp/pb", workspaceRoot: "/tmp/pb-ws" },
    empty: { runtime: "talon", port: 19003, stateDir: "/tmp/pe", workspaceRoot: "/tmp/pe-ws" },
  },
  agents: {
    helper: { gateway: "a", kind: "use-case", model: "up/small" },
    other: { gateway: "b", kind: "use-case", model: "other/x" },
  },
  modelProxy: {
    listen: "127.0.0.1:18999",
    driftIntervalSeconds: 5,
    gateways: ["a", "empty"],
    providers: { up: { baseUrl: "https://upstream.example/v1/", apiKey: "${UP_REAL_KEY}" } },
    limits: { gateways: { a: { dailyUsd: 1.5, monthlyUsd: 20 } } },
    pricing: { "up/small": { inputPerMTokUsd: 0.5, outputPerMTokUsd: 1.25 } },
  },
)";

EffectiveFleet proxyFleet(const std::string& text = kProxyInventory) {
  auto inv = Inventory::parse(inventoryText(text), "/org/fleet.json5");
  EXPECT_TRUE(inv) << inv.error().message;
  return EffectiveFleet::resolve(*inv);
}

TEST(ModelProxySettingsTest, TheSectionIsReadWithItsDefaults) {
  EffectiveFleet fleet = proxyFleet();
  const auto& p = fleet.inventory().modelProxy();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->listen, "127.0.0.1:18999");
  EXPECT_EQ(p->baseUrl(), "http://127.0.0.1:18999");
  EXPECT_EQ(p->driftIntervalSeconds, 5);
  EXPECT_TRUE(p->usedBy("a"));
  EXPECT_FALSE(p->usedBy("b"));
  EXPECT_EQ(p->providers.at("up").baseUrl, "https://upstream.example/v1");
  EXPECT_EQ(p->providers.at("up").apiKeyVariable, "UP_REAL_KEY");
  EXPECT_EQ(p->gatewayLimits.at("a").dailyUsd, 1.5);
  EXPECT_EQ(p->pricing.at("up/small").outputPerMTokUsd, 1.25);
  EXPECT_FALSE(proxyFleet("").inventory().modelProxy());
}

TEST(ModelProxySettingsTest, BadValuesAreErrorsWithFileAndLine) {
  // What the schema refuses: a literal key, a negative amount, an unknown key.
  auto typed = Inventory::parse(inventoryText(R"(
  modelProxy: {
    providers: { up: { baseUrl: "https://x", apiKey: "sk-literal" } },
    limits: { gateways: { a: { dailyUsd: -1 } } },
    surprise: true,
  },
)"),
                                "/org/fleet.json5");
  ASSERT_FALSE(typed);
  EXPECT_THAT(typed.error().message, HasSubstr("fleet.json5:5:46: modelProxy.providers.up.apiKey: expected a secret"));
  EXPECT_THAT(typed.error().message, HasSubstr("modelProxy.limits.gateways.a.dailyUsd: must be >= 0"));
  EXPECT_THAT(typed.error().message, HasSubstr("modelProxy.surprise: unknown key"));

  // What the section's reader refuses.
  auto inv = Inventory::parse(inventoryText(R"(
  gateways: { a: { port: 19001, stateDir: "/tmp/pa", workspaceRoot: "/tmp/pa-ws" } },
  modelProxy: {
    listen: "localhost",
    gateways: ["nope"],
    providers: { up: { baseUrl: "ftp://x", apiKey: { source: "file", provider: "f", id: "/k" } } },
    limits: { gateways: { ghost: { dailyUsd: 1 } } },
    pricing: { small: { inputPerMTokUsd: 1, outputPerMTokUsd: 1 } },
  },
)"),
                              "/org/fleet.json5");
  ASSERT_FALSE(inv);
  const std::string& m = inv.error().message;
  EXPECT_THAT(m, HasSubstr("fleet.json5:6:13: modelProxy.listen: \"localhost\" is not ADDR:PORT"));
  EXPECT_THAT(m, HasSubstr("modelProxy.gateways[0]: unknown gateway \"nope\""));
  EXPECT_THAT(m, HasSubstr("modelProxy.providers.up.baseUrl: \"ftp://x\" is not an http(s) URL"));
  EXPECT_THAT(m, HasSubstr("modelProxy.providers.up.apiKey: fleet serve reads the real key from its environment"));
  EXPECT_THAT(m, HasSubstr("modelProxy.limits.gateways.ghost: unknown gateway"));
  EXPECT_THAT(m, HasSubstr("modelProxy.pricing.small: \"small\" is not a model ref"));
}

TEST(ModelProxyRenderTest, AProxiedGatewayPointsAtTheProxyWithItsVirtualKeyReference) {
  EffectiveFleet fleet = proxyFleet();
  auto renders = renderFleet(fleet);
  const RenderedGateway& a = renders[0];
  ASSERT_EQ(a.id, "a");
  const json::object& provider = a.config.at("models").at("providers").at("up").as_object();
  EXPECT_EQ(provider.at("baseUrl"), "http://127.0.0.1:18999/providers/up");
  EXPECT_EQ(provider.at("apiKey"), "${TALON_FLEET_PROXY_KEY_A}");
  EXPECT_EQ(provider.at("api"), "openai-completions");
  EXPECT_EQ(toJson(provider.at("models")), R"([{"id":"small","name":"small"}])");
  EXPECT_THAT(a.text, ::testing::Not(HasSubstr("UP_REAL_KEY")));
  // b does not use the proxy; `empty` does but has no agent, so no model provider.
  EXPECT_FALSE(renders[1].config.contains("models"));
  EXPECT_FALSE(renders[2].config.contains("models"));
  EXPECT_EQ(proxyKeyVariable("support-main.eu"), "TALON_FLEET_PROXY_KEY_SUPPORT_MAIN_EU");
}

TEST(ModelProxyPreflightTest, KeyHoldersWhoseIdsSpellTheSameVariableAreAnError) {
  auto inv = Inventory::parse(inventoryText(R"(
  gateways: {
    "eu-1": { port: 19001, stateDir: "/tmp/pk1", workspaceRoot: "/tmp/pk1-ws" },
    "eu_1": { port: 19201, stateDir: "/tmp/pk2", workspaceRoot: "/tmp/pk2-ws" },
    "x__y": { port: 19401, stateDir: "/tmp/pk3", workspaceRoot: "/tmp/pk3-ws" },
    x: { port: 19601, stateDir: "/tmp/pk4", workspaceRoot: "/tmp/pk4-ws" },
  },
  agents: { y: { gateway: "x", kind: "use-case" } },
  modelProxy: { gateways: ["*"], attribution: "agent",
    providers: { up: { baseUrl: "https://x.example/v1", apiKey: "${UP_KEY}" } } },
)"),
                              "/org/fleet.json5");
  ASSERT_TRUE(inv) << inv.error().message;
  EffectiveFleet fleet = EffectiveFleet::resolve(*inv);
  PreflightOptions options;
  options.checkHostPorts = false;
  options.validateTalonRenders = false;
  std::vector<std::vector<std::string>> clashes;
  for (const auto& f : runPreflight(fleet, renderFleet(fleet), options).findings) {
    if (f.id == "FLEET-PROXY-KEY-VARIABLE-CLASH") {
      clashes.push_back(f.objects);
      EXPECT_TRUE(f.isError());
      EXPECT_THAT(f.message, HasSubstr("${TALON_FLEET_PROXY_KEY_"));
    }
  }
  EXPECT_THAT(clashes, ::testing::UnorderedElementsAre(std::vector<std::string>{"gateway:eu-1", "gateway:eu_1"},
                                                       std::vector<std::string>{"agent:y", "gateway:x__y"}));
}

TEST(ModelProxyPolicyTest, AGatewayMayUseWhatOneOfItsAgentsMay) {
  EffectiveFleet fleet = proxyFleet();
  EXPECT_FALSE(proxyModelDenial(fleet, "a", "up/small"));
  auto big = proxyModelDenial(fleet, "a", "up/big");
  ASSERT_TRUE(big);
  EXPECT_THAT(*big, HasSubstr("high-cost"));
  EXPECT_THAT(proxyModelDenial(fleet, "a", "up/unknown").value_or(""), HasSubstr("not in catalogs.models"));
  EXPECT_THAT(proxyModelDenial(fleet, "empty", "up/small").value_or(""), HasSubstr("has no agents"));
  EXPECT_THAT(proxyModelDenial(fleet, "ghost", "up/small").value_or(""), HasSubstr("not in the inventory"));
}

TEST(ModelProxyPreflightTest, AnUnpricedModelUnderALimitAndAnUnservedProviderAreFound) {
  std::string text = kProxyInventory;
  text.replace(text.find(R"(gateways: ["a", "empty"])"), 24, R"(gateways: ["a", "b", "empty"])");
  text.replace(text.find(R"(pricing: { "up/small")"), 21, R"(pricing: { "up/other")");
  EffectiveFleet fleet = proxyFleet(text);
  PreflightOptions options;
  options.checkHostPorts = false;
  options.validateTalonRenders = false;
  PreflightReport report = runPreflight(fleet, renderFleet(fleet), options);
  std::vector<std::string> ids;
  for (const auto& f : report.findings) ids.push_back(f.id + " " + f.objects.front());
  EXPECT_THAT(ids, ::testing::Contains("FLEET-PROXY-UNPRICED agent:helper"));
  EXPECT_THAT(ids, ::testing::Contains("FLEET-PROXY-NO-PROVIDER agent:other"));
  PreflightReport clean = runPreflight(proxyFleet(), renderFleet(proxyFleet()), options);
  for (const auto& f : clean.findings) EXPECT_FALSE(f.id.starts_with("FLEET-PROXY")) << f.id;
}

TEST(ProxyAccountingTest, WindowsAreTheUtcDayAndCalendarMonth) {
  // 2026-03-15T13:45:00.250Z
  SpendWindows w = spendWindowsAt(1773582300250);
  EXPECT_EQ(w.dayStartMs, 1773532800000);    // 2026-03-15T00:00:00Z
  EXPECT_EQ(w.monthStartMs, 1772323200000);  // 2026-03-01T00:00:00Z
  SpendWindows midnight = spendWindowsAt(1772323200000);
  EXPECT_EQ(midnight.dayStartMs, 1772323200000);
  EXPECT_EQ(midnight.monthStartMs, 1772323200000);
}

TEST(ProxyAccountingTest, ALimitIsExhaustedWhenSpendingReachesIt) {
  SpendLimit limit;
  limit.dailyUsd = 1.0;
  limit.monthlyUsd = 10.0;
  EXPECT_FALSE(checkSpendLimit(limit, 0.999, 9.0));
  auto day = checkSpendLimit(limit, 1.0, 5.0);
  ASSERT_TRUE(day);
  EXPECT_EQ(day->window, "daily");
  auto month = checkSpendLimit(limit, 0.1, 10.5);
  ASSERT_TRUE(month);
  EXPECT_EQ(month->window, "monthly");
  EXPECT_EQ(month->spentUsd, 10.5);
  EXPECT_FALSE(checkSpendLimit(SpendLimit{}, 1e9, 1e9)) << "no window set: unlimited";
  ModelPrice price;
  price.inputPerMTokUsd = 2.0;
  price.outputPerMTokUsd = 8.0;
  EXPECT_DOUBLE_EQ(usageCostUsd(price, TokenUsage{1'000'000, 500'000}), 6.0);
  EXPECT_DOUBLE_EQ(usageCostUsd(price, TokenUsage{10, 5}), 0.00006);
}

TEST(ProxyAccountingTest, UsageIsReadFromACompletionBody) {
  auto u = parseCompletionUsage(
      R"({"id":"c1","object":"chat.completion","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}})");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->promptTokens, 12);
  EXPECT_EQ(u->completionTokens, 3);
  EXPECT_FALSE(parseCompletionUsage(R"({"choices":[]})"));
  EXPECT_FALSE(parseCompletionUsage("not json"));
}

TEST(ProxyAccountingTest, AStreamAsksForUsageAndItsLastChunkIsReadWhereverItIsCut) {
  auto plain = prepareChatRequest(R"({"model":"small","messages":[]})");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->model, "small");
  EXPECT_FALSE(plain->stream);
  EXPECT_THAT(plain->body, ::testing::Not(HasSubstr("stream_options")));
  auto streamed = prepareChatRequest(R"({"model":"small","stream":true,"messages":[]})");
  ASSERT_TRUE(streamed);
  EXPECT_TRUE(streamed->stream);
  EXPECT_THAT(streamed->body, HasSubstr(R"("stream_options":{"include_usage":true})"));
  auto keeps = prepareChatRequest(R"({"model":"m","stream":true,"stream_options":{"include_usage":false}})");
  EXPECT_THAT(keeps->body, HasSubstr(R"("include_usage":false)"));
  EXPECT_FALSE(prepareChatRequest("[1]"));

  const std::string sse =
      "data: {\"choices\":[{\"delta\":{\"content\":\"o\"}}],\"usage\":null}\n\n"
      "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\r\n\r\n"
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2}}\n\n"
      "data: [DONE]\n\n";
  for (std::size_t cut = 0; cut <= sse.size(); ++cut) {
    SseUsageScanner scanner;
    scanner.feed(std::string_view(sse).substr(0, cut));
    scanner.feed(std::string_view(sse).substr(cut));
    ASSERT_TRUE(scanner.usage()) << "cut at " << cut;
    EXPECT_EQ(scanner.usage()->promptTokens, 7);
    EXPECT_EQ(scanner.usage()->completionTokens, 2);
  }
  SseUsageScanner none;
  none.feed("data: {\"choices\":[],\"usage\":null}\n\n");
  EXPECT_FALSE(none.usage());
}

TEST(ProxyAccountingTest, AnthropicUsageComesFromTheMessageOrItsStartAndDeltaEvents) {
  auto body = parseCompletionUsage(
      R"({"type":"message","usage":{"input_tokens":10,"cache_read_input_tokens":2,"output_tokens":4}})",
      ProxyApi::kAnthropicMessages);
  ASSERT_TRUE(body);
  EXPECT_EQ(body->promptTokens, 12);
  EXPECT_EQ(body->completionTokens, 4);
  auto unchanged = prepareChatRequest(R"({"model":"m","stream":true})", ProxyApi::kAnthropicMessages);
  ASSERT_TRUE(unchanged && unchanged->stream);
  EXPECT_THAT(unchanged->body, ::testing::Not(HasSubstr("stream_options")));
  const std::string sse =
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":30,"
      "\"cache_creation_input_tokens\":3,\"output_tokens\":1}}}\n\n"
      "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":5}}\n\n"
      "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":11}}\n\n";
  for (std::size_t cut = 0; cut <= sse.size(); cut += 7) {
    SseUsageScanner scanner(ProxyApi::kAnthropicMessages);
    scanner.feed(std::string_view(sse).substr(0, cut));
    scanner.feed(std::string_view(sse).substr(cut));
    ASSERT_TRUE(scanner.usage());
    EXPECT_EQ(scanner.usage()->promptTokens, 33);
    EXPECT_EQ(scanner.usage()->completionTokens, 11) << "message_delta's count is cumulative";
  }
}

TEST(ProxyLedgerTest, KeysAreStoredAsHashesRotatedAndRevoked) {
  TempDir dir;
  auto ledger = ProxyLedger::open(dir.path());
  ASSERT_TRUE(ledger) << ledger.error().message;
  auto first = (*ledger)->issue("a", 1000);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(first->key.starts_with("tfk_"));
  EXPECT_EQ(first->key.size(), 4u + 43u) << "32 random bytes, URL-safe base64 without padding";
  auto other = (*ledger)->issue("b", 1000);
  ASSERT_TRUE(other);
  EXPECT_NE(first->key, other->key);

  // Only the hash is on disk.
  auto db = readFile(dir.path() / "proxy" / "proxy.sqlite");
  ASSERT_TRUE(db);
  auto wal = readFile(dir.path() / "proxy" / "proxy.sqlite-wal");
  std::string bytes = *db + (wal ? *wal : "");
  EXPECT_EQ(bytes.find(first->key), std::string::npos);
  EXPECT_NE(bytes.find(virtualKeyHash(first->key)), std::string::npos);

  auto known = (*ledger)->authenticate(first->key);
  ASSERT_TRUE(known && *known);
  EXPECT_EQ((*known)->gateway, "a");
  EXPECT_TRUE((*known)->active());
  EXPECT_FALSE(*(*ledger)->authenticate("tfk_unknown"));

  // A new key for a: the old one is revoked.
  auto second = (*ledger)->issue("a", 2000);
  ASSERT_TRUE(second);
  EXPECT_FALSE((*(*ledger)->authenticate(first->key))->active());
  EXPECT_TRUE((*(*ledger)->authenticate(second->key))->active());

  auto revoked = (*ledger)->revoke("a", 3000);
  ASSERT_TRUE(revoked);
  EXPECT_EQ(*revoked, 1);
  auto after = (*ledger)->authenticate(second->key);
  ASSERT_TRUE(after && *after);
  EXPECT_EQ((*after)->revokedMs, 3000);
  EXPECT_TRUE((*(*ledger)->authenticate(other->key))->active()) << "b is untouched";
  auto listed = (*ledger)->list("a");
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ(toJson((*listed)[0].toJson()).find(first->key), std::string::npos);
}

TEST(ProxyLedgerTest, UsageIsSummedPerGatewayAndModelAndWindow) {
  TempDir dir;
  auto ledger = ProxyLedger::open(dir.path());
  ASSERT_TRUE(ledger);
  auto rec = [&](int64_t t, const std::string& gw, const std::string& model, int64_t in, int64_t out, double cost) {
    UsageRecord r;
    r.timeMs = t;
    r.gateway = gw;
    r.keyId = "vk-1";
    r.model = model;
    r.usage = {in, out};
    r.costUsd = cost;
    r.status = 200;
    ASSERT_TRUE((*ledger)->record(r));
  };
  rec(100, "a", "up/small", 10, 2, 0.25);
  rec(200, "a", "up/small", 5, 1, 0.5);
  rec(300, "a", "up/other", 1, 1, 1.0);
  rec(400, "b", "up/small", 1, 1, 2.0);
  EXPECT_DOUBLE_EQ(*(*ledger)->spentUsd("a", 0), 1.75);
  EXPECT_DOUBLE_EQ(*(*ledger)->spentUsd("a", 200), 1.5);
  EXPECT_DOUBLE_EQ(*(*ledger)->spentUsd("c", 0), 0.0);
  auto all = (*ledger)->usage("", 0);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[1].gateway, "a");
  EXPECT_EQ((*all)[1].model, "up/small");
  EXPECT_EQ((*all)[1].requests, 2);
  EXPECT_EQ((*all)[1].promptTokens, 15);
  EXPECT_EQ((*all)[1].completionTokens, 3);
  EXPECT_DOUBLE_EQ((*all)[1].costUsd, 0.75);
  EXPECT_EQ((*ledger)->usage("b", 0)->size(), 1u);
  EXPECT_EQ((*ledger)->usage("a", 250)->size(), 1u);
}

TEST(ProxyDriftTest, OnlyAChangeToDriftedIsReported) {
  auto drift = [](const std::string& id, DriftState state) {
    GatewayDrift d;
    d.id = id;
    d.state = state;
    return d;
  };
  std::vector<GatewayDrift> now = {drift("a", DriftState::kDrifted), drift("b", DriftState::kDrifted),
                                   drift("c", DriftState::kInSync), drift("d", DriftState::kUnreachable)};
  auto first = newlyDrifted({}, now);
  ASSERT_EQ(first.size(), 2u) << "a first check reports what is drifted already";
  std::map<std::string, DriftState> previous = {{"a", DriftState::kDrifted}, {"b", DriftState::kUnreachable}};
  auto next = newlyDrifted(previous, now);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0]->id, "b");
  EXPECT_EQ(driftExitCode(now), 1);
  EXPECT_EQ(driftExitCode({drift("c", DriftState::kInSync), drift("d", DriftState::kUnreachable)}), 5);
  EXPECT_EQ(driftExitCode({drift("c", DriftState::kInSync), drift("e", DriftState::kNotApplied)}), 0);
}

/// An Anthropic Messages upstream on loopback (https://docs.anthropic.com/en/api/messages), speaking its
/// wire format and recording what it received; and the proxy in front of it, both on one io_context.
class AnthropicProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    net::ServerOptions upstreamOptions;
    upstreamOptions.bindAddresses = {"127.0.0.1"};
    upstreamOptions.port = 0;
    net::ServerHandlers upstreamHandlers;
    upstreamHandlers.onHttp = [this](net::HttpExchangePtr exchange) {
      const auto& req = exchange->request();
      {
        std::lock_guard lock(mutex_);
        upstreamSeen_.push_back(req.path + " x-api-key=" + std::string(req.header("x-api-key")) +
                                " authorization=" + std::string(req.header("authorization")));
      }
      if (req.body.find("\"stream\":true") != std::string::npos) {
        auto stream = exchange->startStream(200, "text/event-stream");
        stream->write(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":"
            "\"message\",\"role\":\"assistant\",\"content\":[],\"usage\":{\"input_tokens\":20,"
            "\"cache_read_input_tokens\":4,\"output_tokens\":1}}}\n\n");
        stream->write(
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
            "\"text_delta\",\"text\":\"hi\"}}\n\n");
        stream->write(
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
            "\"usage\":{\"output_tokens\":9}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
        stream->end();
        return;
      }
      exchange->respond(
          {200,
           "application/json",
           {},
           R"({"id":"msg_2","type":"message","role":"assistant","content":[{"type":"text","text":"ok"}],)"
           R"("stop_reason":"end_turn","usage":{"input_tokens":10,"cache_creation_input_tokens":5,"output_tokens":7}})"});
    };
    auto upstream = net::Server::create(io_, upstreamOptions, upstreamHandlers);
    ASSERT_TRUE(upstream) << upstream.error().message;
    upstream_ = std::move(*upstream);

    auto inv = Inventory::parse(inventoryText(R"(
  catalogs: { models: { "claude/sonnet": {} } },
  gateways: { a: { runtime: "talon", port: 19001, stateDir: "/tmp/pa", workspaceRoot: "/tmp/pa-ws" } },
  agents: { helper: { gateway: "a", kind: "use-case", model: "claude/sonnet" } },
  modelProxy: {
    gateways: ["a"],
    providers: { claude: { baseUrl: "http://127.0.0.1:)" +
                                              std::to_string(upstream_->port()) +
                                              R"(", api: "anthropic-messages", apiKey: "${CLAUDE_REAL_KEY}" } },
  },
)"),
                                "/org/fleet.json5");
    ASSERT_TRUE(inv) << inv.error().message;
    auto ledger = ProxyLedger::open(dir_.path());
    ASSERT_TRUE(ledger);
    ledger_ = std::shared_ptr<ProxyLedger>(std::move(*ledger));
    auto key = ledger_->issue("a", 1000);
    ASSERT_TRUE(key);
    virtualKey_ = key->key;
    ModelProxyOptions options;
    options.fleet = std::make_shared<const EffectiveFleet>(EffectiveFleet::resolve(*inv));
    options.upstreamKeys = {{"claude", "sk-ant-real-canary"}};
    options.ledger = ledger_;
    options.clock = std::make_shared<SimulatedClock>(1773582300000);
    auto proxy = ModelProxy::create(io_, std::move(options));
    ASSERT_TRUE(proxy) << proxy.error().message;
    proxy_ = std::move(*proxy);
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (proxy_) proxy_->stop();
    if (upstream_) upstream_->stop();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  net::SimpleHttpResponse post(const std::string& key, const std::string& body) {
    auto r = net::httpRequest(
        "POST", "http://127.0.0.1:" + std::to_string(proxy_->port()) + "/providers/claude/v1/messages",
        {{"x-api-key", key}, {"anthropic-version", "2023-06-01"}, {"content-type", "application/json"}}, body,
        std::chrono::seconds(10));
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : net::SimpleHttpResponse{};
  }

  std::vector<std::string> upstreamSeen() {
    std::lock_guard lock(mutex_);
    return upstreamSeen_;
  }

  TempDir dir_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ = boost::asio::make_work_guard(io_);
  net::ServerPtr upstream_;
  std::unique_ptr<ModelProxy> proxy_;
  std::shared_ptr<ProxyLedger> ledger_;
  std::string virtualKey_;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> upstreamSeen_;
};

TEST_F(AnthropicProxyTest, MessagesAreForwardedWithTheRealKeyAndTheirUsageRecorded) {
  auto plain = post(virtualKey_, R"({"model":"sonnet","max_tokens":16,"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(plain.status, 200) << plain.body;
  EXPECT_NE(plain.body.find("msg_2"), std::string::npos);
  auto streamed = post(
      virtualKey_, R"({"model":"sonnet","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(streamed.status, 200);
  EXPECT_NE(streamed.body.find("event: message_stop"), std::string::npos) << streamed.body;

  auto seen = upstreamSeen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], "/v1/messages x-api-key=sk-ant-real-canary authorization=");
  // Usage: 10 + 5 cache writes in, 7 out; the stream 20 + 4 cache reads in, 9 out (message_delta's count).
  // Recorded before each answer completed.
  auto recorded = ledger_->usage("a", 0);
  ASSERT_TRUE(recorded);
  const auto& usage = *recorded;
  ASSERT_EQ(usage.size(), 1u);
  EXPECT_EQ(usage[0].requests, 2);
  EXPECT_EQ(usage[0].model, "claude/sonnet");
  EXPECT_EQ(usage[0].promptTokens, 15 + 24);
  EXPECT_EQ(usage[0].completionTokens, 7 + 9);

  auto refused = post("tfk_unknown", R"({"model":"sonnet","messages":[]})");
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(parseJson(refused.body)->at("error").at("type"), "authentication_error") << refused.body;
  auto denied = post(virtualKey_, R"({"model":"opus","messages":[]})");
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(parseJson(denied.body)->at("type"), "error") << denied.body;
  EXPECT_EQ(upstreamSeen().size(), 2u) << "refused requests never reach the upstream";
}

// --- Per-agent attribution (modelProxy.attribution "agent") ---

const char* const kAgentProxyInventory = R"(
  catalogs: { models: { "up/small": {}, "up/mid": {}, "other/x": {} } },
  gateways: {
    a: { runtime: "talon", port: 19001, stateDir: "/tmp/pa", workspaceRoot: "/tmp/pa-ws" },
    b: { runtime: "talon", port: 19002, stateDir: "/tmp/pb", workspaceRoot: "/tmp/pb-ws" },
  },
  agents: {
    helper: { gateway: "a", kind: "use-case", model: "up/small", policy: { models: { deny: ["up/mid"] } } },
    boss: { gateway: "a", kind: "use-case", model: "up/mid" },
    other: { gateway: "b", kind: "use-case", model: "other/x" },
  },
  modelProxy: {
    gateways: ["a"],
    attribution: "agent",
    providers: { up: { baseUrl: "http://127.0.0.1:9/v1", apiKey: "${UP_REAL_KEY}" } },
    limits: { gateways: { a: { dailyUsd: 100 } }, agents: { helper: { dailyUsd: 0.001, monthlyUsd: 5 } } },
    pricing: {
      "up/small": { inputPerMTokUsd: 0.5, outputPerMTokUsd: 1.25 },
      "up/mid": { inputPerMTokUsd: 0.5, outputPerMTokUsd: 1.25 },
    },
  },
)";

TEST(ModelProxySettingsTest, AttributionAndAgentLimitsAreReadAndChecked) {
  EffectiveFleet fleet = proxyFleet(kAgentProxyInventory);
  const auto& p = fleet.inventory().modelProxy();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->attribution, ProxyAttribution::kAgent);
  EXPECT_EQ(p->agentLimits.at("helper").dailyUsd, 0.001);
  EXPECT_EQ(p->agentLimits.at("helper").monthlyUsd, 5);
  EXPECT_EQ(proxyFleet().inventory().modelProxy()->attribution, ProxyAttribution::kGateway) << "the default";
  EXPECT_EQ(proxyKeyVariable("support-main", "sales.eu"), "TALON_FLEET_PROXY_KEY_SUPPORT_MAIN__SALES_EU");
  EXPECT_EQ(proxyAgentProviderId("openai", "sales"), "openai--sales");

  // The schema: an unknown attribution.
  auto typed = Inventory::parse(inventoryText(R"(
  modelProxy: { attribution: "team" },
)"),
                                "/org/fleet.json5");
  ASSERT_FALSE(typed);
  EXPECT_THAT(typed.error().message, HasSubstr("fleet.json5:4:17: modelProxy.attribution: \"team\" is not one of"));

  // The reader: an unknown agent, an agent whose gateway is not proxied, and agent limits without
  // attribution "agent" — each with file:line:col and the key path.
  auto inv = Inventory::parse(inventoryText(R"(
  gateways: {
    a: { port: 19001, stateDir: "/tmp/pa", workspaceRoot: "/tmp/pa-ws" },
    b: { port: 19002, stateDir: "/tmp/pb", workspaceRoot: "/tmp/pb-ws" },
  },
  agents: { helper: { gateway: "a", kind: "use-case" }, other: { gateway: "b", kind: "use-case" } },
  modelProxy: {
    gateways: ["a"],
    limits: { agents: {
      ghost: { dailyUsd: 1 },
      other: { dailyUsd: 1 },
      helper: { dailyUsd: 1 },
    } },
  },
)"),
                              "/org/fleet.json5");
  ASSERT_FALSE(inv);
  const std::string& m = inv.error().message;
  EXPECT_THAT(m, HasSubstr("fleet.json5:12:7: modelProxy.limits.agents.ghost: unknown agent \"ghost\""));
  EXPECT_THAT(m, HasSubstr("fleet.json5:13:7: modelProxy.limits.agents.other: agent \"other\" is on gateway \"b\", "
                           "which is not in modelProxy.gateways"));
  EXPECT_THAT(m, HasSubstr("fleet.json5:11:15: modelProxy.limits.agents: agents' limits need "
                           "modelProxy.attribution: \"agent\""));
  EXPECT_THAT(m, ::testing::Not(HasSubstr("limits.agents.helper"))) << "helper's own entry is fine";
}

TEST(ModelProxyRenderTest, PerAgentAttributionGivesEachAgentItsProviderEntryAndKey) {
  EffectiveFleet fleet = proxyFleet(kAgentProxyInventory);
  auto renders = renderFleet(fleet);
  const RenderedGateway& a = renders[0];
  ASSERT_EQ(a.id, "a");
  const json::object& providers = a.config.at("models").at("providers").as_object();
  ASSERT_EQ(providers.size(), 2u) << a.text;
  const json::object& helper = providers.at("up--helper").as_object();
  EXPECT_EQ(helper.at("baseUrl"), "http://127.0.0.1:18800/providers/up");
  EXPECT_EQ(helper.at("apiKey"), "${TALON_FLEET_PROXY_KEY_A__HELPER}");
  EXPECT_EQ(helper.at("api"), "openai-completions");
  EXPECT_EQ(toJson(helper.at("models")), R"([{"id":"small","name":"small"}])");
  EXPECT_EQ(providers.at("up--boss").at("apiKey"), "${TALON_FLEET_PROXY_KEY_A__BOSS}");
  EXPECT_EQ(toJson(providers.at("up--boss").at("models")), R"([{"id":"mid","name":"mid"}])");
  const json::object& entries = a.config.at("agents").at("entries").as_object();
  EXPECT_EQ(entries.at("helper").at("model"), "up--helper/small");
  EXPECT_EQ(entries.at("boss").at("model"), "up--boss/mid");
  EXPECT_THAT(a.text, ::testing::Not(HasSubstr("UP_REAL_KEY")));
  EXPECT_THAT(a.text, ::testing::Not(HasSubstr("${TALON_FLEET_PROXY_KEY_A}")));
  // b is not proxied: its agent's model is rendered as written.
  EXPECT_EQ(renders[1].config.at("agents").at("entries").at("other").at("model"), "other/x");
  EXPECT_FALSE(renders[1].config.contains("models"));
  // `apply` requires every variable a render references (fleet_apply.cpp, missingEnvironment): the agents'.
  EXPECT_THAT(referencedEnvironmentVariables(a.text),
              ::testing::IsSupersetOf({"TALON_FLEET_PROXY_KEY_A__HELPER", "TALON_FLEET_PROXY_KEY_A__BOSS"}));

  // attribution "gateway", written or not, renders byte-identically to an inventory without the key.
  std::string gatewayText = kProxyInventory;
  gatewayText.replace(gatewayText.find("driftIntervalSeconds: 5,"), 24,
                      "driftIntervalSeconds: 5, attribution: \"gateway\",");
  auto withKey = renderFleet(proxyFleet(gatewayText));
  auto without = renderFleet(proxyFleet());
  ASSERT_EQ(withKey.size(), without.size());
  for (std::size_t i = 0; i < without.size(); ++i) EXPECT_EQ(withKey[i].text, without[i].text);
}

// Golden files: tests/data/fleet/proxy-agent/<gatewayId>/openclaw.json beside its fleet.json5 (an OpenClaw
// and a Talon gateway; tests/conformance/run-fleet-render.sh validates both with their runtime).
// TALON_UPDATE_GOLDEN=1 rewrites them.
TEST(ModelProxyRenderTest, PerAgentRendersMatchTheirGoldenFiles) {
  std::filesystem::path golden = std::filesystem::path(TALON_SOURCE_DIR) / "tests" / "data" / "fleet" / "proxy-agent";
  auto inv = Inventory::load(golden / "fleet.json5");
  ASSERT_TRUE(inv) << inv.error().message;
  auto renders = renderFleet(EffectiveFleet::resolve(*inv));
  ASSERT_EQ(renders.size(), 2u);
  if (const char* update = std::getenv("TALON_UPDATE_GOLDEN"); update != nullptr && std::string(update) == "1") {
    ASSERT_TRUE(writeRenders(renders, golden));
  }
  for (const auto& r : renders) {
    auto text = readFile(golden / r.id / kRenderedConfigName);
    ASSERT_TRUE(text) << r.id << ": golden file missing (TALON_UPDATE_GOLDEN=1 writes it)";
    EXPECT_EQ(r.text, *text) << "render of " << r.id << " differs from its golden file";
  }
}

TEST(ModelProxyPolicyTest, AnAgentKeyIsDecidedByThatAgentsPolicyAlone) {
  EffectiveFleet fleet = proxyFleet(kAgentProxyInventory);
  // The gateway's key: one agent (boss) may use up/mid, so the gateway may.
  EXPECT_FALSE(proxyModelDenial(fleet, "a", "up/mid"));
  // helper's key: helper's own policy denies it, whatever boss may.
  auto helper = proxyModelDenial(fleet, "a", "up/mid", std::string("helper"));
  ASSERT_TRUE(helper);
  EXPECT_THAT(*helper, HasSubstr("up/mid"));
  EXPECT_FALSE(proxyModelDenial(fleet, "a", "up/small", std::string("helper")));
  EXPECT_FALSE(proxyModelDenial(fleet, "a", "up/mid", std::string("boss")));
  EXPECT_THAT(proxyModelDenial(fleet, "a", "up/small", std::string("other")).value_or(""),
              HasSubstr("is on gateway \"b\""));
  EXPECT_THAT(proxyModelDenial(fleet, "a", "up/small", std::string("ghost")).value_or(""),
              HasSubstr("not in the inventory"));
}

TEST(ModelProxyPreflightTest, AnUnpricedModelUnderAnAgentLimitIsFound) {
  std::string text = kAgentProxyInventory;
  text.replace(text.find("limits: { gateways: { a: { dailyUsd: 100 } }, "), 46, "limits: { ");
  text.replace(text.find(R"("up/small": { inputPerMTokUsd)"), 10, R"("up/other")");
  EffectiveFleet fleet = proxyFleet(text);
  PreflightOptions options;
  options.checkHostPorts = false;
  options.validateTalonRenders = false;
  PreflightReport report = runPreflight(fleet, renderFleet(fleet), options);
  std::vector<std::string> found;
  for (const auto& f : report.findings) {
    if (f.id == "FLEET-PROXY-UNPRICED") found.push_back(f.objects.front() + ": " + f.message);
  }
  ASSERT_EQ(found.size(), 1u) << "boss has no limit of its own and its gateway none";
  EXPECT_THAT(found[0], HasSubstr("agent:helper: agent helper has a spending limit (modelProxy.limits.agents.helper)"));
}

TEST(ProxyLedgerTest, AgentKeysRotateAndRevokeApartFromTheGatewayKey) {
  TempDir dir;
  auto ledger = ProxyLedger::open(dir.path());
  ASSERT_TRUE(ledger) << ledger.error().message;
  auto gatewayKey = (*ledger)->issue("a", 1000);
  auto helper1 = (*ledger)->issue("a", 1000, std::string("helper"));
  auto boss = (*ledger)->issue("a", 1000, std::string("boss"));
  ASSERT_TRUE(gatewayKey && helper1 && boss);
  EXPECT_EQ(helper1->info.agent, "helper");
  EXPECT_EQ(toJson(gatewayKey->info.toJson().at("agent")), "null");
  auto known = (*ledger)->authenticate(helper1->key);
  ASSERT_TRUE(known && *known);
  EXPECT_EQ((*known)->gateway, "a");
  EXPECT_EQ((*known)->agent, "helper");
  EXPECT_FALSE((*(*ledger)->authenticate(gatewayKey->key))->agent);

  // A new key for helper revokes helper's earlier key only.
  auto helper2 = (*ledger)->issue("a", 2000, std::string("helper"));
  ASSERT_TRUE(helper2);
  EXPECT_FALSE((*(*ledger)->authenticate(helper1->key))->active());
  EXPECT_TRUE((*(*ledger)->authenticate(helper2->key))->active());
  EXPECT_TRUE((*(*ledger)->authenticate(boss->key))->active());
  EXPECT_TRUE((*(*ledger)->authenticate(gatewayKey->key))->active());
  // A new gateway key leaves the agents' keys alone.
  auto gatewayKey2 = (*ledger)->issue("a", 2500);
  ASSERT_TRUE(gatewayKey2);
  EXPECT_FALSE((*(*ledger)->authenticate(gatewayKey->key))->active());
  EXPECT_TRUE((*(*ledger)->authenticate(helper2->key))->active());

  // Revoking one agent's key; then the gateway's: every key of it left.
  EXPECT_EQ(*(*ledger)->revoke("a", 3000, std::string("helper")), 1);
  EXPECT_FALSE((*(*ledger)->authenticate(helper2->key))->active());
  EXPECT_TRUE((*(*ledger)->authenticate(boss->key))->active());
  EXPECT_EQ(*(*ledger)->revoke("a", 4000), 2) << "the gateway's key and boss's";
  EXPECT_FALSE((*(*ledger)->authenticate(boss->key))->active());
  auto listed = (*ledger)->list("a");
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 5u);
  EXPECT_EQ((*listed)[1].agent, "helper");
}

TEST(ProxyLedgerTest, UsageIsSummedPerAgentAndTheGatewaySpendCountsEveryKey) {
  TempDir dir;
  auto ledger = ProxyLedger::open(dir.path());
  ASSERT_TRUE(ledger);
  auto rec = [&](int64_t t, std::optional<std::string> agent, const std::string& model, double cost) {
    UsageRecord r;
    r.timeMs = t;
    r.gateway = "a";
    r.agent = std::move(agent);
    r.keyId = "vk-1";
    r.model = model;
    r.usage = {10, 1};
    r.costUsd = cost;
    r.status = 200;
    ASSERT_TRUE((*ledger)->record(r));
  };
  rec(100, std::string("helper"), "up/small", 0.25);
  rec(200, std::string("helper"), "up/small", 0.5);
  rec(300, std::string("boss"), "up/small", 1.0);
  rec(400, std::nullopt, "up/small", 2.0);
  EXPECT_DOUBLE_EQ(*(*ledger)->agentSpentUsd("a", "helper", 0), 0.75);
  EXPECT_DOUBLE_EQ(*(*ledger)->agentSpentUsd("a", "helper", 150), 0.5);
  EXPECT_DOUBLE_EQ(*(*ledger)->agentSpentUsd("a", "boss", 0), 1.0);
  EXPECT_DOUBLE_EQ(*(*ledger)->agentSpentUsd("b", "helper", 0), 0.0);
  EXPECT_DOUBLE_EQ(*(*ledger)->spentUsd("a", 0), 3.75);

  auto byGateway = (*ledger)->usage("", 0);
  ASSERT_TRUE(byGateway);
  ASSERT_EQ(byGateway->size(), 1u);
  EXPECT_EQ((*byGateway)[0].requests, 4);
  EXPECT_FALSE((*byGateway)[0].toJson().contains("agent"));

  auto byAgent = (*ledger)->usage("a", 0, UsageGrouping::kAgent);
  ASSERT_TRUE(byAgent);
  ASSERT_EQ(byAgent->size(), 3u);
  EXPECT_FALSE((*byAgent)[0].agent) << "the gateway key's requests first";
  EXPECT_DOUBLE_EQ((*byAgent)[0].costUsd, 2.0);
  EXPECT_EQ((*byAgent)[1].agent, "boss");
  EXPECT_EQ((*byAgent)[2].agent, "helper");
  EXPECT_EQ((*byAgent)[2].requests, 2);
  EXPECT_EQ((*byAgent)[2].promptTokens, 20);
  EXPECT_EQ(toJson((*byAgent)[0].toJson(true).at("agent")), "null");
  EXPECT_EQ((*byAgent)[2].toJson(true).at("agent"), "helper");
}

TEST(ProxyLedgerTest, ALedgerOfTheFirstSchemaIsMigratedKeepingItsKeysAndUsage) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "proxy");
  const std::string file = (dir.path() / "proxy" / "proxy.sqlite").string();
  {
    // The schema as the ledger first wrote it: no agent columns.
    SQLite::Database db(file, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(R"(
CREATE TABLE virtual_keys (seq INTEGER PRIMARY KEY AUTOINCREMENT, gateway TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE, prefix TEXT NOT NULL, created_ms INTEGER NOT NULL, revoked_ms INTEGER);
CREATE INDEX virtual_keys_gateway ON virtual_keys(gateway);
CREATE TABLE usage (seq INTEGER PRIMARY KEY AUTOINCREMENT, time_ms INTEGER NOT NULL, gateway TEXT NOT NULL,
  key_id TEXT NOT NULL, model TEXT NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
  cost_usd REAL NOT NULL, status INTEGER NOT NULL, stream INTEGER NOT NULL);
CREATE INDEX usage_gateway_time ON usage(gateway, time_ms);
)");
    SQLite::Statement key(db,
                          "INSERT INTO virtual_keys (gateway, key_hash, prefix, created_ms) VALUES ('a', ?, "
                          "'oldoldol', 500)");
    key.bind(1, virtualKeyHash("tfk_oldoldoldkey"));
    key.exec();
    db.exec(
        "INSERT INTO usage (time_ms, gateway, key_id, model, prompt_tokens, completion_tokens, cost_usd, status, "
        "stream) VALUES (600, 'a', 'vk-1', 'up/small', 100, 10, 1.5, 200, 0)");
  }
  for (int round = 0; round < 2; ++round) {  // opening again finds the columns there
    auto ledger = ProxyLedger::open(dir.path());
    ASSERT_TRUE(ledger) << ledger.error().message;
    auto old = (*ledger)->authenticate("tfk_oldoldoldkey");
    ASSERT_TRUE(old && *old);
    EXPECT_EQ((*old)->keyId, "vk-1");
    EXPECT_EQ((*old)->gateway, "a");
    EXPECT_FALSE((*old)->agent) << "a key of the first schema is the gateway's";
    EXPECT_EQ((*old)->active(), round == 0);
    EXPECT_DOUBLE_EQ(*(*ledger)->spentUsd("a", 0), round == 0 ? 1.5 : 1.75);
    auto byAgent = (*ledger)->usage("a", 0, UsageGrouping::kAgent);
    ASSERT_TRUE(byAgent);
    ASSERT_FALSE(byAgent->empty());
    EXPECT_FALSE((*byAgent)[0].agent);
    EXPECT_EQ((*byAgent)[0].promptTokens, 100);
    if (round == 0) {
      // The new columns take agent keys and agent usage.
      auto agentKey = (*ledger)->issue("a", 700, std::string("helper"));
      ASSERT_TRUE(agentKey) << agentKey.error().message;
      EXPECT_EQ(agentKey->info.keyId, "vk-2");
      ASSERT_TRUE((*ledger)->revoke("a", 800, std::nullopt));
      UsageRecord r;
      r.timeMs = 900;
      r.gateway = "a";
      r.agent = "helper";
      r.keyId = "vk-2";
      r.model = "up/small";
      r.costUsd = 0.25;
      r.status = 200;
      ASSERT_TRUE((*ledger)->record(r));
    } else {
      EXPECT_DOUBLE_EQ(*(*ledger)->agentSpentUsd("a", "helper", 0), 0.25);
      EXPECT_EQ((*(*ledger)->list("a"))[1].agent, "helper");
    }
  }
}

/// An OpenAI chat-completions upstream on loopback (https://platform.openai.com/docs/api-reference/chat)
/// answering every request with a fixed usage, and the proxy in front of it with per-agent attribution:
/// helper's daily limit (0.001 USD) is below one answer's cost (1000 × 0.5 + 500 × 1.25 per MTok =
/// 0.001125 USD), the gateway's (100 USD) far above.
class AgentProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    net::ServerOptions upstreamOptions;
    upstreamOptions.bindAddresses = {"127.0.0.1"};
    upstreamOptions.port = 0;
    net::ServerHandlers upstreamHandlers;
    upstreamHandlers.onHttp = [this](net::HttpExchangePtr exchange) {
      const auto& req = exchange->request();
      {
        std::lock_guard lock(mutex_);
        upstreamAuthorizations_.push_back(std::string(req.header("authorization")));
      }
      exchange->respond({200,
                         "application/json",
                         {},
                         R"({"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":)"
                         R"({"role":"assistant","content":"ok"},"finish_reason":"stop"}],)"
                         R"("usage":{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500}})"});
    };
    auto upstream = net::Server::create(io_, upstreamOptions, upstreamHandlers);
    ASSERT_TRUE(upstream) << upstream.error().message;
    upstream_ = std::move(*upstream);

    inventory_ = kAgentProxyInventory;
    inventory_.replace(inventory_.find("http://127.0.0.1:9/v1"), 21,
                       "http://127.0.0.1:" + std::to_string(upstream_->port()));
    auto inv = Inventory::parse(inventoryText(inventory_), "/org/fleet.json5");
    ASSERT_TRUE(inv) << inv.error().message;
    auto ledger = ProxyLedger::open(dir_.path());
    ASSERT_TRUE(ledger);
    ledger_ = std::shared_ptr<ProxyLedger>(std::move(*ledger));
    for (const char* agent : {"helper", "boss"}) {
      auto key = ledger_->issue("a", 1000, std::string(agent));
      ASSERT_TRUE(key);
      keys_[agent] = key->key;
    }
    auto gatewayKey = ledger_->issue("a", 1000);
    ASSERT_TRUE(gatewayKey);
    keys_["gateway"] = gatewayKey->key;
    auto otherKey = ledger_->issue("b", 1000, std::string("other"));
    ASSERT_TRUE(otherKey);
    keys_["other"] = otherKey->key;
    ModelProxyOptions options;
    options.fleet = std::make_shared<const EffectiveFleet>(EffectiveFleet::resolve(*inv));
    options.upstreamKeys = {{"up", "sk-real-canary"}};
    options.ledger = ledger_;
    options.clock = std::make_shared<SimulatedClock>(1773582300000);
    auto proxy = ModelProxy::create(io_, std::move(options));
    ASSERT_TRUE(proxy) << proxy.error().message;
    proxy_ = std::move(*proxy);
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (proxy_) proxy_->stop();
    if (upstream_) upstream_->stop();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  net::SimpleHttpResponse chat(const std::string& holder, const std::string& model) {
    auto r = net::httpRequest(
        "POST", "http://127.0.0.1:" + std::to_string(proxy_->port()) + "/providers/up/chat/completions",
        {{"authorization", "Bearer " + keys_.at(holder)}, {"content-type", "application/json"}},
        R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hi"}]})", std::chrono::seconds(10));
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : net::SimpleHttpResponse{};
  }

  std::size_t upstreamCalls() {
    std::lock_guard lock(mutex_);
    return upstreamAuthorizations_.size();
  }

  /// What `fleet serve` does on SIGHUP: the proxy decides new requests with `text` (an inventory's members).
  void reload(const std::string& text) {
    auto inv = Inventory::parse(inventoryText(text), "/org/fleet.json5");
    ASSERT_TRUE(inv) << inv.error().message;
    ASSERT_TRUE(proxy_->reload(std::make_shared<const EffectiveFleet>(EffectiveFleet::resolve(*inv)),
                               {{"up", "sk-real-canary"}}));
  }

  TempDir dir_;
  std::string inventory_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ = boost::asio::make_work_guard(io_);
  net::ServerPtr upstream_;
  std::unique_ptr<ModelProxy> proxy_;
  std::shared_ptr<ProxyLedger> ledger_;
  std::map<std::string, std::string> keys_;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> upstreamAuthorizations_;
};

TEST_F(AgentProxyTest, EachAgentKeyIsAuthenticatedPolicedLimitedAndRecordedApart) {
  // helper's first call passes (nothing spent yet) and spends past its daily limit.
  auto first = chat("helper", "small");
  EXPECT_EQ(first.status, 200) << first.body;
  // helper is cut off by its own limit; the gateway's limit is far from reached.
  auto cut = chat("helper", "small");
  EXPECT_EQ(cut.status, 429) << cut.body;
  auto error = parseJson(cut.body);
  ASSERT_TRUE(error) << cut.body;
  EXPECT_EQ(error->at("error").at("code"), "insufficient_quota");
  EXPECT_THAT(std::string(error->at("error").at("message").as_string()),
              HasSubstr("Agent \"helper\" of gateway \"a\" reached its daily spending limit "
                        "(modelProxy.limits.agents.helper.dailyUsd: 0.001125 of 0.001000 USD)"));
  // boss, on the same gateway, goes on; so does the gateway's own key.
  EXPECT_EQ(chat("boss", "mid").status, 200);
  EXPECT_EQ(chat("boss", "mid").status, 200);
  EXPECT_EQ(chat("gateway", "small").status, 200);
  // Policy per agent: helper may not use up/mid (its deny rule), though boss and the gateway key may.
  auto denied = chat("helper", "mid");
  EXPECT_EQ(denied.status, 403) << denied.body;
  EXPECT_EQ(parseJson(denied.body)->at("error").at("code"), "model_not_allowed");
  EXPECT_THAT(denied.body, HasSubstr("agent \\\"helper\\\" of gateway \\\"a\\\""));
  EXPECT_EQ(chat("gateway", "mid").status, 200);
  // An agent of a gateway that is not proxied, and a revoked agent key.
  EXPECT_EQ(chat("other", "x").status, 403);
  ASSERT_TRUE(ledger_->revoke("a", 2000, std::string("boss")));
  auto revoked = chat("boss", "mid");
  EXPECT_EQ(revoked.status, 401) << revoked.body;
  EXPECT_EQ(upstreamCalls(), 5u) << "refused requests never reach the upstream";
  for (const auto& seen : upstreamAuthorizations_) EXPECT_EQ(seen, "Bearer sk-real-canary");

  auto usage = ledger_->usage("a", 0, UsageGrouping::kAgent);
  ASSERT_TRUE(usage);
  std::vector<std::string> rows;
  for (const auto& u : *usage) rows.push_back(u.agent.value_or("-") + " " + u.model + " " + std::to_string(u.requests));
  EXPECT_THAT(rows, ::testing::ElementsAre("- up/mid 1", "- up/small 1", "boss up/mid 2", "helper up/small 1"));
  EXPECT_DOUBLE_EQ(*ledger_->agentSpentUsd("a", "helper", 0), 0.001125);
  EXPECT_DOUBLE_EQ(*ledger_->spentUsd("a", 0), 5 * 0.001125);
}

TEST_F(AgentProxyTest, AReloadAppliesNewAgentLimitsPolicyAndAttribution) {
  ASSERT_EQ(chat("helper", "small").status, 200);
  ASSERT_EQ(chat("helper", "small").status, 429);
  auto edited = [](std::string text, const std::string& from, const std::string& to) {
    std::size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
  };
  // A higher limit for helper and no deny rule: helper goes on, and may use up/mid.
  std::string raised = edited(inventory_, "helper: { dailyUsd: 0.001", "helper: { dailyUsd: 1");
  raised = edited(raised, R"(, policy: { models: { deny: ["up/mid"] } })", "");
  reload(raised);
  EXPECT_EQ(chat("helper", "small").status, 200);
  EXPECT_EQ(chat("helper", "mid").status, 200);
  // helper moved to gateway b: its key no longer speaks for an agent of a.
  std::string moved = edited(raised, R"(helper: { gateway: "a")", R"(helper: { gateway: "b")");
  moved = edited(moved, "agents: { helper: { dailyUsd: 1, monthlyUsd: 5 } }", "agents: {}");
  reload(moved);
  auto gone = chat("helper", "small");
  EXPECT_EQ(gone.status, 403) << gone.body;
  EXPECT_EQ(parseJson(gone.body)->at("error").at("code"), "agent_not_proxied");
}

}  // namespace
}  // namespace talon::fleet
