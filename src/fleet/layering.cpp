#include "fleet/layering.h"

#include <algorithm>
#include <unordered_set>

namespace talon::fleet {

namespace {

constexpr std::string_view kGatewayOwnKeys[] = {"port", "stateDir", "configPath", "workspaceRoot"};
constexpr std::string_view kAgentOwnKeys[] = {"workspace", "agentDir"};

const FieldSpec* findSpec(const std::vector<FieldSpec>* specs, std::string_view key) {
  if (specs == nullptr) return nullptr;
  for (const auto& f : *specs) {
    if (f.name == key) return &f;
  }
  return nullptr;
}

bool contains(const json::array& a, const json::value& v) { return std::find(a.begin(), a.end(), v) != a.end(); }

json::array unite(const json::array& a, const json::array& b) {
  json::array out = a;
  for (const auto& v : b) {
    if (!contains(out, v)) out.push_back(v);
  }
  return out;
}

json::array intersect(const json::array& a, const json::array& b) {
  const json::value star("*");
  if (contains(a, star)) return b;
  if (contains(b, star)) return a;
  json::array out;
  for (const auto& v : a) {
    if (contains(b, v) && !contains(out, v)) out.push_back(v);
  }
  return out;
}

std::vector<std::string_view> splitPath(std::string_view path) {
  std::vector<std::string_view> out;
  while (true) {
    std::size_t dot = path.find('.');
    out.push_back(path.substr(0, dot));
    if (dot == std::string_view::npos) break;
    path.remove_prefix(dot + 1);
  }
  return out;
}

const json::value* lookup(const json::object& o, const std::vector<std::string_view>& parts) {
  const json::object* cur = &o;
  const json::value* v = nullptr;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    v = cur->if_contains(parts[i]);
    if (v == nullptr) return nullptr;
    if (i + 1 < parts.size()) {
      if (!v->is_object()) return nullptr;
      cur = &v->as_object();
    }
  }
  return v;
}

const config::LocatedMember* lookupLocated(const config::LocatedValue* node,
                                           const std::vector<std::string_view>& parts) {
  const config::LocatedMember* m = nullptr;
  for (auto part : parts) {
    if (node == nullptr || !node->isObject()) return nullptr;
    m = node->findMember(part);
    if (m == nullptr) return nullptr;
    node = &m->value;
  }
  return m;
}

void collectLeaves(const json::object& o, const std::string& prefix, std::vector<std::string>& out) {
  for (const auto& kv : o) {
    std::string path = prefix.empty() ? std::string(kv.key()) : prefix + "." + std::string(kv.key());
    if (kv.value().is_object() && !kv.value().as_object().empty()) {
      collectLeaves(kv.value().as_object(), path, out);
    } else {
      out.push_back(std::move(path));
    }
  }
}

std::string mergeRuleOf(const FieldSpec* spec) {
  if (spec == nullptr) return "replace";
  if (spec->type == FieldType::kObject || spec->type == FieldType::kMap) return "deep-merge";
  if (spec->type == FieldType::kArray) {
    switch (spec->merge) {
      case ArrayMerge::kUnion:
        return "union";
      case ArrayMerge::kIntersect:
        return "intersect";
      case ArrayMerge::kReplace:
        return "replace";
    }
  }
  return "replace";
}

}  // namespace

void mergeLayerValue(json::object& target, const json::object& source, const std::vector<FieldSpec>* specs) {
  for (const auto& kv : source) {
    const FieldSpec* spec = findSpec(specs, kv.key());
    json::value* existing = target.if_contains(kv.key());
    if (existing == nullptr) {
      target[kv.key()] = kv.value();
      continue;
    }
    if (kv.value().is_object() && existing->is_object()) {
      const std::vector<FieldSpec>* childSpecs =
          spec != nullptr && spec->type == FieldType::kObject ? &spec->children : nullptr;
      mergeLayerValue(existing->as_object(), kv.value().as_object(), childSpecs);
    } else if (kv.value().is_array() && existing->is_array() && spec != nullptr && spec->merge == ArrayMerge::kUnion) {
      *existing = unite(existing->as_array(), kv.value().as_array());
    } else if (kv.value().is_array() && existing->is_array() && spec != nullptr &&
               spec->merge == ArrayMerge::kIntersect) {
      *existing = intersect(existing->as_array(), kv.value().as_array());
    } else {
      *existing = kv.value();
    }
  }
}

