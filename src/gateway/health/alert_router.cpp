#include "gateway/health/alert_router.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "gateway/automation/webhook_sender.h"
#include "gateway/channels/outbound_dispatcher.h"
#include "gateway/health/smtp_mailer.h"
#include "gateway/routing/inbound_message.h"
#include "security/audit_sink.h"

namespace talon::gateway::health {

namespace {

/// A URL for logs and status: without user info, query or fragment (they may carry credentials).
std::string displayUrl(std::string_view url) {
  std::string_view u = url.substr(0, url.find_first_of("?#"));
  auto scheme = u.find("://");
  auto at = u.find('@', scheme == std::string_view::npos ? 0 : scheme + 3);
  auto slash = u.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
  if (scheme != std::string_view::npos && at != std::string_view::npos &&
      (slash == std::string_view::npos || at < slash)) {
    return std::string(u.substr(0, scheme + 3)) + std::string(u.substr(at + 1));
  }
  return std::string(u);
}

enum class MessageKind { kFiring, kResolved };

}  // namespace

std::string_view alertSeverityName(AlertSeverity severity) {
  switch (severity) {
    case AlertSeverity::kInfo:
      return "info";
    case AlertSeverity::kWarning:
      return "warning";
    case AlertSeverity::kCritical:
      return "critical";
  }
  return "warning";
}

/// Everything the router and its in-flight sends share.
struct AlertRouter::State : std::enable_shared_from_this<AlertRouter::State> {
  struct Target {
    config::AlertTargetConfig config;
    std::string destination;
    std::string component;  // "alerts/<id>"
    Counter sent, failed, rateLimited, deduplicated;
    // Guarded by State::mu.
    double tokens = 0;
    std::chrono::steady_clock::time_point refilledAt;
    int64_t lastDropAtMs = 0;  // when the bucket last dropped an alert (ms since epoch); 0 = never
    AlertTargetStatus status;
  };
  struct Incident {
    Alert alert;
    int64_t openedAtMs = 0;
    int64_t lastSentAtMs = 0;
    AlertSeverity lastSentSeverity = AlertSeverity::kInfo;
    std::set<std::size_t> told;  // targets handed the alert (not dropped by their bucket)
  };

  explicit State(AlertRouterDeps d) : deps(std::move(d)) {}

  AlertRouterDeps deps;
  std::vector<Target> targets;
  mutable std::mutex mu;
  std::map<std::string, Incident> incidents;
  uint64_t sequence = 0;

  /// Takes one token of target `i` (mu held). False when the bucket is empty.
  bool takeToken(Target& t) {
    const auto now = deps.clock->steadyNow();
    const double refill = static_cast<double>(deps.config.rateLimitRefillSeconds) * 1000.0;
    const double elapsed =
        static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(now - t.refilledAt).count());
    t.tokens = std::min(static_cast<double>(deps.config.rateLimitBurst), t.tokens + elapsed / refill);
    t.refilledAt = now;
    if (t.tokens < 1.0) return false;
    t.tokens -= 1.0;
    return true;
  }

  std::string channelText(const Alert& a, MessageKind kind, const std::string& resolvedText) const {
    if (kind == MessageKind::kResolved) {
      return fmt::format("[resolved] {}{}", a.title, resolvedText.empty() ? "" : "\n" + resolvedText);
    }
    std::string s = fmt::format("[{}] {}", alertSeverityName(a.severity), a.title);
    if (!a.text.empty()) s += "\n" + a.text;
    for (const auto& [k, v] : a.fields) s += fmt::format("\n{}: {}", k, v);
    return s;
  }

