#include "config/provider_catalog.h"

#include <gtest/gtest.h>

#include "config/config_test_util.h"
#include "config/config_validator.h"
#include "config/json5.h"

namespace talon::config {
namespace {

using testing::validate;

using testing::messages;

const ProviderConfig* provider(const TalonConfig& c, std::string_view id) {
  for (const auto& p : c.providers) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

TEST(ProviderCatalogTest, KnowsOpenClawsBundledProviders) {
  for (std::string_view id : {"openai", "anthropic", "ollama", "openrouter", "groq", "xai", "deepseek", "mistral",
                              "together", "moonshot", "alibaba", "minimax", "lmstudio", "vllm", "vercel-ai-gateway",
                              "cloudflare-ai-gateway", "synthetic", "google"}) {
    EXPECT_NE(findCatalogProvider(id), nullptr) << id;
  }
  EXPECT_EQ(findCatalogProvider("custom-proxy"), nullptr);
  const CatalogProvider* moonshot = findCatalogProvider("moonshot");
  EXPECT_EQ(moonshot->baseUrl, "https://api.moonshot.ai/v1");
  EXPECT_EQ(moonshot->api, "openai-completions");
  EXPECT_EQ(moonshot->envVars[0], "MOONSHOT_API_KEY");
  EXPECT_EQ(findCatalogProvider("ollama")->baseUrl, "http://127.0.0.1:11434");  // native API: no /v1
}

TEST(ProviderCatalogTest, AnOverlayNamingOnlyTheIdAndAKeyWorksAsInOpenClaw) {
  ValidationResult r = validate(R"({
    agents: { defaults: { model: 'moonshot/kimi-k2.6' } },
    models: { providers: { moonshot: { apiKey: '${KEY}' }, openrouter: {} } },
  })",
                                {{"KEY", "sk-m"}, {"OPENROUTER_API_KEY", "sk-or"}});
  EXPECT_TRUE(r.diagnostics.empty()) << messages(r);
  const ProviderConfig* m = provider(r.config, "moonshot");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->baseUrl, "https://api.moonshot.ai/v1");
  EXPECT_EQ(m->api, "openai-completions");
  EXPECT_EQ(m->apiKey, "sk-m");
  EXPECT_EQ(m->source, "config");
  const ProviderConfig* o = provider(r.config, "openrouter");
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->baseUrl, "https://openrouter.ai/api/v1");
  EXPECT_EQ(o->apiKey, "sk-or");  // from the catalog's env var
  EXPECT_EQ(o->apiKeyEnv, "OPENROUTER_API_KEY");
}

TEST(ProviderCatalogTest, OllamaApiKeyAddsTheImplicitLocalOllamaProviderWhoseModelsAreDiscovered) {
  ValidationResult r = validate("{}", {{"OLLAMA_API_KEY", "ollama-local"}});
  EXPECT_TRUE(r.diagnostics.empty()) << messages(r);
  const ProviderConfig* o = provider(r.config, "ollama");
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->api, "ollama");
  EXPECT_EQ(o->baseUrl, "http://127.0.0.1:11434");
  EXPECT_TRUE(o->models.empty());
  EXPECT_EQ(o->source, "catalog");

  EXPECT_EQ(provider(validate("{}").config, "ollama"), nullptr);  // without the variable: none
  EXPECT_EQ(provider(validate("{ models: { mode: 'replace' } }", {{"OLLAMA_API_KEY", "k"}}).config, "ollama"), nullptr);

  // A custom provider with api "ollama" on another host suppresses it; one on loopback does not.
  ValidationResult remote = validate(R"({
    models: { providers: { lab: { api: 'ollama', baseUrl: 'http://10.0.0.7:11434', models: [{ id: 'qwen3', name: 'Qwen 3' }] } } },
  })",
                                     {{"OLLAMA_API_KEY", "k"}});
  EXPECT_TRUE(remote.diagnostics.empty()) << messages(remote);
  EXPECT_EQ(provider(remote.config, "ollama"), nullptr);
  ValidationResult loopback = validate(R"({
    models: { providers: { second: { api: 'ollama', baseUrl: 'http://127.0.0.2:11434', models: [{ id: 'qwen3', name: 'Qwen 3' }] } } },
  })",
                                       {{"OLLAMA_API_KEY", "k"}});
  EXPECT_TRUE(loopback.diagnostics.empty()) << messages(loopback);
  EXPECT_NE(provider(loopback.config, "ollama"), nullptr);
}

