#pragma once
// Model provider factories by `api` (ARCHITECTURE.md "Seams"): a provider API is new files plus one line
// in builtin_providers.cpp's table. OpenClaw's `models.providers.<id>.api` values name them
// ("openai-completions", later "anthropic-messages", "ollama", …).
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "config/config_model.h"
#include "gateway/providers/model_provider.h"
#include "net/http_client.h"

namespace talon::gateway {

/// What a factory gets besides the provider's config.
struct ProviderContext {
  net::HttpClientPtr http;  // the gateway's shared outbound HTTP client
  ClockPtr clock;
};

using ProviderFactory = std::function<Result<ModelProviderPtr>(const config::ProviderConfig&, const ProviderContext&)>;

/// Fill once at start-up, then share: create() and apis() are const and thread-safe.
class ProviderRegistry {
 public:
  /// Errors: kInvalidArgument for an empty api or factory, kAlreadyExists for a second one.
  Status add(std::string api, ProviderFactory factory);
  /// A provider for `config` (by config.api). Errors: kUnsupported
  /// (`models.providers.<id>.api "<api>" is not supported by Talon yet`) for an unknown api; else the
  /// factory's.
  Result<ModelProviderPtr> create(const config::ProviderConfig& config, const ProviderContext& context) const;
  /// Registered apis, sorted.
  std::vector<std::string> apis() const;

 private:
  std::map<std::string, ProviderFactory, std::less<>> factories_;
};

/// Registers every built-in provider API (the table in builtin_providers.cpp).
Status registerBuiltinProviders(ProviderRegistry& registry);

}  // namespace talon::gateway
