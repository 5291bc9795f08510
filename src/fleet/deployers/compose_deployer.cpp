#include "fleet/deployers/compose_deployer.h"

#include <cstdlib>
#include <thread>

#include "fleet/deployers/container_deploy.h"

namespace talon::fleet {

namespace {

constexpr auto kComposeProbeTimeout = std::chrono::milliseconds(1000);
constexpr auto kComposePollInterval = std::chrono::milliseconds(500);

std::string composeEnvPath() {
  const char* path = std::getenv("PATH");
  return path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
}

ComposeContainerState composeContainerFromJson(const json::object& o) {
  ComposeContainerState c;
  c.service = std::string(getString(o, "Service").value_or(""));
  c.state = std::string(getString(o, "State").value_or(""));
  c.health = std::string(getString(o, "Health").value_or(""));
  c.exitCode = static_cast<int>(getInt(o, "ExitCode").value_or(0));
  return c;
}

class ComposeDeployer final : public Deployer {
 public:
  Status check(const DeployTarget& target, const DeployContext& context) const override {
    if (target.host != "local")
      return fail(ErrorCode::kUnsupported, "gateway " + target.id +
                                               ": the compose provider runs projects on this machine's docker "
                                               "daemon (host \"local\"), not on \"" +
                                               target.host + "\"");
    if (auto s = checkContainerTarget(target, "compose"); !s) return s;
    auto cli = composeCli();
    if (!cli) return fail(cli.error());
    if (findExecutableInPath("docker", composeEnvPath())) {
      auto info = runCommand({"docker", "info", "--format", "{{.ServerVersion}}"}, {});
      if (!info || info->exitCode != 0 || trimmed(info->out).empty()) {
        std::string why = !info ? info.error().message : trimmed(info->err.empty() ? info->out : info->err);
        return fail(ErrorCode::kUnavailable,
                    "gateway " + target.id + ": the docker daemon is not reachable (`docker info`: " + why + ")");
      }
    }
    return {};
  }

  Result<ApplyAction> apply(const DeployTarget& target, const DeployContext& context, bool configChanged) override {
    if (auto s = check(target, context); !s) return fail(s.error());
    auto before = containers(target, context);
    if (!before) return fail(before.error());
    bool wasRunning = composeProcessState(*before, 200) == ProcessState::kRunning;
    // The container reads the config through a bind mount: it must be readable by the image's user.
    auto written = writeDeployFiles(target, projectDir(target, context), kComposeFileName, 0644);
    if (!written) return fail(written.error());
    progress(context, target.id + ": docker compose up (project " + target.manifest.composeProject + ")");
    if (auto up = compose(target, context, composeUpArgs()); !up) return fail(up.error());
    if (auto s = waitReady(target, context); !s) return fail(s.error());
    if (!wasRunning) return ApplyAction::kStarted;
    return configChanged || *written ? ApplyAction::kRestarted : ApplyAction::kUnchanged;
  }

  Status start(const DeployTarget& target, const DeployContext& context) override {
    if (auto s = check(target, context); !s) return s;
    std::error_code ec;
    if (!std::filesystem::exists(projectDir(target, context) / kComposeFileName, ec))
      return fail(ErrorCode::kFailedPrecondition,
                  "gateway " + target.id + " was never applied: run `talon fleet apply` first");
    if (auto up = compose(target, context, composeUpArgs()); !up) return fail(up.error());
    return waitReady(target, context);
  }

  Status stop(const DeployTarget& target, const DeployContext& context) override {
    std::error_code ec;
    if (!std::filesystem::exists(projectDir(target, context) / kComposeFileName, ec)) return {};
    auto down = compose(target, context, composeDownArgs());
    if (!down) return fail(down.error());
    return {};
  }

  GatewayRuntimeStatus status(const DeployTarget& target, const DeployContext& context) override {
    GatewayRuntimeStatus st;
    std::error_code ec;
    if (!std::filesystem::exists(projectDir(target, context) / kComposeFileName, ec)) return st;
    auto list = containers(target, context);
    if (!list) {
      st.state = ProcessState::kFailed;
      st.detail = list.error().message;
      return st;
    }
    if (!list->empty() && list->front().state == "running")
      st.readyz = probeHttp(probeAddress(target), target.port, "/readyz", kComposeProbeTimeout);
    st.state = composeProcessState(*list, st.readyz.status);
    if (st.state == ProcessState::kFailed)
      st.detail = "container " + list->front().state + " (exit code " + std::to_string(list->front().exitCode) +
                  "); `talon fleet logs " + target.id + "` shows why";
    return st;
  }

