// talon channels list | status | probe [--channel C] [--json]
// talon channels start | stop | logout <channel> [--account ID] [--json]
// The channel accounts of a running gateway, through `channels.status` (docs/channels.md): `list` the
// configured accounts, `status` their health (transport, application, functional), `probe` runs each
// running account's end-to-end check (Channel::probe) first and exits 1 when one fails. `start`, `stop`
// and `logout` call the methods of the same names (operator.admin; docs/channels.md "Lifecycle").
#include <iostream>

#include "base/clock.h"
#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/output.h"

namespace talon::cli {
namespace {

struct ChannelsOptions {
  CommonOptions common;
  std::string channel;  // --channel: one provider only
};

std::string text(const json::object& o, std::string_view key, std::string_view none = "-") {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::string(none);
  if (it->value().is_string()) return std::string(it->value().get_string());
  return json::serialize(it->value());
}

std::string ago(const json::object& o, std::string_view key, int64_t now) {
  auto at = getInt(o, key);
  return at && *at > 0 ? formatAge(now - *at) : "never";
}

/// Calls channels.status; the accounts are in payload.channelAccounts.<provider>[].
Result<json::value> channelsStatus(const ChannelsOptions& o, bool probe) {
  auto client = connectClient(o.common);
  if (!client) return fail(client.error());
  json::object params{{"probe", probe}, {"timeoutMs", o.common.timeoutMs}};
  if (!o.channel.empty()) params["channel"] = o.channel;
  // The probe has timeoutMs to answer; the request a little longer.
  auto res = (*client)->call("channels.status", params, false,
                             std::chrono::milliseconds(o.common.timeoutMs) + std::chrono::seconds(5));
  (*client)->close();
  return res;
}

/// Every account of the payload, with its provider, in channelOrder.
std::vector<std::pair<std::string, json::object>> accountsOf(const json::value& payload) {
  std::vector<std::pair<std::string, json::object>> out;
  const auto& p = payload.as_object();
  const auto* order = getArray(p, "channelOrder");
  const auto* accounts = getObject(p, "channelAccounts");
  if (!order || !accounts) return out;
  for (const auto& id : *order) {
    if (!id.is_string()) continue;
    const auto* list = getArray(*accounts, id.get_string());
    if (!list) continue;
    for (const auto& a : *list) {
      if (a.is_object()) out.emplace_back(std::string(id.get_string()), a.as_object());
    }
  }
  return out;
}

int listChannels(const ChannelsOptions& o) {
  auto res = channelsStatus(o, false);
  if (!res) return reportError(res.error());
  const auto* defaults = getObject(res->as_object(), "channelDefaultAccountId");
  json::array out;
  std::vector<std::vector<std::string>> rows;
  for (const auto& [provider, a] : accountsOf(*res)) {
    const std::string accountId = text(a, "accountId");
    const bool isDefault = defaults && getString(*defaults, provider).value_or("") == accountId;
    const bool enabled = getBool(a, "enabled").value_or(true);
    out.push_back(json::object{{"channel", provider},
                               {"accountId", accountId},
                               {"name", text(a, "name", "")},
                               {"enabled", enabled},
                               {"default", isDefault},
                               {"configured", getBool(a, "configured").value_or(true)}});
    rows.push_back(
        {provider, accountId + (isDefault ? " (default)" : ""), text(a, "name"), enabled ? "enabled" : "disabled"});
  }
  if (o.common.json) {
    printJson(json::object{{"channels", std::move(out)}});
  } else if (rows.empty()) {
    std::cout << "No channels configured.\n";
  } else {
    printTable({"CHANNEL", "ACCOUNT", "NAME", "ENABLED"}, rows);
  }
  return 0;
}

int showStatus(const ChannelsOptions& o, bool probe) {
  auto res = channelsStatus(o, probe);
  if (!res) return reportError(res.error());
  bool probeFailed = false;
  const int64_t now = SystemClock::instance()->nowMs();
  std::vector<std::vector<std::string>> rows;
  for (const auto& [provider, a] : accountsOf(*res)) {
    const auto* h = getObject(a, "health");
    std::string probeText = "-";
    if (const auto* p = getObject(a, "probe")) {
      const bool ok = getBool(*p, "ok").value_or(false);
      probeFailed = probeFailed || !ok;
      probeText = ok ? "ok (" + text(*p, "elapsedMs") + " ms)" : "failed: " + text(*p, "error");
    }
    std::vector<std::string> row{provider,
                                 text(a, "accountId"),
                                 text(a, "healthState"),
                                 h ? text(*h, "transport") : "-",
                                 h ? text(*h, "application") : "-",
                                 h ? text(*h, "functional") : "-",
                                 ago(a, "lastInboundAt", now),
                                 text(a, "reconnectAttempts")};
    if (probe) row.push_back(probeText);
    row.push_back(text(a, "lastError", ""));
    rows.push_back(std::move(row));
  }
  if (o.common.json) {
    printJson(*res);
  } else if (rows.empty()) {
    std::cout << "No channels configured.\n";
  } else {
    std::vector<std::string> headers{"CHANNEL",     "ACCOUNT",    "HEALTH",  "TRANSPORT",
                                     "APPLICATION", "FUNCTIONAL", "INBOUND", "RECONNECTS"};
    if (probe) headers.push_back("PROBE");
    headers.push_back("ERROR");
    printTable(headers, rows);
    if (const auto* issues = getArray(res->as_object(), "statusIssues")) {
      for (const auto& i : *issues) {
        const auto& io = i.as_object();
        std::cout << "! " << text(io, "channel") << " " << text(io, "accountId") << ": " << text(io, "message");
        if (auto fix = getString(io, "fix")) std::cout << " (" << *fix << ")";
        std::cout << "\n";
      }
    }
  }
  return probe && probeFailed ? 1 : 0;
}

struct LifecycleOptions {
  CommonOptions common;
  std::string channel;  // the positional <channel>
  std::string account;  // --account; empty: the channel's default account
};

/// Calls channels.<verb> (scope operator.admin) and prints what it did.
int runLifecycle(const LifecycleOptions& o, std::string_view verb) {
  auto client = connectClient(o.common, {"operator.read", "operator.admin"});
  if (!client) return reportError(client.error());
  json::object params{{"channel", o.channel}};
  if (!o.account.empty()) params["accountId"] = o.account;
  auto res =
      (*client)->call("channels." + std::string(verb), params, false, std::chrono::milliseconds(o.common.timeoutMs));
  (*client)->close();
  if (!res) return reportError(res.error());
  if (o.common.json) {
    printJson(*res);
    return 0;
  }
  const auto& r = res->as_object();
  const std::string id = text(r, "channel") + "/" + text(r, "accountId");
  if (verb == "start") {
    const auto* outcome = getObject(r, "outcome");
    const std::string reason = outcome ? text(*outcome, "reason", "") : "";
    if (getBool(r, "alreadyRunning").value_or(false)) {
      std::cout << id << ": already running; nothing to do\n";
    } else if (outcome && text(*outcome, "status") == "skipped") {
      std::cout << id << ": not started (" << reason << ")";
      if (auto e = getString(r, "lastError")) std::cout << ": " << *e;
      std::cout << "\n";
      return 1;
    } else if (getBool(r, "started").value_or(false)) {
      std::cout << id << ": started\n";
    } else {
      std::cout << id << ": starting; the network is not reachable yet (" << text(r, "lastError", "")
                << "), retrying\n";
    }
  } else if (verb == "stop") {
    std::cout << id << (getBool(r, "alreadyStopped").value_or(false) ? ": already stopped\n" : ": stopped\n");
  } else {
    std::cout << id << ": logged out" << (getBool(r, "cleared").value_or(false) ? " (session state discarded)" : "")
              << "; stopped until "
              << "`talon channels start " << text(r, "channel") << " --account " << text(r, "accountId") << "`\n";
  }
  return 0;
}

}  // namespace

void registerChannelsCommands(CLI::App& app, int& exitCode) {
  auto* channels = app.add_subcommand("channels", "Channel accounts of the running gateway");
  channels->require_subcommand(1);
  struct Sub {
    const char* name;
    const char* help;
    int (*run)(const ChannelsOptions&);
  };
  static constexpr Sub kSubs[] = {
      {"list", "List the configured channel accounts", listChannels},
      {"status", "Show each account's health: transport, application, functional (muted), reconnects",
       [](const ChannelsOptions& o) { return showStatus(o, false); }},
      {"probe", "Probe every running account end to end (exit 1 when a probe fails)",
       [](const ChannelsOptions& o) { return showStatus(o, true); }},
  };
  for (const auto& sub : kSubs) {
    auto o = std::make_shared<ChannelsOptions>();
    auto* cmd = channels->add_subcommand(sub.name, sub.help);
    addClientOptions(cmd, o->common);
    cmd->add_option("--channel", o->channel, "Only this channel (provider id, e.g. telegram)");
    cmd->callback([o, run = sub.run, &exitCode] { exitCode = run(*o); });
  }
  struct Verb {
    const char* name;
    const char* help;
  };
  static constexpr Verb kVerbs[] = {
      {"start", "Start a channel account (clears a stop; a running account is left alone)"},
      {"stop", "Stop a channel account; it stays stopped across config reloads until started"},
      {"logout", "Stop a channel account and discard its session state"},
  };
  for (const auto& verb : kVerbs) {
    auto o = std::make_shared<LifecycleOptions>();
    auto* cmd = channels->add_subcommand(verb.name, verb.help);
    addClientOptions(cmd, o->common);
    cmd->add_option("channel", o->channel, "The channel (provider id, e.g. telegram)")->required();
    cmd->add_option("--account", o->account, "The account id (default: the channel's default account)");
    cmd->callback([o, name = std::string(verb.name), &exitCode] { exitCode = runLifecycle(*o, name); });
  }
}

}  // namespace talon::cli
