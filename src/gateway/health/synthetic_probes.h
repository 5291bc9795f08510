#pragma once
// Synthetic probes (docs/probes.md; config `gateway.probes`): checks the gateway runs on its own, on an
// interval, so that a provider that stopped answering or a scheduler that stopped firing is reported
// before a user or a cron job finds out.
//
//   provider  a small completion (`prompt`, at most 16 output tokens) against `model` through the
//             configured provider: ok when it answers within `timeoutSeconds`; the latency is kept.
//   cron      the scheduler runs (not disabled) and its next wake is not overdue by more than
//             `timeoutSeconds` (a wake that is late means the timer stopped firing).
//   channel   ping/expect on a channel account: "<text> <nonce>" is sent to `to` through the outbox (the
//             normal outbound path, so send failures count as they do for replies), and a reply from
//             `to` on that account containing `expect` (default: the nonce) must arrive within
//             `timeoutSeconds` of the send being asked for. The reply is consumed on the inbound path
//             (channels/inbound_interceptors.h): no agent sees it. So is a late echo of one of the
//             probe's recent nonces, so that an echo bot never talks to an agent.
//
// Each probe is the health record `probe:<name>` (dimension "result": ok | failed, with the latency or
// the error; not critical: a failed probe does not make /readyz 503 — the component's own record does
// that) and the metrics below. Each probe runs once at start, then every intervalSeconds; a probe still
// running when its next slot comes is not started twice.
//
// Thread rules: start() and stop() once each, in that order; the rest runs on the executors given.
// The dependencies outlive the probes; stop() before destroying them.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "config/config_model.h"
#include "gateway/channels/inbound_interceptors.h"
#include "gateway/channels/outbound_dispatcher.h"
#include "gateway/executors.h"
#include "gateway/health/health_registry.h"
#include "gateway/health/metrics_registry.h"
#include "gateway/providers/model_provider.h"

namespace talon::gateway::health {

class AlertRouter;

/// The probes' metrics (registered by SyntheticProbes::create). `probe` is the probe's name.
inline constexpr MetricSpec kSyntheticProbeMetrics[] = {
    {"talon_probe_runs_total",
     MetricType::kCounter,
     "Synthetic probe runs, by probe and outcome (ok, failed).",
     {"probe", "outcome"}},
    {"talon_probe_success", MetricType::kGauge, "Whether the probe's last run succeeded (1) or failed (0).", {"probe"}},
    {"talon_probe_duration_seconds", MetricType::kGauge, "How long the probe's last run took, seconds.", {"probe"}},
};

/// What a cron probe reads: whether the scheduler runs and when it next wakes (ms since the epoch; 0:
/// nothing scheduled).
struct CronProbeView {
  bool running = false;
  int64_t nextWakeAtMs = 0;
};

/// What the probes use.
struct SyntheticProbesDeps {
  std::vector<config::SyntheticProbeConfig> probes;
  /// The configured providers, by id (provider probes look theirs up here).
  std::map<std::string, ModelProviderPtr> providers;
  /// The scheduler's state for cron probes; may block on the store (called on Executors::blocking).
  /// Null: cron probes fail with "no scheduler".
  std::function<CronProbeView()> cron;
  /// Channel probes send through the outbox (to channel id "<channel>:<accountId>") and wait for their
  /// reply on the inbound path's interceptors; both are required when a channel probe is configured.
  channels::OutboundDispatcher* outbound = nullptr;
  channels::InboundInterceptors* inbound = nullptr;
  HealthRegistry* health = nullptr;
  MetricsRegistry* metrics = nullptr;
  /// gateway.alerts: a probe that failed `alertAfter` times in a row is raised as the incident
  /// "probe:<name>" (warning) and resolved by its next success. Null: not wired.
  AlertRouter* alerts = nullptr;
  /// Needs io, blocking and after.
  Executors executors;
  ClockPtr clock;
};

class SyntheticProbes {
 public:
  /// Registers the metrics. Errors: kConfigInvalid naming `gateway.probes[i].model` when a provider
  /// probe's provider is not configured; kInvalidArgument for a missing dependency (outbound and inbound
  /// when a channel probe is configured); MetricsRegistry::add's. A channel probe's channel and account
  /// are checked at config load (config_validator.cpp); an account that is not running when the probe
  /// runs fails that run.
  static Result<std::unique_ptr<SyntheticProbes>> create(SyntheticProbesDeps deps);
  ~SyntheticProbes();
  SyntheticProbes(const SyntheticProbes&) = delete;
  SyntheticProbes& operator=(const SyntheticProbes&) = delete;

  /// Registers the inbound interceptor of the channel probes, runs every probe now and arms its interval
  /// timer.
  void start();
  /// Cancels the timers and removes the inbound interceptor; a probe in flight finishes but records
  /// nothing. Idempotent.
  void stop();
  /// Runs probe `name` now (outside its schedule); false when there is no such probe or it is running.
  bool runNow(const std::string& name);

 private:
  class Impl;
  explicit SyntheticProbes(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;  // shared with the timers and calls in flight
};

}  // namespace talon::gateway::health
