#pragma once
// Reading run rows, shared by the repositories that read the runs table (runs, idempotency). Internal
// to src/store.
#include <SQLiteCpp/SQLiteCpp.h>

#include <initializer_list>
#include <string>

#include "base/error.h"
#include "store/run_repository.h"
#include "store/store.h"

namespace talon::store {

/// Columns of a run row, in the order readRunRow() expects.
#define TALON_RUN_COLUMNS                                                                      \
  "run_id, session_key, agent_id, idempotency_key, status, model, error_code, error_message, " \
  "final_text, started_at_ms, ended_at_ms, input_tokens, output_tokens, steps, provider_id, "  \
  "provider_api, base_url_origin, answered_model, model_latency_ms, cost_usd, attempts_json, trace_id"

/// One run by its id (parameter 1).
inline constexpr const char kRunByIdSql[] = "SELECT " TALON_RUN_COLUMNS " FROM runs WHERE run_id = ?1";

/// The run of the current row of a statement selecting TALON_RUN_COLUMNS. Errors: kIo for a status
/// this binary does not know.
Result<RunRecord> readRunRow(const SQLite::Statement& q);

/// The run that `sql` (selecting TALON_RUN_COLUMNS with one text parameter) finds for `key`, or nullopt;
/// `what` names the read in errors ("reading a run").
Result<std::optional<RunRecord>> readOneRun(Store& store, std::string_view what, const char* sql,
                                            const std::string& key);

/// One lookup of readFirstRun: `sql` as for readOneRun, run with `key`.
struct RunLookup {
  const char* sql;
  const std::string& key;
};

/// The run the first of `lookups` that finds one finds, or nullopt; all of them in one read (one
/// reader connection checked out once; each statement reads its own snapshot). `what` names the read
/// in errors.
Result<std::optional<RunRecord>> readFirstRun(Store& store, std::string_view what,
                                              std::initializer_list<RunLookup> lookups);

}  // namespace talon::store
