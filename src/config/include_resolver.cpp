#include "config/include_resolver.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <optional>
#include <system_error>

#include "base/file_io.h"
#include "config/json5.h"

namespace talon::config {

namespace fs = std::filesystem;

namespace {

// Path components without the empty trailing one a "dir/" path has.
std::vector<std::string> components(const fs::path& p) {
  std::vector<std::string> out;
  for (const auto& c : p) {
    if (!c.empty()) out.push_back(c.string());
  }
  return out;
}

// Node's isPathInside for POSIX: `target` equals `root` or lies below it (both absolute, normalized).
bool isPathInside(const fs::path& root, const fs::path& target) {
  auto r = components(root);
  auto t = components(target);
  if (t.size() < r.size()) return false;
  return std::equal(r.begin(), r.end(), t.begin());
}

struct Root {
  fs::path dir;      // normalized
  fs::path realDir;  // realpath of dir, or dir when that fails
};

Root makeRoot(const fs::path& dir) {
  Root r;
  r.dir = dir.lexically_normal();
  std::error_code ec;
  fs::path real = fs::canonical(r.dir, ec);
  r.realDir = ec ? r.dir : real.lexically_normal();
  return r;
}

// A failure that ends the current directive; becomes one diagnostic.
struct IncludeFailure {
  DiagnosticCode code = DiagnosticCode::kInclude;
  SourceLocation location;
  std::string message;
};

class Resolver {
 public:
  Resolver(const fs::path& configPath, const IncludeOptions& options, std::vector<Diagnostic>& diagnostics)
      : diagnostics_(diagnostics), overrides_(options.contentOverrides) {
    configRoot_ = makeRoot(configPath.parent_path());
    for (const auto& extra : options.extraRoots) {
      if (extra.empty()) continue;
      fs::path abs = extra.is_absolute() ? extra : fs::absolute(extra);
      extraRoots_.push_back(makeRoot(abs));
    }
  }

  LocatedValue process(LocatedValue v, const fs::path& basePath, const std::vector<std::string>& visited, int depth,
                       const std::string& logicalPath) {
    if (v.isArray()) {
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        v.items[i] = process(std::move(v.items[i]), basePath, visited, depth, appendPathIndex(logicalPath, i));
      }
      return v;
    }
    if (!v.isObject()) return v;
    LocatedMember* directive = v.findMember(kIncludeKey);
    if (directive == nullptr) {
      for (auto& m : v.members) {
        m.value = process(std::move(m.value), basePath, visited, depth, appendPathKey(logicalPath, m.key));
      }
      return v;
    }
    return processInclude(std::move(v), basePath, visited, depth, logicalPath);
  }

  std::vector<fs::path> files;

 private:
  LocatedValue processInclude(LocatedValue obj, const fs::path& basePath, const std::vector<std::string>& visited,
                              int depth, const std::string& logicalPath) {
    LocatedMember directive;
    LocatedValue rest = LocatedValue::makeObject(obj.location);
    for (auto& m : obj.members) {
      if (m.key == kIncludeKey) {
        directive = std::move(m);
      } else {
        rest.members.push_back(std::move(m));
      }
    }
    std::optional<LocatedValue> included;
    try {
      included = resolveDirective(directive, basePath, visited, depth, logicalPath);
    } catch (IncludeFailure& f) {
      report(std::move(f), logicalPath);
    }
    for (auto& m : rest.members) {
      m.value = process(std::move(m.value), basePath, visited, depth, appendPathKey(logicalPath, m.key));
    }
    if (!included) return rest;  // already reported; keep the siblings so later checks still run
    if (rest.members.empty()) return std::move(*included);
    if (!included->isObject()) {
      report(IncludeFailure{DiagnosticCode::kInclude, directive.keyLocation,
                            "Sibling keys require included content to be an object"},
             logicalPath);
      return rest;
    }
    return deepMergeLocated(std::move(*included), std::move(rest));
  }

