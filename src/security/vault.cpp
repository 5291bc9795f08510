#include "security/vault.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <shared_mutex>

#include "store/vault_repository.h"

namespace talon::security {

namespace {

constexpr std::size_t kKeyBytes = crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
constexpr std::size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr std::string_view kCheckText = "talon-vault-key-check-v1";
constexpr std::string_view kCheckAd = "talon-vault-check-v1";
constexpr std::string_view kKdfArgon2id = "argon2id13";
constexpr std::string_view kKdfKeyFile = "keyfile";

bool isSecretName(std::string_view id) {
  if (id.empty() || id.size() > 128 || !(id[0] >= 'A' && id[0] <= 'Z')) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; });
}

bool isAgentId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::string joinAgents(const std::vector<std::string>& agents) {
  std::string out;
  for (const auto& a : agents) {
    if (!out.empty()) out += ',';
    out += a;
  }
  return out;
}

// Associated data: binds a sealed value to its name and its grant.
std::string associatedData(std::string_view name, const std::vector<std::string>& agents) {
  return fmt::format("talon-vault-v1\n{}\n{}", name, joinAgents(agents));
}

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

struct Sealed {
  std::string nonce;
  std::string ciphertext;
};

Sealed seal(const Secret& key, std::string_view plaintext, std::string_view ad) {
  Sealed out;
  out.nonce.resize(kNonceBytes);
  randombytes_buf(out.nonce.data(), kNonceBytes);
  out.ciphertext.resize(plaintext.size() + kTagBytes);
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(reinterpret_cast<unsigned char*>(out.ciphertext.data()), &len,
                                             bytes(plaintext), plaintext.size(), bytes(ad), ad.size(), nullptr,
                                             bytes(out.nonce), bytes(key.reveal()));
  out.ciphertext.resize(static_cast<std::size_t>(len));
  return out;
}

// The plaintext, or nullopt when the value does not open under `key` with `ad`.
std::optional<Secret> unseal(const Secret& key, std::string_view nonce, std::string_view ciphertext,
                             std::string_view ad) {
  if (nonce.size() != kNonceBytes || ciphertext.size() < kTagBytes) return std::nullopt;
  std::string plain(ciphertext.size() - kTagBytes, '\0');
  unsigned long long len = 0;
  int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(plain.data()), &len, nullptr,
                                                      bytes(ciphertext), ciphertext.size(), bytes(ad), ad.size(),
                                                      bytes(nonce), bytes(key.reveal()));
  std::optional<Secret> out;
  if (rc == 0) out = Secret(std::string_view(plain.data(), static_cast<std::size_t>(len)));
  sodium_memzero(plain.data(), plain.size());
  return out;
}

Status checkKeySource(const VaultKeySource& source) {
  bool pass = source.passphrase.has_value();
  bool file = !source.keyFile.empty();
  if (pass == file) {
    return fail(ErrorCode::kInvalidArgument,
                "the vault needs exactly one of a passphrase (TALON_VAULT_PASSPHRASE) or a key file "
                "(TALON_VAULT_KEY_FILE)");
  }
  if (pass && source.passphrase->empty()) return fail(ErrorCode::kInvalidArgument, "the vault passphrase is empty");
  return {};
}

Result<Secret> readKeyFile(const std::filesystem::path& path) {
  struct stat lst {};
  if (::lstat(path.c_str(), &lst) != 0) {
    return fail(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                fmt::format("vault key file {}: {}", path.string(), std::strerror(errno)));
  }
  if (S_ISLNK(lst.st_mode)) {
    return fail(ErrorCode::kPermissionDenied, fmt::format("vault key file {} is a symlink", path.string()));
  }
  if (!S_ISREG(lst.st_mode)) {
    return fail(ErrorCode::kPermissionDenied, fmt::format("vault key file {} is not a regular file", path.string()));
  }
  if ((lst.st_mode & 077) != 0) {
    return fail(ErrorCode::kPermissionDenied,
                fmt::format("vault key file {} is accessible by group or others (mode {:o}; chmod 600 it)",
                            path.string(), lst.st_mode & 07777));
  }
  if (lst.st_uid != geteuid()) {
    return fail(ErrorCode::kPermissionDenied,
                fmt::format("vault key file {} is not owned by the current user", path.string()));
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return fail(ErrorCode::kIo, fmt::format("vault key file {}: {}", path.string(), std::strerror(errno)));
  char buf[130];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n < 0) return fail(ErrorCode::kIo, fmt::format("vault key file {}: {}", path.string(), std::strerror(errno)));
  std::size_t len = static_cast<std::size_t>(n);
  while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) --len;
  unsigned char key[kKeyBytes];
  std::size_t keyLen = 0;
  int rc = len == kKeyBytes * 2 ? sodium_hex2bin(key, sizeof key, buf, len, nullptr, &keyLen, nullptr) : -1;
  sodium_memzero(buf, sizeof buf);
  if (rc != 0 || keyLen != kKeyBytes) {
    sodium_memzero(key, sizeof key);
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("vault key file {} must hold 64 hex digits (a 32-byte key)", path.string()));
  }
  Secret out(std::string_view(reinterpret_cast<char*>(key), kKeyBytes));
  sodium_memzero(key, sizeof key);
  return out;
}

