#include "store/run_repository.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <utility>

#include "store/run_rows.h"
#include "store/sqlite_connection.h"
#include "store/store.h"

namespace talon::store {
namespace {

// Indexed by RunStatus; the names stored since schema step 1.
constexpr std::array<std::string_view, 4> kStatusNames = {"running", "ok", "error", "aborted"};

// A run upsert keeps its session's token totals equal to the sum over the session's runs: it reads the
// run's previous session and tokens (if it existed), writes the record, and adds the difference to
// the session (or takes the old tokens off the old session and adds the new ones to the new one when
// the run moved) — all in the batch's transaction, and no session update when nothing changes (a
// run's first record, with no tokens yet).
constexpr const char kPrevious[] =
    "SELECT session_key, input_tokens, output_tokens, agent_id, idempotency_key, started_at_ms FROM runs "
    "WHERE run_id = ?1";
// A run's later records (its end) change neither its session, agent, idempotency key nor start: this
// update leaves those columns, and so the idempotency index and the session reference, untouched.
constexpr const char kUpdateOutcome[] =
    "UPDATE runs SET status = ?2, model = ?3, error_code = ?4, error_message = ?5, final_text = ?6, "
    "ended_at_ms = ?7, input_tokens = ?8, output_tokens = ?9, steps = ?10, provider_id = ?11, "
    "provider_api = ?12, base_url_origin = ?13, answered_model = ?14, model_latency_ms = ?15, cost_usd = ?16, "
    "attempts_json = ?17, trace_id = ?18 WHERE run_id = ?1";
constexpr const char kUpsert[] =
    "INSERT INTO runs (" TALON_RUN_COLUMNS
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22) "
    "ON CONFLICT (run_id) DO UPDATE SET session_key = excluded.session_key, agent_id = excluded.agent_id, "
    "idempotency_key = excluded.idempotency_key, status = excluded.status, model = excluded.model, "
    "error_code = excluded.error_code, error_message = excluded.error_message, "
    "final_text = excluded.final_text, started_at_ms = excluded.started_at_ms, "
    "ended_at_ms = excluded.ended_at_ms, input_tokens = excluded.input_tokens, "
    "output_tokens = excluded.output_tokens, steps = excluded.steps, provider_id = excluded.provider_id, "
    "provider_api = excluded.provider_api, base_url_origin = excluded.base_url_origin, "
    "answered_model = excluded.answered_model, model_latency_ms = excluded.model_latency_ms, "
    "cost_usd = excluded.cost_usd, attempts_json = excluded.attempts_json, trace_id = excluded.trace_id";
constexpr const char kAccount[] =
    "UPDATE sessions SET input_tokens = input_tokens + ?2, output_tokens = output_tokens + ?3 "
    "WHERE session_key = ?1";
constexpr const char kListWithStatus[] =
    "SELECT " TALON_RUN_COLUMNS " FROM runs WHERE status = ?1 ORDER BY started_at_ms, run_id";

constexpr const char kList[] =
    "SELECT " TALON_RUN_COLUMNS
    " FROM runs WHERE (?1 = '' OR agent_id = ?1) AND (?2 = '' OR session_key = ?2) "
    "AND (?3 = '' OR status = ?3) ORDER BY started_at_ms DESC, run_id DESC LIMIT ?4 OFFSET ?5";

constexpr const char kCostSince[] =
    "SELECT COALESCE(SUM(cost_usd), 0) FROM runs WHERE agent_id = ?1 AND started_at_ms >= ?2";

/// A run's record as it was before an upsert: what its session's totals hold of it.
struct Previous {
  std::string sessionKey;
  int64_t inputTokens = 0;
  int64_t outputTokens = 0;
  std::string agentId;
  std::string idempotencyKey;
  int64_t startedAtMs = 0;
};

/// Adds token counts (negative: takes them off) to a session's totals; nothing when both are 0.
Status addTokens(Transaction& tx, const std::string& sessionKey, int64_t input, int64_t output,
                 FunctionRef<std::string()> context) {
  if (input == 0 && output == 0) return {};
  SQLite::Statement& account = tx.statement(kAccount);
  account.bindNoCopy(1, sessionKey);
  account.bind(2, input);
  account.bind(3, output);
  return tx.run(account, context);
}

class UpsertRun final : public WriteOp {
 public:
  explicit UpsertRun(RunRecord run) : r_(std::move(run)) {}

