#include "gateway/providers/anthropic_provider.h"
#include "gateway/providers/gemini_provider.h"
#include "gateway/providers/ollama_provider.h"
#include "gateway/providers/openai_provider.h"
#include "gateway/providers/openai_responses_provider.h"
#include "gateway/providers/provider_registry.h"

namespace talon::gateway {

namespace {
Result<ModelProviderPtr> createOpenAiCompletions(const config::ProviderConfig& config, const ProviderContext& context) {
  return createOpenAiProvider(config, context.http, context.clock);
}

Result<ModelProviderPtr> createAnthropicMessages(const config::ProviderConfig& config, const ProviderContext& context) {
  return createAnthropicProvider(config, context.http, context.clock);
}

Result<ModelProviderPtr> createOllama(const config::ProviderConfig& config, const ProviderContext& context) {
  return createOllamaProvider(config, context.http, context.clock);
}

Result<ModelProviderPtr> createOpenAiResponses(const config::ProviderConfig& config, const ProviderContext& context) {
  return createOpenAiResponsesProvider(config, context.http, context.clock);
}

Result<ModelProviderPtr> createGoogleGenerativeAi(const config::ProviderConfig& config,
                                                  const ProviderContext& context) {
  return createGeminiProvider(config, context.http, context.clock);
}

struct BuiltinProvider {
  const char* api;
  Result<ModelProviderPtr> (*factory)(const config::ProviderConfig&, const ProviderContext&);
};

/// The provider APIs, one line each.
constexpr BuiltinProvider kProviders[] = {
    {"openai-completions", createOpenAiCompletions},
    {"anthropic-messages", createAnthropicMessages},
    {"ollama", createOllama},
    {"openai-responses", createOpenAiResponses},
    {"google-generative-ai", createGoogleGenerativeAi},
};
}  // namespace

Status registerBuiltinProviders(ProviderRegistry& registry) {
  for (const auto& p : kProviders) {
    if (auto s = registry.add(p.api, p.factory); !s) return s;
  }
  return {};
}

}  // namespace talon::gateway
