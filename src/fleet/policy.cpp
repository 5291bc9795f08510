#include "fleet/policy.h"

#include <algorithm>

namespace talon::fleet {

namespace {

const json::array kDefaultTiers{"default"};

/// The array at policy.<a>.<b> (or policy.<a> when b is empty) of a layer, with its location.
const config::LocatedValue* layerList(const Layer& layer, std::string_view a, std::string_view b) {
  if (layer.node == nullptr) return nullptr;
  const auto* policy = layer.node->findMember("policy");
  if (policy == nullptr) return nullptr;
  const auto* m = policy->value.findMember(a);
  if (m == nullptr) return nullptr;
  if (!b.empty()) {
    if (!m->value.isObject()) return nullptr;
    m = m->value.findMember(b);
    if (m == nullptr) return nullptr;
  }
  return m->value.isArray() ? &m->value : nullptr;
}

const config::LocatedValue* findItem(const config::LocatedValue& list, std::string_view item) {
  for (const auto& v : list.items) {
    if (v.isString() && v.scalar.as_string() == item) return &v;
  }
  return nullptr;
}

bool listHas(const json::array* list, std::string_view item) {
  if (list == nullptr) return false;
  for (const auto& v : *list) {
    if (v.is_string() && v.as_string() == item) return true;
  }
  return false;
}

const json::array* policyList(const json::object& policy, std::string_view a, std::string_view b) {
  const json::object* category = getObject(policy, a);
  return category == nullptr ? nullptr : getArray(*category, b);
}

}  // namespace

json::object AgentPolicy::toJson() const {
  json::object o;
  o["agent"] = agentId;
  o["gateway"] = gatewayId;
  o["effective"] = effective;
  json::array d;
  for (const auto& x : decisions) {
    json::object e;
    e["category"] = x.category;
    e["item"] = x.item;
    e["usedBy"] = x.usedBy;
    e["allowed"] = x.allowed;
    if (x.deprecated) e["deprecated"] = true;
    e["tier"] = x.tier;
    if (!x.reason.empty()) e["reason"] = x.reason;
    if (x.location.known()) {
      e["file"] = x.location.file;
      e["line"] = x.location.line;
    }
    d.push_back(std::move(e));
  }
  o["decisions"] = std::move(d);
  return o;
}

namespace {

/// The effective policy object of an agent, with `tiers` defaulted.
json::object effectivePolicyOf(const EffectiveFleet& fleet, std::size_t agentIndex) {
  json::object effective;
  if (const auto* p = getObject(fleet.agent(agentIndex), "policy")) effective = *p;
  if (!effective.contains("tiers")) effective["tiers"] = kDefaultTiers;
  return effective;
}

}  // namespace

PolicyDecision decideForAgent(const EffectiveFleet& fleet, std::size_t agentIndex, const std::string& category,
                              const std::string& item, const std::string& usedBy) {
  const Inventory& inv = fleet.inventory();
  const Agent& agent = inv.agents()[agentIndex];
  const json::object& gatewayEff = fleet.gateway(fleet.gatewayIndexOf(agent));
  const json::object effective = effectivePolicyOf(fleet, agentIndex);
  const json::array& tiers = effective.at("tiers").as_array();
  const std::string trustLevel(getString(gatewayEff, "trustLevel").value_or("standard"));
  const std::vector<const Layer*> chain = fleet.agentChain(agent);
  PolicyDecision d;
  d.category = category;
  d.item = item;
  d.usedBy = usedBy;
  std::string policyKey = category == "integration" ? "integrations"
                          : category == "skill"     ? "skills"
                          : category == "provider"  ? "providers"
                                                    : "models";
  // 1. The catalog.
  const CatalogEntry* entry = nullptr;
  bool catalogued = false;
  if (category == "integration") {
    auto it = inv.catalogs().integrations.find(item);
    if (it != inv.catalogs().integrations.end()) entry = &it->second;
  } else if (category == "skill") {
    auto it = inv.catalogs().skills.find(item);
    if (it != inv.catalogs().skills.end()) entry = &it->second;
  } else if (category == "model") {
    auto it = inv.catalogs().models.find(item);
    if (it != inv.catalogs().models.end()) entry = &it->second;
  } else {  // a provider is catalogued when one of its models is
    auto it = inv.catalogs().models.lower_bound(item + "/");
    catalogued = it != inv.catalogs().models.end() && it->first.starts_with(item + "/");
    if (catalogued) d.location = it->second.location;
  }
  if (entry != nullptr) {
    catalogued = true;
    d.tier = entry->tier;
    d.location = entry->location;
    d.deprecated = entry->status == "deprecated";
  }
  auto deny = [&](std::string reason, config::SourceLocation where) {
    d.allowed = false;
    d.reason = std::move(reason);
    d.location = std::move(where);
  };
  if (!catalogued) {
    deny("not in catalogs." + std::string(category == "integration" ? "integrations"
                                          : category == "skill"     ? "skills"
                                                                    : "models"),
         {});
  } else if (entry != nullptr && entry->status == "blocked") {
    deny("its catalog entry is blocked", entry->location);
  }
  // 2. Deny lists (any layer).
  if (d.allowed) {
    for (const Layer* layer : chain) {
      if (const auto* list = layerList(*layer, policyKey, "deny")) {
        const auto* hit = findItem(*list, item);
        if (hit == nullptr) hit = findItem(*list, "*");
        if (hit != nullptr) {
          deny("denied by policy." + policyKey + ".deny of " + layer->label(), hit->location);
          break;
        }
      }
    }
  }
  // 3. Allow lists (every layer that sets one).
  if (d.allowed && policyList(effective, policyKey, "allow") != nullptr &&
      !listHas(policyList(effective, policyKey, "allow"), item) &&
      !listHas(policyList(effective, policyKey, "allow"), "*")) {
    for (const Layer* layer : chain) {
      if (const auto* list = layerList(*layer, policyKey, "allow")) {
        if (findItem(*list, item) == nullptr && findItem(*list, "*") == nullptr) {
          deny("not in policy." + policyKey + ".allow of " + layer->label(), list->location);
          break;
        }
      }
    }
    if (d.allowed) deny("not in the intersected policy." + policyKey + ".allow", {});
  }
  // 4. Tiers; 5. trust level.
  if (d.allowed && !d.tier.empty() && !listHas(&tiers, d.tier)) {
    std::string reason = "tier \"" + d.tier + "\" is not permitted";
    config::SourceLocation where;
    bool found = false;
    for (const Layer* layer : chain) {
      if (const auto* list = layerList(*layer, "tiers", "")) {
        if (findItem(*list, d.tier) == nullptr) {
          reason += " by policy.tiers of " + layer->label();
          where = list->location;
          found = true;
          break;
        }
      }
    }
    if (!found) reason += " (policy.tiers defaults to [\"default\"])";
    deny(reason, where);
  }
  if (d.allowed && d.tier == "high-trust" && trustLevel != "high") {
    deny("a high-trust item needs the gateway's trustLevel \"high\" (it is \"" + trustLevel + "\")", d.location);
  }
  return d;
}

AgentPolicy evaluateAgentPolicy(const EffectiveFleet& fleet, std::size_t agentIndex) {
  const Inventory& inv = fleet.inventory();
  const Agent& agent = inv.agents()[agentIndex];
  const json::object& eff = fleet.agent(agentIndex);
  AgentPolicy out;
  out.agentId = agent.id;
  out.gatewayId = agent.gateway;
  out.effective = effectivePolicyOf(fleet, agentIndex);

  // What the agent uses: (category, item, usedBy), without repeats.
  std::vector<std::tuple<std::string, std::string, std::string>> uses;
  auto use = [&](std::string category, std::string item, std::string usedBy) {
    for (const auto& u : uses) {
      if (std::get<0>(u) == category && std::get<1>(u) == item) return;
    }
    uses.emplace_back(std::move(category), std::move(item), std::move(usedBy));
  };
  if (auto model = getString(eff, "model")) {
    std::string ref(*model);
    std::size_t slash = ref.find('/');
    use("provider", slash == std::string::npos ? ref : ref.substr(0, slash), "model");
    use("model", ref, "model");
  }
  if (const auto* skills = getArray(eff, "skills")) {
    for (const auto& s : *skills) use("skill", std::string(s.as_string()), "skills");
  }
  for (const auto& [channel, account] : agent.accounts) use("integration", channel, "accounts." + channel);
  for (const auto& b : agent.bindings) use("integration", b.channel, "bindings");
  if (const auto* integrations = getArray(eff, "integrations")) {
    for (const auto& s : *integrations) use("integration", std::string(s.as_string()), "integrations");
  }

  for (auto& [category, item, usedBy] : uses) {
    out.decisions.push_back(decideForAgent(fleet, agentIndex, category, item, usedBy));
  }
  return out;
}

}  // namespace talon::fleet
