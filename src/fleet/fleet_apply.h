#pragma once
// `talon fleet apply` and the gateway commands around it (docs/fleet.md "Apply"): the checks that must
// pass before any gateway is touched, the deploy of each changed gateway through its provider's Deployer,
// and the DeploymentRevision recorded for what was applied. Also the per-gateway status (process state,
// /readyz, applied revision, config drift). Blocks the calling thread (processes, probes, git).
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "fleet/deployer.h"
#include "fleet/gateway_live.h"
#include "fleet/layering.h"
#include "fleet/revision.h"

namespace talon::fleet {

/// Reads an environment variable; nullopt when unset.
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string& name)>;

/// The gateways a command acts on: all (in id order) when `gatewayId` is empty, else that one.
/// Errors: kNotFound for an unknown gateway id.
Result<std::vector<std::size_t>> selectGateways(const EffectiveFleet& fleet, const std::string& gatewayId);

/// A selected gateway's target and its provider's deployer.
struct DeployUnit {
  DeployTarget target;
  /// Null when no deployer implements the gateway's provider yet (`unsupported` says so).
  DeployerPtr deployer;
  std::optional<Error> unsupported;
};
/// The units of `selected` (indexes into inventory().gateways(); `renders` is renderFleet()).
std::vector<DeployUnit> deployUnits(const EffectiveFleet& fleet, const std::vector<RenderedGateway>& renders,
                                    const std::vector<std::size_t>& selected);
/// Every unit can be deployed (a deployer exists and Deployer::check() passes). Errors: the first that
/// cannot (kUnsupported, kNotFound, kInvalidArgument).
Status checkDeployable(const std::vector<DeployUnit>& units, const DeployContext& context);

/// The rendered manifests of the units whose provider has one (compose, kubernetes), for planGateways().
std::vector<RenderedManifest> unitManifests(const std::vector<DeployUnit>& units);

/// Where a unit's deployer writes its manifest (`<fleetStateDir>/gateways/<id>/compose/compose.yaml` or
/// `…/kubernetes/kubernetes.yaml`); "" for the other providers.
std::string unitManifestPath(const DeployUnit& unit, const std::filesystem::path& fleetStateDir);

/// Where this machine keeps the config a unit's deployer deployed: the gateway's configPath (process),
/// or the copy beside the manifest under the fleet state dir (compose: the file the container mounts;
/// kubernetes: the copy of what the ConfigMap carries).
std::filesystem::path deployedConfigPath(const DeployUnit& unit, const std::filesystem::path& fleetStateDir);

/// Every "${VAR}" the targets' configs reference that `env` lacks (unset or empty), as "VAR (gateway a, b)".
std::vector<std::string> missingEnvironment(const std::vector<DeployUnit>& units, const EnvironmentLookup& env);

struct ApplyOptions {
  /// Who applies (recorded in the revision and the audit record).
  std::string actor;
  /// Apply although the inventory has uncommitted changes in git.
  bool allowDirty = false;
  /// The operator's environment (the secrets the configs reference).
  EnvironmentLookup env;
  /// Stamps the revision's time (null: the system clock).
  ClockPtr clock;
};

/// What apply did to one gateway.
struct GatewayApplyResult {
  std::string id;
  /// The plan's status: "new", "changed" or "unchanged".
  std::string planStatus;
  std::size_t changes = 0;
  std::optional<ApplyAction> action;
  /// Set when deploying this gateway failed.
  std::optional<Error> error;
};

struct ApplyReport {
  /// The revision recorded, when a gateway's config was new or changed and deployed.
  std::optional<DeploymentRevision> revision;
  std::optional<InventoryGitState> git;
  std::vector<GatewayApplyResult> gateways;
  bool ok() const;
  /// {"ok", "revision"? (id), "gitCommit"?, "gateways": [{"gateway", "plan", "changes", "action"?, "error"?}]}.
  json::object toJson() const;
};

/// Applies `units` (deployUnits() of the selected gateways; `renders` is renderFleet()). In order:
/// checkDeployable(), the inventory's git state (dirty refused unless allowDirty), every referenced environment
/// variable present, the state dir's lock; then, per gateway in id order, its plan against the last revision and
/// Deployer::apply (restarting only gateways whose config changed); a gateway that fails is reported and
/// the others still deploy. Records one revision for the gateways deployed with a new or changed config.
/// Errors (nothing deployed): kFailedPrecondition (dirty inventory, missing variables, lock held), kIo,
/// git errors. Deploy failures are in the report, not errors.
Result<ApplyReport> applyFleet(const EffectiveFleet& fleet, const std::vector<RenderedGateway>& renders,
                               std::vector<DeployUnit>& units, RevisionStore& revisions, const DeployContext& context,
                               const ApplyOptions& options);

/// One gateway's live status (`talon fleet status`).
struct GatewayStatus {
  std::string id;
  std::string runtime;
  std::string provider;
  GatewayRuntimeStatus runtimeStatus;
  std::optional<int64_t> appliedRevision;
  std::string appliedSha256;
  /// The runtime version the applied revision deployed ("" when none was set).
  std::string appliedVersion;
  /// SHA-256 of the config in the gateway's configPath now ("" when it has none).
  std::string deployedSha256;
  /// "in-sync", "drifted" (the file differs from the applied render), "missing" (applied but the file is
  /// gone) or "not-applied".
  std::string drift;
  /// The protocol `health` call (made when the process runs): whether it was made, its outcome and the
  /// payload's `ok`; `healthError` says why it failed or was not made.
  bool healthChecked = false;
  bool healthOk = false;
  std::string healthError;
  /// How the protocol calls reached it (gateway_address.h), when they were made: `via` "direct" or
  /// "ssh-tunnel", and the address connected to ("127.0.0.1:<local port>" for a tunnel).
  std::string via;
  std::string address;
  /// The inventory's agents of the gateway against its `agents.list` (compareLiveAgents()), asked over the
  /// health call's connection; all "unknown" when the gateway could not be asked, `agentsError` saying why
  /// (once for the gateway).
  std::vector<LiveAgent> agents;
  std::string agentsError;
  /// What went wrong recently on the gateway (recentErrorsFrom() over the same connection's `health` and
  /// `logs.tail`); `recentErrorsError` says why they could not be read ("" when they were).
  std::vector<RecentError> recentErrors;
  std::string recentErrorsError;
  /// {"gateway", "runtime", "provider", "state", "pid"?, "readyz": {"status", "error"?}, "health":
  /// {"checked", "ok"?, "error"?}, "access"?: {"via", "address"}, "agents": [{"id", "state"}], "agentsError"?,
  /// "recentErrors": [{"time", "source", "message"}], "recentErrorsError"?,
  /// "appliedRevision"?, "appliedSha256"?, "appliedVersion"?, "deployedSha256"?, "drift", "detail"?}.
  json::object toJson() const;
};

/// The status of each unit against `applied` (RevisionStore::lastApplied()). For a gateway whose process
/// runs, also the protocol calls `health`, `agents.list` and `logs.tail` over one connection, with the
/// credential its render references, read through `env`; a running gateway whose health call fails is
/// `degraded`. The credential's and the render's referenced secrets never appear in `recentErrors`.
std::vector<GatewayStatus> fleetStatus(std::vector<DeployUnit>& units,
                                       const std::map<std::string, AppliedGateway>& applied,
                                       const DeployContext& context, const EnvironmentLookup& env);

}  // namespace talon::fleet
