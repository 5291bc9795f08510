#include "gateway/doctor.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <optional>
#include <sstream>

#include "base/file_io.h"
#include "base/json.h"
#include "config/config_validator.h"
#include "gateway/gateway_lock.h"
#include "gateway/routing/agent_roster.h"
#include "store/sqlite_integrity.h"

namespace talon::gateway {
namespace {

using security::Finding;
using security::FindingSeverity;

/// The path a permission finding is about and the mode that repairs it; nullopt for other findings.
std::optional<std::pair<std::filesystem::path, mode_t>> permissionFix(const Finding& f,
                                                                      const std::filesystem::path& stateDir,
                                                                      const std::filesystem::path& configPath) {
  if (f.id.rfind("fs.state_dir.", 0) == 0) return std::pair{stateDir, mode_t{0700}};
  if (f.id.rfind("fs.config.", 0) == 0) return std::pair{configPath, mode_t{0600}};
  if (f.id == "fs.state_file.perms_readable") {
    // detail: "<path> is <mode>"
    auto cut = f.detail.rfind(" is ");
    if (cut != std::string::npos) return std::pair{std::filesystem::path(f.detail.substr(0, cut)), mode_t{0600}};
  }
  return std::nullopt;
}

/// Why the per-agent state file at `path` is invalid ("line 3: …"), or "" when it is valid or of a kind
/// doctor does not check (only `.json` and `.jsonl` are).
std::string invalidStateFile(const std::filesystem::path& path) {
  const std::string ext = path.extension().string();
  if (ext != ".json" && ext != ".jsonl") return "";
  auto text = readFile(path);
  if (!text) return text.error().message;
  if (ext == ".json") {
    auto parsed = parseJson(*text);
    return parsed ? "" : parsed.error().message;
  }
  std::istringstream in(*text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (auto parsed = parseJson(line); !parsed) return fmt::format("line {}: {}", n, parsed.error().message);
  }
  return "";
}

/// "20261202T053900Z" for `epochMs`.
std::string utcStamp(int64_t epochMs) {
  std::time_t t = static_cast<std::time_t>(epochMs / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

/// Moves `file` to <stateDir>/.quarantine/<its path under the state dir>-<stamp>; false when it cannot.
bool quarantine(const std::filesystem::path& stateDir, const std::filesystem::path& file, const std::string& stamp) {
  std::error_code ec;
  auto target = stateDir / ".quarantine" / file.lexically_relative(stateDir);
  target += "-" + stamp;
  std::filesystem::create_directories(target.parent_path(), ec);
  if (ec) return false;
  ::chmod((stateDir / ".quarantine").c_str(), 0700);
  if (std::filesystem::exists(target, ec)) return false;  // never overwrite an earlier quarantined copy
  std::filesystem::rename(file, target, ec);
  return !ec;
}

/// The per-agent state under <stateDir>/agents: directories of agents the config does not have
/// (when `config` is set) and invalid state files (moved to .quarantine with `fix`).
void checkAgentState(const DoctorOptions& o, const config::TalonConfig* config, std::vector<DoctorFinding>& out) {
  const auto agentsDir = o.stateDir / "agents";
  std::error_code ec;
  if (!std::filesystem::is_directory(agentsDir, ec)) return;
  std::optional<routing::AgentRoster> roster;
  if (config) roster = routing::AgentRoster::fromConfig(config->agents);
  const std::string stamp = utcStamp(o.clock->nowMs());
  int examined = 0;
  bool truncated = false;
  std::vector<std::filesystem::path> dirs;
  for (const auto& entry : std::filesystem::directory_iterator(agentsDir, ec)) {
    if (entry.is_directory(ec) && !entry.is_symlink(ec)) dirs.push_back(entry.path());
  }
  std::sort(dirs.begin(), dirs.end());
  for (const auto& dir : dirs) {
    const std::string name = dir.filename().string();
    if (roster && !roster->find(name)) {
      out.push_back(
          {Finding{"state.agent_dir_orphaned", FindingSeverity::kWarn, "Agent directory without an agent in the config",
                   fmt::format("{}: no agent \"{}\" in agents.entries (configured: {})", dir.string(), name,
                               roster->describe()),
                   "add the agent back to agents.entries, or move the directory out of the state dir once "
                   "its sessions are no longer needed (doctor never deletes it)"},
           false});
    }
    std::vector<std::filesystem::path> files;
    for (auto it = std::filesystem::recursive_directory_iterator(
             dir, std::filesystem::directory_options::skip_permission_denied, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
      if (examined == kDoctorMaxAgentFiles) {
        truncated = true;
        break;
      }
      ++examined;
      files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      std::string why = invalidStateFile(file);
      if (why.empty()) continue;
      DoctorFinding d{Finding{"state.agent_file_invalid", FindingSeverity::kWarn, "Invalid per-agent state file",
                              fmt::format("{}: {}", file.string(), why),
                              "run `talon doctor --fix` to move it to " + (o.stateDir / ".quarantine").string() +
                                  " (kept, not deleted), then restore it from a backup if it is needed"},
                      false};
      if (o.fix) d.fixed = quarantine(o.stateDir, file, stamp);
      out.push_back(std::move(d));
    }
    if (truncated) break;
  }
  if (truncated) {
    out.push_back({Finding{"state.agent_files_not_examined", FindingSeverity::kInfo,
                           "Not every per-agent state file was examined",
                           fmt::format("{} holds more than {} files; the first {} were examined", agentsDir.string(),
                                       kDoctorMaxAgentFiles, kDoctorMaxAgentFiles),
                           "nothing to do unless a file there is suspect"},
                   false});
  }
}

}  // namespace

std::vector<DoctorFinding> runDoctor(const DoctorOptions& o) {
  std::vector<DoctorFinding> out;
  auto add = [&](std::string id, FindingSeverity s, std::string title, std::string detail, std::string fix) {
    out.push_back({Finding{std::move(id), s, std::move(title), std::move(detail), std::move(fix)}, false});
  };

  // Config: what `gateway run` would load.
  auto report = config::validateConfig(o.load);
  std::filesystem::path configPath;
  if (!report) {
    add("config.unreadable", FindingSeverity::kCritical, "The config cannot be read", report.error().message,
        "fix the file named above (`talon config validate`)");
  } else {
    configPath = report->path;
    if (!report->valid()) {
      std::string first;
      int shown = 0;
      for (const auto& d : report->diagnostics) {
        if (!d.isError() || shown++ == 3) continue;
        first += (first.empty() ? "" : "; ") + d.toString();
      }
      add("config.invalid", FindingSeverity::kCritical,
          fmt::format("The config has {} error(s); the gateway will not start", report->errorCount()), first,
          "run `talon config validate` and fix every error");
    }
  }

  std::error_code ec;
  if (!std::filesystem::is_directory(o.stateDir, ec)) {
    add("state_dir.missing", FindingSeverity::kInfo, "The state dir does not exist yet", o.stateDir.string(),
        "nothing to do: `talon gateway run` creates it (0700)");
  } else {
    auto db = o.stateDir / "state" / "talon.sqlite";
    auto integrity = store::checkSqliteIntegrity(db);
    if (!integrity && integrity.error().code != ErrorCode::kNotFound) {
      add("store.unreadable", FindingSeverity::kCritical, "The database cannot be checked", integrity.error().message,
          "stop the gateway, keep a copy of the file, restore it from a backup");
    } else if (integrity && !integrity->empty()) {
      std::string lines;
      for (const auto& l : *integrity) lines += (lines.empty() ? "" : "; ") + l;
      add("store.integrity", FindingSeverity::kCritical, "SQLite integrity_check found problems",
          db.string() + ": " + lines, "stop the gateway, keep a copy of the file, restore it from a backup");
    }
    auto lock = probeGatewayLock(o.stateDir);
    if (!lock) {
      add("gateway.lock_unreadable", FindingSeverity::kWarn, "The gateway lock file cannot be read",
          lock.error().message, "check the permissions of the state dir");
    } else if (lock->held) {
      add("gateway.running", FindingSeverity::kInfo, "A gateway is running with this state dir",
          lock->owner ? fmt::format("pid {}, port {}", lock->owner->pid, lock->owner->port) : "pid unknown",
          "nothing to do");
    } else if (lock->fileExists && lock->owner && !lock->ownerAlive) {
      add("gateway.lock_stale", FindingSeverity::kInfo, "Lock file of a gateway that is no longer running",
          fmt::format("{} names pid {}, which has exited", (o.stateDir / GatewayLock::kFileName).string(),
                      lock->owner->pid),
          "nothing to do: the kernel released the lock with the process; the next start takes it over");
    }
  }

  // The security audit, on the config as loaded (only when it loads: an invalid one is reported above).
  std::optional<config::LoadedConfig> loaded;
  if (report && report->valid()) {
    if (auto l = config::loadConfig(o.load)) loaded = std::move(*l);
  }
  checkAgentState(o, loaded ? &loaded->config : nullptr, out);
  config::TalonConfig fallback = config::defaultTalonConfig();
  security::SecurityAuditInput in;
  in.config = loaded ? &loaded->config : &fallback;
  in.rawConfig = loaded ? std::string_view(loaded->raw) : std::string_view();
  in.configPath = configPath;
  in.stateDir = o.stateDir;
  for (auto& f : security::auditSecurity(in)) {
    DoctorFinding d{std::move(f), false};
    if (o.fix) {
      if (auto target = permissionFix(d.finding, o.stateDir, configPath)) {
        d.fixed = ::chmod(target->first.c_str(), target->second) == 0;
      }
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace talon::gateway
