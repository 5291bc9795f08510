#include "gateway/tools/tool_gate.h"

namespace talon::gateway::tools {

PendingDecisionPtr AllowAllToolGate::check(const ToolRequest& /*request*/, std::function<void(GateDecision)> decide) {
  decide(GateDecision::allowed());
  return nullptr;
}

}  // namespace talon::gateway::tools
