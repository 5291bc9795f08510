#include "gateway/automation/cron_job.h"

#include <fmt/format.h>

#include <algorithm>
#include <initializer_list>
#include <string_view>

#include "base/text.h"

namespace talon::gateway::automation {
namespace {

Unexpected<Error> invalid(std::string_view at, std::string_view what) {
  std::string m = fmt::format("at {}: {}", at.empty() ? "root" : at, what);
  return fail(ErrorCode::kInvalidArgument, m, m);
}

Unexpected<Error> unsupported(std::string_view what) { return fail(notSupportedYet(what)); }

bool blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

/// Refuses a key of `o` outside `known`; a key in `notYet` (an OpenClaw key Talon does not act on) set to
/// anything but null/false is refused as not supported yet.
Status closedObject(const json::object& o, std::string_view at, std::initializer_list<std::string_view> known,
                    std::initializer_list<std::string_view> notYet = {}) {
  for (const auto& kv : o) {
    std::string_view key(kv.key().data(), kv.key().size());
    if (std::find(notYet.begin(), notYet.end(), key) != notYet.end()) {
      const auto& v = kv.value();
      if (v.is_null() || (v.is_bool() && !v.as_bool())) continue;
      return unsupported(fmt::format("cron {}{}{}", at.empty() ? "" : at.substr(1), at.empty() ? "" : ".", key));
    }
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return invalid(at, fmt::format("unexpected property '{}'", key));
    }
  }
  return {};
}

Result<std::optional<std::string>> optString(const json::object& o, std::string_view key, std::string_view at,
                                             bool nonBlank) {
  auto it = o.find(key);
  if (it == o.end()) return std::optional<std::string>{};
  if (!it->value().is_string()) return invalid(fmt::format("{}/{}", at, key), "must be string");
  std::string s(it->value().as_string());
  if (nonBlank && blank(s)) return invalid(fmt::format("{}/{}", at, key), "must NOT have fewer than 1 characters");
  return std::optional<std::string>{std::move(s)};
}

Result<std::optional<bool>> optBool(const json::object& o, std::string_view key, std::string_view at) {
  auto it = o.find(key);
  if (it == o.end()) return std::optional<bool>{};
  if (!it->value().is_bool()) return invalid(fmt::format("{}/{}", at, key), "must be boolean");
  return std::optional<bool>{it->value().as_bool()};
}

Result<std::optional<int64_t>> optInt(const json::object& o, std::string_view key, std::string_view at, int64_t min) {
  auto it = o.find(key);
  if (it == o.end()) return std::optional<int64_t>{};
  const auto& v = it->value();
  int64_t n = 0;
  if (v.is_int64()) {
    n = v.as_int64();
  } else if (v.is_uint64() && v.as_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    n = static_cast<int64_t>(v.as_uint64());
  } else if (v.is_double() && v.as_double() == static_cast<double>(static_cast<int64_t>(v.as_double()))) {
    n = static_cast<int64_t>(v.as_double());
  } else {
    return invalid(fmt::format("{}/{}", at, key), "must be integer");
  }
  if (n < min) return invalid(fmt::format("{}/{}", at, key), fmt::format("must be >= {}", min));
  return std::optional<int64_t>{n};
}

/// Reads a route's {channel, to, accountId, mode, threadId} fields (already key-checked).
Result<CronRoute> readRoute(const json::object& o, std::string_view at, std::string defaultMode) {
  CronRoute r;
  r.mode = std::move(defaultMode);
  auto mode = optString(o, "mode", at, true);
  if (!mode) return fail(mode.error());
  if (*mode) r.mode = **mode;
  auto channel = optString(o, "channel", at, true);
  if (!channel) return fail(channel.error());
  if (*channel) r.channel = trimWhitespace(**channel);
  auto to = optString(o, "to", at, true);
  if (!to) return fail(to.error());
  if (*to) r.to = trimWhitespace(**to);
  auto account = optString(o, "accountId", at, true);
  if (!account) return fail(account.error());
  if (*account) r.accountId = trimWhitespace(**account);
  if (auto it = o.find("threadId"); it != o.end()) {
    if (it->value().is_string()) {
      r.threadId = std::string(it->value().as_string());
    } else if (it->value().is_number()) {
      r.threadId = json::serialize(it->value());
    } else {
      return invalid(fmt::format("{}/threadId", at), "must be string or number");
    }
  }
  return r;
}

Status checkRouteTarget(const CronRoute& r, std::string_view what) {
  if (r.mode == "webhook" && !isHttpUrl(r.to)) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("cron {} webhook requires {}.to to be a valid http(s) URL", what, what),
                fmt::format("cron {} webhook requires {}.to to be a valid http(s) URL", what, what));
  }
  return {};
}

