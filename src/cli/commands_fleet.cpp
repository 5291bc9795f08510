// talon fleet validate|explain|render|preflight|routes|policy: the fleet control plane's inventory commands
// over an inventory file (docs/fleet.md). Every command reads the inventory (--inventory, TALON_FLEET_INVENTORY,
// else ./fleet.json5), calls the fleet module and prints a table or, with --json, JSON.
#include "cli/commands_fleet.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "fleet/inventory.h"
#include "fleet/layering.h"
#include "fleet/policy.h"
#include "fleet/preflight.h"
#include "fleet/render.h"
#include "fleet/render_manifests.h"

namespace talon::cli {

std::filesystem::path fleetInventoryPath(const FleetOptions& o) {
  if (!o.inventory.empty()) return o.inventory;
  if (const char* env = std::getenv("TALON_FLEET_INVENTORY"); env != nullptr && *env != '\0') return env;
  return "fleet.json5";
}

void addFleetCommonOptions(CLI::App* cmd, const std::shared_ptr<FleetOptions>& o) {
  cmd->add_option("--inventory", o->inventory, "Inventory file (default: TALON_FLEET_INVENTORY, else ./fleet.json5)");
  cmd->add_flag("--json", o->json, "Print JSON");
}

std::optional<fleet::EffectiveFleet> loadFleetInventory(const FleetOptions& o, int& exitCode) {
  auto inv = fleet::Inventory::load(fleetInventoryPath(o));
  if (!inv) {
    if (o.json) {
      json::object j;
      j["valid"] = false;
      j["error"] = inv.error().message;
      if (const auto* issues = inv.error().details.if_contains("issues")) j["issues"] = *issues;
      printJson(j);
    } else {
      std::cerr << "error: " << inv.error().message << "\n";
    }
    exitCode = ::talon::exitCode(inv.error().code);
    return std::nullopt;
  }
  return fleet::EffectiveFleet::resolve(std::move(*inv));
}

std::string fleetSourceWhere(const config::SourceLocation& l) {
  if (!l.known()) return "-";
  std::error_code ec;
  auto rel = std::filesystem::relative(l.file, std::filesystem::current_path(), ec);
  std::string file = ec || rel.empty() || rel.string().starts_with("..") ? l.file : rel.string();
  return file + ":" + std::to_string(l.line);
}

int reportFleetError(const Error& e) {
  std::cerr << "error: " << e.message << "\n";
  return ::talon::exitCode(e.code);
}

namespace {

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

double msSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

/// Process CPU time in ms (user + system of every thread), which a busy machine inflates far less than
/// wall time.
double cpuMs() { return 1000.0 * static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void registerValidate(CLI::App* group, int& exitCode) {
  auto o = std::make_shared<FleetOptions>();
  auto* cmd =
      group->add_subcommand("validate", "Check the inventory against the schema (every problem with file:line)");
  addFleetCommonOptions(cmd, o);
  cmd->callback([o, &exitCode] {
    auto fleet = loadFleetInventory(*o, exitCode);
    if (!fleet) return;
    const auto& inv = fleet->inventory();
    if (o->json) {
      json::object j;
      j["valid"] = true;
      j["path"] = inv.path().string();
      j["organisation"] = inv.organisation().id;
      j["groups"] = inv.groups().size();
      j["gateways"] = inv.gateways().size();
      j["agents"] = inv.agents().size();
      j["accounts"] = inv.accounts().size();
      printJson(j);
    } else {
      std::cout << inv.path().string() << ": valid (" << inv.organisation().displayName << ": " << inv.groups().size()
                << " groups, " << inv.gateways().size() << " gateways, " << inv.agents().size() << " agents, "
                << inv.accounts().size() << " channel accounts)\n";
    }
    exitCode = 0;
  });
}

void printExplanation(const fleet::Explanation& e) {
  std::cout << e.entity << " " << e.keyPath << " = " << (e.value ? toJson(*e.value) : std::string("(unset)"))
            << "   [merge: " << e.mergeRule << "]\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : e.chain) rows.push_back({c.layer->label(), fleetSourceWhere(c.location), toJson(c.value)});
  if (!rows.empty()) printTable({"LAYER", "SOURCE", "VALUE"}, rows);
}

void registerExplain(CLI::App* group, int& exitCode) {
  auto o = std::make_shared<FleetOptions>();
  auto entity = std::make_shared<std::string>();
  auto keyPath = std::make_shared<std::string>();
  auto* cmd = group->add_subcommand(
      "explain", "The effective value of a key of a gateway or agent and the layers that set it (file:line)");
  cmd->add_option("entity", *entity, "Gateway or agent id (gateway:<id> / agent:<id> when both exist)")->required();
  cmd->add_option("keyPath", *keyPath, "Dot-separated key (e.g. model, auth.mode, policy.skills.deny); none: all");
  addFleetCommonOptions(cmd, o);
  cmd->callback([o, entity, keyPath, &exitCode] {
    auto fleet = loadFleetInventory(*o, exitCode);
    if (!fleet) return;
    if (keyPath->empty()) {
      auto all = fleet->explainAll(*entity);
      if (!all) {
        exitCode = reportError(all.error());
        return;
      }
      if (o->json) {
        json::array a;
        for (const auto& e : *all) a.push_back(e.toJson());
        printJson(a);
      } else {
        std::vector<std::vector<std::string>> rows;
        for (const auto& e : *all) {
          const auto& last = e.chain.back();
          rows.push_back(
              {e.keyPath, e.value ? toJson(*e.value) : "", last.layer->label(), fleetSourceWhere(last.location)});
        }
        printTable({"KEY", "VALUE", "SET BY", "SOURCE"}, rows);
      }
      exitCode = 0;
      return;
    }
    auto e = fleet->explain(*entity, *keyPath);
    if (!e) {
      exitCode = reportError(e.error());
      return;
    }
    if (o->json) {
      printJson(e->toJson());
    } else {
      printExplanation(*e);
    }
    exitCode = 0;
  });
}

void registerRender(CLI::App* group, int& exitCode) {
  auto o = std::make_shared<FleetOptions>();
  auto out = std::make_shared<std::string>();
  auto* cmd = group->add_subcommand("render",
                                    "Render every gateway's config in OpenClaw's format, and the compose file or "
                                    "Kubernetes manifests of gateways with those providers (--out DIR: "
                                    "DIR/<gatewayId>/openclaw.json, compose.yaml, kubernetes.yaml)");
  cmd->add_option("--out", *out, "Directory to write the renders into");
  addFleetCommonOptions(cmd, o);
  cmd->callback([o, out, &exitCode] {
    auto fleet = loadFleetInventory(*o, exitCode);
    if (!fleet) return;
    auto renders = fleet::renderFleet(*fleet);
    auto manifests = fleet::renderManifests(*fleet, renders);
    if (!manifests) {
      exitCode = reportFleetError(manifests.error());
      return;
    }
    auto manifestOf = [&](const std::string& id) -> const fleet::RenderedManifest* {
      for (const auto& m : *manifests) {
        if (m.gatewayId == id) return &m;
      }
      return nullptr;
    };
    if (!out->empty()) {
      if (auto written = fleet::writeRenders(renders, *out); !written) {
        exitCode = reportError(written.error());
        return;
      }
      if (auto written = fleet::writeManifests(*manifests, *out); !written) {
        exitCode = reportError(written.error());
        return;
      }
    }
    if (o->json) {
      // Without --out: {"<id>": config}; with --out: {"<id>": "<config path>"}. The manifests (rendered
      // only for compose and kubernetes gateways) are under "manifests": {"<id>": text or path}.
      json::object j;
      json::object m;
      for (const auto& r : renders) {
        std::filesystem::path dir = std::filesystem::path(*out) / r.id;
        if (out->empty()) {
          j[r.id] = r.config;
        } else {
          j[r.id] = (dir / fleet::kRenderedConfigName).string();
        }
        if (const auto* manifest = manifestOf(r.id))
          m[r.id] = out->empty() ? manifest->text : (dir / manifest->fileName).string();
      }
      printJson(json::object{{"configs", std::move(j)}, {"manifests", std::move(m)}});
    } else if (!out->empty()) {
      for (const auto& r : renders) {
        std::filesystem::path dir = std::filesystem::path(*out) / r.id;
        std::cout << "wrote " << (dir / fleet::kRenderedConfigName).string() << " (" << r.runtime << ")\n";
        if (const auto* manifest = manifestOf(r.id))
          std::cout << "wrote " << (dir / manifest->fileName).string() << " (" << manifest->provider << ")\n";
      }
    } else {
      for (const auto& r : renders) {
        std::cout << "// " << r.id << " (" << r.runtime << ")\n" << r.text;
        if (const auto* manifest = manifestOf(r.id))
          std::cout << "# " << r.id << ": " << manifest->fileName << "\n" << manifest->text;
      }
    }
    exitCode = 0;
  });
}

void registerPreflight(CLI::App* group, int& exitCode) {
  auto o = std::make_shared<FleetOptions>();
  auto noHostCheck = std::make_shared<bool>(false);
  auto timing = std::make_shared<bool>(false);
  auto runs = std::make_shared<int>(1);
  auto* cmd = group->add_subcommand("preflight",
                                    "Run every preflight check; exit 1 when any finding is an error (docs/fleet.md)");
  cmd->add_flag("--no-host-check", *noHostCheck, "Do not bind-test gateway ports on this host");
  cmd->add_flag("--timing", *timing, "Report load, render and preflight times (ms)");
  cmd->add_option("--runs", *runs, "With --timing: repeat N times and report medians")->check(CLI::Range(1, 1000));
  addFleetCommonOptions(cmd, o);
  cmd->callback([o, noHostCheck, timing, runs, &exitCode] {
    std::vector<double> loadMs, renderMs, preflightMs, totalMs, renderPreflightCpuMs;
    std::optional<fleet::EffectiveFleet> fleet;
    fleet::PreflightReport report;
    fleet::PreflightOptions options;
    options.checkHostPorts = !*noHostCheck;
    for (int i = 0; i < (*timing ? *runs : 1); ++i) {
      auto start = std::chrono::steady_clock::now();
      fleet = loadFleetInventory(*o, exitCode);
      if (!fleet) return;
      loadMs.push_back(msSince(start));
      auto t1 = std::chrono::steady_clock::now();
      double cpu1 = cpuMs();
      auto renders = fleet::renderFleet(*fleet);
      renderMs.push_back(msSince(t1));
      auto t2 = std::chrono::steady_clock::now();
      report = fleet::runPreflight(*fleet, renders, options);
      preflightMs.push_back(msSince(t2));
      renderPreflightCpuMs.push_back(cpuMs() - cpu1);
      totalMs.push_back(msSince(start));
    }
    if (o->json) {
      json::object j = report.toJson();
      if (*timing) {
        json::object t;
        t["runs"] = *runs;
        t["gateways"] = fleet->inventory().gateways().size();
        t["agents"] = fleet->inventory().agents().size();
        t["loadMs"] = median(loadMs);
        t["renderMs"] = median(renderMs);
        t["preflightMs"] = median(preflightMs);
        t["renderPlusPreflightMs"] = median(renderMs) + median(preflightMs);
        t["renderPlusPreflightCpuMs"] = median(renderPreflightCpuMs);
        t["totalMs"] = median(totalMs);
        j["timing"] = std::move(t);
      }
      printJson(j);
    } else {
      std::vector<std::vector<std::string>> rows;
      for (const auto& f : report.findings) {
        rows.push_back(
            {f.isError() ? "error" : "warning", f.id, joined(f.objects), fleetSourceWhere(f.location), f.message});
      }
      if (!rows.empty()) {
        printTable({"SEVERITY", "ID", "OBJECTS", "SOURCE", "MESSAGE"}, rows);
        std::cout << "\nfixes:\n";
        for (const auto& f : report.findings)
          std::cout << "  " << f.id << " (" << joined(f.objects) << "): " << f.fix << "\n";
      }
      std::cout << (report.ok() ? "preflight passed" : "preflight failed") << ": " << report.errorCount()
                << " error(s), " << report.warningCount() << " warning(s)\n";
      if (*timing) {
        std::cout << "timing (median of " << *runs << ", " << fleet->inventory().gateways().size() << " gateways, "
                  << fleet->inventory().agents().size() << " agents): load " << median(loadMs) << " ms, render "
                  << median(renderMs) << " ms, preflight " << median(preflightMs) << " ms, render+preflight "
                  << median(renderMs) + median(preflightMs) << " ms (CPU " << median(renderPreflightCpuMs) << " ms)\n";
      }
    }
    exitCode = report.ok() ? 0 : 1;
  });
}

void registerRoutes(CLI::App* group, int& exitCode) {
  auto o = std::make_shared<FleetOptions>();
  auto* cmd = group->add_subcommand("routes", "The effective routing table across gateways");
  addFleetCommonOptions(cmd, o);
  cmd->callback([o, &exitCode] {
    auto fleet = loadFleetInventory(*o, exitCode);
    if (!fleet) return;
    auto routes = fleet::routingTable(*fleet);
    if (o->json) {
      json::array a;
      for (const auto& r : routes) a.push_back(fleet::routeToJson(r));
      printJson(a);
    } else {
      std::vector<std::vector<std::string>> rows;
      for (const auto& r : routes) {
        rows.push_back({r.gateway, r.channel, r.accountId.empty() ? "(default)" : r.accountId,
                        r.peer.empty() ? "-" : r.peer, r.tier, r.agentId,
                        r.implied ? "accounts (" + fleetSourceWhere(r.location) + ")" : fleetSourceWhere(r.location)});
      }
      printTable({"GATEWAY", "CHANNEL", "ACCOUNT", "PEER", "TIER", "AGENT", "SOURCE"}, rows);
    }
    exitCode = 0;
  });
}

void registerPolicy(CLI::App* group, int& exitCode) {
  auto o = std::make_shared<FleetOptions>();
  auto agent = std::make_shared<std::string>();
  auto* cmd = group->add_subcommand("policy", "An agent's effective policy and the decision for everything it uses");
  cmd->add_option("agent", *agent, "Agent id")->required();
  addFleetCommonOptions(cmd, o);
  cmd->callback([o, agent, &exitCode] {
    auto fleet = loadFleetInventory(*o, exitCode);
    if (!fleet) return;
    const fleet::Agent* a = fleet->inventory().findAgent(*agent);
    if (a == nullptr) {
      exitCode = reportError(Error(ErrorCode::kNotFound, "no agent \"" + *agent + "\" in the inventory"));
      return;
    }
    auto policy = fleet::evaluateAgentPolicy(*fleet, static_cast<std::size_t>(a - fleet->inventory().agents().data()));
    if (o->json) {
      printJson(policy.toJson());
    } else {
      std::cout << "agent " << policy.agentId << " on gateway " << policy.gatewayId
                << "; effective policy: " << toJson(policy.effective) << "\n";
      std::vector<std::vector<std::string>> rows;
      for (const auto& d : policy.decisions) {
        rows.push_back({d.category, d.item, d.usedBy, d.tier.empty() ? "-" : d.tier,
                        d.allowed ? (d.deprecated ? "allowed (deprecated)" : "allowed") : "denied",
                        d.reason.empty() ? "-" : d.reason, fleetSourceWhere(d.location)});
      }
      printTable({"CATEGORY", "ITEM", "USED BY", "TIER", "DECISION", "REASON", "SOURCE"}, rows);
    }
    exitCode = 0;
  });
}

}  // namespace

void registerFleetCommands(CLI::App& app, int& exitCode) {
  auto* group = app.add_subcommand("fleet", "Manage an organisation's gateways from one inventory (docs/fleet.md)");
  group->require_subcommand(1);
  registerValidate(group, exitCode);
  registerExplain(group, exitCode);
  registerRender(group, exitCode);
  registerPreflight(group, exitCode);
  registerRoutes(group, exitCode);
  registerPolicy(group, exitCode);
  registerFleetDeployCommands(group, exitCode);
}

}  // namespace talon::cli
