#include "store/sqlite_migrations.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <set>
#include <string>

#include "store/audit_schema.h"
#include "store/auth_profile_state_schema.h"
#include "store/compaction_schema.h"
#include "store/cron_schema.h"
#include "store/device_schema.h"
#include "store/heartbeat_monitor_schema.h"
#include "store/operator_token_schema.h"
#include "store/run_cost_index_schema.h"
#include "store/session_route_schema.h"
#include "store/vault_schema.h"

namespace talon::store {
namespace {

// Step 1: the tables of store.h. Columns are NOT NULL with '' / 0 defaults, so a record round-trips
// exactly. Indexes serve the repositories' reads (sqlite_store_test checks their plans).
constexpr std::string_view kInitialSchema = R"sql(
CREATE TABLE schema_migrations (
  version       INTEGER PRIMARY KEY,
  name          TEXT NOT NULL,
  applied_at_ms INTEGER NOT NULL
);

CREATE TABLE sessions (
  session_key   TEXT PRIMARY KEY NOT NULL,
  agent_id      TEXT NOT NULL,
  session_id    TEXT NOT NULL DEFAULT '',
  channel       TEXT NOT NULL DEFAULT '',
  label         TEXT NOT NULL DEFAULT '',
  model         TEXT NOT NULL DEFAULT '',
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  message_count INTEGER NOT NULL DEFAULT 0,
  input_tokens  INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0,
  last_run_id   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_by_updated ON sessions (updated_at_ms DESC, session_key);
CREATE INDEX sessions_by_agent_updated ON sessions (agent_id, updated_at_ms DESC, session_key);

CREATE TABLE transcript_entries (
  session_key     TEXT NOT NULL REFERENCES sessions (session_key),
  seq             INTEGER NOT NULL CHECK (seq >= 1),
  run_id          TEXT NOT NULL DEFAULT '',
  role            TEXT NOT NULL,
  content         TEXT NOT NULL DEFAULT '',
  tool_calls_json TEXT NOT NULL DEFAULT '',
  tool_call_id    TEXT NOT NULL DEFAULT '',
  tool_name       TEXT NOT NULL DEFAULT '',
  ts              INTEGER NOT NULL,
  UNIQUE (session_key, seq)
);
CREATE TRIGGER transcript_entries_no_update BEFORE UPDATE ON transcript_entries
BEGIN
  SELECT RAISE(ABORT, 'transcript_entries are append-only');
END;
CREATE TRIGGER transcript_entries_no_delete BEFORE DELETE ON transcript_entries
BEGIN
  SELECT RAISE(ABORT, 'transcript_entries are append-only');
END;

CREATE TABLE runs (
  run_id          TEXT PRIMARY KEY NOT NULL,
  session_key     TEXT NOT NULL REFERENCES sessions (session_key),
  agent_id        TEXT NOT NULL DEFAULT '',
  idempotency_key TEXT NOT NULL DEFAULT '',
  status          TEXT NOT NULL,
  model           TEXT NOT NULL DEFAULT '',
  error_code      TEXT NOT NULL DEFAULT '',
  error_message   TEXT NOT NULL DEFAULT '',
  final_text      TEXT NOT NULL DEFAULT '',
  started_at_ms   INTEGER NOT NULL DEFAULT 0,
  ended_at_ms     INTEGER NOT NULL DEFAULT 0,
  input_tokens    INTEGER NOT NULL DEFAULT 0,
  output_tokens   INTEGER NOT NULL DEFAULT 0,
  steps           INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX runs_by_idempotency_key ON runs (idempotency_key) WHERE idempotency_key <> '';
CREATE INDEX runs_by_status ON runs (status, started_at_ms, run_id);
)sql";

// Step 2: the session totals become the store's (transcript appends and run upserts keep them in
// their transaction); recompute them from the rows, repairing counts that drifted when a caller's
// count and its rows failed apart.
constexpr std::string_view kSessionTotalsFromRows = R"sql(
UPDATE sessions SET
  message_count = (SELECT count(*) FROM transcript_entries AS t WHERE t.session_key = sessions.session_key),
  input_tokens = 0,
  output_tokens = 0;
UPDATE sessions SET input_tokens = r.input_tokens, output_tokens = r.output_tokens
FROM (SELECT session_key, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens
      FROM runs GROUP BY session_key) AS r
WHERE sessions.session_key = r.session_key;
)sql";

// Step 5: provider identity in run records (which provider, API, base URL origin and model answered,
// latency, cost) and the model attempts of the run (retries and fallbacks).
constexpr std::string_view kRunProviderIdentity = R"sql(
ALTER TABLE runs ADD COLUMN provider_id      TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN provider_api     TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN base_url_origin  TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN answered_model   TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN model_latency_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN cost_usd         REAL;
ALTER TABLE runs ADD COLUMN attempts_json    TEXT NOT NULL DEFAULT '';
)sql";

// Step 7: DM pairing of channel senders (store/channel_pairing_repository.h), in the tables OpenClaw's
// state database uses for the same records.
constexpr std::string_view kChannelPairing = R"sql(
CREATE TABLE channel_pairing_requests (
  channel         TEXT NOT NULL,
  account_id      TEXT NOT NULL,
  sender_id       TEXT NOT NULL,
  code            TEXT NOT NULL,
  created_at_ms   INTEGER NOT NULL,
  last_seen_at_ms INTEGER NOT NULL,
  PRIMARY KEY (channel, account_id, sender_id)
);
CREATE UNIQUE INDEX channel_pairing_requests_by_code ON channel_pairing_requests (code);
CREATE INDEX channel_pairing_requests_by_created ON channel_pairing_requests (created_at_ms);

CREATE TABLE channel_pairing_allow_entries (
  channel        TEXT NOT NULL,
  account_id     TEXT NOT NULL,
  sender_id      TEXT NOT NULL,
  approved_at_ms INTEGER NOT NULL,
  PRIMARY KEY (channel, account_id, sender_id)
);
)sql";

