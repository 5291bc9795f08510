#pragma once
// Readers of Talon's alerting keys, called by the gateway section (sections/gateway_section.cpp):
// `gateway.alerts` (targets, cooldown, rate limit; docs/alerts.md) and `gateway.channelHealth.recovery`
// (docs/channels.md "Recovery"). Both are Talon-only: OpenClaw 2026.9.6 has neither key.
#include "base/json.h"
#include "config/config_model.h"
#include "config/config_reader.h"

namespace talon::config {

/// Reads `gateway.alerts` into `out`: every key type- and range-checked, unknown keys reported, target
/// ids unique, each target's required keys present for its kind. Secrets (`secret`, `smtp.password`)
/// are SecretInputs; a file/exec/store ref is kept for security::resolveConfigSecrets.
void readAlertsConfig(ConfigReader& r, const ConfigNode& node, const json::value& value, AlertsConfig& out);

/// Reads `gateway.channelHealth.recovery` into `out`.
void readChannelRecoveryConfig(ConfigReader& r, const ConfigNode& node, const json::value& value,
                               ChannelRecoveryConfig& out);

}  // namespace talon::config