  Status validate() const override {
    if (r_.runId.empty()) return fail(ErrorCode::kInvalidArgument, "run record without runId", "invalid record");
    if (r_.sessionKey.empty()) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("run {} without sessionKey", r_.runId), "invalid record");
    }
    if (static_cast<std::size_t>(r_.status) >= kStatusNames.size()) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("run {}: unknown status {}", r_.runId, static_cast<int>(r_.status)), "invalid record");
    }
    return {};
  }

  Status apply(Transaction& tx) const override {
    auto context = [&] {
      return r_.idempotencyKey.empty() ? fmt::format("run {}", r_.runId)
                                       : fmt::format("run {} (idempotency key {})", r_.runId, r_.idempotencyKey);
    };
    std::optional<Previous> previous;
    {
      SQLite::Statement& q = tx.statement(kPrevious);
      StatementReset reset(q);
      q.bindNoCopy(1, r_.runId);
      if (q.executeStep()) {
        previous = Previous{q.getColumn(0).getString(), q.getColumn(1).getInt64(),  q.getColumn(2).getInt64(),
                            q.getColumn(3).getString(), q.getColumn(4).getString(), q.getColumn(5).getInt64()};
      }
    }
    const bool sameIdentity = previous && previous->sessionKey == r_.sessionKey && previous->agentId == r_.agentId &&
                              previous->idempotencyKey == r_.idempotencyKey && previous->startedAtMs == r_.startedAtMs;
    if (auto st = sameIdentity ? updateOutcome(tx, context) : upsert(tx, context); !st) return st;

    if (previous && previous->sessionKey != r_.sessionKey) {
      if (auto st = addTokens(tx, previous->sessionKey, -previous->inputTokens, -previous->outputTokens, context);
          !st) {
        return st;
      }
      return addTokens(tx, r_.sessionKey, r_.inputTokens, r_.outputTokens, context);
    }
    return addTokens(tx, r_.sessionKey, r_.inputTokens - (previous ? previous->inputTokens : 0),
                     r_.outputTokens - (previous ? previous->outputTokens : 0), context);
  }

 private:
  /// The record as a whole: a new run, or one whose identity columns change.
  Status upsert(Transaction& tx, FunctionRef<std::string()> context) const {
    SQLite::Statement& q = tx.statement(kUpsert);
    q.bindNoCopy(1, r_.runId);
    q.bindNoCopy(2, r_.sessionKey);
    q.bindNoCopy(3, r_.agentId);
    q.bindNoCopy(4, r_.idempotencyKey);
    q.bind(5, std::string(runStatusName(r_.status)));  // copied: bindNoCopy with a size would bind a BLOB
    q.bindNoCopy(6, r_.model);
    q.bindNoCopy(7, r_.errorCode);
    q.bindNoCopy(8, r_.errorMessage);
    q.bindNoCopy(9, r_.finalText);
    q.bind(10, r_.startedAtMs);
    q.bind(11, r_.endedAtMs);
    q.bind(12, r_.inputTokens);
    q.bind(13, r_.outputTokens);
    q.bind(14, r_.steps);
    q.bindNoCopy(15, r_.providerId);
    q.bindNoCopy(16, r_.providerApi);
    q.bindNoCopy(17, r_.baseUrlOrigin);
    q.bindNoCopy(18, r_.answeredModel);
    q.bind(19, r_.modelLatencyMs);
    bindCost(q, 20);
    q.bindNoCopy(21, r_.attemptsJson);
    q.bindNoCopy(22, r_.traceId);
    return tx.run(q, context);
  }

  /// The columns a run's later records change (kUpdateOutcome), for a run whose identity is unchanged.
  Status updateOutcome(Transaction& tx, FunctionRef<std::string()> context) const {
    SQLite::Statement& q = tx.statement(kUpdateOutcome);
    q.bindNoCopy(1, r_.runId);
    q.bind(2, std::string(runStatusName(r_.status)));
    q.bindNoCopy(3, r_.model);
    q.bindNoCopy(4, r_.errorCode);
    q.bindNoCopy(5, r_.errorMessage);
    q.bindNoCopy(6, r_.finalText);
    q.bind(7, r_.endedAtMs);
    q.bind(8, r_.inputTokens);
    q.bind(9, r_.outputTokens);
    q.bind(10, r_.steps);
    q.bindNoCopy(11, r_.providerId);
    q.bindNoCopy(12, r_.providerApi);
    q.bindNoCopy(13, r_.baseUrlOrigin);
    q.bindNoCopy(14, r_.answeredModel);
    q.bind(15, r_.modelLatencyMs);
    bindCost(q, 16);
    q.bindNoCopy(17, r_.attemptsJson);
    q.bindNoCopy(18, r_.traceId);
    return tx.run(q, context);
  }

  void bindCost(SQLite::Statement& q, int index) const {
    if (r_.costUsd) {
      q.bind(index, *r_.costUsd);
    } else {
      q.bind(index);  // NULL: no price table
    }
  }

  RunRecord r_;
};

}  // namespace

std::string_view runStatusName(RunStatus status) {
  auto index = static_cast<std::size_t>(status);
  return index < kStatusNames.size() ? kStatusNames[index] : std::string_view("unknown");
}

