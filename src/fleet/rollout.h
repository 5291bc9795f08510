#pragma once
// Health-gated rollouts (docs/fleet.md "Rollouts"): `talon fleet rollout [--to <version|revision>]
// [--canary N] [--wave SIZE]`. The gateways whose config or version differ from the target are updated in
// steps — the canary step first (N gateways), then waves of SIZE, in gateway id order. Before a step, every
// gateway in it is backed up (backup.h). Each gateway of the step is deployed through its Deployer and
// then gated: /readyz answers 200, the protocol `health` call (with `probe: true`) answers ok, and every
// channel account it reports as enabled and configured is running with no failed probe — polled until
// it passes or the gate timeout passes; then, when the gateway has a `probeTurn`, one real agent turn
// whose reply must contain the expected text (forward steps only: a rollback is gated on health alone). A failed gate
// rolls the step's deployed gateways back to their last known-good revision (config and version), gates them again,
// records the rollback as a revision and stops the rollout. A passed step is recorded as a revision of kind "rollout".
//
// The planner and the gate's evaluation are pure functions; the runner blocks the calling thread
// (deployers, probes) and takes the clock and the sleep between polls from its options, so that tests
// drive it without real time.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "base/json.h"
#include "fleet/backup.h"
#include "fleet/deployer.h"
#include "fleet/fleet_apply.h"
#include "fleet/gateway_health.h"
#include "fleet/layering.h"
#include "fleet/revision.h"

