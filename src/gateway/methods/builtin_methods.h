#pragma once
// The method families Talon registers, one registration function per family file.
#include "gateway/gateway_services.h"
#include "gateway/methods/method_registry.h"

namespace talon::gateway::methods {

/// Registers every built-in family (the table in builtin_methods.cpp). Errors: the first
/// MethodRegistry::add error, naming the method.
Status registerBuiltinMethods(MethodRegistry& registry, const GatewayServices& services);

/// One per family file; each returns the first registration error.
Status registerHealthMethods(MethodRegistry& registry, const GatewayServices& services);   // health_methods.cpp
Status registerAgentMethods(MethodRegistry& registry, const GatewayServices& services);    // agent_methods.cpp
Status registerSessionMethods(MethodRegistry& registry, const GatewayServices& services);  // session_methods.cpp
Status registerChatMethods(MethodRegistry& registry, const GatewayServices& services);     // chat_methods.cpp
Status registerConfigMethods(MethodRegistry& registry, const GatewayServices& services);   // config_methods.cpp
Status registerConfigWriteMethods(MethodRegistry& registry,
                                  const GatewayServices& services);                        // config_write_methods.cpp
Status registerModelMethods(MethodRegistry& registry, const GatewayServices& services);    // model_methods.cpp
Status registerLogMethods(MethodRegistry& registry, const GatewayServices& services);      // log_methods.cpp
Status registerChannelMethods(MethodRegistry& registry, const GatewayServices& services);  // channel_methods.cpp
Status registerDeviceMethods(MethodRegistry& registry, const GatewayServices& services);   // device_methods.cpp
// channel_pairing_methods.cpp
Status registerChannelPairingMethods(MethodRegistry& registry, const GatewayServices& services);
Status registerSendMethods(MethodRegistry& registry, const GatewayServices& services);       // send_methods.cpp
Status registerCronMethods(MethodRegistry& registry, const GatewayServices& services);       // cron_methods.cpp
Status registerRunMethods(MethodRegistry& registry, const GatewayServices& services);        // run_methods.cpp
Status registerHeartbeatMethods(MethodRegistry& registry, const GatewayServices& services);  // heartbeat_methods.cpp

}  // namespace talon::gateway::methods
