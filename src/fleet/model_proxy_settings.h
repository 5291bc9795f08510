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

/// Who a virtual key and its usage belong to (modelProxy.attribution).
enum class ProxyAttribution {
  /// One key per gateway; its agents share the gateway's provider entries (the default).
  kGateway,
  /// One key per proxied agent, each agent with its own provider entries `<provider>--<agentId>`.
  kAgent,
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
  /// modelProxy.attribution ("gateway" | "agent").
  ProxyAttribution attribution = ProxyAttribution::kGateway;
  std::map<std::string, SpendLimit, std::less<>> gatewayLimits;
  /// modelProxy.limits.agents, by agent id (only with attribution "agent").
  std::map<std::string, SpendLimit, std::less<>> agentLimits;
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
/// or `limits.gateways`, an unknown agent in `limits.agents` or one whose gateway does not use the proxy,
/// `limits.agents` without `attribution: "agent"`, a pricing key without '/'. `gatewayExists` answers for
/// a gateway id; `agentGateway` gives an agent's gateway id, nullopt for an unknown agent.
ModelProxySettings readModelProxySettings(
    const config::LocatedValue& section, const std::function<bool(std::string_view)>& gatewayExists,
    const std::function<std::optional<std::string>(std::string_view)>& agentGateway,
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

/// The environment variable a gateway's render references for one agent's virtual key (attribution
/// "agent"): TALON_FLEET_PROXY_KEY_<GATEWAY>__<AGENT>, both ids written as in proxyKeyVariable().
std::string proxyKeyVariable(std::string_view gatewayId, std::string_view agentId);

/// The id of an agent's own provider entry in its gateway's render (attribution "agent"):
/// `<provider>--<agentId>`. Both OpenClaw (any string; ids are compared lower-cased, and agent ids are
/// lower-case) and Talon accept it as a `models.providers` key; the agent's model ref then reads
/// `<provider>--<agentId>/<model>`.
std::string proxyAgentProviderId(std::string_view providerId, std::string_view agentId);

}  // namespace talon::fleet
