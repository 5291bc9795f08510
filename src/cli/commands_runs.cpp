// talon runs list [--agent A] [--session K] [--status S] [--limit N] [--offset N] [--json]
// talon runs show RUN_ID [--json]
// talon runs diff RUN_A RUN_B [--json]
// talon runs replay RUN_ID [--json] [--url … --token … --timeout MS]
// The run ledger (docs/runs.md): every agent turn is a run record (input, the provider and model that
// answered — provider id, API, base URL origin, model id, never a key —, each model attempt, usage, cost,
// status) plus the transcript entries it wrote (its user message, each model answer with its tool calls
// and each tool result with its outcome and duration). Like `talon tokens`, these read the state dir's
// database (<stateDir>/state/talon.sqlite) directly, with or without a running gateway (SQLite's WAL lets
// both share the file).
#include <algorithm>
#include <ctime>
#include <iostream>

#include "base/clock.h"
#include "base/json.h"
#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/output.h"
#include "cli/state_store.h"
#include "config/config_paths.h"
#include "gateway/tools/tool_outcome.h"
#include "store/sqlite_store.h"
#include "store/store.h"

namespace talon::cli {
namespace {

struct RunsOptions {
  std::string agent, session, status;
  int64_t limit = 20, offset = 0;
  std::string runA, runB;
  bool json = false;
  CommonOptions common;  // replay: how to reach the gateway
};

/// At most `max` characters of `s` on one line (newlines shown as ⏎).
std::string oneLine(std::string_view s, std::size_t max) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    out += c == '\n' ? ' ' : c;
  }
  return out;
}

json::value parsedOr(const std::string& text, json::value fallback) {
  if (text.empty()) return fallback;
  auto v = parseJson(text);
  return v ? *v : json::value(text);
}

json::object runJson(const store::RunRecord& r) {
  json::object o{
      {"runId", r.runId},
      {"agentId", r.agentId},
      {"sessionKey", r.sessionKey},
      {"status", store::runStatusName(r.status)},
      {"model", r.model},
      {"provider",
       json::object{
           {"id", r.providerId}, {"api", r.providerApi}, {"baseUrl", r.baseUrlOrigin}, {"model", r.answeredModel}}},
      {"startedAt", r.startedAtMs},
      {"endedAt", r.endedAtMs},
      {"durationMs", r.endedAtMs > r.startedAtMs ? r.endedAtMs - r.startedAtMs : 0},
      {"modelLatencyMs", r.modelLatencyMs},
      {"steps", r.steps},
      {"usage", json::object{{"inputTokens", r.inputTokens}, {"outputTokens", r.outputTokens}}}};
  if (r.costUsd) o["costUsd"] = *r.costUsd;
  if (!r.idempotencyKey.empty()) o["idempotencyKey"] = r.idempotencyKey;
  if (!r.errorCode.empty() || !r.errorMessage.empty()) {
    o["error"] = json::object{{"code", r.errorCode}, {"message", r.errorMessage}};
  }
  if (r.status == store::RunStatus::kOk) o["finalText"] = r.finalText;
  return o;
}

/// The run's transcript entries as ledger steps: {seq, role, text?, toolCalls?, tool?, toolCallId?,
/// isError?, errorKind?, durationMs?, at}.
json::array stepsJson(const std::vector<store::TranscriptEntry>& entries) {
  json::array steps;
  for (const auto& e : entries) {
    json::object s{{"seq", e.seq}, {"role", store::transcriptRoleName(e.role)}, {"at", e.ts}};
    if (e.role == store::TranscriptRole::kTool) {
      auto meta = gateway::tools::decodeTranscriptMeta(e.toolCallsJson, e.content);
      s["tool"] = e.toolName;
      s["toolCallId"] = e.toolCallId;
      s["result"] = e.content;
      s["isError"] = meta.isError;
      if (meta.errorKind) s["errorKind"] = gateway::tools::toolErrorKindName(*meta.errorKind);
      if (meta.durationMs) s["durationMs"] = *meta.durationMs;
    } else {
      s["text"] = e.content;
      if (e.role == store::TranscriptRole::kAssistant && !e.toolCallsJson.empty()) {
        json::array calls;
        auto v = parseJson(e.toolCallsJson);
        if (v && v->is_array()) {
          for (const auto& c : v->get_array()) {
            if (!c.is_object()) continue;
            const auto& co = c.get_object();
            calls.push_back(json::object{
                {"id", getString(co, "id").value_or("")},
                {"name", getString(co, "name").value_or("")},
                {"arguments", parsedOr(std::string(getString(co, "arguments").value_or("")), json::object{})}});
          }
        }
        if (!calls.empty()) s["toolCalls"] = std::move(calls);
      }
    }
    steps.push_back(std::move(s));
  }
  return steps;
}

