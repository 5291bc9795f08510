#pragma once
// The access gate (ARCHITECTURE.md "The path of a message", step 2): decides whether an inbound channel
// message may reach an agent at all, before any session or run exists. Policies are OpenClaw's, per
// channel account (docs/gateway/config-channels/shared-policies.md, docs/channels/pairing.md,
// docs/channels/groups.md; dist `dm-policy-shared`, `allow-from`, `store-allow-from`):
//
//   direct messages, by `dmPolicy`:
//     pairing (default)  `allowFrom` (or "*") or a sender approved in the pairing store; anyone else is
//                        refused and gets a pairing code (AccessGate::requestPairing)
//     allowlist          `allowFrom` only (the pairing store is not read, as in OpenClaw)
//     open               everyone when `allowFrom` has "*", else only the senders it lists
//     disabled           nobody
//   group and channel messages, in this order:
//     `groupPolicy` disabled → refused; allowlist (default) → the group must be a key of `groups` (or
//     "*" be one) and the sender be in `groupAllowFrom` (empty or unset: `allowFrom`; never the pairing
//     store; "*" admits every member); open → no allowlist check;
//     then mention gating: `groups.<id>.requireMention` (else `groups."*"`, else true) refuses a message
//     the channel reports as not mentioning the agent (InboundMessage::mentioned; when the channel cannot
//     tell, gating is not enforced, as in OpenClaw).
//
// Inheritance: an account's unset key takes the channel's; the channel's unset `groupPolicy` takes
// `channels.defaults.groupPolicy`; a channel absent from the config uses pairing / allowlist (fail
// closed). Sender ids are compared exactly after trimming; account ids after normalizeAccountId.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "config/config_model.h"
#include "gateway/routing/inbound_message.h"
#include "store/channel_pairing_repository.h"

namespace talon::store {
class Store;
}

namespace talon::gateway::routing {

/// The gate's answer for one message.
struct AccessDecision {
  bool admitted = true;
  /// A stable reason code: "dm_open", "dm_allowlisted", "dm_paired", "group_allowed" when admitted;
  /// "dm_disabled", "dm_not_allowlisted", "dm_pairing_required", "group_disabled",
  /// "group_not_allowlisted", "group_sender_not_allowlisted", "mention_required" when refused. Used as
  /// the `reason` label of talon_access_refused_total and in the audit record.
  std::string reason;
  /// True when refused under dmPolicy "pairing": the caller requests a pairing code for the sender.
  bool pairing = false;
  /// The policy that decided, for logs and audit: `dmPolicy=pairing`, `groupPolicy=allowlist`.
  std::string policy;
};

/// The effective access settings of one channel account (after inheritance).
struct EffectiveAccess {
  std::string dmPolicy = "pairing";
  std::vector<std::string> allowFrom;
  std::string groupPolicy = "allowlist";
  std::vector<std::string> groupAllowFrom;  // as configured (the fallback to allowFrom is decide()'s)
  std::map<std::string, config::ChannelGroupConfig> groups;
};

/// Thread-safe: the channel settings are an immutable snapshot that update() swaps (live config reload);
/// decide() reads the store.
class AccessGate {
 public:
  /// `channels` (copied) is the config's `channels`; `store` (may be null: no pairing store, every
  /// pairing-policy stranger is refused and requestPairing() fails) holds the pairing requests and
  /// approved senders and must outlive the gate; `clock` dates requests.
  AccessGate(config::ChannelsConfig channels, store::Store* store, ClockPtr clock);

  /// Replaces the channel settings (`channels` of a config applied by live reload, docs/config.md
  /// "Reload"); decisions from now on use them. Thread-safe.
  void update(config::ChannelsConfig channels);

  /// The settings that apply to `channel` / `accountId` (both as sent; normalised here).
  EffectiveAccess resolve(std::string_view channel, std::string_view accountId) const;

  /// Decides for one message. Under dmPolicy "pairing" it reads the pairing allow store (one short
  /// SQLite read on the caller's thread); a store read failure refuses the message (reason
  /// "dm_pairing_required", logged) — access is never granted on an error.
  AccessDecision decide(const InboundMessage& message) const;

  /// Records (or refreshes) the pending pairing request of the message's sender; `done` runs once on the
  /// store's writer thread with the outcome: a code and `created` (send the code only then), or no code
  /// when the account already has the maximum of pending requests. Errors: kFailedPrecondition without
  /// a store; the store's.
  void requestPairing(const InboundMessage& message,
                      std::function<void(Result<store::ChannelPairingOutcome>)> done) const;

  /// The text sent to a refused sender with its code (after OpenClaw's `buildPairingReply`).
  static std::string pairingReply(std::string_view channel, std::string_view senderId, std::string_view code);

 private:
  std::atomic<std::shared_ptr<const config::ChannelsConfig>> channels_;
  store::Store* store_;
  ClockPtr clock_;
};

}  // namespace talon::gateway::routing
