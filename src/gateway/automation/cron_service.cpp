#include "gateway/automation/cron_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "base/ids.h"
#include "base/text.h"
#include "gateway/channels/outbound_dispatcher.h"
#include "gateway/health/alert_router.h"
#include "gateway/routing/id_normalization.h"
#include "gateway/routing/session_key.h"
#include "store/session_route_repository.h"

namespace talon::gateway::automation {

namespace {

constexpr std::size_t kSummaryMaxChars = 2000;
constexpr int64_t kScheduleErrorsBeforeDisable = 3;  // OpenClaw's backstop for schedule errors

/// One line, at most `max` bytes (cut at a UTF-8 boundary).
std::string oneLine(std::string_view s, std::size_t max = 500) {
  std::string out;
  out.reserve(std::min(s.size(), max));
  for (char c : s) {
    out.push_back(c == '\n' || c == '\r' ? ' ' : c);
    if (out.size() >= max) break;
  }
  while (!out.empty() && out.size() >= max && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
  return out;
}

/// The effective failure-alert policy of one job.
struct AlertPolicy {
  bool enabled = false;
  int64_t after = 2;
  int64_t cooldownMs = 3'600'000;
  bool includeSkipped = false;
  CronRoute route;
};

AlertPolicy alertPolicy(const config::CronFailureAlertConfig& global, const CronJobSpec& spec) {
  AlertPolicy p;
  const CronJobAlert& job = spec.failureAlert;
  if (job.setting == CronJobAlert::Setting::kOff) return p;
  // Route precedence (OpenClaw): the job's failureAlert fields, then delivery.failureDestination over the
  // global destination, then the primary announce target.
  CronRoute route;
  route.mode = "announce";
  bool hasRoute = false;
  if (spec.delivery.mode == "announce" && !spec.delivery.channel.empty() && spec.delivery.channel != "last" &&
      !spec.delivery.to.empty()) {
    route = spec.delivery;
    route.mode = "announce";
    hasRoute = true;
  }
  if (global.configured && (!global.to.empty() || !global.channel.empty())) {
    route = CronRoute{global.mode, global.channel, global.to, global.accountId, {}};
    hasRoute = true;
  }
  if (spec.failureDestination) {
    route = *spec.failureDestination;
    hasRoute = true;
  }
  if (job.mode) route.mode = *job.mode;
  if (job.channel) route.channel = *job.channel;
  if (job.to) route.to = *job.to;
  if (job.accountId) route.accountId = *job.accountId;
  if (job.mode || job.channel || job.to) hasRoute = true;

  if (job.setting == CronJobAlert::Setting::kOverride) {
    p.enabled = true;
  } else if (global.configured) {
    p.enabled = global.enabled && !spec.bestEffort;
  } else {
    // Quiet unless the job already has a route (OpenClaw's default); bestEffort suppresses inherited alerts.
    p.enabled = hasRoute && !spec.bestEffort;
  }
  p.after = job.after.value_or(global.after);
  p.cooldownMs = job.cooldownMs.value_or(global.cooldownMs);
  p.includeSkipped = job.includeSkipped.value_or(global.includeSkipped);
  p.route = route;
  if (p.route.mode == "webhook" && p.route.to.rfind("http", 0) != 0) p.enabled = false;
  if (p.route.mode == "announce" && (p.route.channel.empty() || p.route.channel == "last" || p.route.to.empty())) {
    p.enabled = false;
  }
  return p;
}

}  // namespace

int64_t cronRetryDelayMs(const config::CronEscalationConfig& escalation, int64_t consecutiveErrors) {
  return Escalation::retryDelayMs(EscalationPolicy::fromConfig(escalation), consecutiveErrors);
}

struct CronService::Impl : std::enable_shared_from_this<CronService::Impl> {
  struct Job {
    store::CronJobRow row;
    std::optional<CronJobSpec> spec;  // nullopt: the stored definition no longer reads (see specError)
    std::string specError;
    bool running = false;
    store::CronRunRow run;  // the run in progress
  };

  /// What a run needs once the lock is released.
  struct Launch {
    std::string jobId;
    store::CronRunRow run;
    TurnRequest request;
    /// A systemEvent for the heartbeat of request.agentId instead of a turn.
    bool viaHeartbeat = false;
    /// A systemEvent with wakeMode "next-heartbeat" (fails when the agent has no heartbeat).
    bool waitsForHeartbeat = false;
    bool wakeNow = false;
    /// An isolated agentTurn: the local-endpoint preflight (cron_preflight.h) goes first.
    bool preflight = false;
  };

  CronServiceDeps deps;
  mutable std::mutex mu;
  std::map<std::string, Job> jobs;
  TimerHandlePtr timer;
  int64_t timerAtMs = 0;
  bool isStarted = false;
  bool stopped = false;

  health::MetricFamily* runsTotal = nullptr;
  health::MetricFamily* consecutiveErrors = nullptr;
  health::MetricFamily* lastSuccess = nullptr;
  health::MetricFamily* escalations = nullptr;

  Escalation escalation;

  explicit Impl(CronServiceDeps d) : deps(std::move(d)), escalation(deps.clock) {}

  int64_t now() const { return deps.clock->nowMs(); }
  store::CronRepository repo() const { return store::CronRepository(*deps.store); }

  std::string agentOf(const Job& job) const {
    return job.row.agentId.empty() ? deps.defaultAgentId : routing::normalizeAgentId(job.row.agentId);
  }

  /// The escalation numbers of `spec`: its own `escalation` over cron.escalation. A job whose override no
  /// longer fits the global numbers (cron.escalation changed since) falls back to them, with a warning.
  config::CronEscalationConfig escalationOf(const std::string& jobId, const CronJobSpec& spec) const {
    auto merged = spec.escalation.over(deps.config.escalation);
    if (merged) return *merged;
    spdlog::warn("cron job {}: its escalation override does not fit cron.escalation ({}); using cron.escalation", jobId,
                 merged.error().message);
    return deps.config.escalation;
  }

  // --- observability ------------------------------------------------------------------------------

  void count(health::MetricFamily* family, std::string_view label) {
    if (auto c = family->counter({label})) c->inc();
  }