/// The run and its ledger. Errors: kNotFound for an unknown run; the store's.
Result<json::object> loadRun(store::Store& store, const std::string& runId) {
  auto run = store.runs().get(runId);
  if (!run) return fail(run.error());
  if (!*run) {
    const std::string msg = "no run " + runId;
    return fail(ErrorCode::kNotFound, msg, msg);
  }
  auto entries = store.transcripts().forRun((*run)->sessionKey, runId);
  if (!entries) return fail(entries.error());
  // A routed run's stored attempts start with {outcome "routed", routing}: shown as `routing`, not an attempt.
  json::value stored = parsedOr((*run)->attemptsJson, json::array{});
  json::object ledger{{"run", runJson(**run)}};
  if (stored.is_array()) {
    json::array attempts;
    for (auto& a : stored.get_array()) {
      const json::object* ao = a.if_object();
      if (ao && getString(*ao, "outcome") == "routed" && ao->contains("routing")) {
        ledger["routing"] = ao->at("routing");
      } else {
        attempts.push_back(std::move(a));
      }
    }
    stored = std::move(attempts);
  }
  ledger["attempts"] = std::move(stored);
  ledger["steps"] = stepsJson(*entries);
  return ledger;
}

/// "model chosen: X — why" and one line per candidate, in the order the turn walked them.
void printRouting(const json::object& routing) {
  std::cout << "routing:  strategy " << getString(routing, "strategy").value_or("?");
  if (const auto* policy = getObject(routing, "policy")) {
    if (const auto* slo = policy->if_contains("latencySloMs")) std::cout << ", latencySloMs " << json::serialize(*slo);
    if (const auto* max = policy->if_contains("maxCostPerMTokUsd")) {
      std::cout << ", maxCostPerMTokUsd " << json::serialize(*max);
    }
    if (const auto* min = policy->if_contains("minCalls")) std::cout << ", minCalls " << json::serialize(*min);
  }
  std::cout << "\nmodel chosen: " << getString(routing, "chosen").value_or("-") << " — "
            << getString(routing, "summary").value_or("") << "\n";
  if (!getBool(routing, "applied").value_or(false)) return;
  if (const auto* candidates = getArray(routing, "candidates")) {
    int n = 0;
    for (const auto& c : *candidates) {
      const json::object* co = c.if_object();
      if (co == nullptr) continue;
      const int64_t index = getInt(*co, "chainIndex").value_or(0);
      std::cout << "  " << ++n << ". " << getString(*co, "provider").value_or("") << "/"
                << getString(*co, "model").value_or("") << " ("
                << (index == 0 ? std::string("primary") : "fallback " + std::to_string(index))
                << "): " << getString(*co, "reason").value_or("") << "\n";
    }
  }
}

int listRuns(const RunsOptions& o) {
  std::optional<store::RunStatus> status;
  if (!o.status.empty()) {
    status = store::parseRunStatus(o.status);
    if (!status) {
      const std::string msg = "--status " + o.status + ": expected running, ok, error or aborted";
      return reportError(Error{ErrorCode::kInvalidArgument, msg, msg});
    }
  }
  auto store = openStateStore(MissingStore::kFail);
  if (!store) return reportError(store.error());
  auto runs = (*store)->runs().list({o.agent, o.session, status, o.limit, o.offset});
  (*store)->close();
  if (!runs) return reportError(runs.error());
  if (o.json) {
    json::array out;
    for (const auto& r : *runs) out.push_back(runJson(r));
    printJson(json::object{{"runs", std::move(out)}, {"limit", o.limit}, {"offset", o.offset}});
    return 0;
  }
  if (runs->empty()) {
    std::cout << "No runs.\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : *runs) {
    const std::string answered =
        r.providerId.empty() ? r.model : r.providerId + "/" + (r.answeredModel.empty() ? r.model : r.answeredModel);
    rows.push_back({r.runId, r.agentId, oneLine(r.sessionKey, 32), std::string(store::runStatusName(r.status)),
                    answered.empty() ? "-" : answered, formatUtcForDisplay(r.startedAtMs),
                    r.endedAtMs > r.startedAtMs ? std::to_string(r.endedAtMs - r.startedAtMs) + "ms" : "-",
                    std::to_string(r.inputTokens) + "/" + std::to_string(r.outputTokens), std::to_string(r.steps),
                    oneLine(r.errorMessage, 60)});
  }
  printTable({"RUN", "AGENT", "SESSION", "STATUS", "MODEL", "STARTED", "DURATION", "TOKENS IN/OUT", "STEPS", "ERROR"},
             rows);
  return 0;
}

