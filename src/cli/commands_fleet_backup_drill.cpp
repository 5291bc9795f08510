// talon fleet backup drill: restores a backup into a scratch folder, runs the runtime's doctor there and
// reports the recovery time achieved (docs/fleet.md "Backup schedule and recovery targets"). The running
// gateways are not touched. Progress goes to stderr; the result (a table, or JSON with --json) to stdout.
#include <fmt/format.h>

#include <iostream>

#include "base/clock.h"
#include "cli/commands_fleet_deploy.h"
#include "cli/output.h"
#include "fleet/backup_drill.h"
#include "fleet/revision.h"

namespace talon::cli {

namespace {

/// "20261203T081500Z" for a scratch folder's name.
std::string drillTimestamp(int64_t ms) {
  std::string s = formatRfc3339(ms);  // 2026-12-03T08:15:00Z
  std::string out;
  for (char c : s) {
    if (c != '-' && c != ':') out += c;
  }
  return out;
}

std::string drillSeconds(int64_t ms) { return fmt::format("{:.1f}", static_cast<double>(ms) / 1000.0); }

}  // namespace

void registerFleetBackupDrill(CLI::App* backup, int& exitCode) {
  auto o = std::make_shared<FleetOptions>();
  auto d = std::make_shared<FleetDeployOptions>();
  auto id = std::make_shared<int64_t>(0);
  auto keep = std::make_shared<bool>(false);
  auto* cmd = backup->add_subcommand(
      "drill", "Restore a backup into a scratch folder, run the runtime's doctor there and report the recovery time");
  cmd->add_option("id", *id, "Backup id (default: the newest backup)")->check(CLI::PositiveNumber);
  cmd->add_flag("--keep-scratch", *keep, "Keep the scratch folder (default: deleted afterwards)");
  addGatewayOption(cmd, d);
  addStateDirOption(cmd, d);
  addFleetCommonOptions(cmd, o);
  cmd->callback([o, d, id, keep, &exitCode] {
    const auto stateDir = deployStateDir(*o, *d);
    auto revisions = fleet::RevisionStore::open(stateDir);
    if (!revisions) {
      exitCode = reportFleetError(revisions.error());
      return;
    }
    // Holds off apply, restore and `fleet serve`'s scheduled backups and pruning while the drill reads.
    auto lock = (*revisions)->lock();
    if (!lock) {
      exitCode = reportFleetError(lock.error());
      return;
    }
    auto store = fleet::BackupStore::open(stateDir);
    if (!store) {
      exitCode = reportFleetError(store.error());
      return;
    }
    int64_t backupId = *id;
    if (backupId == 0) {
      auto next = (*store)->nextId();
      if (!next) {
        exitCode = reportFleetError(next.error());
        return;
      }
      if (*next == 1) {
        exitCode = reportFleetError(Error(ErrorCode::kNotFound, "there is no backup to drill"));
        return;
      }
      backupId = *next - 1;
    }
    auto set = (*store)->get(backupId, d->gateway);
    if (!set) {
      exitCode = reportFleetError(set.error());
      return;
    }
    fleet::DeployContext context = deployContext(stateDir, *d, o->json);
    const int64_t startedMs = SystemClock::instance()->nowMs();
    std::vector<fleet::GatewayDrill> drills;
    bool ok = true;
    for (const auto& b : *set) {
      fleet::DrillOptions options;
      options.keepScratch = *keep;
      options.scratchDir =
          stateDir / "drills" / (std::to_string(b.id) + "-" + b.gateway + "-" + drillTimestamp(startedMs));
      std::cerr << "drill: backup " << b.id << " " << b.gateway << ": restoring into " << options.scratchDir.string()
                << "\n";
      auto drill = fleet::drillBackup(**store, b, context, options);
      if (!drill) {
        exitCode = reportFleetError(drill.error());
        return;
      }
      std::cerr << "drill: backup " << b.id << " " << b.gateway << ": "
                << (drill->ok() ? "recovered" : "FAILED: " + drill->error) << " in " << drillSeconds(drill->recoveryMs)
                << " s\n";
      ok = ok && drill->ok();
      drills.push_back(std::move(*drill));
    }

    security::AuditEvent event;
    event.kind = "fleet.backup.drill";
    event.actor = "cli:" + osUserName();
    event.target = "backup:" + std::to_string(backupId);
    event.outcome = ok ? security::AuditOutcome::kAllowed : security::AuditOutcome::kFailed;
    json::array summary;
    for (const auto& g : drills) {
      json::object s{{"gateway", g.gateway}, {"ok", g.ok()}, {"recoveryMs", g.recoveryMs}};
      if (!g.ok()) s["error"] = g.error;
      summary.push_back(std::move(s));
    }
    event.details["gateways"] = std::move(summary);

    if (o->json) {
      json::array a;
      for (const auto& g : drills) a.push_back(g.toJson());
      printJson(json::object{{"ok", ok}, {"backup", backupId}, {"gateways", std::move(a)}});
    } else {
      std::vector<std::vector<std::string>> rows;
      for (const auto& g : drills) {
        rows.push_back({std::to_string(g.backup), g.gateway, g.runtime, g.ok() ? "ok" : "FAILED",
                        std::to_string(g.files), std::to_string(g.bytes), drillSeconds(g.restoreMs),
                        drillSeconds(g.doctorMs), drillSeconds(g.recoveryMs)});
      }
      printTable({"BACKUP", "GATEWAY", "RUNTIME", "RESULT", "FILES", "BYTES", "RESTORE S", "DOCTOR S", "RECOVERY S"},
                 rows);
      for (const auto& g : drills) {
        if (g.ok()) continue;
        std::cout << g.gateway << ": " << g.error << "\n";
        for (const auto& p : g.problems) std::cout << "  " << p.path << ": " << p.message << "\n";
        for (const auto& f : g.blocking) std::cout << "  " << f.severity << " " << f.id << ": " << f.message << "\n";
        if (g.scratchKept) std::cout << "  the restored copy is kept in " << g.scratchDir << "\n";
      }
    }
    exitCode = auditFleetAction(stateDir, std::move(event), ok ? 0 : 1);
  });
}

}  // namespace talon::cli
