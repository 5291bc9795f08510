#include "config/config_loader.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>

#include "base/file_io.h"
#include "config/config_hash.h"
#include "config/config_paths.h"
#include "config/config_validator.h"
#include "config/env_substitution.h"
#include "config/include_resolver.h"
#include "config/json5.h"

namespace talon::config {

namespace fs = std::filesystem;

namespace {

struct Analysis {
  LoadedConfig loaded;
  std::vector<Diagnostic> diagnostics;  // errors and warnings, at most kMaxDiagnostics after capDiagnostics
  std::size_t omittedErrors = 0;
  std::size_t omittedWarnings = 0;

  bool failed() const { return omittedErrors > 0 || hasErrors(diagnostics); }
};

// Keeps the first kMaxDiagnostics (in document order) and counts the rest.
void capDiagnostics(Analysis& a) {
  if (a.diagnostics.size() <= kMaxDiagnostics) return;
  for (std::size_t i = kMaxDiagnostics; i < a.diagnostics.size(); ++i) {
    ++(a.diagnostics[i].isError() ? a.omittedErrors : a.omittedWarnings);
  }
  a.diagnostics.resize(kMaxDiagnostics);
}

std::string tooLargeMessage(const fs::path& path, std::size_t size) {
  return fmt::format("config file {} is too large: {} bytes, the limit is {} bytes (2 MiB)", path.string(), size,
                     kMaxConfigFileBytes);
}

std::vector<fs::path> includeRoots(const Environment& env, const LoadOptions& options) {
  std::string home = homeDir(env);
  std::vector<fs::path> roots = parseIncludeRoots(envTrimmed(env, kIncludeRootsEnv), home);
  for (auto& r : parseIncludeRoots(envTrimmed(env, kOpenClawIncludeRootsEnv), home)) roots.push_back(std::move(r));
  for (const auto& r : options.extraIncludeRoots) roots.push_back(r);
  return roots;
}

// Document order: the root file first, then included files in the order they were read; by line and
// column within a file; diagnostics without a location last. Stable, so a warning and an error at the
// same place keep the order in which they were found.
void sortDiagnostics(std::vector<Diagnostic>& diagnostics, const fs::path& root,
                     const std::vector<fs::path>& included) {
  auto rank = [&](const Diagnostic& d) -> std::size_t {
    if (!d.location.known()) return std::numeric_limits<std::size_t>::max();
    if (d.location.file == root.string()) return 0;
    for (std::size_t i = 0; i < included.size(); ++i) {
      if (d.location.file == included[i].string()) return i + 1;
    }
    return included.size() + 1;
  };
  std::stable_sort(diagnostics.begin(), diagnostics.end(), [&](const Diagnostic& a, const Diagnostic& b) {
    auto ra = rank(a);
    auto rb = rank(b);
    if (ra != rb) return ra < rb;
    if (a.location.file != b.location.file) return a.location.file < b.location.file;
    if (a.location.line != b.location.line) return a.location.line < b.location.line;
    return a.location.column < b.location.column;
  });
}

// Parse, includes, env, validation. `path` is absolute and normalized.
Analysis analyze(std::string raw, const fs::path& path, const Environment& env, const LoadOptions& options) {
  Analysis a;
  a.loaded.path = path;
  a.loaded.exists = true;
  a.loaded.raw = std::move(raw);
  auto parsed = parseJson5Located(a.loaded.raw, path.string());
  if (!parsed) {
    a.diagnostics.push_back(
        Diagnostic{Severity::kError, DiagnosticCode::kParse, "", parsed.error().location, parsed.error().message});
    return a;
  }
  IncludeOptions includeOptions;
  includeOptions.extraRoots = includeRoots(env, options);
  IncludeResult included = resolveIncludes(std::move(*parsed), path, includeOptions, a.diagnostics);
  a.loaded.includedFiles = std::move(included.files);
  if (hasErrors(a.diagnostics)) {  // the tree is incomplete: validating it would only add noise
    sortDiagnostics(a.diagnostics, path, a.loaded.includedFiles);
    capDiagnostics(a);
    return a;
  }
  std::set<std::string> substitutedPaths;
  substituteEnvInTree(included.value, env, a.diagnostics, &substitutedPaths);
  a.loaded.effective = toJsonValue(included.value);
  collectSourceMap(included.value, "", a.loaded.sourceMap);
  ValidationResult validated = validateEffectiveConfig(a.loaded.effective, a.loaded.sourceMap, env, &substitutedPaths);
  a.loaded.config = std::move(validated.config);
  for (auto& d : validated.diagnostics) a.diagnostics.push_back(std::move(d));
  a.omittedErrors += validated.omittedErrors;
  a.omittedWarnings += validated.omittedWarnings;
  sortDiagnostics(a.diagnostics, path, a.loaded.includedFiles);
  capDiagnostics(a);
  a.loaded.hash = configHash(a.loaded.effective);
  return a;
}

Result<LoadedConfig> finish(Analysis a) {
  if (a.failed()) {
    std::size_t errors = a.omittedErrors;
    for (const auto& d : a.diagnostics) errors += d.isError() ? 1 : 0;
    std::string message =
        fmt::format("invalid config {} ({} error{})", a.loaded.path.string(), errors, errors == 1 ? "" : "s");
    for (const auto& d : a.diagnostics) {
      message += "\n";
      message += d.isError() ? "  error: " : "  warning: ";
      message += d.toString();
    }
    std::size_t omitted = a.omittedErrors + a.omittedWarnings;
    if (omitted > 0) message += fmt::format("\n  ... and {} more diagnostics", omitted);
    Error err(ErrorCode::kConfigInvalid, std::move(message), "invalid config");
    err.details["path"] = a.loaded.path.string();
    err.details["issues"] = diagnosticsToJson(a.diagnostics);
    err.details["omitted"] = omitted;
    return fail(std::move(err));
  }
  a.loaded.warnings = std::move(a.diagnostics);
  a.loaded.omittedWarnings = a.omittedWarnings;
  return std::move(a.loaded);
}

Analysis missingFile(const fs::path& path) {
  Analysis a;
  a.loaded.path = path;
  a.loaded.exists = false;
  a.loaded.config = defaultTalonConfig();
  a.loaded.effective = json::object();
  collectSourceMap(LocatedValue::makeObject(SourceLocation{}), "", a.loaded.sourceMap);
  a.loaded.hash = configHash(a.loaded.effective);
  return a;
}

// Reads the root file; nullopt when it does not exist.
Result<std::optional<std::string>> readRootFile(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<std::string>();
    return fail(ErrorCode::kIo, fmt::format("cannot read config {}: {}", path.string(), std::strerror(errno)),
                "cannot read config");
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(ErrorCode::kConfigInvalid, fmt::format("config path is not a regular file: {}", path.string()),
                "invalid config");
  }
  // Refused before reading: a huge file would cost its parse, a source map entry per key and a
  // diagnostic per unknown key.
  if (static_cast<std::size_t>(st.st_size) > kMaxConfigFileBytes) {
    return fail(ErrorCode::kConfigInvalid, tooLargeMessage(path, static_cast<std::size_t>(st.st_size)),
                "config file too large (limit 2 MiB)");
  }
  auto raw = readFile(path, kMaxConfigFileBytes);
  if (!raw) {
    if (raw.error().code == ErrorCode::kNotFound) return std::optional<std::string>();
    if (raw.error().code == ErrorCode::kResourceExhausted) {  // it grew after the stat
      return fail(ErrorCode::kConfigInvalid, tooLargeMessage(path, kMaxConfigFileBytes + 1),
                  "config file too large (limit 2 MiB)");
    }
    return fail(std::move(raw).error());
  }
  return std::optional<std::string>(std::move(*raw));
}

Result<Analysis> analyzeFromOptions(const LoadOptions& options) {
  Environment env = options.env ? *options.env : processEnvironment();
  fs::path path = resolveConfigPath(env, options.configPath);
  auto raw = readRootFile(path);
  if (!raw) return fail(std::move(raw).error());
  if (!raw->has_value()) return missingFile(path);
  return analyze(std::move(**raw), path, env, options);
}

}  // namespace

