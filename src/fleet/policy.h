#pragma once
// The effective integration, skill, provider and model policy of an agent, and the decision for each
// thing the agent uses (`talon fleet policy <agent>`, and the FLEET-POLICY-* preflight findings).
//
// Precedence (docs/fleet.md "Policy"), the first rule that applies decides:
//   1. the item must be in its catalog (providers: the provider part of a catalogued model); a
//      catalog entry with status "blocked" is denied;
//   2. deny: listed (or "*") in `policy.<category>.deny` of any layer — deny lists are united, so a
//      deny anywhere in the chain wins over every allow;
//   3. allow: when any layer sets `policy.<category>.allow`, the item must be in every such list (the
//      lists are intersected; "*" stands for everything);
//   4. tier: the catalog tier ("default", "high-cost", "high-trust") must be in `policy.tiers`
//      (intersected across layers; ["default"] when no layer sets it);
//   5. a "high-trust" item needs the gateway's trustLevel "high".
// Pure functions over an EffectiveFleet; safe to call from any thread.
#include <string>
#include <vector>

#include "base/json.h"
#include "config/source_map.h"
#include "fleet/layering.h"

namespace talon::fleet {

/// One thing an agent uses, and whether policy permits it.
struct PolicyDecision {
  /// "integration" | "skill" | "provider" | "model".
  std::string category;
  std::string item;
  /// Why the agent uses it: "model", "skills", "accounts.<channel>", "bindings", "integrations".
  std::string usedBy;
  bool allowed = true;
  /// "deprecated" catalog entries are allowed with a warning.
  bool deprecated = false;
  /// The catalog tier ("" when not catalogued).
  std::string tier;
  /// For a denial: the rule and the layer that decided it, e.g. "denied by policy.skills.deny of org".
  std::string reason;
  /// Where the deciding rule (or the catalog entry) was written; unknown when none applies.
  config::SourceLocation location;
};

struct AgentPolicy {
  std::string agentId;
  std::string gatewayId;
  /// The agent's effective `policy` object (layering applied), with `tiers` defaulted.
  json::object effective;
  std::vector<PolicyDecision> decisions;
  /// {"agent", "gateway", "effective", "decisions": [{"category", "item", "usedBy", "allowed", "tier",
  /// "reason", "file", "line"}...]}.
  json::object toJson() const;
};

/// The decision for one item (`category` "integration" | "skill" | "provider" | "model") for
/// inventory().agents()[agentIndex], by the rules above; `usedBy` is copied into the decision. The model
/// proxy asks it about the model of each request (fleet/model_proxy.h).
PolicyDecision decideForAgent(const EffectiveFleet& fleet, std::size_t agentIndex, const std::string& category,
                              const std::string& item, const std::string& usedBy);

/// The policy and decisions of inventory().agents()[agentIndex].
AgentPolicy evaluateAgentPolicy(const EffectiveFleet& fleet, std::size_t agentIndex);

}  // namespace talon::fleet
