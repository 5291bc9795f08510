#include "store/channel_pairing_repository.h"

#include <fmt/format.h>

#include <cctype>
#include <utility>

#include "base/ids.h"
#include "store/sqlite_connection.h"
#include "store/store.h"

namespace talon::store {
namespace {

#define TALON_PAIRING_COLUMNS "channel, account_id, sender_id, code, created_at_ms, last_seen_at_ms"

// Expired: more than the TTL since creation (OpenClaw isExpired: now - createdAt > TTL).
constexpr const char kPruneExpired[] = "DELETE FROM channel_pairing_requests WHERE created_at_ms < ?1";
constexpr const char kFindSender[] =
    "SELECT code FROM channel_pairing_requests WHERE channel = ?1 AND account_id = ?2 AND sender_id = ?3";
constexpr const char kTouch[] =
    "UPDATE channel_pairing_requests SET last_seen_at_ms = ?4 WHERE channel = ?1 AND account_id = ?2 AND "
    "sender_id = ?3";
constexpr const char kCountPending[] =
    "SELECT count(*) FROM channel_pairing_requests WHERE channel = ?1 AND account_id = ?2";
constexpr const char kCodeTaken[] = "SELECT 1 FROM channel_pairing_requests WHERE code = ?1";
constexpr const char kInsert[] =
    "INSERT INTO channel_pairing_requests (" TALON_PAIRING_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?5)";
constexpr const char kFindCode[] = "SELECT " TALON_PAIRING_COLUMNS
                                   " FROM channel_pairing_requests WHERE code = ?1 AND (?2 IS NULL OR channel = ?2) "
                                   "AND (?3 IS NULL OR account_id = ?3) ORDER BY created_at_ms LIMIT 1";
constexpr const char kDelete[] =
    "DELETE FROM channel_pairing_requests WHERE channel = ?1 AND account_id = ?2 AND sender_id = ?3";
constexpr const char kAllow[] =
    "INSERT INTO channel_pairing_allow_entries (channel, account_id, sender_id, approved_at_ms) "
    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (channel, account_id, sender_id) DO NOTHING";
constexpr const char kListPending[] = "SELECT " TALON_PAIRING_COLUMNS
                                      " FROM channel_pairing_requests WHERE created_at_ms >= ?1 AND "
                                      "(?2 IS NULL OR channel = ?2) AND (?3 IS NULL OR account_id = ?3) "
                                      "ORDER BY created_at_ms, account_id, sender_id";
constexpr const char kIsAllowed[] =
    "SELECT 1 FROM channel_pairing_allow_entries WHERE channel = ?1 AND account_id = ?2 AND sender_id = ?3";
constexpr const char kListAllowed[] =
    "SELECT channel, account_id, sender_id, approved_at_ms FROM channel_pairing_allow_entries "
    "WHERE (?1 IS NULL OR channel = ?1) ORDER BY channel, account_id, approved_at_ms, sender_id";

#undef TALON_PAIRING_COLUMNS

void bindOptional(SQLite::Statement& q, int index, const std::optional<std::string>& value) {
  if (value) {
    q.bind(index, *value);
  } else {
    q.bind(index);  // NULL
  }
}

ChannelPairingRequest readRequest(const SQLite::Statement& q) {
  ChannelPairingRequest r;
  r.channel = q.getColumn(0).getString();
  r.accountId = q.getColumn(1).getString();
  r.senderId = q.getColumn(2).getString();
  r.code = q.getColumn(3).getString();
  r.createdAtMs = q.getColumn(4).getInt64();
  r.lastSeenAtMs = q.getColumn(5).getInt64();
  return r;
}

/// A random code: each random byte picks one of the 32 letters (256 = 8 × 32, so uniformly).
std::string randomCode() {
  const std::string hex = randomHex(kChannelPairingCodeLength);
  std::string code;
  code.reserve(kChannelPairingCodeLength);
  for (std::size_t i = 0; i < kChannelPairingCodeLength; ++i) {
    const int byte = std::stoi(hex.substr(2 * i, 2), nullptr, 16);
    code.push_back(kChannelPairingCodeAlphabet[static_cast<std::size_t>(byte) % kChannelPairingCodeAlphabet.size()]);
  }
  return code;
}

Status pruneExpired(Transaction& tx, int64_t nowMs) {
  SQLite::Statement& q = tx.statement(kPruneExpired);
  q.bind(1, nowMs - kChannelPairingTtlMs);
  return tx.run(q, [] { return std::string("pruning expired pairing requests"); });
}

class RequestPairing final : public WriteOp {
 public:
  RequestPairing(std::string channel, std::string accountId, std::string senderId, int64_t nowMs,
                 std::shared_ptr<ChannelPairingOutcome> out)
      : channel_(std::move(channel)),
        accountId_(std::move(accountId)),
        senderId_(std::move(senderId)),
        nowMs_(nowMs),
        out_(std::move(out)) {}

