#pragma once
// Payload shapes shared by several method families, as OpenClaw 2026.9.6 sends them (tests/data/wire/).
#include <string>

#include "base/json.h"
#include "config/config_model.h"
#include "gateway/agent/agent_runner.h"
#include "gateway/channels/channel_manager.h"
#include "store/store.h"

namespace talon::gateway::methods {

/// A `sessions.list` / `status` session row. `now`: ms since epoch.
json::object sessionRow(const store::SessionRecord& session, int64_t now);
/// The `defaults` object: the default model split into modelProvider and model.
json::object modelDefaults(const config::TalonConfig& config);
/// A transcript entry as OpenClaw's transcript message (pi-agent content blocks, tool calls, results).
json::object transcriptMessage(const store::TranscriptEntry& entry);
/// The final `agent` result payload of a run.
std::string outcomePayload(const TurnOutcome& outcome);
/// One channel account as OpenClaw's ChannelAccountSnapshot (`channels.status` channelAccounts, `health`
/// channels.<id>.accounts): accountId, name, enabled, configured, running, connected, reconnectAttempts,
/// lastError, healthState, lastStartAt, lastInboundAt, lastOutboundAt, probe/lastProbeAt; plus Talon's
/// `lastErrorAt` (ms since epoch when lastError was recorded), `health` object (transport, application,
/// functional, muted, degradedSince, suggestedAction) and the adapter's counters (state, received, sent,
/// sendFailures).
json::object channelAccountSnapshot(const channels::AccountStatus& account);

}  // namespace talon::gateway::methods
