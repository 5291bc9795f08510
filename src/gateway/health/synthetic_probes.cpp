#include "gateway/health/synthetic_probes.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <utility>

#include "base/ids.h"
#include "gateway/health/alert_router.h"
#include "gateway/routing/id_normalization.h"

namespace talon::gateway::health {

namespace {

/// How many of a channel probe's last nonces are remembered, so that a late echo of one is consumed.
constexpr std::size_t kProbeRecentNonces = 16;

/// Whether an inbound message from `from` answers a ping sent to `to`: the same kind of conversation (a
/// direct one, or a group/channel: those two are one on most networks) and the same id, ASCII
/// case-insensitively (IRC nicks and channel names are).
bool probePeerMatches(const routing::Peer& to, const routing::Peer& from) {
  const bool toDirect = to.kind == routing::PeerKind::kDirect;
  const bool fromDirect = from.kind == routing::PeerKind::kDirect;
  return toDirect == fromDirect && routing::lowerAscii(to.id) == routing::lowerAscii(from.id);
}

}  // namespace

class SyntheticProbes::Impl : public std::enable_shared_from_this<SyntheticProbes::Impl> {
 public:
  struct Probe {
    config::SyntheticProbeConfig config;
    std::string component;  // "probe:<name>"
    ModelProviderPtr provider;
    std::string vendorModel;  // provider probes: the model id without the provider prefix
    Counter ok, failed;
    Gauge success, duration;
    bool running = false;        // guarded by Impl::mu
    std::optional<bool> lastOk;  // guarded by Impl::mu; logs only changes
    int64_t failuresInARow = 0;  // guarded by Impl::mu
    TimerHandlePtr timer;        // guarded by Impl::mu
    // Channel probes.
    std::string channelId;  // "<channel>:<accountId>"
    routing::Peer peer;     // `to`
    /// The run waiting for its reply (guarded by Impl::mu).
    struct ChannelRun {
      uint64_t seq = 0;  // tells a run's late callbacks from the current run's
      bool active = false;
      std::string expect;
      int64_t startedMs = 0;
      bool sent = false;      // the channel confirmed the ping
      std::string sendError;  // the outbox's last error for the ping; empty when none
      TimerHandlePtr deadline;
    } channelRun;
    std::deque<std::string> recentNonces;  // guarded by Impl::mu
  };

  explicit Impl(SyntheticProbesDeps deps) : deps(std::move(deps)) {}

  void schedule(Probe& p) {
    std::lock_guard lock(mu);
    if (stopped) return;
    std::weak_ptr<Impl> weak = weak_from_this();
    p.timer = deps.executors.after(std::chrono::seconds(p.config.intervalSeconds), [weak, &p] {
      if (auto self = weak.lock()) {
        self->run(p);
        self->schedule(p);
      }
    });
  }

  /// Starts one run of `p` unless it is running or the probes stopped; false then.
  bool run(Probe& p) {
    {
      std::lock_guard lock(mu);
      if (stopped || p.running) return false;
      p.running = true;
    }
    const int64_t started = deps.clock->nowMs();
    auto self = shared_from_this();
    if (p.config.kind == "provider") {
      ModelRequest request;
      request.model = p.vendorModel;
      request.messages.push_back(ChatMessage{"user", p.config.prompt, {}, {}});
      request.maxTokens = 16;
      request.timeout = std::chrono::seconds(p.config.timeoutSeconds);
      ModelStreamHandlers handlers;
      handlers.onComplete = [self, &p, started](Result<ModelResponse> r) {
        self->finish(p, started, r ? Status{} : Status(fail(r.error())));
      };
      p.provider->stream(std::move(request), std::move(handlers));
      return true;
    }
    if (p.config.kind == "channel") {
      runChannel(p, started);
      return true;
    }
    deps.executors.blocking([self, &p, started] {
      if (!self->deps.cron) {
        return self->finish(p, started, fail(Error(ErrorCode::kUnavailable, "no scheduler is wired")));
      }
      const CronProbeView view = self->deps.cron();
      const int64_t now = self->deps.clock->nowMs();
      const int64_t graceMs = p.config.timeoutSeconds * 1000;
      if (!view.running) {
        return self->finish(p, started,
                            fail(Error(ErrorCode::kUnavailable,
                                       "the scheduler is not running (cron.enabled is false or TALON_SKIP_CRON is "
                                       "set)")));
      }
      if (view.nextWakeAtMs > 0 && now - view.nextWakeAtMs > graceMs) {
        return self->finish(p, started,
                            fail(Error(ErrorCode::kDeadlineExceeded,
                                       fmt::format("the scheduler's next wake is {} s overdue (allowed: {} s)",
                                                   (now - view.nextWakeAtMs) / 1000, p.config.timeoutSeconds))));
      }
      self->finish(p, started, {});
    });
    return true;
  }

