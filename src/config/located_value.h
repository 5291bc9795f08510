#pragma once
// A JSON value that remembers where each part was written: the form the JSON5 parser produces and the
// `$include` resolver and `${VAR}` substitution work on, before it is flattened into a plain
// json::value plus a SourceMap. Plain data; not thread-safe beyond the usual value-type rules.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "config/source_map.h"

namespace talon::config {

struct LocatedMember;

/// A JSON value with the location of its first character. Objects keep their members in source
/// order (a duplicate key replaces the earlier value in place, as the `json5` npm package does).
struct LocatedValue {
  enum class Kind { kScalar, kObject, kArray };

  Kind kind = Kind::kScalar;
  /// kScalar only: null, bool, int64, double or string.
  json::value scalar;
  /// kObject only.
  std::vector<LocatedMember> members;
  /// kArray only.
  std::vector<LocatedValue> items;
  SourceLocation location;

  bool isObject() const { return kind == Kind::kObject; }
  bool isArray() const { return kind == Kind::kArray; }
  bool isString() const { return kind == Kind::kScalar && scalar.is_string(); }

  /// The member named `key`, or nullptr.
  const LocatedMember* findMember(std::string_view key) const;
  LocatedMember* findMember(std::string_view key);
  /// Adds a member, or replaces the value (and key location) of an existing one in place.
  void setMember(std::string key, SourceLocation keyLocation, LocatedValue value);

  static LocatedValue makeObject(SourceLocation location);
  static LocatedValue makeArray(SourceLocation location);
  static LocatedValue makeScalar(json::value v, SourceLocation location);
};

/// One object member: its key, where the key was written, and its value.
struct LocatedMember {
  std::string key;
  SourceLocation keyLocation;
  LocatedValue value;
};

/// The plain value (locations dropped).
json::value toJsonValue(const LocatedValue& v);

/// Adds an entry to `map` for every object member and array element under `v`, whose own path is
/// `path`; `v` itself is recorded at `path` with its value location.
void collectSourceMap(const LocatedValue& v, const std::string& path, SourceMap& map);

/// JavaScript's `typeof` name of the value ("string", "number", "boolean", "object"), used in
/// messages that follow OpenClaw's wording.
std::string_view javaScriptTypeName(const LocatedValue& v);

/// OpenClaw's `$include` deep merge (dist `deep-merge`, mergeDeep with arrays "concat"): objects merge
/// recursively, arrays concatenate, anything else takes `source`. Keys `__proto__`, `prototype` and
/// `constructor` are dropped from both sides of an object merge, as OpenClaw does. A key that exists
/// on both sides keeps its position; its location is the winning side's, except that a merged object
/// keeps the location of its first definition.
LocatedValue deepMergeLocated(LocatedValue target, LocatedValue source);

}  // namespace talon::config
