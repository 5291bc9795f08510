#pragma once
// A deployed gateway's live state as the fleet reads it through the protocol (OpenClaw gateway protocol v4,
// the same answers from Talon and stock OpenClaw 2026.9.6): which of the inventory's agents it runs
// (`agents.list`) and what went wrong on it recently (`health` channel accounts, `logs.tail` error lines).
// Used by `talon fleet status` and `talon fleet agents list --live` (docs/fleet.md "Status"). Pure functions
// over the answers; no I/O; thread-safe.
#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"

namespace talon::fleet {

/// One agent compared between the inventory and a gateway.
struct LiveAgent {
  std::string id;
  /// "running" (inventory and gateway), "absent" (inventory only), "unmanaged" (gateway only) or
  /// "unknown" (the gateway could not be asked).
  std::string state;
  json::object toJson() const { return json::object{{"id", id}, {"state", state}}; }
};

/// The agent ids of an `agents.list` payload (`{agents: [{id, ...}]}`). Errors: kUpstream when the payload
/// has no `agents` array.
Result<std::set<std::string>> agentIdsFromAgentsList(const json::value& payload);

/// The inventory's agents of a gateway (`inventoryAgents`, in that order) against the ids the gateway runs:
/// each "running" or "absent", then the gateway's agents the inventory does not know, "unmanaged", in id order.
std::vector<LiveAgent> compareLiveAgents(const std::vector<std::string>& inventoryAgents,
                                         const std::set<std::string>& running);

/// The inventory's agents, each "unknown" (the gateway could not be asked).
std::vector<LiveAgent> unknownLiveAgents(const std::vector<std::string>& inventoryAgents);

/// Something that went wrong recently on a gateway.
struct RecentError {
  /// RFC 3339 UTC, as the gateway gave it; "" for a current condition the runtime does not time (a channel
  /// account's lastError).
  std::string time;
  /// "channel <provider>/<accountId>", "channel <provider>/<accountId> probe" or "log".
  std::string source;
  /// At most kRecentErrorMaxBytes bytes, control characters as spaces, secrets replaced by "***".
  std::string message;
  json::object toJson() const;
};

/// How many recent errors a gateway's status keeps, and the longest message (bytes).
constexpr std::size_t kRecentErrorLimit = 5;
constexpr std::size_t kRecentErrorMaxBytes = 200;
/// The `logs.tail` request the errors are read from (lines, bytes).
constexpr int64_t kRecentErrorTailLines = 500;
constexpr int64_t kRecentErrorTailBytes = 256 * 1024;

/// The recent errors of a gateway from its answers, at most `limit`: first the current channel conditions
/// of `health` (every `channels.<provider>.accounts.<id>` with a non-empty `lastError`, or a `probe` with
/// `ok: false` and its `error`, timed by `lastProbeAt`), then the error-level lines of `logs.tail`
/// newest first (Talon's `{"time", "level": "error"|"critical", "message"}`; OpenClaw's
/// `{"time", "_meta": {"logLevelName": "ERROR"|"FATAL"}, "message"}`). `health` or `logsTail` may be null
/// (not answered). Every occurrence of a value in `secrets` (those of 4 bytes or more) is replaced by "***"
/// before the message is cut.
std::vector<RecentError> recentErrorsFrom(const json::value& health, const json::value& logsTail,
                                          const std::vector<std::string>& secrets,
                                          std::size_t limit = kRecentErrorLimit);

}  // namespace talon::fleet
