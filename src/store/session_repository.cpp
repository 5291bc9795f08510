#include "store/session_repository.h"

#include <fmt/format.h>

#include <utility>

#include "store/sqlite_connection.h"
#include "store/store.h"

namespace talon::store {
namespace {

#define TALON_SESSION_COLUMNS                                                                \
  "session_key, agent_id, session_id, channel, label, model, created_at_ms, updated_at_ms, " \
  "message_count, input_tokens, output_tokens, last_run_id"

// The totals are not in the update list: appends and run upserts maintain them (0 on insert).
constexpr const char kUpsert[] =
    "INSERT INTO sessions (session_key, agent_id, session_id, channel, label, model, created_at_ms, "
    "updated_at_ms, last_run_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
    "ON CONFLICT (session_key) DO UPDATE SET agent_id = excluded.agent_id, session_id = excluded.session_id, "
    "channel = excluded.channel, label = excluded.label, model = excluded.model, "
    "updated_at_ms = excluded.updated_at_ms, last_run_id = excluded.last_run_id";
constexpr const char kList[] =
    "SELECT " TALON_SESSION_COLUMNS " FROM sessions ORDER BY updated_at_ms DESC, session_key LIMIT ?1 OFFSET ?2";
constexpr const char kListOfAgent[] =
    "SELECT " TALON_SESSION_COLUMNS
    " FROM sessions WHERE agent_id = ?3 ORDER BY updated_at_ms DESC, session_key LIMIT ?1 OFFSET ?2";
constexpr const char kCount[] = "SELECT count(*) FROM sessions";
constexpr const char kCountOfAgent[] = "SELECT count(*) FROM sessions WHERE agent_id = ?1";
constexpr const char kGet[] = "SELECT " TALON_SESSION_COLUMNS " FROM sessions WHERE session_key = ?1";

#undef TALON_SESSION_COLUMNS

SessionRecord readSession(const SQLite::Statement& q) {
  SessionRecord s;
  s.sessionKey = q.getColumn(0).getString();
  s.agentId = q.getColumn(1).getString();
  s.sessionId = q.getColumn(2).getString();
  s.channel = q.getColumn(3).getString();
  s.label = q.getColumn(4).getString();
  s.model = q.getColumn(5).getString();
  s.createdAtMs = q.getColumn(6).getInt64();
  s.updatedAtMs = q.getColumn(7).getInt64();
  s.messageCount = q.getColumn(8).getInt64();
  s.inputTokens = q.getColumn(9).getInt64();
  s.outputTokens = q.getColumn(10).getInt64();
  s.lastRunId = q.getColumn(11).getString();
  return s;
}

class UpsertSession final : public WriteOp {
 public:
  explicit UpsertSession(SessionRecord record) : s_(std::move(record)) {}

  Status validate() const override {
    if (s_.sessionKey.empty())
      return fail(ErrorCode::kInvalidArgument, "session record without sessionKey", "invalid record");
    if (s_.agentId.empty()) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("session {} without agentId", s_.sessionKey),
                  "invalid record");
    }
    return {};
  }

  Status apply(Transaction& tx) const override {
    SQLite::Statement& q = tx.statement(kUpsert);
    q.bindNoCopy(1, s_.sessionKey);
    q.bindNoCopy(2, s_.agentId);
    q.bindNoCopy(3, s_.sessionId);
    q.bindNoCopy(4, s_.channel);
    q.bindNoCopy(5, s_.label);
    q.bindNoCopy(6, s_.model);
    q.bind(7, s_.createdAtMs);
    q.bind(8, s_.updatedAtMs);
    q.bindNoCopy(9, s_.lastRunId);
    return tx.run(q, [&] { return fmt::format("session {}", s_.sessionKey); });
  }

 private:
  SessionRecord s_;
};

}  // namespace

void SessionRepository::upsert(WriteBatch& batch, SessionRecord record) {
  batch.emplace<UpsertSession>(std::move(record));
}

Result<SessionPage> SessionRepository::list(const SessionQuery& query) const {
  if (query.limit < 0 || query.offset < 0) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("listing sessions: limit {} and offset {} must be ≥ 0", query.limit, query.offset),
                "limit and offset must not be negative");
  }
  SessionPage page;
  auto st = store_->read("listing sessions", [&](ReadConnection& c) -> Status {
    c.begin();  // count and page from one snapshot
    {
      SQLite::Statement& count = c.statement(query.agentId ? kCountOfAgent : kCount);
      StatementReset reset(count);
      if (query.agentId) count.bind(1, *query.agentId);
      if (count.executeStep()) page.totalCount = count.getColumn(0).getInt64();
    }
    if (query.limit > 0) {
      SQLite::Statement& list = c.statement(query.agentId ? kListOfAgent : kList);
      StatementReset reset(list);
      list.bind(1, query.limit);
      list.bind(2, query.offset);
      if (query.agentId) list.bind(3, *query.agentId);
      while (list.executeStep()) page.sessions.push_back(readSession(list));
    }
    c.commit();
    return {};
  });
  if (!st) return fail(st.error());
  return page;
}

Result<std::optional<SessionRecord>> SessionRepository::get(const std::string& sessionKey) const {
  std::optional<SessionRecord> out;
  auto st = store_->read("reading a session", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kGet);
    StatementReset reset(q);
    q.bind(1, sessionKey);
    if (q.executeStep()) out = readSession(q);
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

}  // namespace talon::store
