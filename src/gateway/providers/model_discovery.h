#pragma once
// Live model inventories of the providers whose models are found at run time instead of configured: an
// Ollama provider (`api: "ollama"`) with no `models` list, as OpenClaw 2026.9.6 discovers them
// (docs/providers/ollama/model-discovery.md; dist provider-models-*.mjs): the catalog query is GET
// /api/tags; a non-empty `models` list selects manual models and skips discovery; hosted
// https://ollama.com skips it (Ollama Cloud models are provider-managed); a failed query keeps the last
// successful inventory of the same endpoint and credentials, and a successful empty answer clears it.
//
// Each model of the inventory is then inspected with POST /api/show (the capability probe, OpenClaw's
// enrichOllamaCompletionModels): in batches of kOllamaShowConcurrency at once, each bounded by
// kOllamaShowTimeout, until kOllamaCompletionModelLimit completion models are kept or
// kOllamaMaxShowProbes models were inspected; models past that point are left out of the inventory, as
// OpenClaw does. An embedding-only model (capability "embedding" without "completion"), and a model
// whose capabilities are known and lack "completion", is left out. What a show answers is cached per
// API base, model name, version (the tags entry's `digest`, else its `modified_at`) and a digest of the
// credentials (at most kOllamaShowCacheEntries, the oldest dropped first); a failed show and an answer
// with neither a context window nor capabilities are not cached, nor is a model without a version.
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
#include "gateway/providers/ollama_provider.h"
#include "net/http_client.h"

namespace talon::gateway {

/// Context window assumed for a discovered model whose server does not say it, in tokens (OpenClaw
/// buildOllamaModelDefinition).
inline constexpr int64_t kDiscoveredDefaultContextWindow = 128'000;

/// One discovered model, as OpenClaw's buildOllamaModelDefinition describes it.
struct DiscoveredModel {
  std::string id;  // Ollama's `name`, e.g. "qwen3:latest"
  /// Tokens: the show answer's (or the tags entry's `details.context_length`), else
  /// kDiscoveredDefaultContextWindow.
  int64_t contextWindow = kDiscoveredDefaultContextWindow;
  bool contextWindowKnown = false;         // false: contextWindow is the default
  std::vector<std::string> input{"text"};  // ["text", "image"] with the "vision" capability
  bool reasoning = false;                  // the "thinking" capability (no capabilities: a name heuristic)
  bool supportsTools = true;               // the "tools" capability; false when the show failed
  std::optional<std::vector<std::string>> capabilities;  // as the server listed them; nullopt: unknown
};

/// One provider's discovered models.
struct DiscoveredModels {
  std::string provider;                 // the provider id
  std::vector<DiscoveredModel> models;  // the server's order
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
  /// runs once. The tags query is bounded by `timeout`, each show by min(`timeout`, kOllamaShowTimeout).
  void inventories(std::vector<config::ProviderConfig> providers, std::chrono::milliseconds timeout,
                   std::function<void(std::vector<DiscoveredModels>)> done);

  /// The last inventory's entry for `model` of `provider` (whatever its age), without a query; nullopt
  /// when that provider was never inventoried or did not list the model. Thread-safe, non-blocking.
  std::optional<DiscoveredModel> known(const config::ProviderConfig& provider, const std::string& model);

 private:
  struct Cached {
    std::vector<DiscoveredModel> models;
    int64_t fetchedAtMs = 0;
    bool ever = false;
  };
  struct ShowProbe;
  /// Endpoint and credentials: the native API base, and a digest of the key and headers.
  static std::string cacheKey(const config::ProviderConfig& provider);
  /// Runs the show probes of `tags` and calls `done` with the kept models.
  void enrich(config::ProviderConfig provider, std::vector<OllamaTagsModel> tags, std::chrono::milliseconds timeout,
              std::function<void(std::vector<DiscoveredModel>)> done);
  std::optional<OllamaShowInfo> cachedShow(const std::string& key);
  void rememberShow(const std::string& key, const OllamaShowInfo& info);

  net::HttpClientPtr client_;
  ClockPtr clock_;
  std::mutex mutex_;
  std::map<std::string, Cached> cache_;
  std::map<std::string, OllamaShowInfo> showCache_;  // guarded by mutex_
  std::vector<std::string> showCacheOrder_;          // insertion order, oldest first; guarded by mutex_
};

/// How long an inventory is answered from the cache.
inline constexpr std::chrono::seconds kModelDiscoveryMaxAge{60};
/// The capability probe's bounds (OpenClaw OLLAMA_SHOW_CONCURRENCY, OLLAMA_SHOW_TIMEOUT_MS,
/// OLLAMA_CONTEXT_ENRICH_LIMIT, MAX_OLLAMA_DISCOVERY_PROBES, MAX_OLLAMA_SHOW_CACHE_ENTRIES).
inline constexpr std::size_t kOllamaShowConcurrency = 8;
inline constexpr std::chrono::milliseconds kOllamaShowTimeout{3'000};
inline constexpr std::size_t kOllamaCompletionModelLimit = 200;
inline constexpr std::size_t kOllamaMaxShowProbes = 800;
inline constexpr std::size_t kOllamaShowCacheEntries = 256;

/// The model definition OpenClaw builds from a tags entry and what its show answered (nullopt: the show
/// failed), or nullopt when the model is left out of the inventory (embedding-only, or known
/// capabilities without "completion"). Pure; exposed for tests.
std::optional<DiscoveredModel> discoveredModelDefinition(const OllamaTagsModel& tags,
                                                         const std::optional<OllamaShowInfo>& show);

}  // namespace talon::gateway