  /// Records one final outcome of a send to target `i`.
  void report(std::size_t i, MessageKind kind, const std::string& key, Status outcome) {
    Target& t = targets[i];
    const int64_t now = deps.clock->nowMs();
    const char* what = kind == MessageKind::kResolved ? "resolved message" : "alert";
    std::string detail;
    bool recentDrop = false;
    {
      std::lock_guard lock(mu);
      if (outcome) {
        ++t.status.sent;
        t.status.lastSentAtMs = now;
      } else {
        ++t.status.failed;
        t.status.lastError = outcome.error().message;
      }
      detail = fmt::format("{} {}: {} sent, {} failed, {} rate-limited", t.config.kind, t.destination, t.status.sent,
                           t.status.failed, t.status.rateLimited);
      // A drop keeps the record degraded until the bucket could have refilled completely since.
      recentDrop = t.lastDropAtMs != 0 &&
                   now - t.lastDropAtMs < deps.config.rateLimitRefillSeconds * deps.config.rateLimitBurst * 1000;
    }
    if (outcome) {
      t.sent.inc();
      spdlog::info("alerts: the {} of {} went to {} ({})", what, key, t.config.id, t.destination);
      if (recentDrop) {
        deps.healthRecords.set({t.component, "delivery", HealthState::kDegraded,
                                "last send ok, but alerts were dropped by the rate limit lately; " + detail, false});
      } else {
        deps.healthRecords.set({t.component, "delivery", HealthState::kOk, detail, false});
      }
    } else {
      t.failed.inc();
      spdlog::error("alerts: the {} of {} did not reach {} ({}): {}", what, key, t.config.id, t.destination,
                    outcome.error().message);
      deps.healthRecords.set({t.component, "delivery", HealthState::kFailed,
                              "last send failed: " + outcome.error().message + "; " + detail, false});
    }
    if (deps.audit) {
      security::AuditEvent e;
      e.kind = "alert.delivery";
      e.actor = "system";
      e.target = t.config.id;
      e.outcome = outcome ? security::AuditOutcome::kAllowed : security::AuditOutcome::kFailed;
      e.details = json::object{{"incident", key},
                               {"message", kind == MessageKind::kResolved ? "resolved" : "alert"},
                               {"targetKind", t.config.kind}};
      if (!outcome) e.details["error"] = outcome.error().message;
      deps.audit->record(std::move(e));
    }
  }

  /// Hands one message to target `i` (mu not held). The outcome reaches report() on another thread (or
  /// at once when it cannot even start).
  void dispatch(std::size_t i, const Alert& a, MessageKind kind, const std::string& resolvedText) {
    Target& t = targets[i];
    const config::AlertTargetConfig& c = t.config;
    std::weak_ptr<State> weak = weak_from_this();
    // Outcomes are recorded on an I/O thread, whichever thread the send ended on.
    auto done = [weak, i, kind, key = a.key, io = deps.executors.io](Status s) {
      io([weak, i, kind, key, s = std::move(s)]() mutable {
        if (auto self = weak.lock()) self->report(i, kind, key, std::move(s));
      });
    };
    if (!c.secretUnavailable.empty()) {
      return done(fail(ErrorCode::kFailedPrecondition, "the target's secret cannot be read: " + c.secretUnavailable));
    }
    uint64_t seq;
    {
      std::lock_guard lock(mu);
      seq = ++sequence;
    }
    if (c.kind == "channel") {
      if (!deps.outbound) return done(fail(ErrorCode::kUnavailable, "no outbox is wired"));
      channels::OutboundMessage m;
      m.accountId = c.accountId;
      m.peer = routing::parsePeerTarget(c.to);
      m.text = channelText(a, kind, resolvedText);
      const std::string channelId = c.accountId.empty() ? c.channel : c.channel + ":" + c.accountId;
      const std::string idempotencyKey = fmt::format(
          "alert:{}:{}:{}:{}", a.key, kind == MessageKind::kResolved ? "resolved" : "firing", deps.clock->nowMs(), seq);
      deps.outbound->deliver(
          channelId, std::move(m), idempotencyKey,
          [done](Result<store::OutboundDelivery> first) {
            if (!first) done(fail(first.error()));  // not even stored; `settled` never runs
          },
          [done](Result<store::OutboundDelivery> settled) {
            if (!settled) return done(fail(settled.error()));
            if (settled->state == store::DeliveryState::kSent) return done({});
            done(fail(ErrorCode::kUnavailable,
                      settled->lastError.empty() ? "the channel did not confirm the message" : settled->lastError));
          });
      return;
    }
    if (c.kind == "webhook") {
      if (!deps.webhooks) return done(fail(ErrorCode::kUnavailable, "no webhook sender is wired"));
      json::object fields;
      for (const auto& [k, v] : a.fields) fields[k] = v;
      json::object body{{"type", kind == MessageKind::kResolved ? "alert.resolved" : "alert.firing"},
                        {"key", a.key},
                        {"severity", alertSeverityName(a.severity)},
                        {"title", a.title},
                        {"text", kind == MessageKind::kResolved ? resolvedText : a.text},
                        {"fields", std::move(fields)},
                        {"ts", deps.clock->nowMs()}};
      automation::WebhookTarget target;
      target.url = c.url;
      target.secret = c.secret;
      deps.webhooks->send(std::move(target), std::move(body), [done](automation::WebhookDelivery d) {
        if (d.delivered) return done({});
        done(fail(d.error ? *d.error : Error{ErrorCode::kUnavailable, "not delivered"}));
      });
      return;
    }
    // email, on the blocking pool (libcurl's SMTP exchange blocks).
    MailMessage mail;
    mail.from = c.from;
    mail.to = c.to;
    mail.subject = kind == MessageKind::kResolved
                       ? fmt::format("[Talon] RESOLVED: {}", a.title)
                       : fmt::format("[Talon] {}: {}", alertSeverityName(a.severity), a.title);
    mail.body = kind == MessageKind::kResolved ? (resolvedText.empty() ? a.title : resolvedText) + "\n"
                                               : channelText(a, kind, resolvedText) + "\n";
    mail.headers = {{"X-Talon-Alert-Key", a.key},
                    {"X-Talon-Alert-State", kind == MessageKind::kResolved ? "resolved" : "firing"},
                    {"X-Talon-Alert-Severity", std::string(alertSeverityName(a.severity))}};
    SmtpSettings smtp;
    smtp.host = c.smtpHost;
    smtp.port = static_cast<int>(c.smtpPort);
    smtp.security = c.smtpSecurity;
    smtp.username = c.smtpUsername;
    smtp.password = c.smtpPassword;
    deps.executors.blocking([done, smtp = std::move(smtp), mail = std::move(mail), clock = deps.clock] {
      done(sendMail(smtp, mail, clock->nowMs()));
    });
  }

