#pragma once
// Config drift (docs/fleet.md "Drift"): what a gateway runs — its config hash and version, read through
// the gateway protocol (`config.get` and hello-ok's server.version, gateway_health.h) — against what the
// fleet last applied to it (revision.h). Blocks the calling thread for at most the timeout per gateway;
// thread-safe (no shared state).
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "config/environment.h"
#include "fleet/gateway_address.h"
#include "fleet/revision.h"

namespace talon::fleet {

/// Opens the address to reach a gateway at, given its id and the applied render's probe host and port
/// (reachGateway() through the gateway's deployer).
using GatewayReach =
    std::function<Result<GatewayAddress>(const std::string& gatewayId, const std::string& host, int port)>;

/// The SHA-256 of the config file at `configPath` where the gateway runs (nullopt: there is none), for the
/// OpenClaw runtime's file check; e.g. from Deployer::status()'s remoteConfigSha256 for an ssh gateway.
using ConfigDigest =
    std::function<std::optional<std::string>(const std::string& gatewayId, const std::string& configPath)>;

/// One gateway's drift state.
enum class DriftState {
  kInSync,       // it runs the applied render (and version, when one was applied)
  kDrifted,      // its running config or version differs: `drifted` says which
  kUnreachable,  // no protocol answer (stopped, wrong credential, timeout): `detail` says why
  kNotApplied,   // no revision has applied it
};
/// "in-sync" / "drifted" / "unreachable" / "not-applied".
std::string_view driftStateName(DriftState state);

/// The expected and running values of one gateway.
struct GatewayDrift {
  std::string id;
  std::string runtime;
  DriftState state = DriftState::kNotApplied;
  /// What differs when drifted: "hash" and/or "version".
  std::vector<std::string> drifted;
  std::optional<int64_t> appliedRevision;
  /// The config hash the applied render gives when the gateway loads it (Talon runtime: config::configHash
  /// of the render with `${VAR}` resolved from the environment; "" for OpenClaw, whose hashes are keyed HMACs).
  std::string expectedHash;
  /// `config.get`'s appliedConfigHash (what runs) and configRevisionHash (else hash: the config file the
  /// gateway would load next).
  std::string runningHash;
  std::string fileHash;
  /// The version the applied revision deployed ("" when none was set: the version is then not compared)
  /// and hello-ok's server.version.
  std::string appliedVersion;
  std::string runningVersion;
  /// Why unreachable, or what drifted, for the operator (never a secret value).
  std::string detail;
  /// {"gateway", "runtime", "state", "drifted": [..], "appliedRevision"?, "expectedHash"?, "runningHash"?,
  /// "fileHash"?, "appliedVersion"?, "runningVersion"?, "detail"?}.
  json::object toJson() const;
};

/// Compares one gateway with its applied revision. The gateway is reached on the port, bind and auth of the
/// applied render (what it runs), its credential read from `env`.
/// - Talon runtime: drifted "hash" when appliedConfigHash or hash differs from the expected hash.
/// - OpenClaw runtime: drifted "hash" when appliedConfigHash differs from configRevisionHash (it runs
///   something other than its file) or the file at the revision's configPath is not the applied render byte for byte.
/// - drifted "version" when the revision recorded a version and server.version differs.
/// `applied` null: kNotApplied. Never fails: a failed call is kUnreachable with the reason.
/// `reach` (may be empty: directly) gives the address to connect to for the gateway's (id, probe host,
/// port) — a tunnel for an ssh gateway (gateway_address.h); an error from it is kUnreachable with its message.
/// `configDigest` (may be empty: the file is read on this machine) gives the digest of the config file
/// where the gateway runs.
GatewayDrift checkGatewayDrift(const std::string& gatewayId, const std::string& runtime, const AppliedGateway* applied,
                               const config::Environment& env, const std::string& clientVersion,
                               std::chrono::milliseconds timeout, const GatewayReach& reach = {},
                               const ConfigDigest& configDigest = {});

/// The drift of each gateway of `gatewayIds` (with its runtime) against `applied`
/// (RevisionStore::lastApplied()), in order.
std::vector<GatewayDrift> fleetDrift(const std::vector<std::pair<std::string, std::string>>& gatewayIds,
                                     const std::map<std::string, AppliedGateway>& applied,
                                     const config::Environment& env, const std::string& clientVersion,
                                     std::chrono::milliseconds timeout, const GatewayReach& reach = {},
                                     const ConfigDigest& configDigest = {});

/// The gateways of `current` that changed to kDrifted since `previous` (gateway id -> its state at the
/// last check; a gateway missing from it had no state, so a first check reports what is drifted already),
/// in order. What `fleet serve` raises a health record and an alert for.
std::vector<const GatewayDrift*> newlyDrifted(const std::map<std::string, DriftState>& previous,
                                              const std::vector<GatewayDrift>& current);

/// The `talon fleet drift` exit code: 1 when any gateway drifted, else 5 when one is unreachable, else 0.
int driftExitCode(const std::vector<GatewayDrift>& drift);

}  // namespace talon::fleet