  /// Sends the ping of channel probe `p` through the outbox and arms the deadline of its reply.
  void runChannel(Probe& p, int64_t startedMs) {
    const std::string nonce = randomHex(6);
    uint64_t seq = 0;
    {
      std::lock_guard lock(mu);
      auto& run = p.channelRun;
      seq = ++run.seq;
      run.active = true;
      run.expect = p.config.expect.empty() ? nonce : p.config.expect;
      run.startedMs = startedMs;
      run.sent = false;
      run.sendError.clear();
      p.recentNonces.push_back(nonce);
      if (p.recentNonces.size() > kProbeRecentNonces) p.recentNonces.pop_front();
    }
    std::weak_ptr<Impl> weak = weak_from_this();
    auto deadline = deps.executors.after(std::chrono::seconds(p.config.timeoutSeconds), [weak, &p, seq] {
      if (auto self = weak.lock()) self->finishChannel(p, seq, std::nullopt);
    });
    {
      std::lock_guard lock(mu);
      if (p.channelRun.active && p.channelRun.seq == seq) {
        p.channelRun.deadline = std::move(deadline);
      } else {
        deadline->cancel();
      }
    }
    channels::OutboundMessage ping;
    ping.accountId = p.config.accountId;
    ping.peer = p.peer;
    ping.text = p.config.text + " " + nonce;
    auto progress = [weak, &p, seq](Result<store::OutboundDelivery> r) {
      if (auto self = weak.lock()) self->onPingProgress(p, seq, std::move(r));
    };
    deps.outbound->deliver(p.channelId, std::move(ping), fmt::format("probe:{}:{}", p.config.name, nonce), progress,
                           progress);
  }

  /// What the outbox reports of run `seq`'s ping: sent, retrying (the error is kept for the timeout's
  /// message), or failed for good (the run fails now).
  void onPingProgress(Probe& p, uint64_t seq, Result<store::OutboundDelivery> r) {
    if (!r) return finishChannel(p, seq, fail(Error(r.error().code, "not sent: " + r.error().message)));
    if (r->state == store::DeliveryState::kFailed) {
      return finishChannel(p, seq, fail(Error(ErrorCode::kUnavailable, "not sent: " + r->lastError)));
    }
    std::lock_guard lock(mu);
    auto& run = p.channelRun;
    if (!run.active || run.seq != seq) return;
    if (r->state == store::DeliveryState::kSent) run.sent = true;
    if (!r->lastError.empty()) run.sendError = r->lastError;
  }

  /// Ends run `seq` of channel probe `p` (once): with `outcome`, or (nullopt) because its deadline passed.
  void finishChannel(Probe& p, uint64_t seq, std::optional<Status> outcome) {
    TimerHandlePtr deadline;
    int64_t startedMs = 0;
    std::string timedOut;
    {
      std::lock_guard lock(mu);
      auto& run = p.channelRun;
      if (!run.active || run.seq != seq) return;
      run.active = false;
      deadline = std::move(run.deadline);
      startedMs = run.startedMs;
      if (!outcome) {
        if (run.sent) {
          timedOut = fmt::format("sent, no reply containing \"{}\" from {} within {} s", run.expect, p.config.to,
                                 p.config.timeoutSeconds);
        } else if (!run.sendError.empty()) {
          timedOut = fmt::format("not sent within {} s: {}", p.config.timeoutSeconds, run.sendError);
        } else {
          timedOut =
              fmt::format("not sent within {} s: {} did not confirm the message", p.config.timeoutSeconds, p.channelId);
        }
      }
    }
    if (deadline) deadline->cancel();
    finish(p, startedMs, outcome ? std::move(*outcome) : Status(fail(ErrorCode::kDeadlineExceeded, timedOut)));
  }

