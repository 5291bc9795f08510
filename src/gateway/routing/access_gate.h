#pragma once
// The access gate (ARCHITECTURE.md "The path of a message", step 2): decides whether an inbound channel
// message may reach an agent at all (DM/group policy: pairing, allowlist, open, disabled; mention
// gating). Talon implements no such policy yet — `channels.*.dmPolicy`, `allowFrom`, `groupPolicy` are
// refused by config validation as not supported — so every message is admitted; the decision is still
// made here, once, so the policies plug in without touching the inbound path.
#include <string>

#include "gateway/routing/inbound_message.h"

namespace talon::gateway::routing {

/// The gate's answer for one message.
struct AccessDecision {
  bool admitted = true;
  std::string reason;  // why, for logs and (when refused) the audit record
};

/// Thread-safe (immutable).
class AccessGate {
 public:
  /// Admits every message (no policy is configurable yet; see above).
  AccessDecision decide(const InboundMessage& message) const;
};

}  // namespace talon::gateway::routing
