#pragma once
// Which agents run heartbeats and with what settings (OpenClaw docs/gateway/heartbeat.md "Scope and
// precedence"): when any `agents.entries.<id>` has a `heartbeat` block, only those agents run heartbeats,
// each with its block merged over `agents.defaults.heartbeat` field by field (`activeHours` as a whole);
// otherwise a `agents.defaults.heartbeat` block runs for `agentId` when it names one, else for every agent.
// Without any heartbeat block the ambient owner runs OpenClaw's implicit heartbeat with every default
// (30 min, target "owner"): OpenClaw resolveHeartbeatAgentIds / tryResolveAmbientOwnerAgentId, which
// for a Talon roster (no `systemAgent`; two or more agents require `ownership: "explicit"`) is the sole
// agent. A roster of two or more agents without any block has no owner: no heartbeat runs, and config
// validation and the gateway warn (heartbeatOwnerUnresolved). `heartbeat.model` resolves per agent
// (resolveHeartbeatModel). Pure; thread-safe.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "config/config_model.h"

namespace talon::config {

/// OpenClaw's default heartbeat cadence (API-key auth): 30 minutes.
inline constexpr int64_t kDefaultHeartbeatEveryMs = 30 * 60'000;

/// One agent's heartbeat after the merge.
struct EffectiveHeartbeat {
  std::string agentId;
  /// The merged block (defaults' fields under the entry's).
  HeartbeatConfig config;
  /// The config path of the block that applies ("agents.entries.<id>.heartbeat" or
  /// "agents.defaults.heartbeat"), for messages.
  std::string path;
  /// True for OpenClaw's implicit heartbeat (no heartbeat block anywhere; `config` is all defaults).
  bool implicit = false;

  /// `every` in ms (default kDefaultHeartbeatEveryMs; 0: no recurring cadence).
  int64_t everyMs() const { return config.everyMs.value_or(kDefaultHeartbeatEveryMs); }
};

/// The heartbeats `agents` asks for, in roster order (the implicit one included).
std::vector<EffectiveHeartbeat> effectiveHeartbeats(const AgentsConfig& agents);

/// True when the roster has two or more agents, no heartbeat block and so no heartbeat owner (OpenClaw
/// isHeartbeatOwnerUnresolved): heartbeats stay off, and validation and the gateway say so.
bool heartbeatOwnerUnresolved(const AgentsConfig& agents);

/// The model of a heartbeat's turns (`heartbeat.model` resolved for its agent).
struct HeartbeatModel {
  std::string ref;     // "provider/model"
  ModelParams params;  // config/model_selection.h effectiveModelParams of `ref` for the agent
};

/// The config path of the `model` key that `hb` takes its model from ("agents.entries.<id>.heartbeat.model"
/// when the entry's own block sets it, else "agents.defaults.heartbeat.model").
std::string heartbeatModelPath(const AgentsConfig& agents, const EffectiveHeartbeat& hb);

/// Resolves `hb.config.model` for `hb.agentId` as a user's model override is (config/model_selection.h:
/// an alias of the agent, "provider/model", a bare configured id), then checks it against the agent's
/// modelPolicy and that its provider is in `config.providers` (configured, or added from OpenClaw's
/// catalog). nullopt when the heartbeat sets no model. Errors: kInvalidArgument, naming the key
/// (heartbeatModelPath) — an empty or unresolvable ref, one the modelPolicy refuses (OpenClaw's
/// message), a provider that is not configured.
Result<std::optional<HeartbeatModel>> resolveHeartbeatModel(const TalonConfig& config, const EffectiveHeartbeat& hb);

class ConfigReader;

/// Config validation's step for heartbeat models (a cross-section check, run after the catalog providers
/// are added): an error at the `model` key of each heartbeat that resolveHeartbeatModel refuses.
void checkHeartbeatModels(ConfigReader& reader, const TalonConfig& config);

}  // namespace talon::config
