// talon fleet agents list|add|rm: the agent lifecycle over the inventory (docs/fleet.md "Agent lifecycle").
// add and rm edit the inventory file — computed in memory, read back and preflight-checked, written only
// when clean — and never touch a gateway; `talon fleet plan` / `apply` deploy the change. rm also moves
// the agent's state on its gateway into an archive.
#include <chrono>
#include <iostream>

#include "cli/commands_fleet.h"
#include "cli/commands_fleet_deploy.h"
#include "cli/output.h"
#include "config/json5.h"
#include "fleet/agent_lifecycle.h"
#include "fleet/gateway_health.h"
#include "fleet/gateway_live.h"
#include "fleet/gateway_probe.h"
#include "fleet/proxy_ledger.h"
#include "fleet/revision.h"

#ifndef TALON_VERSION
#define TALON_VERSION "0.1.0"
#endif

namespace talon::cli {
namespace {

json::object agentsBindingJson(const fleet::BindingMatch& b) {
  json::object j{{"channel", b.channel}};
  if (b.accountId) j["accountId"] = *b.accountId;
  if (b.peerKind) j["peer"] = json::object{{"kind", *b.peerKind}, {"id", b.peerId.value_or("")}};
  if (b.guildId) j["guildId"] = *b.guildId;
  if (b.teamId) j["teamId"] = *b.teamId;
  if (!b.roles.empty()) {
    json::array roles;
    for (const auto& r : b.roles) roles.push_back(json::value(r));
    j["roles"] = std::move(roles);
  }
  if (b.implied) j["implied"] = true;
  return j;
}

std::string agentsBindingText(const fleet::BindingMatch& b) {
  std::string s = b.channel + "/" + (b.accountId ? *b.accountId : "(default)");
  if (b.peerKind) s += " peer " + *b.peerKind + ":" + b.peerId.value_or("");
  if (b.guildId) s += " guild " + *b.guildId;
  if (b.teamId) s += " team " + *b.teamId;
  return s;
}

/// The short form of --bind: `channel:accountId` or `channel:accountId:peerKind:peerId` (the peer id keeps any
/// further ':'), as a bindings[] object.
Result<json::value> agentsBindingFromFlag(const std::string& flag) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (parts.size() < 3) {
    auto colon = flag.find(':', start);
    if (colon == std::string::npos) break;
    parts.push_back(flag.substr(start, colon - start));
    start = colon + 1;
  }
  parts.push_back(flag.substr(start));
  bool ok = (parts.size() == 2 || parts.size() == 4);
  for (const auto& p : parts) ok = ok && !p.empty();
  if (!ok) {
    return fail(ErrorCode::kInvalidArgument,
                "--bind " + flag + ": expected a JSON5 object, channel:accountId or channel:accountId:peerKind:peerId");
  }
  json::object j{{"channel", parts[0]}, {"accountId", parts[1]}};
  if (parts.size() == 4) j["peer"] = json::object{{"kind", parts[2]}, {"id", parts[3]}};
  return json::value(std::move(j));
}

/// What a gateway's `agents.list` answered: the agent ids, or why it could not be asked.
struct AgentsLive {
  bool reached = false;
  std::set<std::string> agents;
  std::string error;
};

/// Asks gateway `gatewayIndex` for its agents, reached as every fleet command reaches it: directly, or through a
/// port forward over an ssh gateway's connection (fleet::reachGateway).
AgentsLive askGatewayAgents(const fleet::EffectiveFleet& fleet, std::size_t gatewayIndex,
                            const fleet::DeployContext& context, std::chrono::milliseconds timeout) {
  AgentsLive out;
  fleet::RenderedGateway render = fleet::renderGateway(fleet, gatewayIndex);
  auto credential = fleet::gatewayCredential(render.text, processEnvironmentValue);
  if (!credential) {
    out.error = "not checked: " + credential.error().message;
    return out;
  }
  fleet::DeployTarget target = fleet::deployTarget(fleet, gatewayIndex, render);
  auto deployer = fleet::createDeployer(target.provider);
  if (!deployer) {
    out.error = deployer.error().message;
    return out;
  }
  auto address = fleet::reachGateway(deployer->get(), target, context);
  if (!address) {
    out.error = address.error().message;
    return out;
  }
  auto got = fleet::callGatewayMethod(address->host(), address->port(), *credential, TALON_VERSION, timeout,
                                      "agents.list", json::object{});
  if (!got) {
    out.error = got.error().message;
    return out;
  }
  auto ids = fleet::agentIdsFromAgentsList(got->payload);
  if (!ids) {
    out.error = ids.error().message;
    return out;
  }
  out.reached = true;
  out.agents = std::move(*ids);
  return out;
}

void registerAgentsList(CLI::App* group, int& exitCode) {
  auto o = std::make_shared<FleetOptions>();
  auto d = std::make_shared<FleetDeployOptions>();
  auto gateway = std::make_shared<std::string>();
  auto live = std::make_shared<bool>(false);
  auto timeout = std::make_shared<double>(10);
  auto* cmd = group->add_subcommand("list", "Every agent with its gateway, kind, owner, model, accounts and bindings");
  cmd->add_option("--gateway", *gateway, "Only the agents of this gateway");
  cmd->add_flag("--live", *live, "Ask each gateway (protocol agents.list) whether it runs the agent");
  cmd->add_option("--timeout", *timeout, "With --live: seconds to wait for each gateway (default 10)")
      ->check(CLI::Range(1.0, 600.0));
  addStateDirOption(cmd, d);
  addFleetCommonOptions(cmd, o);
  cmd->callback([o, d, gateway, live, timeout, &exitCode] {
    auto fleet = loadFleetInventory(*o, exitCode);
    if (!fleet) return;
    const auto& inv = fleet->inventory();
    if (!gateway->empty() && inv.findGateway(*gateway) == nullptr) {
      exitCode = reportFleetError(Error(ErrorCode::kNotFound, "no gateway \"" + *gateway + "\" in the inventory"));
      return;
    }
    std::map<std::string, AgentsLive> liveByGateway;
    std::map<std::string, std::vector<std::string>> knownByGateway;
    if (*live) {
      auto ms = std::chrono::milliseconds(static_cast<int64_t>(*timeout * 1000));
      d->timeoutSeconds = *timeout;
      // The fleet state dir holds the ssh provider's connection sockets.
      auto context = deployContext(deployStateDir(*o, *d), *d, o->json);
      for (std::size_t gi = 0; gi < inv.gateways().size(); ++gi) {
        const auto& g = inv.gateways()[gi];
        if ((!gateway->empty() && g.id != *gateway) || fleet->agentsOf(gi).empty()) continue;
        liveByGateway.emplace(g.id, askGatewayAgents(*fleet, gi, context, ms));
        for (std::size_t ai : fleet->agentsOf(gi)) knownByGateway[g.id].push_back(inv.agents()[ai].id);
      }
    }
    // The same comparison as `talon fleet status`: per gateway, each inventory agent's state and the unmanaged.
    std::map<std::string, std::map<std::string, std::string>> liveStates;
    json::array unmanaged;
    for (const auto& [id, l] : liveByGateway) {
      if (!l.reached) continue;
      for (const auto& a : fleet::compareLiveAgents(knownByGateway[id], l.agents)) {
        liveStates[id][a.id] = a.state;
        if (a.state == "unmanaged") unmanaged.push_back(json::object{{"gateway", id}, {"id", a.id}});
      }
    }
    json::array list;
    std::vector<std::vector<std::string>> rows;
    for (std::size_t i = 0; i < inv.agents().size(); ++i) {
      const auto& a = inv.agents()[i];
      if (!gateway->empty() && a.gateway != *gateway) continue;
      const json::object& effective = fleet->agent(i);
      std::string model = effective.contains("model") && effective.at("model").is_string()
                              ? std::string(effective.at("model").as_string())
                              : "";
      json::object accounts;
      std::string accountsText;
      for (const auto& [channel, mapping] : a.accounts) {
        accounts[channel] = mapping.first;
        accountsText += (accountsText.empty() ? "" : ",") + channel + ":" + mapping.first;
      }
      // The bindings as rendered: the explicit ones, then one per account.
      json::array bindings;
      std::string bindingsText;
      std::vector<fleet::BindingMatch> all = a.bindings;
      for (const auto& [channel, mapping] : a.accounts) {
        fleet::BindingMatch implied;
        implied.channel = channel;
        implied.accountId = mapping.first;
        implied.implied = true;
        all.push_back(std::move(implied));
      }
      for (const auto& b : all) {
        bindings.push_back(agentsBindingJson(b));
        bindingsText += (bindingsText.empty() ? "" : "; ") + agentsBindingText(b);
      }
      json::object j{{"id", a.id},
                     {"gateway", a.gateway},
                     {"kind", a.kind},
                     {"owner", a.owner},
                     {"displayName", a.displayName},
                     {"model", model.empty() ? json::value(nullptr) : json::value(model)},
                     {"accounts", std::move(accounts)},
                     {"bindings", std::move(bindings)},
                     {"workspace", fleet::agentWorkspace(*fleet, i)},
                     {"agentDir", fleet::agentDirectory(*fleet, i)},
                     {"source", fleetSourceWhere(a.layer.location)}};
      std::string liveText;
      if (*live) {
        const AgentsLive& l = liveByGateway.at(a.gateway);
        json::object s;
        if (!l.reached) {
          s["state"] = "unreachable";
          s["detail"] = l.error;
        } else {
          s["state"] = liveStates[a.gateway][a.id];
        }
        liveText = std::string(s.at("state").as_string());
        j["live"] = std::move(s);
      }
      std::vector<std::string> row{a.id,
                                   a.gateway,
                                   a.kind,
                                   a.owner.empty() ? "-" : a.owner,
                                   model.empty() ? "-" : model,
                                   accountsText.empty() ? "-" : accountsText,
                                   bindingsText.empty() ? "-" : bindingsText};
      if (*live) row.push_back(liveText);
      rows.push_back(std::move(row));
      list.push_back(std::move(j));
    }
    if (o->json) {
      json::object j{{"agents", std::move(list)}};
      if (*live) j["unmanaged"] = std::move(unmanaged);
      printJson(j);
    } else {
      std::vector<std::string> header{"AGENT", "GATEWAY", "KIND", "OWNER", "MODEL", "ACCOUNTS", "BINDINGS"};
      if (*live) header.push_back("LIVE");
      printTable(header, rows);
      for (const auto& [id, l] : liveByGateway) {
        if (!l.reached) std::cout << "gateway " << id << ": " << l.error << "\n";
      }
      for (const auto& u : unmanaged) {
        std::cout << "gateway " << u.at("gateway").as_string().c_str() << " also runs agent "
                  << u.at("id").as_string().c_str() << ", which the inventory does not know (unmanaged)\n";
      }
    }
    exitCode = 0;
  });
}

/// Prints an edit's key paths and findings; returns the JSON form.
json::object printAgentsEdit(const FleetOptions& o, const fleet::InventoryEdit& edit, const fleet::EditCheck& check,
                             bool written, bool dryRun) {
  json::array changes;
  for (const auto& c : edit.changes) {
    changes.push_back(json::object{{"op", fleet::changeKindName(c.kind)}, {"path", c.path}});
  }
  json::array findings;
  for (const auto& f : check.report.findings) findings.push_back(f.toJson());
  json::array blocking;
  for (const auto& f : check.blocking) blocking.push_back(json::value(f.id));
  json::array files;
  std::string fileList;
  for (const auto& f : edit.files) {
    files.push_back(json::value(f.file.string()));
    fileList += (fileList.empty() ? "" : ", ") + f.file.string();
  }
  json::object j{{"ok", check.ok()},
                 {"files", std::move(files)},
                 {"written", written},
                 {"dryRun", dryRun},
                 {"changes", std::move(changes)},
                 {"findings", std::move(findings)},
                 {"blocking", std::move(blocking)}};
  if (o.json) return j;
  std::cout << fileList << (dryRun ? " (dry run, nothing written):\n" : ":\n");
  for (const auto& c : edit.changes) {
    char op = c.kind == fleet::ConfigChange::Kind::kAdded     ? '+'
              : c.kind == fleet::ConfigChange::Kind::kRemoved ? '-'
                                                              : '~';
    std::cout << "  " << op << " " << c.path << "\n";
  }
  for (const auto& f : check.blocking) {
    std::string objects;
    for (const auto& x : f.objects) objects += (objects.empty() ? "" : ",") + x;
    std::cerr << "preflight: " << (f.isError() ? "error " : "warning ") << f.id << " (" << objects << ", "
              << fleetSourceWhere(f.location) << "): " << f.message << "\n  fix: " << f.fix << "\n";
  }
  return j;
}

void registerAgentsAdd(CLI::App* group, int& exitCode) {
  auto o = std::make_shared<FleetOptions>();
  auto d = std::make_shared<FleetDeployOptions>();
  auto spec = std::make_shared<fleet::AgentSpec>();
  auto accounts = std::make_shared<std::vector<std::string>>();
  auto binds = std::make_shared<std::vector<std::string>>();
  auto dryRun = std::make_shared<bool>(false);
  auto actor = std::make_shared<std::string>();
  auto* cmd = group->add_subcommand(
      "add", "Add an agent with its account mapping and bindings to the inventory (all or nothing, preflight-checked)");
  cmd->add_option("id", spec->id, "Agent id")->required();
  cmd->add_option("--gateway", spec->gateway, "The gateway the agent runs on")->required();
  cmd->add_option("--kind", spec->kind, "human-coupled | use-case (default use-case)")
      ->check(CLI::IsMember({"human-coupled", "use-case"}));
  cmd->add_option("--owner", spec->owner, "Who answers for the agent");
  cmd->add_option("--display-name", spec->displayName, "Human name");
  cmd->add_option("--model", spec->model, "Primary model, provider/model (default: inherited from its layers)");
  cmd->add_option("--account", *accounts,
                  "channel:accountId the agent owns (repeatable; one per channel; created in accounts when new)");
  cmd->add_option(
      "--bind", *binds,
      "An extra binding: channel:accountId[:peerKind:peerId], or a JSON5 object in the bindings[] shape, e.g. "
      "'{channel: \"telegram\", accountId: \"ops\", peer: {kind: \"group\", id: \"-100\"}}' (repeatable)");
  cmd->add_flag("--dry-run", *dryRun, "Print the inventory keys the edit adds and its findings; write nothing");
  cmd->add_option("--actor", *actor, "Who edits (the audit record; default: the OS user)");
  addStateDirOption(cmd, d);
  addFleetCommonOptions(cmd, o);
  cmd->callback([o, d, spec, accounts, binds, dryRun, actor, &exitCode] {
    for (const auto& a : *accounts) {
      auto colon = a.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == a.size()) {
        exitCode =
            reportFleetError(Error(ErrorCode::kInvalidArgument, "--account " + a + ": expected channel:accountId"));
        return;
      }
      spec->accounts.emplace_back(a.substr(0, colon), a.substr(colon + 1));
    }
    spec->bindings.clear();
    for (const auto& b : *binds) {
      if (!b.starts_with("{")) {
        auto binding = agentsBindingFromFlag(b);
        if (!binding) {
          exitCode = reportFleetError(binding.error());
          return;
        }
        spec->bindings.push_back(std::move(*binding));
        continue;
      }
      auto parsed = config::parseJson5Located(b, "--bind");
      if (!parsed || !parsed->isObject()) {
        exitCode = reportFleetError(Error(ErrorCode::kInvalidArgument,
                                          "--bind " + b + ": " + (parsed ? "not an object" : parsed.error().message)));
        return;
      }
      spec->bindings.push_back(config::toJsonValue(*parsed));
    }
    auto fleet = loadFleetInventory(*o, exitCode);
    if (!fleet) return;
    auto edit = fleet::planAgentAdd(fleet->inventory(), *spec);
    if (!edit) {
      exitCode = reportFleetError(edit.error());
      return;
    }
    fleet::PreflightOptions options;
    options.checkHostPorts = false;
    auto check = fleet::checkInventoryEdit(*edit, options);
    bool write = check.ok() && !*dryRun;
    if (write) {
      if (auto w = fleet::writeInventoryEdit(*edit); !w) {
        exitCode = reportFleetError(w.error());
        return;
      }
    }
    json::object j = printAgentsEdit(*o, *edit, check, write, *dryRun);
    j["agent"] = spec->id;
    if (o->json) printJson(j);
    if (!check.ok()) {
      std::cerr << "error: preflight found " << check.blocking.size() << " problem(s); nothing written\n";
      exitCode = 1;
      return;
    }
    if (*dryRun) {
      exitCode = 0;
      return;
    }
    if (!o->json) {
      std::cout << "added agent " << spec->id << " to gateway " << spec->gateway
                << "; deploy it with: talon fleet plan && talon fleet apply\n";
    }
    security::AuditEvent event;
    event.kind = "fleet.agents.add";
    event.actor = "cli:" + (actor->empty() ? osUserName() : *actor);
    event.target = "agent:" + spec->id;
    event.details = j;
    exitCode = auditFleetAction(deployStateDir(*o, *d), std::move(event), 0);
  });
}

