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
#include "security/audit_sink.h"

namespace talon::gateway {

struct GatewayOptions {
  std::shared_ptr<const ConfigSnapshot> config;
  /// Audit events from before the gateway existed (the secret reads of start-up): appended to the audit
  /// chain, in order, as soon as the store is open.
  std::vector<security::AuditEvent> startupAudit;
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
  /// I/O threads (0: the CPUs this process may use, base/cpu_count.h). Blocking pool size (0: 4).
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
  /// Takes the state dir's gateway lock (gateway_lock.h), binds the listening sockets, then opens the
  /// store and creates providers and agent workspaces. Errors (messages name what failed, the path or
  /// address, and why): kFailedPrecondition for a non-loopback bind without token or password auth or
  /// a provider that cannot be created; kAlreadyExists when another gateway holds the state dir or the port is
  /// in use (also on [::1] alone with bind "loopback": the gateway never serves on one loopback
  /// address because the other is taken); kIo when the state dir cannot be created or written, a port
  /// cannot be bound for another reason, or the store cannot be opened.
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
/// bytes, hex) with created=true and not yet written: the caller saves it (saveGeneratedGatewayToken)
/// and prints it once only after the gateway started, so a start that fails (port in use, lock held)
/// neither prints nor keeps a token nobody uses. Errors: kIo (with the path) when the file exists but
/// cannot be read.
struct GeneratedToken {
  std::string token;
  bool created = false;
  std::filesystem::path path;
};
Result<GeneratedToken> loadOrGenerateGatewayToken(const std::filesystem::path& stateDir);
/// Writes a generated token (created=true; otherwise nothing) 0600 to its path, creating the state dir
/// (0700). Errors: kIo naming the path.
Status saveGeneratedGatewayToken(const GeneratedToken& token);

}  // namespace talon::gateway
