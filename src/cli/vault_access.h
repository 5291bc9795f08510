#pragma once
// Opening the state dir's vault from the CLI (talon secrets, talon gateway run) and resolving a loaded
// config's secret refs with it.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "base/error.h"
#include "config/config_model.h"
#include "config/environment.h"
#include "security/audit_chain.h"
#include "security/audit_sink.h"
#include "security/vault.h"
#include "store/store.h"

namespace talon::cli {

/// The state dir's store and its open vault (the vault refers to the store: it is declared after it,
/// so it goes first).
struct OpenVault {
  store::StorePtr store;
  /// The store's audit chain when openVault was given no sink: the vault's reads, writes and
  /// rotations are appended to the state dir's tamper-evident audit log (docs/audit.md).
  std::shared_ptr<security::ChainedAuditSink> auditChain;
  std::unique_ptr<security::Vault> vault;
  OpenVault() = default;
  OpenVault(OpenVault&&) noexcept = default;
  OpenVault& operator=(OpenVault&&) noexcept = default;
  /// Drops the vault, commits the audit records and writes the audit checkpoint (a failure is printed
  /// on stderr), then closes the store.
  ~OpenVault();
};

/// `<stateDir>/state/talon.sqlite`, the store the gateway uses.
std::filesystem::path stateStorePath(const std::filesystem::path& stateDir);

/// Reads a line from the terminal (/dev/tty) with echo off, after printing `prompt` to it. Errors:
/// kFailedPrecondition when there is no terminal.
Result<security::Secret> promptSecret(const std::string& prompt);

/// The vault key: `keyFile` when given, else TALON_VAULT_KEY_FILE, else TALON_VAULT_PASSPHRASE, else
/// (when `allowPrompt`) a passphrase typed at the terminal. Errors: kFailedPrecondition when none.
Result<security::VaultKeySource> vaultKey(const config::Environment& env, const std::string& keyFile, bool allowPrompt);

/// Opens the store at stateStorePath(stateDir) and the vault in it with `key`. With `audit` null, the
/// vault's events go to the store's audit chain (OpenVault::auditChain). Errors: those of
/// openSqliteStore, security::ChainedAuditSink::create and security::Vault::open.
Result<OpenVault> openVault(const std::filesystem::path& stateDir, const security::VaultKeySource& key,
                            security::AuditSink* audit, std::string actor);

/// Resolves every file, exec and store ref of `config` (security::resolveConfigSecrets). The vault is
/// opened only when a store ref exists and a key is in the environment (never prompted); without one the
/// store refs fail with "the vault is not open". `audit` receives the reads.
void resolveConfigRefs(config::TalonConfig& config, const config::Environment& env,
                       const std::filesystem::path& stateDir, security::AuditSink& audit, const std::string& actor);

/// "cli:<login name>" for audit events.
std::string cliActor();

}  // namespace talon::cli
