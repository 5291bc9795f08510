#pragma once
// The table of store/heartbeat_monitor_repository.h (migration step 17, "heartbeat_monitors").
#include <string_view>

namespace talon::store {

// One row per agent that runs a heartbeat: the schedule and escalation state that outlive a restart
// (OpenClaw's persisted heartbeat monitor: "the persisted monitor schedule owns the actual tick").
// Upserted by the heartbeat service on every change of the schedule; rows of agents that no longer run
// a heartbeat are deleted at start.
constexpr std::string_view kHeartbeatMonitorSchema = R"sql(
CREATE TABLE heartbeat_monitors (
  agent_id           TEXT PRIMARY KEY NOT NULL CHECK (agent_id <> ''),
  fingerprint        TEXT NOT NULL,
  every_ms           INTEGER NOT NULL CHECK (every_ms >= 0),
  next_due_at_ms     INTEGER NOT NULL CHECK (next_due_at_ms >= 0),
  last_run_at_ms     INTEGER NOT NULL DEFAULT 0,
  consecutive_errors INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_errors >= 0),
  alerted_at_ms      INTEGER NOT NULL DEFAULT 0,
  alerts_sent        INTEGER NOT NULL DEFAULT 0,
  disabled_reason    TEXT NOT NULL DEFAULT '',
  last_error         TEXT NOT NULL DEFAULT '',
  updated_at_ms      INTEGER NOT NULL
);
)sql";

}  // namespace talon::store
