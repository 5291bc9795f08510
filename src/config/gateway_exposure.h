#pragma once
// What makes a gateway reachable beyond the machine, and how strong its shared secret must then be.
// Used by the `gateway` config section (so `talon config validate` reports what `talon gateway run`
// refuses), by the gateway at start-up and by `talon doctor` / `talon security audit`.
#include <optional>
#include <string>
#include <string_view>

#include "config/config_model.h"

namespace talon::config {

/// Shortest shared token or password accepted for a gateway bound beyond loopback: 24 characters, the
/// length under which OpenClaw's security audit reports `gateway.token_too_short` (OpenClaw 2026.9.6
/// dist/audit.nondeep.runtime-*.mjs: `token.length < 24`).
inline constexpr std::size_t kMinExposedSecretLength = 24;
/// Fewest distinct characters such a secret must have (refuses "aaaaaaaaaaaaaaaaaaaaaaaa" and
/// "abababab..."; a random hex token of 24 characters has ~15).
inline constexpr std::size_t kMinExposedSecretDistinctChars = 8;

/// True when `bind` makes the gateway listen beyond loopback: "lan", "auto", or "custom" with a
/// customBindHost that is not a loopback address (127.0.0.0/8, ::1, localhost).
bool bindsBeyondLoopback(const GatewayConfig& gateway);

/// Why `secret` must never guard a gateway, whatever its bind, or nullopt: the values OpenClaw refuses
/// at start-up (dist/known-weak-gateway-secrets-*.mjs assertGatewayAuthNotKnownWeak): "undefined",
/// "null" (a string coercion slip) and its published placeholders ("change-me-now",
/// "change-me-to-a-long-random-token", "change-me-to-a-strong-password"). The reason never contains
/// the secret. An empty secret is not judged here (it means "not configured").
std::optional<std::string> knownWeakSecretReason(std::string_view secret);

/// Why `secret` is too weak to guard a gateway bound beyond loopback, or nullopt: a known weak value
/// (knownWeakSecretReason), fewer than kMinExposedSecretLength characters, or fewer than
/// kMinExposedSecretDistinctChars distinct characters. The reason names the rule, never the secret.
std::optional<std::string> exposedSecretWeakness(std::string_view secret);

}  // namespace talon::config
