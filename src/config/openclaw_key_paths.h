#pragma once
// The key paths OpenClaw's config schema knows (`openclaw config schema`, OpenClaw 2026.9.6), generated
// into openclaw_key_paths.inc by scripts/gen-openclaw-keys.py. Used by strict validation to report a key
// OpenClaw has but Talon does not implement as "not supported by Talon yet" instead of "Unrecognized key".
// Immutable data; thread-safe.
#include <cstddef>
#include <span>
#include <string_view>

namespace talon::config {

/// True when `schemaPath` is a key path in OpenClaw's schema. Syntax: `gateway.port` (property),
/// `agents.entries.*.skills` (`*` stands for any key of a map), `bindings[].match` (`[]` for any array
/// item) — the caller writes `*` and `[]` where its concrete path has a map key or an index.
bool isOpenClawKeyPath(std::string_view schemaPath);

/// Every known path, sorted by byte value (the views are made on the first call).
std::span<const std::string_view> openClawKeyPaths();

}  // namespace talon::config
