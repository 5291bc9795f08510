#pragma once
// The gateway daemon: wires config, store, model providers, the agent runner, the event bus and the
// HTTP/WebSocket server, and runs them on an I/O thread pool plus a blocking worker pool
// (ARCHITECTURE.md "Threads and storage").
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "base/error.h"
#include "config/config_loader.h"
#include "gateway/gateway_services.h"

namespace talon::gateway {

struct GatewayOptions {
  std::shared_ptr<const ConfigSnapshot> config;
  /// How `config` was loaded (path, environment, include roots) and the files it was read from (the root
  /// file and its `$include`s): the reload watcher and config writes load it again the same way
  /// (live_config.h). An unset configPath means `config->path`.
  config::LoadOptions configLoad;
  std::vector<std::filesystem::path> configFiles;
  /// True when `--log-level` set the log level, so `logging.level` has nothing to apply on reload.
  bool logLevelPinned = false;
  /// Root of Talon's state: the database (state/talon.sqlite), logs, default workspaces.
  std::filesystem::path stateDir;
  /// Overrides gateway.port (the CLI's --port / TALON_GATEWAY_PORT). 0 picks a free port.
  std::optional<int> port;
  /// The shared secret for auth mode token/password when the config does not set one (the generated
  /// token of a config-less start).
  std::string fallbackToken;
  /// I/O threads (0: the number of cores). Blocking pool size (0: 4).
  int ioThreads = 0;
  int workerThreads = 0;
  /// On stop (SIGTERM, SIGINT): how long running turns may still take before they are aborted
  /// (`talon gateway run --drain-grace`).
  std::chrono::milliseconds drainGrace{10'000};
  std::string version;
  /// The clock of timestamps, uptime and run durations (null: the system clock). Tests of an in-process
  /// gateway pass a SimulatedClock; Asio's timers (health refresh, tick) still run in real time.
  ClockPtr clock;
};

class Gateway {
 public:
  /// Opens the store, creates providers and agent workspaces, binds the listening sockets. Errors:
  /// kFailedPrecondition for a non-loopback bind without token or password auth or a provider that
  /// cannot be created; kIo when the port cannot be bound or the store cannot be opened.
  static Result<std::unique_ptr<Gateway>> create(GatewayOptions options);
  ~Gateway();

  /// The bound port.
  uint16_t port() const;
  /// The addresses listened on.
  const std::vector<std::string>& bindAddresses() const;
  /// Serves until stop() or SIGINT/SIGTERM, then drains and closes. Call once, from the main thread.
  Status run();
  /// Asks run() to return. Thread-safe, idempotent.
  void stop();

  class Impl;

 private:
  explicit Gateway(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The database of a state dir: <stateDir>/state/talon.sqlite (the gateway's store; offline CLI
/// commands such as `talon audit` open it directly).
std::filesystem::path storePathFor(const std::filesystem::path& stateDir);

/// The token of a config-less gateway: read from <stateDir>/gateway.token, or generated (32 random
/// bytes, hex), written 0600 and reported with created=true so the caller prints it once.
struct GeneratedToken {
  std::string token;
  bool created = false;
  std::filesystem::path path;
};
Result<GeneratedToken> loadOrCreateGatewayToken(const std::filesystem::path& stateDir);

}  // namespace talon::gateway
