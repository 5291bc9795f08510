#include "gateway/automation/heartbeat_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "base/hash.h"
#include "base/ids.h"
#include "base/text.h"
#include "gateway/automation/cron_job.h"
#include "gateway/automation/cron_schedule.h"
#include "gateway/automation/escalation.h"
#include "gateway/channels/outbound_dispatcher.h"
#include "gateway/health/alert_router.h"
#include "gateway/routing/session_key.h"
#include "store/heartbeat_monitor_repository.h"
#include "store/session_route_repository.h"
#include "store/store.h"

namespace talon::gateway::automation {

namespace {

constexpr std::string_view kHeartbeatToken = "HEARTBEAT_OK";
constexpr std::string_view kSilentReplyToken = "NO_REPLY";
constexpr std::size_t kPreviewChars = 200;
/// The longest HEARTBEAT.md read into a prompt (a larger file is cut, with a warning).
constexpr std::size_t kMaxHeartbeatFileBytes = 256 * 1024;

std::string_view trimView(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

/// A digest of every key of an agent's merged heartbeat block (HeartbeatMonitorRecord::fingerprint).
std::string heartbeatFingerprint(const config::EffectiveHeartbeat& hb) {
  const config::HeartbeatConfig& c = hb.config;
  json::object o;
  auto put = [&](const char* key, const auto& v) {
    if (v) o[key] = *v;
  };
  o["every"] = hb.everyMs();
  put("prompt", c.prompt);
  put("target", c.target);
  put("to", c.to);
  put("accountId", c.accountId);
  put("directPolicy", c.directPolicy);
  if (c.activeHours) {
    o["activeHours"] = json::object{{"start", c.activeHours->startMinute},
                                    {"end", c.activeHours->endMinute},
                                    {"timezone", c.activeHours->timezone}};
  }
  put("timeoutSeconds", c.timeoutSeconds);
  put("session", c.session);
  put("isolatedSession", c.isolatedSession);
  put("model", c.model);
  put("lightContext", c.lightContext);
  return sha256Hex(json::serialize(o));
}

bool isPunctuation(char c) { return std::ispunct(static_cast<unsigned char>(c)) != 0; }

/// OpenClaw isSilentReplyText: the answer is only NO_REPLY (repeated, any case), possibly wrapped in
/// punctuation.
bool isSilentReply(std::string_view text) {
  auto onlyTokens = [](std::string_view s) {
    s = trimView(s);
    if (s.empty()) return false;
    while (!s.empty()) {
      if (s.size() < kSilentReplyToken.size()) return false;
      for (std::size_t i = 0; i < kSilentReplyToken.size(); ++i) {
        if (std::toupper(static_cast<unsigned char>(s[i])) != kSilentReplyToken[i]) return false;
      }
      s.remove_prefix(kSilentReplyToken.size());
      if (!s.empty() && s.front() != ' ' && s.front() != '\t' && s.front() != '\n' && s.front() != '\r') return false;
      s = trimView(s);
    }
    return true;
  };
  if (onlyTokens(text)) return true;
  std::string_view t = trimView(text);
  while (!t.empty() && isPunctuation(t.front())) t.remove_prefix(1);
  while (!t.empty() && isPunctuation(t.back())) t.remove_suffix(1);
  return onlyTokens(t);
}

/// OpenClaw stripTokenAtEdges: removes HEARTBEAT_OK from the start and the end (the end may carry up to
/// 4 non-word characters after it), repeatedly; collapses whitespace.
std::pair<std::string, bool> stripTokenAtEdges(std::string_view raw) {
  std::string text(trimView(raw));
  if (text.find(kHeartbeatToken) == std::string::npos) return {text, false};
  bool didStrip = false;
  bool changed = true;
  while (changed) {
    changed = false;
    std::string next(trimView(text));
    if (next.rfind(kHeartbeatToken, 0) == 0) {
      std::string_view rest = std::string_view(next).substr(kHeartbeatToken.size());
      while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.front()))) rest.remove_prefix(1);
      text = std::string(rest);
      didStrip = true;
      changed = true;
      continue;
    }
    std::size_t idx = next.rfind(kHeartbeatToken);
    if (idx != std::string::npos) {
      std::string_view after = std::string_view(next).substr(idx + kHeartbeatToken.size());
      bool tail = after.size() <= 4 && std::all_of(after.begin(), after.end(), [](char c) {
                    return !(std::isalnum(static_cast<unsigned char>(c)) || c == '_');
                  });
      if (tail) {
        std::string before(trimView(std::string_view(next).substr(0, idx)));
        text = before.empty() ? std::string() : before + std::string(trimView(after));
        didStrip = true;
        changed = true;
      }
    }
  }
  std::string collapsed;
  bool space = false;
  for (char c : trimView(text)) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = true;
      continue;
    }
    if (space && !collapsed.empty()) collapsed.push_back(' ');
    space = false;
    collapsed.push_back(c);
  }
  return {collapsed, didStrip};
}

