#include "config/diagnostic.h"

#include <algorithm>

namespace talon::config {

std::string_view diagnosticCodeName(DiagnosticCode code) {
  switch (code) {
    case DiagnosticCode::kUnknownKey:
      return "unknown_key";
    case DiagnosticCode::kUnsupportedKey:
      return "unsupported_key";
    case DiagnosticCode::kType:
      return "type";
    case DiagnosticCode::kValue:
      return "value";
    case DiagnosticCode::kInclude:
      return "include";
    case DiagnosticCode::kParse:
      return "parse";
    case DiagnosticCode::kEnv:
      return "env";
  }
  return "value";
}

std::string_view severityName(Severity severity) { return severity == Severity::kError ? "error" : "warning"; }

std::string Diagnostic::toString() const {
  std::string out;
  if (location.known()) {
    out += location.toString();
    out += ": ";
  } else if (!location.file.empty()) {
    out += location.file;
    out += ": ";
  }
  out += displayPath(path);
  out += ": ";
  out += message;
  return out;
}

json::object Diagnostic::toJson() const {
  json::object o;
  o["severity"] = severityName(severity);
  o["code"] = diagnosticCodeName(code);
  o["path"] = displayPath(path);
  if (!location.file.empty()) o["file"] = location.file;
  if (location.known()) {
    o["line"] = location.line;
    o["column"] = location.column;
  }
  o["message"] = message;
  return o;
}

json::array diagnosticsToJson(const std::vector<Diagnostic>& diagnostics) {
  json::array a;
  a.reserve(diagnostics.size());
  for (const auto& d : diagnostics) a.push_back(d.toJson());
  return a;
}

bool hasErrors(const std::vector<Diagnostic>& diagnostics) {
  return std::any_of(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& d) { return d.isError(); });
}

}  // namespace talon::config
