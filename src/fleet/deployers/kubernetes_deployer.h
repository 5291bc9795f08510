#pragma once
// The `kubernetes` provider (docs/fleet.md "Kubernetes"): each gateway is a StatefulSet (replicas 1) with
// its ConfigMap and Service, applied with the operator's `kubectl` and kubeconfig (the inventory's
// kubernetes.context, else kubectl's current context). apply() writes the rendered manifests into
// <fleetStateDir>/gateways/<id>/kubernetes/, runs `kubectl apply -f` and waits with `kubectl rollout
// status statefulset/<id> --timeout`; stop() scales the StatefulSet to 0 (the volume claim, and with it
// the state, is kept; the next apply or start scales it back to 1); status() reads the StatefulSet's
// replicas and readyReplicas (its readinessProbe is /readyz: the fleet does not probe into the cluster);
// logs() runs `kubectl logs pod/<id>-0 --tail N`. The Secret the manifests reference
// (kubernetes.secretName) is the operator's: Talon never writes secret values. Blocking; one thread at a time.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "fleet/deployer.h"

namespace talon::fleet {

/// A new kubernetes deployer.
DeployerPtr createKubernetesDeployer();

/// `<fleetStateDir>/gateways/<gatewayId>/kubernetes`: where the applied manifests are kept.
std::filesystem::path kubernetesManifestDir(const std::filesystem::path& fleetStateDir, std::string_view gatewayId);

/// `kubectl [--context C] --namespace N` followed by `args`.
std::vector<std::string> kubectlCommand(const ManifestSettings& settings, const std::vector<std::string>& args);
/// The arguments of each step: `apply -f FILE`; `rollout status statefulset/NAME --timeout=Ns` (whole
/// seconds, at least 1); `get statefulset NAME -o json`; `scale statefulset/NAME --replicas=N`;
/// `logs pod/NAME-0 --tail=N`; `cluster-info --request-timeout=Ns` (the reachability probe of check()).
std::vector<std::string> kubectlApplyArgs(const std::filesystem::path& manifestFile);
std::vector<std::string> kubectlRolloutStatusArgs(const std::string& name, std::chrono::milliseconds timeout);
std::vector<std::string> kubectlGetStatefulSetArgs(const std::string& name);
std::vector<std::string> kubectlScaleArgs(const std::string& name, int replicas);
std::vector<std::string> kubectlLogsArgs(const std::string& name, std::size_t lines);
std::vector<std::string> kubectlClusterInfoArgs(std::chrono::milliseconds timeout);

/// What status() reads from a StatefulSet.
struct StatefulSetReplicas {
  /// spec.replicas (1 when absent, Kubernetes' default).
  int64_t replicas = 1;
  /// status.readyReplicas (0 when absent).
  int64_t readyReplicas = 0;
};
/// Parses `kubectl get statefulset NAME -o json`. Errors: kInvalidArgument when it is not a StatefulSet.
Result<StatefulSetReplicas> parseStatefulSetReplicas(std::string_view output);
/// spec.replicas 0 -> stopped; readyReplicas >= 1 -> running; otherwise degraded.
ProcessState statefulSetProcessState(const StatefulSetReplicas& replicas);

}  // namespace talon::fleet