// Step 8: the channel outbox (store/outbound_repository.h): one row per outbound message, stored before
// it is sent and updated as the channel confirms its parts or an attempt fails.
constexpr std::string_view kOutboundDeliveries = R"sql(
CREATE TABLE outbound_deliveries (
  id                 TEXT PRIMARY KEY NOT NULL,
  channel_id         TEXT NOT NULL,
  account_id         TEXT NOT NULL DEFAULT '',
  peer_kind          TEXT NOT NULL,
  peer_id            TEXT NOT NULL,
  thread_id          TEXT NOT NULL DEFAULT '',
  text               TEXT NOT NULL DEFAULT '',
  run_id             TEXT NOT NULL DEFAULT '',
  idempotency_key    TEXT NOT NULL DEFAULT '',
  chunk_limit        INTEGER NOT NULL CHECK (chunk_limit >= 1),
  parts_total        INTEGER NOT NULL CHECK (parts_total >= 1),
  parts_sent         INTEGER NOT NULL DEFAULT 0,
  state              TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
  attempts           INTEGER NOT NULL DEFAULT 0,
  next_attempt_at_ms INTEGER NOT NULL DEFAULT 0,
  last_error         TEXT NOT NULL DEFAULT '',
  created_at_ms      INTEGER NOT NULL,
  sent_at_ms         INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX outbound_deliveries_by_idempotency_key ON outbound_deliveries (channel_id, idempotency_key)
  WHERE idempotency_key <> '';
CREATE INDEX outbound_deliveries_by_state ON outbound_deliveries (state, created_at_ms);
CREATE INDEX outbound_deliveries_by_created ON outbound_deliveries (created_at_ms DESC, id DESC);
)sql";

// Step 11: the W3C trace id a run's request carried (issue 9 "Metrics and traces"; RunRecord::traceId).
constexpr std::string_view kRunTraceId = R"sql(
ALTER TABLE runs ADD COLUMN trace_id TEXT NOT NULL DEFAULT '';
)sql";

// The schema steps, by version. A repository's new table or column is one more line here. Versions
// increase but need not be contiguous: a step is applied when schema_migrations does not record it, so
// steps developed in parallel may land in either order (a DB at 9 still gets a step 8 merged later).
constexpr std::array kMigrations = {
    SqliteMigration{1, "sessions, transcript_entries, runs", kInitialSchema},
    SqliteMigration{2, "session totals from transcript and run rows", kSessionTotalsFromRows},
    SqliteMigration{3, "devices, pairing requests, device tokens", kDeviceSchema},
    SqliteMigration{4, "audit_events", kAuditSchema},
    SqliteMigration{5, "provider identity and model attempts in runs", kRunProviderIdentity},
    SqliteMigration{6, "vault_meta, vault_secrets", kVaultSchema},
    SqliteMigration{7, "channel pairing requests and allow entries", kChannelPairing},
    SqliteMigration{8, "outbound_deliveries", kOutboundDeliveries},
    SqliteMigration{9, "operator_tokens", kOperatorTokenSchema},
    SqliteMigration{10, "cron_jobs, cron_runs", kCronSchema},
    SqliteMigration{11, "trace_id in runs", kRunTraceId},
    SqliteMigration{15, "session_compactions", kCompactionSchema},
    SqliteMigration{16, "session_routes", kSessionRouteSchema},
    SqliteMigration{17, "heartbeat_monitors", kHeartbeatMonitorSchema},
    SqliteMigration{18, "runs by agent and start, with cost", kRunCostIndexSchema},
    SqliteMigration{19, "auth_profile_state", kAuthProfileStateSchema},
};