Result<Secret> derivePassphraseKey(const Secret& passphrase, std::string_view salt, uint64_t opslimit,
                                   uint64_t memlimit) {
  if (salt.size() != crypto_pwhash_SALTBYTES) {
    return fail(ErrorCode::kFailedPrecondition, "the vault's stored salt has the wrong length");
  }
  unsigned char key[kKeyBytes];
  std::string_view p = passphrase.reveal();
  if (crypto_pwhash(key, kKeyBytes, p.data(), p.size(), bytes(salt), opslimit, static_cast<std::size_t>(memlimit),
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return fail(ErrorCode::kResourceExhausted,
                fmt::format("Argon2id key derivation failed (out of memory for {} bytes?)", memlimit));
  }
  Secret out(std::string_view(reinterpret_cast<char*>(key), kKeyBytes));
  sodium_memzero(key, sizeof key);
  return out;
}

// A fresh key row (new salt) and its key for `source`.
Result<std::pair<store::VaultMetaRecord, Secret>> newKey(const VaultKeySource& source, const VaultKdfLimits& limits,
                                                         int64_t nowMs) {
  store::VaultMetaRecord meta;
  meta.updatedAtMs = nowMs;
  Result<Secret> key = fail(ErrorCode::kInternal, "no key");
  if (source.passphrase) {
    meta.kdf = std::string(kKdfArgon2id);
    meta.salt.resize(crypto_pwhash_SALTBYTES);
    randombytes_buf(meta.salt.data(), meta.salt.size());
    meta.opslimit = static_cast<int64_t>(limits.opslimit);
    meta.memlimit = static_cast<int64_t>(limits.memlimit);
    key = derivePassphraseKey(*source.passphrase, meta.salt, limits.opslimit, limits.memlimit);
  } else {
    meta.kdf = std::string(kKdfKeyFile);
    key = readKeyFile(source.keyFile);
  }
  if (!key) return fail(key.error());
  Sealed check = seal(*key, kCheckText, kCheckAd);
  meta.checkNonce = std::move(check.nonce);
  meta.checkCiphertext = std::move(check.ciphertext);
  return std::pair{std::move(meta), std::move(*key)};
}

// The key of an existing vault from `source`, checked against the stored check value.
Result<Secret> existingKey(const VaultKeySource& source, const store::VaultMetaRecord& meta) {
  Result<Secret> key = fail(ErrorCode::kInternal, "no key");
  if (meta.kdf == kKdfArgon2id) {
    if (!source.passphrase) {
      return fail(ErrorCode::kFailedPrecondition,
                  "the vault is keyed by a passphrase: set TALON_VAULT_PASSPHRASE (or enter it at the prompt)");
    }
    key = derivePassphraseKey(*source.passphrase, meta.salt, static_cast<uint64_t>(meta.opslimit),
                              static_cast<uint64_t>(meta.memlimit));
  } else if (meta.kdf == kKdfKeyFile) {
    if (source.keyFile.empty()) {
      return fail(ErrorCode::kFailedPrecondition, "the vault is keyed by a key file: set TALON_VAULT_KEY_FILE");
    }
    key = readKeyFile(source.keyFile);
  } else {
    return fail(ErrorCode::kFailedPrecondition, fmt::format("the vault's key derivation \"{}\" is unknown", meta.kdf));
  }
  if (!key) return key;
  if (!unseal(*key, meta.checkNonce, meta.checkCiphertext, kCheckAd)) {
    return fail(ErrorCode::kUnauthenticated,
                source.passphrase ? "wrong vault passphrase" : "the key file is not this vault's key",
                "the vault key is wrong");
  }
  return key;
}

}  // namespace

