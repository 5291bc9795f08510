#include "gateway/providers/model_discovery.h"

#include <spdlog/spdlog.h>

#include <memory>

#include "base/hash.h"
#include "gateway/providers/ollama_provider.h"

namespace talon::gateway {

ModelDiscovery::ModelDiscovery(net::HttpClientPtr client, ClockPtr clock)
    : client_(std::move(client)), clock_(std::move(clock)) {}

bool ModelDiscovery::discovers(const config::ProviderConfig& provider) {
  if (provider.api != "ollama" || !provider.models.empty()) return false;
  std::string base = ollamaApiBase(provider.baseUrl);
  return base != "https://ollama.com" && base.rfind("https://ollama.com/", 0) != 0;
}

std::string ModelDiscovery::cacheKey(const config::ProviderConfig& provider) {
  std::string credentials = provider.apiKey;
  for (const auto& [name, value] : provider.headers) credentials += "\n" + name + ": " + value;
  return ollamaApiBase(provider.baseUrl) + " " + sha256Hex(credentials);
}

void ModelDiscovery::inventories(std::vector<config::ProviderConfig> providers, std::chrono::milliseconds timeout,
                                 std::function<void(std::vector<DiscoveredModels>)> done) {
  struct Join {
    std::mutex mutex;
    std::vector<DiscoveredModels> results;
    std::size_t pending = 0;
    std::function<void(std::vector<DiscoveredModels>)> done;
  };
  auto join = std::make_shared<Join>();
  join->done = std::move(done);
  std::vector<std::pair<std::size_t, config::ProviderConfig>> queries;
  int64_t now = clock_->nowMs();
  {
    std::lock_guard lock(mutex_);
    for (auto& provider : providers) {
      if (!discovers(provider)) continue;
      DiscoveredModels entry;
      entry.provider = provider.id;
      auto it = cache_.find(cacheKey(provider));
      if (it != cache_.end() && it->second.ever &&
          now - it->second.fetchedAtMs < std::chrono::milliseconds(kModelDiscoveryMaxAge).count()) {
        entry.models = it->second.models;
        entry.fetchedAtMs = it->second.fetchedAtMs;
      } else {
        queries.emplace_back(join->results.size(), std::move(provider));
      }
      join->results.push_back(std::move(entry));
    }
  }
  if (queries.empty()) return join->done(std::move(join->results));
  join->pending = queries.size();
  for (auto& [index, provider] : queries) {
    std::string key = cacheKey(provider);
    std::string id = provider.id;
    discoverOllamaModels(
        *client_, provider, timeout,
        [self = shared_from_this(), join, index = index, key, id](Result<std::vector<std::string>> found) {
          DiscoveredModels entry;
          entry.provider = id;
          {
            std::lock_guard lock(self->mutex_);
            Cached& cached = self->cache_[key];
            if (found) {
              cached.models = std::move(*found);
              cached.fetchedAtMs = self->clock_->nowMs();
              cached.ever = true;
            } else {
              spdlog::warn("models: discovery of provider {} failed: {}{}", id, found.error().message,
                           cached.ever ? " (answering its last inventory)" : "");
              entry.error = std::move(found).error();
            }
            entry.models = cached.models;
            entry.fetchedAtMs = cached.ever ? cached.fetchedAtMs : 0;
          }
          bool last = false;
          {
            std::lock_guard lock(join->mutex);
            join->results[index] = std::move(entry);
            last = --join->pending == 0;
          }
          if (last) join->done(std::move(join->results));
        });
  }
}

}  // namespace talon::gateway