json::object Explanation::toJson() const {
  json::object o;
  o["entity"] = entity;
  o["keyPath"] = keyPath;
  if (value) o["value"] = *value;
  o["merge"] = mergeRule;
  json::array c;
  for (const auto& step : chain) {
    json::object s;
    s["layer"] = step.layer->label();
    s["file"] = step.location.file;
    s["line"] = step.location.line;
    s["column"] = step.location.column;
    s["value"] = step.value;
    c.push_back(std::move(s));
  }
  o["chain"] = std::move(c);
  return o;
}

std::vector<const Layer*> EffectiveFleet::gatewayChain(const Gateway& gateway) const {
  const Inventory& inv = *inventory_;
  std::vector<const Layer*> chain{&inv.orgLayer()};
  if (const Group* group = inv.findGroup(gateway.group)) {
    for (const auto& t : group->templates) chain.push_back(inv.findTemplate(t));
    chain.push_back(&group->layer);
  }
  for (const auto& t : gateway.templates) chain.push_back(inv.findTemplate(t));
  chain.push_back(&gateway.layer);
  return chain;
}

std::vector<const Layer*> EffectiveFleet::agentChain(const Agent& agent) const {
  const Inventory& inv = *inventory_;
  std::vector<const Layer*> chain;
  if (const Gateway* gateway = inv.findGateway(agent.gateway)) chain = gatewayChain(*gateway);
  for (const auto& t : agent.templates) chain.push_back(inv.findTemplate(t));
  chain.push_back(&agent.layer);
  return chain;
}

EffectiveFleet EffectiveFleet::resolve(InventoryPtr inventory) {
  EffectiveFleet fleet;
  fleet.inventory_ = std::move(inventory);
  const Inventory& inv = *fleet.inventory_;
  const auto* layered = &layeredSchema();
  fleet.gateways_.reserve(inv.gateways().size());
  // The part of each gateway's effective settings its agents inherit (agent-layer keys only).
  std::vector<json::object> inherited;
  inherited.reserve(inv.gateways().size());
  for (const auto& g : inv.gateways()) {
    json::object effective;
    for (const Layer* layer : fleet.gatewayChain(g)) mergeLayerValue(effective, layer->value, layered);
    json::object forAgents;
    for (const auto& kv : effective) {
      const FieldSpec* spec = findSpec(layered, kv.key());
      if (spec != nullptr && (spec->layers & layerBit(LayerKind::kAgent)) != 0) forAgents.emplace(kv.key(), kv.value());
    }
    inherited.push_back(std::move(forAgents));
    fleet.gateways_.push_back(std::move(effective));
  }
  fleet.agents_.reserve(inv.agents().size());
  fleet.agentsByGateway_.resize(inv.gateways().size());
  for (const auto& a : inv.agents()) {
    json::object effective;
    if (const Gateway* g = inv.findGateway(a.gateway)) {
      std::size_t gi = static_cast<std::size_t>(g - inv.gateways().data());
      effective = inherited[gi];
      fleet.agentsByGateway_[gi].push_back(fleet.agents_.size());
    }
    for (const auto& t : a.templates) mergeLayerValue(effective, inv.findTemplate(t)->value, layered);
    mergeLayerValue(effective, a.layer.value, layered);
    fleet.agents_.push_back(std::move(effective));
  }
  return fleet;
}

std::size_t EffectiveFleet::gatewayIndexOf(const Agent& agent) const {
  const Gateway* g = inventory_->findGateway(agent.gateway);
  return static_cast<std::size_t>(g - inventory_->gateways().data());
}

