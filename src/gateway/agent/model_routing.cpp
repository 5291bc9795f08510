#include "gateway/agent/model_routing.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/clock.h"

namespace talon::gateway {

namespace {

constexpr std::string_view kRoutingStrategyNames[] = {"ordered", "latency", "cost", "health"};

std::string routedRef(const RoutedCandidate& c) { return c.providerId + "/" + c.model; }

/// The health entry of a candidate; nullptr when it has made no call yet.
const health::ProviderModelHealth* routingHealthOf(const std::vector<health::ProviderModelHealth>& health,
                                                   const std::string& providerId, const std::string& model) {
  for (const auto& h : health) {
    if (h.providerId == providerId && h.model == model) return &h;
  }
  return nullptr;
}

/// "no calls yet" or "3 calls < minCalls 5" for a candidate whose numbers are not trusted yet.
std::string untrustedCalls(const health::ProviderModelHealth* h, int64_t minCalls) {
  if (h == nullptr || h->calls == 0) return "no calls yet";
  return fmt::format("{} call{} < minCalls {}", h->calls, h->calls == 1 ? "" : "s", minCalls);
}

/// A candidate being ranked: its group (earlier groups first), its key within the group (lower first;
/// equal keys keep chain order).
struct RankedCandidate {
  RoutedCandidate out;
  int group = 0;
  double key = 0;
};

void rankByLatency(std::vector<RankedCandidate>& ranked, const RoutingPolicy& policy,
                   const std::vector<health::ProviderModelHealth>& health) {
  const int64_t slo = policy.latencySloMs.value_or(0);
  for (auto& r : ranked) {
    const auto* h = routingHealthOf(health, r.out.providerId, r.out.model);
    if (h == nullptr || h->calls < policy.minCalls) {
      r.out.reason = untrustedCalls(h, policy.minCalls) + ": latency unknown, counted as within the SLO";
      continue;
    }
    r.out.score = static_cast<double>(h->p95Ms);
    if (!policy.latencySloMs) {  // the config requires one for "latency"; without it the chain keeps its order
      r.out.reason = fmt::format("p95 {} ms ({} calls); no latencySloMs", h->p95Ms, h->calls);
      continue;
    }
    const bool over = h->p95Ms > slo;
    r.out.reason =
        fmt::format("p95 {} ms ({} calls) {} the {} ms SLO", h->p95Ms, h->calls, over ? "over" : "within", slo);
    if (over) {
      r.group = 1;
      r.key = static_cast<double>(h->p95Ms);
    }
  }
}

void rankByCost(std::vector<RankedCandidate>& ranked, const RoutingPolicy& policy,
                const std::map<std::string, ProviderIdentity>& prices) {
  for (auto& r : ranked) {
    const config::ModelCost* cost = nullptr;
    if (auto p = prices.find(r.out.providerId); p != prices.end()) {
      if (auto c = p->second.costs.find(r.out.model); c != p->second.costs.end()) cost = &c->second;
    }
    if (cost == nullptr) {
      r.group = 1;
      r.out.reason = fmt::format("no price (models.providers.{}.models[].cost): after the priced candidates{}",
                                 r.out.providerId, policy.maxCostPerMTokUsd ? " within the ceiling" : "");
      continue;
    }
    const double price = cost->input + cost->output;
    r.out.score = price;
    r.key = price;
    r.out.reason = fmt::format("${:g}/MTok (input {:g} + output {:g})", price, cost->input, cost->output);
    if (policy.maxCostPerMTokUsd) {
      const bool over = price > *policy.maxCostPerMTokUsd;
      r.out.reason += fmt::format(" {} the ${:g}/MTok ceiling", over ? "over" : "within", *policy.maxCostPerMTokUsd);
      if (over) r.group = 2;
    }
  }
}

void rankByHealth(std::vector<RankedCandidate>& ranked, const RoutingPolicy& policy,
                  const std::vector<health::ProviderModelHealth>& health, int64_t nowMs) {
  for (auto& r : ranked) {
    const auto* h = routingHealthOf(health, r.out.providerId, r.out.model);
    const bool trusted = h != nullptr && h->calls >= policy.minCalls;
    if (trusted) r.out.score = h->errorRate;
    if (h != nullptr && h->cooldownUntilMs > nowMs) {
      r.group = 1;
      r.out.reason = "in cooldown until " + formatRfc3339(h->cooldownUntilMs) +
                     (h->lastReason.empty() ? std::string() : " (" + h->lastReason + ")");
      continue;
    }
    if (!trusted) {
      r.out.reason = untrustedCalls(h, policy.minCalls) + ": counted as healthy";
      continue;
    }
    r.key = h->errorRate;
    r.out.reason = fmt::format("error rate {:.3g}% ({} of {} calls)", h->errorRate * 100, h->errors, h->calls);
  }
}

}  // namespace

std::string_view routingStrategyName(RoutingStrategy strategy) {
  return kRoutingStrategyNames[static_cast<std::size_t>(strategy)];
}

std::optional<RoutingStrategy> parseRoutingStrategy(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kRoutingStrategyNames); ++i) {
    if (kRoutingStrategyNames[i] == name) return static_cast<RoutingStrategy>(i);
  }
  return std::nullopt;
}

