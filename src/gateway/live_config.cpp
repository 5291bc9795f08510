#include "gateway/live_config.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cmath>

#include "config/config_patch.h"
#include "config/config_redaction.h"
#include "config/config_writer.h"
#include "config/diagnostic.h"
#include "gateway/event_bus.h"
#include "gateway/health/health_registry.h"

namespace talon::gateway {

namespace {

constexpr std::string_view kComponent = "config";

std::string joinPaths(const std::vector<std::string>& paths) {
  constexpr std::size_t kShown = 10;
  std::string out;
  for (std::size_t i = 0; i < paths.size() && i < kShown; ++i) {
    if (i > 0) out += ", ";
    out += paths[i];
  }
  if (paths.size() > kShown) out += fmt::format(" (+{} more)", paths.size() - kShown);
  return out;
}

// One line for operators: the first error of a failed load ("<file>:<line>:<col>: <path>: <message>",
// plus how many more), else the first line of its message.
std::string summarize(const Error& e) {
  std::string first;
  std::size_t errors = 0;
  if (const auto* issues = e.details.if_contains("issues"); issues != nullptr && issues->is_array()) {
    for (const auto& issue : issues->as_array()) {
      const auto* o = issue.if_object();
      if (o == nullptr || getString(*o, "severity") != "error") continue;
      if (++errors > 1) continue;
      std::string where(getString(*o, "file").value_or(""));
      if (auto line = getInt(*o, "line")) where += fmt::format(":{}:{}", *line, getInt(*o, "column").value_or(0));
      first = fmt::format("{}{}{}: {}", where, where.empty() ? "" : ": ", getString(*o, "path").value_or("<root>"),
                          getString(*o, "message").value_or(""));
    }
  }
  if (first.empty()) {
    auto nl = e.message.find('\n');
    return nl == std::string::npos ? e.message : e.message.substr(0, nl);
  }
  return errors > 1 ? fmt::format("{} (+{} more)", first, errors - 1) : first;
}

}  // namespace

std::shared_ptr<const ConfigSnapshot> makeConfigSnapshot(const config::LoadedConfig& loaded) {
  auto snapshot = std::make_shared<ConfigSnapshot>();
  snapshot->config = loaded.config;
  snapshot->effective = loaded.effective;
  snapshot->redacted = config::redactConfigSecrets(loaded.effective);
  snapshot->hash = loaded.hash;
  snapshot->path = loaded.path.string();
  snapshot->exists = loaded.exists;
  snapshot->warnings = config::diagnosticsToJson(loaded.warnings);
  return snapshot;
}

LiveConfig::LiveConfig(std::shared_ptr<const ConfigSnapshot> initial, std::vector<std::filesystem::path> initialFiles,
                       LiveConfigOptions options, health::HealthRegistry& health, EventBus& bus)
    : options_(std::move(options)), health_(health), bus_(bus), running_(initial), file_(initial) {
  if (!options_.clock) options_.clock = SystemClock::instance();
  watched_ = std::move(initialFiles);
  if (watched_.empty() && !initial->path.empty()) watched_.push_back(initial->path);
  stamps_ = stampFiles(watched_);
  health_.set({kComponent, "reload", health::HealthState::kOk, "", false});
}

LiveConfig::Stamps LiveConfig::stampFiles(const std::vector<std::filesystem::path>& files) {
  Stamps out;
  for (const auto& f : files) {
    Stamp s;
    struct stat st {};
    if (::stat(f.c_str(), &st) == 0) {
      s.exists = true;
      s.mtimeNs = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
      s.size = static_cast<uint64_t>(st.st_size);
      s.inode = static_cast<uint64_t>(st.st_ino);
    }
    out.emplace(f, s);
  }
  return out;
}

void LiveConfig::watch(const config::LoadedConfig& loaded) {
  watched_.clear();
  watched_.push_back(loaded.path);
  for (const auto& f : loaded.includedFiles) watched_.push_back(f);
  stamps_ = stampFiles(watched_);
  pending_.reset();
}

Status LiveConfig::admitWrite(std::string_view method, std::string_view clientKey) {
  int64_t now = options_.clock->nowMs();
  std::string key = fmt::format("{}|{}", method, clientKey);
  std::lock_guard lock(rateMu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end() || now - it->second.first >= kConfigWriteWindowMs) {
    if (buckets_.size() >= 10'000) buckets_.clear();  // bounded: a flood of client keys cannot grow it
    buckets_[key] = {now, 1};
    return {};
  }
  if (it->second.second >= kConfigWritesPerWindow) {
    int64_t retryAfterMs = std::max<int64_t>(0, it->second.first + kConfigWriteWindowMs - now);
    std::string message = fmt::format("rate limit exceeded for {}; retry after {}s", method,
                                      static_cast<int64_t>(std::ceil(static_cast<double>(retryAfterMs) / 1000.0)));
    Error e(ErrorCode::kUnavailable, message, message);
    e.retryAfterMs = retryAfterMs;
    e.details["method"] = std::string(method);
    e.details["limit"] = fmt::format("{} per {}s", kConfigWritesPerWindow, kConfigWriteWindowMs / 1000);
    spdlog::warn("config write rate-limited method={} client={} retryAfterMs={}", method, clientKey, retryAfterMs);
    return fail(std::move(e));
  }
  ++it->second.second;
  return {};
}

void LiveConfig::applyHot(const config::ReloadPlan& plan, const ConfigSnapshot& next) {
  for (const auto& path : plan.hotReasons) {
    if (config::matchesReloadPrefix(path, "logging.level") && !options_.logLevelPinned) {
      const std::string& level = next.config.logging.level.empty() ? std::string("info") : next.config.logging.level;
      spdlog::set_level(spdlog::level::from_str(level));
      spdlog::info("config reload: log level is now {}", level);
    }
  }
  if (plan.hotReasons.empty()) return;
  for (const auto& apply : hotAppliers_) apply(plan, next);
}

ReloadOutcome LiveConfig::offer(const config::LoadedConfig& loaded) {
  auto next = makeConfigSnapshot(loaded);
  auto previousFile = file_.exchange(next, std::memory_order_acq_rel);
  watch(loaded);
  health_.set({kComponent, "reload", health::HealthState::kOk, "", false});

  auto running = running_.load(std::memory_order_acquire);
  ReloadOutcome outcome;
  outcome.plan = config::planReload(config::diffConfigPaths(running->effective, next->effective));
  const auto& plan = outcome.plan;
  bool hybrid = next->config.gateway.reloadMode == config::kReloadModeHybrid;
  outcome.applied = !plan.restartGateway() && (hybrid || plan.hotReasons.empty());
  if (outcome.applied) {
    running_.store(next, std::memory_order_release);
    applyHot(plan, *next);
    {
      std::lock_guard lock(statusMu_);
      lastError_.clear();
      restartReasons_.clear();
    }
    health_.set({kComponent, "restart", health::HealthState::kOk, "", false});
    if (!plan.changedPaths.empty()) {
      spdlog::info("config reload applied: {}", joinPaths(plan.changedPaths));
    }
  } else {
    std::vector<std::string> waiting = plan.restartReasons;
    if (!hybrid) waiting.insert(waiting.end(), plan.hotReasons.begin(), plan.hotReasons.end());
    std::string detail = fmt::format("restart required to apply: {}{}", joinPaths(waiting),
                                     hybrid ? "" : " (gateway.reload.mode is \"off\")");
    spdlog::warn("config change requires a gateway restart: {}", joinPaths(waiting));
    {
      std::lock_guard lock(statusMu_);
      lastError_.clear();
      restartReasons_ = waiting;
    }
    health_.set({kComponent, "restart", health::HealthState::kDegraded, detail, false});
  }
  if (previousFile->hash != next->hash) {
    json::object payload{{"path", next->path}, {"hash", next->hash}, {"ts", options_.clock->nowMs()}};
    bus_.publish(GatewayEvent{"config.changed", {}, {}, std::make_shared<const std::string>(json::serialize(payload))});
  }
  if (loaded.exists) {
    if (auto lkg = config::promoteLastKnownGood(loaded.path); !lkg) {
      spdlog::warn("config: cannot refresh the last-known-good copy: {}", lkg.error().message);
    }
  }
  return outcome;
}

json::object LiveConfig::healthStatus() const {
  bool active = running()->config.gateway.reloadMode == config::kReloadModeHybrid;
  json::object out{{"hotReloadStatus", active ? "active" : "disabled"}};
  std::lock_guard lock(statusMu_);
  if (!lastError_.empty()) out["lastError"] = "config reload skipped (invalid config): " + lastError_;
  json::array reasons;
  for (const auto& r : restartReasons_) reasons.emplace_back(r);
  out["restartRequired"] = !restartReasons_.empty();
  out["restartReasons"] = std::move(reasons);
  return out;
}

void LiveConfig::poll() {
  std::lock_guard lock(writeMutex_);
  auto current = stampFiles(watched_);
  if (current == stamps_) {
    pending_.reset();
    return;
  }
  // Wait until the files held still for one step (an editor's write/rename churn).
  if (!pending_ || *pending_ != current) {
    pending_ = current;
    return;
  }
  pending_.reset();
  stamps_ = current;
  auto loaded = config::loadConfig(options_.load);
  if (loaded && !loaded->exists) {
    loaded = fail(ErrorCode::kConfigInvalid, fmt::format("{}: the config file was removed", loaded->path.string()));
  }
  if (!loaded) {
    spdlog::warn("config reload skipped (invalid config): {}", loaded.error().message);
    {
      std::lock_guard lock(statusMu_);
      lastError_ = summarize(loaded.error());
    }
    health_.set({kComponent, "reload", health::HealthState::kFailed,
                 "config reload skipped (invalid config): " + summarize(loaded.error()), false});
    return;
  }
  if (loaded->hash == file()->hash) {
    watch(*loaded);  // touched or reformatted: same content
    {
      std::lock_guard lock(statusMu_);
      lastError_.clear();
    }
    health_.set({kComponent, "reload", health::HealthState::kOk, "", false});
    return;
  }
  offer(*loaded);
}

}  // namespace talon::gateway