Result<CronJobAlert> readAlert(const json::value& v) {
  CronJobAlert a;
  if (v.is_bool()) {
    if (v.as_bool()) return invalid("/failureAlert", "must be false or object");
    a.setting = CronJobAlert::Setting::kOff;
    return a;
  }
  if (!v.is_object()) return invalid("/failureAlert", "must be false or object");
  const auto& o = v.as_object();
  if (auto s = closedObject(o, "/failureAlert",
                            {"after", "channel", "to", "cooldownMs", "includeSkipped", "mode", "accountId"});
      !s) {
    return fail(s.error());
  }
  a.setting = CronJobAlert::Setting::kOverride;
  auto after = optInt(o, "after", "/failureAlert", 1);
  if (!after) return fail(after.error());
  a.after = *after;
  auto cooldown = optInt(o, "cooldownMs", "/failureAlert", 0);
  if (!cooldown) return fail(cooldown.error());
  a.cooldownMs = *cooldown;
  auto skipped = optBool(o, "includeSkipped", "/failureAlert");
  if (!skipped) return fail(skipped.error());
  a.includeSkipped = *skipped;
  auto route = readRoute(o, "/failureAlert", "");
  if (!route) return fail(route.error());
  if (!route->mode.empty()) {
    if (route->mode != "announce" && route->mode != "webhook") {
      return invalid("/failureAlert/mode", "must be equal to one of the allowed values");
    }
    a.mode = route->mode;
  }
  if (!route->channel.empty()) a.channel = route->channel;
  if (!route->to.empty()) a.to = route->to;
  if (!route->accountId.empty()) a.accountId = route->accountId;
  return a;
}

Result<CronJobEscalation> readEscalation(const json::value& v) {
  if (!v.is_object()) return invalid("/escalation", "must be object");
  const auto& o = v.as_object();
  if (auto s = closedObject(o, "/escalation", {"retryBackoff", "disableAfter"}); !s) return fail(s.error());
  CronJobEscalation e;
  if (auto it = o.find("retryBackoff"); it != o.end()) {
    if (!it->value().is_object()) return invalid("/escalation/retryBackoff", "must be object");
    const auto& b = it->value().as_object();
    if (auto s = closedObject(b, "/escalation/retryBackoff", {"initialMs", "maxMs"}); !s) return fail(s.error());
    auto initial = optInt(b, "initialMs", "/escalation/retryBackoff", 1000);
    if (!initial) return fail(initial.error());
    e.retryInitialMs = *initial;
    auto max = optInt(b, "maxMs", "/escalation/retryBackoff", 1000);
    if (!max) return fail(max.error());
    e.retryMaxMs = *max;
    if (e.retryInitialMs && e.retryMaxMs && *e.retryMaxMs < *e.retryInitialMs) {
      return invalid("/escalation/retryBackoff/maxMs", fmt::format("must be >= initialMs ({})", *e.retryInitialMs));
    }
  }
  auto disable = optInt(o, "disableAfter", "/escalation", 0);
  if (!disable) return fail(disable.error());
  e.disableAfter = *disable;
  return e;
}

