// `logging`: the gateway's log level (OpenClaw docs/gateway/logging.md, LoggingConfigSchema). Only
// `level` so far; OpenClaw's other logging keys are reported as not supported yet. Default: unset (the
// gateway logs at "info"); `talon gateway run --log-level` wins over it.
#include <algorithm>
#include <iterator>

#include "config/config_sections.h"

namespace talon::config {

namespace {

// OpenClaw's levels, in its order, and Talon's (spdlog's) name for each.
constexpr std::string_view kLevels[] = {"silent", "fatal", "error", "warn", "info", "debug", "trace"};
constexpr std::string_view kTalonLevels[] = {"off", "critical", "error", "warn", "info", "debug", "trace"};
static_assert(std::size(kLevels) == std::size(kTalonLevels));

void readLogging(ConfigReader& r, const ConfigNode& node, const json::value& value, TalonConfig& config) {
  r.readObject(node, value, {{"level", [&](const ConfigNode& c, const json::value& x) {
                                if (auto level = r.enumeration(c, x, kLevels)) {
                                  auto at = std::find(std::begin(kLevels), std::end(kLevels), *level);
                                  config.logging.level = std::string(kTalonLevels[at - std::begin(kLevels)]);
                                }
                              }}});
}

}  // namespace

extern const ConfigSection kLoggingSection;
const ConfigSection kLoggingSection{"logging", readLogging};

}  // namespace talon::config
