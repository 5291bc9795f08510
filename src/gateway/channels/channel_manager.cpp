#include "gateway/channels/channel_manager.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <tuple>

namespace talon::gateway::channels {

namespace {

/// The runtime's metrics (docs/channels.md "Metrics").
constexpr health::MetricSpec kChannelRuntimeMetrics[] = {
    {"talon_channel_health_status",
     health::MetricType::kGauge,
     "Channel account health by dimension (transport, application, functional): 1 healthy, 0.5 degraded, "
     "0 unhealthy, -1 unknown.",
     {"channel", "account_id", "dimension"}},
    {"talon_channel_reconnects_total",
     health::MetricType::kCounter,
     "Reconnect and start retry attempts of a channel account.",
     {"channel", "account_id"}},
    {"talon_channel_connected",
     health::MetricType::kGauge,
     "1 while the channel account's transport is connected, else 0.",
     {"channel", "account_id"}},
    {"talon_channel_recovery_attempts_total",
     health::MetricType::kCounter,
     "Self-recovery attempts (restart + probe) of unhealthy channel accounts, by outcome (recovered, failed).",
     {"channel", "account_id", "outcome"}},
};

constexpr std::string_view kDimensions[] = {"transport", "application", "functional"};

health::HealthState recordState(DimensionHealth d) {
  switch (d) {
    case DimensionHealth::kHealthy:
      return health::HealthState::kOk;
    case DimensionHealth::kDegraded:
      return health::HealthState::kDegraded;
    case DimensionHealth::kUnhealthy:
      return health::HealthState::kFailed;
    case DimensionHealth::kUnknown:
      return health::HealthState::kUnknown;
  }
  return health::HealthState::kUnknown;
}

/// `enabled` of a settings object: true unless it is `false`.
bool enabledIn(const json::object& settings) {
  auto it = settings.find("enabled");
  return it == settings.end() || !it->value().is_bool() || it->value().get_bool();
}

std::string stringIn(const json::object& settings, std::string_view key) {
  auto it = settings.find(key);
  return it != settings.end() && it->value().is_string() ? std::string(it->value().get_string()) : std::string();
}

}  // namespace

std::string_view dimensionHealthName(DimensionHealth state) {
  switch (state) {
    case DimensionHealth::kHealthy:
      return "healthy";
    case DimensionHealth::kDegraded:
      return "degraded";
    case DimensionHealth::kUnhealthy:
      return "unhealthy";
    case DimensionHealth::kUnknown:
      return "unknown";
  }
  return "unknown";
}

double dimensionHealthValue(DimensionHealth state) {
  switch (state) {
    case DimensionHealth::kHealthy:
      return 1;
    case DimensionHealth::kDegraded:
      return 0.5;
    case DimensionHealth::kUnhealthy:
      return 0;
    case DimensionHealth::kUnknown:
      return -1;
  }
  return -1;
}

ChannelManagerOptions ChannelManagerOptions::fromConfig(const config::GatewayConfig& config) {
  ChannelManagerOptions o;
  o.checkInterval = std::chrono::seconds(config.channelHealth.checkIntervalSeconds);
  o.staleEventThreshold = std::chrono::seconds(config.channelHealth.staleEventThresholdSeconds);
  const config::ChannelRecoveryConfig& r = config.channelHealth.recovery;
  o.recovery.enabled = r.enabled;
  o.recovery.grace = std::chrono::seconds(r.graceSeconds);
  o.recovery.maxAttempts = r.maxAttempts;
  o.recovery.probeTimeout = std::chrono::seconds(r.probeTimeoutSeconds);
  return o;
}

/// What the config asks for one account (planAccounts).
struct ChannelManager::AccountSpec {
  std::string provider;
  std::string accountId;
  std::string name;
  std::string path;  // "channels.<provider>" or "channels.<provider>.accounts.<accountId>"
  bool enabled = true;
  bool isDefault = false;
  // The account's settings: the channel's overlaid by the account's own.
  json::object settings;
  std::map<std::string, std::string> unavailable;
  std::map<std::string, config::SecretRef> secretRefs;
  /// What tells a changed account from an unchanged one at reload: the settings as written (secret refs
  /// as refs, not their values).
  std::string fingerprint;
};

/// One configured account. Fields after `backoff` are guarded by the manager's mutex; the rest are set
/// by create() / makeAccount() and then only read (`channel` and `isDefault` are atomics: a start after a
/// stop replaces the adapter, a reload may move the default).
struct ChannelManager::Account {
  std::string provider;
  std::string accountId;
  std::string channelId;
  std::string name;
  std::string component;  // the health records' component: "channel:<provider>/<accountId>"
  std::string path;       // its config path
  bool enabled = true;
  std::atomic<bool> isDefault{false};
  std::atomic<Channel*> channel{nullptr};  // owned by the ChannelSet; nullptr when not created
  std::string configError;                 // why it was not created
  json::object settings;                   // what its adapters are made from
  std::map<std::string, std::string> unavailable;
  std::map<std::string, config::SecretRef> secretRefs;
  std::string fingerprint;
  std::unique_ptr<AccountSink> sink;
  health::Gauge statusGauges[3];
  health::Gauge connectedGauge;
  health::Counter reconnectsCounter;
  std::atomic<int64_t> lastInboundAtMs{0};  // seen by the runtime's sink
  std::atomic<bool> muted{false};
  ReconnectBackoff backoff;

  bool running = false;
  bool starting = false;     // a start attempt is under way
  bool manualStop = false;   // stopped by the operator (channels.stop / logout) until channels.start
  bool retired = false;      // replaced or removed by a reload: never used again
  bool channelUsed = false;  // the current adapter was started once (a new start needs a fresh one)
  std::string lastError;
  int64_t lastErrorAtMs = 0;  // when lastError was set, ms since epoch; 0 = none
  int64_t lastStartAtMs = 0;
  int64_t startRetries = 0;
  int64_t reconnectsCounted = 0;
  TimerHandlePtr retryTimer;
  AccountHealth health;
  bool evaluated = false;
  std::optional<ProbeResult> lastProbe;
  /// Self-recovery (guarded by the manager's mutex, except the counters).
  struct Recovery {
    int64_t attempts = 0;         // since the account was last verified healthy
    int64_t failed = 0;           // attempts judged failed
    bool inFlight = false;        // restarted, the probe not answered yet
    bool pending = false;         // the probe passed; judged at the next pass (healthy: recovered)
    bool escalated = false;       // the alert was raised; waiting for the account to recover
    int64_t lastAttemptAtMs = 0;  // when the last attempt started
    std::string reason;           // the healthState that started this recovery ("disconnected", "muted", ...)
    std::string lastError;        // why the last attempt failed
    uint64_t probeRound = 0;      // tells a late probe answer from the current one
    TimerHandlePtr probeTimer;
  } recovery;
  health::Counter recoveredCounter;
  health::Counter recoveryFailedCounter;

