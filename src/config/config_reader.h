#pragma once
// Typed reads of the effective config for config sections (config_sections.h): each read checks one
// JSON value against what the section expects and records a Diagnostic with the file:line:col the
// SourceMap gives, then validation goes on. Message wording follows `openclaw config validate`
// (OpenClaw 2026.9.6) where OpenClaw has one. One reader per validation run; not thread-safe.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "config/config_model.h"
#include "config/diagnostic.h"
#include "config/environment.h"
#include "config/source_map.h"

namespace talon::config {

/// JavaScript Number.MAX_SAFE_INTEGER: the largest integer OpenClaw's schema accepts.
inline constexpr int64_t kMaxSafeInteger = 9007199254740991;

/// Where a value sits in the config.
struct ConfigNode {
  /// Concrete config path in SourceMap syntax (`models.providers.openai.models[0].id`); "" is the root.
  std::string path;
  /// The same path as an OpenClaw schema key path (openclaw_key_paths.h): `*` for a map key, `[]` for an
  /// array item (`models.providers.*.models[].id`).
  std::string schema;
  /// The location of the node's key (or element), else of its nearest located ancestor.
  SourceLocation location;
};

/// A SecretInput (OpenClaw secretref-contract) after resolution.
struct SecretInput {
  /// True when the value was configured (a string, or a complete `{source, provider, id}` ref).
  bool present = false;
  /// The resolved secret; empty when absent or unavailable.
  std::string value;
  /// Why a configured secret has no value, e.g. `env var "X" is not set`; empty when resolved.
  std::string unavailable;
  /// The env var it names when it is an env ref (`${X}`, `$X`, `{source:"env", id:"X"}`), else "".
  std::string envVar;
  /// A file, exec or store ref: read later by the secret resolver (`value` and `unavailable` stay empty).
  std::optional<SecretRef> ref;
  ConfigNode node;
};

/// Records diagnostics and does the typed reads sections need. The first `maxDiagnostics` diagnostics
/// are kept; later ones are only counted (omittedErrors/omittedWarnings) and their messages are never
/// built, so a file with millions of problems costs a counter per problem, not a string.
class ConfigReader {
 public:
  /// Reads one member's value; `node` is the member.
  using FieldReader = std::function<void(const ConfigNode& node, const json::value& value)>;
  /// A key an object may hold and how to read its value.
  struct Field {
    std::string_view key;
    FieldReader read;
  };

  /// `sourceMap` gives locations; `env` resolves env secret refs; `substitutedPaths` (may be null; from
  /// substituteEnvInTree) names strings produced by `${VAR}` substitution, which are literal values and
  /// never read as `$NAME` shorthands. All three must outlive the reader.
  ConfigReader(const SourceMap& sourceMap, const Environment& env, const std::set<std::string>* substitutedPaths,
               std::size_t maxDiagnostics = kMaxDiagnostics);

  // --- nodes ------------------------------------------------------------------------------------

  /// The root node (path "").
  ConfigNode root() const;
  /// The environment env secret refs resolve against (e.g. the catalog's key variables).
  const Environment& environment() const { return env_; }
  /// The member `key` of `parent`; `schemaKey` is its schema segment (the key itself for a property,
  /// "*" for an entry of a map).
  ConfigNode child(const ConfigNode& parent, std::string_view key, std::string_view schemaKey) const;
  /// child(parent, key, key).
  ConfigNode child(const ConfigNode& parent, std::string_view key) const { return child(parent, key, key); }
  /// Element `index` of the array at `parent`.
  ConfigNode item(const ConfigNode& parent, std::size_t index) const;
  /// Where the concrete `path` was written; nullptr when the config does not have it.
  const SourceLocation* locate(std::string_view path) const { return sourceMap_.find(path); }

  // --- diagnostics --------------------------------------------------------------------------------

  /// Records an error (or a warning) about `node`. Past the cap only a counter moves.
  void error(const ConfigNode& node, DiagnosticCode code, std::string message);
  void warning(const ConfigNode& node, DiagnosticCode code, std::string message);
  /// False once the cap is reached: a caller may skip building a message (and call countError()).
  bool recording() const { return diagnostics_.size() < maxDiagnostics_; }
  /// Counts an error whose message was not built because recording() was false.
  void countError() { ++omittedErrors_; }

