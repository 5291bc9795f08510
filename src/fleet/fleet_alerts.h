#pragma once
// Fleet alerts (docs/fleet.md "Alerts"): where `talon fleet serve` sends what needs an operator — a
// gateway that drifted, a backup that fails its integrity check, a scheduled backup that failed — and when
// each is resolved. The inventory's `alerts.targets` lists signed webhooks; each alert is one JSON POST in
// the gateway's alert format (docs/alerts.md: `{type: alert.firing | alert.resolved, key, severity, title,
// text, fields, ts}`), signed with Talon's webhook signature (security/webhook_signature.h,
// docs/webhooks.md "Signatures"), retried on network errors and 5xx.
//
// Threads: FleetAlerts is used from serve's one loop thread; send() blocks (up to the retries).
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/json.h"
#include "config/diagnostic.h"
#include "config/located_value.h"

namespace talon::fleet {

/// One webhook target (alerts.targets[]).
struct FleetAlertTarget {
  /// `id`, default "webhook-<index>".
  std::string id;
  std::string url;
  /// The environment variable holding the signing secret ("${VAR}" or an env SecretRef's id).
  std::string secretVariable;
  config::SourceLocation location;
};

/// The inventory's `alerts` section.
struct FleetAlertSettings {
  std::vector<FleetAlertTarget> targets;
};

/// Reads the `alerts` section (the schema checked kinds and types); adds errors for a URL that is not
/// http(s), a secret that is not "${VAR}" or an env SecretRef, and duplicate ids.
FleetAlertSettings readFleetAlertSettings(const config::LocatedValue& section,
                                          std::vector<config::Diagnostic>& diagnostics);

/// One alert, in the gateway's alert format.
struct FleetAlert {
  /// "alert.firing" or "alert.resolved".
  std::string type = "alert.firing";
  /// The incident: "fleet:drift/<gateway>", "fleet:backup-integrity/<id>/<gateway>", "fleet:backup-schedule".
  std::string key;
  /// "critical" | "warning".
  std::string severity = "critical";
  std::string title;
  std::string text;
  std::map<std::string, std::string> fields;
  /// When it was raised, ms since the Unix epoch.
  int64_t ts = 0;
  json::object toJson() const;
};

/// How one send to one target went.
struct FleetAlertDelivery {
  std::string target;
  bool delivered = false;
  int attempts = 0;
  /// The last HTTP status (0: no answer).
  int status = 0;
  std::string error;
};

/// Sends alerts to the targets and remembers which incidents are open, so each is sent once when it
/// fires and once when it resolves.
class FleetAlerts {
 public:
  /// How a target's secret is read (the process environment in serve).
  using EnvironmentLookup = std::function<std::optional<std::string>(const std::string&)>;
  /// `sleep` waits between attempts (tests pass a no-op). `attempts` ≥ 1 per send.
  FleetAlerts(FleetAlertSettings settings, EnvironmentLookup env, std::function<void(std::chrono::milliseconds)> sleep,
              int attempts = 3);

  /// Raises incident `alert.key`: sends it (type alert.firing) when it was not open, and opens it. Returns
  /// the deliveries (empty when it was open already or there is no target).
  std::vector<FleetAlertDelivery> fire(FleetAlert alert);
  /// Resolves incident `key` when it is open: sends an alert.resolved with `text` and closes it.
  std::vector<FleetAlertDelivery> resolve(const std::string& key, const std::string& title, const std::string& text,
                                          int64_t nowMs);
  /// The open incidents' keys.
  const std::set<std::string>& open() const { return open_; }
  /// Replaces the targets (after a reload of the inventory); open incidents stay open.
  void replaceSettings(FleetAlertSettings settings) { settings_ = std::move(settings); }
  bool hasTargets() const { return !settings_.targets.empty(); }

  /// Sends `alert` to every target: POST with Content-Type application/json, X-Talon-Delivery (one id for
  /// every attempt), X-Talon-Timestamp and X-Talon-Signature (re-signed per attempt); retried on network
  /// errors and 5xx. A target whose secret is not set fails without sending (never unsigned).
  std::vector<FleetAlertDelivery> send(const FleetAlert& alert);

 private:
  FleetAlertSettings settings_;
  EnvironmentLookup env_;
  std::function<void(std::chrono::milliseconds)> sleep_;
  int attempts_;
  std::set<std::string> open_;
};

}  // namespace talon::fleet