  void observeJob(const Job& job) {
    if (auto g = consecutiveErrors->gauge({job.row.id})) g->set(static_cast<double>(job.row.state.consecutiveErrors));
    if (auto g = lastSuccess->gauge({job.row.id})) {
      g->set(static_cast<double>(job.row.state.lastSuccessAtMs) / 1000.0);
    }
    const auto& s = job.row.state;
    health::HealthReport r;
    std::string component = "cron:" + job.row.id;
    r.component = component;
    r.dimension = "runs";
    std::string detail;
    if (!job.spec) {
      r.state = health::HealthState::kFailed;
      detail = "the stored definition does not read: " + job.specError;
    } else if (!s.autoDisabledReason.empty()) {
      r.state = health::HealthState::kFailed;
      detail = fmt::format("auto-disabled ({}) after {} consecutive errors; last error: {}", s.autoDisabledReason,
                           s.consecutiveErrors, s.lastError);
    } else if (s.consecutiveErrors > 0) {
      r.state = health::HealthState::kDegraded;
      detail = fmt::format("{} consecutive errors; next attempt at {} ms; last error: {}", s.consecutiveErrors,
                           s.nextRunAtMs, s.lastError);
    } else {
      r.state = health::HealthState::kOk;
      detail = job.row.enabled ? "" : "disabled";
    }
    r.detail = detail;
    deps.health->set(r);
  }

  void audit(std::string kind, const std::string& actor, const std::string& target, json::object details,
             security::AuditOutcome outcome = security::AuditOutcome::kAllowed) {
    security::AuditEvent e;
    e.kind = std::move(kind);
    e.actor = actor;
    e.target = target;
    e.outcome = outcome;
    e.details = std::move(details);
    deps.audit->record(std::move(e));
  }

  void publish(json::object payload) {
    GatewayEvent e;
    e.name = "cron";
    if (auto r = payload.find("runId"); r != payload.end() && r->value().is_string()) {
      e.runId = std::string(r->value().as_string());
    }
    e.payloadJson = std::make_shared<const std::string>(json::serialize(payload));
    deps.bus->publish(e);
  }

  // --- scheduling ---------------------------------------------------------------------------------

  /// The next slot of `job` strictly after `afterMs` (0: none). A schedule error counts towards the
  /// schedule-errors backstop.
  int64_t nextSlot(Job& job, int64_t afterMs) {
    if (!job.spec) return 0;
    auto next = nextRunAt(job.spec->schedule, job.row.id, job.row.createdAtMs, afterMs);
    if (!next) {
      ++job.row.state.scheduleErrors;
      job.row.state.lastError = oneLine("schedule: " + next.error().message);
      spdlog::warn("cron job {}: cannot compute its next run: {}", job.row.id, next.error().toString());
      return 0;
    }
    job.row.state.scheduleErrors = 0;
    return next->value_or(0);
  }

  /// Arms the one timer for the earliest due job (lock held).
  void arm() {
    if (!isStarted || stopped) return;
    int64_t earliest = 0;
    for (const auto& [id, job] : jobs) {
      if (!job.row.enabled || !job.spec || job.row.state.nextRunAtMs <= 0) continue;
      if (earliest == 0 || job.row.state.nextRunAtMs < earliest) earliest = job.row.state.nextRunAtMs;
    }
    if (timer && earliest == timerAtMs && earliest != 0) return;
    if (timer) timer->cancel();
    timer.reset();
    timerAtMs = earliest;
    if (earliest == 0) return;
    int64_t delay = std::max<int64_t>(0, earliest - now());
    std::weak_ptr<Impl> weak = weak_from_this();
    timer = deps.executors.after(std::chrono::milliseconds(delay), [weak] {
      auto self = weak.lock();
      if (!self) return;
      self->deps.executors.blocking([self] { self->tick(); });
    });
  }

  Status write(store::WriteBatch batch) { return deps.store->write(std::move(batch)); }

  /// The session a run of `job` uses.
  std::string sessionKeyFor(const Job& job, const std::string& runId) const {
    const std::string agent = agentOf(job);
    const std::string& target = job.spec->sessionTarget;
    if (target == "main") return routing::buildMainSessionKey(agent);
    if (target.rfind("session:", 0) == 0) {
      std::string key = target.substr(8);
      if (routing::parseAgentSessionKey(key)) return routing::normalizeSessionKey(key);
      return routing::normalizeSessionKey(fmt::format("agent:{}:{}", agent, key));
    }
    return fmt::format("agent:{}:cron:{}:run:{}", agent, job.row.id, runId);
  }

  /// Starts a run of `job` (lock held): records it and returns what to submit once the lock is released.
  /// Errors: the store's (nothing started).
  Result<Launch> begin(Job& job, std::string trigger, int64_t scheduledAtMs) {
    const int64_t t = now();
    store::CronRunRow run;
    run.id = newUuid();
    run.jobId = job.row.id;
    run.trigger = std::move(trigger);
    run.scheduledAtMs = scheduledAtMs;
    run.startedAtMs = t;
    run.status = "running";
    run.runId = run.id;
    run.sessionKey = sessionKeyFor(job, run.id);
    run.deliveryStatus = job.spec->delivery.mode == "none" ? "not-requested" : "unknown";

    store::CronJobState state = job.row.state;
    state.runningSinceMs = t;
    state.lastRunAtMs = t;
    if (run.trigger != "manual") {
      Job probe = job;
      state.nextRunAtMs = nextSlot(probe, t);
      state.scheduleErrors = probe.row.state.scheduleErrors;
    }
    store::WriteBatch batch;
    store::CronRepository::insertRun(batch, run);
    store::CronRepository::updateState(batch, job.row.id, state);
    if (auto s = write(std::move(batch)); !s) {
      spdlog::error("cron job {}: the run could not be recorded: {}", job.row.id, s.error().toString());
      return fail(s.error());
    }
    job.row.state = state;
    job.running = true;
    job.run = run;

    Launch launch;
    launch.jobId = job.row.id;
    launch.run = run;
    TurnRequest& req = launch.request;
    req.runId = run.id;
    req.agentId = agentOf(job);
    req.sessionKey = run.sessionKey;
    req.message = job.spec->payloadText;
    req.channel = "cron";
    if (job.spec->timeoutMs > 0) req.timeout = std::chrono::milliseconds(job.spec->timeoutMs);
    std::weak_ptr<Impl> weak = weak_from_this();
    req.onDone = [weak, jobId = job.row.id, runId = run.id](const TurnOutcome& outcome) {
      auto self = weak.lock();
      if (!self) return;
      self->deps.executors.blocking([self, jobId, runId, outcome] { self->onTurnDone(jobId, runId, outcome); });
    };
    launch.preflight = job.spec->payloadKind == "agentTurn" && job.spec->sessionTarget == "isolated";
    if (job.spec->payloadKind == "systemEvent") {
      launch.waitsForHeartbeat = job.spec->wakeMode == "next-heartbeat";
      launch.wakeNow = job.spec->wakeMode == "now";
      launch.viaHeartbeat = deps.heartbeat != nullptr && deps.heartbeat->has(req.agentId);
    }
    publish(json::object{{"jobId", job.row.id},
                         {"action", "started"},
                         {"runAtMs", t},
                         {"runId", run.id},
                         {"sessionKey", run.sessionKey}});
    return launch;
  }

