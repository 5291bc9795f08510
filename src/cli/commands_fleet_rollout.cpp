// talon fleet backup [verify|list] | restore | rollout: backups of deployed gateways and health-gated
// rollouts with automatic rollback (docs/fleet.md "Backup and restore", "Rollouts"). Progress goes to
// stderr, one line per gateway state change; the result (a table, or JSON with --json) to stdout.
#include <algorithm>
#include <iostream>

#include "base/clock.h"
#include "base/file_io.h"
#include "base/hash.h"
#include "cli/commands_fleet_deploy.h"
#include "cli/output.h"
#include "fleet/backup.h"
#include "fleet/backup_schedule.h"
#include "fleet/inventory_git.h"
#include "fleet/rollout.h"

namespace talon::cli {

namespace {

/// True (after printing the error and setting `exitCode`) when `result` holds an error.
template <typename T>
bool rolloutCliFailed(const Result<T>& result, int& exitCode) {
  if (result) return false;
  exitCode = reportFleetError(result.error());
  return true;
}

std::string backupRevisionText(const fleet::GatewayBackup& b) { return b.revision ? std::to_string(*b.revision) : "-"; }

void printBackups(const std::vector<fleet::GatewayBackup>& backups) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& b : backups) {
    std::uint64_t bytes = 0;
    for (const auto& f : b.files) bytes += f.size;
    rows.push_back({std::to_string(b.id), b.gateway, formatUtcForDisplay(b.timeMs), b.reason, backupRevisionText(b),
                    b.version.empty() ? "-" : b.version, std::to_string(b.files.size()), std::to_string(bytes)});
  }
  printTable({"ID", "GATEWAY", "TIME", "REASON", "REVISION", "VERSION", "FILES", "BYTES"}, rows);
}

json::array backupsJson(const std::vector<fleet::GatewayBackup>& backups) {
  json::array a;
  for (const auto& b : backups) a.push_back(b.toJson());
  return a;
}

