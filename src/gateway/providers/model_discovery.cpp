#include "gateway/providers/model_discovery.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "base/hash.h"
#include "base/text.h"

namespace talon::gateway {

namespace {

bool hasCapability(const std::optional<std::vector<std::string>>& capabilities, std::string_view name) {
  return capabilities && std::find(capabilities->begin(), capabilities->end(), name) != capabilities->end();
}

bool embeddingOnly(const std::optional<std::vector<std::string>>& capabilities) {
  return hasCapability(capabilities, "embedding") && !hasCapability(capabilities, "completion");
}

std::string discoveryLowerAscii(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// OpenClaw isReasoningModelHeuristic: /r1|reasoning|think|reason/i.
bool reasoningByName(std::string_view name) {
  std::string n = discoveryLowerAscii(name);
  return n.find("r1") != std::string::npos || n.find("reason") != std::string::npos ||
         n.find("think") != std::string::npos;
}

/// A hosted-source suffix (OpenClaw parseModelSourceSuffix): ":cloud", ":local", or a last ":" part
/// ending in "-cloud"; returns the base and the source.
std::optional<std::pair<std::string, std::string>> sourceSuffix(const std::string& ref) {
  auto colon = ref.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string source = ref.substr(colon + 1);
  if (source == "cloud" || source == "local") return std::pair{ref.substr(0, colon), source};
  if (source.find('/') == std::string::npos && source.size() >= 6 && source.ends_with("-cloud")) {
    return std::pair{ref.substr(0, ref.size() - 6), std::string("cloud")};
  }
  return std::nullopt;
}

/// OpenClaw isCloudModelRef: one unambiguous ":cloud" (or "-cloud") suffix.
bool cloudModelName(std::string_view name) {
  std::string n = discoveryLowerAscii(trimWhitespace(name));
  if (n.empty()) return false;
  auto source = sourceSuffix(n);
  return source && source->second == "cloud" && !sourceSuffix(source->first);
}

}  // namespace

std::optional<DiscoveredModel> discoveredModelDefinition(const OllamaTagsModel& tags,
                                                         const std::optional<OllamaShowInfo>& show) {
  // OpenClaw mergeOllamaModelShowInfo, then the filter of enrichOllamaCompletionModels, then
  // buildOllamaModelDefinition.
  const bool showFailed = !show;
  const std::optional<std::vector<std::string>> shown = show ? show->capabilities : std::nullopt;
  const bool remote = tags.remote || cloudModelName(tags.name);
  const bool incomplete = !shown && tags.capabilities && remote && !embeddingOnly(tags.capabilities);
  std::optional<std::vector<std::string>> capabilities = shown ? shown : tags.capabilities;
  if (incomplete) {
    std::vector<std::string> merged = *tags.capabilities;
    if (!showFailed) merged.emplace_back("tools");
    if (reasoningByName(tags.name)) merged.emplace_back("thinking");
    std::vector<std::string> unique;
    for (auto& c : merged) {
      if (std::find(unique.begin(), unique.end(), c) == unique.end()) unique.push_back(std::move(c));
    }
    capabilities = std::move(unique);
  }
  if (embeddingOnly(capabilities)) return std::nullopt;
  if (capabilities && !incomplete && !hasCapability(capabilities, "completion")) return std::nullopt;
  DiscoveredModel model;
  model.id = tags.name;
  std::optional<int64_t> window = show && show->contextWindow ? show->contextWindow : tags.contextLength;
  if (window) {
    model.contextWindow = *window;
    model.contextWindowKnown = true;
  }
  model.reasoning = capabilities ? hasCapability(capabilities, "thinking") : reasoningByName(tags.name);
  if (hasCapability(capabilities, "vision")) model.input = {"text", "image"};
  model.supportsTools = capabilities ? hasCapability(capabilities, "tools") : !showFailed;
  model.capabilities = std::move(capabilities);
  return model;
}

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
    auto store = [self = shared_from_this(), join, index = index, key, id](Result<std::vector<DiscoveredModel>> found) {
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
    };
    discoverOllamaModels(*client_, provider, timeout,
                         [self = shared_from_this(), provider, timeout,
                          store = std::move(store)](Result<std::vector<OllamaTagsModel>> tags) mutable {
                           if (!tags) return store(fail(std::move(tags).error()));
                           self->enrich(std::move(provider), std::move(*tags), timeout,
                                        [store = std::move(store)](std::vector<DiscoveredModel> models) mutable {
                                          store(std::move(models));
                                        });
                         });
  }
}

/// The show probes of one inventory, a batch at a time (OpenClaw enrichOllamaCompletionModels).
struct ModelDiscovery::ShowProbe {
  std::shared_ptr<ModelDiscovery> discovery;
  config::ProviderConfig provider;
  std::vector<OllamaTagsModel> tags;
  std::chrono::milliseconds timeout{0};
  std::function<void(std::vector<DiscoveredModel>)> done;
  std::size_t next = 0;  // the first tags entry not yet probed
  std::vector<DiscoveredModel> kept;
  std::mutex mutex;
  std::vector<std::optional<OllamaShowInfo>> batch;  // guarded by mutex
  std::size_t pending = 0;                           // guarded by mutex