  /// Submits the turns of `launches` (lock released); a refused submit finishes its run as an error.
  void submit(std::vector<Launch> launches) {
    for (auto& l : launches) {
      if (l.viaHeartbeat) {
        const std::string agent = l.request.agentId;
        auto queued = deps.heartbeat->enqueueSystemEvent(agent, l.request.message);
        Status woke;
        if (queued && l.wakeNow) woke = deps.heartbeat->wake(agent, "cron:" + l.jobId);
        if (!queued || !woke) {
          const Error& e = !queued ? queued.error() : woke.error();
          finish(l.jobId, l.run.id, "error", oneLine("heartbeat: " + e.message), "", "not-delivered");
        } else {
          finish(l.jobId, l.run.id, "ok", "", l.wakeNow ? "woke the heartbeat" : "queued for the next heartbeat", "");
        }
        continue;
      }
      if (l.waitsForHeartbeat) {
        finish(l.jobId, l.run.id, "error",
               "wakeMode \"next-heartbeat\": agent " + l.request.agentId + " has no heartbeat to wait for", "",
               "not-delivered");
        continue;
      }
      if (l.preflight && deps.preflight) {
        const std::string agent = l.request.agentId;
        std::weak_ptr<Impl> weak = weak_from_this();
        auto launch = std::make_shared<Launch>(std::move(l));
        deps.preflight->check(agent, [weak, launch](CronPreflightResult result) {
          auto self = weak.lock();
          if (!self) return;
          self->deps.executors.blocking([self, launch, result = std::move(result)] {
            if (!result.available) {
              // Every model of the chain is a local endpoint that did not answer: no model call.
              spdlog::warn("cron job {}: run {} skipped: {}", launch->jobId, launch->run.id, result.reason);
              return self->finish(launch->jobId, launch->run.id, "skipped", oneLine(result.reason), "",
                                  "not-delivered");
            }
            self->submitTurn(std::move(*launch));
          });
        });
        continue;
      }
      submitTurn(std::move(l));
    }
  }

  /// Submits the turn of `l` to the runner (lock released); a refused submit finishes its run as an error.
  void submitTurn(Launch l) {
    auto s = deps.runner->submit(std::move(l.request));
    if (!s) {
      spdlog::warn("cron job {}: the turn was refused: {}", l.jobId, s.error().toString());
      finish(l.jobId, l.run.id, "error", oneLine(s.error().message), "", "not-delivered");
    }
  }

  /// Records a slot that came due while the job still ran (lock held).
  void recordSkipped(Job& job, int64_t scheduledAtMs) {
    const int64_t t = now();
    store::CronRunRow run;
    run.id = newUuid();
    run.jobId = job.row.id;
    run.trigger = "schedule";
    run.scheduledAtMs = scheduledAtMs;
    run.startedAtMs = t;
    run.status = "running";
    run.deliveryStatus = "not-requested";
    store::CronRunRow done = run;
    done.finishedAtMs = t;
    done.status = "skipped";
    done.error = "already running";
    store::CronJobState state = job.row.state;
    state.consecutiveSkipped += 1;
    Job probe = job;
    state.nextRunAtMs = nextSlot(probe, t);
    store::WriteBatch batch;
    store::CronRepository::insertRun(batch, run);
    store::CronRepository::finishRun(batch, done, deps.runHistoryPerJob);
    store::CronRepository::updateState(batch, job.row.id, state);
    if (auto s = write(std::move(batch)); !s) {
      spdlog::error("cron job {}: a skipped slot could not be recorded: {}", job.row.id, s.error().toString());
      job.row.state.nextRunAtMs = state.nextRunAtMs;  // never fire the same slot in a loop
      return;
    }
    job.row.state = state;
    count(runsTotal, "skipped");
    spdlog::warn("cron job {}: the slot at {} ms was skipped: the previous run is still going", job.row.id,
                 scheduledAtMs);
    publish(json::object{{"jobId", job.row.id},
                         {"action", "finished"},
                         {"status", "skipped"},
                         {"error", "already running"},
                         {"runAtMs", t},
                         {"durationMs", 0},
                         {"nextRunAtMs", state.nextRunAtMs}});
  }

  void tick() {
    std::vector<Launch> launches;
    {
      std::lock_guard lock(mu);
      timer.reset();
      timerAtMs = 0;
      if (!isStarted || stopped) return;
      const int64_t t = now();
      for (auto& [id, job] : jobs) {
        if (!job.row.enabled || !job.spec || job.row.state.nextRunAtMs <= 0 || job.row.state.nextRunAtMs > t) continue;
        const int64_t slot = job.row.state.nextRunAtMs;
        if (job.running) {
          recordSkipped(job, slot);
          continue;
        }
        const bool retry = job.row.state.consecutiveErrors > 0;
        auto launch = begin(job, retry ? "retry" : "schedule", slot);
        if (launch) {
          launches.push_back(std::move(*launch));
        } else {
          // Not recorded: try again after the backoff rather than in a tight loop.
          job.row.state.nextRunAtMs = t + cronRetryDelayMs(escalationOf(id, *job.spec), 1);
        }
      }
      arm();
    }
    submit(std::move(launches));
  }

  // --- completion and escalation ------------------------------------------------------------------