std::optional<VaultKeySource> vaultKeySourceFromEnv(const config::Environment& env) {
  if (const std::string* file = config::findEnv(env, "TALON_VAULT_KEY_FILE"); file != nullptr && !file->empty()) {
    VaultKeySource s;
    s.keyFile = *file;
    return s;
  }
  if (const std::string* pass = config::findEnv(env, "TALON_VAULT_PASSPHRASE"); pass != nullptr && !pass->empty()) {
    VaultKeySource s;
    s.passphrase = Secret(*pass);
    return s;
  }
  return std::nullopt;
}

struct Vault::Impl {
  store::Store& store;
  VaultOptions options;
  Secret key;
  std::shared_mutex mu;  // shared: reads and writes of values; exclusive: rotate
  SystemClock systemClock;

  Impl(store::Store& s, VaultOptions o, Secret k) : store(s), options(std::move(o)), key(std::move(k)) {}

  int64_t nowMs() const { return (options.clock != nullptr ? *options.clock : systemClock).nowMs(); }

  void audit(std::string kind, std::string target, AuditOutcome outcome, boost::json::object details = {}) {
    if (options.audit == nullptr) return;
    AuditEvent e;
    e.kind = std::move(kind);
    e.actor = options.actor;
    e.target = std::move(target);
    e.outcome = outcome;
    e.details = std::move(details);
    options.audit->record(std::move(e));
  }

  // The record of `name` and its value under the current key (caller holds mu).
  Result<std::pair<store::VaultSecretRecord, Secret>> load(const std::string& name) {
    auto rec = store::VaultRepository(store).get(name);
    if (!rec) return fail(rec.error());
    if (!*rec) return fail(ErrorCode::kNotFound, fmt::format("no vault secret {}", name), "no such secret");
    auto value = unseal(key, (*rec)->nonce, (*rec)->ciphertext, associatedData(name, (*rec)->agents));
    if (!value) {
      return fail(ErrorCode::kUnauthenticated,
                  fmt::format("vault secret {} does not open under the vault key (altered or moved)", name),
                  "a vault value does not open");
    }
    return std::pair{std::move(**rec), std::move(*value)};
  }
};

Vault::Vault(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Vault::~Vault() = default;

Result<std::unique_ptr<Vault>> Vault::open(store::Store& store, const VaultKeySource& key, VaultOptions options) {
  if (sodium_init() < 0) return fail(ErrorCode::kInternal, "libsodium failed to initialise");
  if (auto st = checkKeySource(key); !st) return fail(st.error());
  auto meta = store::VaultRepository(store).meta();
  if (!meta) return fail(meta.error());
  SystemClock systemClock;
  int64_t now = (options.clock != nullptr ? *options.clock : systemClock).nowMs();
  if (!*meta) {
    auto fresh = newKey(key, options.kdf, now);
    if (!fresh) return fail(fresh.error());
    store::WriteBatch batch;
    store::VaultRepository::putMeta(batch, fresh->first);
    if (auto st = store.write(std::move(batch)); !st) return fail(st.error());
    return std::unique_ptr<Vault>(
        new Vault(std::make_unique<Impl>(store, std::move(options), std::move(fresh->second))));
  }
  auto k = existingKey(key, **meta);
  if (!k) {
    if (k.error().code == ErrorCode::kUnauthenticated && options.audit != nullptr) {
      AuditEvent e;
      e.kind = "vault.open";
      e.actor = options.actor;
      e.target = "vault";
      e.outcome = AuditOutcome::kDenied;
      e.details["reason"] = key.passphrase ? "wrong passphrase" : "wrong key file";
      options.audit->record(std::move(e));
    }
    return fail(k.error());
  }
  return std::unique_ptr<Vault>(new Vault(std::make_unique<Impl>(store, std::move(options), std::move(*k))));
}

Status Vault::set(const std::string& name, const Secret& value, std::vector<std::string> agents) {
  if (!isSecretName(name)) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("secret name \"{}\" must match ^[A-Z][A-Z0-9_]{{0,127}}$", name));
  }
  if (value.empty()) return fail(ErrorCode::kInvalidArgument, fmt::format("secret {}: the value is empty", name));
  for (const auto& a : agents) {
    if (!isAgentId(a)) return fail(ErrorCode::kInvalidArgument, fmt::format("\"{}\" is not an agent id", a));
  }
  std::sort(agents.begin(), agents.end());
  agents.erase(std::unique(agents.begin(), agents.end()), agents.end());
  std::shared_lock lock(impl_->mu);
  store::VaultSecretRecord r;
  r.name = name;
  r.agents = agents;
  Sealed s = seal(impl_->key, value.reveal(), associatedData(name, agents));
  r.nonce = std::move(s.nonce);
  r.ciphertext = std::move(s.ciphertext);
  r.createdAtMs = r.updatedAtMs = impl_->nowMs();
  store::WriteBatch batch;
  store::VaultRepository::put(batch, std::move(r));
  Status st = impl_->store.write(std::move(batch));
  boost::json::array grant;
  for (const auto& a : agents) grant.push_back(boost::json::value(a));
  impl_->audit("secret.write", name, st ? AuditOutcome::kAllowed : AuditOutcome::kFailed, {{"agents", grant}});
  return st;
}

