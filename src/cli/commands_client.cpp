// Client commands: talon health | status | agents list | sessions list | chat.
#include <iostream>

#include "base/ids.h"
#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/output.h"

namespace talon::cli {
namespace {

std::string str(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return "-";
  if (it->value().is_string()) return std::string(it->value().get_string());
  return json::serialize(it->value());
}

int runCall(const CommonOptions& o, const std::string& method, const json::value& params,
            const std::function<void(const json::value&)>& human) {
  auto client = connectClient(o);
  if (!client) return reportError(client.error());
  auto res = (*client)->call(method, params);
  (*client)->close();
  if (!res) return reportError(res.error());
  if (o.json) {
    printJson(*res);
  } else {
    human(*res);
  }
  return 0;
}

}  // namespace

void registerClientCommands(CLI::App& app, int& exitCode) {
  // talon health [--deep]
  {
    struct HealthOptions {
      CommonOptions common;
      bool deep = false;
    };
    auto o = std::make_shared<HealthOptions>();
    auto* cmd = app.add_subcommand("health", "Check that the gateway is up and show its health snapshot");
    addClientOptions(cmd, o->common);
    cmd->add_flag("--deep", o->deep,
                  "Every health record (store, providers, channels, cron jobs) as a traffic-light table; exit 1 "
                  "when one is red");
    cmd->callback([o, &exitCode] {
      bool red = false;
      auto human = [&](const json::value& v) {
        const auto& h = v.as_object();
        bool ok = getBool(h, "ok").value_or(false);
        std::cout << "gateway: " << (ok ? "ok" : "degraded") << "\n";
        std::cout << "default agent: " << str(h, "defaultAgentId") << "\n";
        if (const auto* s = getObject(h, "sessions")) std::cout << "sessions: " << str(*s, "count") << "\n";
        if (const auto* agents = getArray(h, "agents")) {
          for (const auto& a : *agents) {
            const auto& ao = a.as_object();
            const auto* s = getObject(ao, "sessions");
            std::cout << "  agent " << str(ao, "agentId") << ": " << (s ? str(*s, "count") : "0") << " session(s)\n";
          }
        }
        if (!o->deep) return;
        std::vector<std::vector<std::string>> rows;
        const int64_t now = getInt(h, "ts").value_or(0);
        if (const auto* records = getArray(h, "records")) {
          for (const auto& r : *records) {
            const auto& ro = r.as_object();
            const std::string state = str(ro, "state");
            const std::string light = state == "ok"         ? "green"
                                      : state == "degraded" ? "amber"
                                      : state == "failed"   ? "RED"
                                                            : "grey";
            red = red || state == "failed";
            const int64_t since = getInt(ro, "since").value_or(0);
            rows.push_back({light, str(ro, "component"), str(ro, "dimension"),
                            since > 0 && now >= since ? formatAge(now - since) : "-",
                            getBool(ro, "critical").value_or(false) ? "yes" : "no",
                            std::string(getString(ro, "detail").value_or(""))});
          }
        }
        std::cout << "\n";
        printTable({"LIGHT", "COMPONENT", "DIMENSION", "SINCE", "CRITICAL", "DETAIL"}, rows);
      };
      CommonOptions call = o->common;
      call.json = false;  // printed here, so that --json --deep still sets the exit status
      exitCode = runCall(call, "health", nullptr, [&](const json::value& v) {
        if (!o->common.json) return human(v);
        printJson(v);
        if (const auto* records = getArray(v.as_object(), "records")) {
          for (const auto& r : *records) red = red || getString(r.as_object(), "state") == "failed";
        }
      });
      if (exitCode == 0 && o->deep && red) exitCode = 1;
    });
  }
  // talon status
  {
    auto o = std::make_shared<CommonOptions>();
    auto* cmd = app.add_subcommand("status", "Show the gateway's runtime status");
    addClientOptions(cmd, *o);
    cmd->callback([o, &exitCode] {
      exitCode = runCall(*o, "status", json::object{{"includeChannelSummary", false}, {"includeCliProjection", true}},
                         [](const json::value& v) {
                           const auto& s = v.as_object();
                           std::cout << "version: " << str(s, "runtimeVersion") << "\n";
                           std::cout << "pid: " << str(s, "pid") << "\n";
                           if (auto up = getInt(s, "uptimeMs")) std::cout << "uptime: " << *up / 1000 << "s\n";
                           if (const auto* m = getObject(s, "processMemory")) {
                             if (auto rss = getInt(*m, "rssBytes"))
                               std::cout << "rss: " << *rss / (1024 * 1024) << " MiB\n";
                           }
                           if (const auto* t = getObject(s, "tasks")) {
                             std::cout << "runs: " << str(*t, "active") << " active, " << str(*t, "terminal")
                                       << " finished, " << str(*t, "failures") << " failed\n";
                           }
                           if (const auto* ss = getObject(s, "sessions")) {
                             std::cout << "sessions: " << str(*ss, "count") << " (" << str(*ss, "paths") << ")\n";
                           }
                         });
    });
  }
  // talon agents list
  {
    auto* agents = app.add_subcommand("agents", "Agents hosted by the gateway");
    agents->require_subcommand(1);
    auto o = std::make_shared<CommonOptions>();
    auto* list = agents->add_subcommand("list", "List agents");
    addClientOptions(list, *o);
    list->callback([o, &exitCode] {
      exitCode = runCall(*o, "agents.list", json::object{}, [](const json::value& v) {
        const auto& p = v.as_object();
        std::vector<std::vector<std::string>> rows;
        std::string def = str(p, "defaultId");
        if (const auto* a = getArray(p, "agents")) {
          for (const auto& item : *a) {
            const auto& ao = item.as_object();
            std::string model = "-";
            if (const auto* m = getObject(ao, "model")) model = str(*m, "primary");
            rows.push_back({str(ao, "id") + (str(ao, "id") == def ? " (default)" : ""), str(ao, "name"), model,
                            str(ao, "workspace")});
          }
        }
        printTable({"ID", "NAME", "MODEL", "WORKSPACE"}, rows);
      });
    });
  }
  // talon sessions list
  {
    auto* sessions = app.add_subcommand("sessions", "Conversation sessions");
    sessions->require_subcommand(1);
    auto o = std::make_shared<CommonOptions>();
    auto limit = std::make_shared<int>(50);
    auto agent = std::make_shared<std::string>();
    auto* list = sessions->add_subcommand("list", "List sessions, most recently active first");
    addClientOptions(list, *o);
    list->add_option("--limit", *limit, "Most sessions to list")->check(CLI::Range(1, 1000));
    list->add_option("--agent", *agent, "Only this agent's sessions");
    list->callback([o, limit, agent, &exitCode] {
      json::object params{{"limit", *limit}};
      if (!agent->empty()) params["agentId"] = *agent;
      exitCode = runCall(*o, "sessions.list", params, [](const json::value& v) {
        const auto& p = v.as_object();
        auto now = getInt(p, "ts").value_or(0);
        std::vector<std::vector<std::string>> rows;
        if (const auto* a = getArray(p, "sessions")) {
          for (const auto& item : *a) {
            const auto& s = item.as_object();
            // The last external route (lastChannel / lastTo), when the session was reached on a channel.
            std::string route = s.contains("lastChannel") ? str(s, "lastChannel") + " " + str(s, "lastTo") : "-";
            rows.push_back({str(s, "key"), str(s, "agentId"), str(s, "messageCount"), str(s, "totalTokens"),
                            formatAge(now - getInt(s, "updatedAt").value_or(now)), route});
          }
        }
        printTable({"KEY", "AGENT", "MESSAGES", "TOKENS", "UPDATED", "LAST ROUTE"}, rows);
        std::cout << str(p, "count") << " of " << str(p, "totalCount") << " session(s)\n";
      });
    });
  }
  // talon chat --agent ID "message"
  {
    auto o = std::make_shared<CommonOptions>();
    auto agent = std::make_shared<std::string>();
    auto session = std::make_shared<std::string>();
    auto message = std::make_shared<std::string>();
    auto turnTimeout = std::make_shared<int>(600);
    auto* cmd = app.add_subcommand("chat", "Send a message to an agent and stream its answer");
    addClientOptions(cmd, *o);
    cmd->add_option("--agent", *agent, "Agent id (default: the gateway's default agent)");
    cmd->add_option("--session", *session, "Session key (default: the agent's main session)");
    cmd->add_option("--turn-timeout", *turnTimeout, "Seconds to wait for the answer")->check(CLI::Range(1, 86400));
    cmd->add_option("message", *message, "The message")->required();
    cmd->callback([o, agent, session, message, turnTimeout, &exitCode] {
      auto client = connectClient(*o);
      if (!client) {
        exitCode = reportError(client.error());
        return;
      }
      std::string key = !session->empty() ? *session : (!agent->empty() ? "agent:" + *agent + ":main" : "main");
      json::object params{{"sessionKey", key}, {"message", *message}, {"idempotencyKey", newUuid()}};
      if (!agent->empty()) params["agentId"] = *agent;
      auto started = (*client)->call("chat.send", params);
      if (!started) {
        exitCode = reportError(started.error());
        return;
      }
      std::string runId = str(started->as_object(), "runId");
      std::size_t printed = 0;
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(*turnTimeout);
      for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        auto ev = (*client)->nextEvent(std::max(left, std::chrono::milliseconds(1)));
        if (!ev) {
          exitCode = reportError(ev.error());
          return;
        }
        if (getString(*ev, "event") != "chat") continue;
        const auto* p = getObject(*ev, "payload");
        if (!p || getString(*p, "runId") != runId) continue;
        if (o->json) std::cout << json::serialize(*p) << "\n" << std::flush;
        auto state = getString(*p, "state").value_or("");
        if (state == "delta" && !o->json) {
          std::string text(getString(*p, "deltaText").value_or(""));
          if (text.size() > printed) {
            std::cout << text.substr(printed) << std::flush;
            printed = text.size();
          }
        } else if (state == "final") {
          if (!o->json) {
            std::string text;
            if (const auto* m = getObject(*p, "message")) {
              if (const auto* c = getArray(*m, "content")) {
                for (const auto& part : *c) text += getString(part.as_object(), "text").value_or("");
              }
            }
            if (text.size() > printed) std::cout << text.substr(printed);
            std::cout << "\n";
          }
          exitCode = 0;
          return;
        } else if (state == "error" || state == "aborted") {
          if (!o->json && printed) std::cout << "\n";
          std::string msg(getString(*p, "errorMessage").value_or("the run failed"));
          ErrorCode code =
              getString(*p, "errorKind") == "timeout" ? ErrorCode::kDeadlineExceeded : ErrorCode::kUpstream;
          exitCode = reportError(Error(code, msg, msg));
          return;
        }
      }
    });
  }
}

}  // namespace talon::cli