  explicit Account(const ReconnectBackoff::Options& o) : backoff(o) {}
};

/// What an account's channel delivers to: notes the traffic (the functional dimension) and forwards the
/// message to the gateway's sink under the account's channel id.
class ChannelManager::AccountSink final : public ChannelSink {
 public:
  AccountSink(ChannelManager& manager, Account& account) : manager_(manager), account_(account) {}
  void onInbound(std::string_view channelId, routing::InboundMessage message) override {
    (void)channelId;  // the adapter's own name for itself; the runtime's id is authoritative
    if (message.channel.empty()) message.channel = account_.provider;
    if (message.accountId.empty()) message.accountId = account_.accountId;
    manager_.onInbound(account_);
    ChannelSink* sink;
    {
      std::lock_guard lock(manager_.mu_);
      sink = manager_.sink_;
    }
    if (sink) sink->onInbound(account_.channelId, std::move(message));
  }

 private:
  ChannelManager& manager_;
  Account& account_;
};

ChannelManager::ChannelManager(ChannelManagerDeps deps, ChannelManagerOptions options)
    : deps_(std::move(deps)), options_(options) {}

ChannelManager::~ChannelManager() { stop(); }

Result<std::unique_ptr<ChannelManager>> ChannelManager::create(ChannelManagerDeps deps, ChannelManagerOptions options) {
  auto families = deps.metrics.add(kChannelRuntimeMetrics);
  if (!families) return fail(families.error());
  std::unique_ptr<ChannelManager> m(new ChannelManager(std::move(deps), options));
  m->healthStatus_ = (*families)[0];
  m->reconnectsTotal_ = (*families)[1];
  m->connected_ = (*families)[2];
  m->recoveryAttempts_ = (*families)[3];
  auto specs = m->planAccounts(m->deps_.config);
  if (!specs) return fail(specs.error());
  for (auto& spec : *specs) m->accounts_.push_back(m->makeAccount(std::move(spec), nullptr));
  for (auto& a : m->accounts_) {
    if (a->enabled) m->evaluate(*a);
  }
  return m;
}

Result<std::vector<ChannelManager::AccountSpec>> ChannelManager::planAccounts(
    const config::ChannelsConfig& config) const {
  const auto providers = deps_.registry.providers();
  std::vector<AccountSpec> out;
  for (const auto& channel : config.entries) {
    if (!std::binary_search(providers.begin(), providers.end(), channel.id)) {
      return fail(ErrorCode::kConfigInvalid, "channels." + channel.id + ": Talon has no adapter for this channel");
    }
    const bool channelEnabled = enabledIn(channel.settings.values);
    // Accounts: accounts.<id>, or the implicit "default" one from the channel-level settings.
    std::vector<std::string> ids;
    for (const auto& [id, s] : channel.accountSettings) ids.push_back(id);
    if (ids.empty()) ids.push_back("default");
    std::string defaultId = channel.defaultAccount;
    if (defaultId.empty()) {
      defaultId = std::find(ids.begin(), ids.end(), "default") != ids.end() ? "default" : ids.front();
    }
    for (const auto& id : ids) {
      AccountSpec a;
      a.provider = channel.id;
      a.accountId = id;
      a.isDefault = id == defaultId;
      a.settings = channel.settings.values;
      a.unavailable = channel.settings.unavailable;
      a.secretRefs = channel.settings.secretRefs;
      if (auto it = channel.accountSettings.find(id); it != channel.accountSettings.end()) {
        for (const auto& kv : it->second.values) {
          a.settings[kv.key()] = kv.value();
          a.unavailable.erase(std::string(kv.key()));
          a.secretRefs.erase(std::string(kv.key()));
        }
        for (const auto& [k, why] : it->second.unavailable) {
          a.unavailable[k] = why;
          a.secretRefs.erase(k);
        }
        for (const auto& [k, ref] : it->second.secretRefs) a.secretRefs[k] = ref;
      }
      a.name = stringIn(a.settings, "name");
      a.enabled = channelEnabled && enabledIn(a.settings);
      a.path =
          channel.accountSettings.empty() ? "channels." + channel.id : "channels." + channel.id + ".accounts." + id;
      // The fingerprint: plain values, refs as refs (their resolved values differ between a start-up load
      // and a reload, which resolves none), unreadable non-ref values by their reason.
      json::object values, refs, missing;
      for (const auto& kv : a.settings) {
        if (!a.secretRefs.contains(std::string(kv.key()))) values[kv.key()] = kv.value();
      }
      for (const auto& [k, ref] : a.secretRefs) {
        refs[k] = json::object{{"source", ref.source}, {"provider", ref.provider}, {"id", ref.id}};
      }
      for (const auto& [k, why] : a.unavailable) {
        if (!a.secretRefs.contains(k)) missing[k] = why;
      }
      a.fingerprint = json::serialize(json::object{{"enabled", a.enabled},
                                                   {"values", std::move(values)},
                                                   {"refs", std::move(refs)},
                                                   {"missing", std::move(missing)}});
      out.push_back(std::move(a));
    }
  }
  return out;
}

std::unique_ptr<ChannelManager::Account> ChannelManager::makeAccount(AccountSpec spec, const Account* previous) {
  auto a = std::make_unique<Account>(options_.startBackoff);
  a->provider = spec.provider;
  a->accountId = spec.accountId;
  a->channelId = spec.provider + ":" + spec.accountId;
  a->component = "channel:" + spec.provider + "/" + spec.accountId;
  a->path = spec.path;
  a->name = spec.name;
  a->enabled = spec.enabled;
  a->isDefault = spec.isDefault;
  a->fingerprint = std::move(spec.fingerprint);
  a->secretRefs = std::move(spec.secretRefs);
  a->settings = std::move(spec.settings);
  a->unavailable = std::move(spec.unavailable);
  // Secret refs without a value: resolved at start-up (values set), or lent by the account this one
  // replaces when the ref is the same; a new or changed ref waits for a restart.
  for (const auto& [key, ref] : a->secretRefs) {
    if (a->settings.contains(key) || a->unavailable.contains(key)) continue;
    const config::SecretRef* before = nullptr;
    if (previous) {
      if (auto it = previous->secretRefs.find(key); it != previous->secretRefs.end()) before = &it->second;
    }
    if (before && before->source == ref.source && before->provider == ref.provider && before->id == ref.id) {
      if (auto v = previous->settings.find(key); v != previous->settings.end()) {
        a->settings[key] = v->value();
        continue;
      }
      if (auto why = previous->unavailable.find(key); why != previous->unavailable.end()) {
        a->unavailable[key] = why->second;
        continue;
      }
    }
    a->unavailable[key] =
        "a secret ref added or changed by a config reload: refs are resolved when the gateway starts, restart it to "
        "apply this one";
  }
  if (!a->enabled) {
    a->health.healthState = "disabled";
  } else if (!a->unavailable.empty()) {
    const auto& [key, why] = *a->unavailable.begin();
    a->configError = fmt::format("{}.{} cannot be read: {}", a->path, key, why);
    a->health.suggestedAction = "make the secret " + a->path + "." + key + " readable, then restart the gateway";
  } else {
    ChannelContext context{a->accountId, a->settings, deps_.executors, deps_.clock, deps_.io, nullptr};
    auto created = deps_.registry.create(a->provider, context);
    if (created) {
      a->channel = created->get();
      deps_.channels.add(a->channelId, std::move(*created));
    } else {
      a->configError = created.error().message;
      a->health.suggestedAction = "fix the settings of " + a->path + ", then restart the gateway";
    }
  }
  if (!a->configError.empty()) {
    spdlog::error("channel {}: not started: {}", a->channelId, a->configError);
    a->lastError = a->configError;
    a->lastErrorAtMs = deps_.clock->nowMs();
  }
  if (a->channel.load() && a->isDefault) deps_.channels.setDefault(a->provider, a->channelId);
  if (a->enabled) {
    for (std::size_t i = 0; i < 3; ++i) {
      a->statusGauges[i] = *healthStatus_->gauge({a->provider, a->accountId, kDimensions[i]});
    }
    a->connectedGauge = *connected_->gauge({a->provider, a->accountId});
    a->reconnectsCounter = *reconnectsTotal_->counter({a->provider, a->accountId});
    a->recoveredCounter = *recoveryAttempts_->counter({a->provider, a->accountId, "recovered"});
    a->recoveryFailedCounter = *recoveryAttempts_->counter({a->provider, a->accountId, "failed"});
  }
  a->sink = std::make_unique<AccountSink>(*this, *a);
  return a;
}

void ChannelManager::start(ChannelSink& sink) {
  {
    std::lock_guard lock(mu_);
    sink_ = &sink;
  }
  for (Account* a : liveAccounts()) {
    if (a->enabled && a->channel.load()) attemptStart(*a);
  }
  scheduleReconcile();
}

void ChannelManager::attemptStart(Account& a) {
  Channel* channel = a.channel.load();
  {
    std::lock_guard lock(mu_);
    if (stopped_ || a.running || a.starting || a.manualStop || a.retired || !channel) return;
    a.starting = true;
    a.channelUsed = true;
    a.lastStartAtMs = deps_.clock->nowMs();
    a.retryTimer.reset();
  }
  Status s = channel->start(*a.sink);
  bool stopAgain = false;
  {
    std::lock_guard lock(mu_);
    a.starting = false;
    if (s && (a.manualStop || a.retired || stopped_)) {
      stopAgain = true;  // stopped while it was starting
    } else if (s) {
      a.running = true;
      a.lastError.clear();
      a.lastErrorAtMs = 0;
      a.backoff.succeeded();
      spdlog::info("channel {}: started", a.channelId);
    } else {
      a.lastError = s.error().message;
      a.lastErrorAtMs = deps_.clock->nowMs();
      if (s.error().code == ErrorCode::kUnavailable && !stopped_) {
        auto delay = a.backoff.failed();
        spdlog::warn("channel {}: cannot start ({}); retrying in {} ms{}", a.channelId, a.lastError, delay.count(),
                     a.backoff.circuitOpen() ? " (circuit open)" : "");
        a.retryTimer = deps_.executors.after(delay, [this, &a] {
          {
            std::lock_guard lock(mu_);
            if (stopped_ || a.manualStop || a.retired) return;
            ++a.startRetries;
          }
          attemptStart(a);
        });
      } else {
        spdlog::error("channel {}: cannot start: {}", a.channelId, a.lastError);
      }
    }
  }
  if (stopAgain) channel->stop();
  evaluate(a);
}

void ChannelManager::setAlertRouter(health::AlertRouter* alerts) {
  std::lock_guard lock(mu_);
  alerts_ = alerts;
}

void ChannelManager::stop() {
  std::vector<TimerHandlePtr> timers;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    if (reconcileTimer_) timers.push_back(std::move(reconcileTimer_));
    for (auto& a : accounts_) {
      if (a->retryTimer) timers.push_back(std::move(a->retryTimer));
      if (a->recovery.probeTimer) timers.push_back(std::move(a->recovery.probeTimer));
      a->running = false;
    }
  }
  for (auto& t : timers) t->cancel();
  deps_.channels.stopAll();
}

