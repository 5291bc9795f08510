// talon fleet serve|keys|usage: the model proxy that keeps provider keys with the control plane
// (docs/fleet.md "Model proxy"), its gateways' virtual keys and the usage it recorded. `serve` also checks
// drift on an interval (modelProxy.driftIntervalSeconds) and raises a health record, an audit record and a
// stderr line when a gateway changes to drifted; and, with a `backups` section, takes the scheduled
// backups, deletes expired ones and re-verifies them all (docs/fleet.md "Backup schedule and recovery
// targets"). Either section alone is enough to serve.
#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <iostream>
#include <set>
#include <thread>

#include "base/clock.h"
#include "base/file_io.h"
#include "cli/commands_fleet.h"
#include "cli/commands_fleet_deploy.h"
#include "cli/output.h"
#include "config/environment.h"
#include "fleet/backup_schedule.h"
#include "fleet/drift.h"
#include "fleet/fleet_alerts.h"
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

void serveAudit(const LoadedFleet& loaded, std::string kind, std::string target, bool ok, json::object details) {
  security::AuditEvent event;
  event.kind = std::move(kind);
  event.actor = "system";
  event.target = std::move(target);
  event.outcome = ok ? security::AuditOutcome::kAllowed : security::AuditOutcome::kFailed;
  event.details = std::move(details);
  auditFleetAction(loaded.stateDir, std::move(event), 0);
}

/// Reports each delivery of alert `key`: a stderr line and a `fleet.alert` audit record (target, key, outcome;
/// never the secret).
void serveReportAlert(const LoadedFleet& loaded, const std::string& key, const std::string& type,
                      const std::vector<fleet::FleetAlertDelivery>& deliveries) {
  for (const auto& d : deliveries) {
    if (d.delivered) {
      std::cerr << "fleet serve: alert " << type << " " << key << " sent to " << d.target << "\n";
    } else {
      std::cerr << "fleet serve: alert " << type << " " << key << " to " << d.target << " FAILED after " << d.attempts
                << " attempt(s): " << d.error << "\n";
    }
    json::object details{{"key", key}, {"type", type}, {"attempts", d.attempts}, {"status", d.status}};
    if (!d.error.empty()) details["error"] = d.error;
    serveAudit(loaded, "fleet.alert", "alert-target:" + d.target, d.delivered, std::move(details));
  }
}

/// Fires `alert` (when it is not open yet) and reports the deliveries; a null `alerts` sends nothing.
void serveFire(const LoadedFleet& loaded, fleet::FleetAlerts* alerts, fleet::FleetAlert alert) {
  if (alerts == nullptr) return;
  alert.fields["organisation"] = loaded.fleet->inventory().organisation().id;
  alert.ts = SystemClock::instance()->nowMs();
  std::string key = alert.key;
  serveReportAlert(loaded, key, "alert.firing", alerts->fire(std::move(alert)));
}

/// Resolves incident `key` (when it is open) and reports the deliveries.
void serveResolve(const LoadedFleet& loaded, fleet::FleetAlerts* alerts, const std::string& key,
                  const std::string& title, const std::string& text) {
  if (alerts == nullptr) return;
  serveReportAlert(loaded, key, "alert.resolved", alerts->resolve(key, title, text, SystemClock::instance()->nowMs()));
}

/// The deploy context of serve's periodic work: the fleet state dir (the ssh provider's connection sockets),
/// a 10 s wait, progress lines on stderr marked as serve's.
fleet::DeployContext serveDeployContext(const LoadedFleet& loaded) {
  FleetDeployOptions d;
  d.timeoutSeconds = 10;
  auto context = deployContext(loaded.stateDir, d, true);
  context.progress = [](const std::string& line) { std::cerr << "fleet serve: " << line << std::endl; };
  return context;
}