  Status validate() const override {
    if (channel_.empty() || accountId_.empty() || senderId_.empty() || !out_) {
      return fail(ErrorCode::kInvalidArgument, "pairing request without channel, account, sender or outcome",
                  "invalid record");
    }
    return {};
  }

  Status apply(Transaction& tx) const override {
    if (auto s = pruneExpired(tx, nowMs_); !s) return s;
    {
      SQLite::Statement& find = tx.statement(kFindSender);
      StatementReset reset(find);
      find.bind(1, channel_);
      find.bind(2, accountId_);
      find.bind(3, senderId_);
      if (find.executeStep()) {
        out_->code = find.getColumn(0).getString();
        out_->created = false;
      }
    }
    if (!out_->code.empty()) {
      SQLite::Statement& touch = tx.statement(kTouch);
      touch.bind(1, channel_);
      touch.bind(2, accountId_);
      touch.bind(3, senderId_);
      touch.bind(4, nowMs_);
      return tx.run(touch, [&] { return context(); });
    }
    int64_t pending = 0;
    {
      SQLite::Statement& count = tx.statement(kCountPending);
      StatementReset reset(count);
      count.bind(1, channel_);
      count.bind(2, accountId_);
      if (count.executeStep()) pending = count.getColumn(0).getInt64();
    }
    if (pending >= kChannelPairingMaxPendingPerAccount) return {};  // no code: the cap is reached
    std::string code;
    for (int attempt = 0; attempt < 500 && code.empty(); ++attempt) {  // OpenClaw PAIRING_CODE_MAX_ATTEMPTS
      std::string candidate = randomCode();
      SQLite::Statement& taken = tx.statement(kCodeTaken);
      StatementReset reset(taken);
      taken.bind(1, candidate);
      if (!taken.executeStep()) code = std::move(candidate);
    }
    if (code.empty()) return fail(ErrorCode::kInternal, "no unique pairing code after 500 attempts");
    SQLite::Statement& insert = tx.statement(kInsert);
    insert.bind(1, channel_);
    insert.bind(2, accountId_);
    insert.bind(3, senderId_);
    insert.bind(4, code);
    insert.bind(5, nowMs_);
    if (auto s = tx.run(insert, [&] { return context(); }); !s) return s;
    out_->code = std::move(code);
    out_->created = true;
    return {};
  }

 private:
  std::string context() const { return fmt::format("pairing request {}:{}:{}", channel_, accountId_, senderId_); }

  std::string channel_, accountId_, senderId_;
  int64_t nowMs_;
  std::shared_ptr<ChannelPairingOutcome> out_;
};

class ApproveCode final : public WriteOp {
 public:
  ApproveCode(std::string code, std::optional<std::string> channel, std::optional<std::string> accountId, int64_t nowMs,
              std::shared_ptr<std::optional<ChannelPairingRequest>> out)
      : channel_(std::move(channel)), accountId_(std::move(accountId)), nowMs_(nowMs), out_(std::move(out)) {
    for (char c : code) code_.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }

