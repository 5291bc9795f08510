#pragma once
// Reads the values of secret refs `{source, provider, id}` (OpenClaw
// docs/gateway/secrets/secretref-contract.md): env, file (a private regular file, value selected by a
// JSON pointer), exec (an absolute trusted binary spoken to in JSON over stdin/stdout) and store (the
// vault, through a SecretSource). Errors name the ref, never its value.
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "config/config_model.h"
#include "config/environment.h"
#include "security/audit_sink.h"
#include "security/secret.h"

namespace talon::security {

/// A source of secret values for refs of one source kind (the vault for "store"). Implementations are
/// thread-safe.
class SecretSource {
 public:
  virtual ~SecretSource() = default;
  /// The value `ref` names, for use by every agent in `agents` (empty: a gateway-wide use such as the
  /// gateway's own auth token). Errors: kNotFound (no such secret), kPermissionDenied (not granted to
  /// one of `agents`), kFailedPrecondition / kIo (the source cannot be read). Messages name the ref only.
  virtual Result<Secret> read(const config::SecretRef& ref, std::span<const std::string> agents) = 0;
};
using SecretSourcePtr = std::unique_ptr<SecretSource>;

/// What a SecretResolver reads with.
struct SecretResolverOptions {
  /// `secrets.providers` and `secrets.defaults`.
  config::SecretsConfig secrets;
  /// The environment env refs read and exec providers pass on (`passEnv`); `HOME` expands `~/`.
  config::Environment env;
  /// Reads "store" refs; null: a store ref fails ("the vault is not open").
  SecretSource* store = nullptr;
  /// Receives a "secret.read" event per file/exec resolution (the store source audits its own reads);
  /// may be null.
  AuditSink* audit = nullptr;
  /// The audit actor ("system" for the gateway, "cli:<user>" for the CLI).
  std::string actor = "system";
};

/// Resolves secret refs with OpenClaw's provider rules:
/// - provider lookup: a `secrets.providers` entry with the ref's alias and the same source wins; an env
///   or store ref whose alias is that source's default (`secrets.defaults.<source>`, else "default")
///   falls back to the built-in reader; any other ref without a matching entry fails.
/// - env: the variable must be set and non-empty, and listed in the provider's `allowlist` when it has one.
/// - file: `path` (`~/` expanded) must be a regular file (not a symlink), with one hard link, owned by
///   the effective user, with no group or other permission bits, at most `maxBytes`; mode "json" selects
///   the string at the JSON pointer `id`, mode "singleValue" returns the contents without a trailing
///   newline (id "value").
/// - exec: `command` must be absolute, a regular file (not a symlink) owned by the effective user and not
///   group- or world-writable, under one of `trustedDirs` when given; it runs without a shell with only
///   the `passEnv` variables and `env`, gets `{"protocolVersion":1,"provider":alias,"ids":[id]}` on
///   stdin and must answer `{"protocolVersion":1,"values":{id:"..."}}` (or `errors:{id:{code}}`) on
///   stdout within `timeoutMs` (and `noOutputTimeoutMs` before its first byte), in at most
///   `maxOutputBytes`; with `jsonOnly: false` a plain non-JSON answer is the value.
/// Thread rules: const methods may be called from several threads (the options are read-only).
class SecretResolver {
 public:
  explicit SecretResolver(SecretResolverOptions options);

  /// The value of `ref` for the agents in `agents` (only store refs are scoped per agent).
  /// Errors (messages name the ref and its config path, never a value): kConfigInvalid (no matching
  /// provider, a bad id), kNotFound, kPermissionDenied (file or command trust checks, an agent without
  /// a grant), kDeadlineExceeded (exec timeout), kUpstream (a bad exec answer), kIo.
  Result<Secret> resolve(const config::SecretRef& ref, std::span<const std::string> agents = {}) const;

  /// `source "file" ref "filemain:/providers/openai/apiKey" (at models.providers.openai.apiKey)`.
  static std::string describe(const config::SecretRef& ref);

 private:
  Result<Secret> resolveEnv(const config::SecretRef& ref, const config::SecretProviderConfig* provider) const;
  Result<Secret> resolveFile(const config::SecretRef& ref, const config::SecretProviderConfig& provider) const;
  Result<Secret> resolveExec(const config::SecretRef& ref, const config::SecretProviderConfig& provider) const;
  void audit(const config::SecretRef& ref, AuditOutcome outcome, const Error* error) const;

  SecretResolverOptions options_;
};

/// True when `config` holds a ref of `source` (e.g. "store": the vault must be opened first).
bool configUsesSecretSource(const config::TalonConfig& config, std::string_view source);

/// Resolves every file/exec/store ref of `config` in place: `gateway.auth.token|password` (gateway-wide
/// scope; a failure of the active mode's ref sets GatewayAuthConfig::secretUnavailable, which stops the
/// gateway), `models.providers.*.apiKey` and header refs (scoped to the agents whose model or fallbacks
/// name the provider; a failure sets ProviderConfig::apiKeyUnavailable, so only that provider is
/// unavailable), `auth.profiles.*.apiKey|token` (scoped as their provider's key; a failure sets
/// AuthProfileConfig::unavailable, so only that profile is skipped) and channel secret settings
/// (`channels.<id>[.accounts.<a>].<key>`, gateway-wide scope; a failure is recorded in ChannelSettings::unavailable, so
/// only that account cannot start). Each failure's reason names the ref, never a value.
void resolveConfigSecrets(config::TalonConfig& config, const SecretResolver& resolver);

/// The agents whose model (primary or fallback, own or inherited from agents.defaults) names
/// `providerId` ("<providerId>/<model>").
std::vector<std::string> agentsUsingProvider(const config::TalonConfig& config, std::string_view providerId);

}  // namespace talon::security
