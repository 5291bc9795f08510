#pragma once
// Runs: one agent turn each, from intake to its final state.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "store/write_batch.h"

namespace talon::store {

class Store;

/// Where a run stands. running → ok | error | aborted (aborted: stopped by a client, or found running
/// at start after a crash).
enum class RunStatus { kRunning, kOk, kError, kAborted };

/// The stored name: "running", "ok", "error", "aborted".
std::string_view runStatusName(RunStatus status);
/// The status of a name given by runStatusName(); nullopt for any other text (case-sensitive).
std::optional<RunStatus> parseRunStatus(std::string_view name);

/// One agent run (a turn).
struct RunRecord {
  std::string runId;
  std::string sessionKey;
  std::string agentId;
  std::string idempotencyKey;  // unique when not empty (see IdempotencyRepository)
  RunStatus status = RunStatus::kRunning;
  std::string model;
  std::string errorCode;  // protocol error code, when status is error or aborted
  std::string errorMessage;
  std::string finalText;  // the final answer, when ok
  int64_t startedAtMs = 0;
  int64_t endedAtMs = 0;
  int64_t inputTokens = 0;
  int64_t outputTokens = 0;
  int64_t steps = 0;  // model calls made
  // Provider identity (schema step 5): which endpoint answered. Never a credential.
  std::string providerId;         // e.g. "openai": the provider of the model that answered, or was tried last
  std::string providerApi;        // e.g. "openai-completions"
  std::string baseUrlOrigin;      // e.g. "https://api.openai.com"
  std::string answeredModel;      // the vendor's model id that answered (a fallback differs from `model`)
  int64_t modelLatencyMs = 0;     // time spent waiting on model calls
  std::optional<double> costUsd;  // from the model's `cost` table; nullopt when it has none
  /// Every model call of the run as a JSON array of {provider, model, step, outcome ("ok"|"error"),
  /// reason, error, httpStatus, latencyMs, action ("retry"|"fallback"|"fail"), retryInMs, spanId}; "" before
  /// the run ends. A routed run's array starts with its routing decision, {provider, model, outcome "routed",
  /// reason, routing} (not a model call; docs/runs.md, gateway/agent/model_routing.h).
  std::string attemptsJson;
  /// The W3C trace id (32 lower-case hex digits) the request that started the run carried; "" when
  /// none (schema step 11).
  std::string traceId;
};

/// Which runs RunRepository::list() returns.
struct RunQuery {
  std::string agentId;              // empty: every agent
  std::string sessionKey;           // empty: every session
  std::optional<RunStatus> status;  // nullopt: any status
  int64_t limit = 50;               // ≥ 1
  int64_t offset = 0;               // ≥ 0
};

/// Reads and writes of runs. A view over a Store (cheap to copy; the store must outlive it).
class RunRepository {
 public:
  explicit RunRepository(Store& store) : store_(&store) {}

  /// Adds to `batch` the insert-or-replace of `run` and, in the same transaction, moves its session's
  /// token totals by the difference to the run's previous tokens. Required: runId, sessionKey
  /// (kInvalidArgument); the session must exist (kFailedPrecondition); a non-empty idempotencyKey must
  /// not belong to another run (kAlreadyExists).
  static void upsert(WriteBatch& batch, RunRecord run);

  /// The run with this id, or nullopt. Errors: kFailedPrecondition after Store::close(), kIo for
  /// database failures (also for a stored status this binary does not know).
  Result<std::optional<RunRecord>> get(const std::string& runId) const;
  /// Runs in `status`, oldest startedAtMs first (ties: runId ascending); e.g. the runs left running by
  /// a previous process, which the gateway marks aborted at start. Errors: as get().
  Result<std::vector<RunRecord>> listWithStatus(RunStatus status) const;
  /// The runs matching `query`, newest startedAtMs first (ties: runId descending), a page of at most
  /// query.limit from query.offset (the run ledger: `talon runs list`). Errors: kInvalidArgument for
  /// limit < 1 or offset < 0; as get().
  Result<std::vector<RunRecord>> list(const RunQuery& query) const;
  /// The summed `costUsd` (USD, the price table's unit) of the agent's runs that started at or after
  /// `sinceMs` (Unix ms), every status counted; runs without a price table count 0, and a running run
  /// counts once it records its cost at its end. For spending limits (Talon-only
  /// `agents.*.spendLimit`). Errors: as get().
  Result<double> costSince(const std::string& agentId, int64_t sinceMs) const;

 private:
  Store* store_;
};

}  // namespace talon::store