void ChannelManager::scheduleReconcile() {
  std::lock_guard lock(mu_);
  if (stopped_) return;
  reconcileTimer_ = deps_.executors.after(options_.checkInterval, [this] {
    reconcile();
    scheduleReconcile();
  });
}

void ChannelManager::reconcile() {
  for (Account* a : liveAccounts()) {
    if (!a->enabled) continue;
    evaluate(*a);
    recover(*a);
  }
}

std::vector<ChannelManager::Account*> ChannelManager::liveAccounts() const {
  std::lock_guard lock(mu_);
  std::vector<Account*> out;
  out.reserve(accounts_.size());
  for (const auto& a : accounts_) out.push_back(a.get());
  return out;
}

void ChannelManager::reportRecovery(Account& a, health::HealthState state, std::string detail) {
  deps_.healthRecords.set({a.component, "recovery", state, detail, false});
}

void ChannelManager::recover(Account& a) {
  if (!options_.recovery.enabled) return;
  enum class Step { kNone, kAttempt, kEscalate, kRecovered };
  Step step = Step::kNone;
  const int64_t now = deps_.clock->nowMs();
  int64_t attempt = 0;
  bool judgedFailed = false;
  bool wasEscalated = false;
  std::string reason;
  {
    std::lock_guard lock(mu_);
    if (stopped_ || !sink_ || a.retired || a.manualStop) return;
    auto& r = a.recovery;
    if (a.health.degradedSinceMs == 0) {
      if (r.attempts == 0 && !r.escalated) return;
      // A muted account looks healthy right after a restart (its silence is counted from the restart):
      // it has recovered only once traffic arrives.
      const int64_t lastInbound = a.lastInboundAtMs.load();
      if (r.reason == "muted" && lastInbound <= r.lastAttemptAtMs) return;
      if (r.inFlight) return;
      step = Step::kRecovered;
      attempt = r.attempts;
      wasEscalated = r.escalated;
      judgedFailed = false;
      reason = r.reason;
      const bool countRecovered = r.pending || r.attempts > r.failed;
      auto probeTimer = std::move(r.probeTimer);
      const uint64_t round = r.probeRound;
      r = Account::Recovery{};
      r.probeRound = round;  // keeps late answers of old probes apart
      if (probeTimer) probeTimer->cancel();
      if (countRecovered) a.recoveredCounter.inc();
    } else {
      if (r.inFlight || now - a.health.degradedSinceMs < options_.recovery.grace.count()) return;
      if (r.pending) {  // the last attempt's probe passed, but the account is still (or again) unhealthy
        r.pending = false;
        ++r.failed;
        judgedFailed = true;
        r.lastError = "still " + a.health.healthState + " after the restart";
      }
      if (r.escalated) {
        // Bounded: no more attempts until it recovers (the adapter's own reconnect goes on).
      } else if (!a.channel.load() || r.failed >= options_.recovery.maxAttempts) {
        r.escalated = true;
        step = Step::kEscalate;
      } else {
        if (r.reason.empty()) r.reason = a.health.healthState;
        attempt = ++r.attempts;
        r.inFlight = true;
        r.lastAttemptAtMs = now;
        step = Step::kAttempt;
      }
    }
  }
  if (judgedFailed) a.recoveryFailedCounter.inc();
  switch (step) {
    case Step::kNone:
      return;
    case Step::kAttempt:
      attemptRecovery(a, attempt);
      return;
    case Step::kEscalate:
      escalate(a);
      return;
    case Step::kRecovered: {
      spdlog::info("channel {}: recovered ({} recovery attempt(s){})", a.channelId, attempt,
                   wasEscalated ? "; resolving the alert" : "");
      reportRecovery(a, health::HealthState::kOk,
                     fmt::format("recovered from {} after {} recovery attempt(s)", reason, attempt));
      health::AlertRouter* alerts;
      {
        std::lock_guard lock(mu_);
        alerts = alerts_;
      }
      if (wasEscalated && alerts) {
        alerts->resolve(a.component,
                        fmt::format("{} is healthy again ({} recovery attempt(s) were made).", a.channelId, attempt));
      }
      return;
    }
  }
}

