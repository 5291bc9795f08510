#pragma once
// The gateway's components as the composition root (gateway.cpp) hands them to the registration
// functions of methods, routes and channels. Registration functions pick the few members their handlers
// use and capture only those; no handler keeps this struct (STYLE.md: components receive what they use).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "base/json.h"
#include "config/config_model.h"
#include "gateway/agent/agent_runner.h"
#include "gateway/event_bus.h"
#include "gateway/executors.h"
#include "gateway/routing/agent_roster.h"
#include "gateway/run_registry.h"
#include "net/server.h"
#include "store/store.h"

namespace talon::security {
class Authenticator;
class AuditSink;
}  // namespace talon::security

namespace talon::gateway::channels {
class ChannelSet;
class ChannelManager;
class OutboundDispatcher;
}  // namespace talon::gateway::channels
namespace talon::gateway::chat_commands {
class ChatCommandRegistry;
}
namespace talon::gateway::automation {
class CronService;
class HeartbeatService;
}  // namespace talon::gateway::automation
namespace talon::gateway::health {
class HealthRegistry;
class MetricsRegistry;
}  // namespace talon::gateway::health

namespace talon::gateway {

class LiveConfig;
class TraceIntake;
class RunReplayer;
class ModelDiscovery;

/// One effective config (immutable). The one the gateway started with is `GatewayServices::config`;
/// LiveConfig (live_config.h) holds the current ones.
struct ConfigSnapshot {
  config::TalonConfig config;
  json::value effective;  // after $include and ${VAR}
  json::value redacted;   // effective with secrets replaced by "__OPENCLAW_REDACTED__"
  std::string hash;       // sha256 of the canonical effective config
  std::string path;
  bool exists = false;
  json::array warnings;  // diagnostics of severity warning, as JSON
};

/// What this process is. Immutable after start-up; share freely.
struct GatewayInfo {
  std::string version;     // Talon's version
  std::string host;        // host name
  std::string instanceId;  // uuid of this process
  std::filesystem::path stateDir;
  int64_t startedAtMs = 0;  // wall clock, ms since epoch
  /// The JSON-lines log file `logs.tail` reads, when logging to a file.
  std::optional<std::filesystem::path> logFile;
};

/// The configured agents: routing's roster, the default agent and each agent's profile. Immutable after
/// start-up; thread-safe.
class AgentDirectory {
 public:
  AgentDirectory(routing::AgentRoster roster, std::vector<AgentProfile> profiles);

  const routing::AgentRoster& roster() const { return roster_; }
  /// The sole agent (owner of unselected work), or empty with several agents.
  const std::string& defaultAgentId() const { return defaultAgentId_; }
  const std::vector<AgentProfile>& profiles() const { return profiles_; }
  /// Parses a client's session key (chat.send, chat.history, agent, chat.abort) and resolves its agent:
  /// (agentId, canonical sessionKey). Errors: kAgentSelectionRequired, kInvalidArgument (session_key.h).
  Result<std::pair<std::string, std::string>> resolveClientSession(std::string_view sessionKey,
                                                                   std::optional<std::string_view> agentId) const;

 private:
  routing::AgentRoster roster_;
  std::vector<AgentProfile> profiles_;
  std::string defaultAgentId_;
};

/// One connected client, as `system-presence` reports it.
struct PresenceEntry {
  std::string instanceId;
  std::string host;
  std::string ip;
  std::string version;
  std::string platform;
  std::string deviceFamily;
  std::string mode;
  std::string reason;
  int64_t ts = 0;
};

/// Who a connection authenticated as, for closing it when that credential goes away.
struct ConnectionAuth {
  std::string deviceId;       // the verified device identity; empty without one
  std::string role;           // "operator" | "node"
  std::string operatorToken;  // the named operator token's name (never the token); empty otherwise
};

/// The WebSocket close code of a connection whose credential went away: its device token was revoked or
/// rotated, its device removed, or its named operator token revoked or expired (OpenClaw 2026.9.6 closes
/// such clients with 4001, dist/server-request-context-*.mjs disconnectClientsForDevice).
inline constexpr uint16_t kCloseCredentialRevoked = 4001;

/// Closes one connection with a WebSocket close code and reason. Thread-safe.
using ConnectionCloser = std::function<void(uint16_t code, std::string reason)>;

/// Connected clients by connection id, with how each authenticated, so that revoking a credential
/// closes the connections that use it (OpenClaw disconnectClientsForDevice: close 4001). Thread-safe;
/// closers run outside the lock.
class PresenceRegistry {
 public:
  void set(uint64_t connectionId, PresenceEntry entry);
  /// Records how `connectionId` authenticated and how to close it; forgotten by remove().
  void setAuth(uint64_t connectionId, ConnectionAuth auth, ConnectionCloser closer);
  void remove(uint64_t connectionId);
  std::vector<PresenceEntry> snapshot() const;
  std::size_t size() const;

