// `models`: `mode` and `providers.<id>` (OpenClaw docs/concepts/model-providers.md,
// docs/gateway/config-tools/custom-providers.md). Talon's providers speak the APIs of
// kProviderApisSupported (src/gateway/providers); OpenClaw's other APIs are reported as not supported
// yet. A provider id of OpenClaw's bundled catalog (config/provider_catalog.h) may omit baseUrl, api,
// apiKey and models; others default to api "openai-completions" and must declare baseUrl and models.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "config/config_sections.h"
#include "config/provider_catalog.h"

namespace talon::config {

namespace {

constexpr std::string_view kProviderApis[] = {
    "openai-completions", "openai-responses",        "openai-chatgpt-responses",
    "anthropic-messages", "google-generative-ai",    "google-vertex",
    "github-copilot",     "bedrock-converse-stream", "ollama",
    "pi-messages",        "azure-openai-responses"};
/// The provider APIs Talon's providers implement (src/gateway/providers).
constexpr std::string_view kProviderApisSupported[] = {"openai-completions", "openai-responses", "anthropic-messages",
                                                       "ollama", "google-generative-ai"};
constexpr std::string_view kProviderApisUnsupported[] = {
    "openai-chatgpt-responses", "google-vertex", "github-copilot",
    "bedrock-converse-stream",  "pi-messages",   "azure-openai-responses"};
static_assert(std::size(kProviderApisUnsupported) + std::size(kProviderApisSupported) == std::size(kProviderApis));
constexpr std::string_view kModelsModes[] = {"merge", "replace"};

}  // namespace

bool isSupportedProviderApi(std::string_view api) {
  return std::find(std::begin(kProviderApisSupported), std::end(kProviderApisSupported), api) !=
         std::end(kProviderApisSupported);
}

namespace {

std::vector<std::string_view> catalogIds() {
  std::vector<std::string_view> ids;
  for (const auto& p : providerCatalog()) ids.push_back(p.id);
  return ids;
}

constexpr std::string_view kModelInputs[] = {"text", "image"};

/// A price: a finite number >= 0 (USD per million tokens).
std::optional<double> readPrice(ConfigReader& r, const ConfigNode& node, const json::value& value) {
  if (!value.is_number()) {
    r.error(node, DiagnosticCode::kType, "expected number >= 0, got " + ConfigReader::describe(value));
    return std::nullopt;
  }
  double v = value.to_number<double>();
  if (!std::isfinite(v) || v < 0) {
    r.error(node, DiagnosticCode::kValue, "expected number >= 0");
    return std::nullopt;
  }
  return v;
}

/// `cost: {input, output, cacheRead, cacheWrite}` (OpenClaw docs/gateway/config-tools/custom-providers.md).
std::optional<ModelCost> readCost(ConfigReader& r, const ConfigNode& node, const json::value& value) {
  ModelCost cost;
  auto price = [&](double& out) {
    return [&r, &out](const ConfigNode& c, const json::value& x) {
      if (auto v = readPrice(r, c, x)) out = *v;
    };
  };
  if (!r.readObject(node, value,
                    {{"input", price(cost.input)},
                     {"output", price(cost.output)},
                     {"cacheRead", price(cost.cacheRead)},
                     {"cacheWrite", price(cost.cacheWrite)}})) {
    return std::nullopt;
  }
  return cost;
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
                     {"cost",
                      [&](const ConfigNode& k, const json::value& y) {
                        if (auto c = readCost(r, k, y)) model.cost = *c;
                      }},
                     {"input",
                      [&](const ConfigNode& k, const json::value& y) {
                        const json::array* items = r.array(k, y);
                        if (items == nullptr) return;
                        for (std::size_t j = 0; j < items->size(); ++j) {
                          if (auto s = r.enumeration(r.item(k, j), (*items)[j], kModelInputs))
                            model.input.push_back(*s);
                        }
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
                      out.apiKeyRef = s.ref;
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
                        if (s.ref) {
                          out.headerRefs[std::string(name)] = *s.ref;
                        } else if (s.present && s.unavailable.empty()) {
                          out.headers[std::string(name)] = s.value;
                        }
                      }
                    }},
                   {"authHeader",
                    [&](const ConfigNode& c, const json::value& x) {
                      if (auto b = r.boolean(c, x)) out.authHeader = *b;
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
  const CatalogProvider* catalog = findCatalogProvider(out.id);
  if (catalog != nullptr) {
    if (!apiSet) {
      std::string_view api = catalogDefaultApi(*catalog);
      if (api.empty()) {
        // OpenClaw's default API for this provider, which Talon does not speak yet.
        r.error(node, DiagnosticCode::kValue,
                fmt::format("provider \"{}\" defaults to api \"{}\", which is not supported by Talon yet; set api "
                            "(and baseUrl) to an API Talon speaks, e.g. \"openai-completions\" for an "
                            "OpenAI-compatible endpoint",
                            out.id, catalog->api));
      } else {
        out.api = std::string(api);
      }
    }
    applyCatalogDefaults(*catalog, r.environment(), o->contains("apiKey"), out);
    if (out.baseUrl.empty() && !o->contains("baseUrl")) {
      r.error(r.child(node, "baseUrl"), DiagnosticCode::kValue,
              fmt::format("provider \"{}\" has no default baseUrl (it is account-specific); set it", out.id));
    }
    return true;
  }
  // OpenClaw's rule for custom (non-bundled) providers, same wording.
  for (std::string_view required : {std::string_view("baseUrl"), std::string_view("models")}) {
    if (o->contains(required)) continue;
    r.error(r.child(node, required), DiagnosticCode::kValue,
            fmt::format("custom model providers must declare {0}; provider overlays without {0} are only supported "
                        "for bundled providers ({1})",
                        required, ConfigReader::quotedList(catalogIds())));
  }
  return true;
}

void readModelsSection(ConfigReader& r, const ConfigNode& node, const json::value& value, TalonConfig& config) {
  r.readObject(node, value,
               {{"mode",
                 [&](const ConfigNode& c, const json::value& x) {
                   if (auto m = r.enumeration(c, x, kModelsModes)) config.modelsMode = *m;
                 }},
                {"providers", [&](const ConfigNode& c, const json::value& x) {
                   const json::object* p = r.object(c, x);
                   if (p == nullptr) return;
                   for (const auto& kv : *p) {
                     std::string_view id(kv.key().data(), kv.key().size());
                     ConfigNode pc = r.child(c, id, "*");
                     ProviderConfig provider;
                     provider.id = std::string(id);
                     if (id.empty()) r.error(pc, DiagnosticCode::kValue, "expected a non-empty provider id");
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