Status readPayload(const json::object& o, CronJobSpec& spec) {
  auto kind = optString(o, "kind", "/payload", true);
  if (!kind) return fail(kind.error());
  if (!*kind) return invalid("/payload", "must have required property 'kind'");
  spec.payloadKind = **kind;
  if (spec.payloadKind == "command" || spec.payloadKind == "script" || spec.payloadKind == "heartbeat") {
    return unsupported(fmt::format("cron payload kind \"{}\"", spec.payloadKind));
  }
  if (spec.payloadKind == "systemEvent") {
    if (auto s = closedObject(o, "/payload", {"kind", "text", "toolsAllowIsDefault"}, {"toolsAllow"}); !s) return s;
    auto text = optString(o, "text", "/payload", true);
    if (!text) return fail(text.error());
    if (!*text) return invalid("/payload", "must have required property 'text'");
    spec.payloadText = **text;
    return {};
  }
  if (spec.payloadKind == "agentTurn") {
    if (auto s = closedObject(
            o, "/payload", {"kind", "message", "timeoutSeconds", "toolsAllowIsDefault"},
            {"model", "fallbacks", "thinking", "toolsAllow", "lightContext", "allowUnsafeExternalContent"});
        !s) {
      return s;
    }
    auto message = optString(o, "message", "/payload", true);
    if (!message) return fail(message.error());
    if (!*message) return invalid("/payload", "must have required property 'message'");
    spec.payloadText = **message;
    if (auto it = o.find("timeoutSeconds"); it != o.end()) {
      if (!it->value().is_number() || it->value().to_number<double>() < 0) {
        return invalid("/payload/timeoutSeconds", "must be number >= 0");
      }
      spec.timeoutMs = static_cast<int64_t>(it->value().to_number<double>() * 1000.0);
    }
    return {};
  }
  return invalid("/payload/kind", "must be equal to one of the allowed values");
}

}  // namespace

Result<config::CronEscalationConfig> CronJobEscalation::over(const config::CronEscalationConfig& global) const {
  config::CronEscalationConfig out = global;
  if (retryInitialMs) out.retryInitialMs = *retryInitialMs;
  if (retryMaxMs) out.retryMaxMs = *retryMaxMs;
  if (disableAfter) out.disableAfter = *disableAfter;
  if (out.retryMaxMs < out.retryInitialMs) {
    return invalid("/escalation/retryBackoff/maxMs",
                   fmt::format("must be >= initialMs ({} ms{}), got {} ms", out.retryInitialMs,
                               retryInitialMs ? "" : ", from cron.escalation", out.retryMaxMs));
  }
  return out;
}