/// OpenClaw's stripMarkup: tags to spaces, &nbsp; to a space, leading/trailing * ` ~ _ removed.
std::string stripMarkup(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '<') {
      auto close = s.find('>', i);
      if (close != std::string_view::npos) {
        out.push_back(' ');
        i = close;
        continue;
      }
    }
    if (s[i] == '&' && s.size() - i >= 6) {
      std::string entity(s.substr(i, 6));
      std::transform(entity.begin(), entity.end(), entity.begin(), [](unsigned char c) { return std::tolower(c); });
      if (entity == "&nbsp;") {
        out.push_back(' ');
        i += 5;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  auto markup = [](char c) { return c == '*' || c == '`' || c == '~' || c == '_'; };
  std::size_t b = 0;
  while (b < out.size() && markup(out[b])) ++b;
  std::size_t e = out.size();
  while (e > b && markup(out[e - 1])) --e;
  return out.substr(b, e - b);
}

/// Reads HEARTBEAT.md of `workspace`: nullopt when there is none. Errors: a file that exists but does
/// not read.
Result<std::optional<std::string>> readHeartbeatFile(const std::filesystem::path& workspace) {
  std::error_code ec;
  const auto path = workspace / "HEARTBEAT.md";
  if (!std::filesystem::exists(path, ec)) return std::optional<std::string>{};
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kInternal, "cannot read " + path.string());
  std::string content;
  content.resize(kMaxHeartbeatFileBytes + 1);
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  content.resize(static_cast<std::size_t>(in.gcount()));
  if (in.bad()) return fail(ErrorCode::kInternal, "cannot read " + path.string());
  if (content.size() > kMaxHeartbeatFileBytes) {
    spdlog::warn("heartbeat: {} is larger than {} bytes; the rest is not sent", path.string(), kMaxHeartbeatFileBytes);
    content = truncateUtf8(content, kMaxHeartbeatFileBytes);
  }
  return std::optional<std::string>{std::move(content)};
}

}  // namespace

bool isHeartbeatContentEffectivelyEmpty(std::string_view content) {
  bool inComment = false;
  std::size_t pos = 0;
  while (pos <= content.size()) {
    std::size_t nl = content.find('\n', pos);
    std::string_view line = content.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? content.size() + 1 : nl + 1;
    // Strip leading HTML comment scaffolding (OpenClaw stripLeadingHtmlCommentScaffolding).
    std::string rest(line);
    while (true) {
      if (inComment) {
        auto end = rest.find("-->");
        if (end == std::string::npos) {
          rest.clear();
          break;
        }
        inComment = false;
        rest = rest.substr(end + 3);
        continue;
      }
      std::string_view t = rest;
      while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
      if (t.rfind("<!--", 0) != 0) break;
      inComment = true;
      rest = std::string(t);
    }
    std::string_view t = trimView(rest);
    if (t.empty()) continue;
    // `#`, `##`, … headings: hashes, then whitespace or the end.
    std::size_t hashes = 0;
    while (hashes < t.size() && t[hashes] == '#') ++hashes;
    if (hashes > 0 && (hashes == t.size() || std::isspace(static_cast<unsigned char>(t[hashes])))) continue;
    // Empty list items: [-*+] then optional spaces, then optionally [ ], [x], [X] or [], then spaces.
    if (t[0] == '-' || t[0] == '*' || t[0] == '+') {
      std::string_view r = trimView(t.substr(1));
      if (r.empty()) continue;
      if (r.front() == '[') {
        std::size_t close = r.find(']');
        if (close != std::string_view::npos && close <= 2) {
          std::string_view inside = r.substr(1, close - 1);
          bool box = inside.empty() || inside == " " || inside == "x" || inside == "X" || inside == "\t";
          if (box && trimView(r.substr(close + 1)).empty()) continue;
        }
      }
    }
    // Fence markers: ``` and an optional language word.
    if (t.rfind("```", 0) == 0 && std::all_of(t.begin() + 3, t.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
        })) {
      continue;
    }
    return false;
  }
  return true;
}

HeartbeatReply interpretHeartbeatReply(std::string_view answer, std::size_t maxAckChars) {
  HeartbeatReply r;
  std::string_view trimmed = trimView(answer);
  if (trimmed.empty() || isSilentReply(trimmed)) {
    r.suppress = true;
    return r;
  }
  r.text = std::string(trimmed);
  if (trimmed.find(kHeartbeatToken) == std::string_view::npos) return r;
  auto original = stripTokenAtEdges(trimmed);
  auto normalized = stripTokenAtEdges(stripMarkup(trimmed));
  const auto& picked = original.second && !original.first.empty() ? original : normalized;
  if (!picked.second) return r;
  r.acknowledged = true;
  if (picked.first.empty() || picked.first.size() <= maxAckChars) {
    r.suppress = true;
    r.text.clear();
    return r;
  }
  r.text = picked.first;
  return r;
}

Result<bool> withinActiveHours(const config::HeartbeatActiveHoursConfig& hours, int64_t nowMs) {
  if (hours.startMinute == hours.endMinute) return false;
  auto minute = localMinuteOfDay(hours.timezone, nowMs);
  if (!minute) return fail(minute.error());
  if (hours.endMinute > hours.startMinute) return *minute >= hours.startMinute && *minute < hours.endMinute;
  return *minute >= hours.startMinute || *minute < hours.endMinute;
}

struct HeartbeatService::Impl : std::enable_shared_from_this<HeartbeatService::Impl> {
  struct Agent {
    config::EffectiveHeartbeat config;
    std::filesystem::path workspace;
    int64_t everyMs = 0;
    int64_t nextDueAtMs = 0;
    TimerHandlePtr timer;
    bool running = false;
    std::string runId;
    int64_t runStartedAtMs = 0;
    std::string runReason;
    EscalationState escalation;
    std::string autoDisabledReason;  // "consecutive-failures"
    std::string lastError;
    std::string fingerprint;  // heartbeatFingerprint of `config`
    int64_t lastRunAtMs = 0;
    std::vector<std::string> queuedEvents;
    std::vector<std::string> inflightEvents;  // taken by the running turn (restored if it fails)
    /// Where the running (or last) turn's answer goes, resolved when the tick started.
    HeartbeatDelivery delivery;
  };

