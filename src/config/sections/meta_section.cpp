// `meta`: OpenClaw's write bookkeeping (`meta.lastTouchedVersion`, `meta.migrations.*` markers): checked,
// kept in the effective config, no effect on Talon.
#include "config/config_sections.h"

namespace talon::config {

namespace {

void readMeta(ConfigReader& r, const ConfigNode& node, const json::value& value, TalonConfig&) {
  r.readObject(node, value,
               {
                   {"lastTouchedVersion", [&](const ConfigNode& c, const json::value& x) { r.string(c, x); }},
                   {"migrations",
                    [&](const ConfigNode& c, const json::value& x) {
                      auto marker = [&](const ConfigNode& k, const json::value& y) {
                        if (!y.is_bool() || !y.get_bool()) {
                          r.error(k, y.is_bool() ? DiagnosticCode::kValue : DiagnosticCode::kType,
                                  "expected true, got " + ConfigReader::describe(y));
                        }
                      };
                      r.readObject(c, x, {{"modelPolicyAllowlist", marker}, {"utilityModelSeparation", marker}});
                    }},
               });
}

}  // namespace

extern const ConfigSection kMetaSection;
const ConfigSection kMetaSection{"meta", readMeta};

}  // namespace talon::config