RoutingPolicy effectiveRoutingPolicy(const config::RoutingConfig& defaults, const config::RoutingConfig* entry) {
  auto pick = [&](auto member) {
    return entry != nullptr && (entry->*member).has_value() ? entry->*member : defaults.*member;
  };
  RoutingPolicy policy;
  if (auto s = pick(&config::RoutingConfig::strategy)) {
    policy.strategy = parseRoutingStrategy(*s).value_or(RoutingStrategy::kOrdered);
  }
  policy.latencySloMs = pick(&config::RoutingConfig::latencySloMs);
  policy.maxCostPerMTokUsd = pick(&config::RoutingConfig::maxCostPerMTokUsd);
  if (auto m = pick(&config::RoutingConfig::minCalls)) policy.minCalls = *m;
  return policy;
}

json::object RoutingDecision::toJson() const {
  json::object p{{"minCalls", policy.minCalls}};
  if (policy.latencySloMs) p["latencySloMs"] = *policy.latencySloMs;
  if (policy.maxCostPerMTokUsd) p["maxCostPerMTokUsd"] = *policy.maxCostPerMTokUsd;
  json::array list;
  for (const auto& c : candidates) {
    list.push_back(json::object{{"provider", c.providerId},
                                {"model", c.model},
                                {"chainIndex", c.chainIndex},
                                {"score", c.score ? json::value(*c.score) : json::value(nullptr)},
                                {"reason", c.reason}});
  }
  json::object o{{"strategy", routingStrategyName(policy.strategy)},
                 {"applied", bypass == RoutingBypass::kNone},
                 {"chosen", candidates.empty() ? std::string() : routedRef(candidates.front())},
                 {"summary", summary},
                 {"policy", std::move(p)},
                 {"candidates", std::move(list)}};
  if (bypass != RoutingBypass::kNone) {
    o["bypass"] = bypass == RoutingBypass::kStrictModel ? "strict_model" : "model_override";
  }
  return o;
}

RoutingDecision routeModelChain(const std::vector<std::pair<std::string, std::string>>& chain,
                                const RoutingPolicy& policy, RoutingBypass bypass,
                                const std::vector<health::ProviderModelHealth>& health,
                                const std::map<std::string, ProviderIdentity>& prices, int64_t nowMs) {
  RoutingDecision decision;
  decision.policy = policy;
  decision.bypass = bypass;
  std::vector<RankedCandidate> ranked;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    RankedCandidate r;
    r.out.providerId = chain[i].first;
    r.out.model = chain[i].second;
    r.out.chainIndex = i;
    r.out.reason = i == 0 ? "primary" : fmt::format("fallback {}", i);
    ranked.push_back(std::move(r));
  }
  if (bypass == RoutingBypass::kNone) {
    switch (policy.strategy) {
      case RoutingStrategy::kOrdered:
        break;
      case RoutingStrategy::kLatency:
        rankByLatency(ranked, policy, health);
        break;
      case RoutingStrategy::kCost:
        rankByCost(ranked, policy, prices);
        break;
      case RoutingStrategy::kHealth:
        rankByHealth(ranked, policy, health, nowMs);
        break;
    }
    std::stable_sort(ranked.begin(), ranked.end(), [](const RankedCandidate& a, const RankedCandidate& b) {
      return a.group != b.group ? a.group < b.group : a.key < b.key;
    });
  }
  for (auto& r : ranked) decision.candidates.push_back(std::move(r.out));
  if (decision.candidates.empty()) return decision;

  const RoutedCandidate& chosen = decision.candidates.front();
  if (bypass == RoutingBypass::kStrictModel) {
    decision.summary = "strict model selection (no fallbacks to choose from): routing does not apply";
  } else if (bypass == RoutingBypass::kModelOverride) {
    decision.summary = "model override for this session or request (strict): routing does not apply";
  } else if (policy.strategy == RoutingStrategy::kOrdered) {
    decision.summary = "configured order (strategy \"ordered\")";
  } else if (chosen.chainIndex == 0) {
    decision.summary = "the primary leads: " + chosen.reason;
  } else {
    const auto primary = std::find_if(decision.candidates.begin(), decision.candidates.end(),
                                      [](const RoutedCandidate& c) { return c.chainIndex == 0; });
    decision.summary = chosen.reason + "; primary " + routedRef(*primary) + ": " + primary->reason;
  }
  return decision;
}

}  // namespace talon::gateway
