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
  std::vector<Diagnostic> diagnostics;  // errors and warnings
};

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
    return a;
  }
  std::set<std::string> substitutedPaths;
  substituteEnvInTree(included.value, env, a.diagnostics, &substitutedPaths);
  a.loaded.effective = toJsonValue(included.value);
  collectSourceMap(included.value, "", a.loaded.sourceMap);
  ValidationResult validated = validateEffectiveConfig(a.loaded.effective, a.loaded.sourceMap, env, &substitutedPaths);
  a.loaded.config = std::move(validated.config);
  for (auto& d : validated.diagnostics) a.diagnostics.push_back(std::move(d));
  sortDiagnostics(a.diagnostics, path, a.loaded.includedFiles);
  a.loaded.hash = configHash(a.loaded.effective);
  return a;
}

Result<LoadedConfig> finish(Analysis a) {
  if (hasErrors(a.diagnostics)) {
    std::size_t errors = 0;
    for (const auto& d : a.diagnostics) errors += d.isError() ? 1 : 0;
    std::string message =
        fmt::format("invalid config {} ({} error{})", a.loaded.path.string(), errors, errors == 1 ? "" : "s");
    for (const auto& d : a.diagnostics) {
      message += "\n";
      message += d.isError() ? "  error: " : "  warning: ";
      message += d.toString();
    }
    Error err(ErrorCode::kConfigInvalid, std::move(message), "invalid config");
    err.details["path"] = a.loaded.path.string();
    err.details["issues"] = diagnosticsToJson(a.diagnostics);
    return fail(std::move(err));
  }
  a.loaded.warnings = std::move(a.diagnostics);
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
  auto raw = readFile(path);
  if (!raw) {
    if (raw.error().code == ErrorCode::kNotFound) return std::optional<std::string>();
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
  return finish(analyze(std::string(raw), absolute, env, options));
}

Result<ValidationReport> validateConfig(const LoadOptions& options) {
  auto analysis = analyzeFromOptions(options);
  if (!analysis) return fail(std::move(analysis).error());
  ValidationReport report;
  report.path = analysis->loaded.path;
  report.exists = analysis->loaded.exists;
  report.diagnostics = std::move(analysis->diagnostics);
  return report;
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
  return o;
}

}  // namespace talon::config
