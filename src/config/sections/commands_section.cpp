// `commands` (OpenClaw CommandsSchema, strict; docs/gateway/heartbeat.md "Delivery target: owner"): Talon
// reads `ownerAllowFrom`, the operator's identities, which the heartbeat's default target "owner"
// delivers to. OpenClaw's other `commands` keys (native, text, bash, config, allowFrom, …) are refused as
// not supported yet, as the whole section was before. Default: no owner.
#include <fmt/format.h>

#include <cmath>

#include "config/config_sections.h"

namespace talon::config {

namespace {

/// `ownerAllowFrom`: an array of strings or numbers (OpenClaw `array(union([string(), number()]))`;
/// a number is its decimal text, as OpenClaw's String(entry)). An entry must not be blank.
void readOwnerAllowFrom(ConfigReader& r, const ConfigNode& node, const json::value& value,
                        std::vector<std::string>& out) {
  const json::array* items = r.array(node, value, "array of strings or numbers");
  if (items == nullptr) return;
  for (std::size_t i = 0; i < items->size(); ++i) {
    const json::value& item = (*items)[i];
    ConfigNode at = r.item(node, i);
    if (item.is_string()) {
      std::string_view s = item.get_string();
      if (s.find_first_not_of(" \t\r\n") == std::string_view::npos) {
        r.error(at, DiagnosticCode::kValue, "expected a non-empty owner identity (\"telegram:123456789\")");
        continue;
      }
      out.emplace_back(s);
    } else if (item.is_int64() || item.is_uint64()) {
      out.push_back(item.is_int64() ? std::to_string(item.get_int64()) : std::to_string(item.get_uint64()));
    } else if (item.is_double() && std::isfinite(item.get_double()) &&
               item.get_double() == std::floor(item.get_double()) && std::fabs(item.get_double()) < 9.007e15) {
      out.push_back(fmt::format("{:.0f}", item.get_double()));
    } else {
      r.error(at, DiagnosticCode::kType,
              "expected a string or an integer (an owner identity), got " + ConfigReader::describe(item));
    }
  }
}

void readCommands(ConfigReader& r, const ConfigNode& node, const json::value& value, TalonConfig& config) {
  r.readObject(node, value, {{"ownerAllowFrom", [&](const ConfigNode& c, const json::value& x) {
                                readOwnerAllowFrom(r, c, x, config.commands.ownerAllowFrom);
                              }}});
}

}  // namespace

extern const ConfigSection kCommandsSection;
const ConfigSection kCommandsSection{"commands", readCommands};

}  // namespace talon::config
