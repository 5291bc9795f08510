#include "store/device_repository.h"

#include <fmt/format.h>

#include <utility>

#include "store/sqlite_connection.h"
#include "store/store.h"

namespace talon::store {
namespace {

#define TALON_CLAIM_COLUMNS \
  "device_id, public_key, display_name, platform, device_family, client_id, client_mode, role, scopes, remote_ip"

constexpr const char kPruneExpired[] = "DELETE FROM device_pairing_requests WHERE ts < ?1";
constexpr const char kCountPending[] = "SELECT count(*) FROM device_pairing_requests";
constexpr const char kRefreshPending[] =
    "UPDATE device_pairing_requests SET public_key = ?2, display_name = ?3, platform = ?4, device_family = ?5, "
    "client_id = ?6, client_mode = ?7, role = ?8, scopes = ?9, remote_ip = ?10, ts = ?11 WHERE device_id = ?1";
constexpr const char kInsertPending[] = "INSERT INTO device_pairing_requests (request_id, " TALON_CLAIM_COLUMNS
                                        ", ts) VALUES (?12, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
constexpr const char kSelectPending[] =
    "SELECT request_id, " TALON_CLAIM_COLUMNS ", ts FROM device_pairing_requests WHERE request_id = ?1 AND ts >= ?2";
constexpr const char kSelectPendingOfDevice[] =
    "SELECT request_id, " TALON_CLAIM_COLUMNS ", ts FROM device_pairing_requests WHERE device_id = ?1 AND ts >= ?2";
constexpr const char kListPending[] = "SELECT request_id, " TALON_CLAIM_COLUMNS
                                      ", ts FROM device_pairing_requests WHERE ts >= ?1 ORDER BY ts, request_id";
constexpr const char kDeletePending[] = "DELETE FROM device_pairing_requests WHERE request_id = ?1";
constexpr const char kDeletePendingOfDevice[] = "DELETE FROM device_pairing_requests WHERE device_id = ?1";
constexpr const char kUpsertDevice[] =
    "INSERT INTO paired_devices (" TALON_CLAIM_COLUMNS
    ", created_at_ms, approved_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11) "
    "ON CONFLICT (device_id) DO UPDATE SET public_key = excluded.public_key, display_name = excluded.display_name, "
    "platform = excluded.platform, device_family = excluded.device_family, client_id = excluded.client_id, "
    "client_mode = excluded.client_mode, role = excluded.role, scopes = excluded.scopes, "
    "remote_ip = excluded.remote_ip, approved_at_ms = excluded.approved_at_ms";
constexpr const char kDeleteOtherRoleTokens[] = "DELETE FROM device_tokens WHERE device_id = ?1 AND role <> ?2";
constexpr const char kDeleteTokens[] = "DELETE FROM device_tokens WHERE device_id = ?1";
constexpr const char kDeleteDevice[] = "DELETE FROM paired_devices WHERE device_id = ?1";
constexpr const char kSelectDeviceRole[] = "SELECT role FROM paired_devices WHERE device_id = ?1";
constexpr const char kUpsertToken[] =
    "INSERT INTO device_tokens (device_id, role, token_hash, scopes, created_at_ms, rotated_at_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (device_id, role) DO UPDATE SET token_hash = excluded.token_hash, "
    "scopes = excluded.scopes, rotated_at_ms = excluded.rotated_at_ms, revoked_at_ms = 0, "
    "created_at_ms = CASE WHEN ?7 THEN device_tokens.created_at_ms ELSE excluded.created_at_ms END";
constexpr const char kRevokeToken[] =
    "UPDATE device_tokens SET revoked_at_ms = ?3 WHERE device_id = ?1 AND role = ?2 AND revoked_at_ms = 0";
constexpr const char kTouchToken[] = "UPDATE device_tokens SET last_used_at_ms = ?3 WHERE device_id = ?1 AND role = ?2";
constexpr const char kListPaired[] =
    "SELECT " TALON_CLAIM_COLUMNS
    ", created_at_ms, approved_at_ms FROM paired_devices ORDER BY approved_at_ms, device_id";
constexpr const char kGetPaired[] =
    "SELECT " TALON_CLAIM_COLUMNS ", created_at_ms, approved_at_ms FROM paired_devices WHERE device_id = ?1";
constexpr const char kListTokens[] =
    "SELECT device_id, role, token_hash, scopes, created_at_ms, rotated_at_ms, revoked_at_ms, last_used_at_ms "
    "FROM device_tokens WHERE device_id = ?1 ORDER BY role";

#undef TALON_CLAIM_COLUMNS

/// Binds a claim to ?1..?10 in TALON_CLAIM_COLUMNS order. `scopes` must outlive the statement's use.
void bindClaim(SQLite::Statement& q, const DeviceClaim& c, const std::string& scopes) {
  q.bindNoCopy(1, c.deviceId);
  q.bindNoCopy(2, c.publicKey);
  q.bindNoCopy(3, c.displayName);
  q.bindNoCopy(4, c.platform);
  q.bindNoCopy(5, c.deviceFamily);
  q.bindNoCopy(6, c.clientId);
  q.bindNoCopy(7, c.clientMode);
  q.bindNoCopy(8, c.role);
  q.bindNoCopy(9, scopes);
  q.bindNoCopy(10, c.remoteIp);
}

/// Reads TALON_CLAIM_COLUMNS starting at column `first`.
DeviceClaim readClaim(const SQLite::Statement& q, int first) {
  DeviceClaim c;
  c.deviceId = q.getColumn(first + 0).getString();
  c.publicKey = q.getColumn(first + 1).getString();
  c.displayName = q.getColumn(first + 2).getString();
  c.platform = q.getColumn(first + 3).getString();
  c.deviceFamily = q.getColumn(first + 4).getString();
  c.clientId = q.getColumn(first + 5).getString();
  c.clientMode = q.getColumn(first + 6).getString();
  c.role = q.getColumn(first + 7).getString();
  c.scopes = splitScopeList(q.getColumn(first + 8).getString());
  c.remoteIp = q.getColumn(first + 9).getString();
  return c;
}

PairingRequestRecord readRequest(const SQLite::Statement& q) {
  PairingRequestRecord r;
  r.requestId = q.getColumn(0).getString();
  r.claim = readClaim(q, 1);
  r.ts = q.getColumn(11).getInt64();
  return r;
}

PairedDeviceRecord readDevice(const SQLite::Statement& q) {
  PairedDeviceRecord d;
  d.claim = readClaim(q, 0);
  d.createdAtMs = q.getColumn(10).getInt64();
  d.approvedAtMs = q.getColumn(11).getInt64();
  return d;
}

Error unknown(std::string_view what) { return Error(ErrorCode::kNotFound, std::string(what), std::string(what)); }

class RequestPairing final : public WriteOp {
 public:
  RequestPairing(std::string requestId, DeviceClaim claim, int64_t nowMs)
      : requestId_(std::move(requestId)),
        claim_(std::move(claim)),
        scopes_(joinScopeList(claim_.scopes)),
        now_(nowMs) {}

