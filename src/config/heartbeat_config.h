#pragma once
// Which agents run heartbeats and with what settings (OpenClaw docs/gateway/heartbeat.md "Scope and
// precedence"): when any `agents.entries.<id>` has a `heartbeat` block, only those agents run heartbeats,
// each with its block merged over `agents.defaults.heartbeat` field by field (`activeHours` as a whole);
// otherwise a `agents.defaults.heartbeat` block runs for `agentId` when it names one, else for every agent.
// Without any heartbeat block no agent runs one: OpenClaw's implicit heartbeat delivers to the operator's
// DM (target "owner"), which Talon does not resolve yet (docs/heartbeat.md). Pure; thread-safe.
#include <cstdint>
#include <string>
#include <vector>

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

  /// `every` in ms (default kDefaultHeartbeatEveryMs; 0: no recurring cadence).
  int64_t everyMs() const { return config.everyMs.value_or(kDefaultHeartbeatEveryMs); }
};

/// The heartbeats `agents` asks for, in roster order.
std::vector<EffectiveHeartbeat> effectiveHeartbeats(const AgentsConfig& agents);

}  // namespace talon::config