void ChannelManager::attemptRecovery(Account& a, int64_t attempt) {
  std::string reason;
  bool running;
  uint64_t round;
  TimerHandlePtr oldTimer;
  // No operator start/stop or reload between the decision and the restart.
  std::unique_lock lifecycle(lifecycleMu_);
  {
    std::lock_guard lock(mu_);
    if (a.retired || a.manualStop || stopped_) {
      a.recovery.inFlight = false;
      return;
    }
    reason = a.recovery.reason;
    running = a.running;
    round = ++a.recovery.probeRound;
    oldTimer = std::move(a.recovery.probeTimer);
    if (!running && a.retryTimer) {  // a start retry is waiting: this attempt takes its place now
      a.retryTimer->cancel();
      a.retryTimer.reset();
    }
  }
  if (oldTimer) oldTimer->cancel();
  spdlog::warn("channel {}: {}; recovery attempt {}/{}: {}", a.channelId, reason, attempt,
               options_.recovery.maxAttempts, running ? "restarting it" : "starting it");
  reportRecovery(a, health::HealthState::kDegraded,
                 fmt::format("recoveryAttempts {} of {}: {} ({})", attempt, options_.recovery.maxAttempts,
                             running ? "restarted" : "started again", reason));
  if (running) {
    Status s = a.channel.load()->restart();
    if (!s && s.error().code != ErrorCode::kUnsupported) {
      std::lock_guard lock(mu_);
      a.recovery.lastError = s.error().message;
    } else if (!s) {
      spdlog::info("channel {}: {}; re-verifying it with a probe only", a.channelId, s.error().message);
    }
  } else {
    attemptStart(a);
  }
  lifecycle.unlock();
  {
    std::lock_guard lock(mu_);
    running = a.running;
  }
  evaluate(a);
  if (!running) {
    std::string why;
    {
      std::lock_guard lock(mu_);
      why = a.lastError.empty() ? "the channel did not start" : a.lastError;
    }
    return onRecoveryProbe(a, fail(ErrorCode::kUnavailable, why));
  }
  // Re-verify: the first of the probe's answer and the timeout counts.
  auto answered = std::make_shared<std::atomic<bool>>(false);
  auto finish = [this, &a, answered, round](Status s) {
    if (answered->exchange(true)) return;
    {
      std::lock_guard lock(mu_);
      if (a.recovery.probeRound != round) return;  // an older attempt's answer
    }
    onRecoveryProbe(a, std::move(s));
  };
  auto timer = deps_.executors.after(options_.recovery.probeTimeout, [finish] {
    finish(fail(ErrorCode::kDeadlineExceeded, "the probe did not answer in time"));
  });
  {
    std::lock_guard lock(mu_);
    if (a.recovery.probeRound == round) a.recovery.probeTimer = timer;
  }
  a.channel.load()->probe([finish](Status s) { finish(std::move(s)); });
}