  Status validate() const override {
    if (requestId_.empty() || claim_.deviceId.empty() || claim_.publicKey.empty() || claim_.role.empty()) {
      return fail(ErrorCode::kInvalidArgument, "pairing request without requestId, deviceId, publicKey or role",
                  "invalid record");
    }
    return {};
  }

  Status apply(Transaction& tx) const override {
    auto context = [&] { return fmt::format("pairing request of device {}", claim_.deviceId); };
    SQLite::Statement& prune = tx.statement(kPruneExpired);
    prune.bind(1, now_ - kPairingRequestTtlMs);
    if (auto st = tx.run(prune, context); !st) return st;
    SQLite::Statement& refresh = tx.statement(kRefreshPending);
    bindClaim(refresh, claim_, scopes_);
    refresh.bind(11, now_);
    if (auto st = tx.run(refresh, context); !st) return st;
    if (tx.changes() > 0) return {};
    SQLite::Statement& count = tx.statement(kCountPending);
    int64_t pending = 0;
    {
      StatementReset reset(count);
      if (count.executeStep()) pending = count.getColumn(0).getInt64();
    }
    if (pending >= kMaxPendingPairingRequests) {
      return fail(ErrorCode::kResourceExhausted,
                  fmt::format("too many pending pairing requests ({}); device {} refused", pending, claim_.deviceId),
                  "too many pending pairing requests; approve or reject some first");
    }
    SQLite::Statement& insert = tx.statement(kInsertPending);
    bindClaim(insert, claim_, scopes_);
    insert.bind(11, now_);
    insert.bindNoCopy(12, requestId_);
    return tx.run(insert, context);
  }

