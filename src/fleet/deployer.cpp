#include "fleet/deployer.h"

#include <algorithm>
#include <set>

namespace talon::fleet {

namespace {

bool isEnvNameChar(char c, bool first) {
  return c == '_' || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9');
}

void collectSecretRefIds(const json::value& v, std::set<std::string>& out) {
  if (v.is_array()) {
    for (const auto& item : v.as_array()) collectSecretRefIds(item, out);
    return;
  }
  if (!v.is_object()) return;
  const auto& o = v.as_object();
  auto source = getString(o, "source");
  auto id = getString(o, "id");
  if (source && *source == "env" && id && o.contains("provider")) out.emplace(*id);
  for (const auto& kv : o) collectSecretRefIds(kv.value(), out);
}

}  // namespace

std::string_view processStateName(ProcessState state) {
  switch (state) {
    case ProcessState::kRunning:
      return "running";
    case ProcessState::kDegraded:
      return "degraded";
    case ProcessState::kFailed:
      return "failed";
    case ProcessState::kStopped:
      break;
  }
  return "stopped";
}

std::string_view applyActionName(ApplyAction action) {
  switch (action) {
    case ApplyAction::kStarted:
      return "started";
    case ApplyAction::kRestarted:
      return "restarted";
    case ApplyAction::kUnchanged:
      break;
  }
  return "unchanged";
}

Result<DeployerPtr> createDeployer(std::string_view provider) {
  for (const auto& r : builtinDeployers()) {
    if (r.provider == provider) return r.create();
  }
  return fail(
      ErrorCode::kUnsupported, "the \"" + std::string(provider) + "\" provider cannot deploy yet (available: " + [] {
        std::string names;
        for (const auto& r : builtinDeployers()) names += (names.empty() ? "" : ", ") + std::string(r.provider);
        return names;
      }() + ")");
}

Result<GatewayAddress> Deployer::gatewayAddress(const DeployTarget& target, const DeployContext&) {
  return GatewayAddress(target.probeHost, target.port, "direct");
}

Result<bool> Deployer::fetchFiles(const DeployTarget&, const DeployContext&, const std::filesystem::path&,
                                  const std::filesystem::path&) {
  return false;
}

Result<std::optional<std::string>> Deployer::putFiles(const DeployTarget&, const DeployContext&,
                                                      const std::filesystem::path&,
                                                      const std::map<std::string, std::pair<std::string, unsigned>>&,
                                                      const std::string&) {
  return std::optional<std::string>();
}

DeployTarget deployTarget(const EffectiveFleet& fleet, std::size_t gatewayIndex, const RenderedGateway& render) {
  const json::object& g = fleet.gateway(gatewayIndex);
  DeployTarget t;
  t.id = render.id;
  t.runtime = render.runtime;
  t.provider = std::string(getString(g, "provider").value_or("process"));
  t.host = std::string(getString(g, "host").value_or("local"));
  t.paths = gatewayPaths(fleet, gatewayIndex);
  t.port = static_cast<int>(getInt(g, "port").value_or(0));
  t.probeHost = probeHost(std::string(getString(g, "bind").value_or("loopback")),
                          std::string(getString(g, "customBindHost").value_or("")));
  t.configText = render.text;
  for (std::size_t i : fleet.agentsOf(gatewayIndex)) t.agentIds.push_back(fleet.inventory().agents()[i].id);
  t.version = std::string(getString(g, "version").value_or(""));
  if (const auto* v = fleet.inventory().findRuntimeVersion(t.runtime, t.version)) t.binary = v->binary;
  if (auto m = renderManifest(fleet, gatewayIndex, render); !m) {
    t.manifestError = m.error().message;
  } else if (*m) {
    t.manifestText = (*m)->text;
    t.manifest = *manifestSettings(fleet, gatewayIndex);
  }
  if (const json::object* turn = getObject(g, "probeTurn")) {
    ProbeTurnSpec spec;
    spec.message = std::string(getString(*turn, "message").value_or(""));
    spec.agentId = std::string(getString(*turn, "agent").value_or(""));
    spec.expect = std::string(getString(*turn, "expect").value_or(""));
    spec.timeout = std::chrono::seconds(getInt(*turn, "timeoutSeconds").value_or(60));
    if (!spec.message.empty()) t.probeTurn = std::move(spec);
  }
  t.settings = g;
  return t;
}

std::vector<std::string> referencedEnvironmentVariables(const std::string& configText) {
  std::set<std::string> names;
  for (std::size_t i = 0; i + 2 < configText.size(); ++i) {
    if (configText[i] != '$' || configText[i + 1] != '{') continue;
    if (i > 0 && configText[i - 1] == '$') continue;  // "$${VAR}" is the escape for a literal "${VAR}"
    std::size_t j = i + 2;
    while (j < configText.size() && isEnvNameChar(configText[j], j == i + 2)) ++j;
    if (j > i + 2 && j < configText.size() && configText[j] == '}') names.insert(configText.substr(i + 2, j - i - 2));
  }
  if (auto parsed = parseJson(configText)) collectSecretRefIds(*parsed, names);
  return {names.begin(), names.end()};
}

}  // namespace talon::fleet
