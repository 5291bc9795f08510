#pragma once
// The channel runtime (docs/channels.md): at gateway start it creates one Channel per enabled account of
// every configured channel (`channels.<provider>.accounts.<accountId>`, or one implicit "default" account
// from the channel-level settings), starts them, retries a start that could not reach the network, and
// reconciles each account's health — transport, application and functional dimensions, with muted
// detection — into the HealthRegistry, the MetricsRegistry and the EventBus.
//
// Self-recovery (docs/channels.md "Recovery"): an account that stays unhealthy (transport down,
// unauthenticated, stuck starting, or muted) for `recovery.graceSeconds` gets bounded recovery attempts
// at the reconciliation ticks — Channel::restart (or a fresh start of an account that is not running),
// then Channel::probe to re-verify it. After `recovery.maxAttempts` failed attempts the account is
// escalated: an alert through the AlertRouter under its health component ("channel:irc/default"); when
// it is healthy again (a muted one: when traffic arrives) a resolved message follows. Every attempt is
// counted (AccountStatus::recoveryAttempts, talon_channel_recovery_attempts_total, the health record
// dimension "recovery").
//
// Lifecycle (docs/channels.md "Lifecycle"): startAccount / stopAccount / logoutAccount serve OpenClaw's
// channels.start / channels.stop / channels.logout. An account stopped by the operator shows as "stopped"
// (not failed, not muted: no recovery, no status issue) and stays stopped across config reloads until it is
// started again. Every start after a stop runs a fresh adapter instance (Channel::start is called once per
// instance). applyConfig() is the live reload of `channels.*`: accounts added start, removed ones stop,
// changed ones restart; the others keep their connection.
//
// Channel ids: every account runs under "<provider>:<accountId>" in the ChannelSet and on the inbound
// path (InboundRouter's findChannel); "<provider>" alone names the channel's default account (see
// ChannelSet::find).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "config/config_model.h"
#include "gateway/channels/channel.h"
#include "gateway/channels/channel_registry.h"
#include "gateway/channels/channel_set.h"
#include "gateway/channels/reconnect_backoff.h"
#include "gateway/event_bus.h"
#include "gateway/executors.h"
#include "gateway/health/alert_router.h"
#include "gateway/health/health_registry.h"
#include "gateway/health/metrics_registry.h"

namespace talon::gateway::channels {

/// The state of one health dimension of a channel account.
enum class DimensionHealth { kHealthy, kDegraded, kUnhealthy, kUnknown };

/// "healthy" | "degraded" | "unhealthy" | "unknown".
std::string_view dimensionHealthName(DimensionHealth state);
/// The value of talon_channel_health_status for `state`: 1 healthy, 0.5 degraded, 0 unhealthy, -1 unknown.
double dimensionHealthValue(DimensionHealth state);

/// The three dimensions of an account's health, and what the operator should do about them.
struct AccountHealth {
  DimensionHealth transport = DimensionHealth::kUnknown;    // the connection (ChannelHealth::state)
  DimensionHealth application = DimensionHealth::kUnknown;  // the network accepted us (authenticated)
  DimensionHealth functional = DimensionHealth::kUnknown;   // traffic arrives (not muted)
  /// The transport is up but no inbound traffic arrived within gateway.channelHealth.staleEventThresholdSeconds.
  bool muted = false;
  /// OpenClaw's `healthState` word: "healthy", "starting", "muted", "unauthenticated", "disconnected",
  /// "not-running", "disabled".
  std::string healthState = "not-running";
  /// When the account stopped being healthy (ms since epoch); 0 while it is healthy.
  int64_t degradedSinceMs = 0;
  /// One line telling the operator what to do; empty while healthy.
  std::string suggestedAction;