 private:
  std::string requestId_;
  DeviceClaim claim_;
  std::string scopes_;
  int64_t now_;
};

class ApprovePairing final : public WriteOp {
 public:
  ApprovePairing(std::string requestId, int64_t nowMs) : requestId_(std::move(requestId)), now_(nowMs) {}
  Status validate() const override { return {}; }

  Status apply(Transaction& tx) const override {
    auto context = [&] { return fmt::format("approval of pairing request {}", requestId_); };
    std::optional<PairingRequestRecord> request;
    {
      SQLite::Statement& select = tx.statement(kSelectPending);
      StatementReset reset(select);
      select.bindNoCopy(1, requestId_);
      select.bind(2, now_ - kPairingRequestTtlMs);
      if (select.executeStep()) request = readRequest(select);
    }
    if (!request) return fail(unknown("unknown requestId"));
    const DeviceClaim& c = request->claim;
    const std::string scopes = joinScopeList(c.scopes);
    SQLite::Statement& upsert = tx.statement(kUpsertDevice);
    bindClaim(upsert, c, scopes);
    upsert.bind(11, now_);
    if (auto st = tx.run(upsert, context); !st) return st;
    SQLite::Statement& others = tx.statement(kDeleteOtherRoleTokens);
    others.bindNoCopy(1, c.deviceId);
    others.bindNoCopy(2, c.role);
    if (auto st = tx.run(others, context); !st) return st;
    SQLite::Statement& token = tx.statement(kUpsertToken);
    token.bindNoCopy(1, c.deviceId);
    token.bindNoCopy(2, c.role);
    token.bind(3, std::string());
    token.bindNoCopy(4, scopes);
    token.bind(5, now_);
    token.bind(6, int64_t{0});
    token.bind(7, 0);
    if (auto st = tx.run(token, context); !st) return st;
    SQLite::Statement& drop = tx.statement(kDeletePending);
    drop.bindNoCopy(1, requestId_);
    return tx.run(drop, context);
  }

 private:
  std::string requestId_;
  int64_t now_;
};

/// Runs one keyed statement and fails with kNotFound `missing` when it changed no row.
class KeyedWrite final : public WriteOp {
 public:
  KeyedWrite(const char* sql, std::string key, std::string missing)
      : sql_(sql), key_(std::move(key)), missing_(std::move(missing)) {}
  Status validate() const override { return {}; }
  Status apply(Transaction& tx) const override {
    SQLite::Statement& q = tx.statement(sql_);
    q.bindNoCopy(1, key_);
    if (auto st = tx.run(q, [&] { return missing_ + " " + key_; }); !st) return st;
    if (tx.changes() == 0) return fail(unknown(missing_));
    return {};
  }

