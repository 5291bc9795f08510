#pragma once
// `talon doctor`: is this gateway's installation healthy? Config validity, the state dir and its
// permissions, SQLite's integrity check, the gateway lock, and every `talon security audit` finding
// (token strength, plaintext secrets, permissions), and the per-agent state under <stateDir>/agents
// (OpenClaw's layout: agents/<agentId>/agent/*.json, agents/<agentId>/sessions/*.jsonl). Each finding
// has a stable id, a severity and a fix hint; with `fix`, the permission findings are repaired (chmod
// 700 dirs / 600 files) and invalid per-agent state files are moved to
// <stateDir>/.quarantine/<path under the state dir>-<UTC timestamp> (never deleted), each reported as
// fixed.
#include <filesystem>
#include <vector>

#include "base/clock.h"
#include "config/config_loader.h"
#include "security/security_audit.h"

namespace talon::gateway {

struct DoctorOptions {
  config::LoadOptions load;        // where the config is (as `talon gateway run` would load it)
  std::filesystem::path stateDir;  // resolved state dir
  bool fix = false;
  /// Names quarantined files (their UTC timestamp).
  ClockPtr clock = SystemClock::instance();
};

/// Most files under <stateDir>/agents that one doctor run examines (a bound on its work; the rest is
/// reported as not examined).
inline constexpr int kDoctorMaxAgentFiles = 10000;

/// One finding, and whether --fix repaired it.
struct DoctorFinding {
  security::Finding finding;
  bool fixed = false;
};

/// Runs every check. Doctor's own ids: config.invalid (critical; the first errors in `detail`),
/// config.unreadable (critical), state_dir.missing (info: nothing has run yet), store.integrity
/// (critical: integrity_check problems), store.unreadable (critical), gateway.lock_stale (info: a
/// killed gateway's lock file; harmless, the next start takes it over), gateway.running (info: a
/// gateway holds the lock, with its pid); state.agent_dir_orphaned (warn: a directory under
/// <stateDir>/agents whose name is no configured agent id, checked when the config loads; never moved),
/// state.agent_file_invalid (warn: a `.json` file under <stateDir>/agents that is not valid JSON, or a
/// `.jsonl` file with a line that is not; quarantined by `fix`), state.agent_files_not_examined (info:
/// more than kDoctorMaxAgentFiles files); then the security audit's findings (security_audit.h).
/// Never fails: what cannot be checked is itself a finding.
std::vector<DoctorFinding> runDoctor(const DoctorOptions& options);

}  // namespace talon::gateway
