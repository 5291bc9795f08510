#include "fleet/deployers/process_deployer.h"

#include <unistd.h>

#include <thread>

#include "base/file_io.h"
#include "fleet/local_process.h"

namespace talon::fleet {

namespace {

constexpr std::string_view kPidFileName = "gateway.pid";
constexpr std::string_view kLogFileName = "gateway.log";
constexpr std::size_t kFailureLogLines = 15;
constexpr auto kProbeTimeout = std::chrono::milliseconds(1000);
constexpr auto kPollInterval = std::chrono::milliseconds(200);
constexpr auto kProgressInterval = std::chrono::seconds(2);

class ProcessDeployer final : public Deployer {
 public:
  Status check(const DeployTarget& target, const DeployContext& context) const override {
    if (target.host != "local") {
      return fail(ErrorCode::kUnsupported, "gateway " + target.id +
                                               ": the process provider runs gateways on this machine "
                                               "only (host \"local\"), not on \"" +
                                               target.host +
                                               "\"; a remote host takes "
                                               "provider \"ssh\"");
    }
    std::error_code ec;
    if (!target.binary.empty()) {
      if (target.runtime != "talon" && target.runtime != "openclaw")
        return fail(ErrorCode::kUnsupported, "gateway " + target.id + ": unknown runtime \"" + target.runtime + "\"");
      if (!std::filesystem::is_regular_file(target.binary, ec) || ::access(target.binary.c_str(), X_OK) != 0)
        return fail(ErrorCode::kNotFound, "gateway " + target.id + ": the " + target.runtime + " " + target.version +
                                              " executable " + target.binary + " (runtimes." + target.runtime +
                                              ".versions) is not an executable file");
    } else if (target.runtime == "openclaw") {
      if (context.openclawBinary.empty() || !std::filesystem::is_regular_file(context.openclawBinary, ec)) {
        return fail(ErrorCode::kNotFound,
                    "gateway " + target.id +
                        ": OpenClaw is not installed here; install it with tools/install-openclaw (into "
                        "~/.cache/openclaw-ref) or set TALON_FLEET_OPENCLAW to its `openclaw` executable");
      }
    } else if (target.runtime != "talon") {
      return fail(ErrorCode::kUnsupported, "gateway " + target.id + ": unknown runtime \"" + target.runtime + "\"");
    } else if (!std::filesystem::is_regular_file(context.talonBinary, ec)) {
      return fail(ErrorCode::kNotFound, "the Talon runtime binary " + context.talonBinary.string() + " does not exist");
    }
    if (target.port <= 0) return fail(ErrorCode::kInvalidArgument, "gateway " + target.id + " has no port");
    return {};
  }

  Result<ApplyAction> apply(const DeployTarget& target, const DeployContext& context, bool configChanged) override {
    if (auto s = check(target, context); !s) return fail(s.error());
    auto onDisk = readFile(target.paths.configPath);
    bool diskDiffers = !onDisk || *onDisk != target.configText;
    if (diskDiffers) {
      if (auto s = prepareDirectories(target); !s) return fail(s.error());
      if (auto s = writeFileAtomic(target.paths.configPath, target.configText, 0600); !s) return fail(s.error());
    }
    auto running = runningProcess(target, context);
    if (!running) return fail(running.error());
    if (*running && !configChanged && !diskDiffers) {
      // Still running on this config: make sure it answers.
      if (auto s = waitReady(target, context, **running); !s) return fail(s.error());
      return ApplyAction::kUnchanged;
    }
    ApplyAction action = ApplyAction::kStarted;
    if (*running) {
      progress(context,
               target.id + ": config or version changed, restarting (pid " + std::to_string((*running)->pid) + ")");
      if (auto s = stopProcess(target, context, **running); !s) return fail(s.error());
      action = ApplyAction::kRestarted;
    }
    if (auto s = launch(target, context); !s) return fail(s.error());
    return action;
  }

  Status start(const DeployTarget& target, const DeployContext& context) override {
    if (auto s = check(target, context); !s) return s;
    std::error_code ec;
    if (!std::filesystem::exists(target.paths.configPath, ec))
      return fail(ErrorCode::kFailedPrecondition, "gateway " + target.id + " has no deployed config (" +
                                                      target.paths.configPath + "): run `talon fleet apply --gateway " +
                                                      target.id + "` first");
    auto running = runningProcess(target, context);
    if (!running) return fail(running.error());
    if (*running) {
      progress(context, target.id + ": already running (pid " + std::to_string((*running)->pid) + ")");
      return {};
    }
    return launch(target, context);
  }

