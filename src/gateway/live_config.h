#pragma once
// The live config (issue 6 "Live config"; OpenClaw docs/gateway/configuration/hot-reload.md and
// config-rpc.md): the config the gateway runs, the last valid content of its config file, the watcher
// that notices edits of the file and its `$include`s, and the rules that decide what a change does
// (config/reload_plan.h). config.patch / config.apply / config.set (methods/config_write_methods.cpp)
// write through it; `config.get` reads it.
//
// Two snapshots: `running()` is what the gateway runs; `file()` is the last valid load of the file.
// They differ while a change waits for a restart (a restart-class path, or gateway.reload.mode "off").
//
// Thread rules: running(), file() and options() are lock-free and safe from any thread. poll(),
// offer() and the write path take writeMutex() and read files: call them on the blocking pool, never on
// an I/O thread. Outcomes are reported to the HealthRegistry (component "config": "reload" and
// "restart"), the log and the event bus (`config.changed`).
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "config/config_loader.h"
#include "config/reload_plan.h"
#include "gateway/gateway_services.h"

namespace talon::gateway {

namespace health {
class HealthRegistry;
}
class EventBus;

/// A snapshot of a loaded config (secrets redacted for display, warnings as JSON).
std::shared_ptr<const ConfigSnapshot> makeConfigSnapshot(const config::LoadedConfig& loaded);

/// OpenClaw's control-plane write budget: 30 writes per 60 s window per method and client.
inline constexpr int kConfigWritesPerWindow = 30;
inline constexpr int64_t kConfigWriteWindowMs = 60'000;

struct LiveConfigOptions {
  /// How the config is loaded again (path, environment, include roots): what `gateway run` used.
  config::LoadOptions load;
  /// Wall clock for the rate window and event timestamps.
  ClockPtr clock;
  /// True when `--log-level` set the level: `logging.level` then has nothing to apply.
  bool logLevelPinned = false;
};

/// What offering a valid config did.
struct ReloadOutcome {
  /// Paths changed against the running config, by kind.
  config::ReloadPlan plan;
  /// The running config is now the offered one.
  bool applied = false;
};

class LiveConfig {
 public:
  /// `initial` is the config the gateway starts with (`initialFiles`: the files it was read from: the root
  /// file and its includes). `health` and `bus` outlive this object.
  LiveConfig(std::shared_ptr<const ConfigSnapshot> initial, std::vector<std::filesystem::path> initialFiles,
             LiveConfigOptions options, health::HealthRegistry& health, EventBus& bus);

  /// The config the gateway runs.
  std::shared_ptr<const ConfigSnapshot> running() const { return running_.load(std::memory_order_acquire); }
  /// The last valid content of the config file (equal to running() unless a change waits for a restart).
  std::shared_ptr<const ConfigSnapshot> file() const { return file_.load(std::memory_order_acquire); }
  const LiveConfigOptions& options() const { return options_; }
  /// Serializes config writes and reloads (config_write_methods.cpp holds it across read-check-write).
  std::mutex& writeMutex() { return writeMutex_; }

  /// Takes one write from `clientKey` for `method` out of the budget. Errors: kUnavailable (retryable,
  /// retryAfterMs set) with OpenClaw's "rate limit exceeded for <method>; retry after <s>s" and details
  /// {method, limit: "30 per 60s"}. Thread-safe.
  Status admitWrite(std::string_view method, std::string_view clientKey);

  /// Offers a valid config just loaded from the file: makes it file(), plans the change against
  /// running(), applies it when the mode allows (hybrid: no restart-class path; off: only `none` paths),
  /// reports a pending restart in health and the log, and publishes `config.changed` {path, hash, ts}
  /// when the file's hash changed. Call with writeMutex() held.
  ReloadOutcome offer(const config::LoadedConfig& loaded);

  /// The `health` payload's `configReload`: OpenClaw's {hotReloadStatus: "active" | "disabled"} (by the
  /// running config's gateway.reload.mode), plus Talon's {lastError?: the rejected edit's first diagnostic,
  /// restartRequired, restartReasons: paths waiting for a restart}. Thread-safe.
  json::object healthStatus() const;

  /// What applies a config's hot paths to a part of the running gateway (the channel runtime and the
  /// access gate for `channels.*`): called after a config with hot paths became running(), with the plan
  /// and the new config, on the thread that offered it and with writeMutex() held.
  using HotApplier = std::function<void(const config::ReloadPlan& plan, const ConfigSnapshot& next)>;
  /// Adds `applier` (at start-up, before the watcher runs and before any write method is served).
  void addHotApplier(HotApplier applier) { hotAppliers_.push_back(std::move(applier)); }

  /// One watcher step (call every second, on the blocking pool): compares the size, mtime and inode of
  /// the watched files with the last load; a change that held still since the previous step is loaded and
  /// validated; an invalid one is rejected (logged, health "config"/"reload" failed; the running config
  /// stays), a valid one is offered. Takes writeMutex().
  void poll();

 private:
  struct Stamp {
    bool exists = false;
    int64_t mtimeNs = 0;
    uint64_t size = 0;
    uint64_t inode = 0;
    bool operator==(const Stamp&) const = default;
  };
  using Stamps = std::map<std::filesystem::path, Stamp>;
  static Stamps stampFiles(const std::vector<std::filesystem::path>& files);
  void watch(const config::LoadedConfig& loaded);
  void applyHot(const config::ReloadPlan& plan, const ConfigSnapshot& next);

  LiveConfigOptions options_;
  health::HealthRegistry& health_;
  EventBus& bus_;
  std::vector<HotApplier> hotAppliers_;
  std::atomic<std::shared_ptr<const ConfigSnapshot>> running_;
  std::atomic<std::shared_ptr<const ConfigSnapshot>> file_;
  std::mutex writeMutex_;
  // Under writeMutex_:
  std::vector<std::filesystem::path> watched_;
  Stamps stamps_;
  std::optional<Stamps> pending_;
  // What healthStatus() shows, under statusMu_.
  mutable std::mutex statusMu_;
  std::string lastError_;
  std::vector<std::string> restartReasons_;
  // Rate budget, under rateMu_: (method|client) -> (window start ms, count).
  std::mutex rateMu_;
  std::map<std::string, std::pair<int64_t, int>, std::less<>> buckets_;
};

}  // namespace talon::gateway
