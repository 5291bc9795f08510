#include "store/auth_profile_state_repository.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "base/json.h"
#include "store/sqlite_connection.h"
#include "store/store.h"

namespace talon::store {
namespace {

constexpr const char kListAuthProfileState[] =
    "SELECT profile_id, provider_id, error_count, last_failure_at_ms, cooldown_until_ms, disabled_until_ms, reason, "
    "disable_counts_json, last_used_at_ms, updated_at_ms FROM auth_profile_state ORDER BY profile_id";
constexpr const char kUpsertAuthProfileState[] =
    "INSERT INTO auth_profile_state (profile_id, provider_id, error_count, last_failure_at_ms, cooldown_until_ms, "
    "disabled_until_ms, reason, disable_counts_json, last_used_at_ms, updated_at_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (profile_id) DO UPDATE SET "
    "provider_id = excluded.provider_id, error_count = excluded.error_count, "
    "last_failure_at_ms = excluded.last_failure_at_ms, cooldown_until_ms = excluded.cooldown_until_ms, "
    "disabled_until_ms = excluded.disabled_until_ms, reason = excluded.reason, "
    "disable_counts_json = excluded.disable_counts_json, last_used_at_ms = excluded.last_used_at_ms, "
    "updated_at_ms = excluded.updated_at_ms";
constexpr const char kAuthProfileStateIds[] = "SELECT profile_id FROM auth_profile_state";
constexpr const char kDeleteAuthProfileState[] = "DELETE FROM auth_profile_state WHERE profile_id = ?1";

class UpsertAuthProfileState final : public WriteOp {
 public:
  explicit UpsertAuthProfileState(AuthProfileStateRecord record) : record_(std::move(record)) {}

  Status validate() const override {
    if (record_.profileId.empty()) {
      return fail(ErrorCode::kInvalidArgument, "auth profile state without a profile id", "invalid auth profile state");
    }
    bool negativeCount = std::any_of(record_.disableCounts.begin(), record_.disableCounts.end(),
                                     [](const auto& kv) { return kv.second < 0; });
    if (record_.errorCount < 0 || record_.lastFailureAtMs < 0 || record_.cooldownUntilMs < 0 ||
        record_.disabledUntilMs < 0 || record_.lastUsedAtMs < 0 || negativeCount) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("auth profile state of {} with a negative count or time", record_.profileId),
                  "invalid auth profile state");
    }
    return {};
  }

  Status apply(Transaction& tx) const override {
    json::object counts;
    for (const auto& [reason, n] : record_.disableCounts) counts[reason] = n;
    SQLite::Statement& q = tx.statement(kUpsertAuthProfileState);
    q.bind(1, record_.profileId);
    q.bind(2, record_.providerId);
    q.bind(3, record_.errorCount);
    q.bind(4, record_.lastFailureAtMs);
    q.bind(5, record_.cooldownUntilMs);
    q.bind(6, record_.disabledUntilMs);
    q.bind(7, record_.reason);
    q.bind(8, json::serialize(counts));
    q.bind(9, record_.lastUsedAtMs);
    q.bind(10, record_.updatedAtMs);
    return tx.run(q, [&] { return "recording the state of auth profile " + record_.profileId; });
  }

 private:
  AuthProfileStateRecord record_;
};

class RetainAuthProfileState final : public WriteOp {
 public:
  explicit RetainAuthProfileState(std::vector<std::string> keep) : keep_(std::move(keep)) {}

  Status validate() const override { return {}; }

  Status apply(Transaction& tx) const override {
    std::vector<std::string> stale;
    {
      SQLite::Statement& q = tx.statement(kAuthProfileStateIds);
      StatementReset reset(q);
      while (q.executeStep()) {
        std::string id = q.getColumn(0).getString();
        if (std::find(keep_.begin(), keep_.end(), id) == keep_.end()) stale.push_back(std::move(id));
      }
    }
    for (const auto& id : stale) {
      SQLite::Statement& d = tx.statement(kDeleteAuthProfileState);
      d.bind(1, id);
      if (auto st = tx.run(d, [&] { return "deleting the state of auth profile " + id; }); !st) return st;
    }
    return {};
  }

 private:
  std::vector<std::string> keep_;
};

std::map<std::string, int64_t> parseDisableCounts(const std::string& text) {
  std::map<std::string, int64_t> out;
  auto parsed = parseJson(text);
  if (!parsed || !parsed->is_object()) return out;
  for (const auto& kv : parsed->get_object()) {
    if (kv.value().is_int64() && kv.value().get_int64() > 0) out[std::string(kv.key())] = kv.value().get_int64();
  }
  return out;
}

}  // namespace

void AuthProfileStateRepository::upsert(WriteBatch& batch, AuthProfileStateRecord record) {
  batch.emplace<UpsertAuthProfileState>(std::move(record));
}

void AuthProfileStateRepository::retainOnly(WriteBatch& batch, std::vector<std::string> keepProfileIds) {
  batch.emplace<RetainAuthProfileState>(std::move(keepProfileIds));
}

Result<std::vector<AuthProfileStateRecord>> AuthProfileStateRepository::list() const {
  std::vector<AuthProfileStateRecord> out;
  auto st = store_->read("reading auth profile state", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kListAuthProfileState);
    StatementReset reset(q);
    while (q.executeStep()) {
      AuthProfileStateRecord r;
      r.profileId = q.getColumn(0).getString();
      r.providerId = q.getColumn(1).getString();
      r.errorCount = q.getColumn(2).getInt64();
      r.lastFailureAtMs = q.getColumn(3).getInt64();
      r.cooldownUntilMs = q.getColumn(4).getInt64();
      r.disabledUntilMs = q.getColumn(5).getInt64();
      r.reason = q.getColumn(6).getString();
      r.disableCounts = parseDisableCounts(q.getColumn(7).getString());
      r.lastUsedAtMs = q.getColumn(8).getInt64();
      r.updatedAtMs = q.getColumn(9).getInt64();
      out.push_back(std::move(r));
    }
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

}  // namespace talon::store