Result<LoadedConfig> loadConfig(const LoadOptions& options) {
  auto analysis = analyzeFromOptions(options);
  if (!analysis) return fail(std::move(analysis).error());
  return finish(std::move(*analysis));
}

Result<LoadedConfig> loadConfigText(std::string_view raw, const fs::path& path, const LoadOptions& options) {
  Environment env = options.env ? *options.env : processEnvironment();
  fs::path absolute = resolveUserPath(path.string(), env);
  if (raw.size() > kMaxConfigFileBytes) {
    return fail(ErrorCode::kConfigInvalid, tooLargeMessage(absolute, raw.size()),
                "config file too large (limit 2 MiB)");
  }
  return finish(analyze(std::string(raw), absolute, env, options));
}

Result<ValidationReport> validateConfig(const LoadOptions& options) {
  auto analysis = analyzeFromOptions(options);
  if (!analysis) return fail(std::move(analysis).error());
  ValidationReport report;
  report.path = analysis->loaded.path;
  report.exists = analysis->loaded.exists;
  report.diagnostics = std::move(analysis->diagnostics);
  report.omittedErrors = analysis->omittedErrors;
  report.omittedWarnings = analysis->omittedWarnings;
  return report;
}

std::size_t ValidationReport::errorCount() const {
  std::size_t n = omittedErrors;
  for (const auto& d : diagnostics) n += d.isError() ? 1 : 0;
  return n;
}

std::size_t ValidationReport::warningCount() const {
  std::size_t n = omittedWarnings;
  for (const auto& d : diagnostics) n += d.isError() ? 0 : 1;
  return n;
}

Status requireGatewayAuthSecret(const TalonConfig& config) {
  const GatewayAuthConfig& auth = config.gateway.auth;
  if (auth.secretUnavailable.empty()) return {};
  return fail(ErrorCode::kConfigInvalid,
              fmt::format("{}: {}: the gateway cannot start without its auth secret (gateway.auth.mode \"{}\"); set "
                          "the variable or change the config",
                          auth.secretPath, auth.secretUnavailable, auth.mode),
              "the gateway auth secret did not resolve");
}

json::object ValidationReport::toJson() const {
  json::object o;
  o["valid"] = valid();
  o["path"] = path.string();
  o["exists"] = exists;
  json::array issues;
  json::array warnings;
  for (const auto& d : diagnostics) (d.isError() ? issues : warnings).push_back(d.toJson());
  o["issues"] = std::move(issues);
  o["warnings"] = std::move(warnings);
  o["errorCount"] = errorCount();
  o["warningCount"] = warningCount();
  o["omitted"] = omittedErrors + omittedWarnings;
  return o;
}

}  // namespace talon::config
