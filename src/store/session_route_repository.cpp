#include "store/session_route_repository.h"

#include <fmt/format.h>

#include <utility>

#include "store/sqlite_connection.h"
#include "store/store.h"

namespace talon::store {
namespace {

constexpr const char kSelectRoute[] =
    "SELECT session_key, agent_id, channel, account_id, target, chat_type, thread_id, updated_at_ms "
    "FROM session_routes WHERE session_key = ?1";
constexpr const char kUpsertRoute[] =
    "INSERT INTO session_routes (session_key, agent_id, channel, account_id, target, chat_type, thread_id, "
    "updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (session_key) DO UPDATE SET "
    "agent_id = excluded.agent_id, channel = excluded.channel, account_id = excluded.account_id, "
    "target = excluded.target, chat_type = excluded.chat_type, thread_id = excluded.thread_id, "
    "updated_at_ms = excluded.updated_at_ms";

SessionRouteRecord readSessionRoute(const SQLite::Statement& q) {
  SessionRouteRecord r;
  r.sessionKey = q.getColumn(0).getString();
  r.agentId = q.getColumn(1).getString();
  r.channel = q.getColumn(2).getString();
  r.accountId = q.getColumn(3).getString();
  r.to = q.getColumn(4).getString();
  r.chatType = q.getColumn(5).getString();
  r.threadId = q.getColumn(6).getString();
  r.updatedAtMs = q.getColumn(7).getInt64();
  return r;
}

class RecordSessionRoute final : public WriteOp {
 public:
  explicit RecordSessionRoute(SessionRouteRecord record) : record_(std::move(record)) {}

  Status validate() const override {
    if (record_.sessionKey.empty() || record_.agentId.empty() || record_.channel.empty() || record_.to.empty()) {
      return fail(ErrorCode::kInvalidArgument, "session route without session key, agent, channel or target",
                  "invalid session route");
    }
    if (record_.chatType != "direct" && record_.chatType != "group" && record_.chatType != "channel") {
      return fail(ErrorCode::kInvalidArgument, fmt::format("session route with chat type \"{}\"", record_.chatType),
                  "invalid session route");
    }
    return {};
  }

  Status apply(Transaction& tx) const override {
    SQLite::Statement& q = tx.statement(kUpsertRoute);
    q.bind(1, record_.sessionKey);
    q.bind(2, record_.agentId);
    q.bind(3, record_.channel);
    q.bind(4, record_.accountId);
    q.bind(5, record_.to);
    q.bind(6, record_.chatType);
    q.bind(7, record_.threadId);
    q.bind(8, record_.updatedAtMs);
    return tx.run(q, [&] { return "recording the route of session " + record_.sessionKey; });
  }

 private:
  SessionRouteRecord record_;
};

}  // namespace

void SessionRouteRepository::record(WriteBatch& batch, SessionRouteRecord record) {
  batch.emplace<RecordSessionRoute>(std::move(record));
}

Result<std::optional<SessionRouteRecord>> SessionRouteRepository::get(const std::string& sessionKey) const {
  std::optional<SessionRouteRecord> out;
  auto st = store_->read("reading a session route", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kSelectRoute);
    StatementReset reset(q);
    q.bind(1, sessionKey);
    if (q.executeStep()) out = readSessionRoute(q);
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

Result<std::vector<SessionRouteRecord>> SessionRouteRepository::find(
    const std::vector<std::string>& sessionKeys) const {
  std::vector<SessionRouteRecord> out;
  auto st = store_->read("reading session routes", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kSelectRoute);
    for (const auto& key : sessionKeys) {
      StatementReset reset(q);
      q.bind(1, key);
      if (q.executeStep()) out.push_back(readSessionRoute(q));
    }
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

}  // namespace talon::store
