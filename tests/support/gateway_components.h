#pragma once
// The gateway's components, real and in-process, as the composition root (src/gateway/gateway.cpp)
// wires them, minus the sockets: a SQLite store in a temp dir, an AgentRunner over a FakeModelProvider,
// deterministic executors and a SimulatedClock (manual_executors.h), the event bus, presence, the shared
// secret authenticator, the metrics and health registries. Tests of RPC methods and of the inbound
// channel path build their subject from services() and drive time and tasks through `executors`.
//
// Every configured agent runs on the fake provider (its model is "fake/model-1" whatever the config
// says), with its workspace under the temp dir.
//
// Thread rules: as ManualExecutors — tasks run on the test thread inside runReady/runUntil/advance.
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "gateway/agent/agent_runner.h"
#include "gateway/automation/cron_service.h"
#include "gateway/channels/channel_manager.h"
#include "gateway/channels/channel_registry.h"
#include "gateway/channels/channel_set.h"
#include "gateway/channels/loopback_channel.h"
#include "gateway/channels/outbound_dispatcher.h"
#include "gateway/event_bus.h"
#include "gateway/gateway_services.h"
#include "gateway/health/health_registry.h"
#include "gateway/health/metrics_registry.h"
#include "gateway/live_config.h"
#include "gateway/run_registry.h"
#include "security/shared_secret_authenticator.h"
#include "store/store.h"
#include "support/fake_model_provider.h"
#include "support/manual_executors.h"
#include "support/recording_audit_sink.h"
#include "support/temp_dir.h"

namespace talon::testing {

struct GatewayComponentsOptions {
  /// The config file's text (JSON5), loaded as `talon gateway run` loads it (with an empty
  /// environment). "{}" is a config-less start: the implicit agent "main".
  std::string configText = "{}";
  gateway::AgentRunnerOptions runner = defaultRunnerOptions();
  /// The gateway's token when the config sets none.
  std::string fallbackToken = "test-token";
  /// Lines written to the log file `logs.tail` reads (none: no log file).
  std::vector<std::string> logLines;

  /// Deltas unpaced (every piece published), so event tests need no clock steps.
  static gateway::AgentRunnerOptions defaultRunnerOptions();
  /// The defaults with turns that have no practical deadline (24 h), for automation tests: they advance
  /// the simulated clock by hours while a run is in flight, and whether its turn started before or during
  /// the advance depends on when the store's writer thread commits the run's start; with the runner's
  /// 10-minute default deadline the turn would then time out during the advance in some runs only.
  static GatewayComponentsOptions forAutomations();
};

class GatewayComponents {
 public:
  /// Builds everything; a failure (a config that does not load, a store that does not open) is
  /// reported as a gtest fatal failure of the caller and leaves `ok()` false.
  explicit GatewayComponents(GatewayComponentsOptions options = {});
  ~GatewayComponents();
  GatewayComponents(const GatewayComponents&) = delete;
  GatewayComponents& operator=(const GatewayComponents&) = delete;

  bool ok() const { return runner != nullptr; }
  /// The components as registration functions take them.
  gateway::GatewayServices services();
  /// Runs tasks until `runId` has ended (its outcome recorded by onRunEnded). False on the safety net.
  bool settle(const std::string& runId);
  /// Runs tasks until the provider has received `n` calls. False on the safety net.
  bool waitCalls(std::size_t n);
  /// Adds a started loopback channel "loopback" (account "default"; its inbound messages go to `sink`,
  /// which outlives the components) and an outbox over `channels` with no retry jitter, as the
  /// automation tests deliver through. Returns the channel (owned by `channels`); a failure is a gtest
  /// failure of the caller and returns null.
  gateway::channels::LoopbackChannel* addLoopbackWithOutbox(gateway::channels::ChannelSink& sink);
  /// The outcomes of ended runs, by runId (runs observed through AgentRunnerOptions::onRunEnded).
  std::optional<gateway::TurnOutcome> outcome(const std::string& runId) const;

  TempDir dir{"talon-gw"};
  std::shared_ptr<SimulatedClock> clock = std::make_shared<SimulatedClock>();
  ManualExecutors executors{clock};
  std::shared_ptr<gateway::ConfigSnapshot> config;
  store::StorePtr store;
  gateway::EventBus bus;
  std::shared_ptr<FakeModelProvider> provider = std::make_shared<FakeModelProvider>("fake");
  std::unique_ptr<gateway::AgentRunner> runner;
  std::unique_ptr<gateway::AgentDirectory> agents;
  gateway::GatewayInfo info;
  gateway::RunRegistry runs;
  gateway::PresenceRegistry presence;
  gateway::CachedPayload health;
  std::unique_ptr<security::SharedSecretAuthenticator> auth;
  /// Every audit event the components recorded, in order.
  RecordingAuditSink audit;
  gateway::GatewayState state;
  gateway::channels::ChannelSet channels;  // the channels of configText's `channels` (not started)
  gateway::health::MetricsRegistry metrics;
  gateway::health::HealthRegistry healthRecords{clock};
  /// The live config over `dir/talon.json` (written from configText): config writes and reloads.
  std::unique_ptr<gateway::LiveConfig> liveConfig;
  /// The outbox, when a test creates one (services().outbound); none by default.
  std::unique_ptr<gateway::channels::OutboundDispatcher> outbound;
  /// The cron scheduler, when a test creates one (services().cron); none by default.
  std::unique_ptr<gateway::automation::CronService> cron;
  /// The built-in channel factories (loopback).
  gateway::channels::ChannelRegistry channelFactories;
  /// The channel runtime over configText's `channels`, created (accounts in `channels`) but not started:
  /// a test that wants traffic calls channelRuntime->start(sink).
  std::unique_ptr<gateway::channels::ChannelManager> channelRuntime;

 private:
  void build(GatewayComponentsOptions options);
  mutable std::mutex mu_;
  std::map<std::string, gateway::TurnOutcome> outcomes_;
};

}  // namespace talon::testing
