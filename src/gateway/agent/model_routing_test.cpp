// The routing policy's pure ordering (docs/providers.md "Routing"): each strategy, ties, unknown data,
// strict selections and overrides.
#include "gateway/agent/model_routing.h"

#include <gtest/gtest.h>

namespace talon::gateway {
namespace {

using Chain = std::vector<std::pair<std::string, std::string>>;

const Chain kRoutingChain{{"fast", "a"}, {"cheap", "b"}, {"big", "c"}};
constexpr int64_t kRoutingNowMs = 1'700'000'000'000;

health::ProviderModelHealth routingHealth(std::string provider, std::string model, int64_t calls, int64_t p95Ms,
                                          int64_t errors = 0, int64_t cooldownUntilMs = 0) {
  health::ProviderModelHealth h;
  h.providerId = std::move(provider);
  h.model = std::move(model);
  h.calls = calls;
  h.errors = errors;
  h.errorRate = calls > 0 ? static_cast<double>(errors) / static_cast<double>(calls) : 0;
  h.p95Ms = p95Ms;
  h.cooldownUntilMs = cooldownUntilMs;
  return h;
}

std::vector<std::string> routedOrder(const RoutingDecision& d) {
  std::vector<std::string> out;
  for (const auto& c : d.candidates) out.push_back(c.providerId + "/" + c.model);
  return out;
}

RoutingPolicy routingPolicyOf(RoutingStrategy strategy) {
  RoutingPolicy p;
  p.strategy = strategy;
  return p;
}

std::map<std::string, ProviderIdentity> routingPrices() {
  std::map<std::string, ProviderIdentity> prices;
  prices["fast"].costs["a"] = config::ModelCost{3, 15, 0, 0};      // 18
  prices["cheap"].costs["b"] = config::ModelCost{0.5, 1.5, 0, 0};  // 2
  prices["big"].costs["c"] = config::ModelCost{15, 60, 0, 0};      // 75
  return prices;
}

TEST(ModelRouting, OrderedKeepsTheConfiguredChain) {
  auto d = routeModelChain(kRoutingChain, routingPolicyOf(RoutingStrategy::kOrdered), RoutingBypass::kNone,
                           {routingHealth("fast", "a", 50, 9000, 40)}, routingPrices(), kRoutingNowMs);
  EXPECT_EQ(routedOrder(d), (std::vector<std::string>{"fast/a", "cheap/b", "big/c"}));
  EXPECT_EQ(d.candidates[0].reason, "primary");
  EXPECT_EQ(d.candidates[2].reason, "fallback 2");
  EXPECT_FALSE(d.candidates[0].score);
  EXPECT_EQ(d.summary, "configured order (strategy \"ordered\")");
}

TEST(ModelRouting, LatencyPutsCandidatesOverTheSloLastByP95AndUnknownCountsAsWithin) {
  RoutingPolicy p = routingPolicyOf(RoutingStrategy::kLatency);
  p.latencySloMs = 2000;
  Chain chain{{"fast", "a"}, {"cheap", "b"}, {"big", "c"}, {"new", "d"}};
  std::vector<health::ProviderModelHealth> health{
      routingHealth("fast", "a", 10, 5000),   // over
      routingHealth("cheap", "b", 10, 3000),  // over, lower p95
      routingHealth("big", "c", 2, 9000),     // too few calls: unknown
  };
  auto d = routeModelChain(chain, p, RoutingBypass::kNone, health, {}, kRoutingNowMs);
  EXPECT_EQ(routedOrder(d), (std::vector<std::string>{"big/c", "new/d", "cheap/b", "fast/a"}));
  EXPECT_EQ(d.candidates[0].reason, "2 calls < minCalls 5: latency unknown, counted as within the SLO");
  EXPECT_EQ(d.candidates[1].reason, "no calls yet: latency unknown, counted as within the SLO");
  EXPECT_EQ(d.candidates[2].reason, "p95 3000 ms (10 calls) over the 2000 ms SLO");
  ASSERT_TRUE(d.candidates[2].score);
  EXPECT_EQ(*d.candidates[2].score, 3000);
  EXPECT_FALSE(d.candidates[0].score);
  EXPECT_EQ(d.summary,
            "2 calls < minCalls 5: latency unknown, counted as within the SLO; primary fast/a: p95 5000 ms (10 calls) "
            "over the 2000 ms SLO");
}

TEST(ModelRouting, LatencyKeepsChainOrderAmongCandidatesWithinTheSlo) {
  RoutingPolicy p = routingPolicyOf(RoutingStrategy::kLatency);
  p.latencySloMs = 2000;
  p.minCalls = 3;
  std::vector<health::ProviderModelHealth> health{routingHealth("fast", "a", 3, 1900),
                                                  routingHealth("cheap", "b", 3, 100)};
  auto d = routeModelChain(kRoutingChain, p, RoutingBypass::kNone, health, {}, kRoutingNowMs);
  EXPECT_EQ(routedOrder(d), (std::vector<std::string>{"fast/a", "cheap/b", "big/c"}));
  EXPECT_EQ(d.summary, "the primary leads: p95 1900 ms (3 calls) within the 2000 ms SLO");
}

TEST(ModelRouting, LatencyTiesOverTheSloKeepChainOrder) {
  RoutingPolicy p = routingPolicyOf(RoutingStrategy::kLatency);
  p.latencySloMs = 100;
  std::vector<health::ProviderModelHealth> health{
      routingHealth("fast", "a", 5, 700), routingHealth("cheap", "b", 5, 700), routingHealth("big", "c", 5, 300)};
  auto d = routeModelChain(kRoutingChain, p, RoutingBypass::kNone, health, {}, kRoutingNowMs);
  EXPECT_EQ(routedOrder(d), (std::vector<std::string>{"big/c", "fast/a", "cheap/b"}));
}

TEST(ModelRouting, CostOrdersByPriceWithinTheCeilingThenUnpricedThenOverTheCeiling) {
  RoutingPolicy p = routingPolicyOf(RoutingStrategy::kCost);
  p.maxCostPerMTokUsd = 20;
  Chain chain{{"big", "c"}, {"unpriced", "x"}, {"fast", "a"}, {"cheap", "b"}};
  auto d = routeModelChain(chain, p, RoutingBypass::kNone, {}, routingPrices(), kRoutingNowMs);
  EXPECT_EQ(routedOrder(d), (std::vector<std::string>{"cheap/b", "fast/a", "unpriced/x", "big/c"}));
  EXPECT_EQ(d.candidates[0].reason, "$2/MTok (input 0.5 + output 1.5) within the $20/MTok ceiling");
  EXPECT_EQ(d.candidates[2].reason,
            "no price (models.providers.unpriced.models[].cost): after the priced candidates within the ceiling");
  EXPECT_FALSE(d.candidates[2].score);
  EXPECT_EQ(d.candidates[3].reason, "$75/MTok (input 15 + output 60) over the $20/MTok ceiling");
  ASSERT_TRUE(d.candidates[3].score);
  EXPECT_EQ(*d.candidates[3].score, 75);
  EXPECT_EQ(d.candidates[3].chainIndex, 0u);
  EXPECT_EQ(d.summary,
            "$2/MTok (input 0.5 + output 1.5) within the $20/MTok ceiling; primary big/c: $75/MTok (input 15 + output "
            "60) over the $20/MTok ceiling");
}

TEST(ModelRouting, CostWithoutACeilingOrdersEveryPricedCandidateAndTiesKeepChainOrder) {
  auto prices = routingPrices();
  prices["fast"].costs["a"] = config::ModelCost{1, 1, 0, 0};  // 2, as cheap/b
  auto d = routeModelChain(kRoutingChain, routingPolicyOf(RoutingStrategy::kCost), RoutingBypass::kNone, {}, prices,
                           kRoutingNowMs);
  EXPECT_EQ(routedOrder(d), (std::vector<std::string>{"fast/a", "cheap/b", "big/c"}));
  EXPECT_EQ(d.candidates[2].reason, "$75/MTok (input 15 + output 60)");
}

TEST(ModelRouting, HealthOrdersByErrorRateAndPutsCooldownsLast) {
  RoutingPolicy p = routingPolicyOf(RoutingStrategy::kHealth);
  Chain chain{{"fast", "a"}, {"cheap", "b"}, {"big", "c"}, {"new", "d"}};
  std::vector<health::ProviderModelHealth> health{
      routingHealth("fast", "a", 20, 100, 0, kRoutingNowMs + 30'000),  // in cooldown
      routingHealth("cheap", "b", 20, 100, 5),                         // 25 %
      routingHealth("big", "c", 20, 100, 1),                           // 5 %
  };
  health[0].lastReason = "rate_limit";
  auto d = routeModelChain(chain, p, RoutingBypass::kNone, health, {}, kRoutingNowMs);
  EXPECT_EQ(routedOrder(d), (std::vector<std::string>{"new/d", "big/c", "cheap/b", "fast/a"}));
  EXPECT_EQ(d.candidates[0].reason, "no calls yet: counted as healthy");
  EXPECT_EQ(d.candidates[1].reason, "error rate 5% (1 of 20 calls)");
  EXPECT_EQ(d.candidates[2].reason, "error rate 25% (5 of 20 calls)");
  EXPECT_EQ(d.candidates[3].reason, "in cooldown until 2023-11-14T22:13:50Z (rate_limit)");
}

TEST(ModelRouting, HealthTiesAndAnEndedCooldownKeepChainOrder) {
  RoutingPolicy p = routingPolicyOf(RoutingStrategy::kHealth);
  std::vector<health::ProviderModelHealth> health{
      routingHealth("fast", "a", 10, 100, 1, kRoutingNowMs - 1),  // cooldown over
      routingHealth("cheap", "b", 10, 100, 1),
      routingHealth("big", "c", 4, 100, 4),  // 4 calls < 5: not trusted, counted as 0
  };
  auto d = routeModelChain(kRoutingChain, p, RoutingBypass::kNone, health, {}, kRoutingNowMs);
  EXPECT_EQ(routedOrder(d), (std::vector<std::string>{"big/c", "fast/a", "cheap/b"}));
  EXPECT_EQ(d.candidates[0].reason, "4 calls < minCalls 5: counted as healthy");
}

TEST(ModelRouting, AStrictModelOrAnOverrideIsNotRoutedAndTheDecisionSaysSo) {
  RoutingPolicy p = routingPolicyOf(RoutingStrategy::kCost);
  auto strict = routeModelChain({{"big", "c"}}, p, RoutingBypass::kStrictModel, {}, routingPrices(), kRoutingNowMs);
  EXPECT_EQ(routedOrder(strict), (std::vector<std::string>{"big/c"}));
  EXPECT_EQ(strict.summary, "strict model selection (no fallbacks to choose from): routing does not apply");
  auto json = strict.toJson();
  EXPECT_EQ(json.at("applied"), json::value(false));
  EXPECT_EQ(json.at("bypass"), json::value("strict_model"));
  EXPECT_EQ(json.at("strategy"), json::value("cost"));

  auto override = routeModelChain({{"big", "c"}}, p, RoutingBypass::kModelOverride, {}, routingPrices(), kRoutingNowMs);
  EXPECT_EQ(override.summary, "model override for this session or request (strict): routing does not apply");
  EXPECT_EQ(override.toJson().at("bypass"), json::value("model_override"));
}

TEST(ModelRouting, TheDecisionAsJsonNamesTheChosenModelThePolicyAndEveryCandidate) {
  RoutingPolicy p = routingPolicyOf(RoutingStrategy::kCost);
  p.maxCostPerMTokUsd = 20;
  auto d = routeModelChain(kRoutingChain, p, RoutingBypass::kNone, {}, routingPrices(), kRoutingNowMs);
  auto j = d.toJson();
  EXPECT_EQ(j.at("chosen"), json::value("cheap/b"));
  EXPECT_EQ(j.at("applied"), json::value(true));
  EXPECT_FALSE(j.contains("bypass"));
  const auto& policy = j.at("policy").as_object();
  EXPECT_EQ(policy.at("maxCostPerMTokUsd"), json::value(20.0));
  EXPECT_EQ(policy.at("minCalls"), json::value(5));
  EXPECT_FALSE(policy.contains("latencySloMs"));
  const auto& candidates = j.at("candidates").as_array();
  ASSERT_EQ(candidates.size(), 3u);
  EXPECT_EQ(candidates[0].as_object().at("chainIndex"), json::value(1));
  EXPECT_EQ(candidates[0].as_object().at("score"), json::value(2.0));
}

TEST(ModelRouting, PerAgentKeysReplaceTheDefaultsOneByOne) {
  config::RoutingConfig defaults;
  defaults.strategy = "latency";
  defaults.latencySloMs = 1500;
  defaults.minCalls = 10;
  config::RoutingConfig entry;
  entry.latencySloMs = 800;
  RoutingPolicy p = effectiveRoutingPolicy(defaults, &entry);
  EXPECT_EQ(p.strategy, RoutingStrategy::kLatency);
  EXPECT_EQ(p.latencySloMs, 800);
  EXPECT_EQ(p.minCalls, 10);
  EXPECT_FALSE(p.maxCostPerMTokUsd);
  RoutingPolicy none = effectiveRoutingPolicy({}, nullptr);
  EXPECT_EQ(none.strategy, RoutingStrategy::kOrdered);
  EXPECT_EQ(none.minCalls, 5);
}

}  // namespace
}  // namespace talon::gateway