  Result<std::string> logs(const DeployTarget& target, const DeployContext& context, std::size_t lines) override {
    std::error_code ec;
    if (!std::filesystem::exists(projectDir(target, context) / kComposeFileName, ec))
      return fail(ErrorCode::kNotFound, "gateway " + target.id + " was never applied");
    auto out = compose(target, context, composeLogsArgs(lines));
    if (!out) return fail(out.error());
    return out->out + out->err;
  }

 private:
  static std::string trimmed(const std::string& s) {
    std::size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
  }

  /// {"docker", "compose"} when the plugin answers, else {"docker-compose"}. Remembered per deployer.
  Result<std::vector<std::string>> composeCli() const {
    if (cli_) return *cli_;
    std::string path = composeEnvPath();
    if (findExecutableInPath("docker", path)) {
      auto plugin = runCommand({"docker", "compose", "version"}, {});
      if (plugin && plugin->exitCode == 0) return *(cli_ = std::vector<std::string>{"docker", "compose"});
    }
    if (findExecutableInPath("docker-compose", path)) return *(cli_ = std::vector<std::string>{"docker-compose"});
    return fail(ErrorCode::kNotFound,
                "the compose provider needs `docker compose` (the Docker CLI's compose plugin) or `docker-compose`; "
                "neither is installed");
  }

  static std::filesystem::path projectDir(const DeployTarget& target, const DeployContext& context) {
    return composeProjectDir(context.fleetStateDir, target.id);
  }

  static std::string probeAddress(const DeployTarget& target) {
    const std::string& a = target.manifest.composePublishAddress;
    if (a.empty() || a == "0.0.0.0") return "127.0.0.1";
    if (a == "::") return "::1";
    return a;
  }

  Result<CommandOutput> compose(const DeployTarget& target, const DeployContext& context,
                                const std::vector<std::string>& args) const {
    auto cli = composeCli();
    if (!cli) return fail(cli.error());
    std::filesystem::path dir = projectDir(target, context);
    return runDeployCommand(composeCommand(*cli, target.manifest.composeProject, dir / kComposeFileName, args), dir);
  }

