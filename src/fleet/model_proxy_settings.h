#pragma once
// The inventory's `modelProxy` section (docs/fleet.md "Model proxy"): where `talon fleet serve` listens,
// the upstream providers whose real keys stay with it, which gateways' renders point at it, their spending
// limits and the model prices. Read once with the inventory (inventory.cpp); plain data afterwards.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.h"
#include "config/located_value.h"

namespace talon::fleet {

/// One upstream (modelProxy.providers.<id>).
struct ProxyProvider {
  /// The provider id: the part of a model ref before '/'.
  std::string id;
  /// e.g. "https://api.openai.com/v1", without a trailing '/'.
  std::string baseUrl;
  /// "openai-completions".
  std::string api = "openai-completions";
  /// The environment variable holding the real key (from "${VAR}" or an env SecretRef's id).
  std::string apiKeyVariable;
  config::SourceLocation location;
};

/// A spending limit in USD; an unset window is unlimited.
struct SpendLimit {
  std::optional<double> dailyUsd;
  std::optional<double> monthlyUsd;
  config::SourceLocation location;
};

/// The price of one model (modelProxy.pricing.<provider/model>), USD per million tokens.
struct ModelPrice {
  double inputPerMTokUsd = 0;
  double outputPerMTokUsd = 0;
  config::SourceLocation location;
};

struct ModelProxySettings {
  /// "ADDR:PORT" (default 127.0.0.1:18800).
  std::string listen = "127.0.0.1:18800";
  /// The base URL gateways reach the proxy at ("" when unset: http://<listen>); no trailing '/'.
  std::string url;
  int driftIntervalSeconds = 60;
  /// The gateways whose renders use the proxy; `allGateways` for "*".
  std::vector<std::string> gateways;
  bool allGateways = false;
  std::map<std::string, ProxyProvider, std::less<>> providers;
  std::map<std::string, SpendLimit, std::less<>> gatewayLimits;
  std::map<std::string, ModelPrice, std::less<>> pricing;
  config::SourceLocation location;

  /// Whether `gatewayId`'s render points at the proxy.
  bool usedBy(std::string_view gatewayId) const;
  /// `url`, else "http://" + listen.
  std::string baseUrl() const;
};

/// Reads a `modelProxy` section that already passed the schema (inventory_schema.cpp). Appends an error
/// Diagnostic naming file:line for what the schema cannot check: `listen` not ADDR:PORT, a `url` or
/// `baseUrl` that is not http(s), an apiKey that is not an env reference, an unknown gateway in `gateways`
/// or `limits.gateways`, a pricing key without '/'. `gatewayExists` answers for a gateway id.
ModelProxySettings readModelProxySettings(const config::LocatedValue& section,
                                          const std::function<bool(std::string_view)>& gatewayExists,
                                          std::vector<config::Diagnostic>& diagnostics);

/// The environment variable a secret input of the inventory names — "${VAR}", or a SecretRef with source
/// "env" (its `id`) — for the secrets `talon fleet serve` reads from its own environment (upstream keys,
/// alert signing secrets); nullopt for anything else (a plaintext value, a file or exec SecretRef).
std::optional<std::string> envSecretVariable(const config::LocatedValue& value);

/// "ADDR:PORT" split; nullopt when it is not an address, ':' and a port 1..65535 ("[::1]:80" for IPv6).
std::optional<std::pair<std::string, int>> parseListenAddress(std::string_view listen);

/// The environment variable a gateway's render references for its virtual key:
/// TALON_FLEET_PROXY_KEY_<ID> with the id upper-cased and every other character than A-Z0-9 as '_'.
std::string proxyKeyVariable(std::string_view gatewayId);

}  // namespace talon::fleet
