#pragma once
// The audit_events table (schema step 4): the append-only, hash-chained audit log
// (store/audit_repository.h; the chain's encoding is security/audit_chain.h's).
#include <string_view>

namespace talon::store {

/// seq is the rowid: 1, 2, 3, ... without gaps (assigned by the append inside its transaction). Reads
/// scan in seq order (verification, export, `audit list`); no secondary index is kept.
/// UPDATE and DELETE are refused by triggers; verification (security/audit_chain.h) still catches a
/// change made by someone who dropped them.
inline constexpr std::string_view kAuditSchema = R"sql(
CREATE TABLE audit_events (
  seq          INTEGER PRIMARY KEY NOT NULL CHECK (seq >= 1),
  time_ms      INTEGER NOT NULL,
  kind         TEXT NOT NULL,
  actor        TEXT NOT NULL DEFAULT '',
  target       TEXT NOT NULL DEFAULT '',
  outcome      TEXT NOT NULL,
  details_json TEXT NOT NULL DEFAULT '{}',
  prev_hash    TEXT NOT NULL,
  hash         TEXT NOT NULL
);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
  SELECT RAISE(ABORT, 'audit_events are append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
  SELECT RAISE(ABORT, 'audit_events are append-only');
END;
)sql";

}  // namespace talon::store
