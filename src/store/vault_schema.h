#pragma once
// The vault tables (store/vault_repository.h): migration step 6 of sqlite_migrations.cpp.
#include <string_view>

namespace talon::store {

/// `vault_meta` (one row: how the key is derived and checked) and `vault_secrets` (sealed values and
/// their agent grants; `agents` is a comma-separated sorted list, '' for every agent).
inline constexpr std::string_view kVaultSchema = R"sql(
CREATE TABLE vault_meta (
  id               INTEGER PRIMARY KEY CHECK (id = 1),
  kdf              TEXT NOT NULL,
  salt             BLOB NOT NULL,
  opslimit         INTEGER NOT NULL DEFAULT 0,
  memlimit         INTEGER NOT NULL DEFAULT 0,
  check_nonce      BLOB NOT NULL,
  check_ciphertext BLOB NOT NULL,
  updated_at_ms    INTEGER NOT NULL
);
CREATE TABLE vault_secrets (
  name          TEXT PRIMARY KEY NOT NULL,
  agents        TEXT NOT NULL DEFAULT '',
  nonce         BLOB NOT NULL,
  ciphertext    BLOB NOT NULL,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
)sql";

}  // namespace talon::store
