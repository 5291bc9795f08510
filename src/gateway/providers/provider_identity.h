#pragma once
// What a run record says about the provider that answered (issue "provider identity in every run
// record"): its id, API, base URL origin and price table. Never a credential.
#include <map>
#include <string>
#include <string_view>

#include "config/config_model.h"

namespace talon::gateway {

/// A configured provider as run records name it. Plain data.
struct ProviderIdentity {
  std::string api;            // "openai-completions", ...
  std::string baseUrlOrigin;  // "https://api.openai.com" (scheme, host, port; no user info, path or query)
  /// Prices by the vendor's model id (models.providers.<id>.models[].cost), USD per million tokens.
  std::map<std::string, config::ModelCost> costs;
};

/// The identity of a configured provider.
ProviderIdentity providerIdentity(const config::ProviderConfig& provider);

/// "scheme://host[:port]" of an absolute URL, lower-cased scheme and host, user info dropped; "" when
/// `url` is not an absolute URL with a host.
std::string urlOrigin(std::string_view url);

/// The cost in USD of `inputTokens` and `outputTokens` at `cost`'s prices (per million tokens).
double usageCostUsd(const config::ModelCost& cost, int64_t inputTokens, int64_t outputTokens);

}  // namespace talon::gateway