  bool operator==(const AccountHealth&) const = default;
};

/// The result of Channel::probe for one account.
struct ProbeResult {
  bool ok = false;
  std::string error;  // empty when ok
  int64_t elapsedMs = 0;
  int64_t atMs = 0;  // when the probe finished, ms since epoch
};

/// One account as the runtime sees it (for `channels.status`, `health` and the CLI).
struct AccountStatus {
  std::string channelId;  // "<provider>:<accountId>"
  std::string provider;
  std::string accountId;
  std::string name;             // the `name` setting; may be empty
  bool enabled = true;          // not switched off by `enabled: false`
  bool configured = true;       // its settings produced a channel (no unreadable secret, factory accepted them)
  bool running = false;         // start() succeeded and the account was not stopped since
  bool isDefault = false;       // the channel's default account
  std::string lastError;        // why it is not running / the last start failure; empty when none
  int64_t lastErrorAtMs = 0;    // when lastError was recorded, ms since epoch; 0 = no error
  int64_t lastStartAtMs = 0;    // the last start attempt, ms since epoch; 0 = never
  int64_t startRetries = 0;     // start attempts after a kUnavailable failure
  ChannelHealth channel;        // the adapter's own snapshot (default-constructed when not configured)
  int64_t lastInboundAtMs = 0;  // the latest of the adapter's and the runtime's observation; 0 = never
  int64_t reconnects = 0;       // ChannelHealth::reconnects + startRetries
  AccountHealth health;
  std::optional<ProbeResult> lastProbe;
  /// Recovery attempts since the account was last verified healthy.
  int64_t recoveryAttempts = 0;
  /// The account was escalated to the alert targets and has not recovered since.
  bool escalated = false;
  /// Stopped by the operator (channels.stop / channels.logout); stays stopped until channels.start.
  bool stopped = false;
};

/// What channels.start did for one account (OpenClaw 2026.9.6 server-methods/channels.ts
/// startChannelAccount and ChannelAccountStartOutcome).
struct AccountStartResult {
  std::string provider;
  std::string accountId;
  /// The account runs now (OpenClaw's `started`).
  bool started = false;
  /// OpenClaw's outcome: "handed-off" (a start was made) | "retry" (reason "task-owned": it was running
  /// already) | "skipped" (reason "disabled", "secret-unavailable" or "unconfigured").
  std::string status;
  std::string reason;  // empty for "handed-off"
  /// It was running before the call: nothing was done (Talon's field, next to OpenClaw's "task-owned").
  bool alreadyRunning = false;
  /// Why it is not running after a start that will be retried (the network was unreachable); empty else.
  std::string lastError;
};

/// What channels.stop did for one account (OpenClaw's {channel, accountId, stopped}).
struct AccountStopResult {
  std::string provider;
  std::string accountId;
  bool stopped = true;
  /// It was stopped by the operator already: nothing was done.
  bool alreadyStopped = false;
};

/// What channels.logout did for one account (OpenClaw's {channel, accountId, cleared, loggedOut}).
struct AccountLogoutResult {
  std::string provider;
  std::string accountId;
  /// The account's session state was discarded: the adapter instance, with what it held in memory
  /// (Telegram's getUpdates offset, IRC's and MQTT's connection state), is dropped and a fresh one is
  /// made on the next start. Talon stores no channel session on disk, and credentials stay
  /// in the config.
  bool cleared = false;
  bool loggedOut = false;
};

/// What one live config reload did to the channel accounts (channel ids "<provider>:<accountId>").
struct ChannelReloadReport {
  std::vector<std::string> started;    // added accounts (started unless disabled)
  std::vector<std::string> stopped;    // removed accounts
  std::vector<std::string> restarted;  // accounts whose settings changed
  std::vector<std::string> unchanged;  // accounts that kept their connection
  /// Some account was started, stopped or restarted.
  bool changed() const { return !started.empty() || !stopped.empty() || !restarted.empty(); }
  /// "started a, b; stopped c; restarted d; unchanged e" (the parts that are not empty).
  std::string summary() const;
};

/// Self-recovery (from `gateway.channelHealth.recovery`).
struct ChannelRecoveryOptions {
  bool enabled = true;
  /// How long an account is unhealthy before the first attempt.
  std::chrono::milliseconds grace{30000};
  /// Failed attempts before escalation; 0 escalates once the grace period is over.
  int64_t maxAttempts = 2;
  /// How long the re-verification (Channel::probe) of one attempt may take.
  std::chrono::milliseconds probeTimeout{10000};
};

/// Options of the runtime (from `gateway.channelHealth`, docs/channels.md).
struct ChannelManagerOptions {
  /// How often every account is reconciled.
  std::chrono::milliseconds checkInterval{30000};
  /// Muted after this long without inbound traffic while the transport is up; 0 turns the check off.
  std::chrono::milliseconds staleEventThreshold{1800000};
  /// Pacing of start() retries after kUnavailable.
  ReconnectBackoff::Options startBackoff;
  ChannelRecoveryOptions recovery;

