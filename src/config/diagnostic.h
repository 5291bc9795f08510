#pragma once
// One finding about a config file (an error or a warning), as `talon config validate` prints it and
// as loadConfig() reports it. Plain data.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "config/source_map.h"

namespace talon::config {

enum class Severity { kError, kWarning };

/// How many diagnostics one validation keeps (and `talon config validate`, `--json` and the gateway's
/// start print); the rest are counted, not kept, so a hostile file cannot make Talon build and print
/// millions of messages.
inline constexpr std::size_t kMaxDiagnostics = 100;

enum class DiagnosticCode {
  kUnknownKey,      // "unknown_key": neither Talon nor OpenClaw knows the key
  kUnsupportedKey,  // "unsupported_key": an OpenClaw key Talon does not implement yet
  kType,            // "type": a value of the wrong JSON type
  kValue,           // "value": right type, invalid value (range, enum, pattern, reference, rule)
  kInclude,         // "include": a `$include` failed (path, confinement, cycle, depth, size, read)
  kParse,           // "parse": JSON5 syntax error (in the root file or an included one)
  kEnv,             // "env": `${VAR}` or an env secret ref that is missing or empty
};

/// The stable lower-case name ("unknown_key", "unsupported_key", "type", "value", "include", "parse",
/// "env").
std::string_view diagnosticCodeName(DiagnosticCode code);
/// "error" | "warning".
std::string_view severityName(Severity severity);

/// A finding. `path` is the config path it is about (SourceMap syntax; "" is the root, printed as
/// "<root>"); `location` points at the key (or element) in the file that holds it, which is an included
/// file when the value came from one.
struct Diagnostic {
  Severity severity = Severity::kError;
  DiagnosticCode code = DiagnosticCode::kValue;
  std::string path;
  SourceLocation location;
  std::string message;

  bool isError() const { return severity == Severity::kError; }
  /// `file:line:col: path: message` (the location part is left out when unknown).
  std::string toString() const;
  /// {"severity", "code", "path", "file", "line", "column", "message"}; `path` is "<root>" for the root,
  /// `file`/`line`/`column` are omitted when unknown.
  json::object toJson() const;
};

/// A JSON array of Diagnostic::toJson().
json::array diagnosticsToJson(const std::vector<Diagnostic>& diagnostics);
/// True when any diagnostic is an error.
bool hasErrors(const std::vector<Diagnostic>& diagnostics);

}  // namespace talon::config