Result<EffectiveFleet::Target> EffectiveFleet::findEntity(std::string_view entity) const {
  const Inventory& inv = *inventory_;
  auto gatewayIndex = [&](std::string_view id) -> std::optional<std::size_t> {
    const Gateway* g = inv.findGateway(id);
    if (g == nullptr) return std::nullopt;
    return static_cast<std::size_t>(g - inv.gateways().data());
  };
  auto agentIndex = [&](std::string_view id) -> std::optional<std::size_t> {
    const Agent* a = inv.findAgent(id);
    if (a == nullptr) return std::nullopt;
    return static_cast<std::size_t>(a - inv.agents().data());
  };
  if (entity.starts_with("gateway:")) {
    if (auto i = gatewayIndex(entity.substr(8))) return Target{false, *i};
    return fail(ErrorCode::kNotFound, "no gateway \"" + std::string(entity.substr(8)) + "\" in the inventory");
  }
  if (entity.starts_with("agent:")) {
    if (auto i = agentIndex(entity.substr(6))) return Target{true, *i};
    return fail(ErrorCode::kNotFound, "no agent \"" + std::string(entity.substr(6)) + "\" in the inventory");
  }
  auto g = gatewayIndex(entity);
  auto a = agentIndex(entity);
  if (g && a) {
    return fail(ErrorCode::kInvalidArgument, "\"" + std::string(entity) +
                                                 "\" names a gateway and an agent: say gateway:" + std::string(entity) +
                                                 " or agent:" + std::string(entity));
  }
  if (g) return Target{false, *g};
  if (a) return Target{true, *a};
  return fail(ErrorCode::kNotFound, "no gateway or agent \"" + std::string(entity) + "\" in the inventory");
}

Result<Explanation> EffectiveFleet::explain(std::string_view entity, std::string_view keyPath) const {
  auto target = findEntity(entity);
  if (!target) return fail(target.error());
  const Inventory& inv = *inventory_;
  const FieldSpec* spec = findLayeredSpec(keyPath);
  bool own = false;
  if (target->isAgent) {
    own = std::find(std::begin(kAgentOwnKeys), std::end(kAgentOwnKeys), keyPath) != std::end(kAgentOwnKeys);
  } else {
    own = std::find(std::begin(kGatewayOwnKeys), std::end(kGatewayOwnKeys), keyPath) != std::end(kGatewayOwnKeys);
  }
  if (spec == nullptr && !own) {
    return fail(ErrorCode::kInvalidArgument,
                "\"" + std::string(keyPath) + "\" is not a layered key (see docs/fleet.md, \"Layered keys\")");
  }
  if (target->isAgent && spec != nullptr && (spec->layers & layerBit(LayerKind::kAgent)) == 0) {
    return fail(ErrorCode::kInvalidArgument,
                "\"" + std::string(keyPath) + "\" is a gateway-wide key: explain it for the agent's gateway");
  }
  Explanation out;
  auto parts = splitPath(keyPath);
  std::vector<const Layer*> chain;
  if (target->isAgent) {
    const Agent& a = inv.agents()[target->index];
    out.entity = "agent:" + a.id;
    chain = agentChain(a);
    if (const json::value* v = lookup(agents_[target->index], parts)) out.value = *v;
  } else {
    const Gateway& g = inv.gateways()[target->index];
    out.entity = "gateway:" + g.id;
    chain = gatewayChain(g);
    if (const json::value* v = lookup(gateways_[target->index], parts)) out.value = *v;
  }
  out.keyPath = std::string(keyPath);
  out.mergeRule = mergeRuleOf(spec);
  for (const Layer* layer : chain) {
    if (const auto* m = lookupLocated(layer->node, parts)) {
      out.chain.push_back(Contribution{layer, config::toJsonValue(m->value), m->keyLocation});
    }
  }
  return out;
}

Result<std::vector<Explanation>> EffectiveFleet::explainAll(std::string_view entity) const {
  auto target = findEntity(entity);
  if (!target) return fail(target.error());
  const json::object& effective = target->isAgent ? agents_[target->index] : gateways_[target->index];
  std::vector<std::string> paths;
  collectLeaves(effective, "", paths);
  std::string qualified =
      (target->isAgent ? "agent:" : "gateway:") +
      (target->isAgent ? inventory_->agents()[target->index].id : inventory_->gateways()[target->index].id);
  std::vector<Explanation> out;
  for (const auto& p : paths) {
    auto e = explain(qualified, p);
    if (e) out.push_back(std::move(*e));
  }
  return out;
}

}  // namespace talon::fleet
