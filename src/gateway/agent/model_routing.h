#pragma once
// The routing policy (Talon-only `agents.defaults.routing` / `agents.entries.<id>.routing`; docs/providers.md
// "Routing"): before a turn's first model call, its candidate chain (the primary, then `fallbacks`,
// deduplicated) is reordered by latency, price or health. Routing only reorders: no model outside the chain
// is ever chosen and none is dropped (`modelPolicy.allow` governs overrides, which bypass routing). Every
// decision carries, per candidate, the value it ranked by and a one-line reason, plus a summary of why the
// first model leads; the run record keeps it (docs/runs.md "Routing").
// Pure functions: no clock (the caller passes now), no threads, no I/O.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/json.h"
#include "config/config_model.h"
#include "gateway/health/provider_health.h"
#include "gateway/providers/provider_identity.h"

namespace talon::gateway {

/// How a chain is ordered. kOrdered keeps the configured order (OpenClaw's behaviour).
enum class RoutingStrategy { kOrdered, kLatency, kCost, kHealth };

/// "ordered", "latency", "cost", "health".
std::string_view routingStrategyName(RoutingStrategy strategy);
/// The strategy of a name given by routingStrategyName(); nullopt for any other text.
std::optional<RoutingStrategy> parseRoutingStrategy(std::string_view name);

/// One agent's effective routing policy.
struct RoutingPolicy {
  RoutingStrategy strategy = RoutingStrategy::kOrdered;
  /// latency: the p95 a candidate must stay at or under, in ms (> 0). Required by "latency".
  std::optional<int64_t> latencySloMs;
  /// cost: the most a candidate may cost, input + output price in USD per million tokens (> 0);
  /// nullopt: no ceiling (candidates are still ordered by price).
  std::optional<double> maxCostPerMTokUsd;
  /// latency, health: calls in the health window before a candidate's numbers are trusted (>= 1).
  int64_t minCalls = 5;
};

/// The policy of agent `entry` (nullptr: an agent without an entry): each key its `routing` sets
/// replaces the defaults' one (as `spendLimit`); unset keys take the defaults' value, then the built-in
/// default ("ordered", minCalls 5). The config reader has validated the values.
RoutingPolicy effectiveRoutingPolicy(const config::RoutingConfig& defaults, const config::RoutingConfig* entry);

/// Why routing did not reorder the chain.
enum class RoutingBypass {
  kNone,           // routing applies
  kStrictModel,    // the agent's `model` has no fallbacks (a strict selection), or they all repeat the primary
  kModelOverride,  // a per-session or per-request model override (strict, OpenClaw's rule)
};

/// One candidate of a routed chain.
struct RoutedCandidate {
  std::string providerId;
  std::string model;
  std::size_t chainIndex = 0;  // its place in the configured chain (0: the primary)
  /// The value the strategy ranked it by, lower first: latency: p95 in ms; cost: input + output USD per
  /// million tokens; health: error rate in the window (0..1). nullopt: unknown (too few calls, no price)
  /// or strategy "ordered".
  std::optional<double> score;
  std::string reason;  // one line, e.g. "p95 850 ms (12 calls) within the 2000 ms SLO"
};

/// What routing decided for one turn.
struct RoutingDecision {
  RoutingPolicy policy;
  RoutingBypass bypass = RoutingBypass::kNone;
  /// The chain in the order the turn walks it; candidates.front() is tried first.
  std::vector<RoutedCandidate> candidates;
  /// Why the first candidate leads (one line), e.g. "lowest p95 within the 2000 ms SLO; primary fake/model-1:
  /// p95 3200 ms (12 calls) over the 2000 ms SLO".
  std::string summary;

  /// {strategy, applied, chosen ("provider/model"), summary, policy {latencySloMs?, maxCostPerMTokUsd?,
  /// minCalls}, bypass? ("strict_model" | "model_override"), candidates: [{provider, model, chainIndex,
  /// score (number | null), reason}]}.
  json::object toJson() const;
};

/// Orders `chain` ((providerId, model) pairs: the primary, then the fallbacks, without repeats) by
/// `policy`, using `health` (ProviderHealth::snapshot(); a candidate without an entry has no calls yet),
/// `prices` (by provider id: the models' `cost`, ProviderIdentity::costs) and `nowMs` (wall clock, for
/// cooldowns). Ties keep chain order. With a bypass, or strategy "ordered", the chain is returned as it
/// is. Rules (docs/providers.md "Routing"):
/// - latency: candidates whose p95 is at or under latencySloMs, or not trusted yet (fewer than minCalls
///   calls), keep chain order and come first; those over it follow, by p95.
/// - cost: candidates with a price at or under maxCostPerMTokUsd (all priced ones without a ceiling)
///   come first, by price; then unpriced ones in chain order; then those over the ceiling, by price.
/// - health: by error rate (candidates with fewer than minCalls calls count as 0), then those in
///   cooldown, in chain order.
RoutingDecision routeModelChain(const std::vector<std::pair<std::string, std::string>>& chain,
                                const RoutingPolicy& policy, RoutingBypass bypass,
                                const std::vector<health::ProviderModelHealth>& health,
                                const std::map<std::string, ProviderIdentity>& prices, int64_t nowMs);

}  // namespace talon::gateway