  Status stop(const DeployTarget& target, const DeployContext& context) override {
    auto pidPath = processGatewayDir(context.fleetStateDir, target.id) / kPidFileName;
    auto pid = readPidFile(pidPath);
    if (!pid) return fail(pid.error());
    if (!*pid) {
      progress(context, target.id + ": not running");
      return {};
    }
    if (!processAlive(**pid)) {
      std::error_code ec;
      std::filesystem::remove(pidPath, ec);
      progress(context, target.id + ": had already exited (pid " + std::to_string((*pid)->pid) + ")");
      return {};
    }
    return stopProcess(target, context, **pid);
  }

  GatewayRuntimeStatus status(const DeployTarget& target, const DeployContext& context) override {
    GatewayRuntimeStatus out;
    auto dir = processGatewayDir(context.fleetStateDir, target.id);
    auto pid = readPidFile(dir / kPidFileName);
    if (!pid) {
      out.state = ProcessState::kFailed;
      out.detail = pid.error().message;
      return out;
    }
    if (!*pid) {
      out.state = ProcessState::kStopped;
      return out;
    }
    out.pid = (*pid)->pid;
    if (!processAlive(**pid)) {
      out.state = ProcessState::kFailed;
      out.detail = "pid " + std::to_string((*pid)->pid) + " exited without `talon fleet stop`; last log lines:\n" +
                   tailFile(dir / kLogFileName, kFailureLogLines);
      return out;
    }
    out.readyz = probeHttp(target.probeHost, target.port, "/readyz", kProbeTimeout);
    out.state = out.readyz.ok() ? ProcessState::kRunning : ProcessState::kDegraded;
    if (!out.readyz.ok()) {
      out.detail = out.readyz.status != 0 ? "/readyz answered " + std::to_string(out.readyz.status)
                                          : "/readyz unreachable: " + out.readyz.error;
    }
    return out;
  }

  Result<std::string> logs(const DeployTarget& target, const DeployContext& context, std::size_t lines) override {
    auto path = processGatewayDir(context.fleetStateDir, target.id) / kLogFileName;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
      return fail(ErrorCode::kNotFound, "gateway " + target.id + " has no log yet (" + path.string() + ")");
    return tailFile(path, lines);
  }

 private:
  static void progress(const DeployContext& context, const std::string& line) {
    if (context.progress) context.progress(line);
  }

  static Status prepareDirectories(const DeployTarget& target) {
    std::error_code ec;
    for (const auto& dir :
         {std::filesystem::path(target.paths.stateDir), std::filesystem::path(target.paths.configPath).parent_path(),
          std::filesystem::path(target.paths.workspaceRoot)}) {
      if (dir.empty()) continue;
      std::filesystem::create_directories(dir, ec);
      if (ec)
        return fail(ErrorCode::kIo, "gateway " + target.id + ": cannot create " + dir.string() + ": " + ec.message());
    }
    return {};
  }

  /// The gateway's process when the pid file names a live one.
  static Result<std::optional<ProcessId>> runningProcess(const DeployTarget& target, const DeployContext& context) {
    auto pid = readPidFile(processGatewayDir(context.fleetStateDir, target.id) / kPidFileName);
    if (!pid) return fail(pid.error());
    if (*pid && processAlive(**pid)) return *pid;
    return std::optional<ProcessId>();
  }

  static Status stopProcess(const DeployTarget& target, const DeployContext& context, const ProcessId& pid) {
    progress(context, target.id + ": stopping (pid " + std::to_string(pid.pid) + ")");
    if (!terminateProcess(pid, context.stopGrace))
      return fail(ErrorCode::kIo, "gateway " + target.id + ": pid " + std::to_string(pid.pid) + " did not exit");
    std::error_code ec;
    std::filesystem::remove(processGatewayDir(context.fleetStateDir, target.id) / kPidFileName, ec);
    if (ec) return fail(ErrorCode::kIo, "gateway " + target.id + ": cannot remove its pid file: " + ec.message());
    return {};
  }

