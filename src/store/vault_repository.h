#pragma once
// The vault's records: secret values encrypted by security/vault.h (this layer sees only ciphertext),
// the agents each secret is granted to, and the one row of key-derivation parameters. The store never
// holds a plaintext value or a key.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "store/write_batch.h"

namespace talon::store {

class Store;

/// How the vault key is obtained and checked (the single row of `vault_meta`).
struct VaultMetaRecord {
  /// "argon2id13" (key derived from a passphrase with crypto_pwhash) or "keyfile" (a 32-byte key read
  /// from a file).
  std::string kdf;
  std::string salt;  // crypto_pwhash_SALTBYTES bytes for argon2id13; "" for keyfile
  int64_t opslimit = 0;
  int64_t memlimit = 0;  // bytes
  /// A known text sealed with the key: opening it proves a passphrase or key file is the vault's.
  std::string checkNonce;
  std::string checkCiphertext;
  int64_t updatedAtMs = 0;
};

/// One secret: its name (`^[A-Z][A-Z0-9_]{0,127}$`), its grant and its sealed value.
struct VaultSecretRecord {
  std::string name;
  /// Agent ids allowed to resolve it, sorted, no duplicates; empty: every agent and gateway-wide uses.
  std::vector<std::string> agents;
  std::string nonce;       // XChaCha20-Poly1305 nonce (24 bytes), random per value
  std::string ciphertext;  // value + 16-byte tag
  int64_t createdAtMs = 0;
  int64_t updatedAtMs = 0;
};

/// Reads and writes of the vault tables. A view over a Store (cheap to copy; the store must outlive it).
/// Errors of reads: kFailedPrecondition after Store::close(), kIo for database failures.
class VaultRepository {
 public:
  explicit VaultRepository(Store& store) : store_(&store) {}

  /// Inserts or replaces the key row.
  static void putMeta(WriteBatch& batch, VaultMetaRecord meta);
  /// Inserts or replaces a secret (created_at is kept on replace).
  static void put(WriteBatch& batch, VaultSecretRecord record);
  /// Deletes a secret; the batch fails with kNotFound when there is none of that name.
  static void remove(WriteBatch& batch, std::string name);

  /// The key row; nullopt before the vault was first used.
  Result<std::optional<VaultMetaRecord>> meta() const;
  /// One secret; nullopt when there is none of that name.
  Result<std::optional<VaultSecretRecord>> get(const std::string& name) const;
  /// Every secret, by name.
  Result<std::vector<VaultSecretRecord>> list() const;

 private:
  Store* store_;
};

}  // namespace talon::store
