#include "fleet/proxy_ledger.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sodium.h>

#include <mutex>

#include "base/clock.h"
#include "base/hash.h"

namespace talon::fleet {

namespace {

constexpr const char* kLedgerSchema = R"(
CREATE TABLE IF NOT EXISTS virtual_keys (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  gateway TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  revoked_ms INTEGER
);
CREATE INDEX IF NOT EXISTS virtual_keys_gateway ON virtual_keys(gateway);
CREATE TABLE IF NOT EXISTS usage (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms INTEGER NOT NULL,
  gateway TEXT NOT NULL,
  key_id TEXT NOT NULL,
  model TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  cost_usd REAL NOT NULL,
  status INTEGER NOT NULL,
  stream INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_gateway_time ON usage(gateway, time_ms);
)";

/// Columns added after the first schema (`ALTER TABLE … ADD COLUMN` when missing; never a drop): the agent
/// of a key and of a usage record, NULL for a gateway's own key.
struct LedgerAddedColumn {
  const char* table;
  const char* column;
  const char* definition;
};
constexpr LedgerAddedColumn kLedgerAddedColumns[] = {
    {"virtual_keys", "agent", "agent TEXT"},
    {"usage", "agent", "agent TEXT"},
};

constexpr const char* kLedgerAgentIndexes = R"(
CREATE INDEX IF NOT EXISTS virtual_keys_gateway_agent ON virtual_keys(gateway, agent);
CREATE INDEX IF NOT EXISTS usage_gateway_agent_time ON usage(gateway, agent, time_ms);
)";

bool ledgerHasColumn(SQLite::Database& db, const char* table, const char* column) {
  SQLite::Statement q(db, std::string("SELECT COUNT(*) FROM pragma_table_info('") + table + "') WHERE name = ?");
  q.bind(1, column);
  q.executeStep();
  return q.getColumn(0).getInt64() > 0;
}

/// Brings a ledger of any earlier schema to the current one, in one transaction.
void migrateLedger(SQLite::Database& db) {
  SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
  for (const auto& c : kLedgerAddedColumns) {
    if (!ledgerHasColumn(db, c.table, c.column))
      db.exec(std::string("ALTER TABLE ") + c.table + " ADD COLUMN " + c.definition);
  }
  db.exec(kLedgerAgentIndexes);
  tx.commit();
}

std::optional<std::string> ledgerOptionalText(const SQLite::Column& c) {
  return c.isNull() ? std::nullopt : std::optional<std::string>(c.getString());
}

void ledgerBindOptional(SQLite::Statement& q, int index, const std::optional<std::string>& value) {
  if (value) {
    q.bind(index, *value);
  } else {
    q.bind(index);
  }
}

Error ledgerError(const std::filesystem::path& file, const std::exception& e) {
  return Error(ErrorCode::kIo, file.string() + ": " + e.what(), "the proxy ledger cannot be used");
}

VirtualKeyInfo ledgerKeyRow(SQLite::Statement& q) {
  VirtualKeyInfo k;
  k.keyId = "vk-" + std::to_string(q.getColumn(0).getInt64());
  k.gateway = q.getColumn(1).getString();
  k.prefix = q.getColumn(2).getString();
  k.createdMs = q.getColumn(3).getInt64();
  if (!q.getColumn(4).isNull()) k.revokedMs = q.getColumn(4).getInt64();
  k.agent = ledgerOptionalText(q.getColumn(5));
  return k;
}

}  // namespace

std::string virtualKeyHash(std::string_view key) { return sha256Hex(key); }

json::object VirtualKeyInfo::toJson() const {
  json::object j{
      {"keyId", keyId},   {"gateway", gateway}, {"agent", agent ? json::value(*agent) : json::value(nullptr)},
      {"prefix", prefix}, {"active", active()}, {"created", formatRfc3339Ms(createdMs)}};
  if (revokedMs) j["revoked"] = formatRfc3339Ms(*revokedMs);
  return j;
}

json::object UsageSummary::toJson(bool byAgent) const {
  json::object j{{"gateway", gateway},
                 {"model", model},
                 {"requests", requests},
                 {"promptTokens", promptTokens},
                 {"completionTokens", completionTokens},
                 {"costUsd", costUsd}};
  if (byAgent) j["agent"] = agent ? json::value(*agent) : json::value(nullptr);
  return j;
}