  /// The inbound interceptor of the channel probes (channels/inbound_interceptors.h): consumes the reply
  /// a run waits for, and late replies to earlier runs (one carrying a recent nonce, or a custom
  /// `expect`), so that no agent answers a probe's echo bot.
  bool intercept(const routing::InboundMessage& message) {
    for (auto& probe : probes) {
      Probe& p = *probe;
      if (p.config.kind != "channel" || message.channel != p.config.channel ||
          message.accountId != p.config.accountId || !probePeerMatches(p.peer, message.peer)) {
        continue;
      }
      uint64_t matched = 0;
      bool late = false;
      {
        std::lock_guard lock(mu);
        const auto& run = p.channelRun;
        if (run.active && message.text.find(run.expect) != std::string::npos) {
          matched = run.seq;
        } else {
          late = (!p.config.expect.empty() && message.text.find(p.config.expect) != std::string::npos) ||
                 std::any_of(p.recentNonces.begin(), p.recentNonces.end(),
                             [&](const std::string& nonce) { return message.text.find(nonce) != std::string::npos; });
        }
      }
      if (matched != 0) {
        std::weak_ptr<Impl> weak = weak_from_this();
        deps.executors.io([weak, &p, matched] {
          if (auto self = weak.lock()) self->finishChannel(p, matched, Status{});
        });
        return true;
      }
      if (late) {
        spdlog::info("probe {}: a late reply from {} on {} was dropped", p.config.name, p.config.to, p.channelId);
        return true;
      }
    }
    return false;
  }

  /// The health record's detail of a run of `p` that took `elapsedMs` and ended with `outcome`.
  static std::string describe(const Probe& p, int64_t elapsedMs, const Status& outcome) {
    if (p.config.kind == "provider") {
      return outcome ? fmt::format("{} answered in {} ms", p.config.model, elapsedMs)
                     : fmt::format("{} failed after {} ms: {}", p.config.model, elapsedMs, outcome.error().message);
    }
    if (p.config.kind == "channel") {
      return outcome ? fmt::format("{} answered on {} in {} ms", p.config.to, p.channelId, elapsedMs)
                     : outcome.error().message;
    }
    return outcome ? std::string("the scheduler is on time") : outcome.error().message;
  }

  void finish(Probe& p, int64_t startedMs, Status outcome) {
    bool changed = false;
    int64_t failuresInARow = 0;
    {
      std::lock_guard lock(mu);
      p.running = false;
      if (stopped) return;
      changed = p.lastOk != outcome.has_value();
      p.lastOk = outcome.has_value();
      p.failuresInARow = outcome ? 0 : p.failuresInARow + 1;
      failuresInARow = p.failuresInARow;
    }
    const int64_t elapsedMs = std::max<int64_t>(0, deps.clock->nowMs() - startedMs);
    p.duration.set(static_cast<double>(elapsedMs) / 1000.0);
    const std::string detail = describe(p, elapsedMs, outcome);
    if (outcome) {
      p.ok.inc();
      p.success.set(1);
    } else {
      p.failed.inc();
      p.success.set(0);
    }
    deps.health->set({p.component, "result", outcome ? HealthState::kOk : HealthState::kFailed, detail, false});
    if (changed) {
      if (outcome) {
        spdlog::info("probe {}: ok ({})", p.config.name, detail);
      } else {
        spdlog::warn("probe {}: failed ({})", p.config.name, detail);
      }
    }
    if (deps.alerts == nullptr) return;
    if (outcome) {
      deps.alerts->resolve(p.component, fmt::format("Probe {} is ok again: {}.", p.config.name, detail));
    } else if (failuresInARow >= p.config.alertAfter) {
      Alert a;
      a.key = p.component;
      a.severity = AlertSeverity::kWarning;
      a.title = fmt::format("Probe {} is failing", p.config.name);
      a.text = fmt::format("Synthetic probe {} ({}) failed {} times in a row: {}", p.config.name, p.config.kind,
                           failuresInARow, detail);
      a.fields = {{"probe", p.config.name}, {"kind", p.config.kind}, {"failures", std::to_string(failuresInARow)}};
      if (!p.config.model.empty()) a.fields.emplace_back("model", p.config.model);
      if (p.config.kind == "channel") {
        a.fields.emplace_back("channel", p.channelId);
        a.fields.emplace_back("to", p.config.to);
      }
      deps.alerts->raise(std::move(a));
    }
  }

