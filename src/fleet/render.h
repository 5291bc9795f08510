#pragma once
// Render: each gateway's effective config in OpenClaw's config format (2026.9.6: gateway.mode/port/bind/
// auth, agents.entries.<id> with workspace/agentDir/model/skills/tools, agents.ownership, channels.<channel>
// .accounts.<accountId>, bindings[]). Secrets stay references exactly as the inventory wrote them
// ("${VAR}" or SecretRef objects): a render never holds a secret value. Keys are sorted at every depth
// and the text is pretty-printed, so two renders of the same inventory are byte-identical and diffable.
// Pure functions over an EffectiveFleet; safe to call from any thread.
#include <filesystem>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "fleet/layering.h"

namespace talon::fleet {

/// The file name of a rendered config inside its gateway's directory (`<out>/<gatewayId>/openclaw.json`).
inline constexpr std::string_view kRenderedConfigName = "openclaw.json";

/// The paths a gateway's process uses, from its effective settings.
struct GatewayPaths {
  std::string stateDir;
  /// configPath, default <stateDir>/openclaw.json.
  std::string configPath;
  std::string workspaceRoot;
};

/// The paths of inventory().gateways()[index].
GatewayPaths gatewayPaths(const EffectiveFleet& fleet, std::size_t gatewayIndex);
/// An agent's workspace (its own, else <workspaceRoot>/<agentId>) and agentDir (its own, else
/// <stateDir>/agents/<agentId>/agent, OpenClaw's layout under the gateway's state dir).
std::string agentWorkspace(const EffectiveFleet& fleet, std::size_t agentIndex);
std::string agentDirectory(const EffectiveFleet& fleet, std::size_t agentIndex);

/// One binding as it is rendered, with the agent it routes to and where it came from.
struct RenderedBinding {
  std::string agentId;
  BindingMatch match;
};

/// The bindings of inventory().gateways()[index], in the order they are rendered: agents by id, each
/// agent's explicit bindings first, then one binding per account it maps ({channel, accountId}).
std::vector<RenderedBinding> gatewayBindings(const EffectiveFleet& fleet, std::size_t gatewayIndex);

struct RenderedGateway {
  std::string id;
  /// "talon" | "openclaw".
  std::string runtime;
  json::object config;
  /// The file content: config with sorted keys, pretty-printed, trailing newline.
  std::string text;
};

/// Renders one gateway. A gateway in modelProxy.gateways gets models.providers entries pointed at the
/// model proxy with its virtual key as a "${TALON_FLEET_PROXY_KEY_<ID>}" reference (docs/fleet.md "Render").
RenderedGateway renderGateway(const EffectiveFleet& fleet, std::size_t gatewayIndex);
/// Renders every gateway, in gateway id order.
std::vector<RenderedGateway> renderFleet(const EffectiveFleet& fleet);

/// Writes `<outDir>/<id>/openclaw.json` for every render (atomically, mode 0600: a config may name
/// where secrets are). Errors: kIo naming the file.
Status writeRenders(const std::vector<RenderedGateway>& renders, const std::filesystem::path& outDir);

/// `v` with object keys sorted by code point at every depth.
json::value sortedKeys(const json::value& v);

}  // namespace talon::fleet
