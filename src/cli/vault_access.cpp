#include "cli/vault_access.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <termios.h>
#include <unistd.h>

#include <iostream>

#include "security/secret_resolver.h"
#include "store/sqlite_store.h"

namespace talon::cli {

OpenVault::~OpenVault() {
  vault.reset();
  if (auditChain) {
    Status s = auditChain->flush();
    if (s) s = auditChain->writeCheckpoint();
    if (!s) std::cerr << "error: audit log: " << s.error().message << "\n";
    auditChain.reset();
  }
  if (store) store->close();
}

std::filesystem::path stateStorePath(const std::filesystem::path& stateDir) {
  return stateDir / "state" / "talon.sqlite";
}

Result<security::Secret> promptSecret(const std::string& prompt) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) return fail(ErrorCode::kFailedPrecondition, "no terminal to prompt on");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  (void)!::write(fd, prompt.data(), prompt.size());
  termios old{};
  bool restore = ::tcgetattr(fd, &old) == 0;
  if (restore) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  std::string line;
  char c = 0;
  while (::read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  if (restore) ::tcsetattr(fd, TCSAFLUSH, &old);
  (void)!::write(fd, "\n", 1);
  security::Secret out(line);
  std::fill(line.begin(), line.end(), '\0');
  return out;
}

Result<security::VaultKeySource> vaultKey(const config::Environment& env, const std::string& keyFile,
                                          bool allowPrompt) {
  if (!keyFile.empty()) {
    security::VaultKeySource k;
    k.keyFile = keyFile;
    return k;
  }
  if (auto k = security::vaultKeySourceFromEnv(env)) return *k;
  if (allowPrompt) {
    auto p = promptSecret("vault passphrase: ");
    if (p) {
      security::VaultKeySource k;
      k.passphrase = std::move(*p);
      return k;
    }
  }
  return fail(ErrorCode::kFailedPrecondition,
              "no vault key: set TALON_VAULT_PASSPHRASE or TALON_VAULT_KEY_FILE, pass --key-file, or run on a "
              "terminal to be prompted");
}

Result<OpenVault> openVault(const std::filesystem::path& stateDir, const security::VaultKeySource& key,
                            security::AuditSink* audit, std::string actor) {
  OpenVault out;
  store::SqliteStoreOptions so;
  so.path = stateStorePath(stateDir);
  auto s = store::openSqliteStore(so);
  if (!s) return fail(s.error());
  out.store = std::move(*s);
  if (!audit) {
    security::ChainedAuditSinkOptions ao;
    ao.checkpointPath = security::auditCheckpointPath(stateDir);
    ao.logLines = false;  // offline commands keep stdout/stderr for their own output
    auto chain = security::ChainedAuditSink::create(*out.store, std::move(ao));
    if (!chain) return fail(chain.error());
    out.auditChain = *chain;
    audit = out.auditChain.get();
  }
  security::VaultOptions vo;
  vo.audit = audit;
  vo.actor = std::move(actor);
  auto v = security::Vault::open(*out.store, key, std::move(vo));
  if (!v) return fail(v.error());
  out.vault = std::move(*v);
  return out;
}

void resolveConfigRefs(config::TalonConfig& config, const config::Environment& env,
                       const std::filesystem::path& stateDir, security::AuditSink& audit, const std::string& actor) {
  std::optional<OpenVault> vault;
  if (security::configUsesSecretSource(config, "store")) {
    if (auto key = security::vaultKeySourceFromEnv(env)) {
      auto v = openVault(stateDir, *key, &audit, actor);
      if (v) {
        vault = std::move(*v);
      } else {
        spdlog::warn("secrets: the vault did not open: {}", v.error().message);
      }
    }
  }
  security::SecretResolverOptions so;
  so.secrets = config.secrets;
  so.env = env;
  so.store = vault ? vault->vault.get() : nullptr;
  so.audit = &audit;
  so.actor = actor;
  security::resolveConfigSecrets(config, security::SecretResolver(std::move(so)));
}

std::string cliActor() {
  const passwd* pw = ::getpwuid(::geteuid());
  return fmt::format("cli:{}", pw != nullptr && pw->pw_name != nullptr ? pw->pw_name : std::to_string(::geteuid()));
}

}  // namespace talon::cli