void printStep(const json::object& s) {
  const std::string role(getString(s, "role").value_or(""));
  if (role == "tool") {
    std::cout << "  tool result  " << getString(s, "tool").value_or("") << ": "
              << (getBool(s, "isError").value_or(false)
                      ? "error (" + std::string(getString(s, "errorKind").value_or("unknown")) + ")"
                      : std::string("ok"));
    if (auto ms = getInt(s, "durationMs")) std::cout << " in " << *ms << " ms";
    std::cout << " — " << oneLine(getString(s, "result").value_or(""), 100) << "\n";
    return;
  }
  std::cout << "  " << role << std::string(role.size() < 11 ? 11 - role.size() : 1, ' ') << "  "
            << oneLine(getString(s, "text").value_or(""), 100) << "\n";
  if (const auto* calls = getArray(s, "toolCalls")) {
    for (const auto& c : *calls) {
      const auto& co = c.as_object();
      std::cout << "  tool call    " << getString(co, "name").value_or("") << " "
                << oneLine(json::serialize(co.at("arguments")), 100) << "\n";
    }
  }
}

int showRun(const RunsOptions& o) {
  auto store = openStateStore(MissingStore::kFail);
  if (!store) return reportError(store.error());
  auto ledger = loadRun(**store, o.runA);
  (*store)->close();
  if (!ledger) return reportError(ledger.error());
  if (o.json) {
    printJson(*ledger);
    return 0;
  }
  const auto& run = ledger->at("run").as_object();
  const auto& provider = run.at("provider").as_object();
  std::cout << "run " << o.runA << " (" << getString(run, "status").value_or("") << ")\n"
            << "agent:    " << getString(run, "agentId").value_or("") << ", session "
            << getString(run, "sessionKey").value_or("") << "\n"
            << "model:    " << getString(run, "model").value_or("-") << " — answered by "
            << getString(provider, "id").value_or("-") << " (" << getString(provider, "api").value_or("-") << ", "
            << getString(provider, "baseUrl").value_or("-") << ") model " << getString(provider, "model").value_or("-")
            << "\n"
            << "time:     " << formatUtcForDisplay(getInt(run, "startedAt").value_or(0)) << ", "
            << getInt(run, "durationMs").value_or(0) << " ms (model " << getInt(run, "modelLatencyMs").value_or(0)
            << " ms), " << getInt(run, "steps").value_or(0) << " model step(s)\n";
  const auto& usage = run.at("usage").as_object();
  std::cout << "usage:    " << getInt(usage, "inputTokens").value_or(0) << " in, "
            << getInt(usage, "outputTokens").value_or(0) << " out";
  if (const auto* cost = run.if_contains("costUsd")) std::cout << ", $" << json::serialize(*cost);
  std::cout << "\n";
  if (const auto* err = getObject(run, "error")) {
    std::cout << "error:    " << getString(*err, "code").value_or("") << ": " << getString(*err, "message").value_or("")
              << "\n";
  }
  if (const auto* routing = getObject(*ledger, "routing")) printRouting(*routing);
  if (const auto* attempts = getArray(*ledger, "attempts"); attempts && !attempts->empty()) {
    std::cout << "model attempts:\n";
    for (const auto& a : *attempts) {
      if (!a.is_object()) continue;
      const auto& ao = a.as_object();
      std::cout << "  " << getString(ao, "provider").value_or("") << "/" << getString(ao, "model").value_or("")
                << " step " << getInt(ao, "step").value_or(0) << ": " << getString(ao, "outcome").value_or("") << " in "
                << getInt(ao, "latencyMs").value_or(0) << " ms";
      if (auto reason = getString(ao, "reason"); reason && !reason->empty()) std::cout << " (" << *reason << ")";
      if (auto action = getString(ao, "action"); action && !action->empty()) std::cout << " → " << *action;
      std::cout << "\n";
    }
  }
  std::cout << "steps:\n";
  for (const auto& s : ledger->at("steps").as_array()) printStep(s.as_object());
  return 0;
}