void registerBackup(CLI::App* group, int& exitCode) {
  auto o = std::make_shared<FleetOptions>();
  auto d = std::make_shared<FleetDeployOptions>();
  auto* cmd = group->add_subcommand(
      "backup", "Back up each (or one) gateway's deployed config and state dir, with a manifest of SHA-256 digests");
  addGatewayOption(cmd, d);
  addStateDirOption(cmd, d);
  addFleetCommonOptions(cmd, o);

  auto vo = std::make_shared<FleetOptions>();
  auto vd = std::make_shared<FleetDeployOptions>();
  auto verifyId = std::make_shared<int64_t>(0);
  auto* verify =
      cmd->add_subcommand("verify", "Re-read every file of the backups (or of backup ID) against its manifest");
  verify->add_option("id", *verifyId, "Backup id (default: every backup)")->check(CLI::PositiveNumber);
  addGatewayOption(verify, vd);
  addStateDirOption(verify, vd);
  addFleetCommonOptions(verify, vo);
  verify->callback([vo, vd, verifyId, &exitCode] {
    auto backups = fleet::BackupStore::open(deployStateDir(*vo, *vd));
    if (rolloutCliFailed(backups, exitCode)) return;
    auto list = *verifyId > 0 ? (*backups)->get(*verifyId, vd->gateway) : (*backups)->list();
    if (rolloutCliFailed(list, exitCode)) return;
    bool ok = true;
    json::array results;
    for (const auto& b : *list) {
      if (!vd->gateway.empty() && b.gateway != vd->gateway) continue;
      auto problems = (*backups)->verify(b);
      ok = ok && problems.empty();
      json::array p;
      for (const auto& pr : problems) p.push_back(json::object{{"path", pr.path}, {"message", pr.message}});
      if (!vo->json) {
        std::cout << "backup " << b.id << " " << b.gateway << ": "
                  << (problems.empty() ? "ok (" + std::to_string(b.files.size()) + " files)" : "FAILED") << "\n";
        for (const auto& pr : problems) std::cout << "  " << pr.path << ": " << pr.message << "\n";
      }
      results.push_back(
          json::object{{"backup", b.id}, {"gateway", b.gateway}, {"ok", problems.empty()}, {"problems", std::move(p)}});
    }
    if (vo->json) printJson(json::object{{"ok", ok}, {"backups", std::move(results)}});
    exitCode = ok ? 0 : 1;
  });

  registerFleetBackupDrill(cmd, exitCode);

  auto lo = std::make_shared<FleetOptions>();
  auto ld = std::make_shared<FleetDeployOptions>();
  auto* list = cmd->add_subcommand("list", "The backups kept in the fleet state dir");
  addStateDirOption(list, ld);
  addFleetCommonOptions(list, lo);
  list->callback([lo, ld, &exitCode] {
    auto backups = fleet::BackupStore::open(deployStateDir(*lo, *ld));
    if (rolloutCliFailed(backups, exitCode)) return;
    auto all = (*backups)->list();
    if (rolloutCliFailed(all, exitCode)) return;
    if (lo->json) {
      printJson(backupsJson(*all));
    } else {
      printBackups(*all);
    }
    exitCode = 0;
  });

  cmd->callback([cmd, o, d, &exitCode] {
    if (cmd->got_subcommand("verify") || cmd->got_subcommand("list") || cmd->got_subcommand("drill")) return;
    auto loaded = loadForDeploy(*o, *d, exitCode);
    if (!loaded) return;
    auto revisions = fleet::RevisionStore::open(loaded->stateDir);
    if (rolloutCliFailed(revisions, exitCode)) return;
    auto lock = (*revisions)->lock();
    if (rolloutCliFailed(lock, exitCode)) return;
    auto applied = (*revisions)->lastApplied();
    if (rolloutCliFailed(applied, exitCode)) return;
    auto backups = fleet::BackupStore::open(loaded->stateDir);
    if (rolloutCliFailed(backups, exitCode)) return;
    auto id = (*backups)->nextId();
    if (rolloutCliFailed(id, exitCode)) return;
    security::AuditEvent event;
    event.kind = "fleet.backup";
    event.actor = "cli:" + osUserName();
    event.target = "backup:" + std::to_string(*id);
    std::vector<fleet::DeployTarget> targets;
    std::map<std::string, fleet::Deployer*> deployers;
    for (const auto& u : loaded->units) {
      targets.push_back(u.target);
      deployers[u.target.id] = u.deployer.get();
    }
    auto context = deployContext(loaded->stateDir, *d, o->json);
    auto taken = fleet::backupGateways(
        **backups, targets, *applied, "manual", SystemClock::instance()->nowMs(),
        [](const std::string& line) { std::cerr << line << "\n"; }, deployers, &context);
    if (!taken) {
      int code = reportFleetError(taken.error());
      event.outcome = security::AuditOutcome::kFailed;
      event.details["reason"] = taken.error().message;
      exitCode = auditFleetAction(loaded->stateDir, std::move(event), code);
      return;
    }
    event.outcome = security::AuditOutcome::kAllowed;
    json::array gateways;
    for (const auto& b : *taken) gateways.push_back(json::string(b.gateway));
    event.details["gateways"] = gateways;
    if (o->json) {
      printJson(json::object{{"backup", *id}, {"gateways", backupsJson(*taken)}});
    } else {
      printBackups(*taken);
    }
    exitCode = auditFleetAction(loaded->stateDir, std::move(event), 0);
  });
}