void ChannelManager::onRecoveryProbe(Account& a, Status outcome) {
  bool escalateNow = false;
  int64_t attempt = 0;
  TimerHandlePtr timer;
  {
    std::lock_guard lock(mu_);
    if (stopped_ || a.retired) return;
    auto& r = a.recovery;
    if (!r.inFlight) return;
    r.inFlight = false;
    timer = std::move(r.probeTimer);
    attempt = r.attempts;
    const int64_t now = deps_.clock->nowMs();
    a.lastProbe = ProbeResult{static_cast<bool>(outcome), outcome ? std::string() : outcome.error().message,
                              now - r.lastAttemptAtMs, now};
    if (outcome) {
      r.pending = true;
    } else {
      ++r.failed;
      r.lastError = outcome.error().message;
      if (r.failed >= options_.recovery.maxAttempts && !r.escalated) {
        r.escalated = true;
        escalateNow = true;
      }
    }
  }
  if (timer) timer->cancel();
  if (!outcome) {
    a.recoveryFailedCounter.inc();
    spdlog::error("channel {}: recovery attempt {}/{} failed: {}", a.channelId, attempt, options_.recovery.maxAttempts,
                  outcome.error().message);
  }
  evaluate(a);
  if (escalateNow) {
    escalate(a);
  } else if (outcome) {
    recover(a);  // healthy now: recovered at once, not at the next pass
  }
}

void ChannelManager::escalate(Account& a) {
  AccountHealth h;
  int64_t attempts;
  std::string lastError;
  std::string state;
  health::AlertRouter* alerts;
  {
    std::lock_guard lock(mu_);
    h = a.health;
    attempts = a.recovery.attempts;
    lastError = !a.recovery.lastError.empty() ? a.recovery.lastError : a.lastError;
    state = h.degradedSinceMs == 0 && !a.recovery.reason.empty() ? a.recovery.reason : h.healthState;
    alerts = alerts_;
  }
  reportRecovery(a, health::HealthState::kFailed,
                 fmt::format("escalated: recoveryAttempts {} failed ({}){}", attempts, state,
                             lastError.empty() ? "" : ": " + lastError));
  spdlog::error("channel {}: {} after {} recovery attempt(s); escalating{}", a.channelId, state, attempts,
                alerts ? "" : " (no alert router: gateway.alerts is not wired)");
  if (!alerts) return;
  health::Alert alert;
  alert.key = a.component;
  alert.severity = health::AlertSeverity::kCritical;
  alert.title = fmt::format("channel {} is {}", a.channelId, state);
  alert.text = fmt::format("{} recovery attempt(s) failed{}.", attempts, lastError.empty() ? "" : ": " + lastError);
  if (!h.suggestedAction.empty()) alert.text += "\nSuggested action: " + h.suggestedAction;
  alert.fields = {{"channel", a.provider},
                  {"accountId", a.accountId},
                  {"healthState", state},
                  {"transport", std::string(dimensionHealthName(h.transport))},
                  {"application", std::string(dimensionHealthName(h.application))},
                  {"functional", std::string(dimensionHealthName(h.functional))},
                  {"recoveryAttempts", std::to_string(attempts)}};
  if (h.degradedSinceMs != 0) alert.fields.emplace_back("degradedSince", std::to_string(h.degradedSinceMs));
  alerts->raise(std::move(alert));
}

void ChannelManager::onInbound(Account& a) {
  a.lastInboundAtMs.store(deps_.clock->nowMs());
  // A muted account recovers at once when traffic resumes, not at the next reconciliation.
  if (a.muted.load()) deps_.executors.io([this, &a] { evaluate(a); });
}