  /// The options `config` asks for.
  static ChannelManagerOptions fromConfig(const config::GatewayConfig& config);
};

/// What the runtime uses; every referenced object outlives the manager.
struct ChannelManagerDeps {
  const config::ChannelsConfig& config;
  const ChannelRegistry& registry;
  ChannelSet& channels;  // filled by create()
  health::HealthRegistry& healthRecords;
  health::MetricsRegistry& metrics;
  EventBus& bus;
  Executors executors;
  ClockPtr clock;
  /// The gateway's io_context, handed to adapters that hold sockets (ChannelContext::io); may be null in
  /// tests without network adapters.
  boost::asio::io_context* io = nullptr;
};

/// Thread rules: create(), start() and stop() are called once each, in that order, by the gateway;
/// status(), reconcile(), probe(), the account lifecycle calls and applyConfig() may be called from any
/// thread; inbound messages and timers arrive on any thread. One mutex guards the accounts; it is never
/// held while a channel, the health registry or the bus is called (a second one only serialises
/// evaluations, a third lifecycle changes).
class ChannelManager {
 public:
  /// Creates a Channel for every enabled account of every configured channel and adds it to
  /// `deps.channels` under "<provider>:<accountId>". An account with an unreadable secret
  /// (ChannelSettings::unavailable) or whose factory fails is not created: it is logged and kept, with its
  /// error, in status() and its health record; the other accounts are created. Registers the metrics
  /// (kChannelRuntimeMetrics: talon_channel_health_status, talon_channel_reconnects_total,
  /// talon_channel_connected, talon_channel_recovery_attempts_total{outcome="recovered"|"failed"}). Errors: as
  /// MetricsRegistry::add; kConfigInvalid for a configured channel without a factory (config validation refuses those,
  /// so this is a programmer error surfaced).
  static Result<std::unique_ptr<ChannelManager>> create(ChannelManagerDeps deps, ChannelManagerOptions options);
  ~ChannelManager();
  ChannelManager(const ChannelManager&) = delete;
  ChannelManager& operator=(const ChannelManager&) = delete;

  /// Starts every created account, delivering its inbound messages to `sink` (which outlives the
  /// manager) under its channel id; a start that fails with kUnavailable is retried with ReconnectBackoff
  /// (each retry counted in `reconnects`), any other failure is logged and left for the operator. Arms
  /// the reconciliation timer.
  void start(ChannelSink& sink);
  /// Where escalations go (health/alert_router.h); null (the default) logs them only. Call before start();
  /// `alerts` outlives the manager.
  void setAlertRouter(health::AlertRouter* alerts);
  /// Cancels the timers and stops every channel. Idempotent.
  void stop();
  /// One reconciliation pass over every account now (the timer runs it every checkInterval): reads each
  /// channel's health, updates the health records (component "channel:<provider>/<accountId>",
  /// dimensions "transport", "application", "functional"), the metrics, and on each change of an
  /// account's AccountHealth logs it and publishes a `channel.health.degraded` event; then takes the next
  /// recovery step of each unhealthy account (an attempt, or the escalation) and resolves the escalation
  /// of each recovered one.
  void reconcile();
  /// Every configured account, in (provider, accountId) order.
  std::vector<AccountStatus> status() const;

  /// channels.start: starts the account `accountId` of `provider` (nullopt or empty: the channel's default
  /// account) and clears its operator stop. A running account is left alone (alreadyRunning, outcome
  /// "retry"/"task-owned"); a disabled or unconfigured one is skipped. A start that cannot reach the
  /// network is retried as at gateway start (started false, lastError set). Errors: kInvalidArgument ("unknown
  /// channel: <id>", OpenClaw's INVALID_REQUEST) for a channel or account that is not configured; kUnavailable when the
  /// adapter refused to start (its message); kFailedPrecondition after stop(). Blocks while the adapter starts: call it
  /// off the I/O threads.
  Result<AccountStartResult> startAccount(std::string_view provider, std::optional<std::string_view> accountId);
  /// channels.stop: stops the account and marks it stopped by the operator (healthState "stopped"); it
  /// stays stopped across reloads until startAccount. Idempotent (alreadyStopped). Errors: kInvalidArgument as
  /// startAccount.
  Result<AccountStopResult> stopAccount(std::string_view provider, std::optional<std::string_view> accountId);
  /// channels.logout: stopAccount, then discards the adapter instance with its in-memory session state
  /// (AccountLogoutResult::cleared). Errors: kInvalidArgument as startAccount.
  Result<AccountLogoutResult> logoutAccount(std::string_view provider, std::optional<std::string_view> accountId);

