#include "fleet/rollout.h"

#include <algorithm>
#include <thread>

#include "base/hash.h"
#include "fleet/gateway_health.h"

namespace talon::fleet {

namespace {

constexpr auto kRolloutProbeTimeout = std::chrono::milliseconds(2000);
constexpr auto kRolloutHealthTimeout = std::chrono::milliseconds(5000);

bool rolloutAllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// The keys that differ between two rendered config texts (every key of `after` when `before` is empty).
std::vector<ConfigChange> rolloutChanges(const std::string& before, const std::string& after) {
  auto parse = [](const std::string& text) {
    auto v = parseJson(text);
    return v && v->is_object() ? v->as_object() : json::object{};
  };
  return diffConfigs(before.empty() ? json::object{} : parse(before), parse(after));
}

GatewayRevision rolloutGatewayRevision(const DeployTarget& t, std::optional<int64_t> previous,
                                       const std::string& previousContent) {
  GatewayRevision g;
  g.id = t.id;
  g.runtime = t.runtime;
  g.provider = t.provider;
  g.configPath = t.paths.configPath;
  g.content = t.configText;
  g.sha256 = sha256Hex(t.configText);
  g.previousRevision = previous;
  g.changes = rolloutChanges(previousContent, t.configText);
  g.version = t.version;
  g.binary = t.binary;
  return g;
}

/// `t` as the gate's probes see it: its protocol port at `address` (gateway_address.h).
DeployTarget rolloutReachedTarget(const DeployTarget& t, const GatewayAddress& address) {
  DeployTarget reached = t;
  reached.probeHost = address.host();
  reached.port = address.port();
  return reached;
}

}  // namespace

std::string RolloutTarget::describe() const {
  switch (kind) {
    case Kind::kRevision:
      return "revision " + std::to_string(revision);
    case Kind::kVersion:
      return "version " + version;
    case Kind::kInventory:
      break;
  }
  return "the inventory";
}

Result<RolloutTarget> parseRolloutTarget(std::string_view to) {
  RolloutTarget t;
  if (to.empty()) return t;
  std::string_view rest = to;
  bool explicitRevision = rest.rfind("revision:", 0) == 0;
  bool explicitVersion = rest.rfind("version:", 0) == 0;
  if (explicitRevision) rest.remove_prefix(9);
  if (explicitVersion) rest.remove_prefix(8);
  if (explicitRevision || (!explicitVersion && rolloutAllDigits(rest))) {
    if (!rolloutAllDigits(rest) || rest.size() > 15 || std::stoll(std::string(rest)) <= 0)
      return fail(ErrorCode::kInvalidArgument,
                  "--to " + std::string(to) + ": a revision is a positive number (e.g. --to revision:3)");
    t.kind = RolloutTarget::Kind::kRevision;
    t.revision = std::stoll(std::string(rest));
    return t;
  }
  if (rest.empty()) return fail(ErrorCode::kInvalidArgument, "--to " + std::string(to) + ": the version is empty");
  t.kind = RolloutTarget::Kind::kVersion;
  t.version = std::string(rest);
  return t;
}

std::string RolloutStep::label() const { return kind == "canary" ? "canary" : kind + " " + std::to_string(number); }

Result<std::vector<RolloutStep>> planRolloutSteps(std::vector<std::string> gatewayIds, std::size_t canary,
                                                  std::size_t wave) {
  if (canary == 0) return fail(ErrorCode::kInvalidArgument, "--canary must be at least 1");
  if (wave == 0) return fail(ErrorCode::kInvalidArgument, "--wave must be at least 1");
  std::sort(gatewayIds.begin(), gatewayIds.end());
  gatewayIds.erase(std::unique(gatewayIds.begin(), gatewayIds.end()), gatewayIds.end());
  std::vector<RolloutStep> steps;
  std::size_t i = 0;
  if (!gatewayIds.empty()) {
    RolloutStep c;
    c.kind = "canary";
    for (; i < gatewayIds.size() && i < canary; ++i) c.gateways.push_back(gatewayIds[i]);
    steps.push_back(std::move(c));
  }
  for (std::size_t n = 1; i < gatewayIds.size(); ++n) {
    RolloutStep w;
    w.kind = "wave";
    w.number = n;
    for (std::size_t k = 0; k < wave && i < gatewayIds.size(); ++k, ++i) w.gateways.push_back(gatewayIds[i]);
    steps.push_back(std::move(w));
  }
  return steps;
}

GateOutcome evaluateGate(const ProbeResult& readyz, const Result<json::object>& health) {
  GateOutcome out;
  if (!readyz.ok()) {
    out.check = "readyz";
    out.detail = readyz.status != 0 ? "/readyz answered " + std::to_string(readyz.status)
                                    : "/readyz unreachable: " + readyz.error;
    return out;
  }
  if (!health) {
    out.check = "health";
    out.detail = "health call: " + health.error().message;
    return out;
  }
  if (!getBool(*health, "ok").value_or(false)) {
    out.check = "health";
    out.detail = "the health payload says ok: false";
    return out;
  }
  if (const json::object* channels = getObject(*health, "channels")) {
    for (const auto& ch : *channels) {
      if (!ch.value().is_object()) continue;
      const json::object* accounts = getObject(ch.value().as_object(), "accounts");
      if (accounts == nullptr) continue;
      for (const auto& acc : *accounts) {
        if (!acc.value().is_object()) continue;
        const auto& a = acc.value().as_object();
        if (getBool(a, "enabled") == false || getBool(a, "configured") == false) continue;
        std::string name = std::string(ch.key()) + "/" + std::string(acc.key());
        std::string lastError(getString(a, "lastError").value_or(""));
        if (getBool(a, "running") == false) {
          out.check = "channels";
          out.detail = "channel account " + name + " is not running" + (lastError.empty() ? "" : ": " + lastError);
          return out;
        }
        const json::object* probe = getObject(a, "probe");
        if (probe != nullptr && getBool(*probe, "ok") == false) {
          std::string err(getString(*probe, "error").value_or(lastError));
          out.check = "channels";
          out.detail = "channel account " + name + ": probe failed" + (err.empty() ? "" : ": " + err);
          return out;
        }
      }
    }
  }
  out.ok = true;
  return out;
}

GateOutcome evaluateProbeTurn(const ProbeTurnSpec& spec, const Result<ProbeTurnReply>& reply) {
  GateOutcome out;
  out.check = "turn";
  if (!reply) {
    out.detail = "probe turn: " + reply.error().message;
    return out;
  }
  auto lower = [](std::string s) {
    for (char& c : s) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    return s;
  };
  std::string excerpt = reply->text.size() > 200 ? reply->text.substr(0, 200) + "…" : reply->text;
  if (reply->text.find_first_not_of(" \t\r\n") == std::string::npos) {
    out.detail = "probe turn: the reply is empty";
    return out;
  }
  if (!spec.expect.empty() && lower(reply->text).find(lower(spec.expect)) == std::string::npos) {
    out.detail = "probe turn: the reply does not contain \"" + spec.expect + "\": \"" + excerpt + "\"";
    return out;
  }
  out.ok = true;
  out.check.clear();
  out.detail = "probe turn answered: \"" + excerpt + "\"";
  return out;
}

GateProbes liveGateProbes(const DeployContext& context, EnvironmentLookup env) {
  GateProbes p;
  p.readyz = [](const DeployTarget& t) { return probeHttp(t.probeHost, t.port, "/readyz", kRolloutProbeTimeout); };
  std::string version = context.talonVersion;
  p.health = [env, version](const DeployTarget& t) -> Result<json::object> {
    auto credential = gatewayCredential(t.configText, env);
    if (!credential) return fail(credential.error());
    return callGatewayHealth(t.probeHost, t.port, *credential, version, kRolloutHealthTimeout, /*probe=*/true);
  };
  p.turn = [env, version](const DeployTarget& t) -> Result<ProbeTurnReply> {
    if (!t.probeTurn) return fail(ErrorCode::kInvalidArgument, "gateway " + t.id + " has no probe turn");
    auto credential = gatewayCredential(t.configText, env);
    if (!credential) return fail(credential.error());
    return callGatewayAgentTurn(t.probeHost, t.port, *credential, version, t.probeTurn->timeout, t.probeTurn->message,
                                t.probeTurn->agentId, "fleet-probe");
  };
  return p;
}

GateOutcome waitForGate(const DeployTarget& target, const GateProbes& probes, const Clock& clock,
                        const std::function<void(std::chrono::milliseconds)>& sleep, std::chrono::milliseconds timeout,
                        std::chrono::milliseconds interval) {
  auto deadline = clock.steadyNow() + timeout;
  while (true) {
    ProbeResult readyz = probes.readyz(target);
    GateOutcome out = readyz.ok() ? evaluateGate(readyz, probes.health(target))
                                  : evaluateGate(readyz, fail(ErrorCode::kUnavailable, "not called: /readyz failed"));
    if (out.ok || clock.steadyNow() >= deadline) return out;
    sleep(interval);
  }
}

DeployTarget targetAtRevision(const DeployTarget& base, const GatewayRevision& revision) {
  DeployTarget t = base;
  t.configText = revision.content;
  if (!revision.configPath.empty()) t.paths.configPath = revision.configPath;
  t.version = revision.version;
  t.binary = revision.binary;
  // A compose or kubernetes gateway goes back to the manifest that revision deployed too.
  if (!revision.manifestContent.empty()) t.manifestText = revision.manifestContent;
  if (auto v = parseJson(revision.content); v && v->is_object()) {
    if (const json::object* gw = getObject(v->as_object(), "gateway")) {
      if (auto port = getInt(*gw, "port")) t.port = static_cast<int>(*port);
    }
  }
  return t;
}

bool RolloutUnit::changed() const {
  if (!lastGood) return true;
  return lastGood->gateway.sha256 != sha256Hex(desired.configText) || lastGood->gateway.binary != desired.binary;
}

Result<std::vector<RolloutUnit>> resolveRolloutUnits(const EffectiveFleet& fleet, std::vector<DeployUnit>& units,
                                                     const RolloutTarget& target,
                                                     const std::map<std::string, AppliedGateway>& applied,
                                                     const std::vector<DeploymentRevision>& revisions) {
  std::map<std::string, const GatewayRevision*> atRevision;
  if (target.kind == RolloutTarget::Kind::kRevision) {
    bool found = false;
    for (const auto& r : revisions) {
      if (r.id > target.revision) break;
      found = found || r.id == target.revision;
      for (const auto& g : r.gateways) atRevision[g.id] = &g;
    }
    if (!found) return fail(ErrorCode::kNotFound, "no revision " + std::to_string(target.revision));
  }
  std::vector<RolloutUnit> out;
  std::vector<std::string> uncatalogued;
  for (auto& u : units) {
    if (u.unsupported) return fail(*u.unsupported);
    RolloutUnit r;
    r.deployer = u.deployer.get();
    if (auto it = applied.find(u.target.id); it != applied.end()) r.lastGood = it->second;
    switch (target.kind) {
      case RolloutTarget::Kind::kInventory:
        r.desired = u.target;
        break;
      case RolloutTarget::Kind::kRevision: {
        auto it = atRevision.find(u.target.id);
        if (it == atRevision.end()) continue;  // not deployed as of that revision: left out
        r.desired = targetAtRevision(u.target, *it->second);
        break;
      }
      case RolloutTarget::Kind::kVersion: {
        r.desired = u.target;
        const RuntimeVersion* v = fleet.inventory().findRuntimeVersion(u.target.runtime, target.version);
        if (v == nullptr) {
          uncatalogued.push_back(u.target.id + " (" + u.target.runtime + ")");
          continue;
        }
        r.desired.version = v->version;
        r.desired.binary = v->binary;
        break;
      }
    }
    out.push_back(std::move(r));
  }
  if (!uncatalogued.empty()) {
    std::string gateways, known;
    for (const auto& g : uncatalogued) gateways += (gateways.empty() ? "" : ", ") + g;
    std::map<std::string, std::string> byRuntime;
    for (const auto& v : fleet.inventory().runtimeVersions())
      byRuntime[v.runtime] += (byRuntime[v.runtime].empty() ? "" : ", ") + v.version;
    for (const auto& [rt, list] : byRuntime) known += "; runtimes." + rt + ".versions lists: " + list;
    return fail(ErrorCode::kInvalidArgument, "version " + target.version +
                                                 " is not in the inventory's version catalog for gateway(s) " +
                                                 gateways + (known.empty() ? "; the catalog is empty" : known));
  }
  return out;
}

int RolloutReport::exitCode() const {
  if (failedStep) return rollbackFailed ? 8 : 7;
  if (stoppedBy) return 1;
  return 0;
}

json::object RolloutReport::toJson() const {
  json::object j;
  j["ok"] = ok();
  j["target"] = target;
  j["exitCode"] = exitCode();
  json::array s;
  for (const auto& step : steps) {
    json::array g;
    for (const auto& id : step.gateways) g.push_back(json::string(id));
    s.push_back(json::object{{"step", step.label()}, {"gateways", std::move(g)}});
  }
  j["steps"] = std::move(s);
  json::array gws;
  for (const auto& g : gateways) {
    json::object o;
    o["gateway"] = g.id;
    o["state"] = g.state;
    if (!g.step.empty()) o["step"] = g.step;
    if (g.fromRevision) o["fromRevision"] = *g.fromRevision;
    if (!g.fromVersion.empty()) o["fromVersion"] = g.fromVersion;
    if (!g.toVersion.empty()) o["toVersion"] = g.toVersion;
    if (g.backup) o["backup"] = *g.backup;
    if (!g.error.empty()) o["error"] = g.error;
    gws.push_back(std::move(o));
  }
  j["gateways"] = std::move(gws);
  json::array revs;
  for (auto id : revisions) revs.push_back(id);
  j["revisions"] = std::move(revs);
  if (rollbackRevision) j["rollbackRevision"] = *rollbackRevision;
  if (failedStep) j["failedStep"] = *failedStep;
  if (stoppedBy) j["error"] = stoppedBy->message;
  return j;
}

Result<RolloutReport> runRollout(std::vector<RolloutUnit>& units, RevisionStore& revisions, BackupStore& backups,
                                 const DeployContext& context, const GateProbes& probes,
                                 const RolloutOptions& options) {
  const Clock& clock = options.clock ? *options.clock : *SystemClock::instance();
  std::function<void(std::chrono::milliseconds)> sleep = options.sleep;
  if (!sleep) sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  auto state = [&](const std::string& gateway, const std::string& s, const std::string& detail) {
    if (options.onState) options.onState(gateway, s, detail);
  };

  RolloutReport report;
  report.target = options.targetDescription;
  std::vector<std::string> changed;
  std::map<std::string, std::size_t> byId;
  for (std::size_t i = 0; i < units.size(); ++i) {
    byId[units[i].desired.id] = i;
    if (units[i].changed()) changed.push_back(units[i].desired.id);
  }
  auto steps = planRolloutSteps(changed, options.canary, options.wave);
  if (!steps) return fail(steps.error());
  report.steps = *steps;

  auto lock = revisions.lock();
  if (!lock) return fail(lock.error());

  std::map<std::string, std::size_t> resultIndex;
  for (const auto& [id, i] : byId) {
    RolloutGatewayResult r;
    r.id = id;
    const RolloutUnit& u = units[i];
    if (u.lastGood) {
      r.fromRevision = u.lastGood->revision;
      r.fromVersion = u.lastGood->gateway.version;
    }
    r.toVersion = u.desired.version;
    if (!u.changed()) r.state = "unchanged";
    resultIndex[id] = report.gateways.size();
    report.gateways.push_back(std::move(r));
  }

  DeployContext deployContext = context;
  deployContext.readyTimeout = options.gateTimeout;

  auto record = [&](const std::string& kind, const std::string& note,
                    std::vector<GatewayRevision> gateways) -> Result<int64_t> {
    DeploymentRevision rev;
    auto id = revisions.nextId();
    if (!id) return fail(id.error());
    rev.id = *id;
    rev.kind = kind;
    rev.note = note;
    rev.actor = options.actor;
    rev.timeMs = clock.nowMs();
    rev.inventoryPath = options.inventoryPath;
    rev.git = options.git;
    rev.gateways = std::move(gateways);
    if (auto s = revisions.record(rev); !s) return fail(s.error());
    return rev.id;
  };

  for (const auto& step : report.steps) {
    for (const auto& id : step.gateways) report.gateways[resultIndex[id]].step = step.label();

    // A backup of every gateway in the step before it is touched.
    auto backupId = backups.nextId();
    if (!backupId) {
      report.stoppedBy = backupId.error();
      return report;
    }
    for (const auto& id : step.gateways) {
      const RolloutUnit& u = units[byId[id]];
      // The gateway's files as they are now: its current (last known-good) paths.
      DeployTarget current = u.lastGood ? targetAtRevision(u.desired, u.lastGood->gateway) : u.desired;
      auto b =
          backups.backupGateway(*backupId, current, u.lastGood ? std::optional(u.lastGood->revision) : std::nullopt,
                                "rollout", clock.nowMs(), u.deployer, &deployContext);
      if (!b) {
        Error e = b.error();
        e.message = "backup of gateway " + id + " before the " + step.label() +
                    " step failed; the rollout stopped: " + e.message;
        report.stoppedBy = e;
        return report;
      }
      report.gateways[resultIndex[id]].backup = *backupId;
      state(id, "backed-up", "backup " + std::to_string(*backupId));
    }

    // Deploy and gate each gateway in turn; the first failure stops the step.
    std::vector<std::string> touched;
    std::optional<std::string> failure;
    for (const auto& id : step.gateways) {
      RolloutUnit& u = units[byId[id]];
      touched.push_back(id);
      state(id, "deploying", step.label() + (u.desired.version.empty() ? "" : ", version " + u.desired.version));
      GateOutcome gate;
      if (auto action = u.deployer->apply(u.desired, deployContext, /*configChanged=*/true); !action) {
        gate.check = "deploy";
        gate.detail = action.error().message;
      } else {
        state(id, "gating", "");
        // The gate's probes reach the gateway where this machine can: directly, or through its ssh tunnel.
        auto address = reachGateway(u.deployer, u.desired, deployContext);
        if (!address) {
          gate.check = "reach";
          gate.detail = address.error().message;
        } else {
          DeployTarget reached = rolloutReachedTarget(u.desired, *address);
          gate = waitForGate(reached, probes, clock, sleep, options.gateTimeout, options.gateInterval);
          if (gate.ok && u.desired.probeTurn) {
            state(id, "probing",
                  "probe turn" + (u.desired.probeTurn->agentId.empty() ? std::string()
                                                                       : " to agent " + u.desired.probeTurn->agentId));
            gate = probes.turn ? evaluateProbeTurn(*u.desired.probeTurn, probes.turn(reached))
                               : evaluateProbeTurn(*u.desired.probeTurn,
                                                   fail(ErrorCode::kUnsupported, "no probe-turn runner is set"));
          }
        }
      }
      if (!gate.ok) {
        failure = id + ": " + gate.check + ": " + gate.detail;
        report.gateways[resultIndex[id]].error = gate.check + ": " + gate.detail;
        state(id, "gate-failed", gate.check + ": " + gate.detail);
        break;
      }
      state(id, "healthy", gate.detail);
    }

    if (!failure) {
      std::vector<GatewayRevision> gws;
      for (const auto& id : step.gateways) {
        const RolloutUnit& u = units[byId[id]];
        gws.push_back(rolloutGatewayRevision(u.desired, u.lastGood ? std::optional(u.lastGood->revision) : std::nullopt,
                                             u.lastGood ? u.lastGood->gateway.content : ""));
        report.gateways[resultIndex[id]].state = "updated";
      }
      auto rev = record("rollout", "rollout to " + options.targetDescription + ", " + step.label(), std::move(gws));
      if (!rev) return fail(rev.error());
      report.revisions.push_back(*rev);
      continue;
    }

    // The gate failed: the step's deployed gateways go back to their last known-good revision.
    report.failedStep = step.label();
    std::vector<GatewayRevision> restored;
    for (const auto& id : touched) {
      RolloutUnit& u = units[byId[id]];
      auto& result = report.gateways[resultIndex[id]];
      if (!u.lastGood) {
        state(id, "rolling-back", "no earlier revision: stopping it");
        if (auto s = u.deployer->stop(u.desired, deployContext); !s) {
          result.state = "rollback-failed";
          result.error += (result.error.empty() ? "" : "; ") + std::string("stop: ") + s.error().message;
          report.rollbackFailed = true;
          state(id, "rollback-failed", s.error().message);
        } else {
          result.state = "stopped";
          state(id, "stopped", "");
        }
        continue;
      }
      DeployTarget good = targetAtRevision(u.desired, u.lastGood->gateway);
      state(id, "rolling-back", "to revision " + std::to_string(u.lastGood->revision));
      GateOutcome gate;
      // The rollback waits for /readyz as long as a deploy does (`context`): the target is known to start,
      // and a short gate timeout must not fail the return to it.
      if (auto action = u.deployer->apply(good, context, /*configChanged=*/true); !action) {
        gate.check = "deploy";
        gate.detail = action.error().message;
      } else if (auto address = reachGateway(u.deployer, good, context); !address) {
        gate.check = "reach";
        gate.detail = address.error().message;
      } else {
        gate = waitForGate(rolloutReachedTarget(good, *address), probes, clock, sleep, options.gateTimeout,
                           options.gateInterval);
      }
      if (!gate.ok) {
        result.state = "rollback-failed";
        result.error +=
            (result.error.empty() ? "" : "; ") + std::string("rollback: ") + gate.check + ": " + gate.detail;
        report.rollbackFailed = true;
        state(id, "rollback-failed", gate.check + ": " + gate.detail);
        continue;
      }
      result.state = "rolled-back";
      state(id, "rolled-back", "healthy on revision " + std::to_string(u.lastGood->revision));
      GatewayRevision g = u.lastGood->gateway;
      g.previousRevision = u.lastGood->revision;
      g.changes.clear();
      restored.push_back(std::move(g));
    }
    for (const auto& id : step.gateways) {
      auto& result = report.gateways[resultIndex[id]];
      if (std::find(touched.begin(), touched.end(), id) == touched.end()) result.state = "not-deployed";
    }
    if (!restored.empty()) {
      auto rev = record("rollback",
                        "rollback of the " + step.label() + " step of the rollout to " + options.targetDescription +
                            " (" + *failure + ")",
                        std::move(restored));
      if (!rev) return fail(rev.error());
      report.rollbackRevision = *rev;
    }
    break;
  }
  return report;
}

}  // namespace talon::fleet