  // Throws IncludeFailure for a malformed directive; failures of single array items are reported
  // and the item skipped, so every item is checked.
  std::optional<LocatedValue> resolveDirective(const LocatedMember& directive, const fs::path& basePath,
                                               const std::vector<std::string>& visited, int depth,
                                               const std::string& logicalPath) {
    const LocatedValue& value = directive.value;
    if (value.isString()) {
      return loadFile(std::string(value.scalar.get_string()), directive.keyLocation, basePath, visited, depth,
                      logicalPath);
    }
    if (value.isArray()) {
      LocatedValue merged = LocatedValue::makeObject(directive.value.location);
      bool failed = false;
      for (const auto& item : value.items) {
        if (!item.isString()) {
          report(IncludeFailure{DiagnosticCode::kInclude, item.location,
                                fmt::format("Invalid $include array item: expected string, got {}",
                                            javaScriptTypeName(item))},
                 logicalPath);
          failed = true;
          continue;
        }
        try {
          merged = deepMergeLocated(std::move(merged), loadFile(std::string(item.scalar.get_string()), item.location,
                                                                basePath, visited, depth, logicalPath));
        } catch (IncludeFailure& f) {
          report(std::move(f), logicalPath);
          failed = true;
        }
      }
      if (failed) return std::nullopt;
      return merged;
    }
    throw IncludeFailure{
        DiagnosticCode::kInclude, directive.keyLocation,
        fmt::format("Invalid $include value: expected string or array of strings, got {}", javaScriptTypeName(value))};
  }

  LocatedValue loadFile(const std::string& includePath, const SourceLocation& at, const fs::path& basePath,
                        const std::vector<std::string>& visited, int depth, const std::string& logicalPath) {
    auto failAt = [&](std::string message) { return IncludeFailure{DiagnosticCode::kInclude, at, std::move(message)}; };
    // resolvePath
    if (includePath.find('\0') != std::string::npos) throw failAt("Include path must not contain null bytes");
    if (includePath.size() >= kMaxIncludePathLength) {
      throw failAt(fmt::format("Include path exceeds maximum length ({} characters)", kMaxIncludePathLength));
    }
    fs::path requested(includePath);
    fs::path resolved = requested.is_absolute() ? requested : basePath.parent_path() / requested;
    fs::path normalized = resolved.lexically_normal();
    std::string normalizedStr = normalized.string();
    if (normalizedStr.size() >= kMaxIncludePathLength) {
      throw failAt(fmt::format("Resolved include path exceeds maximum length ({} characters)", kMaxIncludePathLength));
    }
    if (findRoot(normalized, false) == nullptr) {
      throw failAt(
          fmt::format("Include path escapes config directory: {} (root: {})", includePath, configRoot_.dir.string()));
    }
    std::error_code ec;
    fs::path real = fs::canonical(normalized, ec);
    if (!ec) {
      if (findRoot(real.lexically_normal(), true) == nullptr) {
        throw failAt(fmt::format("Include path resolves outside config directory (symlink): {} (root: {})", includePath,
                                 configRoot_.dir.string()));
      }
    } else if (ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory) {
      throw failAt(
          fmt::format("Failed to resolve include file realpath: {} (resolved: {})", includePath, normalizedStr));
    }
    // checkCircular
    if (std::find(visited.begin(), visited.end(), normalizedStr) != visited.end()) {
      std::string chain;
      for (const auto& v : visited) chain += v + " -> ";
      chain += normalizedStr;
      throw failAt("Circular include detected: " + chain);
    }
    // checkDepth
    if (depth >= kMaxIncludeDepth) {
      throw failAt(fmt::format("Maximum include depth ({}) exceeded at: {}", kMaxIncludeDepth, includePath));
    }
    // readFile (OpenClaw readConfigIncludeFileWithGuards: a regular file, bounded, one hard link)
    struct stat st {};
    if (::stat(normalizedStr.c_str(), &st) != 0) {
      throw failAt(fmt::format("Failed to read include file: {} (resolved: {})", includePath, normalizedStr));
    }
    if (!S_ISREG(st.st_mode) || static_cast<std::size_t>(st.st_size) > kMaxIncludeFileBytes || st.st_nlink > 1) {
      throw failAt(fmt::format("Include file failed security checks (regular file, max {} bytes, no hardlinks): {}",
                               kMaxIncludeFileBytes, includePath));
    }
    Result<std::string> raw = fail(ErrorCode::kIo, "");
    const std::string* overridden = nullptr;
    if (overrides_ != nullptr) {
      auto o = overrides_->find(normalized);
      if (o != overrides_->end()) overridden = &o->second;
    }
    if (overridden == nullptr) {
      raw = readFile(normalized, kMaxIncludeFileBytes);
    } else if (overridden->size() > kMaxIncludeFileBytes) {
      raw = fail(ErrorCode::kResourceExhausted, "");
    } else {
      raw = *overridden;
    }
    if (!raw) {
      if (raw.error().code == ErrorCode::kResourceExhausted) {
        throw failAt(fmt::format("Include file failed security checks (regular file, max {} bytes, no hardlinks): {}",
                                 kMaxIncludeFileBytes, includePath));
      }
      throw failAt(fmt::format("Failed to read include file: {} (resolved: {})", includePath, normalizedStr));
    }
    files.push_back(normalized);
    // parseFile
    auto parsed = parseJson5Located(*raw, normalizedStr);
    if (!parsed) {
      throw IncludeFailure{DiagnosticCode::kParse, parsed.error().location,
                           fmt::format("Failed to parse include file: {} (resolved: {}): {}", includePath,
                                       normalizedStr, parsed.error().message)};
    }
    // processNested
    std::vector<std::string> nestedVisited = visited;
    nestedVisited.push_back(normalizedStr);
    return process(std::move(*parsed), normalized, nestedVisited, depth + 1, logicalPath);
  }

