#pragma once
// Reading run rows, shared by the repositories that read the runs table (runs, idempotency). Internal
// to src/store.
#include <SQLiteCpp/SQLiteCpp.h>

#include "base/error.h"
#include "store/run_repository.h"

namespace talon::store {

/// Columns of a run row, in the order readRunRow() expects.
#define TALON_RUN_COLUMNS                                                                      \
  "run_id, session_key, agent_id, idempotency_key, status, model, error_code, error_message, " \
  "final_text, started_at_ms, ended_at_ms, input_tokens, output_tokens, steps"

/// The run of the current row of a statement selecting TALON_RUN_COLUMNS. Errors: kIo for a status
/// this binary does not know.
Result<RunRecord> readRunRow(const SQLite::Statement& q);

}  // namespace talon::store