Result<CronJobSpec> parseCronJobSpec(const json::object& params, int64_t nowMs) {
  if (auto s =
          closedObject(params, "",
                       {"name", "displayName", "agentId", "sessionKey", "description", "enabled", "deleteAfterRun",
                        "schedule", "sessionTarget", "wakeMode", "payload", "delivery", "failureAlert", "escalation"},
                       {"declarationKey", "owner", "pacing", "trigger"});
      !s) {
    return fail(s.error());
  }
  CronJobSpec spec;
  json::object out;

  auto name = optString(params, "name", "", true);
  if (!name) return fail(name.error());
  if (!*name) return invalid("", "must have required property 'name'");
  spec.name = trimWhitespace(**name);
  if (spec.name.size() > 200) return invalid("/name", "must NOT have more than 200 characters");
  out["name"] = spec.name;
  if (auto d = optString(params, "displayName", "", true); !d) {
    return fail(d.error());
  } else if (*d) {
    out["displayName"] = **d;
  }
  if (auto d = optString(params, "description", "", false); !d) {
    return fail(d.error());
  } else if (*d) {
    out["description"] = **d;
  }
  for (std::string_view key : {"agentId", "sessionKey"}) {
    auto it = params.find(key);
    if (it == params.end() || it->value().is_null()) continue;
    auto v = optString(params, key, "", true);
    if (!v) return fail(v.error());
    out[key] = trimWhitespace(**v);
    if (key == "agentId") spec.agentId = trimWhitespace(**v);
  }
  auto enabled = optBool(params, "enabled", "");
  if (!enabled) return fail(enabled.error());
  spec.enabled = enabled->value_or(true);
  out["enabled"] = spec.enabled;

  // schedule
  auto sched = params.find("schedule");
  if (sched == params.end()) return invalid("", "must have required property 'schedule'");
  if (!sched->value().is_object()) return invalid("/schedule", "must be object");
  if (auto k = getString(sched->value().as_object(), "kind"); k && (*k == "on-exit" || *k == "stream")) {
    return unsupported(fmt::format("cron schedule kind \"{}\"", *k));
  }
  auto schedule = parseSchedule(sched->value(), nowMs);
  if (!schedule) return fail(schedule.error());
  spec.schedule = *schedule;
  out["schedule"] = scheduleToJson(spec.schedule);

  auto deleteAfterRun = optBool(params, "deleteAfterRun", "");
  if (!deleteAfterRun) return fail(deleteAfterRun.error());
  spec.deleteAfterRun = deleteAfterRun->value_or(spec.schedule.kind == ScheduleKind::kAt);
  if (*deleteAfterRun || spec.schedule.kind == ScheduleKind::kAt) out["deleteAfterRun"] = spec.deleteAfterRun;

  // payload before sessionTarget: the target's default depends on it
  auto payload = params.find("payload");
  if (payload == params.end()) return invalid("", "must have required property 'payload'");
  if (!payload->value().is_object()) return invalid("/payload", "must be object");
  if (auto s = readPayload(payload->value().as_object(), spec); !s) return fail(s.error());
  out["payload"] = payload->value();

  auto target = optString(params, "sessionTarget", "", true);
  if (!target) return fail(target.error());
  if (!*target) return invalid("", "must have required property 'sessionTarget'");
  spec.sessionTarget = trimWhitespace(**target);
  if (spec.sessionTarget == "current") return unsupported("cron sessionTarget \"current\"");
  bool isSession = spec.sessionTarget.rfind("session:", 0) == 0 && spec.sessionTarget.size() > 8;
  if (spec.sessionTarget != "main" && spec.sessionTarget != "isolated" && !isSession) {
    return invalid("/sessionTarget", "must be \"main\", \"isolated\", \"current\" or \"session:<id>\"");
  }
  if (spec.sessionTarget == "main" && spec.payloadKind != "systemEvent") {
    return fail(ErrorCode::kInvalidArgument, "main cron jobs require payload.kind=\"systemEvent\"",
                "main cron jobs require payload.kind=\"systemEvent\"");
  }
  if (spec.sessionTarget != "main" && spec.payloadKind != "agentTurn") {
    return fail(ErrorCode::kInvalidArgument, "isolated cron jobs require payload.kind=\"agentTurn\"",
                "isolated cron jobs require payload.kind=\"agentTurn\"");
  }
  out["sessionTarget"] = spec.sessionTarget;

  auto wake = optString(params, "wakeMode", "", true);
  if (!wake) return fail(wake.error());
  if (!*wake) return invalid("", "must have required property 'wakeMode'");
  if (**wake != "now" && **wake != "next-heartbeat") {
    return invalid("/wakeMode", "must be equal to one of the allowed values");
  }
  if (**wake == "next-heartbeat" && spec.payloadKind != "systemEvent") {
    return unsupported("cron wakeMode \"next-heartbeat\" for an agentTurn job");
  }
  spec.wakeMode = **wake;
  out["wakeMode"] = spec.wakeMode;

  if (auto it = params.find("delivery"); it != params.end()) {
    if (!it->value().is_object()) return invalid("/delivery", "must be object");
    const auto& d = it->value().as_object();
    if (auto s = closedObject(d, "/delivery",
                              {"mode", "channel", "threadId", "accountId", "bestEffort", "failureDestination", "to"},
                              {"completionDestination"});
        !s) {
      return fail(s.error());
    }
    auto mode = optString(d, "mode", "/delivery", true);
    if (!mode) return fail(mode.error());
    if (!*mode) return invalid("/delivery", "must have required property 'mode'");
    if (**mode != "none" && **mode != "announce" && **mode != "webhook") {
      return invalid("/delivery/mode", "must be equal to one of the allowed values");
    }
    auto route = readRoute(d, "/delivery", **mode);
    if (!route) return fail(route.error());
    spec.delivery = *route;
    if (auto s = checkRouteTarget(spec.delivery, "delivery"); !s) return fail(s.error());
    auto best = optBool(d, "bestEffort", "/delivery");
    if (!best) return fail(best.error());
    spec.bestEffort = best->value_or(false);
    if (auto fd = d.find("failureDestination"); fd != d.end()) {
      if (!fd->value().is_object()) return invalid("/delivery/failureDestination", "must be object");
      if (auto s = closedObject(fd->value().as_object(), "/delivery/failureDestination",
                                {"channel", "to", "accountId", "mode"});
          !s) {
        return fail(s.error());
      }
      auto r = readRoute(fd->value().as_object(), "/delivery/failureDestination", "announce");
      if (!r) return fail(r.error());
      if (auto s = checkRouteTarget(*r, "failureDestination"); !s) return fail(s.error());
      spec.failureDestination = *r;
    }
    out["delivery"] = it->value();
  }

  if (auto it = params.find("failureAlert"); it != params.end()) {
    auto alert = readAlert(it->value());
    if (!alert) return fail(alert.error());
    spec.failureAlert = *alert;
    out["failureAlert"] = it->value();
  }
  if (auto it = params.find("escalation"); it != params.end() && !it->value().is_null()) {
    auto escalation = readEscalation(it->value());
    if (!escalation) return fail(escalation.error());
    spec.escalation = *escalation;
    if (!spec.escalation.empty()) out["escalation"] = it->value();
  }
  spec.json = std::move(out);
  return spec;
}