 private:
  const char* sql_;
  std::string key_;
  std::string missing_;
};

class RemoveDevice final : public WriteOp {
 public:
  explicit RemoveDevice(std::string deviceId) : deviceId_(std::move(deviceId)) {}
  Status validate() const override { return {}; }
  Status apply(Transaction& tx) const override {
    auto context = [&] { return "removal of device " + deviceId_; };
    for (const char* sql : {kDeleteTokens, kDeletePendingOfDevice}) {
      SQLite::Statement& q = tx.statement(sql);
      q.bindNoCopy(1, deviceId_);
      if (auto st = tx.run(q, context); !st) return st;
    }
    SQLite::Statement& q = tx.statement(kDeleteDevice);
    q.bindNoCopy(1, deviceId_);
    if (auto st = tx.run(q, context); !st) return st;
    if (tx.changes() == 0) return fail(unknown("unknown deviceId"));
    return {};
  }

 private:
  std::string deviceId_;
};

class SetToken final : public WriteOp {
 public:
  SetToken(std::string deviceId, std::string role, std::string hash, std::vector<std::string> scopes, int64_t now,
           bool rotation)
      : deviceId_(std::move(deviceId)),
        role_(std::move(role)),
        hash_(std::move(hash)),
        scopes_(joinScopeList(scopes)),
        now_(now),
        rotation_(rotation) {}
  Status validate() const override { return {}; }
  Status apply(Transaction& tx) const override {
    std::optional<std::string> pairedRole;
    {
      SQLite::Statement& q = tx.statement(kSelectDeviceRole);
      StatementReset reset(q);
      q.bindNoCopy(1, deviceId_);
      if (q.executeStep()) pairedRole = q.getColumn(0).getString();
    }
    if (!pairedRole || *pairedRole != role_) return fail(unknown("unknown deviceId/role"));
    SQLite::Statement& token = tx.statement(kUpsertToken);
    token.bindNoCopy(1, deviceId_);
    token.bindNoCopy(2, role_);
    token.bindNoCopy(3, hash_);
    token.bindNoCopy(4, scopes_);
    token.bind(5, now_);
    token.bind(6, rotation_ ? now_ : int64_t{0});
    token.bind(7, rotation_ ? 1 : 0);
    return tx.run(token, [&] { return fmt::format("token of device {} role {}", deviceId_, role_); });
  }

 private:
  std::string deviceId_, role_, hash_, scopes_;
  int64_t now_;
  bool rotation_;
};

class TokenUpdate final : public WriteOp {
 public:
  TokenUpdate(const char* sql, std::string deviceId, std::string role, int64_t now, bool mustChange)
      : sql_(sql), deviceId_(std::move(deviceId)), role_(std::move(role)), now_(now), mustChange_(mustChange) {}
  Status validate() const override { return {}; }
  Status apply(Transaction& tx) const override {
    SQLite::Statement& q = tx.statement(sql_);
    q.bindNoCopy(1, deviceId_);
    q.bindNoCopy(2, role_);
    q.bind(3, now_);
    if (auto st = tx.run(q, [&] { return fmt::format("token of device {} role {}", deviceId_, role_); }); !st) {
      return st;
    }
    if (mustChange_ && tx.changes() == 0) return fail(unknown("unknown deviceId/role"));
    return {};
  }

