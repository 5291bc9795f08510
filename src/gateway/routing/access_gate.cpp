#include "gateway/routing/access_gate.h"

namespace talon::gateway::routing {

AccessDecision AccessGate::decide(const InboundMessage&) const { return AccessDecision{true, "no access policy"}; }

}  // namespace talon::gateway::routing