/// One drift check of `serve`: the health record (served and written to <stateDir>/proxy/health.json), and
/// for each gateway that changed to drifted a stderr line and a `fleet.drift` audit record.
json::object serveDriftCheck(const LoadedFleet& loaded, std::map<std::string, fleet::DriftState>& previous,
                             fleet::FleetAlerts* alerts) {
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
    return health;
  }
  // Reached as `talon fleet drift` reaches them: an ssh gateway through a port forward over its connection.
  auto context = serveDeployContext(loaded);
  auto drift = fleet::fleetDrift(gateways, *applied, config::processEnvironment(), TALON_VERSION,
                                 std::chrono::milliseconds(10'000), unitsGatewayReach(loaded, context),
                                 unitsConfigDigest(loaded, context));
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
    fleet::FleetAlert alert;
    alert.key = "fleet:drift/" + d->id;
    alert.title = "gateway " + d->id + " drifted (" + what + ")";
    alert.text = d->detail;
    alert.fields = {{"gateway", d->id}, {"drifted", what}};
    serveFire(loaded, alerts, std::move(alert));
  }
  for (const auto& d : drift) {
    if (d.state == fleet::DriftState::kInSync)
      serveResolve(loaded, alerts, "fleet:drift/" + d.id, "gateway " + d.id + " is in sync again",
                   "it runs its applied revision again");
  }
  previous.clear();
  for (const auto& d : drift) previous[d.id] = d.state;
  return health;
}

/// What `serve` last found: the drift check's record and the backup schedule's, published together to
/// <stateDir>/proxy/health.json and GET /fleet/health.
struct ServeHealth {
  std::optional<json::object> drift;
  std::optional<json::object> backups;
};

void publishServeHealth(const LoadedFleet& loaded, const ServeHealth& h, fleet::ModelProxy* proxy) {
  json::object health;
  if (h.drift) health = *h.drift;  // the drift record's keys stay at the top level, as before
  if (h.backups) health["backups"] = *h.backups;
  std::error_code ec;
  std::filesystem::create_directories(loaded.stateDir / "proxy", ec);  // serve without a proxy has no ledger dir
  if (auto s = writeFileAtomic(loaded.stateDir / "proxy" / "health.json", toPrettyJson(health), 0600); !s)
    std::cerr << "fleet serve: health record not written: " << s.error().message << "\n";
  if (proxy != nullptr) proxy->setHealth(std::move(health));
}

/// The backup schedule's state between ticks.
struct ServeBackupState {
  int64_t lastVerifyMs = 0;  // 0: never (verified on the first tick)
  int64_t lastBackupMs = 0;
  std::size_t checked = 0;
  std::set<std::pair<int64_t, std::string>> failing;  // backups whose last verification failed
  std::string lastError;
};