  /// Sends `a` (kind) to the targets `which` through their buckets (mu not held); returns the targets
  /// it was handed to.
  std::set<std::size_t> fanOut(const std::vector<std::size_t>& which, const Alert& a, MessageKind kind,
                               const std::string& resolvedText) {
    std::set<std::size_t> handed;
    std::vector<std::size_t> dropped;
    {
      std::lock_guard lock(mu);
      for (std::size_t i : which) {
        if (takeToken(targets[i])) {
          handed.insert(i);
        } else {
          ++targets[i].status.rateLimited;
          targets[i].lastDropAtMs = deps.clock->nowMs();
          dropped.push_back(i);
        }
      }
    }
    for (std::size_t i : dropped) {
      Target& t = targets[i];
      t.rateLimited.inc();
      spdlog::warn(
          "alerts: the {} of {} was not sent to {}: its rate limit ({} at once, one more every {} s) is "
          "exhausted",
          kind == MessageKind::kResolved ? "resolved message" : "alert", a.key, t.config.id, deps.config.rateLimitBurst,
          deps.config.rateLimitRefillSeconds);
      int64_t count;
      {
        std::lock_guard lock(mu);
        count = t.status.rateLimited;
      }
      deps.healthRecords.set({t.component, "delivery", HealthState::kDegraded,
                              fmt::format("{} alert(s) dropped by the rate limit; the last for {}", count, a.key),
                              false});
    }
    for (std::size_t i : handed) dispatch(i, a, kind, resolvedText);
    return handed;
  }
};

AlertRouter::AlertRouter(std::shared_ptr<State> state) : state_(std::move(state)) {}
AlertRouter::~AlertRouter() = default;

