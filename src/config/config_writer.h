#pragma once
// Writing the root config file the way OpenClaw does (dist `io.write-*.mjs`, `io.snapshot-*.mjs`;
// reference/openclaw-semantics.md §1 "Location"): atomically (base's writeFileAtomic: temp file, fsync,
// rename, fsync of the folder), after rotating a 5-slot backup ring (`<file>.bak`, `.bak.1` … `.bak.4`),
// and never as a "clobber": a write that drops the effective `gateway.mode` or shrinks a file of at least
// 512 bytes to less than half is refused, and the refused text is kept as `<file>.rejected.<timestamp>`.
// A last-known-good copy (`<file>.last-good`) is promoted separately, after the gateway accepted a config.
// Reads and writes files; callers serialize writes to one config file (LiveConfig does).
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/json.h"

namespace talon::config {

/// Backup slots kept besides the file itself: `.bak` (the newest) and `.bak.1` … `.bak.4`.
inline constexpr int kConfigBackupSlots = 5;
/// The size rule applies only to a current file of at least this many bytes (OpenClaw's 512).
inline constexpr std::size_t kClobberSizeBaselineBytes = 512;

/// `<path>.bak` for slot 0, `<path>.bak.N` for slot N (1..kConfigBackupSlots-1).
std::filesystem::path configBackupPath(const std::filesystem::path& path, int slot);
/// `<path>.last-good`.
std::filesystem::path lastKnownGoodPath(const std::filesystem::path& path);

/// One write of the root config file.
struct ConfigWriteRequest {
  std::filesystem::path path;
  /// The new content of the root file.
  std::string text;
  /// The effective configs before and after (after `$include` and `${VAR}`): the `gateway.mode` rule
  /// looks at them. `previousEffective` is null when no file exists yet.
  json::value previousEffective;
  json::value nextEffective;
  /// Skips the clobber rules (OpenClaw allowDestructiveWrite).
  bool allowDestructive = false;
  /// Wall clock for the rejected copy's name, ms since the epoch.
  int64_t nowMs = 0;
};

/// What a write did.
struct ConfigWriteOutcome {
  /// Whether there was a file before (then `<path>.bak` holds it now).
  bool replaced = false;
};

/// The reasons `request` is a clobber, OpenClaw's names: "size-drop:<old>-><new>" and
/// "gateway-mode-removed". `currentBytes` is the size of the file as it is (nullopt: no file).
std::vector<std::string> clobberReasons(const ConfigWriteRequest& request, std::optional<std::size_t> currentBytes);

/// Writes the root config file: refuses a clobber (unless allowDestructive), rotates the backup ring,
/// then writes atomically with mode 0600. Errors: kFailedPrecondition for a clobber, with OpenClaw's
/// message "Config write rejected: <path> (<reasons>). Rejected payload saved to <path>.rejected.<ts>.";
/// kIo when a backup or the file cannot be written (the file is then unchanged).
Result<ConfigWriteOutcome> writeConfigFile(const ConfigWriteRequest& request);

/// Copies the file at `path` to lastKnownGoodPath(path) (atomically, 0600), unless its text holds a
/// redaction placeholder (`__OPENCLAW_REDACTED__`, `***`, `[redacted]`): then it returns false and keeps
/// the previous copy. Errors: kIo, kNotFound.
Result<bool> promoteLastKnownGood(const std::filesystem::path& path);

}  // namespace talon::config
