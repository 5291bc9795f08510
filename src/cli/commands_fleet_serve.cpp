// talon fleet serve|keys|usage: the model proxy that keeps provider keys with the control plane
// (docs/fleet.md "Model proxy"), its gateways' virtual keys and the usage it recorded. `serve` also checks
// drift on an interval (modelProxy.driftIntervalSeconds) and raises a health record, an audit record and a
// stderr line when a gateway changes to drifted.
#include <fmt/format.h>
#include <signal.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <iostream>
#include <thread>

#include "base/clock.h"
#include "base/file_io.h"
#include "cli/commands_fleet.h"
#include "cli/commands_fleet_deploy.h"
#include "cli/output.h"
#include "config/environment.h"
#include "fleet/drift.h"
#include "fleet/model_proxy.h"
#include "fleet/proxy_ledger.h"
#include "fleet/revision.h"

#ifndef TALON_VERSION
#define TALON_VERSION "0.1.0"
#endif

namespace talon::cli {

namespace {

std::optional<std::shared_ptr<fleet::ProxyLedger>> openLedger(const std::filesystem::path& stateDir, int& exitCode) {
  auto ledger = fleet::ProxyLedger::open(stateDir);
  if (!ledger) {
    exitCode = reportFleetError(ledger.error());
    return std::nullopt;
  }
  return std::shared_ptr<fleet::ProxyLedger>(std::move(*ledger));
}

/// One drift check of `serve`: the health record (served and written to <stateDir>/proxy/health.json), and
/// for each gateway that changed to drifted a stderr line and a `fleet.drift` audit record.
void serveDriftCheck(const LoadedFleet& loaded, fleet::ModelProxy& proxy,
                     std::map<std::string, fleet::DriftState>& previous) {
  std::vector<std::pair<std::string, std::string>> gateways;
  for (const auto& u : loaded.units) gateways.emplace_back(u.target.id, u.target.runtime);
  SystemClock clock;
  json::object health{{"checkedAt", formatRfc3339Ms(clock.nowMs())}};
  auto revisions = fleet::RevisionStore::open(loaded.stateDir);
  auto applied = revisions ? (*revisions)->lastApplied()
                           : Result<std::map<std::string, fleet::AppliedGateway>>(fail(revisions.error()));
  if (!applied) {
    std::cerr << "fleet serve: drift not checked: " << applied.error().message << "\n";
    health["status"] = "unknown";
    health["error"] = applied.error().message;
    proxy.setHealth(std::move(health));
    return;
  }
  auto drift = fleet::fleetDrift(gateways, *applied, config::processEnvironment(), TALON_VERSION,
                                 std::chrono::milliseconds(10'000));
  json::array list;
  int code = fleet::driftExitCode(drift);
  for (const auto& d : drift) list.push_back(d.toJson());
  health["status"] = code == 0 ? "in-sync" : code == 1 ? "drifted" : "unreachable";
  health["gateways"] = std::move(list);
  for (const fleet::GatewayDrift* d : fleet::newlyDrifted(previous, drift)) {
    std::string what;
    for (const auto& w : d->drifted) what += (what.empty() ? "" : ",") + w;
    std::cerr << "fleet serve: gateway " << d->id << " drifted (" << what << "): " << d->detail << "\n";
    security::AuditEvent event;
    event.kind = "fleet.drift";
    event.actor = "system";
    event.target = "gateway:" + d->id;
    event.outcome = security::AuditOutcome::kFailed;
    event.details = d->toJson();
    auditFleetAction(loaded.stateDir, std::move(event), 0);
  }
  previous.clear();
  for (const auto& d : drift) previous[d.id] = d.state;
  if (auto s = writeFileAtomic(loaded.stateDir / "proxy" / "health.json", toPrettyJson(health), 0600); !s)
    std::cerr << "fleet serve: health record not written: " << s.error().message << "\n";
  proxy.setHealth(std::move(health));
}

void registerServe(CLI::App* group, int& exitCode) {
  auto o = std::make_shared<FleetOptions>();
  auto d = std::make_shared<FleetDeployOptions>();
  auto listen = std::make_shared<std::string>();
  auto* cmd = group->add_subcommand(
      "serve", "Run the model proxy: virtual keys, model policy, spending limits, usage; and drift checks");
  cmd->add_option("--listen", *listen, "ADDR:PORT to listen on (default: modelProxy.listen)");
  addStateDirOption(cmd, d);
  addFleetCommonOptions(cmd, o);
  cmd->callback([o, d, listen, &exitCode] {
    auto loaded = loadForDeploy(*o, *d, exitCode);
    if (!loaded) return;
    const auto& settings = loaded->fleet->inventory().modelProxy();
    if (!settings) {
      exitCode = reportFleetError(Error(ErrorCode::kInvalidArgument,
                                        "the inventory has no modelProxy section (docs/fleet.md \"Model proxy\")"));
      return;
    }
    std::string address = listen->empty() ? settings->listen : *listen;
    auto where = fleet::parseListenAddress(address);
    if (!where) {
      exitCode = reportFleetError(Error(ErrorCode::kInvalidArgument, "--listen \"" + address + "\" is not ADDR:PORT"));
      return;
    }
    config::Environment env = config::processEnvironment();
    std::map<std::string, std::string> keys;
    std::string missing;
    for (const auto& [id, provider] : settings->providers) {
      const std::string* value = config::findEnv(env, provider.apiKeyVariable);
      if (value == nullptr || value->empty()) {
        missing += (missing.empty() ? "" : ", ") + provider.apiKeyVariable + " (provider " + id + ")";
      } else {
        keys[id] = *value;
      }
    }
    if (!missing.empty()) {
      exitCode = reportFleetError(Error(ErrorCode::kFailedPrecondition, "the upstream keys are not set: " + missing));
      return;
    }
    auto ledger = openLedger(loaded->stateDir, exitCode);
    if (!ledger) return;

    // SIGINT/SIGTERM are taken by sigtimedwait below: block them before any thread starts.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    boost::asio::io_context io;
    fleet::ModelProxyOptions options;
    options.bindAddress = where->first;
    options.port = static_cast<uint16_t>(where->second);
    options.fleet = std::make_shared<const fleet::EffectiveFleet>(*loaded->fleet);
    options.upstreamKeys = std::move(keys);
    options.ledger = *ledger;
    options.clock = std::make_shared<SystemClock>();
    auto proxy = fleet::ModelProxy::create(io, std::move(options));
    if (!proxy) {
      exitCode = reportFleetError(proxy.error());
      return;
    }
    auto work = boost::asio::make_work_guard(io);
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) threads.emplace_back([&io] { io.run(); });
    std::string bound = where->first + ":" + std::to_string((*proxy)->port());
    if (o->json) {
      std::cout << json::serialize(json::object{{"listening", bound}, {"url", settings->baseUrl()}}) << std::endl;
    } else {
      std::cout << "fleet serve: listening on " << bound << " (gateways reach it at " << settings->baseUrl() << ")"
                << std::endl;
    }

    std::map<std::string, fleet::DriftState> previous;
    const timespec interval{settings->driftIntervalSeconds, 0};
    for (;;) {
      serveDriftCheck(*loaded, **proxy, previous);
      if (sigtimedwait(&signals, nullptr, &interval) >= 0) break;  // SIGINT or SIGTERM
    }
    std::cerr << "fleet serve: stopping\n";
    (*proxy)->stop();
    work.reset();
    io.stop();
    for (auto& t : threads) t.join();
    exitCode = 0;
  });
}

void registerKeys(CLI::App* group, int& exitCode) {
  auto* keys = group->add_subcommand("keys", "The model proxy's virtual keys (one per gateway)");
  keys->require_subcommand(1);

  auto lo = std::make_shared<FleetOptions>();
  auto ld = std::make_shared<FleetDeployOptions>();
  auto* list = keys->add_subcommand("list", "The virtual keys: id, gateway, prefix, created, revoked (never a key)");
  addGatewayOption(list, ld);
  addStateDirOption(list, ld);
  addFleetCommonOptions(list, lo);
  list->callback([lo, ld, &exitCode] {
    auto ledger = openLedger(deployStateDir(*lo, *ld), exitCode);
    if (!ledger) return;
    auto all = (*ledger)->list(ld->gateway);
    if (!all) {
      exitCode = reportFleetError(all.error());
      return;
    }
    if (lo->json) {
      json::array a;
      for (const auto& k : *all) a.push_back(k.toJson());
      printJson(a);
    } else {
      std::vector<std::vector<std::string>> rows;
      for (const auto& k : *all) {
        rows.push_back({k.keyId, k.gateway, "tfk_" + k.prefix + "…", formatRfc3339(k.createdMs),
                        k.revokedMs ? formatRfc3339(*k.revokedMs) : "-"});
      }
      printTable({"KEY", "GATEWAY", "PREFIX", "CREATED", "REVOKED"}, rows);
    }
    exitCode = 0;
  });

  for (const char* name : {"issue", "revoke"}) {
    auto o = std::make_shared<FleetOptions>();
    auto d = std::make_shared<FleetDeployOptions>();
    auto gateway = std::make_shared<std::string>();
    auto actor = std::make_shared<std::string>();
    bool issue = std::string_view(name) == "issue";
    auto* cmd =
        keys->add_subcommand(name, issue ? "Issue a gateway's virtual key (printed once; revokes its earlier key)"
                                         : "Revoke a gateway's virtual key: the proxy refuses it at once (401)");
    cmd->add_option("gateway", *gateway, "Gateway id")->required();
    cmd->add_option("--actor", *actor, "Who acts (audit; default: the OS user)");
    addStateDirOption(cmd, d);
    addFleetCommonOptions(cmd, o);
    cmd->callback([o, d, gateway, actor, issue, &exitCode] {
      auto fleet = loadFleetInventory(*o, exitCode);
      if (!fleet) return;
      if (fleet->inventory().findGateway(*gateway) == nullptr) {
        exitCode = reportFleetError(Error(ErrorCode::kNotFound, "unknown gateway \"" + *gateway + "\""));
        return;
      }
      std::filesystem::path stateDir = deployStateDir(*o, *d);
      auto ledger = openLedger(stateDir, exitCode);
      if (!ledger) return;
      SystemClock clock;
      security::AuditEvent event;
      event.kind = issue ? "fleet.keys.issue" : "fleet.keys.revoke";
      event.actor = "cli:" + (actor->empty() ? osUserName() : *actor);
      event.target = "gateway:" + *gateway;
      if (issue) {
        auto issued = (*ledger)->issue(*gateway, clock.nowMs());
        if (!issued) {
          exitCode = reportFleetError(issued.error());
          return;
        }
        event.details = issued->info.toJson();
        std::string variable = fleet::proxyKeyVariable(*gateway);
        if (o->json) {
          json::object j = issued->info.toJson();
          j["key"] = issued->key;
          j["variable"] = variable;
          printJson(j);
        } else {
          std::cout << issued->key << "\n";
          std::cerr << "Issued " << issued->info.keyId << " for " << *gateway
                    << ". It is shown only now: give it to the gateway as " << variable << ".\n";
        }
        const auto& proxy = fleet->inventory().modelProxy();
        if (!proxy || !proxy->usedBy(*gateway))
          std::cerr << "note: " << *gateway << " is not in modelProxy.gateways: its render does not use the proxy\n";
      } else {
        auto revoked = (*ledger)->revoke(*gateway, clock.nowMs());
        if (!revoked) {
          exitCode = reportFleetError(revoked.error());
          return;
        }
        event.details["revoked"] = *revoked;
        if (o->json) {
          printJson(json::object{{"gateway", *gateway}, {"revoked", *revoked}});
        } else {
          std::cout << "Revoked " << *revoked << " key" << (*revoked == 1 ? "" : "s") << " of " << *gateway << "\n";
        }
      }
      exitCode = auditFleetAction(stateDir, std::move(event), 0);
    });
  }
}

void registerUsage(CLI::App* group, int& exitCode) {
  auto o = std::make_shared<FleetOptions>();
  auto d = std::make_shared<FleetDeployOptions>();
  auto since = std::make_shared<std::string>("all");
  auto* cmd = group->add_subcommand("usage", "Model usage the proxy recorded, per gateway and model");
  cmd->add_option("--since", *since, "today | month | all (UTC; default all)")
      ->check(CLI::IsMember({"today", "month", "all"}));
  addGatewayOption(cmd, d);
  addStateDirOption(cmd, d);
  addFleetCommonOptions(cmd, o);
  cmd->callback([o, d, since, &exitCode] {
    auto ledger = openLedger(deployStateDir(*o, *d), exitCode);
    if (!ledger) return;
    SystemClock clock;
    fleet::SpendWindows windows = fleet::spendWindowsAt(clock.nowMs());
    int64_t from = *since == "today" ? windows.dayStartMs : *since == "month" ? windows.monthStartMs : 0;
    auto usage = (*ledger)->usage(d->gateway, from);
    if (!usage) {
      exitCode = reportFleetError(usage.error());
      return;
    }
    if (o->json) {
      json::array a;
      for (const auto& u : *usage) a.push_back(u.toJson());
      printJson(json::object{{"since", *since}, {"usage", std::move(a)}});
    } else {
      std::vector<std::vector<std::string>> rows;
      for (const auto& u : *usage) {
        rows.push_back({u.gateway, u.model, std::to_string(u.requests), std::to_string(u.promptTokens),
                        std::to_string(u.completionTokens), fmt::format("{:.6f}", u.costUsd)});
      }
      printTable({"GATEWAY", "MODEL", "REQUESTS", "PROMPT TOKENS", "COMPLETION TOKENS", "COST USD"}, rows);
    }
    exitCode = 0;
  });
}

}  // namespace

void registerFleetServeCommands(CLI::App* group, int& exitCode) {
  registerServe(group, exitCode);
  registerKeys(group, exitCode);
  registerUsage(group, exitCode);
}

}  // namespace talon::cli