void ChannelManager::evaluate(Account& a) {
  // One evaluation at a time, so the records, gauges and events of an account change in order.
  std::lock_guard evaluating(evalMu_);
  const int64_t now = deps_.clock->nowMs();
  Channel* channel = a.channel.load();
  const ChannelHealth ch = channel ? channel->health() : ChannelHealth{};
  AccountHealth h;
  int64_t reconnectsDelta = 0;
  bool changed = false;
  bool stoppedByOperator = false;
  AccountHealth before;
  std::string lastError;
  {
    std::lock_guard lock(mu_);
    if (a.retired) return;  // its records belong to the account that replaced it, or are gone
    stoppedByOperator = a.manualStop && a.configError.empty();
    before = a.health;
    lastError = a.lastError;
    const int64_t lastInbound = std::max(ch.lastInboundAtMs, a.lastInboundAtMs.load());
    const bool up =
        a.running && (ch.state == ChannelHealth::State::kConnected || ch.state == ChannelHealth::State::kDegraded);
    if (!a.configError.empty()) {
      h.transport = DimensionHealth::kUnhealthy;
      h.healthState = "not-running";
      h.suggestedAction = a.health.suggestedAction;
    } else if (stoppedByOperator) {
      h.healthState = "stopped";  // every dimension unknown: not failed, not muted, nothing to recover
    } else if (!a.running) {
      h.transport = a.starting || a.lastStartAtMs == 0 ? DimensionHealth::kUnknown : DimensionHealth::kUnhealthy;
      h.healthState = a.lastStartAtMs == 0 || a.starting ? "starting" : "not-running";
      if (a.retryTimer) {
        h.suggestedAction =
            "check that the network of " + a.channelId + " is reachable (start retried: " + a.lastError + ")";
      } else if (!a.lastError.empty()) {
        h.suggestedAction = "fix " + a.channelId + " (" + a.lastError + "), then restart the gateway";
      }
    } else {
      switch (ch.state) {
        case ChannelHealth::State::kConnected:
          h.transport = DimensionHealth::kHealthy;
          break;
        case ChannelHealth::State::kDegraded:
          h.transport = DimensionHealth::kDegraded;
          break;
        case ChannelHealth::State::kStarting:
          h.transport = DimensionHealth::kUnknown;
          h.healthState = "starting";
          break;
        case ChannelHealth::State::kDisconnected:
        case ChannelHealth::State::kStopped:
          h.transport = DimensionHealth::kUnhealthy;
          h.healthState = "disconnected";
          h.suggestedAction = ch.circuitOpen ? "the reconnect circuit of " + a.channelId +
                                                   " is open: check the network and the server, the next "
                                                   "attempt comes on its own"
                                             : "check the network and the server of " + a.channelId;
          break;
      }
      if (up) {
        h.application = ch.authenticated ? DimensionHealth::kHealthy : DimensionHealth::kDegraded;
        const int64_t since = std::max({lastInbound, ch.sinceMs, a.lastStartAtMs});
        const int64_t threshold = options_.staleEventThreshold.count();
        h.muted = threshold > 0 && now - since >= threshold;
        h.functional = h.muted ? DimensionHealth::kUnhealthy : DimensionHealth::kHealthy;
        if (h.muted) {
          h.healthState = "muted";
          h.suggestedAction = fmt::format(
              "{} is connected but received nothing for {} s: check that the bot/account can still read its "
              "chats (permissions, webhook, subscription), then restart the channel",
              a.channelId, (now - since) / 1000);
        } else if (!ch.authenticated) {
          h.healthState = "unauthenticated";
          h.suggestedAction = "check the credentials of " + a.channelId;
        } else {
          h.healthState = h.transport == DimensionHealth::kHealthy ? "healthy" : "degraded";
        }
      }
    }
    const bool healthy =
        stoppedByOperator || (h.transport == DimensionHealth::kHealthy && h.application == DimensionHealth::kHealthy &&
                              h.functional == DimensionHealth::kHealthy);
    h.degradedSinceMs = healthy ? 0 : (before.degradedSinceMs != 0 ? before.degradedSinceMs : now);
    changed = !a.evaluated || !(h == before);
    a.health = h;
    a.evaluated = true;
    a.muted.store(h.muted);
    const int64_t reconnects = ch.reconnects + a.startRetries;
    reconnectsDelta = reconnects - a.reconnectsCounted;
    if (reconnectsDelta > 0) a.reconnectsCounted = reconnects;
  }
  // Side effects, outside the lock.
  const DimensionHealth dims[] = {h.transport, h.application, h.functional};
  for (std::size_t i = 0; i < 3; ++i) {
    a.statusGauges[i].set(dimensionHealthValue(dims[i]));
    std::string detail;
    if (i == 0) detail = lastError;
    if (i == 0 && detail.empty() && ch.state != ChannelHealth::State::kConnected) detail = ch.detail;
    if (i == 2 && h.muted) detail = "muted: no inbound traffic within the stale-event threshold";
    if (stoppedByOperator) {
      detail = fmt::format("stopped by the operator (channels.stop); `talon channels start {} --account {}` starts it",
                           a.provider, a.accountId);
    }
    if (!h.suggestedAction.empty() && dims[i] != DimensionHealth::kHealthy && dims[i] != DimensionHealth::kUnknown) {
      detail += detail.empty() ? h.suggestedAction : "; " + h.suggestedAction;
    }
    deps_.healthRecords.set({a.component, kDimensions[i], recordState(dims[i]), detail, false});
  }
  a.connectedGauge.set(h.transport == DimensionHealth::kHealthy || h.transport == DimensionHealth::kDegraded ? 1 : 0);
  if (reconnectsDelta > 0) a.reconnectsCounter.inc(static_cast<uint64_t>(reconnectsDelta));
  if (!changed) return;
  const bool healthy = h.degradedSinceMs == 0;
  if (stoppedByOperator) {
    spdlog::info("channel {}: stopped by the operator", a.channelId);
  } else if (healthy) {
    spdlog::info("channel {}: healthy", a.channelId);
  } else if (h.healthState == "starting") {
    spdlog::info("channel {}: starting", a.channelId);
  } else {
    spdlog::warn("channel {}: {} (transport {}, application {}, functional {}){}", a.channelId, h.healthState,
                 dimensionHealthName(h.transport), dimensionHealthName(h.application),
                 dimensionHealthName(h.functional), h.suggestedAction.empty() ? "" : ": " + h.suggestedAction);
  }
  json::object payload{
      {"channel", a.provider},
      {"accountId", a.accountId},
      {"healthy", healthy},
      {"healthState", h.healthState},
      {"transport", dimensionHealthName(h.transport)},
      {"application", dimensionHealthName(h.application)},
      {"functional", dimensionHealthName(h.functional)},
      {"muted", h.muted},
      {"degradedSince", h.degradedSinceMs == 0 ? json::value(nullptr) : json::value(h.degradedSinceMs)},
      {"suggestedAction", h.suggestedAction},
      {"ts", now}};
  deps_.bus.publish(
      GatewayEvent{"channel.health.degraded", {}, {}, std::make_shared<const std::string>(json::serialize(payload))});
}

std::vector<AccountStatus> ChannelManager::status() const {
  std::vector<AccountStatus> out;
  for (Account* a : liveAccounts()) {
    AccountStatus s;
    s.channelId = a->channelId;
    s.provider = a->provider;
    s.accountId = a->accountId;
    s.name = a->name;
    s.enabled = a->enabled;
    s.configured = a->configError.empty();
    s.isDefault = a->isDefault.load();
    if (Channel* c = a->channel.load()) s.channel = c->health();
    std::lock_guard lock(mu_);
    s.running = a->running;
    s.lastError = a->lastError;
    s.lastErrorAtMs = a->lastError.empty() ? 0 : a->lastErrorAtMs;
    s.lastStartAtMs = a->lastStartAtMs;
    s.startRetries = a->startRetries;
    s.lastInboundAtMs = std::max(s.channel.lastInboundAtMs, a->lastInboundAtMs.load());
    s.reconnects = s.channel.reconnects + a->startRetries;
    s.health = a->health;
    s.lastProbe = a->lastProbe;
    s.recoveryAttempts = a->recovery.attempts;
    s.escalated = a->recovery.escalated;
    s.stopped = a->manualStop;
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const AccountStatus& x, const AccountStatus& y) {
    return std::tie(x.provider, x.accountId) < std::tie(y.provider, y.accountId);
  });
  return out;
}