  void onTurnDone(const std::string& jobId, const std::string& runId, const TurnOutcome& outcome) {
    std::string status = outcome.error ? "error" : "ok";
    std::string error = outcome.error ? oneLine(outcome.error->message) : "";
    std::optional<CronRoute> delivery;
    std::string jobName;
    std::vector<std::string> routeSessions;  // whose last route an announce without a target follows
    {
      std::lock_guard lock(mu);
      auto it = jobs.find(jobId);
      if (it != jobs.end() && it->second.spec && status == "ok" && it->second.spec->delivery.mode != "none") {
        delivery = it->second.spec->delivery;
        jobName = it->second.row.name;
        const std::string& target = it->second.spec->sessionTarget;
        if (target.rfind("session:", 0) == 0) routeSessions.push_back(sessionKeyFor(it->second, runId));
        routeSessions.push_back(routing::buildMainSessionKey(agentOf(it->second)));
      }
    }
    std::string lastRouteProblem;
    if (delivery && delivery->mode == "announce") lastRouteProblem = resolveLastRoute(*delivery, routeSessions);
    if (!delivery) {
      finish(jobId, runId, status, error, outcome.text, status == "ok" ? "" : "not-delivered");
      return;
    }
    std::weak_ptr<Impl> weak = weak_from_this();
    auto done = [weak, jobId, runId, text = outcome.text](bool delivered, std::string why) {
      auto self = weak.lock();
      if (!self) return;
      self->deps.executors.blocking([self, jobId, runId, text, delivered, why] {
        if (!delivered) spdlog::warn("cron job {}: run {} was not delivered: {}", jobId, runId, why);
        self->finish(jobId, runId, "ok", "", text, delivered ? "delivered" : "not-delivered", why);
      });
    };
    if (delivery->mode == "announce") {
      if (!lastRouteProblem.empty()) return done(false, lastRouteProblem);
      if (!deps.outbound) return done(false, "no outbox is wired");
      channels::OutboundMessage m;
      m.accountId = delivery->accountId;
      m.peer = routing::parsePeerTarget(delivery->to);
      if (!delivery->threadId.empty()) m.threadId = delivery->threadId;
      m.text = outcome.text.empty() ? fmt::format("Cron job \"{}\" finished.", jobName) : outcome.text;
      m.runId = runId;
      std::string channelId =
          delivery->accountId.empty() ? delivery->channel : delivery->channel + ":" + delivery->accountId;
      deps.outbound->deliver(
          channelId, std::move(m), "cron-run:" + runId,
          [done](Result<store::OutboundDelivery> first) {
            if (!first) return done(false, first.error().message);
            if (first->state == store::DeliveryState::kSent) return done(true, "");
            done(false,
                 first->lastError.empty() ? std::string(store::deliveryStateName(first->state)) : first->lastError);
          },
          nullptr);
      return;
    }
    // webhook
    if (!deps.webhooks) return done(false, "no webhook sender is wired");
    json::object body{{"jobId", jobId},
                      {"jobName", jobName},
                      {"runId", runId},
                      {"status", "ok"},
                      {"summary", truncateUtf8(outcome.text, kSummaryMaxChars)},
                      {"action", "finished"}};
    deps.webhooks->send(webhookTarget(delivery->to), std::move(body),
                        [done](WebhookDelivery d) { done(d.delivered, d.error ? d.error->message : std::string()); });
  }

  /// Completes an announce without a channel ("last" or unset) or without `to` from the last route of the
  /// first of `sessions` that has one (the job's own session, then the agent's main session; recorded
  /// when a channel message reaches it, store/session_route_repository.h), as OpenClaw's delivery
  /// channel "last" does. An explicit channel takes the route's recipient only when the route is on that
  /// channel; an explicit `to` or `accountId` is kept. Returns why it cannot ("" when `route` is whole).
  std::string resolveLastRoute(CronRoute& route, const std::vector<std::string>& sessions) const {
    const bool wantsChannel = route.channel.empty() || route.channel == "last";
    if (!wantsChannel && !route.to.empty()) return "";
    if (deps.store == nullptr) return "no state store to read the last route from";
    for (const auto& key : sessions) {
      auto last = store::SessionRouteRepository(*deps.store).get(key);
      if (!last) return "the last route cannot be read: " + last.error().message;
      if (!*last) continue;
      const store::SessionRouteRecord& r = **last;
      if (!wantsChannel && r.channel != route.channel) continue;
      const bool sameConversation = route.to.empty() || route.to == r.to;
      route.channel = r.channel;
      if (route.to.empty()) route.to = r.to;
      if (route.accountId.empty()) route.accountId = r.accountId;
      if (route.threadId.empty() && sameConversation) route.threadId = r.threadId;
      return "";
    }
    return wantsChannel ? fmt::format(
                              "no last route: no channel message has reached session {} yet (set "
                              "delivery.channel and delivery.to)",
                              sessions.empty() ? std::string("?") : sessions.back())
                        : fmt::format("delivery.to is missing and session {} has no last route on channel {}",
                                      sessions.empty() ? std::string("?") : sessions.back(), route.channel);
  }

  WebhookTarget webhookTarget(const std::string& url) const {
    WebhookTarget t;
    t.url = url;
    if (!deps.config.webhookToken.empty()) {
      t.headers.emplace_back("Authorization", "Bearer " + deps.config.webhookToken);
      t.secret = deps.config.webhookToken;
    }
    return t;
  }

  /// Sends a failure alert or a recovery notice on `route` (lock released). The outcome is logged and
  /// audited; a failed alert is never silent.
  void sendAlert(const CronRoute& route, const std::string& jobId, const std::string& kind, std::string text,
                 json::object fields) {
    auto report = [audit = deps.audit, jobId, kind](bool ok, const std::string& why) {
      security::AuditEvent e;
      e.kind = "cron.alert.delivery";
      e.actor = "system";
      e.target = jobId;
      e.outcome = ok ? security::AuditOutcome::kAllowed : security::AuditOutcome::kFailed;
      e.details = json::object{{"alert", kind}};
      if (!ok) {
        e.details["error"] = why;
        spdlog::error("cron job {}: the {} alert was not delivered: {}", jobId, kind, why);
      }
      audit->record(std::move(e));
    };
    if (route.mode == "webhook") {
      if (!deps.webhooks) return report(false, "no webhook sender is wired");
      fields["kind"] = "cron." + kind;
      fields["text"] = text;
      deps.webhooks->send(webhookTarget(route.to), std::move(fields), [report](WebhookDelivery d) {
        report(d.delivered, d.error ? d.error->message : std::string());
      });
      return;
    }
    if (!deps.outbound) return report(false, "no outbox is wired");
    channels::OutboundMessage m;
    m.accountId = route.accountId;
    m.peer = routing::parsePeerTarget(route.to);
    if (!route.threadId.empty()) m.threadId = route.threadId;
    m.text = std::move(text);
    std::string channelId = route.accountId.empty() ? route.channel : route.channel + ":" + route.accountId;
    deps.outbound->deliver(
        channelId, std::move(m), fmt::format("cron-{}:{}:{}", kind, jobId, now()),
        [report](Result<store::OutboundDelivery> first) {
          if (!first) return report(false, first.error().message);
          // A pending delivery is retried by the outbox, which reports its own final failure.
          report(first->state != store::DeliveryState::kFailed, first->lastError);
        },
        nullptr);
  }

  struct PendingAlert {
    CronRoute route;
    std::string jobId;
    std::string kind;
    std::string text;
    json::object fields;
  };