struct ProxyLedger::Impl {
  std::filesystem::path file;
  mutable std::mutex mutex;
  std::unique_ptr<SQLite::Database> db;
};

ProxyLedger::ProxyLedger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProxyLedger::~ProxyLedger() = default;

Result<std::unique_ptr<ProxyLedger>> ProxyLedger::open(const std::filesystem::path& stateDir) {
  if (sodium_init() < 0) return fail(ErrorCode::kInternal, "libsodium cannot be initialised");
  auto impl = std::make_unique<Impl>();
  std::filesystem::path dir = stateDir / "proxy";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot create " + dir.string() + ": " + ec.message());
  std::filesystem::permissions(stateDir, std::filesystem::perms::owner_all, ec);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  impl->file = dir / "proxy.sqlite";
  try {
    impl->db = std::make_unique<SQLite::Database>(impl->file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    std::filesystem::permissions(impl->file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                 ec);
    impl->db->setBusyTimeout(5000);
    impl->db->exec("PRAGMA journal_mode=WAL");
    impl->db->exec(kLedgerSchema);
    migrateLedger(*impl->db);
  } catch (const std::exception& e) {
    return fail(ledgerError(impl->file, e));
  }
  return std::unique_ptr<ProxyLedger>(new ProxyLedger(std::move(impl)));
}

Result<IssuedKey> ProxyLedger::issue(const std::string& gateway, int64_t nowMs,
                                     const std::optional<std::string>& agent) {
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  char encoded[sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(encoded, sizeof encoded, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
  IssuedKey out;
  out.key = std::string("tfk_") + encoded;
  sodium_memzero(encoded, sizeof encoded);
  std::lock_guard lock(impl_->mutex);
  try {
    SQLite::Transaction tx(*impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement revoke(
        *impl_->db, "UPDATE virtual_keys SET revoked_ms = ? WHERE gateway = ? AND agent IS ? AND revoked_ms IS NULL");
    revoke.bind(1, static_cast<int64_t>(nowMs));
    revoke.bind(2, gateway);
    ledgerBindOptional(revoke, 3, agent);
    revoke.exec();
    SQLite::Statement insert(
        *impl_->db, "INSERT INTO virtual_keys (gateway, key_hash, prefix, created_ms, agent) VALUES (?, ?, ?, ?, ?)");
    insert.bind(1, gateway);
    insert.bind(2, virtualKeyHash(out.key));
    insert.bind(3, out.key.substr(4, 8));
    insert.bind(4, static_cast<int64_t>(nowMs));
    ledgerBindOptional(insert, 5, agent);
    insert.exec();
    int64_t seq = impl_->db->getLastInsertRowid();
    tx.commit();
    out.info = VirtualKeyInfo{"vk-" + std::to_string(seq), gateway, agent, out.key.substr(4, 8), nowMs, std::nullopt};
  } catch (const std::exception& e) {
    return fail(ledgerError(impl_->file, e));
  }
  return out;
}

Result<int64_t> ProxyLedger::revoke(const std::string& gateway, int64_t nowMs,
                                    const std::optional<std::string>& agent) {
  std::lock_guard lock(impl_->mutex);
  try {
    SQLite::Statement q(*impl_->db,
                        "UPDATE virtual_keys SET revoked_ms = ?1 WHERE gateway = ?2 AND (?3 IS NULL OR agent = ?3) "
                        "AND revoked_ms IS NULL");
    q.bind(1, static_cast<int64_t>(nowMs));
    q.bind(2, gateway);
    ledgerBindOptional(q, 3, agent);
    return static_cast<int64_t>(q.exec());
  } catch (const std::exception& e) {
    return fail(ledgerError(impl_->file, e));
  }
}

Result<std::vector<VirtualKeyInfo>> ProxyLedger::list(const std::string& gateway) const {
  std::lock_guard lock(impl_->mutex);
  try {
    SQLite::Statement q(*impl_->db,
                        "SELECT seq, gateway, prefix, created_ms, revoked_ms, agent FROM virtual_keys "
                        "WHERE ?1 = '' OR gateway = ?1 ORDER BY seq");
    q.bind(1, gateway);
    std::vector<VirtualKeyInfo> out;
    while (q.executeStep()) out.push_back(ledgerKeyRow(q));
    return out;
  } catch (const std::exception& e) {
    return fail(ledgerError(impl_->file, e));
  }
}

Result<std::optional<VirtualKeyInfo>> ProxyLedger::authenticate(std::string_view presented) const {
  std::lock_guard lock(impl_->mutex);
  try {
    SQLite::Statement q(
        *impl_->db, "SELECT seq, gateway, prefix, created_ms, revoked_ms, agent FROM virtual_keys WHERE key_hash = ?");
    q.bind(1, virtualKeyHash(presented));
    if (!q.executeStep()) return std::optional<VirtualKeyInfo>();
    return std::optional<VirtualKeyInfo>(ledgerKeyRow(q));
  } catch (const std::exception& e) {
    return fail(ledgerError(impl_->file, e));
  }
}

Status ProxyLedger::record(const UsageRecord& r) {
  std::lock_guard lock(impl_->mutex);
  try {
    SQLite::Statement q(*impl_->db,
                        "INSERT INTO usage (time_ms, gateway, key_id, model, prompt_tokens, completion_tokens, "
                        "cost_usd, status, stream, agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q.bind(1, static_cast<int64_t>(r.timeMs));
    q.bind(2, r.gateway);
    q.bind(3, r.keyId);
    q.bind(4, r.model);
    q.bind(5, static_cast<int64_t>(r.usage.promptTokens));
    q.bind(6, static_cast<int64_t>(r.usage.completionTokens));
    q.bind(7, r.costUsd);
    q.bind(8, r.status);
    q.bind(9, r.stream ? 1 : 0);
    ledgerBindOptional(q, 10, r.agent);
    q.exec();
  } catch (const std::exception& e) {
    return fail(ledgerError(impl_->file, e));
  }
  return {};
}

Result<double> ProxyLedger::spentUsd(const std::string& gateway, int64_t sinceMs) const {
  std::lock_guard lock(impl_->mutex);
  try {
    SQLite::Statement q(*impl_->db, "SELECT COALESCE(SUM(cost_usd), 0) FROM usage WHERE gateway = ? AND time_ms >= ?");
    q.bind(1, gateway);
    q.bind(2, static_cast<int64_t>(sinceMs));
    q.executeStep();
    return q.getColumn(0).getDouble();
  } catch (const std::exception& e) {
    return fail(ledgerError(impl_->file, e));
  }
}

Result<double> ProxyLedger::agentSpentUsd(const std::string& gateway, const std::string& agent, int64_t sinceMs) const {
  std::lock_guard lock(impl_->mutex);
  try {
    SQLite::Statement q(
        *impl_->db, "SELECT COALESCE(SUM(cost_usd), 0) FROM usage WHERE gateway = ? AND agent = ? AND time_ms >= ?");
    q.bind(1, gateway);
    q.bind(2, agent);
    q.bind(3, static_cast<int64_t>(sinceMs));
    q.executeStep();
    return q.getColumn(0).getDouble();
  } catch (const std::exception& e) {
    return fail(ledgerError(impl_->file, e));
  }
}

Result<std::vector<UsageSummary>> ProxyLedger::usage(const std::string& gateway, int64_t sinceMs,
                                                     UsageGrouping grouping) const {
  std::lock_guard lock(impl_->mutex);
  try {
    // NULL (a gateway key's requests) sorts first within a gateway.
    const bool byAgent = grouping == UsageGrouping::kAgent;
    SQLite::Statement q(*impl_->db, std::string("SELECT gateway, ") + (byAgent ? "agent" : "NULL") +
                                        ", model, COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), "
                                        "SUM(cost_usd) FROM usage WHERE (?1 = '' OR gateway = ?1) AND time_ms >= ?2 " +
                                        (byAgent ? "GROUP BY gateway, agent, model ORDER BY gateway, agent, model"
                                                 : "GROUP BY gateway, model ORDER BY gateway, model"));
    q.bind(1, gateway);
    q.bind(2, static_cast<int64_t>(sinceMs));
    std::vector<UsageSummary> out;
    while (q.executeStep()) {
      out.push_back(UsageSummary{q.getColumn(0).getString(), ledgerOptionalText(q.getColumn(1)),
                                 q.getColumn(2).getString(), q.getColumn(3).getInt64(), q.getColumn(4).getInt64(),
                                 q.getColumn(5).getInt64(), q.getColumn(6).getDouble()});
    }
    return out;
  } catch (const std::exception& e) {
    return fail(ledgerError(impl_->file, e));
  }
}

}  // namespace talon::fleet
