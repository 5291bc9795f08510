#pragma once
// Layering with provenance: the effective settings of every gateway and agent, merged from the layers
// org -> group -> gateway -> agent, each preceded by the templates it lists, and the chain of layers
// behind any effective key (`talon fleet explain`).
//
// Merge order (docs/fleet.md "Layering"), broadest first; a later layer wins:
//   gateway: org `defaults`, the group's templates (in listed order), the group, the gateway's templates,
//            the gateway.
//   agent:   the agent's gateway's chain (its gateway-wide keys dropped), the agent's templates, the agent.
// Merge rules: objects deep-merge key by key; scalars take the later layer's value; arrays replace,
// except the policy lists: `policy.*.deny` are united (first-occurrence order) and `policy.*.allow` and
// `policy.tiers` are intersected ("*" in an allow list stands for everything), so that a narrower
// layer can narrow what it may use but never widen it.
// An EffectiveFleet is computed once and read-only afterwards: safe to share between threads.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "fleet/inventory.h"

namespace talon::fleet {

/// One layer that set a key: which layer, what it wrote there and where.
struct Contribution {
  const Layer* layer = nullptr;
  json::value value;
  config::SourceLocation location;
};

/// What `talon fleet explain` prints.
struct Explanation {
  /// "gateway:<id>" or "agent:<id>".
  std::string entity;
  std::string keyPath;
  /// The effective value; nullopt when no layer sets the key.
  std::optional<json::value> value;
  /// The layers that set the key, broadest first (the last one wins for scalars and replaced arrays).
  std::vector<Contribution> chain;
  /// "replace", "deep-merge", "union" or "intersect".
  std::string mergeRule;
  /// {"entity", "keyPath", "value" (absent when unset), "merge", "chain": [{"layer", "file", "line",
  /// "column", "value"}]}.
  json::object toJson() const;
};

/// Merges `source` over `target` with the rules above (`specs`: the fields of the object being merged;
/// nullptr for a free-form object, merged as objects deep-merge and everything else replaces).
void mergeLayerValue(json::object& target, const json::object& source, const std::vector<FieldSpec>* specs);

class EffectiveFleet {
 public:
  /// Resolves every gateway and agent of `inventory` (which it keeps alive).
  static EffectiveFleet resolve(InventoryPtr inventory);

  const Inventory& inventory() const { return *inventory_; }
  /// The effective settings of inventory().gateways()[index] / agents()[index].
  const json::object& gateway(std::size_t index) const { return gateways_[index]; }
  const json::object& agent(std::size_t index) const { return agents_[index]; }
  /// Indexes into inventory().agents() of the agents of inventory().gateways()[gatewayIndex], by agent id.
  const std::vector<std::size_t>& agentsOf(std::size_t gatewayIndex) const { return agentsByGateway_[gatewayIndex]; }
  /// The index of `agent`'s gateway in inventory().gateways().
  std::size_t gatewayIndexOf(const Agent& agent) const;
  /// The layers that apply, broadest first.
  std::vector<const Layer*> gatewayChain(const Gateway& gateway) const;
  std::vector<const Layer*> agentChain(const Agent& agent) const;

  /// Explains `keyPath` (dot-separated, e.g. "policy.skills.deny", "auth.mode") for `entity`: a gateway
  /// or agent id, or "gateway:<id>" / "agent:<id>" when an id names both. Errors: kNotFound for an unknown
  /// entity; kInvalidArgument for an ambiguous id or a key path the schema does not know.
  Result<Explanation> explain(std::string_view entity, std::string_view keyPath) const;
  /// Every effective leaf key of `entity` (objects descended; arrays and scalars are leaves), explained.
  Result<std::vector<Explanation>> explainAll(std::string_view entity) const;

 private:
  struct Target {
    bool isAgent = false;
    std::size_t index = 0;
  };
  Result<Target> findEntity(std::string_view entity) const;

  InventoryPtr inventory_;
  std::vector<json::object> gateways_;
  std::vector<json::object> agents_;
  std::vector<std::vector<std::size_t>> agentsByGateway_;
};

}  // namespace talon::fleet
