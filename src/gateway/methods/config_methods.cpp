// The config family: `config.get` (OpenClaw 2026.9.6 shape, tests/data/wire/res.config.get.json). The
// writes are in config_write_methods.cpp.
#include "gateway/live_config.h"
#include "gateway/methods/builtin_methods.h"

namespace talon::gateway::methods {

Status registerConfigMethods(MethodRegistry& registry, const GatewayServices& services) {
  // OpenClaw's spec gives config.get operator.read explicitly, although config.* is an admin prefix.
  // Like OpenClaw, it shows the config file (the last valid content, what a write's baseHash must match);
  // `appliedConfigHash` and `runtimeConfig` are what the gateway runs, which differs while a change waits
  // for a restart.
  return registry.add({"config.get", protocol::Scope::kRead, {}, [live = &services.liveConfig](const MethodCall& call) {
                         auto file = live->file();
                         auto running = live->running();
                         const auto& c = *file;
                         json::value raw = c.exists ? json::value(toPrettyJson(c.redacted)) : json::value(nullptr);
                         json::object payload{{"path", c.path},
                                              {"exists", c.exists},
                                              {"raw", raw},
                                              {"parsed", c.redacted},
                                              {"sourceConfig", c.redacted},
                                              {"resolved", c.redacted},
                                              {"runtimeConfig", running->redacted},
                                              {"config", c.redacted},
                                              {"valid", true},
                                              {"hash", c.hash},
                                              {"configRevisionHash", c.hash},
                                              {"appliedConfigHash", running->hash},
                                              {"issues", json::array{}},
                                              {"warnings", c.warnings},
                                              {"legacyIssues", json::array{}}};
                         call.ok(json::serialize(payload));
                       }});
}

}  // namespace talon::gateway::methods