Result<json::object> applyCronJobPatch(const json::object& current, const json::object& patch) {
  if (auto s =
          closedObject(patch, "/patch",
                       {"name", "displayName", "agentId", "sessionKey", "description", "enabled", "deleteAfterRun",
                        "schedule", "sessionTarget", "wakeMode", "payload", "delivery", "failureAlert", "escalation"},
                       {"pacing", "trigger", "state"});
      !s) {
    return fail(s.error());
  }
  json::object out = current;
  auto mergeFields = [](json::object& into, const json::object& from) {
    for (const auto& kv : from) {
      if (kv.value().is_null()) {
        into.erase(kv.key());
      } else {
        into[kv.key()] = kv.value();
      }
    }
  };
  for (const auto& kv : patch) {
    std::string_view key(kv.key().data(), kv.key().size());
    const json::value& v = kv.value();
    if (key == "payload") {
      if (!v.is_object()) return invalid("/patch/payload", "must be object");
      const json::object* cur = getObject(out, "payload");
      auto newKind = getString(v.as_object(), "kind");
      if (cur && newKind && getString(*cur, "kind") == newKind) {
        json::object merged = *cur;
        mergeFields(merged, v.as_object());
        out["payload"] = std::move(merged);
      } else {
        out["payload"] = v;
      }
    } else if (key == "delivery") {
      if (!v.is_object()) return invalid("/patch/delivery", "must be object");
      json::object merged = getObject(out, "delivery") ? *getObject(out, "delivery") : json::object{};
      mergeFields(merged, v.as_object());
      out["delivery"] = std::move(merged);
    } else if (key == "failureAlert") {
      if (v.is_null()) {
        out.erase("failureAlert");
      } else if (v.is_object() && getObject(out, "failureAlert")) {
        json::object merged = *getObject(out, "failureAlert");
        mergeFields(merged, v.as_object());
        out["failureAlert"] = std::move(merged);
      } else if (v.is_object()) {
        json::object fresh;
        mergeFields(fresh, v.as_object());
        out["failureAlert"] = std::move(fresh);
      } else {
        out["failureAlert"] = v;
      }
    } else if (key == "escalation") {
      // Merged like failureAlert: null removes the override, an object merges over the job's (a null
      // field removes that field); retryBackoff merges one level down.
      if (v.is_null()) {
        out.erase("escalation");
        continue;
      }
      if (!v.is_object()) return invalid("/patch/escalation", "must be object or null");
      json::object merged = getObject(out, "escalation") ? *getObject(out, "escalation") : json::object{};
      for (const auto& f : v.as_object()) {
        if (f.key() == "retryBackoff" && f.value().is_object() && getObject(merged, "retryBackoff")) {
          json::object backoff = *getObject(merged, "retryBackoff");
          mergeFields(backoff, f.value().as_object());
          merged["retryBackoff"] = std::move(backoff);
        } else if (f.value().is_null()) {
          merged.erase(f.key());
        } else {
          merged[f.key()] = f.value();
        }
      }
      if (merged.empty()) {
        out.erase("escalation");
      } else {
        out["escalation"] = std::move(merged);
      }
    } else if (v.is_null() && (key == "agentId" || key == "sessionKey" || key == "displayName")) {
      out.erase(kv.key());
    } else {
      out[kv.key()] = v;
    }
  }
  return out;
}