 private:
  const char* sql_;
  std::string deviceId_, role_;
  int64_t now_;
  bool mustChange_;
};

}  // namespace

std::string joinScopeList(const std::vector<std::string>& scopes) {
  std::string out;
  for (const auto& s : scopes) {
    if (!out.empty()) out += ',';
    out += s;
  }
  return out;
}

std::vector<std::string> splitScopeList(const std::string& csv) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < csv.size()) {
    std::size_t end = csv.find(',', start);
    if (end == std::string::npos) end = csv.size();
    if (end > start) out.push_back(csv.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

void DeviceRepository::requestPairing(WriteBatch& batch, std::string requestId, DeviceClaim claim, int64_t nowMs) {
  batch.emplace<RequestPairing>(std::move(requestId), std::move(claim), nowMs);
}

void DeviceRepository::approve(WriteBatch& batch, std::string requestId, int64_t nowMs) {
  batch.emplace<ApprovePairing>(std::move(requestId), nowMs);
}

void DeviceRepository::reject(WriteBatch& batch, std::string requestId) {
  batch.emplace<KeyedWrite>(kDeletePending, std::move(requestId), "unknown requestId");
}

void DeviceRepository::remove(WriteBatch& batch, std::string deviceId) {
  batch.emplace<RemoveDevice>(std::move(deviceId));
}

void DeviceRepository::setToken(WriteBatch& batch, std::string deviceId, std::string role, std::string tokenHash,
                                std::vector<std::string> scopes, int64_t nowMs, bool rotation) {
  batch.emplace<SetToken>(std::move(deviceId), std::move(role), std::move(tokenHash), std::move(scopes), nowMs,
                          rotation);
}

void DeviceRepository::revokeToken(WriteBatch& batch, std::string deviceId, std::string role, int64_t nowMs) {
  batch.emplace<TokenUpdate>(kRevokeToken, std::move(deviceId), std::move(role), nowMs, true);
}

void DeviceRepository::touchToken(WriteBatch& batch, std::string deviceId, std::string role, int64_t nowMs) {
  batch.emplace<TokenUpdate>(kTouchToken, std::move(deviceId), std::move(role), nowMs, false);
}

Result<std::vector<PairingRequestRecord>> DeviceRepository::listPending(int64_t nowMs) const {
  std::vector<PairingRequestRecord> out;
  auto st = store_->read("listing pairing requests", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kListPending);
    StatementReset reset(q);
    q.bind(1, nowMs - kPairingRequestTtlMs);
    while (q.executeStep()) out.push_back(readRequest(q));
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

Result<std::optional<PairingRequestRecord>> DeviceRepository::getPending(const std::string& requestId,
                                                                         int64_t nowMs) const {
  std::optional<PairingRequestRecord> out;
  auto st = store_->read("reading a pairing request", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kSelectPending);
    StatementReset reset(q);
    q.bind(1, requestId);
    q.bind(2, nowMs - kPairingRequestTtlMs);
    if (q.executeStep()) out = readRequest(q);
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

Result<std::optional<PairingRequestRecord>> DeviceRepository::pendingForDevice(const std::string& deviceId,
                                                                               int64_t nowMs) const {
  std::optional<PairingRequestRecord> out;
  auto st = store_->read("reading a pairing request", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kSelectPendingOfDevice);
    StatementReset reset(q);
    q.bind(1, deviceId);
    q.bind(2, nowMs - kPairingRequestTtlMs);
    if (q.executeStep()) out = readRequest(q);
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

Result<std::vector<PairedDeviceRecord>> DeviceRepository::listPaired() const {
  std::vector<PairedDeviceRecord> out;
  auto st = store_->read("listing paired devices", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kListPaired);
    StatementReset reset(q);
    while (q.executeStep()) out.push_back(readDevice(q));
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

Result<std::optional<PairedDeviceRecord>> DeviceRepository::getPaired(const std::string& deviceId) const {
  std::optional<PairedDeviceRecord> out;
  auto st = store_->read("reading a paired device", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kGetPaired);
    StatementReset reset(q);
    q.bind(1, deviceId);
    if (q.executeStep()) out = readDevice(q);
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

Result<std::vector<DeviceTokenRecord>> DeviceRepository::tokens(const std::string& deviceId) const {
  std::vector<DeviceTokenRecord> out;
  auto st = store_->read("reading device tokens", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kListTokens);
    StatementReset reset(q);
    q.bind(1, deviceId);
    while (q.executeStep()) {
      DeviceTokenRecord t;
      t.deviceId = q.getColumn(0).getString();
      t.role = q.getColumn(1).getString();
      t.tokenHash = q.getColumn(2).getString();
      t.scopes = splitScopeList(q.getColumn(3).getString());
      t.createdAtMs = q.getColumn(4).getInt64();
      t.rotatedAtMs = q.getColumn(5).getInt64();
      t.revokedAtMs = q.getColumn(6).getInt64();
      t.lastUsedAtMs = q.getColumn(7).getInt64();
      out.push_back(std::move(t));
    }
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

}  // namespace talon::store
