#pragma once
// Where a heartbeat's answer goes (OpenClaw resolveHeartbeatDeliveryTarget, dist targets-*.mjs;
// docs/gateway/heartbeat.md "target", "Delivery behavior"):
//   - "owner" (the default when `target` is unset): the operator's DM. Channels are tried in this order:
//     the session's last route's channel, then every configured channel in file order (a channel with
//     `enabled: false` is skipped). First pass: the first concrete `commands.ownerAllowFrom` entry whose
//     channel prefix ("telegram:123") is absent or names the channel; second pass: the first concrete
//     entry of the channel's `allowFrom` (the account's, else the channel's). "Concrete": not blank,
//     not "*", not ending in ":*" — a wildcard-only allowlist names no owner. The owner must be a direct
//     peer ("123", "user:123"; never "group:…" or "channel:…"). `to` is ignored. Nothing found:
//     reason "no-route".
//   - "last": the session's last route (channel, account, conversation — groups and channels included);
//     `to` replaces its recipient. No route recorded: reason "no-route".
//   - a channel id: `to`, else the session's last route when it is on that channel (reason "no-target"
//     otherwise).
//   - "none": reason "target-none".
// The account is `accountId` when set — which must then be one of the channel's configured `accounts`
// when it has any (else reason "no-route" for owner, "unknown-account" otherwise) — else the last
// route's account when on the same channel, else the channel's `defaultAccount`. A thread of the last
// route is kept when the delivery goes to the same conversation. Pure; thread-safe.
#include <optional>
#include <string>
#include <vector>

#include "config/config_model.h"
#include "gateway/routing/inbound_message.h"
#include "store/session_route_repository.h"

namespace talon::gateway::automation {

/// A resolved heartbeat destination, or why there is none.
struct HeartbeatDelivery {
  std::string channel;    // empty: nothing to deliver to (see `reason`)
  std::string to;         // "user:<id>", "group:<id>", "channel:<id>" or a bare (direct) id
  std::string accountId;  // empty: the channel's default account
  std::string threadId;   // empty: none
  routing::PeerKind kind = routing::PeerKind::kDirect;  // the kind of `to`
  /// When `channel` is empty: "target-none", "no-route", "no-target" or "unknown-account" (OpenClaw's
  /// skip reasons).
  std::string reason;

  bool deliverable() const { return !channel.empty(); }
};

/// What the resolution reads.
struct HeartbeatTargetInputs {
  const config::HeartbeatConfig* heartbeat = nullptr;        // the agent's merged block (required)
  const std::vector<std::string>* ownerAllowFrom = nullptr;  // commands.ownerAllowFrom (null: none)
  const config::ChannelsConfig* channels = nullptr;          // the configured channels (null: none)
  /// The last route of the heartbeat's session (its main session, or heartbeat.session).
  std::optional<store::SessionRouteRecord> last;
};

/// Resolves the destination as the file comment says.
HeartbeatDelivery resolveHeartbeatDelivery(const HeartbeatTargetInputs& in);

}  // namespace talon::gateway::automation
