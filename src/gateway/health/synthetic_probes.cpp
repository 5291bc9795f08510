#include "gateway/health/synthetic_probes.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <mutex>

#include "gateway/health/alert_router.h"

namespace talon::gateway::health {

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
    std::string detail;
    if (outcome) {
      p.ok.inc();
      p.success.set(1);
      detail = p.config.kind == "provider" ? fmt::format("{} answered in {} ms", p.config.model, elapsedMs)
                                           : std::string("the scheduler is on time");
    } else {
      p.failed.inc();
      p.success.set(0);
      detail = p.config.kind == "provider"
                   ? fmt::format("{} failed after {} ms: {}", p.config.model, elapsedMs, outcome.error().message)
                   : outcome.error().message;
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
      deps.alerts->raise(std::move(a));
    }
  }

  SyntheticProbesDeps deps;
  std::vector<std::unique_ptr<Probe>> probes;
  std::mutex mu;
  bool stopped = false;
  bool started = false;
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
  for (auto& p : impl_->probes) {
    impl_->run(*p);
    impl_->schedule(*p);
  }
}

void SyntheticProbes::stop() {
  std::vector<TimerHandlePtr> timers;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopped = true;
    for (auto& p : impl_->probes) {
      if (p->timer) timers.push_back(std::move(p->timer));
    }
  }
  for (auto& t : timers) t->cancel();
}

bool SyntheticProbes::runNow(const std::string& name) {
  for (auto& p : impl_->probes) {
    if (p->config.name == name) return impl_->run(*p);
  }
  return false;
}

}  // namespace talon::gateway::health
