#include "config/provider_catalog.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include "config/heartbeat_config.h"
#include "config/model_selection.h"

namespace talon::config {
namespace {

constexpr std::string_view kCompletions = "openai-completions";

/// A hosted provider; `compatApi` as in CatalogProvider.
constexpr CatalogProvider remote(std::string_view id, std::string_view api, std::string_view baseUrl,
                                 std::array<std::string_view, 3> envVars, std::string_view compatApi) {
  return CatalogProvider{id, api, baseUrl, envVars, compatApi, false};
}
/// A local server: no key needed.
constexpr CatalogProvider local(std::string_view id, std::string_view api, std::string_view baseUrl,
                                std::array<std::string_view, 3> envVars) {
  return CatalogProvider{id, api, baseUrl, envVars, std::string_view(), true};
}

// Sorted by id (findCatalogProvider binary-searches). See provider_catalog.h for the sources.
constexpr CatalogProvider kCatalog[] = {
    remote("alibaba", kCompletions, "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
           {"MODELSTUDIO_API_KEY", "DASHSCOPE_API_KEY", "QWEN_API_KEY"}, ""),
    remote("anthropic", "anthropic-messages", "https://api.anthropic.com", {"ANTHROPIC_API_KEY", "", ""}, ""),
    remote("cerebras", kCompletions, "https://api.cerebras.ai/v1", {"CEREBRAS_API_KEY", "", ""}, ""),
    remote("cloudflare-ai-gateway", "anthropic-messages", "", {"CLOUDFLARE_AI_GATEWAY_API_KEY", "", ""}, ""),
    remote("deepseek", kCompletions, "https://api.deepseek.com", {"DEEPSEEK_API_KEY", "", ""}, ""),
    remote("fireworks", kCompletions, "https://api.fireworks.ai/inference/v1", {"FIREWORKS_API_KEY", "", ""}, ""),
    remote("google", "google-generative-ai", "https://generativelanguage.googleapis.com/v1beta",
           {"GEMINI_API_KEY", "GOOGLE_API_KEY", ""}, ""),
    remote("groq", kCompletions, "https://api.groq.com/openai/v1", {"GROQ_API_KEY", "", ""}, ""),
    remote("huggingface", kCompletions, "https://router.huggingface.co/v1", {"HUGGINGFACE_HUB_TOKEN", "HF_TOKEN", ""},
           ""),
    local("litellm", kCompletions, "http://localhost:4000", {"LITELLM_API_KEY", "", ""}),
    local("lmstudio", kCompletions, "http://localhost:1234/v1", {"LM_API_TOKEN", "", ""}),
    remote("minimax", "anthropic-messages", "https://api.minimax.io/anthropic", {"MINIMAX_API_KEY", "", ""}, ""),
    remote("mistral", kCompletions, "https://api.mistral.ai/v1", {"MISTRAL_API_KEY", "", ""}, ""),
    remote("moonshot", kCompletions, "https://api.moonshot.ai/v1", {"MOONSHOT_API_KEY", "KIMI_API_KEY", ""}, ""),
    remote("nvidia", kCompletions, "https://integrate.api.nvidia.com/v1", {"NVIDIA_API_KEY", "", ""}, ""),
    local("ollama", "ollama", "http://127.0.0.1:11434", {"OLLAMA_API_KEY", "", ""}),
    remote("ollama-cloud", "ollama", "https://ollama.com", {"OLLAMA_API_KEY", "", ""}, ""),
    remote("openai", "openai-responses", "https://api.openai.com/v1", {"OPENAI_API_KEY", "", ""}, kCompletions),
    remote("opencode-go", kCompletions, "https://opencode.ai/zen/go/v1",
           {"OPENCODE_API_KEY", "OPENCODE_ZEN_API_KEY", ""}, ""),
    remote("openrouter", kCompletions, "https://openrouter.ai/api/v1", {"OPENROUTER_API_KEY", "", ""}, ""),
    local("sglang", kCompletions, "http://127.0.0.1:30000/v1", {"SGLANG_API_KEY", "", ""}),
    remote("synthetic", "anthropic-messages", "https://api.synthetic.new/anthropic", {"SYNTHETIC_API_KEY", "", ""}, ""),
    remote("together", kCompletions, "https://api.together.xyz/v1", {"TOGETHER_API_KEY", "", ""}, ""),
    remote("venice", kCompletions, "https://api.venice.ai/api/v1", {"VENICE_API_KEY", "", ""}, ""),
    remote("vercel-ai-gateway", "anthropic-messages", "https://ai-gateway.vercel.sh", {"AI_GATEWAY_API_KEY", "", ""},
           ""),
    local("vllm", kCompletions, "http://127.0.0.1:8000/v1", {"VLLM_API_KEY", "", ""}),
    remote("xai", "openai-responses", "https://api.x.ai/v1", {"XAI_API_KEY", "", ""}, kCompletions),
};

constexpr bool sortedById() {
  for (std::size_t i = 1; i < std::size(kCatalog); ++i) {
    if (!(kCatalog[i - 1].id < kCatalog[i].id)) return false;
  }
  return true;
}
static_assert(sortedById(), "kCatalog must stay sorted by id");

/// Every agent model ref with the config node it sits at.
std::vector<std::pair<std::string, ConfigNode>> modelRefs(ConfigReader& r, const TalonConfig& config) {
  std::vector<std::pair<std::string, ConfigNode>> refs;
  auto add = [&](const ModelRef& m, const ConfigNode& node) {
    if (!m.primary.empty()) refs.emplace_back(m.primary, r.child(node, "primary"));
    ConfigNode fallbacks = r.child(node, "fallbacks");
    for (std::size_t i = 0; i < m.fallbacks.size(); ++i) refs.emplace_back(m.fallbacks[i], r.item(fallbacks, i));
  };
  ConfigNode agents = r.child(r.root(), "agents");
  add(config.agents.defaults.model, r.child(r.child(agents, "defaults"), "model"));
  if (!config.agents.implicitMain) {
    ConfigNode entries = r.child(agents, "entries");
    for (const auto& e : config.agents.entries) add(e.model, r.child(r.child(entries, e.id, "*"), "model"));
  }
  // A heartbeat's model (resolved for its agent) needs its provider too.
  for (const auto& hb : effectiveHeartbeats(config.agents)) {
    if (!hb.config.model) continue;
    if (auto resolved = resolveModelRef(config, hb.agentId, *hb.config.model)) {
      const std::string path = heartbeatModelPath(config.agents, hb);
      ConfigNode block = path.rfind("agents.entries.", 0) == 0
                             ? r.child(r.child(r.child(agents, "entries"), hb.agentId, "*"), "heartbeat")
                             : r.child(r.child(agents, "defaults"), "heartbeat");
      refs.emplace_back(resolved->ref, r.child(block, "model"));
    }
  }
  return refs;
}

/// True when `baseUrl`'s host is a loopback name or address (localhost, 127.0.0.0/8, ::1).
bool catalogUrlIsLoopback(std::string_view baseUrl) {
  auto scheme = baseUrl.find("://");
  std::string_view rest = scheme == std::string_view::npos ? baseUrl : baseUrl.substr(scheme + 3);
  std::string_view host;
  if (!rest.empty() && rest.front() == '[') {
    host = rest.substr(1, rest.find(']') == std::string_view::npos ? 0 : rest.find(']') - 1);
  } else {
    host = rest.substr(0, std::min(rest.find(':'), rest.find('/')));
  }
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

void addImplicitOllamaProvider(const Environment& env, TalonConfig& config) {
  if (envTrimmed(env, "OLLAMA_API_KEY").empty()) return;
  for (const auto& p : config.providers) {
    if (p.id == "ollama") return;
    if (p.api == "ollama" && !catalogUrlIsLoopback(p.baseUrl.empty() ? "http://127.0.0.1" : p.baseUrl)) return;
  }
  const CatalogProvider* entry = findCatalogProvider("ollama");
  if (entry == nullptr) return;
  ProviderConfig provider;
  provider.id = "ollama";
  provider.api = std::string(entry->api);
  provider.source = "catalog";
  applyCatalogDefaults(*entry, env, /*apiKeyConfigured=*/false, provider);
  config.providers.push_back(std::move(provider));
}

}  // namespace

std::span<const CatalogProvider> providerCatalog() { return kCatalog; }

const CatalogProvider* findCatalogProvider(std::string_view id) {
  auto it = std::lower_bound(std::begin(kCatalog), std::end(kCatalog), id,
                             [](const CatalogProvider& p, std::string_view key) { return p.id < key; });
  return it != std::end(kCatalog) && it->id == id ? &*it : nullptr;
}

std::string_view catalogDefaultApi(const CatalogProvider& entry) {
  if (isSupportedProviderApi(entry.api)) return entry.api;
  if (!entry.compatApi.empty() && isSupportedProviderApi(entry.compatApi)) return entry.compatApi;
  return {};
}

void applyCatalogDefaults(const CatalogProvider& entry, const Environment& env, bool apiKeyConfigured,
                          ProviderConfig& provider) {
  if (provider.baseUrl.empty()) provider.baseUrl = std::string(entry.baseUrl);
  if (apiKeyConfigured) return;
  std::vector<std::string_view> names;
  for (std::string_view name : entry.envVars) {
    if (name.empty()) continue;
    names.push_back(name);
    std::string value = envTrimmed(env, name);
    if (!value.empty()) {
      provider.apiKey = std::move(value);
      provider.apiKeyEnv = std::string(name);
      provider.apiKeyUnavailable.clear();
      return;
    }
  }
  if (!entry.local && !names.empty()) {
    provider.apiKeyUnavailable = fmt::format("no apiKey configured and env var {} is not set", fmt::join(names, " / "));
  }
}

void addImplicitCatalogProviders(ConfigReader& r, TalonConfig& config) {
  if (config.modelsMode == "replace") return;
  for (const auto& [ref, at] : modelRefs(r, config)) {
    auto slash = ref.find('/');
    if (slash == std::string::npos) continue;
    std::string id = ref.substr(0, slash);
    std::transform(id.begin(), id.end(), id.begin(), [](unsigned char c) { return std::tolower(c); });
    if (std::any_of(config.providers.begin(), config.providers.end(),
                    [&](const ProviderConfig& p) { return p.id == id; })) {
      continue;
    }
    const CatalogProvider* entry = findCatalogProvider(id);
    if (entry == nullptr) continue;
    std::string_view api = catalogDefaultApi(*entry);
    if (api.empty()) {
      r.error(at, DiagnosticCode::kValue,
              fmt::format("model \"{}\" needs provider \"{}\", whose api \"{}\" is not supported by Talon yet", ref, id,
                          entry->api));
      continue;
    }
    if (entry->baseUrl.empty()) {
      r.error(at, DiagnosticCode::kValue,
              fmt::format("model \"{}\" needs provider \"{}\", which has no default baseUrl; configure "
                          "models.providers.{}.baseUrl",
                          ref, id, id));
      continue;
    }
    ProviderConfig provider;
    provider.id = id;
    provider.api = std::string(api);
    provider.source = "catalog";
    applyCatalogDefaults(*entry, r.environment(), /*apiKeyConfigured=*/false, provider);
    config.providers.push_back(std::move(provider));
  }
  addImplicitOllamaProvider(r.environment(), config);
}

}  // namespace talon::config
