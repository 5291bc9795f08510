#include "store/heartbeat_monitor_repository.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "store/sqlite_connection.h"
#include "store/store.h"

namespace talon::store {
namespace {

constexpr const char kListMonitors[] =
    "SELECT agent_id, fingerprint, every_ms, next_due_at_ms, last_run_at_ms, consecutive_errors, alerted_at_ms, "
    "alerts_sent, disabled_reason, last_error, updated_at_ms FROM heartbeat_monitors ORDER BY agent_id";
constexpr const char kUpsertMonitor[] =
    "INSERT INTO heartbeat_monitors (agent_id, fingerprint, every_ms, next_due_at_ms, last_run_at_ms, "
    "consecutive_errors, alerted_at_ms, alerts_sent, disabled_reason, last_error, updated_at_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (agent_id) DO UPDATE SET "
    "fingerprint = excluded.fingerprint, every_ms = excluded.every_ms, next_due_at_ms = excluded.next_due_at_ms, "
    "last_run_at_ms = excluded.last_run_at_ms, consecutive_errors = excluded.consecutive_errors, "
    "alerted_at_ms = excluded.alerted_at_ms, alerts_sent = excluded.alerts_sent, "
    "disabled_reason = excluded.disabled_reason, last_error = excluded.last_error, "
    "updated_at_ms = excluded.updated_at_ms";
constexpr const char kMonitorAgentIds[] = "SELECT agent_id FROM heartbeat_monitors";
constexpr const char kDeleteMonitor[] = "DELETE FROM heartbeat_monitors WHERE agent_id = ?1";

class UpsertHeartbeatMonitor final : public WriteOp {
 public:
  explicit UpsertHeartbeatMonitor(HeartbeatMonitorRecord record) : record_(std::move(record)) {}

  Status validate() const override {
    if (record_.agentId.empty()) {
      return fail(ErrorCode::kInvalidArgument, "heartbeat monitor without an agent id", "invalid heartbeat monitor");
    }
    if (record_.everyMs < 0 || record_.nextDueAtMs < 0 || record_.consecutiveErrors < 0) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("heartbeat monitor of agent {} with a negative cadence, due time or error count",
                              record_.agentId),
                  "invalid heartbeat monitor");
    }
    return {};
  }

  Status apply(Transaction& tx) const override {
    SQLite::Statement& q = tx.statement(kUpsertMonitor);
    q.bind(1, record_.agentId);
    q.bind(2, record_.fingerprint);
    q.bind(3, record_.everyMs);
    q.bind(4, record_.nextDueAtMs);
    q.bind(5, record_.lastRunAtMs);
    q.bind(6, record_.consecutiveErrors);
    q.bind(7, record_.alertedAtMs);
    q.bind(8, record_.alertsSent);
    q.bind(9, record_.disabledReason);
    q.bind(10, record_.lastError);
    q.bind(11, record_.updatedAtMs);
    return tx.run(q, [&] { return "recording the heartbeat monitor of agent " + record_.agentId; });
  }

 private:
  HeartbeatMonitorRecord record_;
};

class RetainHeartbeatMonitors final : public WriteOp {
 public:
  explicit RetainHeartbeatMonitors(std::vector<std::string> keep) : keep_(std::move(keep)) {}

  Status validate() const override { return {}; }

  Status apply(Transaction& tx) const override {
    std::vector<std::string> stale;
    {
      SQLite::Statement& q = tx.statement(kMonitorAgentIds);
      StatementReset reset(q);
      while (q.executeStep()) {
        std::string id = q.getColumn(0).getString();
        if (std::find(keep_.begin(), keep_.end(), id) == keep_.end()) stale.push_back(std::move(id));
      }
    }
    for (const auto& id : stale) {
      SQLite::Statement& d = tx.statement(kDeleteMonitor);
      d.bind(1, id);
      if (auto st = tx.run(d, [&] { return "deleting the heartbeat monitor of agent " + id; }); !st) return st;
    }
    return {};
  }

 private:
  std::vector<std::string> keep_;
};

}  // namespace

void HeartbeatMonitorRepository::upsert(WriteBatch& batch, HeartbeatMonitorRecord record) {
  batch.emplace<UpsertHeartbeatMonitor>(std::move(record));
}

void HeartbeatMonitorRepository::retainOnly(WriteBatch& batch, std::vector<std::string> keepAgentIds) {
  batch.emplace<RetainHeartbeatMonitors>(std::move(keepAgentIds));
}

Result<std::vector<HeartbeatMonitorRecord>> HeartbeatMonitorRepository::list() const {
  std::vector<HeartbeatMonitorRecord> out;
  auto st = store_->read("reading heartbeat monitors", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kListMonitors);
    StatementReset reset(q);
    while (q.executeStep()) {
      HeartbeatMonitorRecord r;
      r.agentId = q.getColumn(0).getString();
      r.fingerprint = q.getColumn(1).getString();
      r.everyMs = q.getColumn(2).getInt64();
      r.nextDueAtMs = q.getColumn(3).getInt64();
      r.lastRunAtMs = q.getColumn(4).getInt64();
      r.consecutiveErrors = q.getColumn(5).getInt64();
      r.alertedAtMs = q.getColumn(6).getInt64();
      r.alertsSent = q.getColumn(7).getInt64();
      r.disabledReason = q.getColumn(8).getString();
      r.lastError = q.getColumn(9).getString();
      r.updatedAtMs = q.getColumn(10).getInt64();
      out.push_back(std::move(r));
    }
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

}  // namespace talon::store
