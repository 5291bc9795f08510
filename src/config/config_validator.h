#pragma once
// Strict validation of the effective config against the subset of OpenClaw's schema Talon implements
// (`openclaw config schema`, OpenClaw 2026.9.6), producing the typed TalonConfig. Pure functions;
// thread-safe. Each top-level key is read by its section (config_sections.h) through a ConfigReader;
// checks that span sections (bindings -> agents) run after all sections.
//
// Every problem becomes a Diagnostic and validation goes on, so one run reports all of them:
// - a key neither Talon nor OpenClaw knows: kUnknownKey, OpenClaw's wording `Unrecognized key: "x"`,
//   with the path of the object that holds it ("<root>" at the top), as `openclaw config validate`;
// - a key OpenClaw knows (openclaw_key_paths.h) but Talon does not implement: kUnsupportedKey at the
//   key's own path, "... is not supported by Talon yet";
// - wrong JSON types: kType; bad values (ranges, enums, patterns, unknown agents, roster rules): kValue,
//   both saying what was expected ("expected integer 1..65535, got \"x\"");
// - a binding to agent "main" absent from the roster: a kValue warning (OpenClaw accepts it);
// - unresolvable env secrets: kEnv warnings, as in OpenClaw; an unresolved gateway auth secret is also
//   recorded in GatewayAuthConfig::secretUnavailable, which stops the gateway from starting.
// At most kMaxDiagnostics diagnostics are kept; the rest are counted (ValidationResult::omitted*).
// Secret values are never echoed in messages.
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "config/config_model.h"
#include "config/diagnostic.h"
#include "config/environment.h"
#include "config/source_map.h"

namespace talon::config {

/// Agent id pattern of OpenClaw's schema (`agents.entries` property names).
inline constexpr std::string_view kAgentIdPattern = "^[a-z0-9_][a-z0-9_-]{0,63}$";
/// The agent a config without a roster has (OpenClaw DEFAULT_AGENT_ID).
inline constexpr std::string_view kDefaultAgentId = "main";
/// The only extra root key OpenClaw allows besides its sections.
inline constexpr std::string_view kSchemaKey = "$schema";

/// True when `id` matches kAgentIdPattern.
bool isValidAgentId(std::string_view id);

/// OpenClaw's runtime agent id normalization (dist `agent-id`, normalizeAgentId): trim and lower-case;
/// runs of characters outside [a-z0-9_-] become '-'; leading and trailing '-' are stripped; at most 64
/// characters; an empty result becomes "main".
std::string normalizeAgentId(std::string_view id);

/// The config Talon runs with when there is no config file: loopback bind, token auth (the gateway
/// generates the token), port 18789, one agent "main".
TalonConfig defaultTalonConfig();

struct ValidationResult {
  /// Best effort even when there are errors (invalid parts keep their defaults).
  TalonConfig config;
  /// Errors and warnings, in document order (cross-references last); at most kMaxDiagnostics.
  std::vector<Diagnostic> diagnostics;
  /// Problems found past the kMaxDiagnostics cap: counted, not kept (their messages are never built).
  std::size_t omittedErrors = 0;
  std::size_t omittedWarnings = 0;

  /// True when there is no error, kept or omitted.
  bool valid() const { return omittedErrors == 0 && !hasErrors(diagnostics); }
};

/// Validates `effective` (the config after `$include` and `${VAR}` substitution). `sourceMap` gives
/// locations for diagnostics; `env` resolves env secret refs (`{source:"env", provider, id}` and the
/// `"$NAME"` / unresolved `"${NAME}"` shorthands). `substitutedPaths` (from substituteEnvInTree) names
/// strings produced by substitution: they are literal values, never read as shorthands, so a secret
/// whose value happens to look like `$NAME` stays itself.
ValidationResult validateEffectiveConfig(const json::value& effective, const SourceMap& sourceMap,
                                         const Environment& env,
                                         const std::set<std::string>* substitutedPaths = nullptr);

}  // namespace talon::config