/// One comparable line per ledger step: what a replay would have to reproduce (role, text, tool calls
/// with their arguments, tool outcomes — not ids, times or durations).
std::vector<std::string> comparable(const json::object& ledger) {
  std::vector<std::string> out;
  for (const auto& s : ledger.at("steps").as_array()) {
    const auto& so = s.as_object();
    const std::string role(getString(so, "role").value_or(""));
    if (role == "tool") {
      out.push_back("tool result " + std::string(getString(so, "tool").value_or("")) + ": " +
                    (getBool(so, "isError").value_or(false)
                         ? "error " + std::string(getString(so, "errorKind").value_or(""))
                         : std::string("ok")) +
                    " " + oneLine(getString(so, "result").value_or(""), 200));
      continue;
    }
    std::string line = role + ": " + oneLine(getString(so, "text").value_or(""), 200);
    if (const auto* calls = getArray(so, "toolCalls")) {
      for (const auto& c : *calls) {
        const auto& co = c.as_object();
        line +=
            " | call " + std::string(getString(co, "name").value_or("")) + " " + json::serialize(co.at("arguments"));
      }
    }
    out.push_back(std::move(line));
  }
  const auto& run = ledger.at("run").as_object();
  out.push_back("status: " + std::string(getString(run, "status").value_or("")));
  return out;
}

/// Compares runs o.runA and o.runB; with `replay` (runs.replay's answer) the output leads with it and the
/// JSON is {replay, diff}.
int diffRuns(const RunsOptions& o, const json::object* replay = nullptr) {
  auto store = openStateStore(MissingStore::kFail);
  if (!store) return reportError(store.error());
  auto a = loadRun(**store, o.runA);
  auto b = a ? loadRun(**store, o.runB) : Result<json::object>(fail(a.error()));
  (*store)->close();
  if (!a) return reportError(a.error());
  if (!b) return reportError(b.error());
  auto la = comparable(*a), lb = comparable(*b);
  const std::size_t n = std::max(la.size(), lb.size());
  std::optional<std::size_t> first;
  json::array steps;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string sa = i < la.size() ? la[i] : "";
    const std::string sb = i < lb.size() ? lb[i] : "";
    const bool same = i < la.size() && i < lb.size() && sa == sb;
    if (!same && !first) first = i;
    steps.push_back(json::object{{"index", i}, {"a", sa}, {"b", sb}, {"same", same}});
  }
  const auto modelOf = [](const json::object& l) {
    const auto& p = l.at("run").at("provider").as_object();
    return std::string(getString(p, "id").value_or("")) + "/" + std::string(getString(p, "model").value_or(""));
  };
  if (o.json) {
    json::object diff{{"a", o.runA},
                      {"b", o.runB},
                      {"same", !first.has_value()},
                      {"firstDivergence", first ? json::value(*first) : json::value(nullptr)},
                      {"models", json::object{{"a", modelOf(*a)}, {"b", modelOf(*b)}}},
                      {"steps", std::move(steps)}};
    printJson(replay ? json::value(json::object{{"replay", *replay}, {"diff", std::move(diff)}})
                     : json::value(std::move(diff)));
  } else {
    if (replay) {
      std::cout << "replay of " << o.runA << ": run " << o.runB << " ended "
                << getString(*replay, "status").value_or("?");
      if (auto e = getString(*replay, "error")) std::cout << " (" << *e << ")";
      std::cout << "; " << getInt(*replay, "modelSteps").value_or(0) << " model step(s) of "
                << getInt(*replay, "modelAnswers").value_or(0) << " recorded, "
                << getInt(*replay, "toolsRun").value_or(0) << " tool call(s) run, "
                << getInt(*replay, "toolsFromRecord").value_or(0) << " with side effects answered from the record\n";
    }
    std::cout << "a: " << o.runA << " (" << modelOf(*a) << ")\nb: " << o.runB << " (" << modelOf(*b) << ")\n";
    for (std::size_t i = 0; i < n; ++i) {
      const std::string sa = i < la.size() ? la[i] : "(none)";
      const std::string sb = i < lb.size() ? lb[i] : "(none)";
      if (i < la.size() && i < lb.size() && sa == sb) {
        std::cout << "  " << i << "  = " << oneLine(sa, 120) << "\n";
      } else {
        std::cout << "  " << i << "  a " << oneLine(sa, 120) << "\n"
                  << "  " << std::string(std::to_string(i).size(), ' ') << "  b " << oneLine(sb, 120) << "\n";
      }
    }
    std::cout << (first ? "diverge at step " + std::to_string(*first) : std::string("same steps")) << "\n";
  }
  return first ? 1 : 0;
}