  /// Live reload of `channels.*` (docs/config.md "Reload"): compares each account's settings in `next`
  /// with the running ones — added accounts are created and started, removed ones stopped and their
  /// health records removed, changed ones replaced by a fresh adapter and started (only those); an
  /// operator stop is kept. A secret ref that is new or changed cannot be resolved here (refs are resolved
  /// at gateway start): that account is kept with a config error naming the key. Logs every action and sets
  /// the health record ("channels", "reload"). Call after start(), off the I/O threads.
  ChannelReloadReport applyConfig(const config::ChannelsConfig& next);
  /// Probes every running account (of `provider` only, when not empty) with Channel::probe; `done` runs
  /// once, on any thread, when all answered or `timeout` passed (a probe still out then counts as failed
  /// with "probe timed out"). Results are kept as each account's lastProbe.
  void probe(std::string provider, std::chrono::milliseconds timeout, std::function<void()> done);

 private:
  struct Account;
  struct AccountSpec;
  class AccountSink;
  ChannelManager(ChannelManagerDeps deps, ChannelManagerOptions options);
  /// The accounts `config` asks for. Errors: kConfigInvalid for a channel without an adapter.
  Result<std::vector<AccountSpec>> planAccounts(const config::ChannelsConfig& config) const;
  /// Creates the account of `spec` (its adapter too, unless disabled or misconfigured) and adds its
  /// channel to the ChannelSet; `previous` (the account it replaces, may be null) lends the resolved values
  /// of unchanged secret refs.
  std::unique_ptr<Account> makeAccount(AccountSpec spec, const Account* previous);
  /// The running (not retired) accounts; pointers stay valid for the manager's lifetime.
  std::vector<Account*> liveAccounts() const;
  /// The live account `accountId` of `provider` (empty: its default). Errors: kInvalidArgument.
  Result<Account*> findAccount(std::string_view provider, std::optional<std::string_view> accountId) const;
  /// Takes the account out of service for good (reload): stops its channel, removes it from the
  /// ChannelSet and its health records. Call with lifecycleMu_ held.
  void retire(Account& account, bool removeRecords);
  /// Stops the account's channel and marks it stopped by the operator. Call with lifecycleMu_ held.
  bool stopByOperator(Account& account);
  /// Replaces a used (started once) adapter of `account` by a fresh one. Call with lifecycleMu_ held.
  Status freshChannel(Account& account);
  void attemptStart(Account& account);
  void scheduleReconcile();
  /// Recomputes one account's health; applies the side effects outside the lock.
  void evaluate(Account& account);
  void onInbound(Account& account);
  /// The next recovery step of one account (after evaluate()); see the header comment.
  void recover(Account& account);
  /// Restarts (or starts) the account and probes it; the probe's outcome goes to onRecoveryProbe.
  void attemptRecovery(Account& account, int64_t attempt);
  void onRecoveryProbe(Account& account, Status outcome);
  /// Sends the account's escalation alert (outside the locks).
  void escalate(Account& account);
  /// Sets the "recovery" health record of the account.
  void reportRecovery(Account& account, health::HealthState state, std::string detail);

  ChannelManagerDeps deps_;
  ChannelManagerOptions options_;
  health::MetricFamily* healthStatus_ = nullptr;
  health::MetricFamily* reconnectsTotal_ = nullptr;
  health::MetricFamily* connected_ = nullptr;
  health::MetricFamily* recoveryAttempts_ = nullptr;
  health::AlertRouter* alerts_ = nullptr;
  std::mutex evalMu_;  // serialises evaluate(); taken before mu_, never inside it
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Account>> accounts_;
  /// Accounts replaced or removed by a reload: kept (never used again) because timers and sinks hold
  /// references to them.
  std::vector<std::unique_ptr<Account>> retired_;
  /// Serialises lifecycle changes (operator start/stop/logout, reload, a recovery restart); taken before
  /// evalMu_ and mu_, never while they are held.
  std::mutex lifecycleMu_;
  ChannelSink* sink_ = nullptr;
  bool stopped_ = false;
  TimerHandlePtr reconcileTimer_;
};

}  // namespace talon::gateway::channels
