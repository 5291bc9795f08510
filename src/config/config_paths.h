#pragma once
// Where Talon's state and config live. Pure functions of an injected Environment (plus the user
// database for a missing HOME); thread-safe.
//
// Rules (Talon's counterparts of OpenClaw's OPENCLAW_STATE_DIR / OPENCLAW_CONFIG_PATH, docs/config.md):
// - state dir: TALON_STATE_DIR, else ~/.talon
// - config file: the explicit `--config` value, else TALON_CONFIG_PATH, else <stateDir>/talon.json
// Values are trimmed; a leading `~` is expanded with the home directory; relative paths are made
// absolute against the current directory; empty values count as unset.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "config/environment.h"

namespace talon::config {

inline constexpr std::string_view kConfigFileName = "talon.json";
inline constexpr std::string_view kStateDirName = ".talon";
inline constexpr std::string_view kStateDirEnv = "TALON_STATE_DIR";
inline constexpr std::string_view kConfigPathEnv = "TALON_CONFIG_PATH";
/// Extra `$include` roots (':'-separated); OpenClaw's OPENCLAW_INCLUDE_ROOTS is accepted too.
inline constexpr std::string_view kIncludeRootsEnv = "TALON_INCLUDE_ROOTS";
inline constexpr std::string_view kOpenClawIncludeRootsEnv = "OPENCLAW_INCLUDE_ROOTS";

/// The home directory: HOME, else the user database entry of the current user, else "/".
std::string homeDir(const Environment& env);

/// `value` with a leading `~` expanded and made absolute, normalized. Empty stays empty.
std::filesystem::path resolveUserPath(std::string_view value, const Environment& env);

/// TALON_STATE_DIR, else ~/.talon.
std::filesystem::path resolveStateDir(const Environment& env);

/// `explicitPath` (the `--config` value), else TALON_CONFIG_PATH, else <stateDir>/talon.json.
std::filesystem::path resolveConfigPath(const Environment& env,
                                        const std::optional<std::filesystem::path>& explicitPath = std::nullopt);

}  // namespace talon::config
