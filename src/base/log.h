#pragma once
// Process logging on spdlog: human lines on stderr, JSON lines in a file (read back by `logs.tail`).
// Use spdlog's macros/functions (spdlog::info, ...) after initLogging(); all sinks are thread-safe.
#include <filesystem>
#include <optional>
#include <string>

#include "base/error.h"

namespace talon {

struct LogOptions {
  /// Minimum level: trace, debug, info, warn, error, critical, off.
  std::string level = "info";
  /// When set, JSON lines `{"time","level","message"}` are appended here (folders are created).
  std::optional<std::filesystem::path> file;
  /// Human-readable lines on stderr.
  bool toStderr = true;
};

/// Installs the default logger. Errors: kInvalidArgument for an unknown level, kIo when the file
/// cannot be opened. Call once at start-up, before other threads log.
Status initLogging(const LogOptions& options);

/// The file given to initLogging, if any.
std::optional<std::filesystem::path> logFilePath();

}  // namespace talon
