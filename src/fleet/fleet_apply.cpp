#include "fleet/fleet_apply.h"

#include <algorithm>
#include <map>

#include "base/file_io.h"
#include "base/hash.h"
#include "fleet/deployers/compose_deployer.h"
#include "fleet/deployers/kubernetes_deployer.h"
#include "fleet/gateway_health.h"
#include "fleet/inventory_git.h"

namespace talon::fleet {

namespace {

constexpr auto kHealthCallTimeout = std::chrono::milliseconds(5000);

const RenderedGateway* findRender(const std::vector<RenderedGateway>& renders, const std::string& id) {
  for (const auto& r : renders) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

}  // namespace

Result<std::vector<std::size_t>> selectGateways(const EffectiveFleet& fleet, const std::string& gatewayId) {
  const Inventory& inv = fleet.inventory();
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < inv.gateways().size(); ++i) {
    if (gatewayId.empty() || inv.gateways()[i].id == gatewayId) out.push_back(i);
  }
  if (!gatewayId.empty() && out.empty())
    return fail(ErrorCode::kNotFound, "no gateway \"" + gatewayId + "\" in the inventory");
  std::sort(out.begin(), out.end(),
            [&](std::size_t a, std::size_t b) { return inv.gateways()[a].id < inv.gateways()[b].id; });
  return out;
}

std::vector<RenderedManifest> unitManifests(const std::vector<DeployUnit>& units) {
  std::vector<RenderedManifest> out;
  for (const auto& u : units) {
    if (u.target.manifestText.empty()) continue;
    RenderedManifest m;
    m.gatewayId = u.target.id;
    m.provider = u.target.provider;
    m.fileName = u.target.provider == "kubernetes" ? kKubernetesFileName : kComposeFileName;
    m.text = u.target.manifestText;
    out.push_back(std::move(m));
  }
  return out;
}

std::string unitManifestPath(const DeployUnit& unit, const std::filesystem::path& fleetStateDir) {
  if (unit.target.manifestText.empty()) return {};
  if (unit.target.provider == "kubernetes")
    return (kubernetesManifestDir(fleetStateDir, unit.target.id) / kKubernetesFileName).string();
  return (composeProjectDir(fleetStateDir, unit.target.id) / kComposeFileName).string();
}

std::filesystem::path deployedConfigPath(const DeployUnit& unit, const std::filesystem::path& fleetStateDir) {
  if (unit.target.provider == "compose") return composeProjectDir(fleetStateDir, unit.target.id) / kRenderedConfigName;
  if (unit.target.provider == "kubernetes")
    return kubernetesManifestDir(fleetStateDir, unit.target.id) / kRenderedConfigName;
  return unit.target.paths.configPath;
}

std::vector<DeployUnit> deployUnits(const EffectiveFleet& fleet, const std::vector<RenderedGateway>& renders,
                                    const std::vector<std::size_t>& selected) {
  std::vector<DeployUnit> out;
  for (std::size_t i : selected) {
    const auto& id = fleet.inventory().gateways()[i].id;
    const RenderedGateway* render = findRender(renders, id);
    if (render == nullptr) continue;  // renderFleet renders every gateway
    DeployUnit unit;
    unit.target = deployTarget(fleet, i, *render);
    auto deployer = createDeployer(unit.target.provider);
    if (deployer) {
      unit.deployer = std::move(*deployer);
    } else {
      Error e = deployer.error();
      e.message = "gateway " + id + ": " + e.message;
      unit.unsupported = std::move(e);
    }
    out.push_back(std::move(unit));
  }
  return out;
}

Status checkDeployable(const std::vector<DeployUnit>& units, const DeployContext& context) {
  for (const auto& u : units) {
    if (u.unsupported) return fail(*u.unsupported);
    if (auto s = u.deployer->check(u.target, context); !s) return s;
  }
  return {};
}

std::vector<std::string> missingEnvironment(const std::vector<DeployUnit>& units, const EnvironmentLookup& env) {
  std::map<std::string, std::vector<std::string>> missing;
  for (const auto& u : units) {
    for (const auto& name : referencedEnvironmentVariables(u.target.configText)) {
      auto value = env ? env(name) : std::nullopt;
      if (!value || value->empty()) missing[name].push_back(u.target.id);
    }
  }
  std::vector<std::string> out;
  for (const auto& [name, gateways] : missing) {
    std::string line = name + " (gateway" + (gateways.size() > 1 ? "s " : " ");
    for (std::size_t i = 0; i < gateways.size(); ++i) line += (i ? ", " : "") + gateways[i];
    out.push_back(line + ")");
  }
  return out;
}

bool ApplyReport::ok() const {
  for (const auto& g : gateways) {
    if (g.error) return false;
  }
  return true;
}

json::object ApplyReport::toJson() const {
  json::object j;
  j["ok"] = ok();
  if (revision) j["revision"] = revision->id;
  if (git) {
    j["gitCommit"] = git->commit;
    j["gitDirty"] = git->dirty;
  }
  json::array gws;
  for (const auto& g : gateways) {
    json::object o;
    o["gateway"] = g.id;
    o["plan"] = g.planStatus;
    o["changes"] = g.changes;
    if (g.action) o["action"] = applyActionName(*g.action);
    if (g.error) o["error"] = g.error->message;
    gws.push_back(std::move(o));
  }
  j["gateways"] = std::move(gws);
  return j;
}

Result<ApplyReport> applyFleet(const EffectiveFleet& fleet, const std::vector<RenderedGateway>& renders,
                               std::vector<DeployUnit>& units, RevisionStore& revisions, const DeployContext& context,
                               const ApplyOptions& options) {
  if (auto s = checkDeployable(units, context); !s) return fail(s.error());
  ApplyReport report;

  const Inventory& inv = fleet.inventory();
  std::vector<std::filesystem::path> files = {inv.path()};
  files.insert(files.end(), inv.includedFiles().begin(), inv.includedFiles().end());
  auto git = inventoryGitState(inv.path(), files);
  if (!git) return fail(git.error());
  report.git = *git;
  if (*git && (*git)->dirty && !options.allowDirty) {
    std::string list;
    for (const auto& f : (*git)->changedFiles) list += "\n  " + f;
    if ((*git)->commit.empty()) list += "\n  (the repository has no commit yet)";
    return fail(ErrorCode::kFailedPrecondition,
                "the inventory has uncommitted changes; commit them, or apply with --allow-dirty:" + list);
  }

  if (auto missing = missingEnvironment(units, options.env); !missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += "\n  " + m;
    return fail(ErrorCode::kFailedPrecondition,
                "the rendered configs reference environment variables that are not set; nothing was started:" + list);
  }

  auto lock = revisions.lock();
  if (!lock) return fail(lock.error());
  auto applied = revisions.lastApplied();
  if (!applied) return fail(applied.error());

  std::vector<RenderedGateway> selectedRenders;
  for (const auto& u : units) {
    if (const auto* r = findRender(renders, u.target.id)) selectedRenders.push_back(*r);
  }
  auto plans = planGateways(selectedRenders, *applied, unitManifests(units));

  DeploymentRevision revision;
  for (std::size_t i = 0; i < units.size(); ++i) {
    auto& u = units[i];
    const GatewayPlan& plan = plans[i];
    GatewayApplyResult result;
    result.id = u.target.id;
    result.planStatus = plan.status;
    result.changes = plan.changes.size();
    // A version change alone (another catalogued binary) is a change too: the gateway restarts on it.
    auto last = applied->find(u.target.id);
    bool binaryChanged = last != applied->end() && last->second.gateway.binary != u.target.binary;
    if (binaryChanged && plan.status == "unchanged") result.planStatus = "changed";
    bool changed = plan.status != "unchanged" || binaryChanged;
    auto action = u.deployer->apply(u.target, context, changed);
    if (!action) {
      result.error = action.error();
    } else {
      result.action = *action;
      if (changed) {
        GatewayRevision g;
        g.id = u.target.id;
        g.runtime = u.target.runtime;
        g.provider = u.target.provider;
        g.configPath = deployedConfigPath(u, context.fleetStateDir).string();
        g.content = u.target.configText;
        g.sha256 = plan.renderedSha256;
        g.previousRevision = plan.appliedRevision;
        g.changes = plan.changes;
        g.version = u.target.version;
        g.binary = u.target.binary;
        g.manifestPath = unitManifestPath(u, context.fleetStateDir);
        if (!g.manifestPath.empty()) {
          g.manifestContent = u.target.manifestText;
          g.manifestSha256 = plan.manifestSha256;
        }
        revision.gateways.push_back(std::move(g));
      }
    }
    report.gateways.push_back(std::move(result));
  }

  if (!revision.gateways.empty()) {
    auto id = revisions.nextId();
    if (!id) return fail(id.error());
    revision.id = *id;
    revision.actor = options.actor;
    revision.timeMs = (options.clock ? options.clock : SystemClock::instance())->nowMs();
    revision.inventoryPath = inv.path().string();
    revision.git = *git;
    if (auto s = revisions.record(revision); !s) return fail(s.error());
    report.revision = std::move(revision);
  }
  return report;
}

json::object GatewayStatus::toJson() const {
  json::object j;
  j["gateway"] = id;
  j["runtime"] = runtime;
  j["provider"] = provider;
  j["state"] = processStateName(runtimeStatus.state);
  if (runtimeStatus.pid) j["pid"] = *runtimeStatus.pid;
  json::object readyz;
  readyz["status"] = runtimeStatus.readyz.status;
  if (!runtimeStatus.readyz.error.empty()) readyz["error"] = runtimeStatus.readyz.error;
  j["readyz"] = std::move(readyz);
  json::object health;
  health["checked"] = healthChecked;
  if (healthChecked) health["ok"] = healthOk;
  if (!healthError.empty()) health["error"] = healthError;
  j["health"] = std::move(health);
  if (!via.empty()) j["access"] = json::object{{"via", via}, {"address", address}};
  json::array agentArray;
  for (const auto& a : agents) agentArray.push_back(a.toJson());
  j["agents"] = std::move(agentArray);
  if (!agentsError.empty()) j["agentsError"] = agentsError;
  json::array errors;
  for (const auto& e : recentErrors) errors.push_back(e.toJson());
  j["recentErrors"] = std::move(errors);
  if (!recentErrorsError.empty()) j["recentErrorsError"] = recentErrorsError;
  if (appliedRevision) {
    j["appliedRevision"] = *appliedRevision;
    j["appliedSha256"] = appliedSha256;
    if (!appliedVersion.empty()) j["appliedVersion"] = appliedVersion;
  }
  if (!deployedSha256.empty()) j["deployedSha256"] = deployedSha256;
  j["drift"] = drift;
  if (!runtimeStatus.detail.empty()) j["detail"] = runtimeStatus.detail;
  return j;
}

namespace {

/// `health`, `agents.list` and `logs.tail` over one connection to the gateway, into `s`.
void askGatewayLive(const DeployTarget& target, const GatewayCredential& credential, const DeployContext& context,
                    const EnvironmentLookup& env, GatewayStatus& s) {
  std::vector<GatewayRequest> requests;
  requests.push_back(GatewayRequest{"health", {}, false});
  requests.push_back(GatewayRequest{"agents.list", {}, false});
  requests.push_back(GatewayRequest{
      "logs.tail", json::object{{"limit", kRecentErrorTailLines}, {"maxBytes", kRecentErrorTailBytes}}, false});
  auto called = callGatewayMethods(target.probeHost, target.port, credential, context.talonVersion, kHealthCallTimeout,
                                   std::move(requests));
  if (!called) {
    s.healthError = called.error().message;
    s.agents = unknownLiveAgents(target.agentIds);
    s.agentsError = s.healthError;
    s.recentErrorsError = s.healthError;
    return;
  }
  const auto& health = called->payloads[0];
  if (!health) {
    s.healthError = health.error().message;
  } else if (!health->is_object()) {
    s.healthError = "the health payload is not an object";
  } else {
    s.healthOk = getBool(health->as_object(), "ok").value_or(false);
    if (!s.healthOk) s.healthError = "the health payload says ok: false";
  }
  const auto& listed = called->payloads[1];
  auto ids = listed ? agentIdsFromAgentsList(*listed) : Result<std::set<std::string>>(fail(listed.error()));
  if (ids) {
    s.agents = compareLiveAgents(target.agentIds, *ids);
  } else {
    s.agents = unknownLiveAgents(target.agentIds);
    s.agentsError = ids.error().message;
  }
  // Never print a secret: the connect credential and every variable the render references are masked.
  std::vector<std::string> secrets{credential.value};
  for (const auto& name : referencedEnvironmentVariables(target.configText)) {
    if (auto value = env ? env(name) : std::nullopt) secrets.push_back(*value);
  }
  const auto& tail = called->payloads[2];
  if (!tail) s.recentErrorsError = "logs.tail: " + tail.error().message;
  if (!health && !tail) {
    s.recentErrorsError = "health: " + health.error().message + "; logs.tail: " + tail.error().message;
    return;
  }
  s.recentErrors =
      recentErrorsFrom(health ? *health : json::value(nullptr), tail ? *tail : json::value(nullptr), secrets);
}

}  // namespace

std::vector<GatewayStatus> fleetStatus(std::vector<DeployUnit>& units,
                                       const std::map<std::string, AppliedGateway>& applied,
                                       const DeployContext& context, const EnvironmentLookup& env) {
  std::vector<GatewayStatus> out;
  for (auto& u : units) {
    GatewayStatus s;
    s.id = u.target.id;
    s.runtime = u.target.runtime;
    s.provider = u.target.provider;
    if (u.deployer) {
      s.runtimeStatus = u.deployer->status(u.target, context);
    } else {
      s.runtimeStatus.state = ProcessState::kStopped;
      s.runtimeStatus.detail = u.unsupported ? u.unsupported->message : "no deployer";
    }
    ProcessState state = s.runtimeStatus.state;
    bool asked = false;
    if (u.target.provider == "kubernetes") {
      // Its Service is inside the cluster: the StatefulSet's readiness (its /readyz probe) is the check.
      s.healthError = "not checked: the gateway runs in the cluster";
    } else if (state == ProcessState::kRunning || state == ProcessState::kDegraded) {
      auto credential = gatewayCredential(u.target.configText, env);
      if (!credential) {
        s.healthError = "not checked: " + credential.error().message;
      } else {
        s.healthChecked = true;
        asked = true;
        // Where this machine reaches it: directly, or through a tunnel over its ssh connection.
        auto address = reachGateway(u.deployer.get(), u.target, context);
        if (!address) {
          s.healthError = address.error().message;
          s.agents = unknownLiveAgents(u.target.agentIds);
          s.agentsError = s.healthError;
          s.recentErrorsError = s.healthError;
        } else {
          s.via = address->via();
          s.address = address->text();
          DeployTarget reached = u.target;
          reached.probeHost = address->host();
          reached.port = address->port();
          askGatewayLive(reached, *credential, context, env, s);
        }
        if (!s.healthOk && state == ProcessState::kRunning) {
          s.runtimeStatus.state = ProcessState::kDegraded;
          s.runtimeStatus.detail = "health call: " + s.healthError;
        }
      }
    }
    if (!asked) {
      s.agents = unknownLiveAgents(u.target.agentIds);
      s.agentsError = s.healthError.empty() ? "the gateway is " + std::string(processStateName(state)) : s.healthError;
      s.recentErrorsError = s.agentsError;
    }
    std::optional<std::string> deployed = s.runtimeStatus.remoteConfigSha256;
    if (deployed && deployed->empty()) deployed.reset();
    if (!s.runtimeStatus.remoteConfigSha256) {
      if (auto onDisk = readFile(deployedConfigPath(u, context.fleetStateDir))) deployed = sha256Hex(*onDisk);
    }
    if (deployed) s.deployedSha256 = *deployed;
    auto it = applied.find(u.target.id);
    if (it == applied.end()) {
      s.drift = "not-applied";
    } else {
      s.appliedRevision = it->second.revision;
      s.appliedSha256 = it->second.gateway.sha256;
      s.appliedVersion = it->second.gateway.version;
      s.drift = !deployed ? "missing" : s.deployedSha256 == s.appliedSha256 ? "in-sync" : "drifted";
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace talon::fleet
