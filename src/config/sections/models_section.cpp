// `models.providers.<id>`: model providers (OpenClaw docs/concepts/model-providers.md). Talon's providers
// speak api "openai-completions" (src/gateway/providers); OpenClaw's other APIs are reported as not
// supported yet. Defaults (config_model.h ProviderConfig): api "openai-completions".
#include <fmt/format.h>

#include <algorithm>

#include "config/config_sections.h"

namespace talon::config {

namespace {

constexpr std::string_view kProviderApis[] = {
    "openai-completions", "openai-responses",        "openai-chatgpt-responses",
    "anthropic-messages", "google-generative-ai",    "google-vertex",
    "github-copilot",     "bedrock-converse-stream", "ollama",
    "pi-messages",        "azure-openai-responses"};
/// The provider APIs Talon's providers implement (src/gateway/providers).
constexpr std::string_view kProviderApisSupported[] = {"openai-completions"};
constexpr std::string_view kProviderApisUnsupported[] = {
    "openai-responses", "openai-chatgpt-responses", "anthropic-messages",      "google-generative-ai",
    "google-vertex",    "github-copilot",           "bedrock-converse-stream", "ollama",
    "pi-messages",      "azure-openai-responses"};
static_assert(std::size(kProviderApisUnsupported) + std::size(kProviderApisSupported) == std::size(kProviderApis));
/// Providers that may omit baseUrl (the provider implementation supplies its public endpoint), like
/// OpenClaw's bundled providers.
constexpr std::string_view kBundledProviders[] = {"openai", "anthropic", "ollama"};

bool isBundled(std::string_view id) {
  return std::find(std::begin(kBundledProviders), std::end(kBundledProviders), id) != std::end(kBundledProviders);
}

void readModels(ConfigReader& r, const ConfigNode& node, const json::value& value, ProviderConfig& out) {
  const json::array* a = r.array(node, value);
  if (a == nullptr) return;
  for (std::size_t i = 0; i < a->size(); ++i) {
    ConfigNode mc = r.item(node, i);
    const json::object* m = r.object(mc, (*a)[i]);
    if (m == nullptr) continue;
    ProviderModelConfig model;
    r.readObject(mc, *m,
                 {
                     {"id",
                      [&](const ConfigNode& k, const json::value& y) {
                        if (auto s = r.string(k, y, /*nonEmpty=*/true)) model.id = *s;
                      }},
                     {"name",
                      [&](const ConfigNode& k, const json::value& y) {
                        if (auto s = r.string(k, y, /*nonEmpty=*/true)) model.name = *s;
                      }},
                     {"contextWindow",
                      [&](const ConfigNode& k, const json::value& y) {
                        if (auto n = r.integer(k, y, 1, kMaxSafeInteger, "> 0")) model.contextWindow = *n;
                      }},
                     {"maxTokens",
                      [&](const ConfigNode& k, const json::value& y) {
                        if (auto n = r.integer(k, y, 1, kMaxSafeInteger, "> 0")) model.maxTokens = *n;
                      }},
                 });
    bool complete = r.require(mc, *m, "id", "non-empty string");
    complete = r.require(mc, *m, "name", "non-empty string") && complete;
    if (complete && !model.id.empty() && !model.name.empty()) out.models.push_back(std::move(model));
  }
}

// False when the value is not an object (the provider is left out).
bool readProvider(ConfigReader& r, const ConfigNode& node, const json::value& value, ProviderConfig& out) {
  const json::object* o = r.object(node, value);
  if (o == nullptr) return false;
  bool apiSet = false;
  r.readObject(node, *o,
               {
                   {"baseUrl",
                    [&](const ConfigNode& c, const json::value& x) {
                      if (auto s = r.string(c, x)) out.baseUrl = *s;
                    }},
                   {"apiKey",
                    [&](const ConfigNode& c, const json::value& x) {
                      SecretInput s = r.secret(c, x);
                      out.apiKey = s.value;
                      out.apiKeyUnavailable = s.unavailable;
                    }},
                   {"api",
                    [&](const ConfigNode& c, const json::value& x) {
                      if (auto s = r.enumeration(c, x, kProviderApis, kProviderApisUnsupported)) {
                        out.api = *s;
                        apiSet = true;
                      }
                    }},
                   {"headers",
                    [&](const ConfigNode& c, const json::value& x) {
                      const json::object* h = r.object(c, x);
                      if (h == nullptr) return;
                      for (const auto& kv : *h) {
                        std::string_view name(kv.key().data(), kv.key().size());
                        SecretInput s = r.secret(r.child(c, name, "*"), kv.value());
                        if (s.present && s.unavailable.empty()) out.headers[std::string(name)] = s.value;
                      }
                    }},
                   {"timeoutSeconds",
                    [&](const ConfigNode& c, const json::value& x) {
                      if (auto i = r.integer(c, x, 1, kMaxSafeInteger, "> 0")) out.timeoutSeconds = *i;
                    }},
                   {"maxTokens",
                    [&](const ConfigNode& c, const json::value& x) {
                      if (auto i = r.integer(c, x, 1, kMaxSafeInteger, "> 0")) out.maxTokens = *i;
                    }},
                   {"models", [&](const ConfigNode& c, const json::value& x) { readModels(r, c, x, out); }},
               });
  if (!apiSet && (out.id == "anthropic" || out.id == "ollama")) {
    // OpenClaw defaults these providers to their native APIs, which Talon does not speak yet.
    r.error(node, DiagnosticCode::kValue,
            fmt::format("provider \"{}\" defaults to api \"{}\", which is not supported by Talon yet; set api: "
                        "\"openai-completions\" for its OpenAI-compatible endpoint",
                        out.id, out.id == "anthropic" ? "anthropic-messages" : "ollama"));
  }
  // OpenClaw's rule for custom (non-bundled) providers, same wording.
  for (std::string_view required : {std::string_view("baseUrl"), std::string_view("models")}) {
    if (o->contains(required) || isBundled(out.id)) continue;
    r.error(r.child(node, required), DiagnosticCode::kValue,
            fmt::format("custom model providers must declare {0}; provider overlays without {0} are only supported "
                        "for bundled providers ({1})",
                        required, ConfigReader::quotedList(kBundledProviders)));
  }
  return true;
}

void readModelsSection(ConfigReader& r, const ConfigNode& node, const json::value& value, TalonConfig& config) {
  r.readObject(node, value, {{"providers", [&](const ConfigNode& c, const json::value& x) {
                                const json::object* p = r.object(c, x);
                                if (p == nullptr) return;
                                for (const auto& kv : *p) {
                                  std::string_view id(kv.key().data(), kv.key().size());
                                  ConfigNode pc = r.child(c, id, "*");
                                  ProviderConfig provider;
                                  provider.id = std::string(id);
                                  if (id.empty())
                                    r.error(pc, DiagnosticCode::kValue, "expected a non-empty provider id");
                                  if (readProvider(r, pc, kv.value(), provider)) {
                                    config.providers.push_back(std::move(provider));
                                  }
                                }
                              }}});
}

}  // namespace

extern const ConfigSection kModelsSection;
const ConfigSection kModelsSection{"models", readModelsSection};

}  // namespace talon::config
