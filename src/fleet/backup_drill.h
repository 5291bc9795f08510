#pragma once
// The backup drill (docs/fleet.md "Backup schedule and recovery targets"): restores one gateway's backup
// into a scratch location, runs the runtime's own doctor there and reports the recovery time it achieved
// — proof that a backup can be recovered from, measured against the recovery time objective, without
// touching the running gateway.
//
// Threads: blocks (copies files, runs the doctor as a child process); one caller at a time per fleet state
// dir, like BackupStore.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "fleet/backup.h"
#include "fleet/deployer.h"

namespace talon::fleet {

/// One doctor finding of a drill that blocks recovery (Talon: severity "critical"; OpenClaw: "error").
struct DrillFinding {
  std::string id;
  std::string severity;
  std::string message;
};

/// What a drill of one gateway backup achieved.
struct GatewayDrill {
  int64_t backup = 0;
  std::string gateway;
  std::string runtime;
  /// The scratch folder it was restored into (deleted afterwards unless kept).
  std::string scratchDir;
  bool scratchKept = false;
  /// Files and bytes restored.
  std::size_t files = 0;
  std::uint64_t bytes = 0;
  /// Integrity problems (the backup did not verify: nothing was restored, no doctor ran).
  std::vector<BackupProblem> problems;
  /// The doctor's command line (argv joined by spaces) and exit code (-1: killed or not run).
  std::string doctorCommand;
  int doctorExit = -1;
  /// The doctor's findings by severity that block recovery, and the count of the others.
  std::vector<DrillFinding> blocking;
  int otherFindings = 0;
  /// Wall times, ms: verify + restore, doctor, and the whole recovery (the achieved recovery time).
  int64_t restoreMs = 0;
  int64_t doctorMs = 0;
  int64_t recoveryMs = 0;
  /// Why the drill failed ("" when it passed).
  std::string error;

  bool ok() const { return error.empty(); }
  /// {"backup", "gateway", "runtime", "ok", "error"?, "scratchDir", "scratchKept", "files", "bytes",
  /// "problems": [{path, message}], "doctor": {"command", "exitCode", "blocking": [{id, severity, message}],
  /// "otherFindings"}, "restoreMs", "doctorMs", "recoveryMs"}.
  json::object toJson() const;
};

struct DrillOptions {
  /// The drill's scratch folder for this gateway (created; must not exist yet).
  std::filesystem::path scratchDir;
  /// Keep the scratch folder afterwards (default: deleted, pass or fail).
  bool keepScratch = false;
  /// How long the doctor may run before it is killed.
  std::chrono::seconds doctorTimeout{300};
};

/// Drills `backup` of `store`: verifies it, restores its config and state dir into
/// `options.scratchDir` (config/ and state/), runs the runtime's doctor against the copy — Talon:
/// `talon doctor --config <copy> --json` with TALON_STATE_DIR=<copy>/state, using the binary the backup
/// ran (else `context.talonBinary`); OpenClaw: `openclaw doctor --lint --json` with OPENCLAW_STATE_DIR and
/// OPENCLAW_CONFIG_PATH on the copy — and measures each phase. A drill fails (GatewayDrill::error) when the
/// backup does not verify, the restore fails, the doctor cannot run or prints no JSON, or it reports a
/// blocking finding. The doctor runs with this process's environment, so config references ("${VAR}")
/// resolve as they would for a restore from this shell. Errors (Result): kInvalidArgument when
/// `options.scratchDir` is empty or exists.
Result<GatewayDrill> drillBackup(const BackupStore& store, const GatewayBackup& backup, const DeployContext& context,
                                 const DrillOptions& options);

}  // namespace talon::fleet
