// The config family: `config.get` (OpenClaw 2026.9.6 shape, tests/data/wire/res.config.get.json).
#include "gateway/methods/builtin_methods.h"

namespace talon::gateway::methods {

Status registerConfigMethods(MethodRegistry& registry, const GatewayServices& services) {
  // OpenClaw's spec gives config.get operator.read explicitly, although config.* is an admin prefix.
  return registry.add({"config.get", protocol::Scope::kRead, {}, [config = services.config](const MethodCall& call) {
                         const auto& c = *config;
                         json::value raw = c.exists ? json::value(toPrettyJson(c.redacted)) : json::value(nullptr);
                         json::object payload{{"path", c.path},
                                              {"exists", c.exists},
                                              {"raw", raw},
                                              {"parsed", c.redacted},
                                              {"sourceConfig", c.redacted},
                                              {"resolved", c.redacted},
                                              {"runtimeConfig", c.redacted},
                                              {"config", c.redacted},
                                              {"valid", true},
                                              {"hash", c.hash},
                                              {"configRevisionHash", c.hash},
                                              {"appliedConfigHash", c.hash},
                                              {"issues", json::array{}},
                                              {"warnings", c.warnings},
                                              {"legacyIssues", json::array{}}};
                         call.ok(json::serialize(payload));
                       }});
}

}  // namespace talon::gateway::methods