/// Replays o.runA on the running gateway (runs.replay), then compares the replay with the original.
int replayRun(RunsOptions& o) {
  auto client = connectClient(o.common, {"operator.read", "operator.admin"});
  if (!client) return reportError(client.error());
  auto res = (*client)->call("runs.replay", json::object{{"runId", o.runA}}, false,
                             std::chrono::milliseconds(o.common.timeoutMs));
  (*client)->close();
  if (!res) return reportError(res.error());
  if (!res->is_object()) return reportError(Error(ErrorCode::kUpstream, "runs.replay answered no object"));
  const auto& replay = res->get_object();
  o.runB = std::string(getString(replay, "replayRunId").value_or(""));
  o.json = o.common.json;
  return diffRuns(o, &replay);
}

}  // namespace

void registerRunsCommands(CLI::App& app, int& exitCode) {
  auto* runs = app.add_subcommand("runs", "The run ledger: agent runs with their model attempts and tool calls");
  runs->require_subcommand(1);
  {
    auto o = std::make_shared<RunsOptions>();
    auto* cmd = runs->add_subcommand("list", "Runs, newest first");
    cmd->add_option("--agent", o->agent, "Only this agent's runs");
    cmd->add_option("--session", o->session, "Only this session's runs (a session key)");
    cmd->add_option("--status", o->status, "running | ok | error | aborted");
    cmd->add_option("--limit", o->limit, "At most this many (default 20)")->check(CLI::Range(1, 10000));
    cmd->add_option("--offset", o->offset, "Skip this many first")->check(CLI::Range(0, 100000000));
    cmd->add_flag("--json", o->json, "JSON output");
    cmd->callback([o, &exitCode] { exitCode = listRuns(*o); });
  }
  {
    auto o = std::make_shared<RunsOptions>();
    auto* cmd =
        runs->add_subcommand("show", "One run: provider and model used, model attempts, each step and tool call");
    cmd->add_option("run", o->runA, "Run id")->required();
    cmd->add_flag("--json", o->json, "JSON output");
    cmd->callback([o, &exitCode] { exitCode = showRun(*o); });
  }
  {
    auto o = std::make_shared<RunsOptions>();
    auto* cmd = runs->add_subcommand("diff", "Compare two runs step by step (exit 1 when they diverge)");
    cmd->add_option("a", o->runA, "First run id")->required();
    cmd->add_option("b", o->runB, "Second run id")->required();
    cmd->add_flag("--json", o->json, "JSON output");
    cmd->callback([o, &exitCode] { exitCode = diffRuns(*o); });
  }
  {
    auto o = std::make_shared<RunsOptions>();
    o->common.timeoutMs = 300'000;
    auto* cmd = runs->add_subcommand(
        "replay",
        "Re-execute a run against its recorded model answers on the running gateway (tools with side effects "
        "answered from the record), then compare it with the original (exit 1 when they diverge)");
    cmd->add_option("run", o->runA, "Run id")->required();
    addClientOptions(cmd, o->common);
    cmd->callback([o, &exitCode] { exitCode = replayRun(*o); });
  }
}

}  // namespace talon::cli
