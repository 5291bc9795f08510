#pragma once
// Loading Talon's config file: locate (config_paths.h) -> read -> JSON5 (json5.h) -> `$include`
// (include_resolver.h) -> `${VAR}` (env_substitution.h) -> strict validation (config_validator.h) ->
// typed TalonConfig + canonical hash. Reads files; no shared state, so concurrent calls are safe.
// OpenClaw reference: reference/openclaw-semantics.md §1 "Config file".
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "config/config_model.h"
#include "config/diagnostic.h"
#include "config/environment.h"
#include "config/include_resolver.h"
#include "config/source_map.h"

namespace talon::config {

/// The largest root config file Talon reads (bytes): the same 2 MiB as an included file
/// (kMaxIncludeFileBytes). A larger file is refused before it is read or parsed.
inline constexpr std::size_t kMaxConfigFileBytes = kMaxIncludeFileBytes;

struct LoadOptions {
  /// The `--config` value; empty: TALON_CONFIG_PATH, else <stateDir>/talon.json.
  std::optional<std::filesystem::path> configPath;
  /// The environment for path resolution, `${VAR}` and env secret refs; nullopt: processEnvironment().
  std::optional<Environment> env;
  /// Extra `$include` roots besides the config directory and TALON_INCLUDE_ROOTS /
  /// OPENCLAW_INCLUDE_ROOTS from `env`.
  std::vector<std::filesystem::path> extraIncludeRoots;
};

/// A successfully loaded config.
struct LoadedConfig {
  TalonConfig config;
  /// The config after `$include` and `${VAR}` substitution, before defaults; {} when the file does
  /// not exist. What `hash` covers and what redactConfigSecrets() takes.
  json::value effective;
  /// Locations of every key and element of `effective` (pointing into included files where they
  /// came from).
  SourceMap sourceMap;
  /// configHash(effective).
  std::string hash;
  /// Absolute path of the root config file (whether or not it exists).
  std::filesystem::path path;
  bool exists = false;
  /// The root file's text as read ("" when it does not exist).
  std::string raw;
  /// Files read through `$include`, in order (for reload watching).
  std::vector<std::filesystem::path> includedFiles;
  /// Warnings (e.g. missing env vars); errors make loadConfig fail instead. At most kMaxDiagnostics.
  std::vector<Diagnostic> warnings;
  /// Warnings past the kMaxDiagnostics cap (counted, not kept).
  std::size_t omittedWarnings = 0;
};

/// Loads the config. A missing file is not an error: it gives defaultTalonConfig() with exists=false.
/// Errors:
/// - kConfigInvalid when parsing, `$include` or validation found errors. `message` lists the
///   diagnostics (`file:line:col: path: message`, one per line, in document order; the first
///   kMaxDiagnostics, then "... and N more diagnostics"); `details` holds {"path": file, "issues":
///   [Diagnostic::toJson()...], "omitted": N} with errors and warnings.
/// - kConfigInvalid when the path exists but is not a regular file, or is larger than
///   kMaxConfigFileBytes (the message names the file and the limit); kIo when it cannot be read.
Result<LoadedConfig> loadConfig(const LoadOptions& options);

/// Like loadConfig, with `raw` standing for the content of the file at `path` (includes resolve
/// relative to it). For validating a proposed config (config.apply / config.patch) before writing it.
Result<LoadedConfig> loadConfigText(std::string_view raw, const std::filesystem::path& path,
                                    const LoadOptions& options);

/// Everything `talon config validate` needs to print.
struct ValidationReport {
  std::filesystem::path path;
  bool exists = false;
  /// Errors and warnings in document order: the root file, then included files in the order read; by
  /// line and column within a file. At most kMaxDiagnostics: the first ones found.
  std::vector<Diagnostic> diagnostics;
  /// Errors and warnings past the cap: counted, not kept.
  std::size_t omittedErrors = 0;
  std::size_t omittedWarnings = 0;

  bool valid() const { return omittedErrors == 0 && !hasErrors(diagnostics); }
  /// Errors and warnings in total, kept or omitted.
  std::size_t errorCount() const;
  std::size_t warningCount() const;
  /// {"valid", "path", "exists", "issues": [errors], "warnings": [warnings], "errorCount",
  /// "warningCount", "omitted"}: issues and warnings as Diagnostic::toJson() (the shape of `openclaw
  /// config validate --json`, plus locations), together at most kMaxDiagnostics; the counts are totals
  /// and "omitted" is how many were left out.
  json::object toJson() const;
};

/// Whether the gateway may start with `config`: kConfigInvalid when the active gateway auth secret is
/// configured but did not resolve (GatewayAuthConfig::secretUnavailable), with a message that names
/// the config path and the env var. `talon config validate` only warns about it, as OpenClaw does;
/// `talon gateway run` refuses to start, as OpenClaw does on an unresolved gateway auth ref.
Status requireGatewayAuthSecret(const TalonConfig& config);

/// Runs the whole load (every check loadConfig does) and returns all diagnostics instead of failing on
/// them. A missing file is valid (defaults). Errors: kConfigInvalid when the path is not a regular
/// file, kIo when it cannot be read.
Result<ValidationReport> validateConfig(const LoadOptions& options);

}  // namespace talon::config