/// One tick of the backup schedule (docs/fleet.md "Backup schedule and recovery targets"): a scheduled
/// backup of every applied gateway that is due, the retention of scheduled backups, and the integrity
/// check of every backup when it is due. Returns the record for /fleet/health.
json::object serveBackupTick(const LoadedFleet& loaded, const fleet::BackupSettings& settings, ServeBackupState& st,
                             fleet::FleetAlerts* alerts) {
  const int64_t now = SystemClock::instance()->nowMs();
  auto record = [&](std::string status) {
    json::object h{{"status", std::move(status)},
                   {"intervalHours", settings.intervalHours},
                   {"keep", settings.keep},
                   {"verifyIntervalHours", settings.verifyIntervalHours},
                   {"backupsChecked", st.checked}};
    if (st.lastBackupMs > 0) h["lastBackupAt"] = formatRfc3339Ms(st.lastBackupMs);
    if (st.lastVerifyMs > 0) h["lastVerifiedAt"] = formatRfc3339Ms(st.lastVerifyMs);
    json::array failing;
    for (const auto& [id, gateway] : st.failing) failing.push_back(json::object{{"backup", id}, {"gateway", gateway}});
    h["failing"] = std::move(failing);
    if (!st.lastError.empty()) h["error"] = st.lastError;
    return h;
  };
  auto revisions = fleet::RevisionStore::open(loaded.stateDir);
  if (!revisions) {
    st.lastError = revisions.error().message;
    std::cerr << "fleet serve: backups: " << st.lastError << "\n";
    return record("error");
  }
  // An apply, restore, rollout or drill holds the lock: try again on the next tick.
  auto lock = (*revisions)->lock();
  if (!lock) {
    std::cerr << "fleet serve: backups postponed: " << lock.error().message << "\n";
    return record(st.failing.empty() && st.lastError.empty() ? "ok" : "failed");
  }
  auto applied = (*revisions)->lastApplied();
  auto store = fleet::BackupStore::open(loaded.stateDir);
  auto existing = store ? (*store)->list() : Result<std::vector<fleet::GatewayBackup>>(fail(store.error()));
  if (!applied || !existing) {
    st.lastError = !applied ? applied.error().message : existing.error().message;
    std::cerr << "fleet serve: backups: " << st.lastError << "\n";
    return record("error");
  }
  st.lastError.clear();

  // Only gateways that were applied have a deployed config and state to back up.
  std::vector<std::string> ids;
  for (const auto& u : loaded.units) {
    if (applied->count(u.target.id) != 0) ids.push_back(u.target.id);
  }
  auto due = fleet::gatewaysDueForBackup(*existing, ids, now, settings);
  if (!due.empty()) {
    std::vector<fleet::DeployTarget> targets;
    for (const auto& u : loaded.units) {
      if (std::find(due.begin(), due.end(), u.target.id) != due.end()) targets.push_back(u.target);
    }
    // An ssh gateway's files are read over its connection, as `talon fleet backup` reads them.
    std::map<std::string, fleet::Deployer*> deployers;
    for (const auto& u : loaded.units) deployers[u.target.id] = u.deployer.get();
    auto context = serveDeployContext(loaded);
    auto taken = fleet::backupGateways(
        **store, targets, *applied, "scheduled", now,
        [](const std::string& line) { std::cerr << "fleet serve: " << line << "\n"; }, deployers, &context);
    json::array gateways;
    for (const auto& g : due) gateways.push_back(json::string(g));
    if (!taken) {
      st.lastError = "scheduled backup failed: " + taken.error().message;
      std::cerr << "fleet serve: " << st.lastError << "\n";
      serveAudit(loaded, "fleet.backup", "schedule", false,
                 json::object{{"reason", taken.error().message}, {"gateways", std::move(gateways)}});
      fleet::FleetAlert alert;
      alert.key = "fleet:backup-schedule";
      alert.title = "a scheduled backup failed";
      alert.text = taken.error().message;
      serveFire(loaded, alerts, std::move(alert));
    } else {
      st.lastBackupMs = now;
      serveResolve(loaded, alerts, "fleet:backup-schedule", "scheduled backups succeed again",
                   "backup " + std::to_string(taken->front().id) + " was taken");
      serveAudit(loaded, "fleet.backup", "backup:" + std::to_string(taken->front().id), true,
                 json::object{{"reason", "scheduled"}, {"gateways", std::move(gateways)}});
    }
    existing = (*store)->list();
    if (!existing) {
      st.lastError = existing.error().message;
      return record("error");
    }
  }
  for (const auto& [id, gateway] : fleet::expiredScheduledBackups(*existing, settings.keep)) {
    if (auto s = (*store)->remove(id, gateway); !s) {
      st.lastError = "cannot delete expired backup " + std::to_string(id) + " of " + gateway + ": " + s.error().message;
      std::cerr << "fleet serve: " << st.lastError << "\n";
      continue;
    }
    std::cerr << "fleet serve: deleted expired scheduled backup " << id << " of " << gateway << " (keep "
              << settings.keep << ")\n";
    serveAudit(loaded, "fleet.backup.prune", "backup:" + std::to_string(id), true,
               json::object{{"gateway", gateway}, {"keep", settings.keep}});
    if (st.failing.erase({id, gateway}) != 0)
      serveResolve(loaded, alerts, "fleet:backup-integrity/" + std::to_string(id) + "/" + gateway,
                   "backup " + std::to_string(id) + " of gateway " + gateway + " no longer fails", "it was deleted");
  }
  // Verifying only reads (and only serve deletes backups): an apply or restore need not wait for it.
  lock->reset();
  if (st.lastVerifyMs == 0 || now - st.lastVerifyMs >= int64_t{settings.verifyIntervalHours} * 3'600'000) {
    std::size_t checked = 0;
    auto broken = fleet::verifyAllBackups(**store, checked);
    if (!broken) {
      st.lastError = "backups not verified: " + broken.error().message;
      std::cerr << "fleet serve: " << st.lastError << "\n";
    } else {
      st.lastVerifyMs = now;
      st.checked = checked;
      std::set<std::pair<int64_t, std::string>> failing;
      for (const auto& b : *broken) {
        failing.insert({b.id, b.gateway});
        if (st.failing.count({b.id, b.gateway}) != 0) continue;  // reported already
        std::cerr << "fleet serve: backup " << b.id << " of " << b.gateway << " FAILED its integrity check ("
                  << b.problems.size() << " problem(s), first: " << b.problems.front().path << ": "
                  << b.problems.front().message << ")\n";
        json::array problems;
        for (const auto& p : b.problems) problems.push_back(json::object{{"path", p.path}, {"message", p.message}});
        serveAudit(loaded, "fleet.backup.integrity", "backup:" + std::to_string(b.id), false,
                   json::object{{"gateway", b.gateway}, {"problems", std::move(problems)}});
        fleet::FleetAlert alert;
        alert.key = "fleet:backup-integrity/" + std::to_string(b.id) + "/" + b.gateway;
        alert.title = "backup " + std::to_string(b.id) + " of gateway " + b.gateway + " fails its integrity check";
        alert.text = std::to_string(b.problems.size()) + " problem(s), first: " + b.problems.front().path + ": " +
                     b.problems.front().message;
        alert.fields = {{"gateway", b.gateway}, {"backup", std::to_string(b.id)}};
        serveFire(loaded, alerts, std::move(alert));
      }
      for (const auto& [id, gateway] : st.failing) {
        if (failing.count({id, gateway}) == 0)
          serveResolve(loaded, alerts, "fleet:backup-integrity/" + std::to_string(id) + "/" + gateway,
                       "backup " + std::to_string(id) + " of gateway " + gateway + " no longer fails",
                       "it verifies again, or it was deleted");
      }
      st.failing = std::move(failing);
    }
  }
  return record(st.failing.empty() && st.lastError.empty() ? "ok" : "failed");
}