  /// Closes the connections of device `deviceId` (only those connected with `role` when given) with
  /// `code`/`reason`; returns how many. A connection is closed once: its auth is forgotten here.
  std::size_t disconnectDevice(std::string_view deviceId, std::optional<std::string_view> role, uint16_t code,
                               const std::string& reason);
  /// Closes the connections authenticated by the operator token named `name`; returns how many.
  std::size_t disconnectOperatorToken(std::string_view name, uint16_t code, const std::string& reason);
  /// The names of the operator tokens open connections authenticated with (each once).
  std::vector<std::string> operatorTokensInUse() const;

 private:
  struct Authenticated {
    ConnectionAuth auth;
    ConnectionCloser closer;
  };
  std::size_t disconnectWhere(const std::function<bool(const ConnectionAuth&)>& match, uint16_t code,
                              const std::string& reason);

  mutable std::mutex mu_;
  std::unordered_map<uint64_t, PresenceEntry> entries_;
  std::unordered_map<uint64_t, Authenticated> auth_;
};

/// A serialized payload refreshed off the I/O threads (the `health` snapshot). Thread-safe: readers
/// take a reference without a lock (C++20 std::atomic<std::shared_ptr>, not the mutex-striped
/// std::atomic_load of older code, which showed in the `health` profile).
class CachedPayload {
 public:
  std::shared_ptr<const std::string> get() const { return value_.load(std::memory_order_acquire); }
  void set(std::string v) {
    value_.store(std::make_shared<const std::string>(std::move(v)), std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const std::string>> value_{std::make_shared<const std::string>("{}")};
};

/// Process-wide flags, read by probes and status. Thread-safe.
struct GatewayState {
  std::atomic<bool> started{false};  // /startupz and RPCs gated on it
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> connections{0};
};

/// The components, by reference; all outlive every connection and request.
struct GatewayServices {
  const GatewayInfo& info;
  std::shared_ptr<const ConfigSnapshot> config;
  const AgentDirectory& agents;
  store::Store& store;
  AgentRunner& runner;
  RunRegistry& runs;
  EventBus& bus;
  PresenceRegistry& presence;
  CachedPayload& health;
  const security::Authenticator& auth;
  /// Where security-relevant decisions are recorded (security/audit_sink.h); thread-safe.
  security::AuditSink& audit;
  GatewayState& state;
  const channels::ChannelSet& channels;
  health::MetricsRegistry& metrics;
  health::HealthRegistry& healthRecords;
  /// The listening server's counters (empty before it exists).
  std::function<net::ServerStats()> serverStats;
  Executors executors;
  ClockPtr clock;
  /// The running config and the config file as it is now; config writes and reloads (live_config.h).
  LiveConfig& liveConfig;
  /// The channel runtime (channels/channel_manager.h): every configured account, its status, health and
  /// probes.
  channels::ChannelManager& channelRuntime;
  /// The outbox: durable outbound delivery on channels (channels/outbound_dispatcher.h); null where
  /// none is wired (then `send` answers UNAVAILABLE).
  channels::OutboundDispatcher* outbound = nullptr;
  /// Parses and counts HTTP `traceparent` headers (trace_intake.h); null where none is wired (then
  /// headers are parsed but malformed ones not counted).
  const TraceIntake* traces = nullptr;
  /// The cron scheduler (automation/cron_service.h); null where none is wired (then the cron.* methods
  /// answer UNAVAILABLE). Present but not started when cron is disabled (cron.status says enabled:false).
  automation::CronService* cron = nullptr;
  /// Replays recorded runs (agent/run_replay.h); null where none is wired (then runs.replay answers
  /// UNAVAILABLE).
  RunReplayer* replayer = nullptr;
  /// The heartbeats (automation/heartbeat_service.h); null where none is wired (then last-heartbeat
  /// answers null and set-heartbeats changes nothing).
  automation::HeartbeatService* heartbeat = nullptr;
  /// Live model inventories (providers/model_discovery.h: Ollama providers without a `models` list);
  /// null where none is wired (then models.list answers the configured models only).
  ModelDiscovery* modelDiscovery = nullptr;
  /// The chat commands (chat_commands/chat_command_registry.h) `chat.send` answers itself; null where none
  /// is wired (then a command's text goes to the model like any message).
  const chat_commands::ChatCommandRegistry* chatCommands = nullptr;
};

}  // namespace talon::gateway
