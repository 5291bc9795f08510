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
#include "config/source_map.h"

namespace talon::config {

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
  /// Warnings (e.g. missing env vars); errors make loadConfig fail instead.
  std::vector<Diagnostic> warnings;
};

/// Loads the config. A missing file is not an error: it gives defaultTalonConfig() with exists=false.
/// Errors:
/// - kConfigInvalid when parsing, `$include` or validation found errors. `message` lists every
///   diagnostic (`file:line:col: path: message`, one per line, in document order); `details` holds
///   {"path": file, "issues": [Diagnostic::toJson()...]} with errors and warnings.
/// - kConfigInvalid when the path exists but is not a regular file; kIo when it cannot be read.
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
  /// line and column within a file.
  std::vector<Diagnostic> diagnostics;

  bool valid() const { return !hasErrors(diagnostics); }
  /// {"valid", "path", "exists", "issues": [errors], "warnings": [warnings]}, each issue as
  /// Diagnostic::toJson() (the shape of `openclaw config validate --json`, plus locations).
  json::object toJson() const;
};

/// Runs the whole load (every check loadConfig does) and returns all diagnostics instead of failing on
/// them. A missing file is valid (defaults). Errors: kConfigInvalid when the path is not a regular
/// file, kIo when it cannot be read.
Result<ValidationReport> validateConfig(const LoadOptions& options);

}  // namespace talon::config
