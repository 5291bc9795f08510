#pragma once
// The persisted heartbeat monitor of each agent (OpenClaw docs/gateway/heartbeat.md: "Heartbeat config
// remains the desired-state input, while the persisted monitor schedule owns the actual tick"): when the
// next tick is due and the escalation state (consecutive errors, the open alert incident, an automatic
// disable), so that a restart neither resets the cadence nor forgets a failing or disabled heartbeat.
#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "store/write_batch.h"

namespace talon::store {

class Store;

/// One agent's heartbeat monitor.
struct HeartbeatMonitorRecord {
  std::string agentId;
  /// What the schedule was made for: a digest of the agent's effective heartbeat config. A different
  /// fingerprint at start means the config changed (the owner decides what that resets).
  std::string fingerprint;
  int64_t everyMs = 0;            // the cadence, ms (0: no recurring cadence)
  int64_t nextDueAtMs = 0;        // Unix ms of the next scheduled tick; 0: none
  int64_t lastRunAtMs = 0;        // Unix ms the last turn started; 0: never
  int64_t consecutiveErrors = 0;  // failed turns since the last success
  int64_t alertedAtMs = 0;        // the open incident's last alert, Unix ms; 0: none
  int64_t alertsSent = 0;         // alerts sent in the open incident
  std::string disabledReason;     // "" | "consecutive-failures"
  std::string lastError;          // the last failure's message ("" after a success)
  int64_t updatedAtMs = 0;
};

/// Reads and writes of heartbeat monitors. A view over a Store (cheap to copy; the store must outlive it).
/// Reads: any thread; each sees every write whose commit was reported before it began.
class HeartbeatMonitorRepository {
 public:
  explicit HeartbeatMonitorRepository(Store& store) : store_(&store) {}

  /// Adds to `batch`: insert or replace the monitor of record.agentId. Errors when applied:
  /// kInvalidArgument for an empty agentId or a negative everyMs, nextDueAtMs or consecutiveErrors.
  static void upsert(WriteBatch& batch, HeartbeatMonitorRecord record);
  /// Adds to `batch`: delete every monitor whose agent is not in `keepAgentIds`.
  static void retainOnly(WriteBatch& batch, std::vector<std::string> keepAgentIds);

  /// Every monitor, by agent id. Errors: kFailedPrecondition after Store::close(), kIo for database
  /// failures.
  Result<std::vector<HeartbeatMonitorRecord>> list() const;

 private:
  Store* store_;
};

}  // namespace talon::store
