#include "support/gateway_components.h"

#include <gtest/gtest.h>

#include <fstream>

#include "base/ids.h"
#include "config/config_loader.h"
#include "config/config_redaction.h"
#include "config/diagnostic.h"
#include "gateway/live_config.h"
#include "gateway/methods/health_methods.h"
#include "store/sqlite_store.h"

namespace talon::testing {

gateway::AgentRunnerOptions GatewayComponentsOptions::defaultRunnerOptions() {
  gateway::AgentRunnerOptions o;
  o.deltaPacing = std::chrono::milliseconds(0);
  o.deltaBytesPerSecond = 0;
  return o;
}

GatewayComponentsOptions GatewayComponentsOptions::forAutomations() {
  GatewayComponentsOptions o;
  o.runner.defaultTimeout = std::chrono::hours(24);
  return o;
}

GatewayComponents::GatewayComponents(GatewayComponentsOptions options) { build(std::move(options)); }

void GatewayComponents::build(GatewayComponentsOptions options) {
  config::LoadOptions load;
  load.env = config::Environment{};
  {
    std::ofstream file(dir / "talon.json", std::ios::binary | std::ios::trunc);
    file << options.configText;
  }
  load.configPath = dir / "talon.json";
  auto loaded = config::loadConfig(load);
  ASSERT_TRUE(loaded) << loaded.error().toString();
  config = std::make_shared<gateway::ConfigSnapshot>(*gateway::makeConfigSnapshot(*loaded));
  std::vector<std::filesystem::path> files{loaded->path};
  files.insert(files.end(), loaded->includedFiles.begin(), loaded->includedFiles.end());
  liveConfig = std::make_unique<gateway::LiveConfig>(config, files, gateway::LiveConfigOptions{load, clock, false},
                                                     healthRecords, bus);

  store::SqliteStoreOptions storeOptions;
  storeOptions.path = dir / "state" / "talon.sqlite";
  auto opened = store::openSqliteStore(storeOptions);
  ASSERT_TRUE(opened) << opened.error().toString();
  store = std::move(*opened);

  auto roster = gateway::routing::AgentRoster::fromConfig(config->config.agents);
  std::vector<gateway::AgentProfile> profiles;
  for (const auto& id : roster.agentIds()) {
    gateway::AgentProfile p;
    p.id = id;
    for (const auto& e : config->config.agents.entries) {
      if (e.id == id) p.name = e.name;
    }
    p.workspace = dir / ("workspace-" + id);
    std::filesystem::create_directories(p.workspace);
    p.workspace = std::filesystem::canonical(p.workspace);
    p.model = "fake/model-1";
    p.compaction = gateway::compactionSettings(config->config.agents.defaults.compaction);
    p.compaction.model.clear();  // the fake provider serves every model
    profiles.push_back(std::move(p));
  }
  agents = std::make_unique<gateway::AgentDirectory>(roster, profiles);

  auto runnerOptions = options.runner;
  auto chained = std::move(runnerOptions.onRunEnded);
  runnerOptions.onRunEnded = [this, chained = std::move(chained)](const gateway::TurnOutcome& o) {
    {
      std::lock_guard lock(mu_);
      outcomes_[o.runId] = o;
    }
    if (chained) chained(o);
  };
  auto created = gateway::AgentRunner::create(runnerOptions, profiles, {{"fake", provider}}, nullptr, *store, bus,
                                              executors.executors(), clock);
  ASSERT_TRUE(created) << created.error().toString();

  auto authenticator = security::SharedSecretAuthenticator::create(config->config.gateway.auth, options.fallbackToken);
  ASSERT_TRUE(authenticator) << authenticator.error().toString();
  auth = std::move(*authenticator);

  info.version = "0.0.0-test";
  info.host = "testhost";
  info.instanceId = newUuid();
  info.stateDir = dir.path();
  info.startedAtMs = clock->nowMs();
  if (!options.logLines.empty()) {
    info.logFile = dir / "logs" / "talon.log";
    std::filesystem::create_directories(info.logFile->parent_path());
    std::ofstream out(*info.logFile, std::ios::binary);
    for (const auto& l : options.logLines) out << l << '\n';
  }
  runner = std::move(*created);
  ASSERT_TRUE(gateway::channels::registerBuiltinChannels(channelFactories));
  auto runtime = gateway::channels::ChannelManager::create(
      gateway::channels::ChannelManagerDeps{config->config.channels, channelFactories, channels, healthRecords, metrics,
                                            bus, executors.executors(), clock},
      gateway::channels::ChannelManagerOptions::fromConfig(config->config.gateway));
  ASSERT_TRUE(runtime) << runtime.error().toString();
  channelRuntime = std::move(*runtime);
  health.set(gateway::methods::buildHealthPayload(gateway::methods::HealthDeps::from(services())).payloadJson);
}

GatewayComponents::~GatewayComponents() {
  cron.reset();
  runner.reset();
  if (store) store->close();
}

gateway::channels::LoopbackChannel* GatewayComponents::addLoopbackWithOutbox(gateway::channels::ChannelSink& sink) {
  auto channel = std::make_unique<gateway::channels::LoopbackChannel>("default", clock);
  auto* loopback = channel.get();
  channels.add("loopback", std::move(channel));
  EXPECT_TRUE(loopback->start(sink));
  gateway::channels::OutboundPolicy policy;
  policy.jitter = 0.0;
  auto created = gateway::channels::OutboundDispatcher::create(
      *store, metrics, healthRecords, bus, executors.executors(), clock,
      [this](std::string_view id) { return channels.find(id); }, policy);
  EXPECT_TRUE(created) << (created ? "" : created.error().toString());
  if (!created) return nullptr;
  outbound = std::move(*created);
  return loopback;
}

gateway::GatewayServices GatewayComponents::services() {
  return gateway::GatewayServices{info,
                                  config,
                                  *agents,
                                  *store,
                                  *runner,
                                  runs,
                                  bus,
                                  presence,
                                  health,
                                  *auth,
                                  audit,
                                  state,
                                  channels,
                                  metrics,
                                  healthRecords,
                                  [] { return net::ServerStats{}; },
                                  executors.executors(),
                                  clock,
                                  *liveConfig,
                                  *channelRuntime,
                                  outbound.get(),
                                  nullptr,
                                  cron.get()};
}

bool GatewayComponents::settle(const std::string& runId) {
  return executors.runUntil([&] { return outcome(runId).has_value(); });
}

bool GatewayComponents::waitCalls(std::size_t n) {
  return executors.runUntil([&] { return provider->count() >= n; });
}

std::optional<gateway::TurnOutcome> GatewayComponents::outcome(const std::string& runId) const {
  std::lock_guard lock(mu_);
  auto it = outcomes_.find(runId);
  if (it == outcomes_.end()) return std::nullopt;
  return it->second;
}

}  // namespace talon::testing
