// `session`: how direct messages and groups map to sessions (OpenClaw docs/concepts/session.md).
// Defaults (config_model.h SessionConfig): dmScope "main", groupScope "per-group".
#include "config/config_sections.h"

namespace talon::config {

namespace {

void readSession(ConfigReader& r, const ConfigNode& node, const json::value& value, TalonConfig& config) {
  SessionConfig& out = config.session;
  r.readObject(node, value,
               {
                   {"dmScope",
                    [&](const ConfigNode& c, const json::value& x) {
                      if (auto s = r.enumeration(c, x, kDmScopes)) out.dmScope = *s;
                    }},
                   {"groupScope",
                    [&](const ConfigNode& c, const json::value& x) {
                      if (auto s = r.enumeration(c, x, kGroupScopes)) out.groupScope = *s;
                    }},
               });
}

}  // namespace

extern const ConfigSection kSessionSection;
const ConfigSection kSessionSection{"session", readSession};

}  // namespace talon::config
