#include "store/vault_repository.h"

#include <fmt/format.h>

#include <utility>

#include "store/sqlite_connection.h"
#include "store/store.h"

namespace talon::store {

namespace {

constexpr const char kPutMeta[] =
    "INSERT INTO vault_meta (id, kdf, salt, opslimit, memlimit, check_nonce, check_ciphertext, updated_at_ms) "
    "VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO UPDATE SET kdf = excluded.kdf, "
    "salt = excluded.salt, opslimit = excluded.opslimit, memlimit = excluded.memlimit, "
    "check_nonce = excluded.check_nonce, check_ciphertext = excluded.check_ciphertext, "
    "updated_at_ms = excluded.updated_at_ms";
constexpr const char kGetMeta[] =
    "SELECT kdf, salt, opslimit, memlimit, check_nonce, check_ciphertext, updated_at_ms FROM vault_meta WHERE id = 1";
constexpr const char kPut[] =
    "INSERT INTO vault_secrets (name, agents, nonce, ciphertext, created_at_ms, updated_at_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (name) DO UPDATE SET agents = excluded.agents, "
    "nonce = excluded.nonce, ciphertext = excluded.ciphertext, updated_at_ms = excluded.updated_at_ms";
constexpr const char kDelete[] = "DELETE FROM vault_secrets WHERE name = ?1";
constexpr const char kGet[] =
    "SELECT name, agents, nonce, ciphertext, created_at_ms, updated_at_ms FROM vault_secrets WHERE name = ?1";
constexpr const char kList[] =
    "SELECT name, agents, nonce, ciphertext, created_at_ms, updated_at_ms FROM vault_secrets ORDER BY name";

std::string blob(const SQLite::Column& c) {
  return std::string(static_cast<const char*>(c.getBlob()), static_cast<std::size_t>(c.getBytes()));
}

std::string joinAgents(const std::vector<std::string>& agents) {
  std::string out;
  for (const auto& a : agents) {
    if (!out.empty()) out += ',';
    out += a;
  }
  return out;
}

std::vector<std::string> splitAgents(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    std::size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

VaultSecretRecord readSecret(const SQLite::Statement& q) {
  VaultSecretRecord r;
  r.name = q.getColumn(0).getString();
  r.agents = splitAgents(q.getColumn(1).getString());
  r.nonce = blob(q.getColumn(2));
  r.ciphertext = blob(q.getColumn(3));
  r.createdAtMs = q.getColumn(4).getInt64();
  r.updatedAtMs = q.getColumn(5).getInt64();
  return r;
}

class PutMeta final : public WriteOp {
 public:
  explicit PutMeta(VaultMetaRecord m) : m_(std::move(m)) {}
  Status validate() const override {
    if (m_.kdf.empty() || m_.checkNonce.empty() || m_.checkCiphertext.empty()) {
      return fail(ErrorCode::kInvalidArgument, "vault meta without kdf or check value", "invalid record");
    }
    return {};
  }
  Status apply(Transaction& tx) const override {
    SQLite::Statement& q = tx.statement(kPutMeta);
    q.bindNoCopy(1, m_.kdf);
    q.bind(2, m_.salt.data(), static_cast<int>(m_.salt.size()));
    q.bind(3, m_.opslimit);
    q.bind(4, m_.memlimit);
    q.bind(5, m_.checkNonce.data(), static_cast<int>(m_.checkNonce.size()));
    q.bind(6, m_.checkCiphertext.data(), static_cast<int>(m_.checkCiphertext.size()));
    q.bind(7, m_.updatedAtMs);
    return tx.run(q, [] { return std::string("vault meta"); });
  }

 private:
  VaultMetaRecord m_;
};

class PutSecret final : public WriteOp {
 public:
  explicit PutSecret(VaultSecretRecord r) : r_(std::move(r)), agents_(joinAgents(r_.agents)) {}
  Status validate() const override {
    if (r_.name.empty() || r_.nonce.empty() || r_.ciphertext.empty()) {
      return fail(ErrorCode::kInvalidArgument, "vault secret without name, nonce or ciphertext", "invalid record");
    }
    return {};
  }
  Status apply(Transaction& tx) const override {
    SQLite::Statement& q = tx.statement(kPut);
    q.bindNoCopy(1, r_.name);
    q.bindNoCopy(2, agents_);
    q.bind(3, r_.nonce.data(), static_cast<int>(r_.nonce.size()));
    q.bind(4, r_.ciphertext.data(), static_cast<int>(r_.ciphertext.size()));
    q.bind(5, r_.createdAtMs);
    q.bind(6, r_.updatedAtMs);
    return tx.run(q, [&] { return fmt::format("vault secret {}", r_.name); });
  }

 private:
  VaultSecretRecord r_;
  std::string agents_;
};

class RemoveSecret final : public WriteOp {
 public:
  explicit RemoveSecret(std::string name) : name_(std::move(name)) {}
  Status validate() const override { return {}; }
  Status apply(Transaction& tx) const override {
    SQLite::Statement& q = tx.statement(kDelete);
    q.bindNoCopy(1, name_);
    if (auto st = tx.run(q, [&] { return fmt::format("vault secret {}", name_); }); !st) return st;
    if (tx.changes() == 0) {
      return fail(ErrorCode::kNotFound, fmt::format("no vault secret {}", name_), "no such secret");
    }
    return {};
  }

 private:
  std::string name_;
};

}  // namespace

void VaultRepository::putMeta(WriteBatch& batch, VaultMetaRecord meta) { batch.emplace<PutMeta>(std::move(meta)); }

void VaultRepository::put(WriteBatch& batch, VaultSecretRecord record) { batch.emplace<PutSecret>(std::move(record)); }

void VaultRepository::remove(WriteBatch& batch, std::string name) { batch.emplace<RemoveSecret>(std::move(name)); }

Result<std::optional<VaultMetaRecord>> VaultRepository::meta() const {
  std::optional<VaultMetaRecord> out;
  auto st = store_->read("reading the vault key parameters", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kGetMeta);
    StatementReset reset(q);
    if (q.executeStep()) {
      VaultMetaRecord m;
      m.kdf = q.getColumn(0).getString();
      m.salt = blob(q.getColumn(1));
      m.opslimit = q.getColumn(2).getInt64();
      m.memlimit = q.getColumn(3).getInt64();
      m.checkNonce = blob(q.getColumn(4));
      m.checkCiphertext = blob(q.getColumn(5));
      m.updatedAtMs = q.getColumn(6).getInt64();
      out = std::move(m);
    }
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

Result<std::optional<VaultSecretRecord>> VaultRepository::get(const std::string& name) const {
  std::optional<VaultSecretRecord> out;
  auto st = store_->read("reading a vault secret", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kGet);
    StatementReset reset(q);
    q.bind(1, name);
    if (q.executeStep()) out = readSecret(q);
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

Result<std::vector<VaultSecretRecord>> VaultRepository::list() const {
  std::vector<VaultSecretRecord> out;
  auto st = store_->read("listing vault secrets", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kList);
    StatementReset reset(q);
    while (q.executeStep()) out.push_back(readSecret(q));
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

}  // namespace talon::store
