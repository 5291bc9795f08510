#pragma once
// The health family of RPC methods: `health`, `status`, `system-presence`.
#include <string>

#include "gateway/gateway_services.h"
#include "gateway/methods/method_registry.h"

namespace talon::gateway::methods {

/// What the health family reads.
struct HealthDeps {
  const GatewayInfo& info;
  std::shared_ptr<const ConfigSnapshot> config;
  const AgentDirectory& agents;
  store::Store& store;
  AgentRunner& runner;
  PresenceRegistry& presence;
  CachedPayload& health;
  Executors executors;
  ClockPtr clock;
  /// The typed health records; the `provider:<id>` ones become the payload's `providers`.
  health::HealthRegistry& healthRecords;
  /// The `configReload` part of the payload (LiveConfig::healthStatus).
  const LiveConfig& liveConfig;
  /// The channel accounts: the payload's `channels`, `channelOrder` and `channelLabels`.
  const channels::ChannelManager& channelRuntime;
  /// The heartbeats: each agent's `heartbeat` {enabled, every, everyMs} and `heartbeatSeconds`; null: none.
  const automation::HeartbeatService* heartbeat = nullptr;

  static HealthDeps from(const GatewayServices& services);
};

/// A built `health` payload and what readiness needs from it, typed (so /readyz never re-parses JSON).
struct HealthSnapshot {
  std::string payloadJson;      // OpenClaw's HealthSnapshot shape
  bool storeReachable = false;  // the session counts could be read
};

/// Builds the `health` payload. Blocking (reads session counts from the store): call on the blocking pool.
HealthSnapshot buildHealthPayload(const HealthDeps& deps);

}  // namespace talon::gateway::methods