namespace talon::fleet {

/// What a rollout deploys.
struct RolloutTarget {
  enum class Kind {
    kInventory,  // the current inventory's renders and versions (what `apply` would deploy)
    kRevision,   // each gateway as it was at a recorded revision (a roll back to it)
    kVersion,    // the current renders, every gateway at one runtime version of the version catalog
  };
  Kind kind = Kind::kInventory;
  int64_t revision = 0;
  std::string version;
  /// "the inventory", "revision 3", "version 1.2.0".
  std::string describe() const;
};

/// `--to`: "" → the inventory; "revision:N" or all digits → revision N; "version:V" or anything else →
/// version V. Errors: kInvalidArgument for "revision:" without a positive number or an empty version.
Result<RolloutTarget> parseRolloutTarget(std::string_view to);

/// One step of a rollout.
struct RolloutStep {
  /// "canary" or "wave".
  std::string kind;
  /// 1-based among the steps of its kind.
  std::size_t number = 1;
  std::vector<std::string> gateways;
  /// "canary" or "wave 2".
  std::string label() const;
};

/// The steps for `gatewayIds`: sorted by id, the first `canary` form the canary step, the rest waves of
/// `wave` each. Deterministic: the same ids in any order give the same steps. No steps for no gateways.
/// Errors: kInvalidArgument when canary or wave is 0.
Result<std::vector<RolloutStep>> planRolloutSteps(std::vector<std::string> gatewayIds, std::size_t canary,
                                                  std::size_t wave);

/// The verdict of one gateway's gate.
struct GateOutcome {
  bool ok = false;
  /// What failed: "deploy", "readyz", "health", "channels" or "turn" ("" when ok).
  std::string check;
  /// A sentence for the operator.
  std::string detail;
};

/// The gate on one observation: /readyz answered 200; the health call succeeded and its payload says
/// `ok: true`; every account under `channels.<channel>.accounts` that is not `enabled: false` or
/// `configured: false` is not `running: false` and carries no `probe` with `ok: false`.
GateOutcome evaluateGate(const ProbeResult& readyz, const Result<json::object>& health);

/// The verdict of a probe turn: it failed (check "turn") when the turn did not complete with status ok,
/// its reply is empty, or it does not contain `spec.expect` (ASCII case-insensitive).
GateOutcome evaluateProbeTurn(const ProbeTurnSpec& spec, const Result<ProbeTurnReply>& reply);

/// How the gate observes a gateway.
struct GateProbes {
  std::function<ProbeResult(const DeployTarget&)> readyz;
  /// The protocol `health` payload (with probe: true).
  std::function<Result<json::object>(const DeployTarget&)> health;
  /// Runs the target's probe turn (only called when the target has one).
  std::function<Result<ProbeTurnReply>(const DeployTarget&)> turn;
};

/// The real probes: GET /readyz, the protocol `health` call and the probe turn (the protocol `agent`
/// method), with the gateway's credential read through `env` (a credential that cannot be read here fails
/// the gate: it is never skipped).
GateProbes liveGateProbes(const DeployContext& context, EnvironmentLookup env);

/// Observes `target` until evaluateGate() passes or `timeout` has passed on `clock` (at least one
/// observation), calling `sleep(interval)` between observations. Returns the last verdict.
GateOutcome waitForGate(const DeployTarget& target, const GateProbes& probes, const Clock& clock,
                        const std::function<void(std::chrono::milliseconds)>& sleep, std::chrono::milliseconds timeout,
                        std::chrono::milliseconds interval);

/// `base` (a gateway's deploy target from the inventory) as it was in `revision`: that revision's config,
/// config path, port (read from the config's gateway.port), version and binary.
DeployTarget targetAtRevision(const DeployTarget& base, const GatewayRevision& revision);

/// One gateway of a rollout.
struct RolloutUnit {
  /// What the rollout deploys to it.
  DeployTarget desired;
  /// Its provider's deployer (owned by the DeployUnit it came from).
  Deployer* deployer = nullptr;
  /// Its last applied revision: what it runs now and what a failed gate restores.
  std::optional<AppliedGateway> lastGood;
  /// Whether `desired` differs from lastGood (config SHA-256 or binary), or it was never applied.
  bool changed() const;
};

/// The units for `target`: `units` are the selected gateways' deploy units (their targets from the
/// current inventory); `revisions` are every recorded revision. A revision target takes each gateway as
/// of the latest revision ≤ N that includes it (gateways it does not include are left out). A version
/// target needs the version in the catalog for every selected gateway's runtime. Errors: kNotFound (an
/// unknown revision), kInvalidArgument (a version the catalog lacks, naming the versions it has), a unit
/// without a deployer (kUnsupported).
Result<std::vector<RolloutUnit>> resolveRolloutUnits(const EffectiveFleet& fleet, std::vector<DeployUnit>& units,
                                                     const RolloutTarget& target,
                                                     const std::map<std::string, AppliedGateway>& applied,
                                                     const std::vector<DeploymentRevision>& revisions);

struct RolloutOptions {
  /// Who rolls out (recorded in the revisions).
  std::string actor;
  std::size_t canary = 1;
  std::size_t wave = 1;
  /// How long a gateway has to pass its gate after it was deployed (also the deploy's /readyz wait). A
  /// rollback's deploy waits DeployContext::readyTimeout instead, then its gate gateTimeout.
  std::chrono::milliseconds gateTimeout{60'000};
  /// Between gate observations.
  std::chrono::milliseconds gateInterval{500};
  /// Time of revisions and backups, and the gate's deadline (null: the system clock).
  ClockPtr clock;
  /// Waits between gate observations (null: std::this_thread::sleep_for).
  std::function<void(std::chrono::milliseconds)> sleep;
  /// A gateway's state changed: (gateway, state, detail). States: "backed-up", "deploying", "gating", "probing",
  /// "healthy", "gate-failed", "rolling-back", "rolled-back", "rollback-failed", "stopped".
  std::function<void(const std::string&, const std::string&, const std::string&)> onState;
  /// Recorded in the revisions.
  std::string inventoryPath;
  std::optional<InventoryGitState> git;
  /// The target, for the revisions' note ("rollout to version 1.2.0").
  std::string targetDescription;
};

/// What happened to one gateway.
struct RolloutGatewayResult {
  std::string id;
  /// "unchanged" (already at the target: in no step), "pending" (its step was not reached), "updated",
  /// "rolled-back" (healthy on its last known-good revision), "rollback-failed", "stopped" (rolled back
  /// but it had no earlier revision: stopped), "not-deployed" (in a failed step but never touched).
  std::string state = "pending";
  /// The step label ("canary", "wave 2"); "" when unchanged.
  std::string step;
  std::optional<int64_t> fromRevision;
  std::string fromVersion;
  std::string toVersion;
  std::optional<int64_t> backup;
  /// The gate that failed, or the rollback's error.
  std::string error;
};

struct RolloutReport {
  std::string target;
  std::vector<RolloutStep> steps;
  std::vector<RolloutGatewayResult> gateways;
  /// The revisions recorded for the passed steps, in order.
  std::vector<int64_t> revisions;
  std::optional<int64_t> rollbackRevision;
  /// The label of the step whose gate failed.
  std::optional<std::string> failedStep;
  /// Set when a step was stopped before deploying (its backup failed).
  std::optional<Error> stoppedBy;
  bool rollbackFailed = false;

  bool ok() const { return !failedStep && !stoppedBy; }
  /// 0 every step passed (or nothing to do); 7 a gate failed and the step is back on its last known-good
  /// revision; 8 a gate failed and its rollback failed too; 1 the rollout stopped before a step (backup).
  int exitCode() const;
  /// {"ok", "target", "exitCode", "steps": [{"step", "gateways"}], "gateways": [{"gateway", "state",
  /// "step"?, "fromRevision"?, "fromVersion"?, "toVersion"?, "backup"?, "error"?}], "revisions",
  /// "rollbackRevision"?, "failedStep"?, "error"?}.
  json::object toJson() const;
};

/// Runs the rollout of `units` (resolveRolloutUnits()) under the state dir's lock: plans the steps of the
/// changed units, then per step backs up its gateways (`backups`), deploys and gates each in turn; the
/// first failed gate rolls back the step's deployed gateways and stops. Records a "rollout" revision per
/// passed step and a "rollback" revision for the gateways restored. Errors (nothing deployed):
/// kInvalidArgument (canary/wave 0), kFailedPrecondition (the lock is held), kIo.
Result<RolloutReport> runRollout(std::vector<RolloutUnit>& units, RevisionStore& revisions, BackupStore& backups,
                                 const DeployContext& context, const GateProbes& probes, const RolloutOptions& options);

}  // namespace talon::fleet