  static Status launch(const DeployTarget& target, const DeployContext& context) {
    auto dir = processGatewayDir(context.fleetStateDir, target.id);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail(ErrorCode::kIo, "cannot create " + dir.string() + ": " + ec.message());
    if (auto s = prepareDirectories(target); !s) return s;
    DetachedSpec spec;
    if (target.runtime == "openclaw") {
      spec.argv = {target.binary.empty() ? context.openclawBinary.string() : target.binary, "gateway", "run"};
      spec.env["OPENCLAW_STATE_DIR"] = target.paths.stateDir;
      spec.env["OPENCLAW_CONFIG_PATH"] = target.paths.configPath;
      // The rendered config decides the port and the token; the operator's shell must not.
      spec.unsetEnv = {"OPENCLAW_GATEWAY_PORT", "OPENCLAW_GATEWAY_TOKEN", "OPENCLAW_PROFILE"};
    } else {
      spec.argv = {target.binary.empty() ? context.talonBinary.string() : target.binary, "gateway", "run", "--config",
                   target.paths.configPath};
      spec.env["TALON_STATE_DIR"] = target.paths.stateDir;
      // The rendered config decides the port and the config path; the operator's shell must not.
      spec.unsetEnv = {"TALON_GATEWAY_PORT", "TALON_CONFIG_PATH"};
    }
    spec.workingDir = target.paths.stateDir;
    spec.logPath = dir / kLogFileName;
    auto pid = startDetached(spec);
    if (!pid) return fail(pid.error());
    if (auto s = writePidFile(dir / kPidFileName, *pid); !s) {
      terminateProcess(*pid, context.stopGrace);
      return s;
    }
    progress(context, target.id + ": started (pid " + std::to_string(pid->pid) + "), log " + spec.logPath.string());
    return waitReady(target, context, *pid);
  }

  static Status waitReady(const DeployTarget& target, const DeployContext& context, const ProcessId& pid) {
    auto start = std::chrono::steady_clock::now();
    auto deadline = start + context.readyTimeout;
    auto nextProgress = start + kProgressInterval;
    ProbeResult last;
    while (true) {
      if (!processAlive(pid)) {
        auto log = tailFile(processGatewayDir(context.fleetStateDir, target.id) / kLogFileName, kFailureLogLines);
        return fail(ErrorCode::kUnavailable,
                    "gateway " + target.id + " (pid " + std::to_string(pid.pid) + ") exited; last log lines:\n" + log);
      }
      last = probeHttp(target.probeHost, target.port, "/readyz", kProbeTimeout);
      auto now = std::chrono::steady_clock::now();
      auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - start).count();
      if (last.ok()) {
        progress(context, target.id + ": ready on " + target.probeHost + ":" + std::to_string(target.port) + " (" +
                              std::to_string(elapsed) + " ms)");
        return {};
      }
      if (now >= deadline) {
        return fail(ErrorCode::kDeadlineExceeded,
                    "gateway " + target.id + " was not ready within " + std::to_string(context.readyTimeout.count()) +
                        " ms (/readyz: " + (last.status != 0 ? std::to_string(last.status) : last.error) + ")");
      }
      if (now >= nextProgress) {
        progress(context, target.id + ": waiting for /readyz on " + target.probeHost + ":" +
                              std::to_string(target.port) + " (" + std::to_string(elapsed / 1000) + " s, " +
                              (last.status != 0 ? "status " + std::to_string(last.status) : last.error) + ")");
        nextProgress = now + kProgressInterval;
      }
      std::this_thread::sleep_for(kPollInterval);
    }
  }
};

}  // namespace

DeployerPtr createProcessDeployer() { return std::make_unique<ProcessDeployer>(); }

std::filesystem::path findOpenClawBinary(const std::function<std::optional<std::string>(const std::string&)>& env) {
  auto executable = [](const std::filesystem::path& p) { return !p.empty() && ::access(p.c_str(), X_OK) == 0; };
  auto get = [&env](const char* name) { return env ? env(name).value_or("") : std::string(); };
  if (auto explicitPath = get("TALON_FLEET_OPENCLAW"); !explicitPath.empty()) return explicitPath;
  if (auto ref = get("OPENCLAW_REF_DIR"); !ref.empty() && executable(std::filesystem::path(ref) / "bin" / "openclaw"))
    return std::filesystem::path(ref) / "bin" / "openclaw";
  if (auto home = get("HOME");
      !home.empty() && executable(std::filesystem::path(home) / ".cache" / "openclaw-ref" / "bin" / "openclaw"))
    return std::filesystem::path(home) / ".cache" / "openclaw-ref" / "bin" / "openclaw";
  std::string path = get("PATH");
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::filesystem::path candidate = std::filesystem::path(path.substr(start, end - start)) / "openclaw";
    if (end > start && executable(candidate)) return candidate;
    start = end + 1;
  }
  return {};
}

std::filesystem::path processGatewayDir(const std::filesystem::path& fleetStateDir, std::string_view gatewayId) {
  return fleetStateDir / "gateways" / std::string(gatewayId);
}

}  // namespace talon::fleet