  /// An incident for gateway.alerts (health/alert_router.h): raised, or resolved with `alert.text`.
  struct RouterIncident {
    bool resolve = false;
    health::Alert alert;
  };

  void escalate(const Job& job, std::string_view action, json::object details) {
    count(escalations, action);
    details["action"] = std::string(action);
    details["consecutiveErrors"] = job.row.state.consecutiveErrors;
    audit("cron.escalation", "system", job.row.id, details);
    json::object event{{"jobId", job.row.id},
                       {"action", "updated"},
                       {"escalation", std::string(action)},
                       {"job", cronJobToJson(job.row)}};
    publish(std::move(event));
  }

  /// Ends run `runId` of `jobId` with its outcome: records it, updates the job's state and escalates.
  void finish(const std::string& jobId, const std::string& runId, const std::string& status, const std::string& error,
              const std::string& summary, const std::string& deliveryStatus, const std::string& deliveryError = {}) {
    std::vector<PendingAlert> alerts;
    std::vector<RouterIncident> incidents;
    {
      std::lock_guard lock(mu);
      auto it = jobs.find(jobId);
      if (it == jobs.end() || !it->second.running || it->second.run.id != runId) {
        spdlog::info("cron run {} of job {} ended after its job was removed", runId, jobId);
        count(runsTotal, status);
        return;
      }
      Job& job = it->second;
      const int64_t t = now();
      store::CronRunRow run = job.run;
      run.finishedAtMs = t;
      run.status = status;
      run.error = error;
      if (run.error.empty() && !deliveryError.empty()) run.error = oneLine("delivery: " + deliveryError);
      run.summary = truncateUtf8(summary, kSummaryMaxChars);
      run.durationMs = std::max<int64_t>(0, t - run.startedAtMs);
      if (!deliveryStatus.empty()) run.deliveryStatus = deliveryStatus;

      store::CronJobRow updated = job.row;
      store::CronJobState& s = updated.state;
      s.runningSinceMs = 0;
      s.lastRunStatus = status;
      s.lastDurationMs = run.durationMs;
      const CronJobSpec& spec = *job.spec;
      AlertPolicy policy = alertPolicy(deps.config.failureAlert, spec);
      std::vector<std::pair<std::string, json::object>> actions;
      bool removeAfter = false;

      EscalationPolicy escalationPolicy = EscalationPolicy::fromConfig(escalationOf(job.row.id, spec));
      escalationPolicy.alertEnabled = policy.enabled;
      escalationPolicy.alertAfter = policy.after;
      escalationPolicy.alertCooldownMs = policy.cooldownMs;
      EscalationState escalationState{s.consecutiveErrors, s.alertedAtMs, s.alertsSent};
      const int64_t errorsBefore = s.consecutiveErrors;
      // gateway.alerts gets every job's incidents (after `after` failures, like the route alert), except
      // a job whose failureAlert is false; the router keeps its own once-per-incident and cooldown.
      const bool toRouter = deps.alerts != nullptr && spec.failureAlert.setting != CronJobAlert::Setting::kOff;
      const std::string incidentKey = "cron:" + job.row.id;
      auto incident = [&](health::AlertSeverity severity, std::string title, std::string text) {
        health::Alert a;
        a.key = incidentKey;
        a.severity = severity;
        a.title = std::move(title);
        a.text = std::move(text);
        a.fields = {{"jobId", job.row.id},
                    {"jobName", job.row.name},
                    {"agentId", agentOf(job)},
                    {"consecutiveErrors", std::to_string(escalationState.consecutiveErrors)}};
        return a;
      };

      if (status == "ok") {
        EscalationOutcome outcome = escalation.recordSuccess(escalationState);
        s.lastError.clear();
        s.consecutiveSkipped = 0;
        s.lastSuccessAtMs = t;
        if (outcome.has(EscalationAction::kRecovery)) {
          if (policy.enabled) {
            alerts.push_back(PendingAlert{policy.route, job.row.id, "recovery",
                                          fmt::format("Cron job \"{}\" (agent {}) recovered after {} failed runs.",
                                                      updated.name, agentOf(job), outcome.failedRuns),
                                          json::object{{"jobId", job.row.id},
                                                       {"jobName", updated.name},
                                                       {"agentId", agentOf(job)},
                                                       {"count", outcome.failedRuns}}});
          }
          actions.emplace_back("recovery", json::object{{"failedRuns", outcome.failedRuns}});
        }
        if (toRouter) {  // a no-op unless the incident is open (an operator's enable resets the errors)
          incidents.push_back(RouterIncident{
              true, health::Alert{
                        incidentKey,
                        health::AlertSeverity::kInfo,
                        "",
                        errorsBefore > 0
                            ? fmt::format("Cron job \"{}\" (agent {}) succeeded again after {} failed runs.",
                                          updated.name, agentOf(job), errorsBefore)
                            : fmt::format("Cron job \"{}\" (agent {}) succeeded again.", updated.name, agentOf(job)),
                        {}}});
        }
        if (spec.deleteAfterRun && spec.schedule.kind == ScheduleKind::kAt && run.trigger != "manual") {
          removeAfter = true;
        }
      } else if (status == "skipped") {
        // The local-endpoint preflight refused the run (OpenClaw: skipped runs do not increment the
        // execution-error backoff): the schedule goes on; failureAlert.includeSkipped counts it at the next
        // failure, as a slot skipped while the job ran.
        s.lastError = error;
        s.consecutiveSkipped += 1;
      } else {
        s.lastError = error.empty() ? "run failed" : error;
        EscalationOutcome outcome = escalation.recordFailure(escalationState, escalationPolicy, updated.enabled,
                                                             policy.includeSkipped ? s.consecutiveSkipped : 0);
        for (EscalationAction action : outcome.actions) {
          switch (action) {
            case EscalationAction::kDisable:
              updated.enabled = false;
              s.autoDisabledReason = "consecutive-failures";
              s.autoDisabledAtMs = t;
              s.nextRunAtMs = 0;
              actions.emplace_back("disable", json::object{{"reason", "consecutive-failures"}});
              break;
            case EscalationAction::kBackoff:
              s.nextRunAtMs = t + outcome.retryDelayMs;
              actions.emplace_back("backoff",
                                   json::object{{"retryInMs", outcome.retryDelayMs}, {"nextRunAtMs", s.nextRunAtMs}});
              break;
            case EscalationAction::kAlert:
              alerts.push_back(PendingAlert{policy.route, job.row.id, "failure",
                                            fmt::format("Cron job \"{}\" (agent {}) failed {} times in a row: {}",
                                                        updated.name, agentOf(job), outcome.alertCount, s.lastError),
                                            json::object{{"jobId", job.row.id},
                                                         {"jobName", updated.name},
                                                         {"agentId", agentOf(job)},
                                                         {"count", outcome.alertCount},
                                                         {"lastError", s.lastError}}});
              actions.emplace_back("alert", json::object{{"mode", policy.route.mode}, {"count", outcome.alertCount}});
              break;
            case EscalationAction::kRecovery:
              break;
          }
        }
        if (toRouter && !updated.enabled && job.row.enabled) {
          incidents.push_back(RouterIncident{
              false, incident(health::AlertSeverity::kCritical,
                              fmt::format("Cron job \"{}\" was disabled after {} failed runs", updated.name,
                                          escalationState.consecutiveErrors),
                              fmt::format("Cron job \"{}\" (agent {}) failed {} times in a row and was disabled "
                                          "(cron.escalation.disableAfter). Last error: {}\nFix the cause, then "
                                          "`talon cron enable {}`.",
                                          updated.name, agentOf(job), escalationState.consecutiveErrors, s.lastError,
                                          job.row.id))});
        } else if (toRouter && escalationState.consecutiveErrors >= policy.after) {
          incidents.push_back(RouterIncident{
              false, incident(health::AlertSeverity::kWarning, fmt::format("Cron job \"{}\" is failing", updated.name),
                              fmt::format("Cron job \"{}\" (agent {}) failed {} times in a row. Last error: {}\n"
                                          "`talon cron runs {}` shows its runs.",
                                          updated.name, agentOf(job), escalationState.consecutiveErrors, s.lastError,
                                          job.row.id))});
        }
      }
      s.consecutiveErrors = escalationState.consecutiveErrors;
      s.alertedAtMs = escalationState.alertedAtMs;
      s.alertsSent = escalationState.alertsSent;

      store::WriteBatch batch;
      store::CronRepository::finishRun(batch, run, deps.runHistoryPerJob);
      if (removeAfter) {
        store::CronRepository::removeJob(batch, job.row.id);
      } else {
        updated.updatedAtMs = updated.enabled == job.row.enabled ? updated.updatedAtMs : t;
        store::CronRepository::updateJob(batch, updated);
      }
      if (auto w = write(std::move(batch)); !w) {
        spdlog::error("cron job {}: run {} could not be recorded: {}", job.row.id, run.id, w.error().toString());
      }
      job.running = false;
      job.row = updated;
      count(runsTotal, status);
      publish(json::object{{"jobId", job.row.id},
                           {"action", "finished"},
                           {"status", status},
                           {"error", run.error},
                           {"summary", run.summary},
                           {"runId", run.id},
                           {"sessionKey", run.sessionKey},
                           {"deliveryStatus", run.deliveryStatus},
                           {"runAtMs", run.startedAtMs},
                           {"durationMs", run.durationMs},
                           {"nextRunAtMs", s.nextRunAtMs}});
      observeJob(job);
      for (auto& [action, details] : actions) escalate(job, action, std::move(details));
      if (removeAfter) {
        audit("cron.remove", "system", job.row.id, json::object{{"reason", "deleteAfterRun"}});
        publish(json::object{{"jobId", job.row.id}, {"action", "removed"}});
        deps.health->remove("cron:" + job.row.id, "runs");
        jobs.erase(it);
      }
      arm();
    }
    for (auto& a : alerts) sendAlert(a.route, a.jobId, a.kind, std::move(a.text), std::move(a.fields));
    for (auto& i : incidents) {
      if (i.resolve) {
        deps.alerts->resolve(i.alert.key, std::move(i.alert.text));
      } else {
        deps.alerts->raise(std::move(i.alert));
      }
    }
  }