/// The model proxy's upstream keys from the environment, or the error naming the missing variables.
Result<std::map<std::string, std::string>> serveUpstreamKeys(const fleet::ModelProxySettings& settings) {
  config::Environment env = config::processEnvironment();
  std::map<std::string, std::string> keys;
  std::string missing;
  for (const auto& [id, provider] : settings.providers) {
    const std::string* value = config::findEnv(env, provider.apiKeyVariable);
    if (value == nullptr || value->empty()) {
      missing += (missing.empty() ? "" : ", ") + provider.apiKeyVariable + " (provider " + id + ")";
    } else {
      keys[id] = *value;
    }
  }
  if (!missing.empty()) return fail(ErrorCode::kFailedPrecondition, "the upstream keys are not set: " + missing);
  return keys;
}

void registerServe(CLI::App* group, int& exitCode) {
  auto o = std::make_shared<FleetOptions>();
  auto d = std::make_shared<FleetDeployOptions>();
  auto listen = std::make_shared<std::string>();
  auto* cmd = group->add_subcommand(
      "serve",
      "Run the model proxy (virtual keys, model policy, spending limits, usage), drift checks and the "
      "backup schedule (scheduled backups, retention, integrity checks)");
  cmd->add_option("--listen", *listen, "ADDR:PORT to listen on (default: modelProxy.listen)");
  addStateDirOption(cmd, d);
  addFleetCommonOptions(cmd, o);
  cmd->callback([o, d, listen, &exitCode] {
    auto loaded = loadForDeploy(*o, *d, exitCode);
    if (!loaded) return;
    const auto& settings = loaded->fleet->inventory().modelProxy();
    const auto& backupSettings = loaded->fleet->inventory().backups();
    if (!settings && !backupSettings) {
      exitCode = reportFleetError(Error(ErrorCode::kInvalidArgument,
                                        "the inventory has neither a modelProxy nor a backups section: nothing to "
                                        "serve (docs/fleet.md \"Model proxy\", \"Backup schedule and recovery "
                                        "targets\")"));
      return;
    }
    std::optional<std::pair<std::string, int>> where;
    std::map<std::string, std::string> keys;
    std::optional<std::shared_ptr<fleet::ProxyLedger>> ledger;
    if (settings) {
      std::string address = listen->empty() ? settings->listen : *listen;
      where = fleet::parseListenAddress(address);
      if (!where) {
        exitCode =
            reportFleetError(Error(ErrorCode::kInvalidArgument, "--listen \"" + address + "\" is not ADDR:PORT"));
        return;
      }
      auto upstream = serveUpstreamKeys(*settings);
      if (!upstream) {
        exitCode = reportFleetError(upstream.error());
        return;
      }
      keys = std::move(*upstream);
      ledger = openLedger(loaded->stateDir, exitCode);
      if (!ledger) return;
    } else if (!listen->empty()) {
      exitCode = reportFleetError(
          Error(ErrorCode::kInvalidArgument, "--listen needs a modelProxy section: without one, serve runs no proxy"));
      return;
    }

    // SIGINT/SIGTERM (stop) and SIGHUP (reload) are taken by sigtimedwait below: block them before any
    // thread starts.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    boost::asio::io_context io;
    auto work = boost::asio::make_work_guard(io);
    std::vector<std::thread> threads;
    std::unique_ptr<fleet::ModelProxy> proxy;
    json::object started;
    if (settings) {
      fleet::ModelProxyOptions options;
      options.bindAddress = where->first;
      options.port = static_cast<uint16_t>(where->second);
      options.fleet = std::make_shared<const fleet::EffectiveFleet>(*loaded->fleet);
      options.upstreamKeys = std::move(keys);
      options.ledger = *ledger;
      options.clock = std::make_shared<SystemClock>();
      auto created = fleet::ModelProxy::create(io, std::move(options));
      if (!created) {
        exitCode = reportFleetError(created.error());
        return;
      }
      proxy = std::move(*created);
      for (int i = 0; i < 2; ++i) threads.emplace_back([&io] { io.run(); });
      std::string bound = where->first + ":" + std::to_string(proxy->port());
      started = json::object{{"listening", bound}, {"url", settings->baseUrl()}};
      if (!o->json)
        std::cout << "fleet serve: listening on " << bound << " (gateways reach it at " << settings->baseUrl() << ")"
                  << std::endl;
    }
    if (backupSettings) {
      started["backups"] = json::object{{"intervalHours", backupSettings->intervalHours},
                                        {"keep", backupSettings->keep},
                                        {"verifyIntervalHours", backupSettings->verifyIntervalHours}};
      if (!o->json)
        std::cout << "fleet serve: backups every " << backupSettings->intervalHours << " h, keeping "
                  << backupSettings->keep << " per gateway, verified every " << backupSettings->verifyIntervalHours
                  << " h" << std::endl;
    }
    if (o->json) std::cout << json::serialize(started) << std::endl;

    // One tick a minute at most: drift is checked every modelProxy.driftIntervalSeconds, backups are looked at
    // every tick (each gateway is backed up when its newest backup is intervalHours old). The sections are
    // read from `loaded` at each tick: a reload (SIGHUP) replaces it.
    std::unique_ptr<fleet::FleetAlerts> alerts;
    auto configureAlerts = [&] {
      const auto& alertSettings = loaded->fleet->inventory().alerts();
      fleet::FleetAlertSettings targets = alertSettings ? *alertSettings : fleet::FleetAlertSettings{};
      if (alerts) {
        alerts->replaceSettings(std::move(targets));  // open incidents stay open
      } else {
        alerts = std::make_unique<fleet::FleetAlerts>(
            std::move(targets), [](const std::string& name) { return processEnvironmentValue(name); },
            [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); });
      }
    };
    configureAlerts();
    std::map<std::string, fleet::DriftState> previous;
    ServeHealth health;
    ServeBackupState backupState;
    int64_t lastDriftMs = 0;
    for (;;) {
      const auto& proxySettings = loaded->fleet->inventory().modelProxy();
      const auto& schedule = loaded->fleet->inventory().backups();
      const int driftInterval = proxySettings ? proxySettings->driftIntervalSeconds : 0;
      const int tick = proxySettings ? std::min(driftInterval, 60) : 60;
      const int64_t now = SystemClock::instance()->nowMs();
      fleet::FleetAlerts* sink = alerts->hasTargets() ? alerts.get() : nullptr;
      if (proxySettings && (lastDriftMs == 0 || now - lastDriftMs >= int64_t{driftInterval} * 1000 - 500)) {
        lastDriftMs = now;
        health.drift = serveDriftCheck(*loaded, previous, sink);
      }
      if (!proxySettings) health.drift.reset();
      if (schedule) {
        health.backups = serveBackupTick(*loaded, *schedule, backupState, sink);
      } else {
        health.backups.reset();
      }
      publishServeHealth(*loaded, health, proxy.get());
      const timespec interval{tick, 0};
      int sig = sigtimedwait(&signals, nullptr, &interval);
      if (sig == SIGINT || sig == SIGTERM) break;
      if (sig != SIGHUP) continue;
      // Reload: the inventory is read again; what it changes takes effect now, except the proxy's listen
      // address and whether a proxy runs at all (those need a restart). A reload that fails keeps everything.
      int reloadCode = 0;
      auto reloaded = loadForDeploy(*o, *d, reloadCode);
      if (!reloaded) {
        std::cerr << "fleet serve: reload refused (exit code " << reloadCode
                  << "): still serving the inventory read before\n";
        continue;
      }
      const auto& next = reloaded->fleet->inventory().modelProxy();
      if (static_cast<bool>(next) != static_cast<bool>(proxy)) {
        std::cerr << "fleet serve: reload refused: " << (proxy ? "removing" : "adding")
                  << " the modelProxy section needs a restart of fleet serve\n";
        continue;
      }
      if (!next && !reloaded->fleet->inventory().backups()) {
        std::cerr << "fleet serve: reload refused: the inventory has neither a modelProxy nor a backups section\n";
        continue;
      }
      if (proxy) {
        auto upstream = serveUpstreamKeys(*next);
        Status swapped = upstream ? proxy->reload(std::make_shared<const fleet::EffectiveFleet>(*reloaded->fleet),
                                                  std::move(*upstream))
                                  : Status(fail(upstream.error()));
        if (!swapped) {
          std::cerr << "fleet serve: reload refused: " << swapped.error().message << "\n";
          continue;
        }
        if (listen->empty() && next->listen != proxySettings->listen)
          std::cerr << "fleet serve: modelProxy.listen changed to " << next->listen
                    << ": the proxy keeps listening where it is until fleet serve restarts\n";
      }
      loaded = std::move(reloaded);
      configureAlerts();
      lastDriftMs = 0;  // check drift against the new inventory at once
      std::cerr << "fleet serve: reloaded " << loaded->fleet->inventory().path().string() << "\n";
      serveAudit(*loaded, "fleet.serve.reload", "fleet", true, json::object{});
    }
    std::cerr << "fleet serve: stopping\n";
    if (proxy) proxy->stop();
    work.reset();
    io.stop();
    for (auto& t : threads) t.join();
    exitCode = 0;
  });
}