void ChannelManager::probe(std::string provider, std::chrono::milliseconds timeout, std::function<void()> done) {
  struct Round {
    std::mutex mu;
    std::size_t pending = 0;
    bool finished = false;
    std::function<void()> done;
    TimerHandlePtr timer;
    std::vector<Account*> outstanding;
  };
  auto round = std::make_shared<Round>();
  round->done = std::move(done);
  std::vector<Account*> targets;
  {
    std::lock_guard lock(mu_);
    for (auto& a : accounts_) {
      if (a->channel.load() && a->running && (provider.empty() || a->provider == provider)) targets.push_back(a.get());
    }
  }
  if (targets.empty()) {
    round->done();
    return;
  }
  round->pending = targets.size();
  round->outstanding = targets;
  auto finish = [round] {
    std::function<void()> f;
    {
      std::lock_guard lock(round->mu);
      if (round->finished) return;
      round->finished = true;
      f = std::move(round->done);
    }
    if (round->timer) round->timer->cancel();
    f();
  };
  const int64_t started = deps_.clock->nowMs();
  round->timer = deps_.executors.after(timeout, [this, round, finish, started] {
    std::vector<Account*> late;
    {
      std::lock_guard lock(round->mu);
      if (round->finished) return;
      late = round->outstanding;
    }
    const int64_t now = deps_.clock->nowMs();
    {
      std::lock_guard lock(mu_);
      for (Account* a : late) a->lastProbe = ProbeResult{false, "probe timed out", now - started, now};
    }
    finish();
  });
  for (Account* a : targets) {
    a->channel.load()->probe([this, round, finish, a, started](Status s) {
      {
        std::lock_guard lock(round->mu);
        if (round->finished) return;
        round->outstanding.erase(std::remove(round->outstanding.begin(), round->outstanding.end(), a),
                                 round->outstanding.end());
      }
      const int64_t now = deps_.clock->nowMs();
      {
        std::lock_guard lock(mu_);
        a->lastProbe = ProbeResult{static_cast<bool>(s), s ? std::string() : s.error().message, now - started, now};
      }
      bool last;
      {
        std::lock_guard lock(round->mu);
        last = --round->pending == 0;
      }
      if (last) finish();
    });
  }
}

std::string ChannelReloadReport::summary() const {
  std::string out;
  auto part = [&out](std::string_view verb, const std::vector<std::string>& ids) {
    if (ids.empty()) return;
    if (!out.empty()) out += "; ";
    out += fmt::format("{} {}", verb, fmt::join(ids, ", "));
  };
  part("started", started);
  part("stopped", stopped);
  part("restarted", restarted);
  part("unchanged", unchanged);
  return out.empty() ? "no channel accounts" : out;
}

Result<ChannelManager::Account*> ChannelManager::findAccount(std::string_view provider,
                                                             std::optional<std::string_view> accountId) const {
  std::lock_guard lock(mu_);
  bool known = false;
  for (const auto& a : accounts_) {
    if (a->provider != provider) continue;
    known = true;
    if (accountId && !accountId->empty() ? a->accountId == *accountId : a->isDefault.load()) return a.get();
  }
  // OpenClaw answers INVALID_REQUEST "unknown channel: <id>" (server-methods/channels.ts).
  if (!known) {
    const std::string message = fmt::format("unknown channel: {}", provider);
    return fail(ErrorCode::kInvalidArgument, message, message);
  }
  const std::string message = fmt::format("unknown account {} of channel {}",
                                          accountId && !accountId->empty() ? *accountId : "(default)", provider);
  return fail(ErrorCode::kInvalidArgument, message, message);
}

bool ChannelManager::stopByOperator(Account& a) {
  bool already;
  std::vector<TimerHandlePtr> timers;
  bool wasEscalated = false;
  {
    std::lock_guard lock(mu_);
    already = a.manualStop;
    a.manualStop = true;
    a.running = false;
    if (a.retryTimer) timers.push_back(std::move(a.retryTimer));
    if (a.recovery.probeTimer) timers.push_back(std::move(a.recovery.probeTimer));
    wasEscalated = a.recovery.escalated;
    const uint64_t round = a.recovery.probeRound + 1;  // a late probe answer belongs to no attempt
    a.recovery = Account::Recovery{};
    a.recovery.probeRound = round;
  }
  for (auto& t : timers) t->cancel();
  if (Channel* c = a.channel.load()) c->stop();
  deps_.healthRecords.remove(a.component, "recovery");
  health::AlertRouter* alerts;
  {
    std::lock_guard lock(mu_);
    alerts = alerts_;
  }
  if (wasEscalated && alerts) alerts->resolve(a.component, a.channelId + " was stopped by the operator.");
  if (a.enabled) evaluate(a);
  return already;
}

Status ChannelManager::freshChannel(Account& a) {
  {
    std::lock_guard lock(mu_);
    if (!a.channelUsed) return {};
  }
  ChannelContext context{a.accountId, a.settings, deps_.executors, deps_.clock, deps_.io, nullptr};
  auto created = deps_.registry.create(a.provider, context);
  if (!created) return fail(created.error());
  Channel* fresh = created->get();
  deps_.channels.add(a.channelId, std::move(*created));  // retires the used one
  std::lock_guard lock(mu_);
  a.channel = fresh;
  a.channelUsed = false;
  return {};
}

void ChannelManager::retire(Account& a, bool removeRecords) {
  std::vector<TimerHandlePtr> timers;
  {
    // Under evalMu_ too: no evaluation of this account is under way or follows.
    std::lock_guard evaluating(evalMu_);
    std::lock_guard lock(mu_);
    a.retired = true;
    a.running = false;
    if (a.retryTimer) timers.push_back(std::move(a.retryTimer));
    if (a.recovery.probeTimer) timers.push_back(std::move(a.recovery.probeTimer));
    auto it = std::find_if(accounts_.begin(), accounts_.end(), [&](const auto& p) { return p.get() == &a; });
    if (it != accounts_.end()) {
      retired_.push_back(std::move(*it));
      accounts_.erase(it);
    }
  }
  for (auto& t : timers) t->cancel();
  if (Channel* c = a.channel.load()) {
    c->stop();
    deps_.channels.remove(a.channelId);
  }
  if (removeRecords) {
    for (auto d : kDimensions) deps_.healthRecords.remove(a.component, d);
    deps_.healthRecords.remove(a.component, "recovery");
    if (a.enabled) {
      for (auto& g : a.statusGauges) g.set(dimensionHealthValue(DimensionHealth::kUnknown));
      a.connectedGauge.set(0);
    }
  }
}