Result<Secret> Vault::get(const std::string& name) {
  std::shared_lock lock(impl_->mu);
  auto loaded = impl_->load(name);
  impl_->audit("secret.read", name, loaded ? AuditOutcome::kAllowed : AuditOutcome::kFailed);
  if (!loaded) return fail(loaded.error());
  return std::move(loaded->second);
}

Result<std::vector<VaultEntry>> Vault::list() {
  auto rows = store::VaultRepository(impl_->store).list();
  if (!rows) return fail(rows.error());
  std::vector<VaultEntry> out;
  for (auto& r : *rows) out.push_back(VaultEntry{r.name, r.agents, r.createdAtMs, r.updatedAtMs});
  return out;
}

Status Vault::remove(const std::string& name) {
  store::WriteBatch batch;
  store::VaultRepository::remove(batch, name);
  Status st = impl_->store.write(std::move(batch));
  impl_->audit("secret.remove", name, st ? AuditOutcome::kAllowed : AuditOutcome::kFailed);
  return st;
}

Status Vault::rotate(const VaultKeySource& next) {
  if (auto st = checkKeySource(next); !st) return st;
  std::unique_lock lock(impl_->mu);
  auto rows = store::VaultRepository(impl_->store).list();
  if (!rows) return fail(rows.error());
  auto fresh = newKey(next, impl_->options.kdf, impl_->nowMs());
  if (!fresh) return fail(fresh.error());
  store::WriteBatch batch;
  store::VaultRepository::putMeta(batch, fresh->first);
  for (auto& r : *rows) {
    auto value = unseal(impl_->key, r.nonce, r.ciphertext, associatedData(r.name, r.agents));
    if (!value) {
      impl_->audit("secret.rotate", r.name, AuditOutcome::kFailed);
      return fail(ErrorCode::kUnauthenticated,
                  fmt::format("vault secret {} does not open under the current key; nothing was rotated", r.name),
                  "a vault value does not open");
    }
    Sealed s = seal(fresh->second, value->reveal(), associatedData(r.name, r.agents));
    r.nonce = std::move(s.nonce);
    r.ciphertext = std::move(s.ciphertext);
    r.updatedAtMs = fresh->first.updatedAtMs;
    store::VaultRepository::put(batch, std::move(r));
  }
  std::size_t count = rows->size();
  Status st = impl_->store.write(std::move(batch));
  impl_->audit("secret.rotate", "vault", st ? AuditOutcome::kAllowed : AuditOutcome::kFailed,
               {{"secrets", count}, {"kdf", fresh->first.kdf}});
  if (!st) return st;
  impl_->key = std::move(fresh->second);
  return {};
}

Result<Secret> Vault::read(const config::SecretRef& ref, std::span<const std::string> agents) {
  std::shared_lock lock(impl_->mu);
  boost::json::array who;
  for (const auto& a : agents) who.push_back(boost::json::value(a));
  boost::json::object details{{"agents", who}};
  if (!ref.path.empty()) details["configPath"] = ref.path;
  auto loaded = impl_->load(ref.id);
  if (!loaded) {
    impl_->audit("secret.read", ref.id, AuditOutcome::kFailed, details);
    Error e = loaded.error();
    e.message = fmt::format("{}: {}", SecretResolver::describe(ref), e.message);
    return fail(std::move(e));
  }
  const std::vector<std::string>& granted = loaded->first.agents;
  if (!granted.empty()) {
    std::string refused;
    if (agents.empty()) refused = "a gateway-wide use";
    for (const auto& a : agents) {
      if (std::find(granted.begin(), granted.end(), a) == granted.end()) {
        refused = fmt::format("agent \"{}\"", a);
        break;
      }
    }
    if (!refused.empty()) {
      impl_->audit("secret.read", ref.id, AuditOutcome::kDenied, details);
      return fail(ErrorCode::kPermissionDenied,
                  fmt::format("{}: vault secret {} is not granted to {} (granted to: {})",
                              SecretResolver::describe(ref), ref.id, refused, joinAgents(granted)),
                  "secret not granted");
    }
  }
  impl_->audit("secret.read", ref.id, AuditOutcome::kAllowed, details);
  return std::move(loaded->second);
}

}  // namespace talon::security
