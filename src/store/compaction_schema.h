#pragma once
// The table of store/compaction_repository.h (migration step 15, "session_compactions").
#include <string_view>

namespace talon::store {

// One row per compaction of a session (append-only, like transcript_entries). first_kept_seq is the seq
// of the first transcript entry kept verbatim after the summary; the entries before it stay in
// transcript_entries.
constexpr std::string_view kCompactionSchema = R"sql(
CREATE TABLE session_compactions (
  session_key     TEXT NOT NULL REFERENCES sessions (session_key),
  id              INTEGER NOT NULL CHECK (id >= 1),
  first_kept_seq  INTEGER NOT NULL CHECK (first_kept_seq >= 1),
  summary         TEXT NOT NULL,
  reason          TEXT NOT NULL,
  run_id          TEXT NOT NULL DEFAULT '',
  model           TEXT NOT NULL DEFAULT '',
  tokens_before   INTEGER NOT NULL DEFAULT 0,
  tokens_after    INTEGER NOT NULL DEFAULT 0,
  created_at_ms   INTEGER NOT NULL,
  UNIQUE (session_key, id)
);
)sql";

}  // namespace talon::store