  const Root* findRoot(const fs::path& candidate, bool real) const {
    if (isPathInside(real ? configRoot_.realDir : configRoot_.dir, candidate)) return &configRoot_;
    for (const auto& r : extraRoots_) {
      if (isPathInside(real ? r.realDir : r.dir, candidate)) return &r;
    }
    return nullptr;
  }

  void report(IncludeFailure f, const std::string& logicalPath) {
    diagnostics_.push_back(
        Diagnostic{Severity::kError, f.code, logicalPath, std::move(f.location), std::move(f.message)});
  }

  Root configRoot_;
  std::vector<Root> extraRoots_;
  std::vector<Diagnostic>& diagnostics_;
  const std::map<fs::path, std::string>* overrides_ = nullptr;
};

}  // namespace

IncludeResult resolveIncludes(LocatedValue root, const fs::path& configPath, const IncludeOptions& options,
                              std::vector<Diagnostic>& diagnostics) {
  fs::path absolute = (configPath.is_absolute() ? configPath : fs::absolute(configPath)).lexically_normal();
  Resolver resolver(absolute, options, diagnostics);
  IncludeResult result;
  result.value = resolver.process(std::move(root), absolute, {absolute.string()}, 0, "");
  result.files = std::move(resolver.files);
  return result;
}

std::vector<fs::path> parseIncludeRoots(std::string_view value, const std::string& home) {
  std::vector<fs::path> roots;
  std::size_t start = 0;
  while (start <= value.size()) {
    std::size_t end = value.find(':', start);
    if (end == std::string_view::npos) end = value.size();
    std::string_view entry = value.substr(start, end - start);
    start = end + 1;
    while (!entry.empty() && std::isspace(static_cast<unsigned char>(entry.front()))) entry.remove_prefix(1);
    while (!entry.empty() && std::isspace(static_cast<unsigned char>(entry.back()))) entry.remove_suffix(1);
    if (entry.empty()) continue;
    std::string expanded(entry);
    if (!home.empty() && (expanded == "~" || expanded.rfind("~/", 0) == 0)) expanded = home + expanded.substr(1);
    fs::path p(expanded);
    if (!p.is_absolute()) p = fs::absolute(p);
    p = p.lexically_normal();
    if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();  // "a/b/" -> "a/b"
    if (std::find(roots.begin(), roots.end(), p) == roots.end()) roots.push_back(p);
    if (end == value.size()) break;
  }
  return roots;
}

}  // namespace talon::config