  // --- start ----------------------------------------------------------------------------------------

  Status startLocked(std::vector<Launch>& launches) {
    if (isStarted || stopped) return {};
    const int64_t t = now();
    // Runs a crash left "running" are interrupted: an error of their job.
    auto running = repo().runningRuns();
    if (!running) return fail(running.error());
    for (auto& r : *running) {
      auto it = jobs.find(r.jobId);
      store::WriteBatch batch;
      store::CronRunRow done = r;
      done.finishedAtMs = t;
      done.status = "interrupted";
      done.error = "interrupted: the gateway stopped during the run";
      done.durationMs = std::max<int64_t>(0, t - r.startedAtMs);
      store::CronRepository::finishRun(batch, done, deps.runHistoryPerJob);
      if (it != jobs.end()) {
        auto& s = it->second.row.state;
        s.runningSinceMs = 0;
        s.lastRunStatus = "error";
        s.lastError = done.error;
        s.consecutiveErrors += 1;
        store::CronRepository::updateState(batch, r.jobId, s);
      }
      if (auto w = write(std::move(batch)); !w) return w;
      count(runsTotal, "interrupted");
      spdlog::warn("cron job {}: run {} was interrupted by a stop of the gateway", r.jobId, r.id);
      audit("cron.run.interrupted", "system", r.jobId, json::object{{"runId", r.id}});
    }
    isStarted = true;
    // Catch-up: a missed slot runs once, or (skipMissedJobs) is skipped for the next one.
    for (auto& [id, job] : jobs) {
      if (job.spec) {
        if (job.row.enabled && job.row.state.nextRunAtMs == 0 && job.row.state.lastRunAtMs == 0) {
          job.row.state.nextRunAtMs = nextSlot(job, t);  // never scheduled yet
        }
      }
      observeJob(job);
      if (!job.row.enabled || !job.spec || job.row.state.nextRunAtMs <= 0 || job.row.state.nextRunAtMs > t) continue;
      const int64_t missed = job.row.state.nextRunAtMs;
      const bool oneShot = job.spec->schedule.kind == ScheduleKind::kAt;
      if (deps.config.skipMissedJobs && !oneShot) {
        job.row.state.nextRunAtMs = nextSlot(job, t);
        store::WriteBatch batch;
        store::CronRepository::updateState(batch, id, job.row.state);
        if (auto w = write(std::move(batch)); !w) return w;
        spdlog::info("cron job {}: the slot missed at {} ms is skipped (cron.skipMissedJobs)", id, missed);
        continue;
      }
      auto launch = begin(job, "catch-up", missed);
      if (!launch) return fail(launch.error());
      launches.push_back(std::move(*launch));
    }
    arm();
    return {};
  }

  // --- operations -----------------------------------------------------------------------------------

  Job* find(const std::string& id) {
    auto it = jobs.find(id);
    return it == jobs.end() ? nullptr : &it->second;
  }
  const Job* find(const std::string& id) const {
    auto it = jobs.find(id);
    return it == jobs.end() ? nullptr : &it->second;
  }

