#pragma once
// The SQL of the SQLite store's statements (schema: sqlite_migrations.cpp). Kept apart from the code
// that runs them so that a test can check every read's query plan uses an index.
#include <array>
#include <cstddef>
#include <string_view>

namespace talon::store::sql {

// Column lists, in the order the row readers in sqlite_store.cpp expect.
#define TALON_SESSION_COLUMNS                                                                \
  "session_key, agent_id, session_id, channel, label, model, created_at_ms, updated_at_ms, " \
  "message_count, input_tokens, output_tokens, last_run_id"
#define TALON_ENTRY_COLUMNS "session_key, seq, run_id, role, content, tool_calls_json, tool_call_id, tool_name, ts"
#define TALON_RUN_COLUMNS                                                                      \
  "run_id, session_key, agent_id, idempotency_key, status, model, error_code, error_message, " \
  "final_text, started_at_ms, ended_at_ms, input_tokens, output_tokens, steps"

// Writes (writer connection). Parameters ?1.. follow the column lists above.
inline constexpr const char* kUpsertSession =
    "INSERT INTO sessions (" TALON_SESSION_COLUMNS
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
    "ON CONFLICT (session_key) DO UPDATE SET agent_id = excluded.agent_id, session_id = excluded.session_id, "
    "channel = excluded.channel, label = excluded.label, model = excluded.model, "
    "updated_at_ms = excluded.updated_at_ms, message_count = excluded.message_count, "
    "input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens, "
    "last_run_id = excluded.last_run_id";
inline constexpr const char* kInsertEntry =
    "INSERT INTO transcript_entries (" TALON_ENTRY_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
inline constexpr const char* kUpsertRun =
    "INSERT INTO runs (" TALON_RUN_COLUMNS
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
    "ON CONFLICT (run_id) DO UPDATE SET session_key = excluded.session_key, agent_id = excluded.agent_id, "
    "idempotency_key = excluded.idempotency_key, status = excluded.status, model = excluded.model, "
    "error_code = excluded.error_code, error_message = excluded.error_message, "
    "final_text = excluded.final_text, started_at_ms = excluded.started_at_ms, "
    "ended_at_ms = excluded.ended_at_ms, input_tokens = excluded.input_tokens, "
    "output_tokens = excluded.output_tokens, steps = excluded.steps";

/// Reads, prepared once per read connection and indexed by this enum.
enum class Read : std::size_t {
  kBegin,  // snapshot for multi-statement reads
  kCommit,
  kListSessions,         // ?1 limit, ?2 offset
  kListSessionsOfAgent,  // ?1 limit, ?2 offset, ?3 agent_id
  kCountSessions,
  kCountSessionsOfAgent,     // ?1 agent_id
  kGetSession,               // ?1 session_key
  kLastEntries,              // ?1 session_key, ?2 limit (-1: all); newest first
  kGetRun,                   // ?1 run_id
  kFindRunByIdempotencyKey,  // ?1 idempotency_key (not empty)
  kListRunsWithStatus,       // ?1 status
  kCount,
};

inline constexpr std::array<const char*, static_cast<std::size_t>(Read::kCount)> kReads = {
    "BEGIN",
    "COMMIT",
    "SELECT " TALON_SESSION_COLUMNS " FROM sessions ORDER BY updated_at_ms DESC, session_key LIMIT ?1 OFFSET ?2",
    "SELECT " TALON_SESSION_COLUMNS
    " FROM sessions WHERE agent_id = ?3 ORDER BY updated_at_ms DESC, session_key LIMIT ?1 OFFSET ?2",
    "SELECT count(*) FROM sessions",
    "SELECT count(*) FROM sessions WHERE agent_id = ?1",
    "SELECT " TALON_SESSION_COLUMNS " FROM sessions WHERE session_key = ?1",
    "SELECT " TALON_ENTRY_COLUMNS " FROM transcript_entries WHERE session_key = ?1 ORDER BY seq DESC LIMIT ?2",
    "SELECT " TALON_RUN_COLUMNS " FROM runs WHERE run_id = ?1",
    // The literal `<> ''` lets the planner use the partial index runs_by_idempotency_key.
    "SELECT " TALON_RUN_COLUMNS " FROM runs WHERE idempotency_key = ?1 AND idempotency_key <> ''",
    "SELECT " TALON_RUN_COLUMNS " FROM runs WHERE status = ?1 ORDER BY started_at_ms, run_id",
};

#undef TALON_SESSION_COLUMNS
#undef TALON_ENTRY_COLUMNS
#undef TALON_RUN_COLUMNS

}  // namespace talon::store::sql
