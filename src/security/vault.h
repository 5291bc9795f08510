#pragma once
// The vault: secret values for `source: "store"` refs, sealed at rest with libsodium's AEAD
// XChaCha20-Poly1305 (a random 24-byte nonce per value; associated data = the secret's name and its
// agent grant, so a sealed value cannot be moved to another name or widened to other agents without
// the key). The 32-byte key is derived with Argon2id (crypto_pwhash, salt and limits stored in the
// vault) from a passphrase, or read from a private key file. Every read and every rotation is audited
// (secret name only). Records live in store/vault_repository.h.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "config/environment.h"
#include "security/audit_sink.h"
#include "security/secret.h"
#include "security/secret_resolver.h"
#include "store/store.h"

namespace talon::security {

/// Where the vault key comes from: exactly one of a passphrase or a key file.
struct VaultKeySource {
  /// Argon2id input.
  std::optional<Secret> passphrase;
  /// A file holding the key as 64 hex digits (a trailing newline allowed). It must be a regular file
  /// (not a symlink) owned by the effective user with no group or other permissions (0600 or 0400).
  std::filesystem::path keyFile;
};

/// The key source named by the environment: TALON_VAULT_KEY_FILE (a path), else
/// TALON_VAULT_PASSPHRASE; nullopt when neither is set.
std::optional<VaultKeySource> vaultKeySourceFromEnv(const config::Environment& env);

/// Argon2id cost (libsodium crypto_pwhash). Defaults: libsodium's INTERACTIVE limits (2 passes,
/// 64 MiB). Used when a vault is created or rotated to a passphrase; an existing vault keeps the limits
/// it stored.
struct VaultKdfLimits {
  uint64_t opslimit = 2;
  uint64_t memlimit = 64ull << 20;  // bytes
};

/// What a vault needs besides its store and key.
struct VaultOptions {
  VaultKdfLimits kdf;
  /// Receives "secret.read", "secret.write", "secret.remove", "secret.rotate" events, and "vault.open"
  /// (denied) for a wrong passphrase or key file; may be null.
  AuditSink* audit = nullptr;
  /// The audit actor ("system", "cli:<user>").
  std::string actor = "system";
  /// Stamps records; null: the system clock.
  const Clock* clock = nullptr;
};

/// A secret as listed: never its value.
struct VaultEntry {
  std::string name;
  std::vector<std::string> agents;  // empty: every agent
  int64_t createdAtMs = 0;
  int64_t updatedAtMs = 0;
};

/// An open vault over a store. Thread-safe: the key is immutable between rotations, and rotate() takes
/// a lock the other methods share.
class Vault final : public SecretSource {
 public:
  /// Opens the vault of `store` with `key`; the first open creates the key row (salt and limits for a
  /// passphrase). Errors: kInvalidArgument (no or both key sources, a malformed key file),
  /// kPermissionDenied (a key file others can read, a symlink), kUnauthenticated (the passphrase or key
  /// file is not this vault's), kFailedPrecondition (a passphrase for a key-file vault or the reverse),
  /// kIo / store errors.
  static Result<std::unique_ptr<Vault>> open(store::Store& store, const VaultKeySource& key, VaultOptions options);
  ~Vault() override;

  /// Seals `value` under `name` (`^[A-Z][A-Z0-9_]{0,127}$`), granted to `agents` (empty: every agent),
  /// replacing any value of that name. Errors: kInvalidArgument (bad name, empty value, bad agent id),
  /// store errors.
  Status set(const std::string& name, const Secret& value, std::vector<std::string> agents);
  /// The value of `name` for an operator (the CLI): no agent check. Audited. Errors: kNotFound,
  /// kUnauthenticated (a value that does not open: tampered with or moved), store errors.
  Result<Secret> get(const std::string& name);
  /// The names, grants and times; no values.
  Result<std::vector<VaultEntry>> list();
  /// Deletes `name`. Errors: kNotFound, store errors.
  Status remove(const std::string& name);
  /// Re-seals every value under a key from `next` (a new salt for a passphrase) in one transaction and
  /// switches to it. Audited. Errors: as open() for `next`, kUnauthenticated when a stored value does
  /// not open under the current key (nothing is changed then).
  Status rotate(const VaultKeySource& next);

  /// SecretSource: the value of a store ref for `agents`. Granted when the secret has no agent list,
  /// or when `agents` is non-empty and every one of them is in the list (a gateway-wide use of an
  /// agent-scoped secret is refused). Audited, the outcome included. Errors: kNotFound,
  /// kPermissionDenied, kUnauthenticated, store errors; messages name the ref only.
  Result<Secret> read(const config::SecretRef& ref, std::span<const std::string> agents) override;

 private:
  struct Impl;
  explicit Vault(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace talon::security