json::object cronJobToJson(const store::CronJobRow& row) {
  json::object o;
  o["id"] = row.id;
  auto spec = parseJson(row.specJson);
  if (spec && spec->is_object()) {
    for (const auto& kv : spec->as_object()) o[kv.key()] = kv.value();
  }
  o["name"] = row.name;
  o["enabled"] = row.enabled;
  o["createdAtMs"] = row.createdAtMs;
  o["updatedAtMs"] = row.updatedAtMs;
  const auto& s = row.state;
  json::object state;
  if (s.nextRunAtMs > 0) state["nextRunAtMs"] = s.nextRunAtMs;
  if (s.runningSinceMs > 0) state["runningAtMs"] = s.runningSinceMs;
  if (s.lastRunAtMs > 0) state["lastRunAtMs"] = s.lastRunAtMs;
  if (!s.lastRunStatus.empty()) {
    state["lastRunStatus"] = s.lastRunStatus;
    state["lastStatus"] = s.lastRunStatus;
  }
  if (!s.lastError.empty()) state["lastError"] = s.lastError;
  if (s.lastRunAtMs > 0) state["lastDurationMs"] = s.lastDurationMs;
  state["consecutiveErrors"] = s.consecutiveErrors;
  if (s.consecutiveSkipped > 0) state["consecutiveSkipped"] = s.consecutiveSkipped;
  if (!s.autoDisabledReason.empty()) {
    state["autoDisabled"] = json::object{{"reason", s.autoDisabledReason},
                                         {"atMs", s.autoDisabledAtMs},
                                         {"consecutiveErrors", std::max<int64_t>(1, s.consecutiveErrors)}};
  }
  if (s.alertedAtMs > 0) state["lastFailureAlertAtMs"] = s.alertedAtMs;
  o["state"] = std::move(state);
  if (s.nextRunAtMs > 0) o["nextRunAtMs"] = s.nextRunAtMs;
  if (s.lastRunAtMs > 0) o["lastRunAtMs"] = s.lastRunAtMs;
  if (!s.lastRunStatus.empty()) o["lastRunStatus"] = s.lastRunStatus;
  if (!s.lastError.empty()) o["lastRunError"] = s.lastError;
  return o;
}

json::object cronRunToJson(const store::CronRunRow& run, const std::string& jobName) {
  json::object o;
  o["ts"] = run.finishedAtMs > 0 ? run.finishedAtMs : run.startedAtMs;
  o["jobId"] = run.jobId;
  o["action"] = "finished";
  if (run.status == "running") {
    o["completionStatus"] = "unknown";
  } else {
    std::string status = run.status == "interrupted" ? "error" : run.status;
    o["status"] = status;
    o["completionStatus"] = status == "ok" ? "succeeded" : status == "error" ? "failed" : "unknown";
  }
  if (!run.error.empty()) o["error"] = run.error;
  if (!run.summary.empty()) o["summary"] = run.summary;
  std::string delivery = run.deliveryStatus.empty() ? "unknown" : run.deliveryStatus;
  o["deliveryStatus"] = delivery;
  if (delivery == "delivered" || delivery == "not-delivered") o["delivered"] = delivery == "delivered";
  if (!run.sessionKey.empty()) o["sessionKey"] = run.sessionKey;
  if (!run.runId.empty()) o["runId"] = run.runId;
  o["runAtMs"] = run.startedAtMs;
  o["durationMs"] = run.durationMs;
  if (!jobName.empty()) o["jobName"] = jobName;
  return o;
}

}  // namespace talon::gateway::automation
