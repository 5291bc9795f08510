#pragma once
// `$include` resolution exactly as OpenClaw 2026.9.6 does it (dist `includes-*.mjs`, IncludeProcessor;
// docs/gateway/configuration/common-tasks.md). Reads files; no shared state, so concurrent calls are
// safe as long as the files do not change underneath.
//
// Rules:
// - `{"$include": "./x.json5"}` (string) or `{"$include": ["./a.json5", "./b.json5"]}` (array, deep-
//   merged in order into {}), at any object position including the root and inside arrays.
// - Sibling keys are processed and deep-merged over the included value (siblings win); they require the
//   included value to be an object. Deep merge: objects recursively, arrays concatenate, others replace
//   (deepMergeLocated).
// - Relative paths resolve against the including file's directory; absolute paths are allowed.
// - Confinement: the normalized path, and its realpath when it exists, must lie inside the config
//   file's directory or one of the extra include roots.
// - Limits: no NUL byte, paths shorter than 4096 characters; each file a regular file of at most 2 MiB
//   with a single hard link; nesting depth at most 10; cycles are errors with the chain
//   ("Circular include detected: /c/a.json5 -> /c/b.json5 -> /c/a.json5").
// Locations in the result point into the file each value came from.
#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "config/diagnostic.h"
#include "config/located_value.h"

namespace talon::config {

/// The include directive key.
inline constexpr std::string_view kIncludeKey = "$include";
/// Per-file size limit for included files, in bytes (OpenClaw MAX_INCLUDE_FILE_BYTES).
inline constexpr std::size_t kMaxIncludeFileBytes = 2u * 1024 * 1024;
/// Maximum include nesting depth (OpenClaw: "Maximum include depth (10) exceeded").
inline constexpr int kMaxIncludeDepth = 10;
/// Include paths must be shorter than this, before and after resolution.
inline constexpr std::size_t kMaxIncludePathLength = 4096;

struct IncludeOptions {
  /// Extra directories includes may come from (besides the config file's directory). Relative entries
  /// are made absolute against the current directory.
  std::vector<std::filesystem::path> extraRoots;
  /// Texts that stand for the content of files (keyed by the file's normalized absolute path): an include
  /// of such a file reads this text instead of the file, after the same path checks (used to validate an
  /// edit of several files before any is written). The file must still exist. Not owned; may be null.
  const std::map<std::filesystem::path, std::string>* contentOverrides = nullptr;
};

struct IncludeResult {
  LocatedValue value;
  /// Every file read through `$include`, normalized, in the order read (for reload watching).
  std::vector<std::filesystem::path> files;
};

/// Resolves every `$include` in `root`, the parsed content of `configPath` (made absolute against the
/// current directory). Failures are appended to `diagnostics` (code kInclude, or kParse for a syntax
/// error inside an included file) and resolution continues elsewhere, so that all of them are
/// reported; the object that held a failed directive keeps its other keys.
IncludeResult resolveIncludes(LocatedValue root, const std::filesystem::path& configPath, const IncludeOptions& options,
                              std::vector<Diagnostic>& diagnostics);

/// The extra include roots named by an environment value: ':'-separated entries, trimmed, empty ones
/// skipped, a leading `~` expanded with `home`, relative ones made absolute against the current
/// directory, duplicates dropped (OpenClaw resolveIncludeRoots).
std::vector<std::filesystem::path> parseIncludeRoots(std::string_view value, const std::string& home);

}  // namespace talon::config
