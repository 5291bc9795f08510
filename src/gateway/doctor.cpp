#include "gateway/doctor.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <optional>

#include "config/config_validator.h"
#include "gateway/gateway_lock.h"
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