  /// The show cache key of a tags entry, empty when it has no version.
  std::string showKey(const OllamaTagsModel& model) const {
    const std::string& version = !model.digest.empty() ? model.digest : model.modifiedAt;
    if (version.empty()) return {};
    return cacheKey(provider) + "|" + model.name + "|" + version;
  }

  static void nextBatch(const std::shared_ptr<ShowProbe>& self) {
    const std::size_t limit = std::min(self->tags.size(), kOllamaMaxShowProbes);
    if (self->next >= limit || self->kept.size() >= kOllamaCompletionModelLimit) {
      return self->done(std::move(self->kept));
    }
    const std::size_t first = self->next;
    const std::size_t count = std::min(kOllamaShowConcurrency, limit - first);
    self->next = first + count;
    {
      std::lock_guard lock(self->mutex);
      self->batch.assign(count, std::nullopt);
      self->pending = count;
    }
    std::vector<std::size_t> toProbe;
    std::size_t answered = 0;
    for (std::size_t i = 0; i < count; ++i) {
      std::string key = self->showKey(self->tags[first + i]);
      std::optional<OllamaShowInfo> cached = key.empty() ? std::nullopt : self->discovery->cachedShow(key);
      if (cached) {
        std::lock_guard lock(self->mutex);
        self->batch[i] = std::move(cached);
        ++answered;
      } else {
        toProbe.push_back(i);
      }
    }
    if (answered > 0 && settle(self, answered)) return finishBatch(self, first);
    const auto showTimeout = std::min(self->timeout, kOllamaShowTimeout);
    for (std::size_t i : toProbe) {
      const OllamaTagsModel& model = self->tags[first + i];
      showOllamaModel(*self->discovery->client_, self->provider, model.name, showTimeout,
                      [self, i, first, key = self->showKey(model)](Result<OllamaShowInfo> info) {
                        if (info) {
                          if (!key.empty()) self->discovery->rememberShow(key, *info);
                          std::lock_guard lock(self->mutex);
                          self->batch[i] = std::move(*info);
                        } else {
                          spdlog::debug("models: {}", info.error().message);
                        }
                        if (settle(self, 1)) finishBatch(self, first);
                      });
    }
  }

  /// Counts `n` answers of the batch; true when it is complete.
  static bool settle(const std::shared_ptr<ShowProbe>& self, std::size_t n) {
    std::lock_guard lock(self->mutex);
    self->pending -= n;
    return self->pending == 0;
  }

  static void finishBatch(const std::shared_ptr<ShowProbe>& self, std::size_t first) {
    std::vector<std::optional<OllamaShowInfo>> batch;
    {
      std::lock_guard lock(self->mutex);
      batch = std::move(self->batch);
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto model = discoveredModelDefinition(self->tags[first + i], batch[i]);
      if (!model) continue;
      self->kept.push_back(std::move(*model));
      if (self->kept.size() == kOllamaCompletionModelLimit) break;
    }
    nextBatch(self);
  }
};

void ModelDiscovery::enrich(config::ProviderConfig provider, std::vector<OllamaTagsModel> tags,
                            std::chrono::milliseconds timeout, std::function<void(std::vector<DiscoveredModel>)> done) {
  auto probe = std::make_shared<ShowProbe>();
  probe->discovery = shared_from_this();
  probe->provider = std::move(provider);
  probe->tags = std::move(tags);
  probe->timeout = timeout;
  probe->done = std::move(done);
  ShowProbe::nextBatch(probe);
}

std::optional<OllamaShowInfo> ModelDiscovery::cachedShow(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = showCache_.find(key);
  if (it == showCache_.end()) return std::nullopt;
  return it->second;
}

void ModelDiscovery::rememberShow(const std::string& key, const OllamaShowInfo& info) {
  // OpenClaw hasCachedOllamaModelShowInfo: only an answer that says something is kept.
  if (!info.contextWindow && (!info.capabilities || info.capabilities->empty())) return;
  std::lock_guard lock(mutex_);
  if (showCache_.find(key) == showCache_.end()) {
    if (showCache_.size() >= kOllamaShowCacheEntries && !showCacheOrder_.empty()) {
      showCache_.erase(showCacheOrder_.front());
      showCacheOrder_.erase(showCacheOrder_.begin());
    }
    showCacheOrder_.push_back(key);
  }
  showCache_[key] = info;
}

std::optional<DiscoveredModel> ModelDiscovery::known(const config::ProviderConfig& provider, const std::string& model) {
  std::lock_guard lock(mutex_);
  auto it = cache_.find(cacheKey(provider));
  if (it == cache_.end()) return std::nullopt;
  for (const auto& m : it->second.models) {
    // A ref without a tag names the ":latest" one, as Ollama resolves it.
    if (m.id == model || (model.find(':') == std::string::npos && m.id == model + ":latest")) return m;
  }
  return std::nullopt;
}

}  // namespace talon::gateway
