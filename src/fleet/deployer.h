#pragma once
// The deployer seam (ARCHITECTURE.md "Seams: Fleet deployers"): how a gateway's rendered config reaches
// the place it runs and how its process is started, stopped and observed. One Deployer per provider
// (`process` here; `ssh`, `compose`, `kubernetes` plug in as new files under fleet/deployers/ plus one
// line in deployers/builtin_deployers.cpp). Deployers are used from one thread at a time; their calls
// block (they start processes and wait for readiness).
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "fleet/gateway_address.h"
#include "fleet/gateway_probe.h"
#include "fleet/render.h"
#include "fleet/render_manifests.h"

namespace talon::fleet {

/// A probe turn: one real agent turn a rollout gate runs on a gateway after its health checks pass
/// (docs/fleet.md "Rollouts"), from the inventory's layered `probeTurn` key.
struct ProbeTurnSpec {
  /// What is sent to the agent.
  std::string message;
  /// The agent that answers ("": the gateway's default agent).
  std::string agentId;
  /// Text the reply must contain (case-insensitive); "": any non-empty reply passes.
  std::string expect;
  /// How long the turn may take.
  std::chrono::seconds timeout{60};
};

/// One gateway as a deployer sees it.
struct DeployTarget {
  std::string id;
  /// "talon" | "openclaw".
  std::string runtime;
  /// "process" | "ssh" | "compose" | "kubernetes".
  std::string provider;
  /// The machine it runs on (the inventory's `host`; "local" is this machine).
  std::string host = "local";
  GatewayPaths paths;
  int port = 0;
  /// Where its HTTP probes are sent (probeHost()).
  std::string probeHost;
  /// The rollout gate's probe turn (the inventory's layered `probeTurn`), when configured.
  std::optional<ProbeTurnSpec> probeTurn;
  /// The rendered config (secret references only).
  std::string configText;
  /// The ids of the inventory's agents on this gateway, in inventory order (`talon fleet status` compares
  /// them with what the gateway runs).
  std::vector<std::string> agentIds;
  /// The runtime version (the inventory's `version`, or a rollout's `--to` version); "" when none is set.
  std::string version;
  /// The executable that runs `version`, from the version catalog (runtimes.<runtime>.versions); "" when
  /// the version is not catalogued: the deployer then runs its default binary (DeployContext).
  std::string binary;
  /// The gateway's effective layered keys (EffectiveFleet::gateway()); a provider reads its own section
  /// from it (e.g. `ssh`), already validated by the inventory schema.
  json::object settings;
  /// Providers compose and kubernetes: the rendered compose file or manifests (render_manifests.h) and
  /// the settings behind them; `manifestError` says why they could not be rendered (check() reports it).
  std::string manifestText;
  ManifestSettings manifest;
  std::string manifestError;
};

/// What every deployer call shares.
struct DeployContext {
  /// The fleet state dir: deployers keep their own files under `<fleetStateDir>/gateways/<id>/`.
  std::filesystem::path fleetStateDir;
  /// The executable of the Talon runtime (this `talon` binary).
  std::filesystem::path talonBinary;
  /// Sent as client.version by the protocol calls the fleet makes (`talon fleet status`'s health call).
  std::string talonVersion;
  /// The `openclaw` executable for OpenClaw-runtime gateways (findOpenClawBinary()); empty: not installed.
  std::filesystem::path openclawBinary;
  /// How long start/restart wait for /readyz.
  std::chrono::milliseconds readyTimeout{120'000};
  /// How long stop waits after SIGTERM before SIGKILL.
  std::chrono::milliseconds stopGrace{15'000};
  /// Progress lines for the operator ("support-main: waiting for /readyz (3 s)"); may be empty.
  std::function<void(const std::string&)> progress;
};

/// A gateway's process state (docs/fleet.md "Status").
enum class ProcessState {
  kRunning,   // the process runs and /readyz answers 200
  kDegraded,  // the process runs but /readyz does not answer 200
  kStopped,   // not started, or stopped by `talon fleet stop`
  kFailed,    // started by the fleet and exited without being stopped
};
/// "running" / "degraded" / "stopped" / "failed".
std::string_view processStateName(ProcessState state);

struct GatewayRuntimeStatus {
  ProcessState state = ProcessState::kStopped;
  std::optional<int> pid;
  /// The /readyz probe (status 0 when not probed or unreachable).
  ProbeResult readyz;
  /// A sentence for the operator when something is wrong (e.g. the last log lines of a failed process).
  std::string detail;
  /// Set by a deployer whose gateway runs on another machine (ssh): the SHA-256 of the config deployed
  /// there ("" when there is none). The fleet then reads no configPath here; its protocol calls go through
  /// gatewayAddress() (its /readyz is probed from its host).
  std::optional<std::string> remoteConfigSha256;
};

/// What apply() did to a gateway.
enum class ApplyAction {
  kStarted,    // it was not running and was started
  kRestarted,  // it ran and its config changed: restarted
  kUnchanged,  // it ran with this config: left alone
};
/// "started" / "restarted" / "unchanged".
std::string_view applyActionName(ApplyAction action);

class Deployer {
 public:
  virtual ~Deployer() = default;
  /// Whether this deployer can deploy `target` at all (its runtime, binaries), checked for every gateway
  /// before any is touched. Errors: kUnsupported naming what is missing.
  virtual Status check(const DeployTarget& target, const DeployContext& context) const = 0;
  /// Writes the target's config where the gateway reads it; starts the gateway when it does not run,
  /// restarts it when it runs and `configChanged` or the config on disk differed; then waits for
  /// /readyz. Errors: kIo (files), kNotFound/kPermissionDenied (exec), kDeadlineExceeded (not ready in
  /// time), kUnavailable (the process exited; the message carries its last log lines).
  virtual Result<ApplyAction> apply(const DeployTarget& target, const DeployContext& context, bool configChanged) = 0;
  /// Starts the gateway with the config already deployed and waits for /readyz; does nothing when it runs.
  /// Errors: kFailedPrecondition when no config was deployed yet; as apply().
  virtual Status start(const DeployTarget& target, const DeployContext& context) = 0;
  /// Stops the gateway (SIGTERM, then SIGKILL after the grace). Errors: kIo.
  virtual Status stop(const DeployTarget& target, const DeployContext& context) = 0;
  /// The gateway's process state and its /readyz probe.
  virtual GatewayRuntimeStatus status(const DeployTarget& target, const DeployContext& context) = 0;
  /// The last `lines` lines of the gateway's log. Errors: kNotFound when it has no log yet.
  virtual Result<std::string> logs(const DeployTarget& target, const DeployContext& context, std::size_t lines) = 0;
  /// Where this machine reaches the gateway's protocol port (gateway_address.h), open while the result
  /// lives (it must not outlive this deployer). The default: `target.probeHost:target.port`, directly. The
  /// ssh provider opens a local port forward over the gateway's ssh connection. Errors: kUnavailable naming
  /// the gateway, its host and ssh's stderr when a tunnel cannot be opened.
  virtual Result<GatewayAddress> gatewayAddress(const DeployTarget& target, const DeployContext& context);
  /// For a gateway whose files live on another machine (the ssh provider): copies its deployed config
  /// (`target.paths.configPath`, when it exists) to the file `configInto` and the tree of its state dir
  /// (when it exists) into the folder `stateInto`, both on this machine. Returns false, copying nothing,
  /// when the gateway's files are on this machine (the default: the caller reads them in place). Errors:
  /// kUnavailable / kIo naming the gateway, the host and what failed.
  virtual Result<bool> fetchFiles(const DeployTarget& target, const DeployContext& context,
                                  const std::filesystem::path& configInto, const std::filesystem::path& stateInto);
  /// For a gateway whose files live on another machine: puts the backup folder `from` (its `config/<file>`
  /// and `state/…`, as BackupStore writes them) in place of the gateway's config and state dir there, after
  /// checking every file's SHA-256 on the host against `files` (path in `from` -> {sha256, mode}); the old
  /// state dir is moved to `<stateDir>.before-restore-<tag>`. The gateway must be stopped. Returns nullopt,
  /// touching nothing, when the files are on this machine (the default); else the folder the old state dir
  /// was moved to ("" when there was none). Errors: kFailedPrecondition when a digest does not match on the
  /// host (nothing was replaced); kUnavailable / kIo naming the gateway and the host.
  virtual Result<std::optional<std::string>> putFiles(
      const DeployTarget& target, const DeployContext& context, const std::filesystem::path& from,
      const std::map<std::string, std::pair<std::string, unsigned>>& files, const std::string& tag);
};
using DeployerPtr = std::unique_ptr<Deployer>;

/// One provider's deployer factory, as listed in deployers/builtin_deployers.cpp.
struct DeployerRegistration {
  std::string_view provider;
  DeployerPtr (*create)();
};
/// Every built-in deployer.
std::span<const DeployerRegistration> builtinDeployers();
/// The deployer of `provider`. Errors: kUnsupported for a provider the inventory knows but no deployer
/// implements yet.
Result<DeployerPtr> createDeployer(std::string_view provider);

/// The deploy target of inventory().gateways()[gatewayIndex] with its render; its binary is the version
/// catalog's entry for the gateway's runtime and `version`, when the catalog lists that version.
DeployTarget deployTarget(const EffectiveFleet& fleet, std::size_t gatewayIndex, const RenderedGateway& render);

/// The environment variables `configText` references as "${VAR}" (not "$${VAR}", the escape), sorted,
/// without duplicates. SecretRef objects with source "env" count too (their `id`).
std::vector<std::string> referencedEnvironmentVariables(const std::string& configText);

}  // namespace talon::fleet