Result<std::unique_ptr<AlertRouter>> AlertRouter::create(AlertRouterDeps deps) {
  auto families = deps.metrics.add(kAlertRouterMetrics);
  if (!families) return fail(families.error());
  MetricFamily* total = (*families)[0];
  auto state = std::make_shared<State>(std::move(deps));
  const auto now = state->deps.clock->steadyNow();
  for (const auto& c : state->deps.config.targets) {
    State::Target t;
    t.config = c;
    if (c.kind == "channel") {
      t.destination = fmt::format("{}{} → {}", c.channel, c.accountId.empty() ? "" : ":" + c.accountId, c.to);
    } else if (c.kind == "webhook") {
      t.destination = displayUrl(c.url);
    } else if (c.kind == "email") {
      t.destination = c.to + " via " + c.smtpHost;
    } else {
      return fail(ErrorCode::kConfigInvalid, "gateway.alerts: unknown target kind \"" + c.kind + "\"");
    }
    t.component = "alerts/" + c.id;
    t.sent = *total->counter({c.kind, "sent"});
    t.failed = *total->counter({c.kind, "failed"});
    t.rateLimited = *total->counter({c.kind, "rate_limited"});
    t.deduplicated = *total->counter({c.kind, "deduplicated"});
    t.tokens = static_cast<double>(state->deps.config.rateLimitBurst);
    t.refilledAt = now;
    t.status.id = c.id;
    t.status.kind = c.kind;
    t.status.destination = t.destination;
    state->targets.push_back(std::move(t));
  }
  for (const auto& t : state->targets) {
    if (!t.config.secretUnavailable.empty()) {
      spdlog::error("alerts: target {} cannot be used: its secret cannot be read: {}", t.config.id,
                    t.config.secretUnavailable);
      state->deps.healthRecords.set({t.component, "delivery", HealthState::kFailed,
                                     "the target's secret cannot be read: " + t.config.secretUnavailable, false});
    } else {
      state->deps.healthRecords.set({t.component, "delivery", HealthState::kUnknown,
                                     t.config.kind + " " + t.destination + ": nothing sent yet", false});
    }
  }
  return std::unique_ptr<AlertRouter>(new AlertRouter(std::move(state)));
}

void AlertRouter::raise(Alert alert) {
  State& s = *state_;
  const int64_t now = s.deps.clock->nowMs();
  std::vector<std::size_t> all;
  for (std::size_t i = 0; i < s.targets.size(); ++i) all.push_back(i);
  bool isNew = false;
  bool send = false;
  {
    std::lock_guard lock(s.mu);
    auto [it, inserted] = s.incidents.try_emplace(alert.key);
    State::Incident& inc = it->second;
    isNew = inserted;
    if (inserted) inc.openedAtMs = now;
    send = inserted || now - inc.lastSentAtMs >= s.deps.config.cooldownSeconds * 1000 ||
           alert.severity > inc.lastSentSeverity;
    inc.alert = alert;
    if (send) {
      inc.lastSentAtMs = now;
      inc.lastSentSeverity = alert.severity;
    }
  }
  if (!send) {
    for (auto& t : s.targets) t.deduplicated.inc();
    spdlog::debug("alerts: {} is already alerted (cooldown {} s); not repeated", alert.key,
                  s.deps.config.cooldownSeconds);
    return;
  }
  if (s.targets.empty()) {
    spdlog::warn("alerts: {} [{}] {} (no alert target is configured: gateway.alerts.targets)", alert.key,
                 alertSeverityName(alert.severity), alert.title);
    return;
  }
  spdlog::warn("alerts: {} {} [{}] {}", isNew ? "raising" : "repeating", alert.key, alertSeverityName(alert.severity),
               alert.title);
  auto handed = s.fanOut(all, alert, MessageKind::kFiring, "");
  std::lock_guard lock(s.mu);
  if (auto it = s.incidents.find(alert.key); it != s.incidents.end())
    it->second.told.insert(handed.begin(), handed.end());
}

void AlertRouter::resolve(const std::string& key, std::string text) {
  State& s = *state_;
  State::Incident inc;
  {
    std::lock_guard lock(s.mu);
    auto it = s.incidents.find(key);
    if (it == s.incidents.end()) return;
    inc = std::move(it->second);
    s.incidents.erase(it);
  }
  spdlog::info("alerts: {} resolved{}", key, inc.told.empty() ? " (no target was told of it)" : "");
  if (inc.told.empty()) return;
  s.fanOut(std::vector<std::size_t>(inc.told.begin(), inc.told.end()), inc.alert, MessageKind::kResolved, text);
}

std::vector<std::string> AlertRouter::openIncidents() const {
  std::lock_guard lock(state_->mu);
  std::vector<std::string> out;
  for (const auto& [k, v] : state_->incidents) out.push_back(k);
  return out;
}

std::vector<AlertTargetStatus> AlertRouter::targets() const {
  std::lock_guard lock(state_->mu);
  std::vector<AlertTargetStatus> out;
  for (const auto& t : state_->targets) out.push_back(t.status);
  return out;
}

}  // namespace talon::gateway::health