  static Error notFound(const std::string& id) {
    Error e(ErrorCode::kNotFound, "no cron job " + id,
            fmt::format("Automation not found: {}. List automations and retry with a current job id.", id));
    e.details = json::object{{"code", "CRON_JOB_NOT_FOUND"}, {"jobId", id}};
    return e;
  }
};

CronService::CronService(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

CronService::~CronService() { stop(); }

Result<std::unique_ptr<CronService>> CronService::create(CronServiceDeps deps) {
  if (!deps.clock || !deps.store || !deps.runner || !deps.health || !deps.metrics || !deps.bus || !deps.audit ||
      !deps.executors.blocking || !deps.executors.after) {
    return fail(ErrorCode::kInvalidArgument,
                "CronService needs a clock, store, runner, registries, bus, audit sink, "
                "blocking executor and timers");
  }
  if (deps.runHistoryPerJob < 1) return fail(ErrorCode::kInvalidArgument, "runHistoryPerJob must be >= 1");
  auto impl = std::make_shared<Impl>(std::move(deps));
  auto families = impl->deps.metrics->add(kCronServiceMetrics);
  if (!families) {
    // A second service over the same registry (tests, a restart in-process) counts on in the families.
    impl->runsTotal = impl->deps.metrics->find(kCronServiceMetrics[0].name);
    impl->consecutiveErrors = impl->deps.metrics->find(kCronServiceMetrics[1].name);
    impl->lastSuccess = impl->deps.metrics->find(kCronServiceMetrics[2].name);
    impl->escalations = impl->deps.metrics->find(kCronServiceMetrics[3].name);
    if (!impl->runsTotal || !impl->consecutiveErrors || !impl->lastSuccess || !impl->escalations) {
      return fail(families.error());
    }
  } else {
    impl->runsTotal = (*families)[0];
    impl->consecutiveErrors = (*families)[1];
    impl->lastSuccess = (*families)[2];
    impl->escalations = (*families)[3];
  }
  auto rows = impl->repo().listJobs();
  if (!rows) return fail(rows.error());
  const int64_t t = impl->now();
  for (auto& row : *rows) {
    Impl::Job job;
    auto parsed = parseJson(row.specJson);
    if (parsed && parsed->is_object()) {
      auto spec = parseCronJobSpec(parsed->as_object(), row.createdAtMs ? row.createdAtMs : t);
      if (spec) {
        job.spec = std::move(*spec);
      } else {
        job.specError = spec.error().message;
      }
    } else {
      job.specError = "not a JSON object";
    }
    if (!job.spec) spdlog::error("cron job {}: its stored definition does not read: {}", row.id, job.specError);
    job.row = std::move(row);
    std::string id = job.row.id;
    impl->jobs.emplace(std::move(id), std::move(job));
  }
  return std::unique_ptr<CronService>(new CronService(std::move(impl)));
}

Status CronService::start() {
  std::vector<Impl::Launch> launches;
  Status s;
  {
    std::lock_guard lock(impl_->mu);
    s = impl_->startLocked(launches);
  }
  impl_->submit(std::move(launches));
  return s;
}

void CronService::stop() {
  std::lock_guard lock(impl_->mu);
  impl_->stopped = true;
  if (impl_->timer) impl_->timer->cancel();
  impl_->timer.reset();
}

bool CronService::started() const {
  std::lock_guard lock(impl_->mu);
  return impl_->isStarted && !impl_->stopped;
}

Result<json::object> CronService::add(const json::object& params, const CronActor& actor) {
  std::lock_guard lock(impl_->mu);
  const int64_t t = impl_->now();
  auto spec = parseCronJobSpec(params, t);
  if (!spec) return fail(spec.error());
  if (auto e = spec->escalation.over(impl_->deps.config.escalation); !e) return fail(e.error());
  if (!spec->agentId.empty()) {
    std::string agent = routing::normalizeAgentId(spec->agentId);
    if (!impl_->deps.runner->agent(agent)) {
      return fail(ErrorCode::kNotFound, "unknown agent " + agent, "unknown agent id \"" + spec->agentId + "\"");
    }
  }
  Impl::Job job;
  job.row.id = newUuid();
  job.row.name = spec->name;
  job.row.agentId = spec->agentId;
  job.row.enabled = spec->enabled;
  job.row.specJson = toCanonicalJson(spec->json);
  job.row.createdAtMs = t;
  job.row.updatedAtMs = t;
  job.spec = std::move(*spec);
  if (job.row.enabled) job.row.state.nextRunAtMs = impl_->nextSlot(job, t);
  store::WriteBatch batch;
  store::CronRepository::insertJob(batch, job.row);
  if (auto w = impl_->write(std::move(batch)); !w) return fail(w.error());
  json::object out = cronJobToJson(job.row);
  impl_->audit("cron.add", actor.actor, job.row.id,
               json::object{{"name", job.row.name},
                            {"schedule", scheduleKindName(job.spec->schedule.kind)},
                            {"payload", job.spec->payloadKind}});
  impl_->publish(json::object{{"jobId", job.row.id}, {"action", "added"}, {"job", out}});
  impl_->observeJob(job);
  std::string id = job.row.id;
  impl_->jobs.emplace(id, std::move(job));
  impl_->arm();
  return out;
}

Result<json::object> CronService::update(const std::string& id, const json::object& patch, const CronActor& actor) {
  std::lock_guard lock(impl_->mu);
  Impl::Job* job = impl_->find(id);
  if (!job) return fail(Impl::notFound(id));
  auto current = parseJson(job->row.specJson);
  if (!current || !current->is_object()) return fail(ErrorCode::kInternal, "stored job " + id + " is not an object");
  json::object stored = current->as_object();
  stored["enabled"] = job->row.enabled;  // the row says whether it runs (auto-disable changes only the row)
  auto merged = applyCronJobPatch(stored, patch);
  if (!merged) return fail(merged.error());
  const int64_t t = impl_->now();
  auto spec = parseCronJobSpec(*merged, t);
  if (!spec) return fail(spec.error());
  if (auto e = spec->escalation.over(impl_->deps.config.escalation); !e) return fail(e.error());
  if (!spec->agentId.empty() && !impl_->deps.runner->agent(routing::normalizeAgentId(spec->agentId))) {
    return fail(ErrorCode::kNotFound, "unknown agent " + spec->agentId, "unknown agent id \"" + spec->agentId + "\"");
  }
  Impl::Job next = *job;
  next.row.name = spec->name;
  next.row.agentId = spec->agentId;
  next.row.specJson = toCanonicalJson(spec->json);
  next.row.updatedAtMs = t;
  const bool enabling = spec->enabled && !job->row.enabled;
  const bool scheduleChanged = !job->spec || !(job->spec->schedule == spec->schedule);
  next.row.enabled = spec->enabled;
  next.spec = std::move(*spec);
  next.specError.clear();
  if (enabling) {
    // Enabling clears the auto-disable state and starts a fresh error count (OpenClaw: `enable` clears it).
    next.row.state.autoDisabledReason.clear();
    next.row.state.autoDisabledAtMs = 0;
    next.row.state.consecutiveErrors = 0;
    next.row.state.scheduleErrors = 0;
  }
  if (!next.row.enabled) {
    next.row.state.nextRunAtMs = 0;
  } else if (enabling || scheduleChanged || next.row.state.nextRunAtMs == 0) {
    next.row.state.nextRunAtMs = impl_->nextSlot(next, t);
  }
  store::WriteBatch batch;
  store::CronRepository::updateJob(batch, next.row);
  if (auto w = impl_->write(std::move(batch)); !w) return fail(w.error());
  json::object changed;
  for (const auto& kv : patch) changed[kv.key()] = true;
  *job = std::move(next);
  json::object out = cronJobToJson(job->row);
  impl_->audit("cron.update", actor.actor, id, json::object{{"fields", changed}});
  impl_->publish(json::object{{"jobId", id}, {"action", "updated"}, {"job", out}});
  impl_->observeJob(*job);
  impl_->arm();
  return out;
}

Status CronService::remove(const std::string& id, const CronActor& actor) {
  std::lock_guard lock(impl_->mu);
  if (!impl_->find(id)) return fail(Impl::notFound(id));
  store::WriteBatch batch;
  store::CronRepository::removeJob(batch, id);
  if (auto w = impl_->write(std::move(batch)); !w) return w;
  impl_->jobs.erase(id);
  impl_->audit("cron.remove", actor.actor, id, {});
  impl_->publish(json::object{{"jobId", id}, {"action", "removed"}});
  impl_->deps.health->remove("cron:" + id, "runs");
  if (auto g = impl_->consecutiveErrors->gauge({id})) g->set(0);
  impl_->arm();
  return {};
}

std::optional<json::object> CronService::get(const std::string& id) const {
  std::lock_guard lock(impl_->mu);
  const Impl::Job* job = impl_->find(id);
  if (!job) return std::nullopt;
  return cronJobToJson(job->row);
}

std::vector<json::object> CronService::list() const {
  std::lock_guard lock(impl_->mu);
  std::vector<const Impl::Job*> ordered;
  for (const auto& [id, job] : impl_->jobs) ordered.push_back(&job);
  std::sort(ordered.begin(), ordered.end(), [](const Impl::Job* a, const Impl::Job* b) {
    return a->row.createdAtMs != b->row.createdAtMs ? a->row.createdAtMs < b->row.createdAtMs : a->row.id < b->row.id;
  });
  std::vector<json::object> out;
  out.reserve(ordered.size());
  for (const auto* job : ordered) out.push_back(cronJobToJson(job->row));
  return out;
}

std::optional<store::CronJobRow> CronService::row(const std::string& id) const {
  std::lock_guard lock(impl_->mu);
  const Impl::Job* job = impl_->find(id);
  if (!job) return std::nullopt;
  return job->row;
}

Result<CronRunRequestResult> CronService::run(const std::string& id, const std::string& mode, const CronActor& actor) {
  std::vector<Impl::Launch> launches;
  CronRunRequestResult result;
  {
    std::lock_guard lock(impl_->mu);
    Impl::Job* job = impl_->find(id);
    if (!job) return fail(Impl::notFound(id));
    auto refuse = [&](std::string reason) {
      result.reason = std::move(reason);
      impl_->audit("cron.run", actor.actor, id, json::object{{"mode", mode}, {"ran", false}, {"reason", result.reason}},
                   security::AuditOutcome::kDenied);
      return result;
    };
    if (!impl_->isStarted || impl_->stopped) return refuse("stopped");
    if (!job->spec) return refuse("invalid-spec");
    if (mode == "if-enabled" && !job->row.enabled) return refuse("disabled");
    if (job->running) return refuse("already-running");
    const int64_t t = impl_->now();
    if (mode == "due" && (!job->row.enabled || job->row.state.nextRunAtMs <= 0 || job->row.state.nextRunAtMs > t)) {
      return refuse("not-due");
    }
    auto launch = impl_->begin(*job, mode == "due" ? "schedule" : "manual", t);
    if (!launch) return fail(launch.error());
    result.enqueued = true;
    result.runId = launch->run.id;
    launches.push_back(std::move(*launch));
    impl_->audit("cron.run", actor.actor, id, json::object{{"mode", mode}, {"ran", true}, {"runId", result.runId}});
    impl_->arm();
  }
  impl_->submit(std::move(launches));
  return result;
}

Result<store::CronRepository::RunPage> CronService::runs(const std::string& jobId, int64_t limit,
                                                         int64_t offset) const {
  return impl_->repo().listRuns(jobId, limit, offset);
}

Result<std::optional<store::CronRunRow>> CronService::findRun(const std::string& runId) const {
  return impl_->repo().getRun(runId);
}

std::string CronService::jobName(const std::string& id) const {
  std::lock_guard lock(impl_->mu);
  const Impl::Job* job = impl_->find(id);
  return job ? job->row.name : std::string();
}

CronStatus CronService::status() const {
  std::lock_guard lock(impl_->mu);
  CronStatus s;
  s.enabled = impl_->isStarted && !impl_->stopped;
  s.jobs = static_cast<int64_t>(impl_->jobs.size());
  s.storePath = impl_->deps.store->location();
  for (const auto& [id, job] : impl_->jobs) {
    if (!job.row.enabled || !job.spec || job.row.state.nextRunAtMs <= 0) continue;
    if (s.nextWakeAtMs == 0 || job.row.state.nextRunAtMs < s.nextWakeAtMs) s.nextWakeAtMs = job.row.state.nextRunAtMs;
  }
  if (!s.enabled) s.nextWakeAtMs = 0;
  return s;
}

std::size_t CronService::activeRuns() const {
  std::lock_guard lock(impl_->mu);
  return static_cast<std::size_t>(
      std::count_if(impl_->jobs.begin(), impl_->jobs.end(), [](const auto& kv) { return kv.second.running; }));
}

}  // namespace talon::gateway::automation
