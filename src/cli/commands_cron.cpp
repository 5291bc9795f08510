// talon cron list [--all] | status | show <id> | add … | rm <id> | enable <id> | disable <id>
//           | run <id> [--due] [--wait] | runs [--id <id>] | health | audit        (each with --json)
// Cron jobs of a running gateway through OpenClaw's cron.* methods (docs/cron.md), with OpenClaw's
// `openclaw cron` flag names where the two overlap (OpenClaw docs/cli/cron.md): `add --cron|--every|--at`,
// `--message|--system-event`, `--session`, `--announce|--no-deliver|--webhook`, `run --due --wait`.
// `health` and `audit` are Talon's: health counts healthy, degraded (failing) and disabled jobs and exits 1
// when a job is degraded or auto-disabled; audit ranks jobs by failure rate over their recent runs, last
// success and schedule drift, and reports duplicates (same name, agent and schedule).
#include <algorithm>
#include <chrono>
#include <ctime>
#include <iostream>
#include <map>
#include <thread>
#include <tuple>

#include "base/clock.h"
#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/output.h"
#include "gateway/automation/cron_schedule.h"

namespace talon::cli {
namespace {

struct CronOptions {
  CommonOptions common;
  std::string id;  // the job (positional <id>, or runs --id)
  bool all = false;
  // add
  std::string positionalSchedule;  // a cron expression given first
  std::string positionalMessage;
  std::string name, description, agent, cronExpr, every, at, tz, stagger, message, systemEvent, session, model;
  bool exact = false;
  bool announce = false, noDeliver = false;
  std::string webhook, channel, to, account;
  bool disabled = false, deleteAfterRun = false, keepAfterRun = false;
  int timeoutSeconds = -1;
  std::string retryInitial, retryMax;  // the job's escalation.retryBackoff (durations)
  int disableAfter = -1;               // the job's escalation.disableAfter (-1: inherit cron.escalation)
  // run
  bool due = false, wait = false;
  std::string waitTimeout = "10m";
  // runs
  int limit = 50;
};

Result<json::value> call(const CronOptions& o, const std::string& method, json::object params, bool admin = false) {
  std::vector<std::string> scopes{"operator.read"};
  if (admin) scopes.push_back("operator.admin");
  auto client = connectClient(o.common, scopes);
  if (!client) return fail(client.error());
  auto res = (*client)->call(method, params, false, std::chrono::milliseconds(o.common.timeoutMs));
  (*client)->close();
  return res;
}

Error usage(const std::string& msg) { return Error{ErrorCode::kInvalidArgument, msg, msg}; }

std::string fieldText(const json::object& o, std::string_view key, std::string_view none = "-") {
  auto v = getString(o, key);
  return v ? std::string(*v) : std::string(none);
}

/// A duration as its two largest units: "250ms", "45s", "1m 30s", "2h", "1d 4h".
std::string formatDuration(int64_t ms) {
  if (ms < 0) ms = 0;
  if (ms < 1000) return std::to_string(ms) + "ms";
  static constexpr std::pair<int64_t, const char*> kUnits[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}};
  std::string out;
  int parts = 0;
  for (const auto& [unit, suffix] : kUnits) {
    if (ms < unit && parts == 0) continue;
    const int64_t n = ms / unit;
    ms %= unit;
    if (n > 0) out += (out.empty() ? "" : " ") + std::to_string(n) + suffix;
    if (++parts == 2) break;
  }
  return out;
}

/// "in 5m" / "3h 2m ago" relative to now.
std::string relative(int64_t atMs, int64_t nowMs) {
  if (atMs <= 0) return "-";
  return atMs >= nowMs ? "in " + formatDuration(atMs - nowMs) : formatDuration(nowMs - atMs) + " ago";
}

/// "cron 0 7 * * * (Europe/Berlin)", "every 30m", "at 2026-12-01 09:00:00Z".
std::string describeSchedule(const json::object& job) {
  const auto* s = getObject(job, "schedule");
  if (!s) return "-";
  const std::string kind = fieldText(*s, "kind", "");
  if (kind == "cron") {
    std::string out = "cron " + fieldText(*s, "expr", "");
    if (auto tz = getString(*s, "tz")) out += " (" + std::string(*tz) + ")";
    return out;
  }
  if (kind == "every") return "every " + formatDuration(getInt(*s, "everyMs").value_or(0));
  if (kind == "at") return "at " + fieldText(*s, "at", "");
  return kind;
}

int64_t nextRunOf(const json::object& job) {
  if (auto v = getInt(job, "nextRunAtMs")) return *v;
  if (const auto* st = getObject(job, "state")) return getInt(*st, "nextRunAtMs").value_or(0);
  return 0;
}

const json::object& stateOf(const json::object& job) {
  static const json::object kEmpty;
  const auto* st = getObject(job, "state");
  return st ? *st : kEmpty;
}

/// "healthy" | "degraded" (failing, still scheduled) | "disabled" (by an operator) | "auto-disabled".
std::string healthOf(const json::object& job) {
  const auto& st = stateOf(job);
  if (!getBool(job, "enabled").value_or(true)) {
    return getObject(st, "autoDisabled") ? "auto-disabled" : "disabled";
  }
  return getInt(st, "consecutiveErrors").value_or(0) > 0 ? "degraded" : "healthy";
}

/// Every job (cron.list pages through them all).
Result<json::array> listAll(const CronOptions& o, bool includeDisabled) {
  json::array jobs;
  int64_t offset = 0;
  for (;;) {
    auto res =
        call(o, "cron.list", json::object{{"includeDisabled", includeDisabled}, {"limit", 200}, {"offset", offset}});
    if (!res) return fail(res.error());
    const auto& p = res->as_object();
    if (const auto* page = getArray(p, "jobs")) {
      for (const auto& j : *page) jobs.push_back(j);
    }
    auto next = getInt(p, "nextOffset");
    if (!getBool(p, "hasMore").value_or(false) || !next || *next <= offset) break;
    offset = *next;
  }
  return jobs;
}

int listJobs(const CronOptions& o) {
  auto jobs = listAll(o, o.all);
  if (!jobs) return reportError(jobs.error());
  if (o.common.json) {
    printJson(json::object{{"jobs", *jobs}});
    return 0;
  }
  if (jobs->empty()) {
    std::cout << (o.all ? "No cron jobs.\n" : "No enabled cron jobs (--all shows disabled ones).\n");
    return 0;
  }
  const int64_t now = SystemClock::instance()->nowMs();
  std::vector<std::vector<std::string>> rows;
  for (const auto& v : *jobs) {
    const auto& j = v.as_object();
    const auto& st = stateOf(j);
    rows.push_back({fieldText(j, "id"), fieldText(j, "name"), fieldText(j, "agentId", "(default)"), describeSchedule(j),
                    relative(nextRunOf(j), now), fieldText(st, "lastRunStatus"), healthOf(j)});
  }
  printTable({"ID", "NAME", "AGENT", "SCHEDULE", "NEXT", "LAST", "HEALTH"}, rows);
  return 0;
}

int showStatus(const CronOptions& o) {
  auto res = call(o, "cron.status", json::object{});
  if (!res) return reportError(res.error());
  if (o.common.json) {
    printJson(*res);
    return 0;
  }
  const auto& p = res->as_object();
  const int64_t now = SystemClock::instance()->nowMs();
  std::cout << "scheduler: " << (getBool(p, "enabled").value_or(false) ? "enabled" : "disabled") << "\n"
            << "jobs:      " << getInt(p, "jobs").value_or(0) << "\n"
            << "next wake: " << relative(getInt(p, "nextWakeAtMs").value_or(0), now) << "\n";
  return 0;
}

int showJob(const CronOptions& o) {
  auto res = call(o, "cron.get", json::object{{"id", o.id}});
  if (!res) return reportError(res.error());
  printJson(*res);  // a job is a nested object: shown as JSON in both modes
  return 0;
}

/// The cron.add params from the flags.
Result<json::object> addParams(const CronOptions& o) {
  json::object schedule;
  int kinds = 0;
  std::string expr = !o.cronExpr.empty() ? o.cronExpr : o.positionalSchedule;
  if (!expr.empty()) {
    ++kinds;
    auto parsed = gateway::automation::CronExpression::parse(expr);
    if (!parsed) return fail(usage(parsed.error().message));
    schedule = {{"kind", "cron"}, {"expr", expr}};
    if (!o.tz.empty()) schedule["tz"] = o.tz;
    if (o.exact) schedule["staggerMs"] = 0;
    if (!o.stagger.empty()) {
      auto ms = gateway::automation::parseDurationMs(o.stagger);
      if (!ms) return fail(usage("--stagger " + o.stagger + ": " + ms.error().message));
      schedule["staggerMs"] = *ms;
    }
  }
  if (!o.every.empty()) {
    ++kinds;
    auto ms = gateway::automation::parseDurationMs(o.every);
    if (!ms || *ms < 1) return fail(usage("--every " + o.every + ": expected a duration such as 10m, 1h or 1d"));
    schedule = {{"kind", "every"}, {"everyMs", *ms}};
  }
  if (!o.at.empty()) {
    ++kinds;
    schedule = {{"kind", "at"}, {"at", o.at}};
    if (!o.tz.empty()) schedule["tz"] = o.tz;
  }
  if (kinds != 1) return fail(usage("give exactly one schedule: a cron expression, --cron, --every or --at"));
  if ((o.exact || !o.stagger.empty()) && schedule["kind"] != "cron") {
    return fail(usage("--exact and --stagger apply to cron schedules only"));
  }

  const std::string message = !o.message.empty() ? o.message : o.positionalMessage;
  if (message.empty() == o.systemEvent.empty()) return fail(usage("give exactly one of a message and --system-event"));
  json::object payload;
  if (!message.empty()) {
    payload = {{"kind", "agentTurn"}, {"message", message}};
    if (!o.model.empty()) payload["model"] = o.model;
    if (o.timeoutSeconds >= 0) payload["timeoutSeconds"] = o.timeoutSeconds;
  } else {
    payload = {{"kind", "systemEvent"}, {"text", o.systemEvent}};
  }
  const std::string session = !o.session.empty() ? o.session : (message.empty() ? "main" : "isolated");

  json::object params{{"name", o.name},           {"enabled", !o.disabled}, {"schedule", std::move(schedule)},
                      {"sessionTarget", session}, {"wakeMode", "now"},      {"payload", std::move(payload)}};
  if (o.name.empty()) return fail(usage("--name is required"));
  if (!o.description.empty()) params["description"] = o.description;
  if (!o.agent.empty()) params["agentId"] = o.agent;
  if (o.deleteAfterRun && o.keepAfterRun) return fail(usage("--delete-after-run and --keep-after-run conflict"));
  if (o.deleteAfterRun) params["deleteAfterRun"] = true;
  if (o.keepAfterRun) params["deleteAfterRun"] = false;

  json::object escalation;
  json::object backoff;
  for (const auto& [flag, value, key] :
       {std::tuple{"--retry-initial", &o.retryInitial, "initialMs"}, std::tuple{"--retry-max", &o.retryMax, "maxMs"}}) {
    if (value->empty()) continue;
    auto ms = gateway::automation::parseDurationMs(*value);
    if (!ms || *ms < 1000) return fail(usage(std::string(flag) + " " + *value + ": expected a duration of 1s or more"));
    backoff[key] = *ms;
  }
  if (!backoff.empty()) escalation["retryBackoff"] = std::move(backoff);
  if (o.disableAfter >= 0) escalation["disableAfter"] = o.disableAfter;
  if (!escalation.empty()) params["escalation"] = std::move(escalation);

  const int modes = int(o.announce) + int(o.noDeliver) + int(!o.webhook.empty());
  if (modes > 1) return fail(usage("--announce, --no-deliver and --webhook conflict"));
  if (!o.webhook.empty()) {
    if (!o.channel.empty() || !o.to.empty() || !o.account.empty()) {
      return fail(usage("--webhook does not combine with --channel, --to or --account"));
    }
    params["delivery"] = json::object{{"mode", "webhook"}, {"to", o.webhook}};
  } else if (o.noDeliver) {
    params["delivery"] = json::object{{"mode", "none"}};
  } else if (o.announce || !o.channel.empty() || !o.to.empty()) {
    json::object d{{"mode", "announce"}};
    if (!o.channel.empty()) d["channel"] = o.channel;
    if (!o.to.empty()) d["to"] = o.to;
    if (!o.account.empty()) d["accountId"] = o.account;
    params["delivery"] = std::move(d);
  }
  return params;
}

int addJob(const CronOptions& o) {
  auto params = addParams(o);
  if (!params) return reportError(params.error());
  auto res = call(o, "cron.add", std::move(*params), true);
  if (!res) return reportError(res.error());
  if (o.common.json) {
    printJson(*res);
    return 0;
  }
  const auto& p = res->as_object();
  const auto* job = getObject(p, "job");
  const json::object& j = job ? *job : p;
  std::cout << "added " << fieldText(j, "id") << " (" << fieldText(j, "name") << "), next run "
            << formatUtcForDisplay(nextRunOf(j)) << "\n";
  return 0;
}

int simpleCall(const CronOptions& o, const std::string& method, json::object params, const std::string& done) {
  auto res = call(o, method, std::move(params), true);
  if (!res) return reportError(res.error());
  if (o.common.json) {
    printJson(*res);
  } else {
    std::cout << done << " " << o.id << "\n";
  }
  return 0;
}

int removeJob(const CronOptions& o) { return simpleCall(o, "cron.remove", {{"id", o.id}}, "removed"); }
int enableJob(const CronOptions& o) {
  return simpleCall(o, "cron.update", {{"id", o.id}, {"patch", json::object{{"enabled", true}}}}, "enabled");
}
int disableJob(const CronOptions& o) {
  return simpleCall(o, "cron.update", {{"id", o.id}, {"patch", json::object{{"enabled", false}}}}, "disabled");
}

/// Run entries of one job (or all), newest first.
Result<json::array> runEntries(const CronOptions& o, const std::string& jobId, const std::string& runId, int limit) {
  json::object params{{"limit", limit}};
  if (!jobId.empty()) params["id"] = jobId;
  if (!runId.empty()) params["runId"] = runId;
  auto res = call(o, "cron.runs", std::move(params));
  if (!res) return fail(res.error());
  const auto* entries = getArray(res->as_object(), "entries");
  return entries ? *entries : json::array{};
}

int runJob(const CronOptions& o) {
  auto waitMs = gateway::automation::parseDurationMs(o.waitTimeout);
  if (!waitMs || *waitMs <= 0) return reportError(usage("--wait-timeout " + o.waitTimeout + ": expected a duration"));
  auto res = call(o, "cron.run", {{"id", o.id}, {"mode", o.due ? "due" : "force"}}, true);
  if (!res) return reportError(res.error());
  const auto& p = res->as_object();
  const auto runId = getString(p, "runId");
  if (!o.wait || !getBool(p, "enqueued").value_or(false)) {
    if (o.common.json) {
      printJson(*res);
    } else if (getBool(p, "enqueued").value_or(false)) {
      std::cout << "run " << (runId ? *runId : "") << " of " << o.id << " started\n";
    } else {
      std::cout << "not run: " << fieldText(p, "reason", "not due") << "\n";
    }
    return 0;
  }
  if (!runId) return reportError(usage("cron.run did not return a runId to wait for"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(*waitMs);
  for (;;) {
    auto entries = runEntries(o, o.id, std::string(*runId), 1);
    if (!entries) return reportError(entries.error());
    if (!entries->empty()) {
      const auto& e = (*entries)[0].as_object();
      const std::string status = fieldText(e, "status", "");
      if (status == "ok" || status == "error" || status == "skipped") {
        if (o.common.json) {
          printJson(json::object{{"ok", true}, {"runId", *runId}, {"completed", true}, {"status", status}, {"run", e}});
        } else {
          std::cout << "run " << *runId << ": " << status;
          if (auto err = getString(e, "error")) std::cout << " — " << *err;
          std::cout << "\n";
        }
        return status == "ok" ? 0 : 1;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      const std::string msg = "timed out waiting for cron run " + std::string(*runId);
      return reportError(Error{ErrorCode::kDeadlineExceeded, msg, msg});
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

int listRuns(const CronOptions& o) {
  auto entries = runEntries(o, o.id, "", o.limit);
  if (!entries) return reportError(entries.error());
  if (o.common.json) {
    printJson(json::object{{"entries", *entries}});
    return 0;
  }
  if (entries->empty()) {
    std::cout << "No runs.\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& v : *entries) {
    const auto& e = v.as_object();
    rows.push_back({formatUtcForDisplay(getInt(e, "runAtMs").value_or(getInt(e, "ts").value_or(0))),
                    fieldText(e, "jobName", fieldText(e, "jobId")), fieldText(e, "status"),
                    formatDuration(getInt(e, "durationMs").value_or(0)), fieldText(e, "deliveryStatus"),
                    fieldText(e, "error", "")});
  }
  printTable({"RUN AT", "JOB", "STATUS", "DURATION", "DELIVERY", "ERROR"}, rows);
  return 0;
}

int health(const CronOptions& o) {
  auto jobs = listAll(o, true);
  if (!jobs) return reportError(jobs.error());
  std::map<std::string, int64_t> counts{{"healthy", 0}, {"degraded", 0}, {"disabled", 0}, {"auto-disabled", 0}};
  json::array problems;
  for (const auto& v : *jobs) {
    const auto& j = v.as_object();
    const std::string h = healthOf(j);
    ++counts[h];
    if (h == "degraded" || h == "auto-disabled") {
      const auto& st = stateOf(j);
      problems.push_back(json::object{{"id", fieldText(j, "id")},
                                      {"name", fieldText(j, "name")},
                                      {"health", h},
                                      {"consecutiveErrors", getInt(st, "consecutiveErrors").value_or(0)},
                                      {"lastError", fieldText(st, "lastError", "")}});
    }
  }
  const bool bad = counts["degraded"] + counts["auto-disabled"] > 0;
  if (o.common.json) {
    printJson(json::object{{"healthy", counts["healthy"]},
                           {"degraded", counts["degraded"]},
                           {"disabled", counts["disabled"] + counts["auto-disabled"]},
                           {"autoDisabled", counts["auto-disabled"]},
                           {"problems", problems}});
  } else {
    std::cout << "healthy " << counts["healthy"] << ", degraded " << counts["degraded"] << ", disabled "
              << counts["disabled"] + counts["auto-disabled"] << " (" << counts["auto-disabled"] << " auto-disabled)\n";
    for (const auto& p : problems) {
      const auto& po = p.as_object();
      std::cout << "! " << fieldText(po, "name") << " (" << fieldText(po, "id") << "): " << fieldText(po, "health")
                << ", " << getInt(po, "consecutiveErrors").value_or(0)
                << " consecutive errors: " << fieldText(po, "lastError", "") << "\n";
    }
  }
  return bad ? 1 : 0;
}

int audit(const CronOptions& o) {
  auto jobs = listAll(o, true);
  if (!jobs) return reportError(jobs.error());
  struct Row {
    json::object job;
    int64_t runs = 0, failures = 0, lastSuccessMs = 0, maxDriftMs = 0;
  };
  std::vector<Row> rows;
  std::map<std::string, std::vector<std::string>> byIdentity;  // name|agent|schedule → ids
  for (const auto& v : *jobs) {
    Row r{v.as_object()};
    const std::string id = fieldText(r.job, "id", "");
    auto entries = runEntries(o, id, "", o.limit);
    if (!entries) return reportError(entries.error());
    for (const auto& e : *entries) {
      const auto& eo = e.as_object();
      const std::string status = fieldText(eo, "status", "");
      if (status != "ok" && status != "error") continue;
      ++r.runs;
      const int64_t finished = getInt(eo, "ts").value_or(0);
      if (status == "error") ++r.failures;
      if (status == "ok") r.lastSuccessMs = std::max(r.lastSuccessMs, finished);
      // Drift: how late a scheduled run started after its slot.
      if (auto slot = getInt(eo, "runAtMs")) {
        const int64_t started = finished - getInt(eo, "durationMs").value_or(0);
        r.maxDriftMs = std::max(r.maxDriftMs, started - *slot);
      }
    }
    if (r.lastSuccessMs == 0) r.lastSuccessMs = getInt(stateOf(r.job), "lastSuccessAtMs").value_or(0);
    const auto* schedule = getObject(r.job, "schedule");
    byIdentity[fieldText(r.job, "name", "") + "\x1f" + fieldText(r.job, "agentId", "") + "\x1f" +
               (schedule ? json::serialize(*schedule) : "")]
        .push_back(id);
    rows.push_back(std::move(r));
  }
  auto rate = [](const Row& r) { return r.runs ? double(r.failures) / double(r.runs) : 0.0; };
  std::stable_sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) {
    if (rate(a) != rate(b)) return rate(a) > rate(b);
    if (a.lastSuccessMs != b.lastSuccessMs) return a.lastSuccessMs < b.lastSuccessMs;
    return a.maxDriftMs > b.maxDriftMs;
  });
  json::array duplicates;
  for (const auto& [key, ids] : byIdentity) {
    if (ids.size() < 2) continue;
    json::array a;
    for (const auto& id : ids) a.push_back(json::string(id));
    duplicates.push_back(json::object{{"name", key.substr(0, key.find('\x1f'))}, {"ids", std::move(a)}});
  }
  if (o.common.json) {
    json::array out;
    for (const auto& r : rows) {
      out.push_back(json::object{{"id", fieldText(r.job, "id")},
                                 {"name", fieldText(r.job, "name")},
                                 {"health", healthOf(r.job)},
                                 {"runs", r.runs},
                                 {"failures", r.failures},
                                 {"failureRate", rate(r)},
                                 {"lastSuccessAtMs", r.lastSuccessMs},
                                 {"maxDriftMs", r.maxDriftMs}});
    }
    printJson(json::object{{"jobs", std::move(out)}, {"duplicates", std::move(duplicates)}});
    return 0;
  }
  const int64_t now = SystemClock::instance()->nowMs();
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows) {
    table.push_back({fieldText(r.job, "id"), fieldText(r.job, "name"), healthOf(r.job),
                     std::to_string(r.failures) + "/" + std::to_string(r.runs),
                     r.lastSuccessMs ? relative(r.lastSuccessMs, now) : "never", formatDuration(r.maxDriftMs)});
  }
  if (table.empty()) {
    std::cout << "No cron jobs.\n";
  } else {
    printTable({"ID", "NAME", "HEALTH", "FAILED/RUNS", "LAST SUCCESS", "MAX DRIFT"}, table);
  }
  for (const auto& d : duplicates) {
    const auto& dobj = d.as_object();
    std::cout << "! duplicate jobs named \"" << fieldText(dobj, "name") << "\" (same agent and schedule):";
    for (const auto& id : *getArray(dobj, "ids")) std::cout << " " << id.get_string();
    std::cout << "\n";
  }
  return 0;
}

}  // namespace

void registerCronCommands(CLI::App& app, int& exitCode) {
  auto* cron = app.add_subcommand("cron", "Cron jobs of the running gateway (docs/cron.md)");
  cron->alias("automations");
  cron->require_subcommand(1);
  auto add = [&](const char* name, const char* help, int (*run)(const CronOptions&), bool needsId) {
    auto o = std::make_shared<CronOptions>();
    auto* cmd = cron->add_subcommand(name, help);
    addClientOptions(cmd, o->common);
    if (needsId) cmd->add_option("id", o->id, "Job id")->required();
    cmd->callback([o, run, &exitCode] { exitCode = run(*o); });
    return std::make_pair(cmd, o);
  };
  {
    auto [cmd, o] = add("list", "List cron jobs (enabled ones; --all for every job)", listJobs, false);
    cmd->add_flag("--all", o->all, "Include disabled jobs");
  }
  add("status", "Show the scheduler's state", showStatus, false);
  add("show", "Show one job as JSON", showJob, true);
  {
    auto [cmd, o] =
        add("add", "Add a job: a schedule (cron expression, --cron, --every, --at) and a payload", addJob, false);
    cmd->alias("create");
    cmd->add_option("schedule", o->positionalSchedule, "A cron expression (\"0 7 * * *\")");
    cmd->add_option("message", o->positionalMessage, "The agent's prompt");
    cmd->add_option("--name", o->name, "The job's name (1-200 characters)");
    cmd->add_option("--description", o->description, "What the job is for");
    cmd->add_option("--agent", o->agent, "The agent that runs it (default: the default agent)");
    cmd->add_option("--cron", o->cronExpr, "A 5- or 6-field cron expression");
    cmd->add_option("--every", o->every, "A recurring interval (10m, 1h, 1d)");
    cmd->add_option("--at", o->at, "One run at an ISO-8601 time or after a duration (20m)");
    cmd->add_option("--tz", o->tz, "IANA time zone of a cron schedule or an offset-less --at");
    cmd->add_flag("--exact", o->exact, "No stagger for a top-of-hour cron schedule");
    cmd->add_option("--stagger", o->stagger, "Stagger window of a cron schedule (5m)");
    cmd->add_option("--message", o->message, "Run an agent turn with this prompt");
    cmd->add_option("--system-event", o->systemEvent, "Post this system event into the main session");
    cmd->add_option("--session", o->session, "main | isolated | session:<id> (default: isolated for a message)");
    cmd->add_option("--model", o->model, "Model of the agent turn (provider/model or an alias)");
    cmd->add_option("--timeout-seconds", o->timeoutSeconds, "Time limit of the agent turn");
    cmd->add_flag("--announce", o->announce, "Deliver the answer to a channel (--channel, --to, --account)");
    cmd->add_flag("--no-deliver", o->noDeliver, "Do not deliver the answer");
    cmd->add_option("--webhook", o->webhook, "POST the finished run to this URL");
    cmd->add_option("--channel", o->channel, "Announce channel (telegram, irc, …)");
    cmd->add_option("--to", o->to, "Announce target on the channel");
    cmd->add_option("--account", o->account, "Announce channel account");
    cmd->add_flag("--disabled", o->disabled, "Add the job disabled");
    cmd->add_flag("--delete-after-run", o->deleteAfterRun, "Delete the job after a successful run");
    cmd->add_flag("--keep-after-run", o->keepAfterRun, "Keep a one-shot job after it ran");
    cmd->add_option("--retry-initial", o->retryInitial,
                    "This job's wait after its first failure (1m; default: cron.escalation)");
    cmd->add_option("--retry-max", o->retryMax, "This job's longest retry wait (1h; default: cron.escalation)");
    cmd->add_option("--disable-after", o->disableAfter,
                    "Disable this job after this many consecutive failures (0: never; default: cron.escalation)")
        ->check(CLI::NonNegativeNumber);
  }
  add("rm", "Remove a job (its run history goes with it)", removeJob, true);
  add("enable", "Enable a job (also clears an automatic disable)", enableJob, true);
  add("disable", "Disable a job", disableJob, true);
  {
    auto [cmd, o] = add("run", "Run a job now (exit 1 when --wait sees it fail)", runJob, true);
    cmd->add_flag("--due", o->due, "Run only when it is due");
    cmd->add_flag("--wait", o->wait, "Wait for the run to finish");
    cmd->add_option("--wait-timeout", o->waitTimeout, "Longest wait for --wait (default 10m)");
  }
  {
    auto [cmd, o] = add("runs", "List recent runs (of one job with --id)", listRuns, false);
    cmd->add_option("--id", o->id, "Only this job's runs");
    cmd->add_option("--limit", o->limit, "At most this many runs (1-200, default 50)")->check(CLI::Range(1, 200));
  }
  add("health", "Count healthy, degraded and disabled jobs (exit 1 when one is failing or auto-disabled)", health,
      false);
  {
    auto [cmd, o] =
        add("audit", "Rank jobs by failure rate, last success and schedule drift; report duplicates", audit, false);
    cmd->add_option("--limit", o->limit, "Recent runs per job to rate (1-200, default 50)")->check(CLI::Range(1, 200));
  }
}

}  // namespace talon::cli