std::optional<RunStatus> parseRunStatus(std::string_view name) {
  auto it = std::find(kStatusNames.begin(), kStatusNames.end(), name);
  if (it == kStatusNames.end()) return std::nullopt;
  return static_cast<RunStatus>(it - kStatusNames.begin());
}

void RunRepository::upsert(WriteBatch& batch, RunRecord run) { batch.emplace<UpsertRun>(std::move(run)); }

Result<std::optional<RunRecord>> RunRepository::get(const std::string& runId) const {
  return readOneRun(*store_, "reading a run", kRunByIdSql, runId);
}

Result<std::vector<RunRecord>> RunRepository::listWithStatus(RunStatus status) const {
  std::vector<RunRecord> runs;
  auto st = store_->read("listing runs", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kListWithStatus);
    StatementReset reset(q);
    std::string_view name = runStatusName(status);
    q.bind(1, std::string(name));
    while (q.executeStep()) {
      auto run = readRunRow(q);
      if (!run) return fail(run.error());
      runs.push_back(std::move(*run));
    }
    return {};
  });
  if (!st) return fail(st.error());
  return runs;
}

Result<double> RunRepository::costSince(const std::string& agentId, int64_t sinceMs) const {
  double total = 0;
  auto st = store_->read("summing run costs", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kCostSince);
    StatementReset reset(q);
    q.bind(1, agentId);
    q.bind(2, sinceMs);
    if (q.executeStep()) total = q.getColumn(0).getDouble();
    return {};
  });
  if (!st) return fail(st.error());
  return total;
}

Result<std::optional<RunRecord>> readOneRun(Store& store, std::string_view what, const char* sql,
                                            const std::string& key) {
  return readFirstRun(store, what, {RunLookup{sql, key}});
}

Result<std::optional<RunRecord>> readFirstRun(Store& store, std::string_view what,
                                              std::initializer_list<RunLookup> lookups) {
  std::optional<RunRecord> out;
  auto st = store.read(what, [&](ReadConnection& c) -> Status {
    for (const RunLookup& lookup : lookups) {
      SQLite::Statement& q = c.statement(lookup.sql);
      StatementReset reset(q);
      q.bind(1, lookup.key);
      if (!q.executeStep()) continue;
      auto run = readRunRow(q);
      if (!run) return fail(run.error());
      out = std::move(*run);
      return {};
    }
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

Result<RunRecord> readRunRow(const SQLite::Statement& q) {
  RunRecord r;
  r.runId = q.getColumn(0).getString();
  r.sessionKey = q.getColumn(1).getString();
  r.agentId = q.getColumn(2).getString();
  r.idempotencyKey = q.getColumn(3).getString();
  std::string status = q.getColumn(4).getString();
  auto parsed = parseRunStatus(status);
  if (!parsed) {
    return fail(ErrorCode::kIo, fmt::format("run {} has unknown status '{}'", r.runId, status), "storage failure");
  }
  r.status = *parsed;
  r.model = q.getColumn(5).getString();
  r.errorCode = q.getColumn(6).getString();
  r.errorMessage = q.getColumn(7).getString();
  r.finalText = q.getColumn(8).getString();
  r.startedAtMs = q.getColumn(9).getInt64();
  r.endedAtMs = q.getColumn(10).getInt64();
  r.inputTokens = q.getColumn(11).getInt64();
  r.outputTokens = q.getColumn(12).getInt64();
  r.steps = q.getColumn(13).getInt64();
  r.providerId = q.getColumn(14).getString();
  r.providerApi = q.getColumn(15).getString();
  r.baseUrlOrigin = q.getColumn(16).getString();
  r.answeredModel = q.getColumn(17).getString();
  r.modelLatencyMs = q.getColumn(18).getInt64();
  if (!q.getColumn(19).isNull()) r.costUsd = q.getColumn(19).getDouble();
  r.attemptsJson = q.getColumn(20).getString();
  r.traceId = q.getColumn(21).getString();
  return r;
}

Result<std::vector<RunRecord>> RunRepository::list(const RunQuery& query) const {
  if (query.limit < 1 || query.offset < 0) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("run list: limit {} must be >= 1 and offset {} >= 0", query.limit, query.offset),
                "invalid page");
  }
  std::vector<RunRecord> runs;
  auto st = store_->read("listing runs", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kList);
    StatementReset reset(q);
    q.bind(1, query.agentId);
    q.bind(2, query.sessionKey);
    q.bind(3, query.status ? std::string(runStatusName(*query.status)) : std::string());
    q.bind(4, query.limit);
    q.bind(5, query.offset);
    while (q.executeStep()) {
      auto run = readRunRow(q);
      if (!run) return fail(run.error());
      runs.push_back(std::move(*run));
    }
    return {};
  });
  if (!st) return fail(st.error());
  return runs;
}

}  // namespace talon::store