void registerAgentsRemove(CLI::App* group, int& exitCode) {
  auto o = std::make_shared<FleetOptions>();
  auto d = std::make_shared<FleetDeployOptions>();
  auto id = std::make_shared<std::string>();
  auto archiveDir = std::make_shared<std::string>();
  auto dryRun = std::make_shared<bool>(false);
  auto actor = std::make_shared<std::string>();
  auto* cmd = group->add_subcommand(
      "rm", "Remove an agent, its account mapping and bindings from the inventory and archive its state");
  cmd->add_option("id", *id, "Agent id")->required();
  cmd->add_option("--archive-dir", *archiveDir,
                  "Where the agent's state goes (default <fleet state dir>/archive/<agent>-<UTC time>)");
  cmd->add_flag("--dry-run", *dryRun, "Print the inventory keys the edit removes and the state it would archive");
  cmd->add_option("--actor", *actor, "Who edits (the audit record; default: the OS user)");
  addStateDirOption(cmd, d);
  addFleetCommonOptions(cmd, o);
  cmd->callback([o, d, id, archiveDir, dryRun, actor, &exitCode] {
    auto fleet = loadFleetInventory(*o, exitCode);
    if (!fleet) return;
    const fleet::Agent* agent = fleet->inventory().findAgent(*id);
    if (agent == nullptr) {
      exitCode = reportFleetError(Error(ErrorCode::kNotFound, "no agent \"" + *id + "\" in the inventory"));
      return;
    }
    std::string gatewayId = agent->gateway;
    auto statePaths =
        fleet::agentStatePaths(*fleet, static_cast<std::size_t>(agent - fleet->inventory().agents().data()));
    auto edit = fleet::planAgentRemove(fleet->inventory(), *id);
    if (!edit) {
      exitCode = reportFleetError(edit.error());
      return;
    }
    fleet::PreflightOptions options;
    options.checkHostPorts = false;
    auto check = fleet::checkInventoryEdit(*edit, options);
    auto now = std::chrono::system_clock::now();
    std::filesystem::path stateDir = deployStateDir(*o, *d);
    std::filesystem::path archive =
        archiveDir->empty() ? fleet::defaultAgentArchiveDir(stateDir, *id, now) : std::filesystem::path(*archiveDir);
    archive = std::filesystem::absolute(archive);
    bool write = check.ok() && !*dryRun;
    // The agent's state is moved while no apply, start, backup or rollout of this state dir runs.
    std::shared_ptr<void> lock;
    if (write) {
      auto revisions = fleet::RevisionStore::open(stateDir);
      auto held = revisions ? (*revisions)->lock() : Result<std::shared_ptr<void>>(fail(revisions.error()));
      if (!held) {
        exitCode = reportFleetError(held.error());
        return;
      }
      lock = std::move(*held);
      if (auto w = fleet::writeInventoryEdit(*edit); !w) {
        exitCode = reportFleetError(w.error());
        return;
      }
    }
    json::object j = printAgentsEdit(*o, *edit, check, write, *dryRun);
    j["agent"] = *id;
    if (!check.ok()) {
      if (o->json) printJson(j);
      std::cerr << "error: preflight found " << check.blocking.size() << " problem(s); nothing written\n";
      exitCode = 1;
      return;
    }
    if (*dryRun) {
      json::array paths;
      for (const auto& [what, path] : statePaths) {
        std::error_code ec;
        bool exists = std::filesystem::exists(path, ec);
        paths.push_back(json::object{{"what", what}, {"from", path.string()}, {"exists", exists}});
        if (!o->json)
          std::cout << "  would archive " << what << ": " << path.string() << (exists ? "" : " (absent)") << "\n";
      }
      j["archive"] = json::object{{"dir", archive.string()}, {"paths", std::move(paths)}};
      if (o->json) printJson(j);
      exitCode = 0;
      return;
    }
    security::AuditEvent event;
    event.kind = "fleet.agents.rm";
    event.actor = "cli:" + (actor->empty() ? osUserName() : *actor);
    event.target = "agent:" + *id;
    auto archived = fleet::archiveAgentState(*id, gatewayId, edit->original->path(), statePaths, archive, now);
    int code = 0;
    if (!archived) {
      code = reportFleetError(archived.error());
      std::cerr << "error: the agent was removed from the inventory, but its state was not archived completely; see "
                << (archive / "manifest.json").string() << "\n";
      j["archiveError"] = archived.error().message;
      event.outcome = security::AuditOutcome::kFailed;
    } else {
      j["archive"] = archived->manifest;
    }
    // The agent's own model-proxy key (per-agent attribution) goes with it: revoked, so that a copy left on
    // the gateway stops working even before the removal is deployed. Only an existing ledger is opened.
    if (std::error_code ec; std::filesystem::exists(stateDir / "proxy" / "proxy.sqlite", ec)) {
      auto ledger = fleet::ProxyLedger::open(stateDir);
      auto revoked =
          ledger ? (*ledger)->revoke(
                       gatewayId, std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count(),
                       *id)
                 : Result<int64_t>(fail(ledger.error()));
      if (revoked) {
        j["proxyKeysRevoked"] = *revoked;
      } else {
        code = code != 0 ? code : reportFleetError(revoked.error());
        j["proxyKeysError"] = revoked.error().message;
        event.outcome = security::AuditOutcome::kFailed;
      }
    }
    event.details = j;
    if (o->json) {
      printJson(j);
    } else if (archived) {
      std::cout << "removed agent " << *id << " from gateway " << gatewayId << "; its state is archived in "
                << archive.string() << "\n";
      for (const auto& p : archived->paths) {
        std::cout << "  " << p.what << ": " << p.from
                  << (p.to.empty() ? " (absent)" : " -> " + p.to + " (" + std::to_string(p.files) + " files)") << "\n";
      }
      if (auto n = j.if_contains("proxyKeysRevoked"); n != nullptr && n->as_int64() > 0)
        std::cout << "  revoked its model-proxy key (" << n->as_int64() << ")\n";
      std::cout << "deploy the removal with: talon fleet plan && talon fleet apply\n";
    }
    exitCode = auditFleetAction(stateDir, std::move(event), code);
  });
}

}  // namespace

void registerFleetAgentsCommands(CLI::App* group, int& exitCode) {
  auto* agents = group->add_subcommand("agents", "The agent lifecycle: list, add, rm (docs/fleet.md)");
  agents->require_subcommand(1);
  registerAgentsList(agents, exitCode);
  registerAgentsAdd(agents, exitCode);
  registerAgentsRemove(agents, exitCode);
}

}  // namespace talon::cli