constexpr bool increasingVersions() {
  for (std::size_t i = 1; i < kMigrations.size(); ++i) {
    if (kMigrations[i].version <= kMigrations[i - 1].version) return false;
  }
  return true;
}
static_assert(increasingVersions(), "migration versions must increase along kMigrations");

// The versions schema_migrations records (none before step 1 created it).
std::set<int64_t> appliedVersions(SQLite::Database& db) {
  std::set<int64_t> out;
  if (!db.tableExists("schema_migrations")) return out;
  SQLite::Statement q(db, "SELECT version FROM schema_migrations");
  while (q.executeStep()) out.insert(q.getColumn(0).getInt64());
  return out;
}

// True when every step up to `targetVersion` is recorded.
bool allApplied(const std::set<int64_t>& applied, int targetVersion) {
  for (const SqliteMigration& step : kMigrations) {
    if (step.version <= targetVersion && !applied.contains(step.version)) return false;
  }
  return true;
}

int64_t pragmaInt(SQLite::Database& db, const char* sql) {
  SQLite::Statement query(db, sql);
  return query.executeStep() ? query.getColumn(0).getInt64() : 0;
}

// Checks the file belongs to Talon and is not newer than this binary.
Status checkVersion(SQLite::Database& db, int64_t version) {
  int64_t applicationId = pragmaInt(db, "PRAGMA application_id");
  if (applicationId != 0 && applicationId != kSqliteApplicationId) {
    return fail(ErrorCode::kFailedPrecondition,
                fmt::format("{} is not a Talon store (application_id {:#x})", db.getFilename(), applicationId),
                "the database belongs to another application");
  }
  if (version > sqliteSchemaVersion()) {
    return fail(ErrorCode::kFailedPrecondition,
                fmt::format("{} has schema version {}, newer than this binary's {}; upgrade Talon", db.getFilename(),
                            version, sqliteSchemaVersion()),
                "the database was written by a newer Talon");
  }
  return {};
}

}  // namespace

std::span<const SqliteMigration> sqliteMigrations() { return kMigrations; }

int sqliteSchemaVersion() { return kMigrations.back().version; }

Status migrateSqliteSchema(SQLite::Database& db, int64_t nowMs, int targetVersion) {
  if (targetVersion < 1 || targetVersion > sqliteSchemaVersion()) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("schema version {} is not one of this binary's 1..{}",
                                                         targetVersion, sqliteSchemaVersion()));
  }
  try {
    int64_t current = pragmaInt(db, "PRAGMA user_version");
    if (auto st = checkVersion(db, current); !st) return st;
    if (current >= targetVersion && allApplied(appliedVersions(db), targetVersion)) {
      return {};  // the usual case: no write lock taken
    }
    for (const SqliteMigration& step : kMigrations) {
      if (step.version > targetVersion) break;
      SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
      int64_t version = pragmaInt(db, "PRAGMA user_version");
      if (auto st = checkVersion(db, version); !st) return st;  // tx rolls back
      if (appliedVersions(db).contains(step.version)) continue;
      if (step.version != 1 && version == 0) {
        return fail(ErrorCode::kInternal,
                    fmt::format("{} is at schema version 0, cannot apply step {}", db.getFilename(), step.version));
      }
      db.exec(std::string(step.sql));
      SQLite::Statement record(db, "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)");
      record.bind(1, step.version);
      record.bind(2, std::string(step.name));
      record.bind(3, static_cast<int64_t>(nowMs));
      record.exec();
      // PRAGMA values cannot be bound; both are integers from this file.
      db.exec(fmt::format("PRAGMA user_version = {}", std::max<int64_t>(version, step.version)));
      db.exec(fmt::format("PRAGMA application_id = {}", kSqliteApplicationId));
      tx.commit();
    }
    return {};
  } catch (const SQLite::Exception& e) {
    return fail(ErrorCode::kIo, fmt::format("migrating {}: {}", db.getFilename(), e.what()), "storage failure");
  }
}

}  // namespace talon::store
