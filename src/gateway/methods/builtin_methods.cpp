#include "gateway/methods/builtin_methods.h"

namespace talon::gateway::methods {

namespace {
using RegisterFamily = Status (*)(MethodRegistry&, const GatewayServices&);

/// The families, one line each. A new family: a new file with its register function, plus one line here.
// One family per line (formatting off), so that adding one is a one-line change that merges cleanly.
// clang-format off
constexpr RegisterFamily kFamilies[] = {
    registerHealthMethods,
    registerAgentMethods,
    registerSessionMethods,
    registerChatMethods,
    registerConfigMethods,
    registerConfigWriteMethods,
    registerModelMethods,
    registerLogMethods,
    registerChannelMethods,
    registerDeviceMethods,
    registerChannelPairingMethods,
    registerSendMethods,
    registerCronMethods,
    registerRunMethods,
    registerHeartbeatMethods,
};
// clang-format on
}  // namespace

Status registerBuiltinMethods(MethodRegistry& registry, const GatewayServices& services) {
  for (auto family : kFamilies) {
    if (auto s = family(registry, services); !s) return s;
  }
  return {};
}

}  // namespace talon::gateway::methods