  SyntheticProbesDeps deps;
  std::vector<std::unique_ptr<Probe>> probes;
  std::mutex mu;
  bool stopped = false;
  bool started = false;
  std::optional<uint64_t> interceptor;  // the id in deps.inbound, between start() and stop()
};

Result<std::unique_ptr<SyntheticProbes>> SyntheticProbes::create(SyntheticProbesDeps deps) {
  if (!deps.health || !deps.metrics || !deps.clock || !deps.executors.io || !deps.executors.blocking ||
      !deps.executors.after) {
    return fail(ErrorCode::kInvalidArgument, "synthetic probes need health, metrics, a clock and executors");
  }
  auto families = deps.metrics->add(kSyntheticProbeMetrics);
  if (!families) return fail(families.error());
  auto impl = std::make_shared<Impl>(std::move(deps));
  for (std::size_t i = 0; i < impl->deps.probes.size(); ++i) {
    const auto& c = impl->deps.probes[i];
    auto p = std::make_unique<Impl::Probe>();
    p->config = c;
    p->component = "probe:" + c.name;
    if (c.kind == "provider") {
      const auto slash = c.model.find('/');
      const std::string providerId = c.model.substr(0, slash);
      p->vendorModel = slash == std::string::npos ? c.model : c.model.substr(slash + 1);
      auto found = impl->deps.providers.find(providerId);
      if (found == impl->deps.providers.end()) {
        const std::string msg = fmt::format(
            "gateway.probes[{}].model: provider \"{}\" of probe \"{}\" is not configured (models.providers)", i,
            providerId, c.name);
        return fail(ErrorCode::kConfigInvalid, msg, msg);
      }
      p->provider = found->second;
    }
    if (c.kind == "channel") {
      if (!impl->deps.outbound || !impl->deps.inbound) {
        return fail(ErrorCode::kInvalidArgument, "channel probes need the outbox and the inbound interceptors");
      }
      p->channelId = c.channel + ":" + c.accountId;
      p->peer = routing::parsePeerTarget(c.to);
    }
    auto ok = (*families)[0]->counter({c.name, "ok"});
    auto failed = (*families)[0]->counter({c.name, "failed"});
    auto success = (*families)[1]->gauge({c.name});
    auto duration = (*families)[2]->gauge({c.name});
    if (!ok || !failed || !success || !duration) {
      return fail(ErrorCode::kInternal, "probe metrics could not be created for " + c.name);
    }
    p->ok = *ok;
    p->failed = *failed;
    p->success = *success;
    p->duration = *duration;
    impl->deps.health->set({p->component, "result", HealthState::kUnknown, "not run yet", false});
    impl->probes.push_back(std::move(p));
  }
  return std::unique_ptr<SyntheticProbes>(new SyntheticProbes(std::move(impl)));
}

SyntheticProbes::SyntheticProbes(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

SyntheticProbes::~SyntheticProbes() { stop(); }

void SyntheticProbes::start() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->started || impl_->stopped) return;
    impl_->started = true;
  }
  const bool anyChannelProbe = std::any_of(impl_->probes.begin(), impl_->probes.end(),
                                           [](const auto& p) { return p->config.kind == "channel"; });
  if (anyChannelProbe) {
    std::weak_ptr<Impl> weak = impl_;
    const uint64_t id = impl_->deps.inbound->add([weak](std::string_view, const routing::InboundMessage& message) {
      auto self = weak.lock();
      return self && self->intercept(message);
    });
    std::lock_guard lock(impl_->mu);
    impl_->interceptor = id;
  }
  for (auto& p : impl_->probes) {
    impl_->run(*p);
    impl_->schedule(*p);
  }
}

void SyntheticProbes::stop() {
  std::vector<TimerHandlePtr> timers;
  std::optional<uint64_t> interceptor;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopped = true;
    for (auto& p : impl_->probes) {
      if (p->timer) timers.push_back(std::move(p->timer));
      if (p->channelRun.deadline) timers.push_back(std::move(p->channelRun.deadline));
    }
    interceptor = std::exchange(impl_->interceptor, std::nullopt);
  }
  for (auto& t : timers) t->cancel();
  if (interceptor) impl_->deps.inbound->remove(*interceptor);
}

bool SyntheticProbes::runNow(const std::string& name) {
  for (auto& p : impl_->probes) {
    if (p->config.name == name) return impl_->run(*p);
  }
  return false;
}

}  // namespace talon::gateway::health
