#include "fleet/deployers/kubernetes_deployer.h"

#include <cstdlib>

#include "fleet/deployers/container_deploy.h"

namespace talon::fleet {

namespace {

constexpr auto kClusterProbeTimeout = std::chrono::milliseconds(5000);

std::string kubeSeconds(std::chrono::milliseconds timeout) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(timeout).count();
  return std::to_string(s < 1 ? 1 : s) + "s";
}

class KubernetesDeployer final : public Deployer {
 public:
  Status check(const DeployTarget& target, const DeployContext& context) const override {
    if (auto s = checkContainerTarget(target, "kubernetes"); !s) return s;
    const char* path = std::getenv("PATH");
    if (!findExecutableInPath("kubectl", path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin"))
      return fail(ErrorCode::kNotFound,
                  "gateway " + target.id + ": the kubernetes provider needs `kubectl`, which is not installed");
    auto info = runCommand(kubectlCommand(target.manifest, kubectlClusterInfoArgs(kClusterProbeTimeout)), {});
    if (!info || info->exitCode != 0) {
      std::string why = !info ? info.error().message : lastLine(info->err.empty() ? info->out : info->err);
      return fail(ErrorCode::kUnavailable, "gateway " + target.id + ": no Kubernetes cluster is reachable" +
                                               (target.manifest.kubernetesContext.empty()
                                                    ? std::string(" with kubectl's current context")
                                                    : " with context \"" + target.manifest.kubernetesContext + "\"") +
                                               " (`kubectl cluster-info`: " + why + ")");
    }
    return {};
  }

  Result<ApplyAction> apply(const DeployTarget& target, const DeployContext& context, bool configChanged) override {
    if (auto s = check(target, context); !s) return fail(s.error());
    auto before = replicas(target);
    bool wasRunning = before && *before && statefulSetProcessState(**before) == ProcessState::kRunning;
    std::filesystem::path dir = kubernetesManifestDir(context.fleetStateDir, target.id);
    auto written = writeDeployFiles(target, dir, kKubernetesFileName, 0600);
    if (!written) return fail(written.error());
    if (context.progress)
      context.progress(target.id + ": kubectl apply (namespace " + target.manifest.kubernetesNamespace + ")");
    if (auto s = kubectl(target, kubectlApplyArgs(dir / kKubernetesFileName)); !s) return fail(s.error());
    if (auto s = waitRollout(target, context); !s) return fail(s.error());
    if (!wasRunning) return ApplyAction::kStarted;
    return configChanged || *written ? ApplyAction::kRestarted : ApplyAction::kUnchanged;
  }

  Status start(const DeployTarget& target, const DeployContext& context) override {
    if (auto s = check(target, context); !s) return s;
    auto current = replicas(target);
    if (!current) return fail(current.error());
    if (!*current)
      return fail(ErrorCode::kFailedPrecondition,
                  "gateway " + target.id + " was never applied: run `talon fleet apply` first");
    if (auto s = kubectl(target, kubectlScaleArgs(target.manifest.kubernetesName, 1)); !s) return fail(s.error());
    return waitRollout(target, context);
  }

  Status stop(const DeployTarget& target, const DeployContext& context) override {
    auto current = replicas(target);
    if (!current) return fail(current.error());
    if (!*current) return {};
    if (auto s = kubectl(target, kubectlScaleArgs(target.manifest.kubernetesName, 0)); !s) return fail(s.error());
    return {};
  }

  GatewayRuntimeStatus status(const DeployTarget& target, const DeployContext& context) override {
    GatewayRuntimeStatus st;
    st.readyz.error = "not probed: the gateway runs in the cluster (readiness is its StatefulSet's readyReplicas)";
    auto current = replicas(target);
    if (!current) {
      st.state = ProcessState::kFailed;
      st.detail = current.error().message;
      return st;
    }
    if (!*current) return st;
    st.state = statefulSetProcessState(**current);
    if (st.state == ProcessState::kDegraded)
      st.detail = "StatefulSet " + target.manifest.kubernetesName + ": 0 of " + std::to_string((*current)->replicas) +
                  " replicas ready";
    return st;
  }

  Result<std::string> logs(const DeployTarget& target, const DeployContext& context, std::size_t lines) override {
    auto out =
        runDeployCommand(kubectlCommand(target.manifest, kubectlLogsArgs(target.manifest.kubernetesName, lines)), {});
    if (!out) return fail(out.error());
    return out->out;
  }

 private:
  static std::string lastLine(const std::string& text) {
    std::size_t end = text.find_last_not_of(" \t\r\n");
    if (end == std::string::npos) return {};
    std::size_t begin = text.rfind('\n', end);
    return text.substr(begin == std::string::npos ? 0 : begin + 1,
                       end - (begin == std::string::npos ? 0 : begin + 1) + 1);
  }

  static Status kubectl(const DeployTarget& target, const std::vector<std::string>& args) {
    auto out = runDeployCommand(kubectlCommand(target.manifest, args), {});
    if (!out) return fail(out.error());
    return {};
  }

  /// The StatefulSet's replicas; nullopt when it does not exist.
  static Result<std::optional<StatefulSetReplicas>> replicas(const DeployTarget& target) {
    auto out =
        runCommand(kubectlCommand(target.manifest, kubectlGetStatefulSetArgs(target.manifest.kubernetesName)), {});
    if (!out) return fail(out.error());
    if (out->exitCode != 0) {
      if (out->err.find("NotFound") != std::string::npos || out->err.find("not found") != std::string::npos)
        return std::optional<StatefulSetReplicas>();
      return fail(ErrorCode::kUnavailable, "`kubectl get statefulset " + target.manifest.kubernetesName +
                                               "` exited with " + std::to_string(out->exitCode) + ": " +
                                               lastLine(out->err));
    }
    auto parsed = parseStatefulSetReplicas(out->out);
    if (!parsed) return fail(parsed.error());
    return std::optional<StatefulSetReplicas>(*parsed);
  }

  static Status waitRollout(const DeployTarget& target, const DeployContext& context) {
    auto out = runCommand(
        kubectlCommand(target.manifest, kubectlRolloutStatusArgs(target.manifest.kubernetesName, context.readyTimeout)),
        {});
    if (!out) return fail(out.error());
    if (out->exitCode != 0)
      return fail(ErrorCode::kDeadlineExceeded,
                  "gateway " + target.id + ": StatefulSet " + target.manifest.kubernetesName +
                      " did not become ready within " + kubeSeconds(context.readyTimeout) +
                      " (`kubectl rollout status`: " + lastLine(out->err.empty() ? out->out : out->err) + ")");
    return {};
  }
};

}  // namespace

DeployerPtr createKubernetesDeployer() { return std::make_unique<KubernetesDeployer>(); }

std::filesystem::path kubernetesManifestDir(const std::filesystem::path& fleetStateDir, std::string_view gatewayId) {
  return fleetStateDir / "gateways" / std::string(gatewayId) / "kubernetes";
}

std::vector<std::string> kubectlCommand(const ManifestSettings& settings, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"kubectl"};
  if (!settings.kubernetesContext.empty()) argv.insert(argv.end(), {"--context", settings.kubernetesContext});
  argv.insert(argv.end(), {"--namespace", settings.kubernetesNamespace});
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::vector<std::string> kubectlApplyArgs(const std::filesystem::path& manifestFile) {
  return {"apply", "-f", manifestFile.string()};
}
std::vector<std::string> kubectlRolloutStatusArgs(const std::string& name, std::chrono::milliseconds timeout) {
  return {"rollout", "status", "statefulset/" + name, "--timeout=" + kubeSeconds(timeout)};
}
std::vector<std::string> kubectlGetStatefulSetArgs(const std::string& name) {
  return {"get", "statefulset", name, "-o", "json"};
}
std::vector<std::string> kubectlScaleArgs(const std::string& name, int replicas) {
  return {"scale", "statefulset/" + name, "--replicas=" + std::to_string(replicas)};
}
std::vector<std::string> kubectlLogsArgs(const std::string& name, std::size_t lines) {
  return {"logs", "pod/" + name + "-0", "--tail=" + std::to_string(lines)};
}
std::vector<std::string> kubectlClusterInfoArgs(std::chrono::milliseconds timeout) {
  return {"cluster-info", "--request-timeout=" + kubeSeconds(timeout)};
}

Result<StatefulSetReplicas> parseStatefulSetReplicas(std::string_view output) {
  auto parsed = parseJson(output);
  if (!parsed || !parsed->is_object())
    return fail(ErrorCode::kInvalidArgument, "`kubectl get statefulset -o json` printed no JSON object");
  const json::object& o = parsed->as_object();
  if (getString(o, "kind").value_or("") != "StatefulSet")
    return fail(ErrorCode::kInvalidArgument, "`kubectl get statefulset -o json` printed no StatefulSet");
  StatefulSetReplicas r;
  if (const auto* spec = getObject(o, "spec")) r.replicas = getInt(*spec, "replicas").value_or(1);
  if (const auto* status = getObject(o, "status")) r.readyReplicas = getInt(*status, "readyReplicas").value_or(0);
  return r;
}

ProcessState statefulSetProcessState(const StatefulSetReplicas& replicas) {
  if (replicas.replicas == 0) return ProcessState::kStopped;
  return replicas.readyReplicas >= 1 ? ProcessState::kRunning : ProcessState::kDegraded;
}

}  // namespace talon::fleet
