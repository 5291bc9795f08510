#include "fleet/backup_drill.h"

#include "base/json.h"
#include "fleet/local_process.h"

namespace talon::fleet {

namespace {

namespace fs = std::filesystem;

int64_t drillElapsedMs(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since).count();
}

std::string drillString(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

/// The doctor's JSON report: all of `text`, or from the first line that starts with '{' (a doctor may print a
/// banner line before it).
std::optional<json::object> drillDoctorJson(const std::string& text) {
  std::size_t start = text.rfind('{', 0) == 0 ? 0 : text.find("\n{");
  if (start == std::string::npos) return std::nullopt;
  if (start != 0) ++start;
  auto parsed = parseJson(std::string_view(text).substr(start));
  if (parsed && parsed->is_object()) return parsed->as_object();
  return std::nullopt;
}

}  // namespace

json::object GatewayDrill::toJson() const {
  json::array p;
  for (const auto& x : problems) p.push_back(json::object{{"path", x.path}, {"message", x.message}});
  json::array b;
  for (const auto& f : blocking)
    b.push_back(json::object{{"id", f.id}, {"severity", f.severity}, {"message", f.message}});
  json::object out{{"backup", backup},
                   {"gateway", gateway},
                   {"runtime", runtime},
                   {"ok", ok()},
                   {"scratchDir", scratchDir},
                   {"scratchKept", scratchKept},
                   {"files", files},
                   {"bytes", bytes},
                   {"problems", std::move(p)},
                   {"doctor", json::object{{"command", doctorCommand},
                                           {"exitCode", doctorExit},
                                           {"blocking", std::move(b)},
                                           {"otherFindings", otherFindings}}},
                   {"restoreMs", restoreMs},
                   {"doctorMs", doctorMs},
                   {"recoveryMs", recoveryMs}};
  if (!error.empty()) out["error"] = error;
  return out;
}

Result<GatewayDrill> drillBackup(const BackupStore& store, const GatewayBackup& backup, const DeployContext& context,
                                 const DrillOptions& options) {
  std::error_code ec;
  if (options.scratchDir.empty()) return fail(ErrorCode::kInvalidArgument, "the drill needs a scratch folder");
  if (fs::exists(options.scratchDir, ec))
    return fail(ErrorCode::kInvalidArgument,
                "the drill's scratch folder " + options.scratchDir.string() + " exists already");
  GatewayDrill drill;
  drill.backup = backup.id;
  drill.gateway = backup.gateway;
  drill.runtime = backup.runtime;
  drill.scratchDir = options.scratchDir.string();
  const auto start = std::chrono::steady_clock::now();

  fs::create_directories(options.scratchDir, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot create " + options.scratchDir.string() + ": " + ec.message());
  fs::permissions(options.scratchDir, fs::perms::owner_all, fs::perm_options::replace, ec);

  auto finish = [&](GatewayDrill d) -> Result<GatewayDrill> {
    d.recoveryMs = drillElapsedMs(start);
    std::error_code rmEc;
    if (options.keepScratch) {
      d.scratchKept = true;
    } else {
      fs::remove_all(options.scratchDir, rmEc);
      if (rmEc && d.error.empty()) d.error = "cannot remove " + options.scratchDir.string() + ": " + rmEc.message();
    }
    return d;
  };

  drill.problems = store.verify(backup);
  if (!drill.problems.empty()) {
    drill.error = "backup " + std::to_string(backup.id) + " of gateway " + backup.gateway + " does not verify (" +
                  std::to_string(drill.problems.size()) + " problem(s))";
    drill.restoreMs = drillElapsedMs(start);
    return finish(std::move(drill));
  }
  // The copy lives in the scratch folder: the config under config/ (its own file name), the state dir as state/.
  DeployTarget scratch;
  scratch.id = backup.gateway;
  scratch.runtime = backup.runtime;
  scratch.paths.stateDir = (options.scratchDir / "state").string();
  const std::string configName =
      backup.configPath.empty() ? std::string("openclaw.json") : fs::path(backup.configPath).filename().string();
  scratch.paths.configPath = (options.scratchDir / "config" / configName).string();
  auto restored = store.restoreFiles(backup, scratch);
  if (!restored) {
    drill.error = restored.error().message;
    drill.restoreMs = drillElapsedMs(start);
    return finish(std::move(drill));
  }
  for (const auto& f : backup.files) {
    ++drill.files;
    drill.bytes += f.size;
  }
  drill.restoreMs = drillElapsedMs(start);

  // The doctor of the runtime the backup ran, against the copy. `timeout` bounds it; `env` sets the copy's
  // locations and drops the shell's overrides that would point it elsewhere.
  std::vector<std::string> argv{"timeout", std::to_string(options.doctorTimeout.count()), "env"};
  const bool openclaw = backup.runtime == "openclaw";
  std::string binary = backup.binary;
  if (!binary.empty() && !fs::exists(binary, ec)) binary.clear();  // that version's binary is gone: the default
  if (openclaw) {
    if (binary.empty()) binary = context.openclawBinary.string();
    if (binary.empty()) {
      drill.error = "OpenClaw is not installed here (no openclaw executable): its doctor cannot check the copy";
      return finish(std::move(drill));
    }
    argv.insert(argv.end(), {"-u", "OPENCLAW_GATEWAY_PORT", "-u", "OPENCLAW_PROFILE",
                             "OPENCLAW_STATE_DIR=" + scratch.paths.stateDir,
                             "OPENCLAW_CONFIG_PATH=" + scratch.paths.configPath, binary, "doctor", "--lint", "--json"});
  } else {
    if (binary.empty()) binary = context.talonBinary.string();
    argv.insert(argv.end(),
                {"-u", "TALON_CONFIG_PATH", "-u", "TALON_GATEWAY_PORT", "TALON_STATE_DIR=" + scratch.paths.stateDir,
                 binary, "doctor", "--config", scratch.paths.configPath, "--json"});
  }
  for (std::size_t i = 3; i < argv.size(); ++i) drill.doctorCommand += (i > 3 ? " " : "") + argv[i];
  const auto doctorStart = std::chrono::steady_clock::now();
  auto ran = runCommand(argv, options.scratchDir);
  drill.doctorMs = drillElapsedMs(doctorStart);
  if (!ran) {
    drill.error = "the doctor did not run: " + ran.error().message;
    return finish(std::move(drill));
  }
  drill.doctorExit = ran->exitCode;
  if (ran->exitCode == 124) {
    drill.error = "the doctor did not finish within " + std::to_string(options.doctorTimeout.count()) + " s";
    return finish(std::move(drill));
  }
  auto report = drillDoctorJson(ran->out);
  if (!report) {
    std::string err = ran->err.size() > 2000 ? ran->err.substr(ran->err.size() - 2000) : ran->err;
    drill.error = "the doctor printed no JSON report (exit " + std::to_string(ran->exitCode) + "): " + err;
    return finish(std::move(drill));
  }
  const json::value* findings = report->if_contains("findings");
  if (findings != nullptr && findings->is_array()) {
    for (const auto& f : findings->as_array()) {
      if (!f.is_object()) continue;
      const auto& o = f.as_object();
      std::string severity = drillString(o, "severity");
      // Talon's doctor: critical | warn | info (a fixed finding no longer blocks). OpenClaw's doctor --lint:
      // error | warning | info.
      bool fixed = o.if_contains("fixed") != nullptr && o.at("fixed").is_bool() && o.at("fixed").as_bool();
      bool blocks = !fixed && (severity == "critical" || severity == "error");
      if (!blocks) {
        ++drill.otherFindings;
        continue;
      }
      std::string id = drillString(o, openclaw ? "checkId" : "id");
      std::string message = drillString(o, openclaw ? "message" : "title");
      if (!openclaw && !drillString(o, "detail").empty()) message += ": " + drillString(o, "detail");
      drill.blocking.push_back(DrillFinding{std::move(id), std::move(severity), std::move(message)});
    }
  } else {
    drill.error = "the doctor's JSON report has no findings array";
    return finish(std::move(drill));
  }
  if (!drill.blocking.empty()) {
    drill.error = "the doctor reports " + std::to_string(drill.blocking.size()) + " blocking finding(s) on the copy";
  }
  return finish(std::move(drill));
}

}  // namespace talon::fleet
