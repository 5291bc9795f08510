#pragma once
// Where each part of a config came from: file, line and column per JSON path. Plain data; not
// thread-safe beyond the usual value-type rules.
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

namespace talon::config {

/// A position in a source file. `line` and `column` are 1-based; `column` counts Unicode code points
/// (a tab is one column). `line == 0` means "unknown".
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;

  bool known() const { return line > 0; }
  /// "file:line:col" (or just "file" when the position is unknown).
  std::string toString() const;
  friend bool operator==(const SourceLocation&, const SourceLocation&) = default;
};

/// Appends an object key to a config path the way OpenClaw prints paths (dist `dot-path`,
/// appendConfigPathSegment): `a.b` when the key matches `^[A-Za-z_$][A-Za-z0-9_$:-]*$`, otherwise
/// `a["odd key"]` with the key JSON-quoted. An empty `path` is the root.
std::string appendPathKey(std::string_view path, std::string_view key);
/// Appends an array index: `a[3]`.
std::string appendPathIndex(std::string_view path, std::size_t index);
/// The path as OpenClaw prints it in diagnostics: "<root>" for the empty path, else unchanged.
std::string displayPath(std::string_view path);

/// JSON path (as built by appendPathKey/appendPathIndex, e.g. `gateway.auth.token`,
/// `bindings[0].match.channel`) -> location. Object members map to their key's location, array
/// elements to the start of the element; the root value is at path "".
class SourceMap {
 public:
  void set(std::string path, SourceLocation location);
  /// nullptr when the path has no entry.
  const SourceLocation* find(std::string_view path) const;
  std::size_t size() const { return entries_.size(); }
  const std::unordered_map<std::string, SourceLocation>& entries() const { return entries_; }

 private:
  std::unordered_map<std::string, SourceLocation> entries_;
};

}  // namespace talon::config