  Result<std::vector<ComposeContainerState>> containers(const DeployTarget& target,
                                                        const DeployContext& context) const {
    std::error_code ec;
    if (!std::filesystem::exists(projectDir(target, context) / kComposeFileName, ec))
      return std::vector<ComposeContainerState>{};
    auto cli = composeCli();
    if (!cli) return fail(cli.error());
    bool plugin = cli->size() == 2;
    auto ps = compose(target, context, composePsArgs(plugin));
    if (!ps) return fail(ps.error());
    if (plugin) return parseComposePs(ps->out);
    std::vector<ComposeContainerState> out;
    std::size_t begin = 0;
    while (begin < ps->out.size()) {
      std::size_t end = ps->out.find('\n', begin);
      std::string id = trimmed(ps->out.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
      begin = end == std::string::npos ? ps->out.size() : end + 1;
      if (id.empty()) continue;
      auto inspect = runDeployCommand(dockerInspectStateCommand(id), {});
      if (!inspect) return fail(inspect.error());
      auto state = parseDockerInspectState(inspect->out);
      if (!state) return fail(state.error());
      state->service = target.id;
      out.push_back(std::move(*state));
    }
    return out;
  }

  Status waitReady(const DeployTarget& target, const DeployContext& context) {
    auto deadline = std::chrono::steady_clock::now() + context.readyTimeout;
    ProbeResult last;
    while (true) {
      last = probeHttp(probeAddress(target), target.port, "/readyz", kComposeProbeTimeout);
      if (last.status == 200) return {};
      auto list = containers(target, context);
      if (list && composeProcessState(*list, 0) == ProcessState::kFailed) {
        std::string tail;
        if (auto l = compose(target, context, composeLogsArgs(15))) tail = l->out;
        return fail(ErrorCode::kUnavailable, "gateway " + target.id + ": its container " + list->front().state +
                                                 " (exit code " + std::to_string(list->front().exitCode) +
                                                 "); last log lines:\n" + tail);
      }
      if (std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(kComposePollInterval);
    }
    return fail(ErrorCode::kDeadlineExceeded,
                "gateway " + target.id + " did not answer /readyz on " + probeAddress(target) + ":" +
                    std::to_string(target.port) + " within " + std::to_string(context.readyTimeout.count() / 1000) +
                    " s (last: " + (last.error.empty() ? "HTTP " + std::to_string(last.status) : last.error) + ")");
  }

  static void progress(const DeployContext& context, const std::string& line) {
    if (context.progress) context.progress(line);
  }

  mutable std::optional<std::vector<std::string>> cli_;
};

}  // namespace

DeployerPtr createComposeDeployer() { return std::make_unique<ComposeDeployer>(); }

std::filesystem::path composeProjectDir(const std::filesystem::path& fleetStateDir, std::string_view gatewayId) {
  return fleetStateDir / "gateways" / std::string(gatewayId) / "compose";
}

std::vector<std::string> composeCommand(const std::vector<std::string>& cli, const std::string& project,
                                        const std::filesystem::path& composeFile,
                                        const std::vector<std::string>& args) {
  std::vector<std::string> argv = cli;
  argv.insert(argv.end(), {"--project-name", project, "--file", composeFile.string()});
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::vector<std::string> composeUpArgs() { return {"up", "--detach", "--remove-orphans"}; }
std::vector<std::string> composeDownArgs() { return {"down", "--remove-orphans"}; }
std::vector<std::string> composeLogsArgs(std::size_t lines) {
  return {"logs", "--no-color", "--tail", std::to_string(lines)};
}
std::vector<std::string> composePsArgs(bool plugin) {
  if (plugin) return {"ps", "--all", "--format", "json"};
  return {"ps", "--all", "-q"};
}
std::vector<std::string> dockerInspectStateCommand(const std::string& containerId) {
  return {"docker", "inspect", "--format", "{{json .State}}", containerId};
}

Result<std::vector<ComposeContainerState>> parseComposePs(std::string_view output) {
  std::vector<ComposeContainerState> out;
  std::size_t first = output.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return out;
  if (output[first] == '[') {
    auto parsed = parseJson(output);
    if (!parsed || !parsed->is_array())
      return fail(ErrorCode::kInvalidArgument, "`docker compose ps --format json` printed no JSON array");
    for (const auto& item : parsed->as_array()) {
      if (!item.is_object())
        return fail(ErrorCode::kInvalidArgument, "`docker compose ps --format json`: an entry is not an object");
      out.push_back(composeContainerFromJson(item.as_object()));
    }
    return out;
  }
  std::size_t begin = 0;
  while (begin < output.size()) {
    std::size_t end = output.find('\n', begin);
    std::string_view line = output.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin);
    begin = end == std::string_view::npos ? output.size() : end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto parsed = parseJson(line);
    if (!parsed || !parsed->is_object())
      return fail(ErrorCode::kInvalidArgument,
                  "`docker compose ps --format json` printed a line that is not a JSON object: " + std::string(line));
    out.push_back(composeContainerFromJson(parsed->as_object()));
  }
  return out;
}

Result<ComposeContainerState> parseDockerInspectState(std::string_view output) {
  auto parsed = parseJson(output);
  if (!parsed || !parsed->is_object())
    return fail(ErrorCode::kInvalidArgument, "`docker inspect --format {{json .State}}` printed no JSON object");
  const json::object& o = parsed->as_object();
  ComposeContainerState c;
  c.state = std::string(getString(o, "Status").value_or(""));
  c.exitCode = static_cast<int>(getInt(o, "ExitCode").value_or(0));
  if (const auto* health = getObject(o, "Health")) c.health = std::string(getString(*health, "Status").value_or(""));
  return c;
}

ProcessState composeProcessState(const std::vector<ComposeContainerState>& containers, int readyzStatus) {
  if (containers.empty()) return ProcessState::kStopped;
  const ComposeContainerState& c = containers.front();
  if (c.state == "running") return readyzStatus == 200 ? ProcessState::kRunning : ProcessState::kDegraded;
  return ProcessState::kFailed;
}

}  // namespace talon::fleet