  /// Kept diagnostics in the order found.
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }
  std::vector<Diagnostic> takeDiagnostics() { return std::move(diagnostics_); }
  /// Diagnostics past the cap, counted but not kept.
  std::size_t omittedErrors() const { return omittedErrors_; }
  std::size_t omittedWarnings() const { return omittedWarnings_; }
  /// True when any error was recorded or counted.
  bool hasErrors() const;

  // --- objects and keys ---------------------------------------------------------------------------

  /// Reads the members of `object` in document order with `fields`; a key without a field is an error:
  /// kUnsupportedKey ("OpenClaw key "x" is not supported by Talon yet") when OpenClaw's schema has it
  /// (isOpenClawKeyPath of the member's schema path), else kUnknownKey (`Unrecognized key: "x"` at the
  /// path of `node`, as OpenClaw reports it).
  void readObject(const ConfigNode& node, const json::object& object, std::initializer_list<Field> fields);
  /// object() then readObject(); false when `value` is not an object.
  bool readObject(const ConfigNode& node, const json::value& value, std::initializer_list<Field> fields);
  /// Reports one key without a field as readObject does (for objects read by hand, e.g. maps).
  void unknownKey(const ConfigNode& parent, std::string_view key);
  /// True when `object` has `key`; otherwise an error at the missing member: "required: expected <expected>".
  bool require(const ConfigNode& node, const json::object& object, std::string_view key, std::string_view expected);

  // --- typed values (nullopt/nullptr after recording why) -----------------------------------------

  /// An object; kType error otherwise.
  const json::object* object(const ConfigNode& node, const json::value& value);
  /// An array; kType error "expected <expected>, got ..." otherwise.
  const json::array* array(const ConfigNode& node, const json::value& value, std::string_view expected = "array");
  /// A string; with `nonEmpty` "" is a kValue error. `secret` keeps the value out of messages.
  std::optional<std::string> string(const ConfigNode& node, const json::value& value, bool nonEmpty = false,
                                    bool secret = false);
  std::optional<bool> boolean(const ConfigNode& node, const json::value& value);
  /// An integer in [min, max] (a number with an integral value, e.g. 80 or 80.0); `range` is how the
  /// bounds read in messages ("1..65535", "> 0").
  std::optional<int64_t> integer(const ConfigNode& node, const json::value& value, int64_t min, int64_t max,
                                 std::string_view range);
  /// One of `allowed`. A value also in `unsupported` (an OpenClaw value Talon does not implement) is a
  /// kValue error "... is not supported by Talon yet (supported: ...)".
  std::optional<std::string> enumeration(const ConfigNode& node, const json::value& value,
                                         std::span<const std::string_view> allowed,
                                         std::span<const std::string_view> unsupported = {});
  /// An array of strings.
  std::optional<std::vector<std::string>> stringArray(const ConfigNode& node, const json::value& value);
  /// An object whose values are strings (e.g. headers without secrets).
  std::optional<std::map<std::string, std::string>> stringMap(const ConfigNode& node, const json::value& value);
  /// A SecretInput: a string (after `${VAR}` substitution; a `"${NAME}"` left by a missing variable and
  /// the `"$NAME"` shorthand are env refs) or `{source, provider, id}`. An env ref is resolved here; a
  /// "file", "exec" or "store" ref is checked against its source's id grammar (OpenClaw's secretref
  /// contract) and returned in `ref` for security/secret_resolver.h. An unset env var is a kEnv warning ("Missing env
  /// var ... - feature using this value will be unavailable", OpenClaw's wording) and leaves `unavailable` set; whether
  /// that is fatal is the caller's decision.
  SecretInput secret(const ConfigNode& node, const json::value& value);

  // --- message helpers ----------------------------------------------------------------------------

  /// The value as messages show it: strings JSON-quoted (cut at 60 characters), numbers as JavaScript
  /// prints them, "an object", "an array"; with `secret` only the type ("a string").
  static std::string describe(const json::value& value, bool secret = false);
  /// JSON-quoted.
  static std::string quoted(std::string_view s);
  /// `"a", "b"`.
  static std::string quotedList(std::span<const std::string_view> list);

 private:
  void add(Severity severity, const ConfigNode& node, DiagnosticCode code, std::string message);

  const SourceMap& sourceMap_;
  const Environment& env_;
  const std::set<std::string>* substitutedPaths_;
  std::size_t maxDiagnostics_;
  std::vector<Diagnostic> diagnostics_;
  std::size_t omittedErrors_ = 0;
  std::size_t omittedWarnings_ = 0;
  bool recordedError_ = false;
};

}  // namespace talon::config