Result<AccountStartResult> ChannelManager::startAccount(std::string_view provider,
                                                        std::optional<std::string_view> accountId) {
  std::lock_guard lifecycle(lifecycleMu_);
  auto found = findAccount(provider, accountId);
  if (!found) return fail(found.error());
  Account& a = **found;
  AccountStartResult r;
  r.provider = a.provider;
  r.accountId = a.accountId;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return fail(ErrorCode::kFailedPrecondition, "the gateway is stopping");
    if (!sink_) return fail(ErrorCode::kUnavailable, "the channel runtime has not started yet");
    if (a.running || a.starting || (a.retryTimer && !a.manualStop)) {
      r.started = a.running;
      r.status = "retry";
      r.reason = "task-owned";
      r.alreadyRunning = true;
      r.lastError = a.running ? "" : a.lastError;
      return r;
    }
    if (!a.enabled) {
      r.status = "skipped";
      r.reason = "disabled";
      return r;
    }
    if (!a.configError.empty()) {
      r.status = "skipped";
      r.reason = a.unavailable.empty() ? "unconfigured" : "secret-unavailable";
      r.lastError = a.configError;
      return r;
    }
    a.manualStop = false;
  }
  if (auto s = freshChannel(a); !s) {
    std::lock_guard lock(mu_);
    a.lastError = s.error().message;
    a.lastErrorAtMs = deps_.clock->nowMs();
    const std::string message = fmt::format("channel {} cannot start: {}", a.channelId, s.error().message);
    return fail(ErrorCode::kUnavailable, message, message);
  }
  spdlog::info("channel {}: start requested by the operator", a.channelId);
  attemptStart(a);
  std::lock_guard lock(mu_);
  r.status = "handed-off";
  r.started = a.running;
  if (!a.running && !a.retryTimer) {
    const std::string message = fmt::format("channel {} cannot start: {}", a.channelId, a.lastError);
    return fail(ErrorCode::kUnavailable, message, message);
  }
  if (!a.running) r.lastError = a.lastError;
  return r;
}

Result<AccountStopResult> ChannelManager::stopAccount(std::string_view provider,
                                                      std::optional<std::string_view> accountId) {
  std::lock_guard lifecycle(lifecycleMu_);
  auto found = findAccount(provider, accountId);
  if (!found) return fail(found.error());
  Account& a = **found;
  AccountStopResult r;
  r.provider = a.provider;
  r.accountId = a.accountId;
  r.alreadyStopped = stopByOperator(a);
  return r;
}

Result<AccountLogoutResult> ChannelManager::logoutAccount(std::string_view provider,
                                                          std::optional<std::string_view> accountId) {
  std::lock_guard lifecycle(lifecycleMu_);
  auto found = findAccount(provider, accountId);
  if (!found) return fail(found.error());
  Account& a = **found;
  AccountLogoutResult r;
  r.provider = a.provider;
  r.accountId = a.accountId;
  stopByOperator(a);
  // Drop the adapter with what it holds; the next start makes a fresh one.
  if (a.channel.load()) {
    {
      std::lock_guard lock(mu_);
      a.channelUsed = true;
    }
    if (auto s = freshChannel(a); !s) {
      spdlog::warn("channel {}: logout: cannot prepare a fresh adapter: {}", a.channelId, s.error().message);
    }
    r.cleared = true;
  }
  r.loggedOut = true;
  spdlog::info("channel {}: logged out by the operator (session state {})", a.channelId,
               r.cleared ? "discarded" : "none");
  return r;
}

ChannelReloadReport ChannelManager::applyConfig(const config::ChannelsConfig& next) {
  std::lock_guard lifecycle(lifecycleMu_);
  ChannelReloadReport report;
  bool started;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return report;
    started = sink_ != nullptr;  // before start(), start() starts what is created here
  }
  auto specs = planAccounts(next);
  if (!specs) {
    // Config validation refuses a channel without an adapter, so this is not expected; keep what runs.
    spdlog::error("config reload: channels not applied: {}", specs.error().message);
    deps_.healthRecords.set({"channels", "reload", health::HealthState::kFailed, specs.error().message, false});
    return report;
  }
  std::map<std::string, Account*> current;
  for (Account* a : liveAccounts()) current[a->channelId] = a;
  std::vector<Account*> toStart;
  std::map<std::string, std::string> defaults;  // provider -> channel id of its default account
  for (auto& spec : *specs) {
    const std::string id = spec.provider + ":" + spec.accountId;
    if (spec.isDefault) defaults[spec.provider] = id;
    auto it = current.find(id);
    if (it != current.end() && it->second->fingerprint == spec.fingerprint) {
      it->second->isDefault = spec.isDefault;
      report.unchanged.push_back(id);
      current.erase(it);
      continue;
    }
    Account* previous = it != current.end() ? it->second : nullptr;
    bool manualStop = false;
    if (previous) {
      {
        std::lock_guard lock(mu_);
        manualStop = previous->manualStop;
      }
      retire(*previous, true);
      current.erase(it);
    }
    auto account = makeAccount(std::move(spec), previous);
    account->manualStop = manualStop;
    Account* a = account.get();
    {
      std::lock_guard lock(mu_);
      accounts_.push_back(std::move(account));
    }
    (previous ? report.restarted : report.started).push_back(id);
    if (a->enabled) toStart.push_back(a);
  }
  for (auto& [id, a] : current) {  // no longer configured
    retire(*a, true);
    report.stopped.push_back(id);
  }
  for (const auto& spec_provider : report.stopped) {
    const std::string provider = spec_provider.substr(0, spec_provider.find(':'));
    if (!defaults.contains(provider)) deps_.channels.clearDefault(provider);
  }
  for (const auto& [provider, id] : defaults) {
    if (deps_.channels.find(id) != nullptr) {
      deps_.channels.setDefault(provider, id);
    } else {
      deps_.channels.clearDefault(provider);
    }
  }
  for (Account* a : toStart) {
    evaluate(*a);
    if (started && a->channel.load()) attemptStart(*a);  // nothing while it is stopped by the operator
  }
  const std::string summary = report.summary();
  if (report.changed()) {
    spdlog::info("config reload: channels: {}", summary);
  } else {
    spdlog::debug("config reload: channels: {}", summary);
  }
  deps_.healthRecords.set({"channels", "reload", health::HealthState::kOk,
                           fmt::format("last reload at {}: {}", deps_.clock->nowMs(), summary), false});
  return report;
}

}  // namespace talon::gateway::channels
