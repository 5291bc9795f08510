#pragma once
// State shared by the gateway's RPC handlers, HTTP routes and connections. Owned by Gateway; every
// member outlives the connections. Thread-safe as documented per member.
#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/clock.h"
#include "base/json.h"
#include "config/config_model.h"
#include "gateway/agent/agent_runner.h"
#include "gateway/event_bus.h"
#include "gateway/executors.h"
#include "gateway/routing/agent_roster.h"
#include "gateway/run_registry.h"
#include "store/store.h"

namespace talon::gateway {

/// The effective config as loaded at start-up (immutable while running).
struct ConfigSnapshot {
  config::TalonConfig config;
  json::value effective;  // after $include and ${VAR}
  json::value redacted;   // effective with secrets replaced by "__OPENCLAW_REDACTED__"
  std::string hash;       // sha256 of the canonical effective config
  std::string path;
  bool exists = false;
  json::array warnings;  // diagnostics of severity warning, as JSON
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

/// A cached, serialized payload refreshed off the I/O threads (health snapshot).
class CachedPayload {
 public:
  std::shared_ptr<const std::string> get() const { return std::atomic_load(&value_); }
  void set(std::string v) { std::atomic_store(&value_, std::make_shared<const std::string>(std::move(v))); }

 private:
  std::shared_ptr<const std::string> value_ = std::make_shared<const std::string>("{}");
};

struct GatewayContext {
  std::string version;     // Talon's version
  std::string host;        // host name
  std::string instanceId;  // uuid of this process
  std::filesystem::path stateDir;
  int64_t startedAtMs = 0;
  std::chrono::steady_clock::time_point startedAt;
  ClockPtr clock;
  std::shared_ptr<const ConfigSnapshot> config;
  routing::AgentRoster roster;
  std::string defaultAgentId;  // the sole agent, or empty with several (explicit ownership)
  store::Store* store = nullptr;
  AgentRunner* runner = nullptr;
  EventBus* bus = nullptr;
  Executors executors;
  std::string authMode;              // "token" | "password" | "none"
  std::string sharedSecret;          // the token or password clients must present
  CachedPayload health;              // `health` payload
  RunRegistry runs;                  // idempotency keys of chat.send / agent runs
  std::atomic<bool> started{false};  // /startupz and RPCs gated on it
  std::atomic<int64_t> connections{0};

  std::mutex presenceMu;
  std::unordered_map<uint64_t, PresenceEntry> presence;  // by connection id
};

}  // namespace talon::gateway
