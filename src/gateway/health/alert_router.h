#pragma once
// Alerts to operators (docs/alerts.md; issue 9 "Alert targets"): an incident — a channel account that
// stays down, … — is raised under a key ("channel:irc/default") and sent to every target of
// `gateway.alerts.targets`: a channel account (through the outbox, so it is durable and retried), a
// webhook (through WebhookSender: signed, retried) or an email address (SMTP through libcurl, on the
// blocking pool). When the incident closes, the targets that were told get a "resolved" message.
//
// Never silent, never a storm:
// - deduplicated per incident: one alert when it opens, repeated only after `cooldownSeconds` (or when
//   its severity rises); a suppressed repeat counts talon_alerts_total{outcome="deduplicated"};
// - rate-limited per target by a token bucket (`rateLimit.burst`, one token back every
//   `rateLimit.refillSeconds`); a dropped alert counts talon_alerts_total{outcome="rate_limited"}, is
//   logged and turns the target's health record degraded;
// - every send outcome is a metric (talon_alerts_total{target_kind,outcome="sent"|"failed"}), a log line,
//   an audit event ("alert.delivery") and the target's health record (component "alerts/<id>",
//   dimension "delivery": unknown until the first send, then ok or failed with the reason).
//
// Thread rules: every public member may be called from any thread. raise()/resolve() never block:
// channel and webhook sends are asynchronous, email runs on `executors.blocking`. Outcomes are recorded
// on `executors.io`; those that arrive after the router is destroyed are dropped (the sends were logged
// when they started).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "config/config_model.h"
#include "gateway/executors.h"
#include "gateway/health/health_registry.h"
#include "gateway/health/metrics_registry.h"

namespace talon::security {
class AuditSink;
}  // namespace talon::security
namespace talon::gateway::channels {
class OutboundDispatcher;
}  // namespace talon::gateway::channels
namespace talon::gateway::automation {
class WebhookSender;
}  // namespace talon::gateway::automation

namespace talon::gateway::health {

/// How bad an incident is; a repeat with a higher severity is sent even within the cooldown.
enum class AlertSeverity { kInfo, kWarning, kCritical };

/// "info" | "warning" | "critical".
std::string_view alertSeverityName(AlertSeverity severity);

/// One alert.
struct Alert {
  /// The incident's key: the same key raised again is the same incident (e.g. "channel:irc/default").
  std::string key;
  AlertSeverity severity = AlertSeverity::kWarning;
  /// One line (the email subject, the first line of a channel message).
  std::string title;
  /// What happened and what to do; may span lines.
  std::string text;
  /// Extra facts (name, value), in order: shown as "name: value" lines, sent as an object to webhooks.
  std::vector<std::pair<std::string, std::string>> fields;
};

/// One configured target, for `talon health --deep` and tests.
struct AlertTargetStatus {
  std::string id;
  std::string kind;          // "channel" | "webhook" | "email"
  std::string destination;   // "irc:default → channel:#ops", the webhook URL without query, the address
  int64_t sent = 0;          // alerts and resolved messages delivered
  int64_t failed = 0;        // sends that failed for good
  int64_t rateLimited = 0;   // dropped by the token bucket
  std::string lastError;     // the last failure; empty when none
  int64_t lastSentAtMs = 0;  // ms since epoch; 0 = never
};

/// What the router uses. `outbound` and `webhooks` may be null (a target needing one then fails each
/// send, counted and reported); every other reference outlives the router.
struct AlertRouterDeps {
  config::AlertsConfig config;
  channels::OutboundDispatcher* outbound = nullptr;
  automation::WebhookSender* webhooks = nullptr;
  HealthRegistry& healthRecords;
  MetricsRegistry& metrics;
  /// Receives "alert.delivery" events (no secret values); may be null.
  security::AuditSink* audit = nullptr;
  Executors executors;
  ClockPtr clock;
};

/// The metrics of the router (registered by create()).
inline constexpr MetricSpec kAlertRouterMetrics[] = {
    {"talon_alerts_total",
     MetricType::kCounter,
     "Alerts and resolved messages per target, by target kind (channel, webhook, email) and outcome (sent, "
     "failed, rate_limited, deduplicated).",
     {"target_kind", "outcome"}},
};

class AlertRouter {
 public:
  /// Registers kAlertRouterMetrics and one health record per target (unknown, or failed when its secret
  /// could not be read). Errors: as MetricsRegistry::add; kConfigInvalid for a target the config
  /// validation should have refused (an unknown kind).
  static Result<std::unique_ptr<AlertRouter>> create(AlertRouterDeps deps);
  ~AlertRouter();
  AlertRouter(const AlertRouter&) = delete;
  AlertRouter& operator=(const AlertRouter&) = delete;

  /// Opens the incident `alert.key`, or repeats it: sent to every target (each through its token bucket)
  /// when the incident is new, when cooldownSeconds passed since it was last sent, or when the severity
  /// is higher than last sent; otherwise counted as deduplicated. Without targets, logged only.
  void raise(Alert alert);
  /// Closes the incident `key`: the targets that were sent its alert get a "resolved" message with
  /// `text`. A key that is not open does nothing.
  void resolve(const std::string& key, std::string text);
  /// Keys of the open incidents, sorted.
  std::vector<std::string> openIncidents() const;
  /// Every target, in config order.
  std::vector<AlertTargetStatus> targets() const;

  struct State;

 private:
  explicit AlertRouter(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace talon::gateway::health