  HeartbeatServiceDeps deps;
  Escalation escalation;
  mutable std::mutex mu;
  std::vector<Agent> agents;  // config order
  bool isStarted = false;
  bool stopped = false;
  bool enabled = true;  // set-heartbeats
  std::optional<json::object> last;

  health::MetricFamily* runsTotal = nullptr;
  health::MetricFamily* consecutiveErrors = nullptr;
  health::MetricFamily* escalations = nullptr;

  explicit Impl(HeartbeatServiceDeps d) : deps(std::move(d)), escalation(deps.clock) {}

  int64_t now() const { return deps.clock->nowMs(); }

  Agent* find(const std::string& id) {
    for (auto& a : agents) {
      if (a.config.agentId == id) return &a;
    }
    return nullptr;
  }

  const config::HeartbeatConfig& cfg(const Agent& a) const { return a.config.config; }

  // --- observability ------------------------------------------------------------------------------

  void count(health::MetricFamily* family, std::string_view label) {
    if (auto c = family->counter({label})) c->inc();
  }

  void observe(const Agent& a) {
    if (auto g = consecutiveErrors->gauge({a.config.agentId})) {
      g->set(static_cast<double>(a.escalation.consecutiveErrors));
    }
    const std::string component = "heartbeat:" + a.config.agentId;
    std::string detail;
    health::HealthReport r;
    r.component = component;
    r.dimension = "runs";
    if (!a.autoDisabledReason.empty()) {
      r.state = health::HealthState::kFailed;
      detail = fmt::format("disabled ({}) after {} consecutive errors; last error: {}", a.autoDisabledReason,
                           a.escalation.consecutiveErrors, a.lastError);
    } else if (a.escalation.consecutiveErrors > 0) {
      r.state = health::HealthState::kDegraded;
      detail = fmt::format("{} consecutive errors; next attempt at {} ms; last error: {}",
                           a.escalation.consecutiveErrors, a.nextDueAtMs, a.lastError);
    } else {
      r.state = health::HealthState::kOk;
      detail = enabled ? "" : "disabled by set-heartbeats";
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

  /// Publishes a `heartbeat` event (OpenClaw's payload plus agentId) and remembers it for last-heartbeat
  /// (lock held).
  void emit(const Agent& a, std::string status, json::object fields) {
    json::object payload = std::move(fields);
    payload["ts"] = now();
    payload["status"] = status;
    payload["agentId"] = a.config.agentId;
    if (status == "ok-empty" || status == "ok-token") payload["indicatorType"] = "ok";
    if (status == "sent") payload["indicatorType"] = "alert";
    if (status == "failed") payload["indicatorType"] = "error";
    count(runsTotal, status);
    last = payload;
    GatewayEvent e;
    e.name = "heartbeat";
    if (auto r = payload.find("runId"); r != payload.end() && r->value().is_string()) {
      e.runId = std::string(r->value().as_string());
    }
    e.payloadJson = std::make_shared<const std::string>(json::serialize(payload));
    deps.bus->publish(e);
  }

  // --- scheduling ---------------------------------------------------------------------------------

  bool runnable(const Agent& a) const { return isStarted && !stopped && enabled && a.autoDisabledReason.empty(); }

  /// Records `a`'s schedule and escalation state in the store (store/heartbeat_monitor_repository.h), so
  /// that a restart resumes them (lock held; the write is queued, its failure logged). No store: nothing.
  void persist(const Agent& a) {
    if (deps.store == nullptr || !isStarted || stopped) return;
    store::HeartbeatMonitorRecord r;
    r.agentId = a.config.agentId;
    r.fingerprint = a.fingerprint;
    r.everyMs = a.everyMs;
    r.nextDueAtMs = std::max<int64_t>(0, a.nextDueAtMs);
    r.lastRunAtMs = a.lastRunAtMs;
    r.consecutiveErrors = a.escalation.consecutiveErrors;
    r.alertedAtMs = a.escalation.alertedAtMs;
    r.alertsSent = a.escalation.alertsSent;
    r.disabledReason = a.autoDisabledReason;
    r.lastError = a.lastError;
    r.updatedAtMs = now();
    store::WriteBatch batch;
    store::HeartbeatMonitorRepository::upsert(batch, std::move(r));
    deps.store->submit(std::move(batch), [id = a.config.agentId](Status st) {
      if (!st) spdlog::error("heartbeat {}: its schedule cannot be saved: {}", id, st.error().toString());
    });
  }

  /// start(): each agent's schedule and escalation state from its persisted monitor (lock held). The same
  /// config resumes where the last run left off: the saved next tick (a tick missed while the gateway
  /// was down runs once at start, or the missed slots are skipped with cron.skipMissedJobs), the error
  /// count, the open alert incident and an automatic disable. A changed config, or no monitor, starts
  /// afresh: the first tick `every` after the start. Monitors of agents without a heartbeat are deleted.
  void restoreMonitors() {
    if (deps.store == nullptr) {
      for (auto& a : agents) scheduleNext(a);
      return;
    }
    std::vector<store::HeartbeatMonitorRecord> saved;
    if (auto list = store::HeartbeatMonitorRepository(*deps.store).list()) {
      saved = std::move(*list);
    } else {
      spdlog::error("heartbeats: the saved schedules cannot be read ({}); every heartbeat starts afresh",
                    list.error().toString());
    }
    const int64_t t = now();
    std::vector<std::string> keep;
    for (auto& a : agents) {
      keep.push_back(a.config.agentId);
      auto it = std::find_if(saved.begin(), saved.end(),
                             [&](const store::HeartbeatMonitorRecord& r) { return r.agentId == a.config.agentId; });
      if (it == saved.end() || it->fingerprint != a.fingerprint) {
        if (it != saved.end())
          spdlog::info("heartbeat {}: the config changed; the schedule starts afresh", it->agentId);
        scheduleNext(a);
        continue;
      }
      a.escalation.consecutiveErrors = it->consecutiveErrors;
      a.escalation.alertedAtMs = it->alertedAtMs;
      a.escalation.alertsSent = it->alertsSent;
      a.autoDisabledReason = it->disabledReason;
      a.lastError = it->lastError;
      a.lastRunAtMs = it->lastRunAtMs;
      int64_t due = it->nextDueAtMs;
      if (!a.autoDisabledReason.empty() || a.everyMs <= 0) {
        due = 0;
      } else if (due == 0) {
        // Saved while a turn ran (the gateway stopped mid-turn): the tick after that turn.
        due = std::max(t, a.lastRunAtMs + a.everyMs);
      } else if (due < t) {
        if (deps.skipMissedTicks) {
          due += ((t - due) / a.everyMs + 1) * a.everyMs;  // the next slot of the old cadence
        } else {
          due = t;  // the missed tick runs once, now
        }
      }
      a.nextDueAtMs = due;
      if (due > 0 && due != it->nextDueAtMs) {
        spdlog::info("heartbeat {}: resumed; the next tick is {} ms from now", a.config.agentId, due - t);
      }
      arm(a);
    }
    store::WriteBatch prune;
    store::HeartbeatMonitorRepository::retainOnly(prune, std::move(keep));
    deps.store->submit(std::move(prune), [](Status st) {
      if (!st) spdlog::error("heartbeats: stale saved schedules cannot be deleted: {}", st.error().toString());
    });
  }

  /// Arms `a`'s timer for nextDueAtMs and records the schedule (lock held).
  void arm(Agent& a) {
    persist(a);
    if (a.timer) a.timer->cancel();
    a.timer.reset();
    if (!runnable(a) || a.nextDueAtMs <= 0 || a.running) return;
    const int64_t delay = std::max<int64_t>(0, a.nextDueAtMs - now());
    std::weak_ptr<Impl> weak = weak_from_this();
    a.timer = deps.executors.after(std::chrono::milliseconds(delay), [weak, id = a.config.agentId] {
      auto self = weak.lock();
      if (!self) return;
      self->deps.executors.blocking([self, id] { self->tick(id, "interval"); });
    });
  }

  /// The next tick after a finished or skipped one: `every` from now (0: none).
  void scheduleNext(Agent& a) {
    a.nextDueAtMs = a.everyMs > 0 ? now() + a.everyMs : 0;
    arm(a);
  }

  std::string sessionKeyFor(const Agent& a, const std::string& runId) const {
    if (cfg(a).isolatedSession.value_or(false)) return fmt::format("agent:{}:heartbeat:{}", a.config.agentId, runId);
    return baseSessionKey(a);
  }

  /// The session whose conversation the heartbeat follows: heartbeat.session, else the main session (an
  /// isolated run still delivers along it, as in OpenClaw).
  std::string baseSessionKey(const Agent& a) const {
    const std::string& agent = a.config.agentId;
    const std::string session = std::string(trimView(cfg(a).session.value_or("main")));
    if (session.empty() || session == "main") return routing::buildMainSessionKey(agent);
    if (routing::parseAgentSessionKey(session)) return routing::normalizeSessionKey(session);
    return routing::normalizeSessionKey(fmt::format("agent:{}:{}", agent, session));
  }

  std::chrono::milliseconds timeoutFor(const Agent& a) const {
    if (cfg(a).timeoutSeconds) return std::chrono::seconds(*cfg(a).timeoutSeconds);
    if (deps.defaultTimeoutSeconds > 0) return std::chrono::seconds(deps.defaultTimeoutSeconds);
    const int64_t cadence = a.everyMs > 0 ? a.everyMs : 600'000;
    return std::chrono::milliseconds(std::min<int64_t>(cadence, 600'000));
  }

  /// A tick of agent `id`: `reason` "interval" (its cadence), or a wake's reason.
  void tick(const std::string& id, const std::string& reason) {
    std::optional<TurnRequest> request;
    // The session's last route, read before the lock (a blocking store read; `agents` and their config
    // do not change after create()).
    std::optional<store::SessionRouteRecord> lastRoute;
    if (const Agent* known = find(id); known && deps.store != nullptr) {
      auto route = store::SessionRouteRepository(*deps.store).get(baseSessionKey(*known));
      if (route) {
        lastRoute = std::move(*route);
      } else {
        spdlog::warn("heartbeat {}: the session's last route cannot be read: {}", id, route.error().toString());
      }
    }
    {
      std::lock_guard lock(mu);
      Agent* a = find(id);
      if (!a) return;
      const bool scheduled = reason == "interval";
      if (scheduled) a->timer.reset();
      if (!isStarted || stopped) return;
      if (scheduled && !runnable(*a)) return;
      const int64_t t = now();
      if (a->running) {
        emit(*a, "skipped", json::object{{"reason", "in-flight"}, {"durationMs", 0}});
        if (scheduled) scheduleNext(*a);
        return;
      }
      if (scheduled && cfg(*a).activeHours) {
        auto inside = withinActiveHours(*cfg(*a).activeHours, t);
        if (!inside) {
          // create() checked the zone; a zone that fails later (tz database gone) is an error, not a skip.
          spdlog::error("heartbeat {}: active hours cannot be evaluated: {}", id, inside.error().toString());
          a->lastError = inside.error().message;
        } else if (!*inside) {
          emit(*a, "skipped", json::object{{"reason", "quiet-hours"}, {"durationMs", 0}});
          scheduleNext(*a);
          return;
        }
      }
      auto file = readHeartbeatFile(a->workspace);
      std::string checklist;
      if (!file) {
        spdlog::warn("heartbeat {}: {}", id, file.error().toString());
      } else if (*file) {
        if (isHeartbeatContentEffectivelyEmpty(**file) && a->queuedEvents.empty()) {
          emit(*a, "skipped", json::object{{"reason", "empty-heartbeat-file"}, {"durationMs", 0}});
          if (scheduled) scheduleNext(*a);
          return;
        }
        if (!isHeartbeatContentEffectivelyEmpty(**file)) checklist = std::string(trimView(**file));
      }

      HeartbeatTargetInputs targetInputs;
      targetInputs.heartbeat = &cfg(*a);
      targetInputs.ownerAllowFrom = &deps.ownerAllowFrom;
      targetInputs.channels = &deps.channels;
      targetInputs.last = std::move(lastRoute);
      HeartbeatDelivery delivery = resolveHeartbeatDelivery(targetInputs);
      // OpenClaw skips before the agent runs when there is nowhere to deliver to, except that a missing
      // route ("no-route") skips only a plain scheduled poll: a wake or queued system events still run,
      // internally (heartbeat-runner-run resolveHeartbeatPreflight: wakeSource interval, no pending events).
      const bool runWithoutRoute = delivery.reason == "no-route" && (!scheduled || !a->queuedEvents.empty());
      if (!delivery.deliverable() && delivery.reason != "target-none" && !runWithoutRoute) {
        json::object fields{{"reason", delivery.reason}, {"durationMs", 0}};
        if (delivery.reason == "no-route") fields["message"] = std::string(kHeartbeatNoRouteMessage);
        emit(*a, "skipped", std::move(fields));
        if (scheduled) scheduleNext(*a);
        return;
      }
      a->delivery = std::move(delivery);

      TurnRequest req;
      req.runId = newUuid();
      req.agentId = id;
      req.sessionKey = sessionKeyFor(*a, req.runId);
      req.channel = "heartbeat";
      req.timeout = timeoutFor(*a);
      req.lightContext = cfg(*a).lightContext.value_or(false);
      if (auto m = deps.models.find(id); m != deps.models.end()) {
        req.modelOverride = m->second.ref;
        req.modelOverrideParams = ModelCallParams{m->second.params.temperature, m->second.params.maxTokens};
      }
      std::string message;
      for (const auto& e : a->queuedEvents) message += "System: " + e + "\n";
      if (!message.empty()) message += "\n";
      message += cfg(*a).prompt && !trimView(*cfg(*a).prompt).empty() ? std::string(trimView(*cfg(*a).prompt))
                                                                      : std::string(kDefaultHeartbeatPrompt);
      if (!checklist.empty()) message += "\n\n" + checklist;
      req.message = std::move(message);
      a->inflightEvents = std::move(a->queuedEvents);
      a->queuedEvents.clear();
      a->running = true;
      a->runId = req.runId;
      a->runStartedAtMs = t;
      a->lastRunAtMs = t;
      a->runReason = reason;
      a->nextDueAtMs = 0;
      if (a->timer) a->timer->cancel();
      a->timer.reset();
      persist(*a);
      std::weak_ptr<Impl> weak = weak_from_this();
      req.onDone = [weak, id, runId = req.runId](const TurnOutcome& outcome) {
        auto self = weak.lock();
        if (!self) return;
        self->deps.executors.blocking([self, id, runId, outcome] { self->onTurnDone(id, runId, outcome); });
      };
      request = std::move(req);
    }
    const std::string runId = request->runId;
    if (auto s = deps.runner->submit(std::move(*request)); !s) {
      spdlog::warn("heartbeat {}: the turn was refused: {}", id, s.error().toString());
      TurnOutcome refused;
      refused.runId = runId;
      refused.error = s.error();
      onTurnDone(id, runId, refused);
    }
  }

  // --- completion -----------------------------------------------------------------------------------

  /// Where alerts go: the cron.failureAlert destination, else the heartbeat's channel target.
  std::optional<CronRoute> alertRoute(const Agent& a) const {
    const auto& fa = deps.failureAlert;
    if (fa.configured && !fa.enabled) return std::nullopt;
    if (fa.configured && (!fa.to.empty() || !fa.channel.empty())) {
      CronRoute r{fa.mode, fa.channel, fa.to, fa.accountId, {}};
      if (r.mode == "webhook" ? r.to.rfind("http", 0) == 0 : !r.channel.empty() && !r.to.empty()) return r;
      return std::nullopt;
    }
    if (a.delivery.deliverable())
      return CronRoute{"announce", a.delivery.channel, a.delivery.to, a.delivery.accountId, {}};
    return std::nullopt;
  }

  EscalationPolicy policyFor(const Agent& a) const {
    EscalationPolicy p = EscalationPolicy::fromConfig(deps.escalation);
    p.alertEnabled = alertRoute(a).has_value();
    p.alertAfter = deps.failureAlert.after;
    p.alertCooldownMs = deps.failureAlert.cooldownMs;
    return p;
  }

  struct PendingSend {
    CronRoute route;
    std::string agentId;
    std::string kind;  // "failure" | "recovery" | "reply"
    std::string text;
    std::string runId;
    std::string threadId;  // replies: the destination's thread
  };

  void onTurnDone(const std::string& id, const std::string& runId, const TurnOutcome& outcome) {
    std::vector<PendingSend> sends;
    std::optional<health::Alert> raise;  // for gateway.alerts, sent with the lock released
    std::optional<std::string> resolveText;
    const std::string incidentKey = "heartbeat:" + id;
    {
      std::lock_guard lock(mu);
      Agent* a = find(id);
      if (!a || !a->running || a->runId != runId) return;
      Agent& agent = *a;
      agent.running = false;
      const int64_t t = now();
      const int64_t durationMs = std::max<int64_t>(0, t - agent.runStartedAtMs);
      std::vector<std::pair<EscalationAction, json::object>> actions;

      if (outcome.error) {
        agent.lastError = outcome.error->message;
        // The events the turn carried go back to the queue for the next attempt.
        agent.queuedEvents.insert(agent.queuedEvents.begin(), agent.inflightEvents.begin(), agent.inflightEvents.end());
        agent.inflightEvents.clear();
        EscalationPolicy policy = policyFor(agent);
        EscalationOutcome esc = escalation.recordFailure(agent.escalation, policy, agent.autoDisabledReason.empty());
        agent.nextDueAtMs = agent.everyMs > 0 ? t + agent.everyMs : 0;
        for (EscalationAction action : esc.actions) {
          switch (action) {
            case EscalationAction::kBackoff:
              agent.nextDueAtMs = t + esc.retryDelayMs;
              actions.emplace_back(
                  action, json::object{{"retryInMs", esc.retryDelayMs}, {"nextDueAtMs", t + esc.retryDelayMs}});
              break;
            case EscalationAction::kDisable:
              agent.autoDisabledReason = "consecutive-failures";
              agent.nextDueAtMs = 0;
              actions.emplace_back(action, json::object{{"reason", "consecutive-failures"}});
              break;
            case EscalationAction::kAlert:
              if (auto route = alertRoute(agent)) {
                sends.push_back(PendingSend{*route,
                                            id,
                                            "failure",
                                            fmt::format("Heartbeat of agent {} failed {} times in a row: {}", id,
                                                        esc.alertCount, agent.lastError),
                                            runId,
                                            {}});
                actions.emplace_back(action, json::object{{"mode", route->mode}, {"count", esc.alertCount}});
              }
              break;
            case EscalationAction::kRecovery:
              break;
          }
        }
        if (deps.alerts != nullptr &&
            (!agent.autoDisabledReason.empty() || agent.escalation.consecutiveErrors >= policy.alertAfter)) {
          const bool disabled = !agent.autoDisabledReason.empty();
          health::Alert a;
          a.key = incidentKey;
          a.severity = disabled ? health::AlertSeverity::kCritical : health::AlertSeverity::kWarning;
          a.title = disabled ? fmt::format("Heartbeat of agent {} was disabled after {} failed runs", id,
                                           agent.escalation.consecutiveErrors)
                             : fmt::format("Heartbeat of agent {} is failing", id);
          a.text = fmt::format("The heartbeat of agent {} failed {} times in a row{}. Last error: {}", id,
                               agent.escalation.consecutiveErrors,
                               disabled ? " and was disabled (escalation.disableAfter)" : "", agent.lastError);
          a.fields = {{"agentId", id}, {"consecutiveErrors", std::to_string(agent.escalation.consecutiveErrors)}};
          raise = std::move(a);
        }
        spdlog::warn("heartbeat {}: the turn failed ({} in a row): {}", id, agent.escalation.consecutiveErrors,
                     agent.lastError);
        emit(
            agent, "failed",
            json::object{{"reason", truncateUtf8(agent.lastError, 500)}, {"runId", runId}, {"durationMs", durationMs}});
      } else {
        agent.inflightEvents.clear();
        agent.lastError.clear();
        if (deps.alerts != nullptr) {  // a no-op unless the incident is open
          resolveText = agent.escalation.consecutiveErrors > 0
                            ? fmt::format("The heartbeat of agent {} succeeded again after {} failed runs.", id,
                                          agent.escalation.consecutiveErrors)
                            : fmt::format("The heartbeat of agent {} succeeded again.", id);
        }
        EscalationOutcome esc = escalation.recordSuccess(agent.escalation);
        if (esc.has(EscalationAction::kRecovery)) {
          if (auto route = alertRoute(agent)) {
            sends.push_back(
                PendingSend{*route,
                            id,
                            "recovery",
                            fmt::format("Heartbeat of agent {} recovered after {} failed runs.", id, esc.failedRuns),
                            runId,
                            {}});
          }
          actions.emplace_back(EscalationAction::kRecovery, json::object{{"failedRuns", esc.failedRuns}});
        }
        agent.nextDueAtMs = agent.everyMs > 0 ? t + agent.everyMs : 0;
        HeartbeatReply reply = interpretHeartbeatReply(outcome.text);
        json::object fields{{"runId", runId}, {"durationMs", durationMs}};
        const auto& c = cfg(agent);
        const HeartbeatDelivery& d = agent.delivery;
        if (reply.suppress) {
          emit(agent, reply.acknowledged || !trimView(outcome.text).empty() ? "ok-token" : "ok-empty",
               std::move(fields));
        } else {
          fields["preview"] = truncateUtf8(reply.text, kPreviewChars);
          if (!d.deliverable()) {
            fields["reason"] = d.reason;
            fields["message"] = d.reason == "target-none"
                                    ? "Heartbeat delivery is disabled by configuration (target: none)."
                                    : std::string(kHeartbeatNoRouteMessage);
            emit(agent, "skipped", std::move(fields));
          } else if (c.directPolicy.value_or("allow") == "block" && d.kind == routing::PeerKind::kDirect) {
            fields["reason"] = "dm-blocked";
            fields["channel"] = d.channel;
            emit(agent, "skipped", std::move(fields));
          } else {
            sends.push_back(PendingSend{CronRoute{"announce", d.channel, d.to, d.accountId, {}}, id, "reply",
                                        reply.text, runId, d.threadId});
          }
        }
      }
      observe(agent);
      for (auto& [action, details] : actions) {
        count(escalations, escalationActionName(action));
        details["action"] = std::string(escalationActionName(action));
        details["consecutiveErrors"] = agent.escalation.consecutiveErrors;
        audit("heartbeat.escalation", "system", id, details);
        json::object event{{"ts", t},
                           {"agentId", id},
                           {"escalation", std::string(escalationActionName(action))},
                           {"consecutiveErrors", agent.escalation.consecutiveErrors}};
        GatewayEvent e;
        e.name = "heartbeat";
        e.payloadJson = std::make_shared<const std::string>(json::serialize(event));
        deps.bus->publish(e);
      }
      arm(agent);
    }
    for (auto& s : sends) send(std::move(s));
    if (raise) deps.alerts->raise(std::move(*raise));
    if (resolveText) deps.alerts->resolve(incidentKey, std::move(*resolveText));
  }

  /// Sends a reply, an alert or a recovery notice (lock released); the outcome is recorded.
  void send(PendingSend s) {
    std::weak_ptr<Impl> weak = weak_from_this();
    auto report = [weak, s](bool ok, const std::string& why) {
      auto self = weak.lock();
      if (!self) return;
      std::lock_guard lock(self->mu);
      Agent* a = self->find(s.agentId);
      if (s.kind == "reply") {
        if (!a) return;
        json::object fields{{"runId", s.runId},
                            {"channel", s.route.channel},
                            {"to", s.route.to},
                            {"preview", truncateUtf8(s.text, kPreviewChars)}};
        if (!s.route.accountId.empty()) fields["accountId"] = s.route.accountId;
        if (ok) {
          self->emit(*a, "sent", std::move(fields));
        } else {
          spdlog::error("heartbeat {}: the reply was not delivered to {}:{}: {}", s.agentId, s.route.channel,
                        s.route.to, why);
          fields["reason"] = "delivery-failed";
          fields["message"] = why;
          self->emit(*a, "failed", std::move(fields));
          self->audit("heartbeat.delivery", "system", s.agentId,
                      json::object{{"channel", s.route.channel}, {"error", why}}, security::AuditOutcome::kFailed);
        }
        return;
      }
      json::object details{{"alert", s.kind}};
      if (!ok) {
        details["error"] = why;
        spdlog::error("heartbeat {}: the {} alert was not delivered: {}", s.agentId, s.kind, why);
      }
      self->audit("heartbeat.alert.delivery", "system", s.agentId, std::move(details),
                  ok ? security::AuditOutcome::kAllowed : security::AuditOutcome::kFailed);
    };
    if (s.route.mode == "webhook") {
      if (!deps.webhooks) return report(false, "no webhook sender is wired");
      WebhookTarget target;
      target.url = s.route.to;
      if (!deps.webhookToken.empty()) {
        target.headers.emplace_back("Authorization", "Bearer " + deps.webhookToken);
        target.secret = deps.webhookToken;
      }
      json::object body{{"kind", "heartbeat." + s.kind}, {"agentId", s.agentId}, {"text", s.text}};
      deps.webhooks->send(target, std::move(body), [report](WebhookDelivery d) {
        report(d.delivered, d.error ? d.error->message : std::string());
      });
      return;
    }
    if (!deps.outbound) return report(false, "no outbox is wired");
    channels::OutboundMessage m;
    m.accountId = s.route.accountId;
    m.peer = routing::parsePeerTarget(s.route.to);
    m.text = s.text;
    m.runId = s.runId;
    if (!s.threadId.empty()) m.threadId = s.threadId;
    std::string channelId = s.route.accountId.empty() ? s.route.channel : s.route.channel + ":" + s.route.accountId;
    deps.outbound->deliver(
        channelId, std::move(m), fmt::format("heartbeat-{}:{}:{}", s.kind, s.agentId, s.runId),
        [report](Result<store::OutboundDelivery> first) {
          if (!first) return report(false, first.error().message);
          // A pending delivery is retried by the outbox, which reports its own final failure.
          report(first->state != store::DeliveryState::kFailed, first->lastError);
        },
        nullptr);
  }
};

HeartbeatService::HeartbeatService(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

HeartbeatService::~HeartbeatService() { stop(); }

Result<std::unique_ptr<HeartbeatService>> HeartbeatService::create(HeartbeatServiceDeps deps) {
  if (!deps.clock || !deps.runner || !deps.health || !deps.metrics || !deps.bus || !deps.audit ||
      !deps.executors.blocking || !deps.executors.after) {
    return fail(ErrorCode::kInvalidArgument,
                "HeartbeatService needs a clock, runner, registries, bus, audit sink, blocking executor and timers");
  }
  auto impl = std::make_shared<Impl>(std::move(deps));
  auto families = impl->deps.metrics->add(kHeartbeatServiceMetrics);
  if (!families) {
    impl->runsTotal = impl->deps.metrics->find(kHeartbeatServiceMetrics[0].name);
    impl->consecutiveErrors = impl->deps.metrics->find(kHeartbeatServiceMetrics[1].name);
    impl->escalations = impl->deps.metrics->find(kHeartbeatServiceMetrics[2].name);
    if (!impl->runsTotal || !impl->consecutiveErrors || !impl->escalations) return fail(families.error());
  } else {
    impl->runsTotal = (*families)[0];
    impl->consecutiveErrors = (*families)[1];
    impl->escalations = (*families)[2];
  }
  for (const auto& hb : impl->deps.heartbeats) {
    const AgentProfile* profile = impl->deps.runner->agent(hb.agentId);
    if (!profile) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("{}: unknown agent \"{}\"", hb.path, hb.agentId));
    }
    if (hb.config.activeHours) {
      if (auto probe = localMinuteOfDay(hb.config.activeHours->timezone, impl->now()); !probe) {
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("{}.activeHours.timezone: {}", hb.path, probe.error().message));
      }
    }
    Impl::Agent a;
    a.config = hb;
    a.workspace = profile->workspace;
    a.everyMs = hb.everyMs();
    a.fingerprint = heartbeatFingerprint(hb);
    impl->agents.push_back(std::move(a));
  }
  return std::unique_ptr<HeartbeatService>(new HeartbeatService(std::move(impl)));
}

void HeartbeatService::start() {
  std::lock_guard lock(impl_->mu);
  if (impl_->isStarted || impl_->stopped) return;
  impl_->isStarted = true;
  impl_->restoreMonitors();
  for (auto& a : impl_->agents) impl_->observe(a);
}

void HeartbeatService::stop() {
  std::lock_guard lock(impl_->mu);
  impl_->stopped = true;
  for (auto& a : impl_->agents) {
    if (a.timer) a.timer->cancel();
    a.timer.reset();
  }
}

Status HeartbeatService::wake(const std::string& agentId, const std::string& reason) {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->isStarted || impl_->stopped) {
      return fail(ErrorCode::kFailedPrecondition, "heartbeats are not running");
    }
    if (!agentId.empty() && !impl_->find(agentId)) {
      return fail(ErrorCode::kNotFound, "agent " + agentId + " has no heartbeat");
    }
    for (const auto& a : impl_->agents) {
      if (agentId.empty() || a.config.agentId == agentId) ids.push_back(a.config.agentId);
    }
  }
  std::weak_ptr<Impl> weak = impl_;
  for (const auto& id : ids) {
    impl_->deps.executors.blocking([weak, id, reason] {
      if (auto self = weak.lock()) self->tick(id, reason.empty() ? "wake" : reason);
    });
  }
  return {};
}

