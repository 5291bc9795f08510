#pragma once
// OpenClaw's bundled provider catalog: the provider ids OpenClaw knows without a `models.providers`
// entry, with their default base URL, API and the env vars their key is read from. Sources: the
// `modelCatalog.providers` and `setup.providers[].envVars` of each provider plugin manifest in OpenClaw
// 2026.9.6 (dist/extensions/<id>/openclaw.plugin.json, provider-catalog.js) and, for providers shipped
// as installable plugins, their docs/providers/<id>.md ("Base URL", key variable).
//
// What it changes (docs/config.md, "Model providers"):
//   - an overlay `models.providers.<id>` for a catalog id may omit `baseUrl`, `api` and `models`; the
//     catalog fills them, and the key comes from the first set env var when `apiKey` is not given;
//   - under `models.mode: "merge"` (the default) a model ref naming a catalog provider that has no
//     `models.providers` entry gets one from the catalog (its key from the env), as in OpenClaw;
//   - a catalog provider whose API Talon does not speak yet is an error ("not supported yet"), never a
//     silently broken provider.
// Immutable data; thread-safe.
#include <array>
#include <span>
#include <string_view>

#include "config/config_model.h"
#include "config/config_reader.h"

namespace talon::config {

/// One bundled provider.
struct CatalogProvider {
  std::string_view id;
  /// OpenClaw's API for it ("openai-responses", "anthropic-messages", ...).
  std::string_view api;
  /// Default base URL; empty when it is account-specific and must be configured (cloudflare-ai-gateway).
  std::string_view baseUrl;
  /// Env vars holding the key, in OpenClaw's order (the first set one wins); unused entries empty.
  std::array<std::string_view, 3> envVars;
  /// The API Talon uses while it does not speak `api`, when the same endpoint also serves it (OpenAI's
  /// and xAI's /v1 serve chat completions as well as responses); empty when there is none.
  std::string_view compatApi;
  /// A local server that needs no key (ollama, lmstudio, vllm, sglang, litellm).
  bool local = false;
};

/// The catalog, sorted by id.
std::span<const CatalogProvider> providerCatalog();
/// The catalog entry of `id`, or nullptr.
const CatalogProvider* findCatalogProvider(std::string_view id);

/// True when Talon's providers implement `api` (the list lives in sections/models_section.cpp beside
/// the `api` values it validates).
bool isSupportedProviderApi(std::string_view api);

/// The API a catalog provider gets when the config names none: its own when Talon speaks it, else its
/// compatApi; empty when Talon speaks neither.
std::string_view catalogDefaultApi(const CatalogProvider& entry);

/// Fills what a catalog provider's overlay left out: baseUrl, and the key from the catalog's env vars
/// when `apiKey` was not configured (sets apiKeyEnv, or apiKeyUnavailable naming the variables when
/// none is set and the provider is not local). The api is the caller's (readProvider decides it).
void applyCatalogDefaults(const CatalogProvider& entry, const Environment& env, bool apiKeyConfigured,
                          ProviderConfig& provider);

/// `models.mode: "merge"`: adds a provider from the catalog for every catalog id that an agent model
/// ref (`agents.defaults.model`, `agents.entries.*.model`, primaries and fallbacks) names and
/// `models.providers` does not configure. A ref whose catalog provider has no API Talon speaks is an
/// error at the ref's path. Also adds the implicit local `ollama` provider (no `models`: its models are
/// discovered) when OLLAMA_API_KEY is set and no provider would otherwise reach a local Ollama: none
/// with id "ollama", none with `api: "ollama"` on a non-loopback baseUrl (OpenClaw 2026.9.6,
/// docs/providers/ollama/model-discovery.md). Does nothing under "replace".
void addImplicitCatalogProviders(ConfigReader& reader, TalonConfig& config);

}  // namespace talon::config
