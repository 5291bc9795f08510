#include "store/operator_token_repository.h"

#include <fmt/format.h>

#include <utility>

#include "store/sqlite_connection.h"
#include "store/store.h"

namespace talon::store {
namespace {

#define TALON_TOKEN_COLUMNS                                                                         \
  "name, role, token_hash, token_prefix, created_by, created_at_ms, expires_at_ms, revoked_at_ms, " \
  "last_used_at_ms"

constexpr const char kFindName[] = "SELECT " TALON_TOKEN_COLUMNS " FROM operator_tokens WHERE name = ?1";
constexpr const char kFindHash[] = "SELECT " TALON_TOKEN_COLUMNS " FROM operator_tokens WHERE token_hash = ?1";
constexpr const char kList[] = "SELECT " TALON_TOKEN_COLUMNS " FROM operator_tokens ORDER BY name";
constexpr const char kDeleteName[] = "DELETE FROM operator_tokens WHERE name = ?1";
constexpr const char kInsert[] =
    "INSERT INTO operator_tokens (" TALON_TOKEN_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, 0)";
constexpr const char kRevoke[] =
    "UPDATE operator_tokens SET revoked_at_ms = ?2 WHERE name = ?1 AND revoked_at_ms = 0 AND "
    "(expires_at_ms = 0 OR expires_at_ms > ?2)";
constexpr const char kTouch[] = "UPDATE operator_tokens SET last_used_at_ms = ?2 WHERE name = ?1";

#undef TALON_TOKEN_COLUMNS

OperatorTokenRecord readRecord(const SQLite::Statement& q) {
  OperatorTokenRecord r;
  r.name = q.getColumn(0).getString();
  r.role = q.getColumn(1).getString();
  r.tokenHash = q.getColumn(2).getString();
  r.tokenPrefix = q.getColumn(3).getString();
  r.createdBy = q.getColumn(4).getString();
  r.createdAtMs = q.getColumn(5).getInt64();
  r.expiresAtMs = q.getColumn(6).getInt64();
  r.revokedAtMs = q.getColumn(7).getInt64();
  r.lastUsedAtMs = q.getColumn(8).getInt64();
  return r;
}

class CreateToken final : public WriteOp {
 public:
  explicit CreateToken(OperatorTokenRecord record) : record_(std::move(record)) {}

  Status validate() const override {
    if (!isValidOperatorTokenName(record_.name)) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("invalid operator token name \"{}\"", record_.name),
                  "invalid token name: expected 1..64 of A-Z a-z 0-9 . _ -");
    }
    if (record_.role.empty() || record_.tokenHash.empty()) {
      return fail(ErrorCode::kInvalidArgument, "operator token without role or hash", "invalid record");
    }
    return {};
  }

  Status apply(Transaction& tx) const override {
    std::optional<OperatorTokenRecord> existing;
    {
      SQLite::Statement& find = tx.statement(kFindName);
      StatementReset reset(find);
      find.bind(1, record_.name);
      if (find.executeStep()) existing = readRecord(find);
    }
    if (existing) {
      if (existing->activeAt(record_.createdAtMs)) {
        return fail(ErrorCode::kAlreadyExists, fmt::format("operator token \"{}\" exists", record_.name),
                    fmt::format("a token named \"{}\" exists: revoke it first", record_.name));
      }
      SQLite::Statement& del = tx.statement(kDeleteName);
      del.bind(1, record_.name);
      if (auto s = tx.run(del, [&] { return context(); }); !s) return s;
    }
    SQLite::Statement& insert = tx.statement(kInsert);
    insert.bind(1, record_.name);
    insert.bind(2, record_.role);
    insert.bind(3, record_.tokenHash);
    insert.bind(4, record_.tokenPrefix);
    insert.bind(5, record_.createdBy);
    insert.bind(6, record_.createdAtMs);
    insert.bind(7, record_.expiresAtMs);
    return tx.run(insert, [&] { return context(); });
  }

 private:
  std::string context() const { return "operator token " + record_.name; }
  OperatorTokenRecord record_;
};

class RevokeToken final : public WriteOp {
 public:
  RevokeToken(std::string name, int64_t nowMs, std::shared_ptr<bool> revoked)
      : name_(std::move(name)), nowMs_(nowMs), revoked_(std::move(revoked)) {}

  Status validate() const override {
    if (name_.empty() || !revoked_) return fail(ErrorCode::kInvalidArgument, "operator token revocation without name");
    return {};
  }

  Status apply(Transaction& tx) const override {
    SQLite::Statement& q = tx.statement(kRevoke);
    q.bind(1, name_);
    q.bind(2, nowMs_);
    if (auto s = tx.run(q, [&] { return "revoking operator token " + name_; }); !s) return s;
    *revoked_ = tx.changes() > 0;
    return {};
  }

 private:
  std::string name_;
  int64_t nowMs_;
  std::shared_ptr<bool> revoked_;
};

class TouchToken final : public WriteOp {
 public:
  TouchToken(std::string name, int64_t nowMs) : name_(std::move(name)), nowMs_(nowMs) {}
  Status validate() const override { return {}; }
  Status apply(Transaction& tx) const override {
    SQLite::Statement& q = tx.statement(kTouch);
    q.bind(1, name_);
    q.bind(2, nowMs_);
    return tx.run(q, [&] { return "recording the use of operator token " + name_; });
  }

 private:
  std::string name_;
  int64_t nowMs_;
};

}  // namespace

bool isValidOperatorTokenName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void OperatorTokenRepository::create(WriteBatch& batch, OperatorTokenRecord record) {
  batch.emplace<CreateToken>(std::move(record));
}

void OperatorTokenRepository::revoke(WriteBatch& batch, std::string name, int64_t nowMs,
                                     std::shared_ptr<bool> revoked) {
  batch.emplace<RevokeToken>(std::move(name), nowMs, std::move(revoked));
}

void OperatorTokenRepository::touch(WriteBatch& batch, std::string name, int64_t nowMs) {
  batch.emplace<TouchToken>(std::move(name), nowMs);
}

Result<std::optional<OperatorTokenRecord>> OperatorTokenRepository::findByHash(const std::string& tokenHash) const {
  std::optional<OperatorTokenRecord> out;
  auto st = store_->read("reading an operator token", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kFindHash);
    StatementReset reset(q);
    q.bind(1, tokenHash);
    if (q.executeStep()) out = readRecord(q);
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

Result<std::optional<OperatorTokenRecord>> OperatorTokenRepository::find(const std::string& name) const {
  std::optional<OperatorTokenRecord> out;
  auto st = store_->read("reading an operator token", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kFindName);
    StatementReset reset(q);
    q.bind(1, name);
    if (q.executeStep()) out = readRecord(q);
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

Result<std::vector<OperatorTokenRecord>> OperatorTokenRepository::list() const {
  std::vector<OperatorTokenRecord> out;
  auto st = store_->read("listing operator tokens", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kList);
    StatementReset reset(q);
    while (q.executeStep()) out.push_back(readRecord(q));
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

}  // namespace talon::store
