#include "config/config_writer.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <ctime>
#include <system_error>

#include "base/file_io.h"
#include "config/config_loader.h"
#include "config/config_redaction.h"

namespace talon::config {

namespace {

namespace fs = std::filesystem;

std::optional<std::string> gatewayMode(const json::value& effective) {
  const auto* root = effective.if_object();
  const auto* gateway = root != nullptr ? root->if_contains("gateway") : nullptr;
  const auto* go = gateway != nullptr ? gateway->if_object() : nullptr;
  const auto* mode = go != nullptr ? go->if_contains("mode") : nullptr;
  if (mode == nullptr || !mode->is_string() || mode->as_string().empty()) return std::nullopt;
  return std::string(mode->as_string());
}

// OpenClaw formatConfigArtifactTimestamp: the ISO time with ':' and '.' replaced by '-'.
std::string artifactTimestamp(int64_t nowMs) {
  std::time_t secs = static_cast<std::time_t>(nowMs / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}-{:02}-{:02}-{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(nowMs % 1000));
}

Status copyInto(const fs::path& from, const fs::path& to) {
  auto text = readFile(from, kMaxConfigFileBytes);
  if (!text) return fail(text.error());
  return writeFileAtomic(to, *text, 0600);
}

// Shifts .bak.3 -> .bak.4, ..., .bak -> .bak.1, then copies the current file to .bak.
Status rotateBackups(const fs::path& path) {
  std::error_code ec;
  for (int slot = kConfigBackupSlots - 1; slot >= 1; --slot) {
    fs::path older = configBackupPath(path, slot - 1);
    if (!fs::exists(older, ec)) continue;
    fs::rename(older, configBackupPath(path, slot), ec);
    if (ec) return fail(ErrorCode::kIo, fmt::format("cannot rotate {}: {}", older.string(), ec.message()));
  }
  return copyInto(path, configBackupPath(path, 0));
}

}  // namespace

fs::path configBackupPath(const fs::path& path, int slot) {
  return slot == 0 ? fs::path(path.string() + ".bak") : fs::path(fmt::format("{}.bak.{}", path.string(), slot));
}

fs::path lastKnownGoodPath(const fs::path& path) { return fs::path(path.string() + ".last-good"); }

std::vector<std::string> clobberReasons(const ConfigWriteRequest& request, std::optional<std::size_t> currentBytes) {
  std::vector<std::string> reasons;
  if (!currentBytes) return reasons;
  std::size_t next = request.text.size();
  if (*currentBytes >= kClobberSizeBaselineBytes && next < *currentBytes / 2) {
    reasons.push_back(fmt::format("size-drop:{}->{}", *currentBytes, next));
  }
  if (gatewayMode(request.previousEffective) && !gatewayMode(request.nextEffective)) {
    reasons.emplace_back("gateway-mode-removed");
  }
  return reasons;
}

Result<ConfigWriteOutcome> writeConfigFile(const ConfigWriteRequest& request) {
  const fs::path& path = request.path;
  std::error_code ec;
  std::optional<std::size_t> currentBytes;
  if (fs::is_regular_file(path, ec)) {
    auto size = fs::file_size(path, ec);
    if (ec) return fail(ErrorCode::kIo, fmt::format("cannot stat {}: {}", path.string(), ec.message()));
    currentBytes = static_cast<std::size_t>(size);
  }
  if (auto reasons = clobberReasons(request, currentBytes); !reasons.empty() && !request.allowDestructive) {
    fs::path rejected = path.string() + ".rejected." + artifactTimestamp(request.nowMs);
    auto saved = writeFileAtomic(rejected, request.text, 0600);
    std::string save =
        saved ? fmt::format("Rejected payload saved to {}.", rejected.string())
              : fmt::format("Rejected payload could not be saved to {}: {}.", rejected.string(), saved.error().message);
    std::string message =
        fmt::format("Config write rejected: {} ({}). {}", path.string(), fmt::join(reasons, ", "), save);
    Error e(ErrorCode::kFailedPrecondition, message, message);
    e.details["code"] = "CONFIG_WRITE_REJECTED";
    json::array r;
    for (const auto& x : reasons) r.emplace_back(x);
    e.details["reasons"] = std::move(r);
    return fail(std::move(e));
  }
  ConfigWriteOutcome outcome;
  if (currentBytes) {
    if (auto s = rotateBackups(path); !s) return fail(s.error());
    outcome.replaced = true;
  }
  if (auto s = writeFileAtomic(path, request.text, 0600); !s) return fail(s.error());
  return outcome;
}

Result<bool> promoteLastKnownGood(const fs::path& path) {
  auto text = readFile(path, kMaxConfigFileBytes);
  if (!text) return fail(text.error());
  for (std::string_view placeholder : {kRedactedSentinel, std::string_view("***"), std::string_view("[redacted]")}) {
    if (text->find(placeholder) != std::string::npos) return false;
  }
  if (auto s = writeFileAtomic(lastKnownGoodPath(path), *text, 0600); !s) return fail(s.error());
  return true;
}

}  // namespace talon::config