void registerKeys(CLI::App* group, int& exitCode) {
  auto* keys = group->add_subcommand("keys",
                                     "The model proxy's virtual keys (one per gateway, or per agent with attribution "
                                     "\"agent\")");
  keys->require_subcommand(1);

  auto lo = std::make_shared<FleetOptions>();
  auto ld = std::make_shared<FleetDeployOptions>();
  auto* list =
      keys->add_subcommand("list", "The virtual keys: id, gateway, agent, prefix, created, revoked (never a key)");
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
        rows.push_back({k.keyId, k.gateway, k.agent.value_or("-"), "tfk_" + k.prefix + "…", formatRfc3339(k.createdMs),
                        k.revokedMs ? formatRfc3339(*k.revokedMs) : "-"});
      }
      printTable({"KEY", "GATEWAY", "AGENT", "PREFIX", "CREATED", "REVOKED"}, rows);
    }
    exitCode = 0;
  });

  for (const char* name : {"issue", "revoke"}) {
    auto o = std::make_shared<FleetOptions>();
    auto d = std::make_shared<FleetDeployOptions>();
    auto gateway = std::make_shared<std::string>();
    auto agent = std::make_shared<std::string>();
    auto actor = std::make_shared<std::string>();
    bool issue = std::string_view(name) == "issue";
    auto* cmd = keys->add_subcommand(
        name, issue ? "Issue a gateway's (or one of its agents') virtual key (printed once; revokes that holder's "
                      "earlier key)"
                    : "Revoke a gateway's virtual keys (its own and its agents'), or one agent's: the proxy "
                      "refuses them at once (401)");
    cmd->add_option("gateway", *gateway, "Gateway id")->required();
    cmd->add_option(
        "--agent", *agent,
        issue ? "The key is the agent's (modelProxy.attribution \"agent\")" : "Revoke only this agent's key");
    cmd->add_option("--actor", *actor, "Who acts (audit; default: the OS user)");
    addStateDirOption(cmd, d);
    addFleetCommonOptions(cmd, o);
    cmd->callback([o, d, gateway, agent, actor, issue, &exitCode] {
      auto fleet = loadFleetInventory(*o, exitCode);
      if (!fleet) return;
      if (fleet->inventory().findGateway(*gateway) == nullptr) {
        exitCode = reportFleetError(Error(ErrorCode::kNotFound, "unknown gateway \"" + *gateway + "\""));
        return;
      }
      std::optional<std::string> agentId;
      if (!agent->empty()) {
        // A key is issued only to an agent of the gateway; one of an agent since removed or moved can still
        // be revoked.
        const fleet::Agent* a = fleet->inventory().findAgent(*agent);
        if (issue && (a == nullptr || a->gateway != *gateway)) {
          exitCode = reportFleetError(
              Error(ErrorCode::kNotFound, a == nullptr ? "unknown agent \"" + *agent + "\""
                                                       : "agent \"" + *agent + "\" is on gateway \"" + a->gateway +
                                                             "\", not \"" + *gateway + "\""));
          return;
        }
        agentId = *agent;
      }
      std::filesystem::path stateDir = deployStateDir(*o, *d);
      auto ledger = openLedger(stateDir, exitCode);
      if (!ledger) return;
      SystemClock clock;
      security::AuditEvent event;
      event.kind = issue ? "fleet.keys.issue" : "fleet.keys.revoke";
      event.actor = "cli:" + (actor->empty() ? osUserName() : *actor);
      event.target = agentId ? "agent:" + *agentId : "gateway:" + *gateway;
      const std::string holder = agentId ? "agent " + *agentId + " of " + *gateway : *gateway;
      if (issue) {
        auto issued = (*ledger)->issue(*gateway, clock.nowMs(), agentId);
        if (!issued) {
          exitCode = reportFleetError(issued.error());
          return;
        }
        event.details = issued->info.toJson();
        std::string variable =
            agentId ? fleet::proxyKeyVariable(*gateway, *agentId) : fleet::proxyKeyVariable(*gateway);
        if (o->json) {
          json::object j = issued->info.toJson();
          j["key"] = issued->key;
          j["variable"] = variable;
          printJson(j);
        } else {
          std::cout << issued->key << "\n";
          std::cerr << "Issued " << issued->info.keyId << " for " << holder
                    << ". It is shown only now: give it to the gateway as " << variable << ".\n";
        }
        const auto& proxy = fleet->inventory().modelProxy();
        if (!proxy || !proxy->usedBy(*gateway)) {
          std::cerr << "note: " << *gateway << " is not in modelProxy.gateways: its render does not use the proxy\n";
        } else if (agentId && proxy->attribution != fleet::ProxyAttribution::kAgent) {
          std::cerr << "note: modelProxy.attribution is not \"agent\": the render references the gateway's key, not "
                    << variable << "\n";
        } else if (!agentId && proxy->attribution == fleet::ProxyAttribution::kAgent) {
          std::cerr << "note: modelProxy.attribution is \"agent\": the render references its agents' keys "
                       "(keys issue "
                    << *gateway << " --agent ID), not " << variable << "\n";
        }
      } else {
        auto revoked = (*ledger)->revoke(*gateway, clock.nowMs(), agentId);
        if (!revoked) {
          exitCode = reportFleetError(revoked.error());
          return;
        }
        event.details["gateway"] = *gateway;
        if (agentId) event.details["agent"] = *agentId;
        event.details["revoked"] = *revoked;
        if (o->json) {
          json::object j{{"gateway", *gateway}, {"revoked", *revoked}};
          j["agent"] = agentId ? json::value(*agentId) : json::value(nullptr);
          printJson(j);
        } else {
          std::cout << "Revoked " << *revoked << " key" << (*revoked == 1 ? "" : "s") << " of " << holder << "\n";
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
  auto by = std::make_shared<std::string>("gateway");
  auto* cmd = group->add_subcommand("usage", "Model usage the proxy recorded, per gateway (or agent) and model");
  cmd->add_option("--since", *since, "today | month | all (UTC; default all)")
      ->check(CLI::IsMember({"today", "month", "all"}));
  cmd->add_option("--by", *by, "gateway | agent: sum per gateway and model, or per gateway, agent and model")
      ->check(CLI::IsMember({"gateway", "agent"}));
  addGatewayOption(cmd, d);
  addStateDirOption(cmd, d);
  addFleetCommonOptions(cmd, o);
  cmd->callback([o, d, since, by, &exitCode] {
    auto ledger = openLedger(deployStateDir(*o, *d), exitCode);
    if (!ledger) return;
    SystemClock clock;
    fleet::SpendWindows windows = fleet::spendWindowsAt(clock.nowMs());
    int64_t from = *since == "today" ? windows.dayStartMs : *since == "month" ? windows.monthStartMs : 0;
    const bool byAgent = *by == "agent";
    auto usage =
        (*ledger)->usage(d->gateway, from, byAgent ? fleet::UsageGrouping::kAgent : fleet::UsageGrouping::kGateway);
    if (!usage) {
      exitCode = reportFleetError(usage.error());
      return;
    }
    if (o->json) {
      json::array a;
      for (const auto& u : *usage) a.push_back(u.toJson(byAgent));
      printJson(json::object{{"since", *since}, {"by", *by}, {"usage", std::move(a)}});
    } else {
      std::vector<std::vector<std::string>> rows;
      for (const auto& u : *usage) {
        std::vector<std::string> row{u.gateway};
        if (byAgent) row.push_back(u.agent.value_or("-"));
        for (std::string cell : {u.model, std::to_string(u.requests), std::to_string(u.promptTokens),
                                 std::to_string(u.completionTokens), fmt::format("{:.6f}", u.costUsd)})
          row.push_back(std::move(cell));
        rows.push_back(std::move(row));
      }
      std::vector<std::string> header{"GATEWAY"};
      if (byAgent) header.push_back("AGENT");
      for (const char* h : {"MODEL", "REQUESTS", "PROMPT TOKENS", "COMPLETION TOKENS", "COST USD"}) header.push_back(h);
      printTable(header, rows);
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