  Status validate() const override {
    if (code_.empty() || !out_) return fail(ErrorCode::kInvalidArgument, "pairing approval without a code");
    return {};
  }

  Status apply(Transaction& tx) const override {
    if (auto s = pruneExpired(tx, nowMs_); !s) return s;
    std::optional<ChannelPairingRequest> found;
    {
      SQLite::Statement& find = tx.statement(kFindCode);
      StatementReset reset(find);
      find.bind(1, code_);
      bindOptional(find, 2, channel_);
      bindOptional(find, 3, accountId_);
      if (find.executeStep()) found = readRequest(find);
    }
    if (!found) return {};
    SQLite::Statement& del = tx.statement(kDelete);
    del.bind(1, found->channel);
    del.bind(2, found->accountId);
    del.bind(3, found->senderId);
    if (auto s = tx.run(del, [&] { return "approving pairing code of " + found->senderId; }); !s) return s;
    SQLite::Statement& allow = tx.statement(kAllow);
    allow.bind(1, found->channel);
    allow.bind(2, found->accountId);
    allow.bind(3, found->senderId);
    allow.bind(4, nowMs_);
    if (auto s = tx.run(allow, [&] { return "allowing sender " + found->senderId; }); !s) return s;
    *out_ = std::move(found);
    return {};
  }

 private:
  std::string code_;
  std::optional<std::string> channel_, accountId_;
  int64_t nowMs_;
  std::shared_ptr<std::optional<ChannelPairingRequest>> out_;
};

}  // namespace

void ChannelPairingRepository::requestPairing(WriteBatch& batch, std::string channel, std::string accountId,
                                              std::string senderId, int64_t nowMs,
                                              std::shared_ptr<ChannelPairingOutcome> out) {
  batch.emplace<RequestPairing>(std::move(channel), std::move(accountId), std::move(senderId), nowMs, std::move(out));
}

void ChannelPairingRepository::approveCode(WriteBatch& batch, std::string code, std::optional<std::string> channel,
                                           std::optional<std::string> accountId, int64_t nowMs,
                                           std::shared_ptr<std::optional<ChannelPairingRequest>> out) {
  batch.emplace<ApproveCode>(std::move(code), std::move(channel), std::move(accountId), nowMs, std::move(out));
}

Result<std::vector<ChannelPairingRequest>> ChannelPairingRepository::listPending(
    const std::optional<std::string>& channel, const std::optional<std::string>& accountId, int64_t nowMs) const {
  std::vector<ChannelPairingRequest> out;
  auto st = store_->read("listing pairing requests", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kListPending);
    StatementReset reset(q);
    q.bind(1, nowMs - kChannelPairingTtlMs);
    bindOptional(q, 2, channel);
    bindOptional(q, 3, accountId);
    while (q.executeStep()) out.push_back(readRequest(q));
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

Result<bool> ChannelPairingRepository::isAllowed(const std::string& channel, const std::string& accountId,
                                                 const std::string& senderId) const {
  bool allowed = false;
  auto st = store_->read("reading the pairing allow store", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kIsAllowed);
    StatementReset reset(q);
    q.bind(1, channel);
    q.bind(2, accountId);
    q.bind(3, senderId);
    allowed = q.executeStep();
    return {};
  });
  if (!st) return fail(st.error());
  return allowed;
}

Result<std::vector<ChannelAllowEntry>> ChannelPairingRepository::listAllowed(
    const std::optional<std::string>& channel) const {
  std::vector<ChannelAllowEntry> out;
  auto st = store_->read("listing the pairing allow store", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kListAllowed);
    StatementReset reset(q);
    bindOptional(q, 1, channel);
    while (q.executeStep()) {
      out.push_back(ChannelAllowEntry{q.getColumn(0).getString(), q.getColumn(1).getString(),
                                      q.getColumn(2).getString(), q.getColumn(3).getInt64()});
    }
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

}  // namespace talon::store
