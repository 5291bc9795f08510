#include "gateway/providers/provider_registry.h"

namespace talon::gateway {

Status ProviderRegistry::add(std::string api, ProviderFactory factory) {
  if (api.empty() || !factory) return fail(ErrorCode::kInvalidArgument, "a provider API needs a name and a factory");
  if (!factories_.emplace(api, std::move(factory)).second) {
    return fail(ErrorCode::kAlreadyExists, "provider API " + api + " is registered twice");
  }
  return {};
}

Result<ModelProviderPtr> ProviderRegistry::create(const config::ProviderConfig& config,
                                                  const ProviderContext& context) const {
  auto it = factories_.find(config.api);
  if (it == factories_.end()) {
    return fail(notSupportedYet("models.providers." + config.id + ".api \"" + config.api + "\""));
  }
  return it->second(config, context);
}

std::vector<std::string> ProviderRegistry::apis() const {
  std::vector<std::string> out;
  for (const auto& [api, f] : factories_) out.push_back(api);
  return out;
}

}  // namespace talon::gateway