Status HeartbeatService::enqueueSystemEvent(const std::string& agentId, std::string text) {
  std::lock_guard lock(impl_->mu);
  Impl::Agent* a = impl_->find(agentId);
  if (!a) return fail(ErrorCode::kNotFound, "agent " + agentId + " has no heartbeat");
  a->queuedEvents.push_back(std::move(text));
  return {};
}

bool HeartbeatService::has(const std::string& agentId) const {
  std::lock_guard lock(impl_->mu);
  return std::any_of(impl_->agents.begin(), impl_->agents.end(),
                     [&](const Impl::Agent& a) { return a.config.agentId == agentId; });
}

void HeartbeatService::setEnabled(bool enabled, const std::string& actor) {
  std::lock_guard lock(impl_->mu);
  impl_->enabled = enabled;
  impl_->audit("heartbeat.set", actor, "heartbeats", json::object{{"enabled", enabled}});
  for (auto& a : impl_->agents) {
    if (enabled && !a.autoDisabledReason.empty()) {
      a.autoDisabledReason.clear();
      a.escalation = EscalationState{};
    }
    if (enabled && a.nextDueAtMs == 0 && !a.running) {
      impl_->scheduleNext(a);
    } else {
      impl_->arm(a);
    }
    impl_->observe(a);
  }
}

void HeartbeatService::setChannels(config::ChannelsConfig channels) {
  std::lock_guard lock(impl_->mu);
  impl_->deps.channels = std::move(channels);
}

std::optional<json::object> HeartbeatService::lastEvent() const {
  std::lock_guard lock(impl_->mu);
  return impl_->last;
}

std::vector<HeartbeatAgentStatus> HeartbeatService::status() const {
  std::lock_guard lock(impl_->mu);
  std::vector<HeartbeatAgentStatus> out;
  for (const auto& a : impl_->agents) {
    HeartbeatAgentStatus s;
    s.agentId = a.config.agentId;
    s.enabled = impl_->runnable(a) && a.everyMs > 0;
    s.everyMs = a.everyMs;
    s.nextDueAtMs = impl_->runnable(a) ? a.nextDueAtMs : 0;
    s.consecutiveErrors = a.escalation.consecutiveErrors;
    s.disabledReason = !a.autoDisabledReason.empty() ? a.autoDisabledReason : !impl_->enabled ? "set-heartbeats" : "";
    s.queuedSystemEvents = a.queuedEvents.size();
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace talon::gateway::automation
