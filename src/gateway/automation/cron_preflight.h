#pragma once
// Cron's local-endpoint preflight, as OpenClaw 2026.9.6 does it (docs/automation/cron-jobs/payloads.md,
// "Before an isolated run starts…"; dist model-preflight.runtime-*.mjs, run-fallback-policy-*.mjs): before
// an isolated agentTurn run, each model of the agent's chain (primary, then fallbacks) whose provider is a
// local endpoint — `api` "ollama" or "openai-completions" with a baseUrl whose host is loopback,
// "localhost", "0.0.0.0", an RFC 1918 IPv4 address or a ".local" name — is probed with GET
// {baseUrl}/api/tags (ollama) or GET {baseUrl}/models (openai-completions), baseUrl as configured without
// trailing slashes, bounded by kCronPreflightTimeout. Any HTTP answer counts as reachable (the status is
// not read); a connection failure or the timeout as unreachable. A model of another provider counts as
// available without a probe. The chain is walked in order and stops at the first available model; only
// when every model is unreachable is the run refused, with the first unreachable one's reason. A probe's
// result, either way, is cached per api and baseUrl for kCronPreflightCacheTtl (not per job or model), so
// many due jobs sharing a dead server cost one probe.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "config/config_model.h"
#include "net/http_client.h"

namespace talon::gateway::automation {

/// How long a probe's result is reused (OpenClaw PREFLIGHT_CACHE_TTL_MS).
inline constexpr std::chrono::minutes kCronPreflightCacheTtl{5};
/// A probe's bound (OpenClaw PREFLIGHT_TIMEOUT_MS).
inline constexpr std::chrono::milliseconds kCronPreflightTimeout{2'500};

/// True when `baseUrl`'s host is local as OpenClaw's isLocalProviderBaseUrl says (see the file comment).
bool isLocalProviderBaseUrl(std::string_view baseUrl);

/// What the preflight found for a run.
struct CronPreflightResult {
  bool available = true;
  /// The model ref ("provider/model") that will answer first: the first available one of the chain;
  /// empty when none is (or the chain is empty).
  std::string selected;
  /// When not available: OpenClaw's sentence, naming the model, the endpoint and the last error.
  std::string reason;
};

/// Probes and caches. Thread-safe; `done` runs once, on an HTTP client I/O thread or (every endpoint
/// answered from the cache) on the caller's thread. Create it with std::make_shared.
class CronPreflight : public std::enable_shared_from_this<CronPreflight> {
 public:
  /// `providers`: the config's model providers; `chains`: each agent's model refs, primary first.
  CronPreflight(net::HttpClientPtr client, ClockPtr clock, std::vector<config::ProviderConfig> providers,
                std::map<std::string, std::vector<std::string>> chains);

  /// Checks the chain of `agentId` (an unknown agent or an empty chain is available).
  void check(const std::string& agentId, std::function<void(CronPreflightResult)> done);

 private:
  struct Cached {
    int64_t checkedAtMs = 0;
    std::optional<std::string> error;  // nullopt: reachable
  };
  /// The endpoint of `ref` to probe, or nullopt when it needs none: {api, baseUrl}.
  std::optional<std::pair<std::string, std::string>> endpointOf(const std::string& ref) const;
  void walk(std::shared_ptr<std::vector<std::string>> chain, std::size_t index, std::string firstUnavailable,
            std::function<void(CronPreflightResult)> done);
  void probe(const std::string& api, const std::string& baseUrl, std::function<void(std::optional<std::string>)> done);

  net::HttpClientPtr client_;
  ClockPtr clock_;
  std::map<std::string, config::ProviderConfig> providers_;
  std::map<std::string, std::vector<std::string>> chains_;
  std::mutex mutex_;
  std::map<std::string, Cached> cache_;  // by api + "\0" + baseUrl; guarded by mutex_
};

}  // namespace talon::gateway::automation
