#include "gateway/providers/provider_identity.h"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cctype>

namespace talon::gateway {

ProviderIdentity providerIdentity(const config::ProviderConfig& provider) {
  ProviderIdentity id;
  id.api = provider.api;
  id.baseUrlOrigin = urlOrigin(provider.baseUrl);
  for (const auto& m : provider.models) {
    if (m.cost) id.costs[m.id] = *m.cost;
  }
  return id;
}

std::string urlOrigin(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || !parsed->has_authority() || parsed->encoded_host().empty()) return {};
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
  };
  std::string origin = lower(std::string(parsed->scheme())) + "://" + lower(std::string(parsed->encoded_host()));
  if (parsed->has_port()) origin += ":" + std::string(parsed->port());
  return origin;
}

double usageCostUsd(const config::ModelCost& cost, int64_t inputTokens, int64_t outputTokens) {
  return (static_cast<double>(inputTokens) * cost.input + static_cast<double>(outputTokens) * cost.output) / 1e6;
}

}  // namespace talon::gateway