void registerRestore(CLI::App* group, int& exitCode) {
  auto o = std::make_shared<FleetOptions>();
  auto d = std::make_shared<FleetDeployOptions>();
  auto id = std::make_shared<int64_t>(0);
  auto actor = std::make_shared<std::string>();
  auto* cmd = group->add_subcommand(
      "restore", "Restore gateways from a backup: stop, put the config and state dir back, start, wait for /readyz");
  cmd->add_option("backup-id", *id, "Backup id")->required()->check(CLI::PositiveNumber);
  addGatewayOption(cmd, d);
  cmd->add_option("--actor", *actor, "Who restores (recorded in the revision and the audit log)");
  addTimeoutOption(cmd, d);
  addStateDirOption(cmd, d);
  addFleetCommonOptions(cmd, o);
  cmd->callback([o, d, id, actor, &exitCode] {
    // Every gateway of the backup (or --gateway's) must be in the inventory: its deployer and port come
    // from there. Select them all first, then narrow to the backup's.
    FleetDeployOptions all = *d;
    all.gateway.clear();
    auto loaded = loadForDeploy(*o, all, exitCode);
    if (!loaded) return;
    auto context = deployContext(loaded->stateDir, *d, o->json);
    auto backups = fleet::BackupStore::open(loaded->stateDir);
    if (rolloutCliFailed(backups, exitCode)) return;
    auto set = (*backups)->get(*id, d->gateway);
    if (rolloutCliFailed(set, exitCode)) return;
    auto revisions = fleet::RevisionStore::open(loaded->stateDir);
    if (rolloutCliFailed(revisions, exitCode)) return;
    auto lock = (*revisions)->lock();
    if (rolloutCliFailed(lock, exitCode)) return;
    auto applied = (*revisions)->lastApplied();
    if (rolloutCliFailed(applied, exitCode)) return;

    std::string who = actor->empty() ? osUserName() : *actor;
    security::AuditEvent event;
    event.kind = "fleet.restore";
    event.actor = "cli:" + who;
    event.target = "backup:" + std::to_string(*id);
    json::array results;
    fleet::DeploymentRevision revision;
    bool ok = true;
    for (const auto& b : *set) {
      json::object r{{"gateway", b.gateway}};
      auto unit = std::find_if(loaded->units.begin(), loaded->units.end(),
                               [&](const fleet::DeployUnit& u) { return u.target.id == b.gateway; });
      Status s;
      fleet::DeployTarget target;
      if (unit == loaded->units.end()) {
        s = fail(ErrorCode::kNotFound,
                 "gateway " + b.gateway + " of backup " + std::to_string(b.id) + " is not in the inventory");
      } else if (!unit->deployer) {
        s = fail(*unit->unsupported);
      } else {
        // The gateway as it was backed up: its config, config path, port and version.
        fleet::GatewayRevision asBackedUp;
        asBackedUp.configPath = b.configPath;
        asBackedUp.version = b.version;
        asBackedUp.binary = b.binary;
        for (const auto& f : b.files) {
          if (f.path.rfind("config/", 0) != 0) continue;
          auto text = readFile((*backups)->folder(b.id, b.gateway) / f.path);
          if (text) asBackedUp.content = *text;
        }
        target = fleet::targetAtRevision(unit->target, asBackedUp);
        if (!b.stateDir.empty()) target.paths.stateDir = b.stateDir;
        std::cerr << "restore: " << b.gateway << ": stopping\n";
        s = unit->deployer->stop(target, context);
        if (s) {
          auto movedTo = (*backups)->restoreFiles(b, target, unit->deployer.get(), &context);
          if (!movedTo) {
            s = fail(movedTo.error());
          } else {
            if (!movedTo->empty()) r["previousStateDir"] = *movedTo;
            std::cerr << "restore: " << b.gateway << ": files restored"
                      << (movedTo->empty() ? "" : " (the state dir it replaced: " + *movedTo + ")") << "; starting\n";
            s = unit->deployer->start(target, context);
          }
        }
      }
      r["ok"] = static_cast<bool>(s);
      if (!s) {
        ok = false;
        r["error"] = s.error().message;
        std::cerr << "error: " << s.error().message << "\n";
      } else {
        std::cerr << "restore: " << b.gateway << ": ready\n";
        // What now runs differs from the last applied revision: record it, so that status, plan and the
        // next rollback start from what runs.
        auto it = applied->find(b.gateway);
        std::string sha = sha256Hex(target.configText);
        if (!target.configText.empty() &&
            (it == applied->end() || it->second.gateway.sha256 != sha || it->second.gateway.binary != target.binary)) {
          fleet::GatewayRevision g;
          g.id = target.id;
          g.runtime = target.runtime;
          g.provider = target.provider;
          g.configPath = target.paths.configPath;
          g.content = target.configText;
          g.sha256 = sha;
          g.version = target.version;
          g.binary = target.binary;
          if (it != applied->end()) g.previousRevision = it->second.revision;
          revision.gateways.push_back(std::move(g));
        }
      }
      results.push_back(std::move(r));
    }
    json::object out{{"ok", ok}, {"backup", *id}, {"gateways", results}};
    if (!revision.gateways.empty()) {
      auto next = (*revisions)->nextId();
      if (rolloutCliFailed(next, exitCode)) return;
      revision.id = *next;
      revision.kind = "restore";
      revision.note = "restore of backup " + std::to_string(*id);
      revision.actor = who;
      revision.timeMs = SystemClock::instance()->nowMs();
      revision.inventoryPath = loaded->fleet->inventory().path().string();
      if (auto s = (*revisions)->record(revision); !s) {
        exitCode = reportFleetError(s.error());
        return;
      }
      out["revision"] = revision.id;
    }
    event.outcome = ok ? security::AuditOutcome::kAllowed : security::AuditOutcome::kFailed;
    event.details["result"] = out;
    if (o->json) {
      printJson(out);
    } else {
      for (const auto& r : results) {
        std::cout << r.at("gateway").as_string() << ": "
                  << (r.at("ok").as_bool() ? "restored from backup " + std::to_string(*id)
                                           : "FAILED: " + std::string(r.at("error").as_string()))
                  << "\n";
      }
      if (!revision.gateways.empty()) std::cout << "recorded revision " << revision.id << "\n";
    }
    exitCode = auditFleetAction(loaded->stateDir, std::move(event), ok ? 0 : 1);
  });
}

