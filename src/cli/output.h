#pragma once
// Printing for CLI commands: aligned tables for people, JSON for scripts (--json), errors on stderr.
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"

namespace talon::cli {

/// Prints rows under headers, columns padded to their widest cell.
void printTable(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows);
/// Pretty JSON on stdout.
void printJson(const json::value& v);
/// "error: <public message>" on stderr (plus the internal message when TALON_DEBUG is set); returns
/// the exit code for the error (base/error.h exitCode).
int reportError(const Error& e);
/// "12s ago", "3m ago", ... for a duration in ms.
std::string formatAge(int64_t ms);

}  // namespace talon::cli