TEST(ProviderCatalogTest, MergeModeAddsACatalogProviderThatAModelRefNames) {
  ValidationResult r = validate(R"({
    agents: { defaults: { model: { primary: 'groq/llama-3.3-70b', fallbacks: ['deepseek/deepseek-chat'] } } },
  })",
                                {{"GROQ_API_KEY", "gsk"}});
  EXPECT_TRUE(r.diagnostics.empty()) << messages(r);
  const ProviderConfig* g = provider(r.config, "groq");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->source, "catalog");
  EXPECT_EQ(g->baseUrl, "https://api.groq.com/openai/v1");
  EXPECT_EQ(g->apiKey, "gsk");
  const ProviderConfig* d = provider(r.config, "deepseek");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->apiKey, "");
  EXPECT_EQ(d->apiKeyUnavailable, "no apiKey configured and env var DEEPSEEK_API_KEY is not set");

  ValidationResult replaced = validate(R"({
    agents: { defaults: { model: 'groq/llama-3.3-70b' } }, models: { mode: 'replace' },
  })");
  EXPECT_TRUE(replaced.diagnostics.empty()) << messages(replaced);
  EXPECT_EQ(provider(replaced.config, "groq"), nullptr);
  EXPECT_EQ(replaced.config.modelsMode, "replace");
}

// Every bundled provider's default API is one Talon speaks, so an overlay naming only the id works
// (catalogDefaultApi is empty for an API that is not implemented yet, which validation refuses).
TEST(ProviderCatalogTest, EveryCatalogProvidersDefaultApiIsSpoken) {
  for (const auto& entry : providerCatalog()) {
    EXPECT_FALSE(catalogDefaultApi(entry).empty()) << entry.id << " defaults to " << entry.api;
  }
  ValidationResult r = validate(R"({ models: { providers: { minimax: { apiKey: 'k' } } } })");
  EXPECT_TRUE(r.diagnostics.empty()) << messages(r);
  const ProviderConfig* m = provider(r.config, "minimax");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->api, "anthropic-messages");
}

TEST(ProviderCatalogTest, OpenAiUsesChatCompletionsWhileTalonDoesNotSpeakResponses) {
  ValidationResult r = validate(R"({ models: { providers: { openai: { apiKey: 'sk' } } } })");
  EXPECT_TRUE(r.diagnostics.empty()) << messages(r);
  const ProviderConfig* o = provider(r.config, "openai");
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->api, isSupportedProviderApi("openai-responses") ? "openai-responses" : "openai-completions");
  EXPECT_EQ(o->baseUrl, "https://api.openai.com/v1");
}

TEST(ProviderCatalogTest, ModelCostInputAndAuthHeaderAreRead) {
  ValidationResult r = validate(R"({ models: { providers: { local: {
    baseUrl: 'http://127.0.0.1:4000/v1', authHeader: true,
    models: [ { id: 'm', name: 'M', input: ['text', 'image'], cost: { input: 1.5, output: 6, cacheRead: 0.1 } } ] } } } })");
  EXPECT_TRUE(r.diagnostics.empty()) << messages(r);
  const ProviderConfig* p = provider(r.config, "local");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->authHeader, true);
  ASSERT_EQ(p->models.size(), 1u);
  ASSERT_TRUE(p->models[0].cost);
  EXPECT_DOUBLE_EQ(p->models[0].cost->input, 1.5);
  EXPECT_DOUBLE_EQ(p->models[0].cost->output, 6);
  EXPECT_DOUBLE_EQ(p->models[0].cost->cacheRead, 0.1);
  EXPECT_EQ(p->models[0].input, (std::vector<std::string>{"text", "image"}));

  ValidationResult bad = validate(R"({ models: { providers: { local: { baseUrl: 'http://h/v1',
    models: [ { id: 'm', name: 'M', input: ['audio'], cost: { input: -1 } } ] } } } })");
  EXPECT_EQ(bad.diagnostics.size(), 2u) << messages(bad);
}

}  // namespace
}  // namespace talon::config
