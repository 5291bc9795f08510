// talon fleet plan|apply|revisions|start|stop|restart|logs|status: deploying an inventory's gateways
// through their providers and keeping its revisions (docs/fleet.md "Revisions, plan and apply"). The
// fleet state dir (--state-dir, TALON_FLEET_STATE_DIR, else <inventory dir>/.talon-fleet) holds the
// revisions, the process provider's pid and log files and the fleet's audit chain (the state store of
// that dir: `TALON_STATE_DIR=<fleet state dir> talon audit list|verify`).
#include "cli/commands_fleet_deploy.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "base/clock.h"
#include "base/file_io.h"
#include "base/hash.h"
#include "cli/cli_audit.h"
#include "cli/commands_fleet.h"
#include "cli/output.h"
#include "fleet/deployer.h"
#include "fleet/deployers/process_deployer.h"
#include "fleet/fleet_apply.h"
#include "fleet/gateway_address.h"
#include "fleet/preflight.h"
#include "fleet/render.h"
#include "fleet/revision.h"
#include "gateway/gateway.h"
#include "store/sqlite_store.h"

#ifndef TALON_VERSION
#define TALON_VERSION "0.1.0"
#endif

namespace talon::cli {

void addStateDirOption(CLI::App* cmd, const std::shared_ptr<FleetDeployOptions>& d) {
  cmd->add_option("--state-dir", d->stateDir,
                  "Fleet state dir (default: TALON_FLEET_STATE_DIR, else <inventory dir>/.talon-fleet)");
}

void addGatewayOption(CLI::App* cmd, const std::shared_ptr<FleetDeployOptions>& d) {
  cmd->add_option("--gateway", d->gateway, "Only this gateway");
}

void addTimeoutOption(CLI::App* cmd, const std::shared_ptr<FleetDeployOptions>& d) {
  cmd->add_option("--timeout", d->timeoutSeconds, "Seconds to wait for each gateway's /readyz (default 120)")
      ->check(CLI::Range(1.0, 3600.0));
}

std::filesystem::path deployStateDir(const FleetOptions& o, const FleetDeployOptions& d) {
  const char* env = std::getenv("TALON_FLEET_STATE_DIR");
  return fleet::resolveFleetStateDir(d.stateDir, env != nullptr ? env : "", fleetInventoryPath(o));
}

std::string osUserName() {
  const passwd* pw = ::getpwuid(::geteuid());
  if (pw != nullptr && pw->pw_name != nullptr) return pw->pw_name;
  return std::to_string(::geteuid());
}

std::optional<std::string> processEnvironmentValue(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

fleet::DeployContext deployContext(const std::filesystem::path& stateDir, const FleetDeployOptions& d, bool json) {
  fleet::DeployContext c;
  c.fleetStateDir = stateDir;
  std::error_code ec;
  c.talonBinary = std::filesystem::read_symlink("/proc/self/exe", ec);
  c.openclawBinary = fleet::findOpenClawBinary(processEnvironmentValue);
  c.talonVersion = TALON_VERSION;
  c.readyTimeout = std::chrono::milliseconds(static_cast<int64_t>(d.timeoutSeconds * 1000));
  // Progress goes to stderr so that stdout stays the result (a table, or JSON with --json).
  c.progress = [json](const std::string& line) {
    (void)json;
    std::cerr << line << std::endl;
  };
  return c;
}

fleet::GatewayReach unitsGatewayReach(const LoadedFleet& loaded, const fleet::DeployContext& context) {
  return
      [&loaded, &context](const std::string& id, const std::string& host, int port) -> Result<fleet::GatewayAddress> {
        for (const auto& u : loaded.units) {
          if (u.target.id != id) continue;
          fleet::DeployTarget t = u.target;
          t.probeHost = host;
          t.port = port;
          return fleet::reachGateway(u.deployer.get(), t, context);
        }
        return fleet::GatewayAddress(host, port, "direct");
      };
}

fleet::ConfigDigest unitsConfigDigest(const LoadedFleet& loaded, const fleet::DeployContext& context) {
  return [&loaded, &context](const std::string& id, const std::string& configPath) -> std::optional<std::string> {
    for (const auto& u : loaded.units) {
      if (u.target.id != id || !u.deployer) continue;
      fleet::DeployTarget t = u.target;
      t.paths.configPath = configPath;
      auto status = u.deployer->status(t, context);
      if (status.remoteConfigSha256) {
        if (status.remoteConfigSha256->empty()) return std::nullopt;
        return *status.remoteConfigSha256;
      }
    }
    auto onDisk = readFile(configPath);
    if (!onDisk) return std::nullopt;
    return sha256Hex(*onDisk);
  };
}

int auditFleetAction(const std::filesystem::path& stateDir, security::AuditEvent event, int exitCode) {
  store::SqliteStoreOptions options;
  options.path = gateway::storePathFor(stateDir);
  auto store = store::openSqliteStore(options);
  if (!store) {
    std::cerr << "error: cannot record the audit record in " << options.path.string() << ": " << store.error().message
              << "\n";
    return exitCode != 0 ? exitCode : ::talon::exitCode(store.error().code);
  }
  auto s = appendCliAudit(**store, stateDir, std::move(event));
  (*store)->close();
  if (!s) {
    std::cerr << "error: the audit record was not written: " << s.error().message << "\n";
    return exitCode != 0 ? exitCode : ::talon::exitCode(s.error().code);
  }
  return exitCode;
}

std::optional<LoadedFleet> loadForDeploy(const FleetOptions& o, const FleetDeployOptions& d, int& exitCode) {
  LoadedFleet out;
  out.fleet = loadFleetInventory(o, exitCode);
  if (!out.fleet) return std::nullopt;
  auto selected = fleet::selectGateways(*out.fleet, d.gateway);
  if (!selected) {
    exitCode = reportFleetError(selected.error());
    return std::nullopt;
  }
  out.renders = fleet::renderFleet(*out.fleet);
  out.units = fleet::deployUnits(*out.fleet, out.renders, *selected);
  out.stateDir = deployStateDir(o, d);
  return out;
}

fleet::PreflightReport deployPreflight(const LoadedFleet& loaded, const fleet::DeployContext& context,
                                       bool checkHostPorts) {
  // Preflight over the whole fleet; ports held by the fleet's own running gateways are not "in use".
  fleet::PreflightOptions preflightOptions;
  preflightOptions.checkHostPorts = checkHostPorts;
  auto all = fleet::selectGateways(*loaded.fleet, "");
  auto allUnits = fleet::deployUnits(*loaded.fleet, loaded.renders, *all);
  for (auto& u : allUnits) {
    if (!u.deployer) continue;
    auto st = u.deployer->status(u.target, context);
    if (st.state == fleet::ProcessState::kRunning || st.state == fleet::ProcessState::kDegraded)
      preflightOptions.runningGateways.insert(u.target.id);
  }
  return fleet::runPreflight(*loaded.fleet, loaded.renders, preflightOptions);
}

std::optional<std::map<std::string, fleet::AppliedGateway>> lastApplied(const std::filesystem::path& stateDir,
                                                                        int& exitCode) {
  auto revisions = fleet::RevisionStore::open(stateDir);
  if (!revisions) {
    exitCode = reportFleetError(revisions.error());
    return std::nullopt;
  }
  auto applied = (*revisions)->lastApplied();
  if (!applied) {
    exitCode = reportFleetError(applied.error());
    return std::nullopt;
  }
  return std::move(*applied);
}

namespace {

std::string changeMark(fleet::ConfigChange::Kind kind) {
  switch (kind) {
    case fleet::ConfigChange::Kind::kAdded:
      return "+";
    case fleet::ConfigChange::Kind::kRemoved:
      return "-";
    case fleet::ConfigChange::Kind::kChanged:
      break;
  }
  return "~";
}

/// True (after printing the error and setting `exitCode`) when `result` holds an error.
template <typename T>
bool failed(const Result<T>& result, int& exitCode) {
  if (result) return false;
  exitCode = reportFleetError(result.error());
  return true;
}

void registerPlan(CLI::App* group, int& exitCode) {
  auto o = std::make_shared<FleetOptions>();
  auto d = std::make_shared<FleetDeployOptions>();
  auto* cmd = group->add_subcommand(
      "plan", "Per gateway, the config keys added, changed or removed against its last applied revision");
  addGatewayOption(cmd, d);
  addStateDirOption(cmd, d);
  addFleetCommonOptions(cmd, o);
  cmd->callback([o, d, &exitCode] {
    auto loaded = loadForDeploy(*o, *d, exitCode);
    if (!loaded) return;
    auto applied = lastApplied(loaded->stateDir, exitCode);
    if (!applied) return;
    std::vector<fleet::RenderedGateway> selected;
    for (const auto& u : loaded->units) {
      for (const auto& r : loaded->renders)
        if (r.id == u.target.id) selected.push_back(r);
    }
    auto plans = fleet::planGateways(selected, *applied, fleet::unitManifests(loaded->units));
    std::size_t changed = 0;
    for (const auto& p : plans) changed += p.status != "unchanged" ? 1 : 0;
    if (o->json) {
      json::object j;
      j["stateDir"] = loaded->stateDir.string();
      j["changedGateways"] = changed;
      json::array a;
      for (const auto& p : plans) a.push_back(p.toJson());
      j["gateways"] = std::move(a);
      printJson(j);
    } else {
      for (const auto& p : plans) {
        if (p.status == "unchanged") {
          std::cout << p.id << ": no changes (revision " << *p.appliedRevision << ")\n";
          continue;
        }
        std::cout << p.id << ": "
                  << (p.status == "new" ? "new, not applied yet"
                                        : "changed since revision " + std::to_string(*p.appliedRevision))
                  << " (" << p.changes.size() << " key" << (p.changes.size() == 1 ? "" : "s") << ")\n";
        for (const auto& c : p.changes) std::cout << "  " << changeMark(c.kind) << " " << c.path << "\n";
        if (p.manifestChanged)
          std::cout << "  " << (p.appliedManifestSha256.empty() ? "+" : "~") << " " << p.manifestFile
                    << " (manifest)\n";
      }
      std::cout << (changed == 0 ? "no changes" : std::to_string(changed) + " gateway(s) to apply") << "\n";
    }
    exitCode = 0;
  });
}

void registerApply(CLI::App* group, int& exitCode) {
  auto o = std::make_shared<FleetOptions>();
  auto d = std::make_shared<FleetDeployOptions>();
  auto allowDirty = std::make_shared<bool>(false);
  auto noHostCheck = std::make_shared<bool>(false);
  auto actor = std::make_shared<std::string>();
  auto* cmd = group->add_subcommand(
      "apply",
      "Deploy every (or one) gateway through its provider, restarting those whose config changed, and "
      "record a revision");
  addGatewayOption(cmd, d);
  cmd->add_flag("--allow-dirty", *allowDirty, "Apply although the inventory has uncommitted changes in git");
  cmd->add_option("--actor", *actor, "Who applies (recorded in the revision and the audit log; default: the OS user)");
  cmd->add_flag("--no-host-check", *noHostCheck, "Preflight: do not bind-test the ports of stopped gateways");
  addTimeoutOption(cmd, d);
  addStateDirOption(cmd, d);
  addFleetCommonOptions(cmd, o);
  cmd->callback([o, d, allowDirty, noHostCheck, actor, &exitCode] {
    auto loaded = loadForDeploy(*o, *d, exitCode);
    if (!loaded) return;
    auto context = deployContext(loaded->stateDir, *d, o->json);
    std::string who = actor->empty() ? osUserName() : *actor;
    security::AuditEvent event;
    event.kind = "fleet.apply";
    event.actor = "cli:" + who;
    event.target = d->gateway.empty() ? "fleet" : "gateway:" + d->gateway;
    event.details["inventory"] = loaded->fleet->inventory().path().string();

    auto report = deployPreflight(*loaded, context, !*noHostCheck);
    if (!report.ok()) {
      for (const auto& f : report.findings) {
        if (f.isError())
          std::cerr << "preflight: " << f.id << " (" << fleetSourceWhere(f.location) << "): " << f.message << "\n";
      }
      std::cerr << "error: preflight failed (" << report.errorCount() << " error(s)); nothing was deployed\n";
      event.outcome = security::AuditOutcome::kDenied;
      event.details["reason"] = "preflight failed";
      exitCode = auditFleetAction(loaded->stateDir, std::move(event), 1);
      return;
    }

    auto revisions = fleet::RevisionStore::open(loaded->stateDir);
    if (failed(revisions, exitCode)) return;
    fleet::ApplyOptions options;
    options.actor = who;
    options.allowDirty = *allowDirty;
    options.env = processEnvironmentValue;
    auto applied = fleet::applyFleet(*loaded->fleet, loaded->renders, loaded->units, **revisions, context, options);
    if (!applied) {
      int code = reportFleetError(applied.error());
      event.outcome = applied.error().code == ErrorCode::kFailedPrecondition ? security::AuditOutcome::kDenied
                                                                             : security::AuditOutcome::kFailed;
      event.details["reason"] = applied.error().message;
      exitCode = auditFleetAction(loaded->stateDir, std::move(event), code);
      return;
    }
    json::object j = applied->toJson();
    j["stateDir"] = loaded->stateDir.string();
    event.details["result"] = j;
    event.outcome = applied->ok() ? security::AuditOutcome::kAllowed : security::AuditOutcome::kFailed;
    if (applied->revision) event.target = "revision:" + std::to_string(applied->revision->id);
    if (o->json) {
      printJson(j);
    } else {
      std::vector<std::vector<std::string>> rows;
      for (const auto& g : applied->gateways) {
        rows.push_back({g.id, g.planStatus, std::to_string(g.changes),
                        g.action ? std::string(fleet::applyActionName(*g.action)) : "failed",
                        g.error ? g.error->message : "-"});
      }
      printTable({"GATEWAY", "PLAN", "KEYS", "ACTION", "ERROR"}, rows);
      if (applied->revision) {
        std::cout << "recorded revision " << applied->revision->id << " (" << applied->revision->gateways.size()
                  << " gateway(s))\n";
      } else {
        std::cout << "no changes: no revision recorded\n";
      }
    }
    exitCode = auditFleetAction(loaded->stateDir, std::move(event), applied->ok() ? 0 : 1);
  });
}

void printRevision(const fleet::DeploymentRevision& r) {
  std::cout << "revision " << r.id << " (" << r.kind << (r.note.empty() ? "" : ": " + r.note)
            << ")\n  time:      " << formatRfc3339Ms(r.timeMs) << "\n  actor:     " << r.actor
            << "\n  inventory: " << r.inventoryPath << "\n  git:       "
            << (r.git ? (r.git->commit.empty() ? "(no commit)" : r.git->commit) + (r.git->dirty ? " (dirty)" : "")
                      : std::string("(not a git repository)"))
            << "\n";
  for (const auto& g : r.gateways) {
    std::cout << "  gateway " << g.id << " (" << g.runtime << (g.version.empty() ? "" : " " + g.version) << ", "
              << g.provider << ")"
              << (g.previousRevision ? ", previous revision " + std::to_string(*g.previousRevision) : ", first apply")
              << "\n    " << g.configPath << " sha256 " << g.sha256 << "\n";
    for (const auto& c : g.changes) std::cout << "    " << changeMark(c.kind) << " " << c.path << "\n";
  }
}

void registerRevisions(CLI::App* group, int& exitCode) {
  auto o = std::make_shared<FleetOptions>();
  auto d = std::make_shared<FleetDeployOptions>();
  auto* cmd = group->add_subcommand("revisions", "The deployment revisions recorded by `talon fleet apply`");
  addStateDirOption(cmd, d);
  addFleetCommonOptions(cmd, o);
  auto so = std::make_shared<FleetOptions>();
  auto sd = std::make_shared<FleetDeployOptions>();
  auto id = std::make_shared<int64_t>(0);
  auto* show = cmd->add_subcommand("show", "One revision: its gateways, files with SHA-256 and changed keys");
  show->add_option("id", *id, "Revision id")->required()->check(CLI::PositiveNumber);
  addStateDirOption(show, sd);
  addFleetCommonOptions(show, so);
  show->callback([so, sd, id, &exitCode] {
    auto revisions = fleet::RevisionStore::open(deployStateDir(*so, *sd));
    if (failed(revisions, exitCode)) return;
    auto r = (*revisions)->get(*id);
    if (failed(r, exitCode)) return;
    if (so->json) {
      printJson(r->toJson());
    } else {
      printRevision(*r);
    }
    exitCode = 0;
  });
  cmd->callback([cmd, o, d, &exitCode] {
    if (cmd->got_subcommand("show")) return;
    auto revisions = fleet::RevisionStore::open(deployStateDir(*o, *d));
    if (failed(revisions, exitCode)) return;
    auto all = (*revisions)->list();
    if (failed(all, exitCode)) return;
    if (o->json) {
      json::array a;
      for (const auto& r : *all) a.push_back(r.toJson(false));
      printJson(a);
    } else {
      std::vector<std::vector<std::string>> rows;
      for (const auto& r : *all) {
        std::string gateways;
        for (const auto& g : r.gateways) gateways += (gateways.empty() ? "" : ",") + g.id;
        rows.push_back(
            {std::to_string(r.id), r.kind, formatUtcForDisplay(r.timeMs), r.actor, gateways,
             r.git ? (r.git->commit.empty() ? "-" : r.git->commit.substr(0, 12)) + (r.git->dirty ? "+dirty" : "")
                   : "-"});
      }
      printTable({"ID", "KIND", "TIME", "ACTOR", "GATEWAYS", "COMMIT"}, rows);
    }
    exitCode = 0;
  });
}

/// start / stop / restart.
void registerLifecycle(CLI::App* group, int& exitCode, const std::string& name, const std::string& description) {
  auto o = std::make_shared<FleetOptions>();
  auto d = std::make_shared<FleetDeployOptions>();
  auto* cmd = group->add_subcommand(name, description);
  addGatewayOption(cmd, d);
  if (name != "stop") addTimeoutOption(cmd, d);
  addStateDirOption(cmd, d);
  addFleetCommonOptions(cmd, o);
  cmd->callback([o, d, name, &exitCode] {
    auto loaded = loadForDeploy(*o, *d, exitCode);
    if (!loaded) return;
    auto context = deployContext(loaded->stateDir, *d, o->json);
    if (name != "stop") {
      if (auto s = fleet::checkDeployable(loaded->units, context); !s) {
        exitCode = reportFleetError(s.error());
        return;
      }
    }
    if (name != "stop") {
      if (auto missing = fleet::missingEnvironment(loaded->units, processEnvironmentValue); !missing.empty()) {
        std::string list;
        for (const auto& m : missing) list += "\n  " + m;
        exitCode = reportFleetError(Error(
            ErrorCode::kFailedPrecondition,
            "the deployed configs reference environment variables that are not set; nothing was started:" + list));
        return;
      }
    }
    auto revisions = fleet::RevisionStore::open(loaded->stateDir);
    if (failed(revisions, exitCode)) return;
    auto lock = (*revisions)->lock();
    if (failed(lock, exitCode)) return;
    json::array results;
    bool ok = true;
    for (auto& u : loaded->units) {
      json::object r;
      r["gateway"] = u.target.id;
      Status s;
      if (!u.deployer) {
        s = fail(*u.unsupported);
      } else {
        if (name == "stop" || name == "restart") s = u.deployer->stop(u.target, context);
        if (s && name != "stop") s = u.deployer->start(u.target, context);
      }
      r["ok"] = static_cast<bool>(s);
      if (!s) {
        ok = false;
        r["error"] = s.error().message;
        if (!o->json) std::cerr << "error: " << s.error().message << "\n";
      }
      results.push_back(std::move(r));
    }
    if (o->json) printJson(json::object{{"ok", ok}, {"gateways", results}});
    security::AuditEvent event;
    event.kind = "fleet." + name;
    event.actor = "cli:" + osUserName();
    event.target = d->gateway.empty() ? "fleet" : "gateway:" + d->gateway;
    event.outcome = ok ? security::AuditOutcome::kAllowed : security::AuditOutcome::kFailed;
    event.details["gateways"] = results;
    exitCode = auditFleetAction(loaded->stateDir, std::move(event), ok ? 0 : 1);
  });
}

void registerLogs(CLI::App* group, int& exitCode) {
  auto o = std::make_shared<FleetOptions>();
  auto d = std::make_shared<FleetDeployOptions>();
  auto lines = std::make_shared<std::size_t>(100);
  auto* cmd = group->add_subcommand("logs", "The last lines of a gateway's log");
  cmd->add_option("gateway", d->gateway, "Gateway id")->required();
  cmd->add_option("-n,--lines", *lines, "Lines (default 100)")->check(CLI::Range(1, 1000000));
  addStateDirOption(cmd, d);
  addFleetCommonOptions(cmd, o);
  cmd->callback([o, d, lines, &exitCode] {
    auto loaded = loadForDeploy(*o, *d, exitCode);
    if (!loaded) return;
    auto& u = loaded->units.front();
    if (!u.deployer) {
      exitCode = reportFleetError(*u.unsupported);
      return;
    }
    auto context = deployContext(loaded->stateDir, *d, o->json);
    auto text = u.deployer->logs(u.target, context, *lines);
    if (failed(text, exitCode)) return;
    if (o->json) {
      printJson(json::object{{"gateway", u.target.id}, {"log", *text}});
    } else {
      std::cout << *text;
    }
    exitCode = 0;
  });
}

/// A gateway's agents on one line, then its recent errors, one per line.
void printStatusLive(const fleet::GatewayStatus& s) {
  if (!s.agentsError.empty()) {
    std::cout << s.id << ": agents unknown (" << s.agentsError << ")\n";
  } else if (s.agents.empty()) {
    std::cout << s.id << ": agents none\n";
  } else {
    std::string line;
    for (const auto& a : s.agents) line += (line.empty() ? "" : ", ") + a.id + " " + a.state;
    std::cout << s.id << ": agents " << line << "\n";
  }
  if (!s.recentErrorsError.empty() && s.recentErrorsError != s.agentsError)
    std::cout << s.id << ": recent errors not read (" << s.recentErrorsError << ")\n";
  if (s.recentErrors.empty()) return;
  std::cout << s.id << ": recent errors (newest first)\n";
  for (const auto& e : s.recentErrors)
    std::cout << "  " << (e.time.empty() ? "now" : e.time) << "  " << e.source << "  " << e.message << "\n";
}

void registerStatus(CLI::App* group, int& exitCode) {
  auto o = std::make_shared<FleetOptions>();
  auto d = std::make_shared<FleetDeployOptions>();
  auto* cmd =
      group->add_subcommand("status",
                            "Each gateway's process state, /readyz, health, agents, recent errors, applied revision "
                            "and config drift");
  addGatewayOption(cmd, d);
  addStateDirOption(cmd, d);
  addFleetCommonOptions(cmd, o);
  cmd->callback([o, d, &exitCode] {
    auto loaded = loadForDeploy(*o, *d, exitCode);
    if (!loaded) return;
    auto applied = lastApplied(loaded->stateDir, exitCode);
    if (!applied) return;
    auto context = deployContext(loaded->stateDir, *d, o->json);
    auto statuses = fleet::fleetStatus(loaded->units, *applied, context, processEnvironmentValue);
    if (o->json) {
      json::array a;
      for (const auto& s : statuses) a.push_back(s.toJson());
      printJson(json::object{{"stateDir", loaded->stateDir.string()}, {"gateways", a}});
    } else {
      std::vector<std::vector<std::string>> rows;
      for (const auto& s : statuses) {
        const auto& rz = s.runtimeStatus.readyz;
        rows.push_back({s.id, s.runtime, s.provider, std::string(fleet::processStateName(s.runtimeStatus.state)),
                        s.runtimeStatus.pid ? std::to_string(*s.runtimeStatus.pid) : "-",
                        rz.status != 0 ? std::to_string(rz.status) : "-",
                        s.healthChecked ? (s.healthOk ? "ok" : "failed") : "-",
                        s.appliedRevision ? std::to_string(*s.appliedRevision) : "-",
                        s.appliedVersion.empty() ? "-" : s.appliedVersion, s.drift});
      }
      printTable({"GATEWAY", "RUNTIME", "PROVIDER", "STATE", "PID", "READYZ", "HEALTH", "REVISION", "VERSION", "DRIFT"},
                 rows);
      for (const auto& s : statuses) {
        std::cout << "\n";
        if (!s.runtimeStatus.detail.empty()) std::cout << s.id << ": " << s.runtimeStatus.detail << "\n";
        if (!s.healthChecked && !s.healthError.empty()) std::cout << s.id << ": health " << s.healthError << "\n";
        printStatusLive(s);
      }
    }
    exitCode = 0;
  });
}

}  // namespace

void registerFleetDeployCommands(CLI::App* group, int& exitCode) {
  registerFleetRolloutCommands(group, exitCode);
  registerPlan(group, exitCode);
  registerApply(group, exitCode);
  registerRevisions(group, exitCode);
  registerLifecycle(group, exitCode, "start", "Start stopped gateways with their deployed config and wait for /readyz");
  registerLifecycle(group, exitCode, "stop", "Stop running gateways (SIGTERM, then SIGKILL after 15 s)");
  registerLifecycle(group, exitCode, "restart", "Stop and start gateways, waiting for /readyz");
  registerLogs(group, exitCode);
  registerStatus(group, exitCode);
  registerFleetDriftCommand(group, exitCode);
  registerFleetServeCommands(group, exitCode);
  registerFleetAgentsCommands(group, exitCode);
}

}  // namespace talon::cli