struct RolloutCliOptions {
  std::string to;
  std::size_t canary = 1;
  std::size_t wave = 1;
  double gateTimeoutSeconds = 60;
  bool allowDirty = false;
  bool noHostCheck = false;
  std::string actor;
};

void registerRollout(CLI::App* group, int& exitCode) {
  auto o = std::make_shared<FleetOptions>();
  auto d = std::make_shared<FleetDeployOptions>();
  auto r = std::make_shared<RolloutCliOptions>();
  auto* cmd = group->add_subcommand(
      "rollout",
      "Roll the fleet to the inventory, a revision or a runtime version: canary first, then waves, each gated on "
      "health, with automatic rollback");
  cmd->add_option("--to", r->to,
                  "Target: a revision id (revision:N or N) or a version of the version catalog (version:V or V); "
                  "default: the inventory");
  cmd->add_option("--canary", r->canary, "Gateways in the canary step (default 1)")->check(CLI::Range(1, 100000));
  cmd->add_option("--wave", r->wave, "Gateways per wave after the canary (default 1)")->check(CLI::Range(1, 100000));
  cmd->add_option("--gate-timeout", r->gateTimeoutSeconds,
                  "Seconds a deployed gateway has to pass its gate (/readyz, health, channels; default 60)")
      ->check(CLI::Range(1.0, 3600.0));
  cmd->add_option("--timeout", d->timeoutSeconds,
                  "Seconds a rollback waits for a gateway's /readyz on its last known-good revision (default 120)")
      ->check(CLI::Range(1.0, 3600.0));
  cmd->add_flag("--allow-dirty", r->allowDirty, "Roll out although the inventory has uncommitted changes in git");
  cmd->add_flag("--no-host-check", r->noHostCheck, "Preflight: do not bind-test the ports of stopped gateways");
  cmd->add_option("--actor", r->actor, "Who rolls out (recorded in the revisions and the audit log)");
  addGatewayOption(cmd, d);
  addStateDirOption(cmd, d);
  addFleetCommonOptions(cmd, o);
  cmd->callback([o, d, r, &exitCode] {
    auto target = fleet::parseRolloutTarget(r->to);
    if (rolloutCliFailed(target, exitCode)) return;
    auto loaded = loadForDeploy(*o, *d, exitCode);
    if (!loaded) return;
    auto context = deployContext(loaded->stateDir, *d, o->json);
    std::string who = r->actor.empty() ? osUserName() : r->actor;
    security::AuditEvent event;
    event.kind = "fleet.rollout";
    event.actor = "cli:" + who;
    event.target = "fleet";
    event.details["to"] = target->describe();
    auto refuse = [&](const Error& e, security::AuditOutcome outcome) {
      int code = reportFleetError(e);
      event.outcome = outcome;
      event.details["reason"] = e.message;
      exitCode = auditFleetAction(loaded->stateDir, std::move(event), code);
    };

    if (auto s = fleet::checkDeployable(loaded->units, context); !s) {
      refuse(s.error(), security::AuditOutcome::kDenied);
      return;
    }
    const auto& inv = loaded->fleet->inventory();
    std::vector<std::filesystem::path> files = {inv.path()};
    files.insert(files.end(), inv.includedFiles().begin(), inv.includedFiles().end());
    auto git = fleet::inventoryGitState(inv.path(), files);
    if (!git) {
      refuse(git.error(), security::AuditOutcome::kFailed);
      return;
    }
    if (target->kind != fleet::RolloutTarget::Kind::kRevision) {
      // The inventory's renders are deployed: the same checks as apply.
      auto report = deployPreflight(*loaded, context, !r->noHostCheck);
      if (!report.ok()) {
        for (const auto& f : report.findings) {
          if (f.isError())
            std::cerr << "preflight: " << f.id << " (" << fleetSourceWhere(f.location) << "): " << f.message << "\n";
        }
        refuse(Error(ErrorCode::kFailedPrecondition,
                     "preflight failed (" + std::to_string(report.errorCount()) + " error(s)); nothing was deployed"),
               security::AuditOutcome::kDenied);
        exitCode = exitCode == 0 ? 1 : exitCode;
        return;
      }
      if (*git && (*git)->dirty && !r->allowDirty) {
        std::string list;
        for (const auto& f : (*git)->changedFiles) list += "\n  " + f;
        refuse(Error(ErrorCode::kFailedPrecondition,
                     "the inventory has uncommitted changes; commit them, or roll out with --allow-dirty:" + list),
               security::AuditOutcome::kDenied);
        return;
      }
    }

    auto revisions = fleet::RevisionStore::open(loaded->stateDir);
    if (rolloutCliFailed(revisions, exitCode)) return;
    auto all = (*revisions)->list();
    if (rolloutCliFailed(all, exitCode)) return;
    auto applied = (*revisions)->lastApplied();
    if (rolloutCliFailed(applied, exitCode)) return;
    auto units = fleet::resolveRolloutUnits(*loaded->fleet, loaded->units, *target, *applied, *all);
    if (!units) {
      refuse(units.error(), security::AuditOutcome::kDenied);
      return;
    }
    {
      std::vector<fleet::DeployUnit> desired;
      for (const auto& u : *units) desired.push_back(fleet::DeployUnit{u.desired, nullptr, std::nullopt});
      if (auto missing = fleet::missingEnvironment(desired, processEnvironmentValue); !missing.empty()) {
        std::string list;
        for (const auto& m : missing) list += "\n  " + m;
        refuse(Error(ErrorCode::kFailedPrecondition,
                     "the configs reference environment variables that are not set; nothing was deployed:" + list),
               security::AuditOutcome::kDenied);
        return;
      }
      // Each deployed gateway must be deployable as targeted (e.g. a catalogued binary that exists).
      for (const auto& u : *units) {
        if (auto s = u.deployer->check(u.desired, context); !s) {
          refuse(s.error(), security::AuditOutcome::kDenied);
          return;
        }
      }
    }
    auto backups = fleet::BackupStore::open(loaded->stateDir);
    if (rolloutCliFailed(backups, exitCode)) return;

    fleet::RolloutOptions options;
    options.actor = who;
    options.canary = r->canary;
    options.wave = r->wave;
    options.gateTimeout = std::chrono::milliseconds(static_cast<int64_t>(r->gateTimeoutSeconds * 1000));
    options.inventoryPath = inv.path().string();
    options.git = *git;
    options.targetDescription = target->describe();
    options.onState = [](const std::string& gateway, const std::string& state, const std::string& detail) {
      std::cerr << "rollout: " << gateway << ": " << state << (detail.empty() ? "" : " (" + detail + ")") << std::endl;
    };
    auto probes = fleet::liveGateProbes(context, processEnvironmentValue);
    auto report = fleet::runRollout(*units, **revisions, **backups, context, probes, options);
    if (!report) {
      refuse(report.error(), report.error().code == ErrorCode::kFailedPrecondition ? security::AuditOutcome::kDenied
                                                                                   : security::AuditOutcome::kFailed);
      return;
    }
    json::object j = report->toJson();
    j["stateDir"] = loaded->stateDir.string();
    if (o->json) {
      printJson(j);
    } else {
      std::vector<std::vector<std::string>> rows;
      for (const auto& g : report->gateways) {
        rows.push_back({g.id, g.step.empty() ? "-" : g.step, g.state,
                        g.fromRevision ? std::to_string(*g.fromRevision) : "-",
                        g.backup ? std::to_string(*g.backup) : "-", g.error.empty() ? "-" : g.error});
      }
      printTable({"GATEWAY", "STEP", "STATE", "FROM", "BACKUP", "ERROR"}, rows);
      if (report->steps.empty()) std::cout << "nothing to roll out: every gateway is at " << target->describe() << "\n";
      for (auto id : report->revisions) std::cout << "recorded revision " << id << "\n";
      if (report->failedStep) {
        std::cout << "the " << *report->failedStep << " step failed its gate: "
                  << (report->rollbackFailed ? "its rollback FAILED too; the gateways need attention"
                                             : "its gateways were rolled back to their last known-good revision")
                  << "; the rollout stopped\n";
      }
      if (report->rollbackRevision) std::cout << "recorded rollback revision " << *report->rollbackRevision << "\n";
      if (report->stoppedBy) std::cout << "error: " << report->stoppedBy->message << "\n";
    }
    int code = report->exitCode();
    event.details["result"] = j;
    event.outcome = report->ok() ? security::AuditOutcome::kAllowed : security::AuditOutcome::kFailed;
    if (!report->revisions.empty()) event.target = "revision:" + std::to_string(report->revisions.back());
    code = auditFleetAction(loaded->stateDir, std::move(event), code);
    if (report->rollbackRevision || report->rollbackFailed) {
      security::AuditEvent rollback;
      rollback.kind = "fleet.rollback";
      rollback.actor = "cli:" + who;
      rollback.target =
          report->rollbackRevision ? "revision:" + std::to_string(*report->rollbackRevision) : std::string("fleet");
      rollback.outcome = report->rollbackFailed ? security::AuditOutcome::kFailed : security::AuditOutcome::kAllowed;
      rollback.details["step"] = report->failedStep.value_or("");
      rollback.details["result"] = j;
      code = auditFleetAction(loaded->stateDir, std::move(rollback), code);
    }
    exitCode = code;
  });
}

}  // namespace

void registerFleetRolloutCommands(CLI::App* group, int& exitCode) {
  registerBackup(group, exitCode);
  registerRestore(group, exitCode);
  registerRollout(group, exitCode);
}

}  // namespace talon::cli
