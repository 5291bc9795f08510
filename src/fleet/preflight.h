#pragma once
// Preflight: the checks that block a deploy (docs/fleet.md "Preflight" lists every finding id). Each
// finding has a stable id, a severity, the objects involved, a message and the fix. Checks are indexed
// (by port range, path, account, secret reference and binding key), never pairwise scans, so that an
// organisation of 1,000 gateways and 10,000 agents is checked in well under a second.
// runPreflight reads the inventory and, with PreflightOptions::checkHostPorts, binds TCP sockets on this
// host to see whether ports are free; otherwise pure. Safe to call from any thread.
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/json.h"
#include "config/source_map.h"
#include "fleet/layering.h"
#include "fleet/render.h"

namespace talon::fleet {

enum class FindingSeverity { kError, kWarning };

struct Finding {
  /// Stable id, e.g. "FLEET-PORT-CONFLICT".
  std::string id;
  FindingSeverity severity = FindingSeverity::kError;
  /// "gateway:<id>", "agent:<id>", "account:<channel>/<id>", …, sorted.
  std::vector<std::string> objects;
  std::string message;
  std::string fix;
  /// Where the offending value was written, when one place is to blame.
  config::SourceLocation location;

  bool isError() const { return severity == FindingSeverity::kError; }
  /// {"id", "severity", "objects", "message", "fix", "file", "line"} (file/line only when known).
  json::object toJson() const;
};

/// The port range a gateway occupies: OpenClaw uses base .. base + 110 (browser control at base + 2,
/// its CDP range up to control + 108: docs/gateway/multiple-gateways.md); Talon only the base port.
struct PortRange {
  int first = 0;
  int last = 0;
};
PortRange gatewayPortRange(std::string_view runtime, int port);

struct PreflightOptions {
  /// Bind-test the base port of every `process`-provider gateway on this host (FLEET-PORT-IN-USE).
  bool checkHostPorts = true;
  /// Run Talon's own config validation on the renders of talon-runtime gateways (FLEET-RENDER-INVALID).
  bool validateTalonRenders = true;
  /// Gateways whose own process (deployed by the fleet) holds their port now: not bind-tested, so that
  /// `talon fleet apply` can re-apply a running fleet.
  std::set<std::string> runningGateways;
};

struct PreflightReport {
  /// Sorted by (id, objects).
  std::vector<Finding> findings;
  std::size_t errorCount() const;
  std::size_t warningCount() const;
  bool ok() const { return errorCount() == 0; }
  /// {"ok", "errorCount", "warningCount", "findings": [...]}.
  json::object toJson() const;
};

/// Runs every check over `fleet`; `renders` are renderFleet(fleet) (used for FLEET-RENDER-INVALID).
PreflightReport runPreflight(const EffectiveFleet& fleet, const std::vector<RenderedGateway>& renders,
                             const PreflightOptions& options);

/// One row of the effective routing table (`talon fleet routes`).
struct RouteEntry {
  std::string gateway;
  std::string channel;
  /// The account id, "*" for every account, or "" for the channel's default account.
  std::string accountId;
  /// "kind:id" or "".
  std::string peer;
  /// OpenClaw's tier name: "binding.peer", "binding.peer.wildcard", "binding.guild+roles",
  /// "binding.guild", "binding.team", "binding.account", "binding.channel".
  std::string tier;
  std::string agentId;
  bool implied = false;
  config::SourceLocation location;
};

/// Every binding of every gateway, ordered by gateway, channel, account, tier (most specific first) and
/// then config order (which decides within a tier, as in OpenClaw's resolve-route).
std::vector<RouteEntry> routingTable(const EffectiveFleet& fleet);
/// {"gateway", "channel", "accountId", "peer", "tier", "agent", "implied", "file", "line"}.
json::object routeToJson(const RouteEntry& route);

}  // namespace talon::fleet
