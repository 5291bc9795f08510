#pragma once
// Live model inventories of the providers whose models are found at run time instead of configured: an
// Ollama provider (`api: "ollama"`) with no `models` list, as OpenClaw 2026.9.6 discovers them
// (docs/providers/ollama/model-discovery.md): the catalog query is GET /api/tags; a non-empty `models`
// list selects manual models and skips discovery; hosted https://ollama.com skips it (Ollama Cloud
// models are provider-managed); a failed query keeps the last successful inventory of the same
// endpoint and credentials, and a successful empty answer clears it.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "config/config_model.h"
#include "net/http_client.h"

namespace talon::gateway {

/// One provider's discovered models.
struct DiscoveredModels {
  std::string provider;             // the provider id
  std::vector<std::string> models;  // model ids (Ollama's `name`, e.g. "qwen3:latest"), the server's order
  /// Why the last query failed; `models` is then the last successful inventory (empty when none).
  std::optional<Error> error;
  int64_t fetchedAtMs = 0;  // when `models` was fetched (ms since the epoch); 0 when never
};

/// Queries and caches the inventories. An inventory younger than kModelDiscoveryMaxAge is answered from
/// the cache. Thread-safe; callbacks run on an HTTP client I/O thread, or on the caller's thread when
/// every inventory comes from the cache. Create it with std::make_shared (a query in flight keeps it).
class ModelDiscovery : public std::enable_shared_from_this<ModelDiscovery> {
 public:
  ModelDiscovery(net::HttpClientPtr client, ClockPtr clock);

  /// True when `provider`'s models are discovered (see the file comment).
  static bool discovers(const config::ProviderConfig& provider);

  /// The inventories of `providers` (those that discover(); others are skipped), in their order; `done`
  /// runs once. Each query is bounded by `timeout`.
  void inventories(std::vector<config::ProviderConfig> providers, std::chrono::milliseconds timeout,
                   std::function<void(std::vector<DiscoveredModels>)> done);

 private:
  struct Cached {
    std::vector<std::string> models;
    int64_t fetchedAtMs = 0;
    bool ever = false;
  };
  /// Endpoint and credentials: the native API base, and a digest of the key and headers.
  static std::string cacheKey(const config::ProviderConfig& provider);

  net::HttpClientPtr client_;
  ClockPtr clock_;
  std::mutex mutex_;
  std::map<std::string, Cached> cache_;
};

/// How long an inventory is answered from the cache.
inline constexpr std::chrono::seconds kModelDiscoveryMaxAge{60};

}  // namespace talon::gateway
