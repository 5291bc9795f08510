#pragma once
// `agents.defaults.compaction` (OpenClaw docs/gateway/config-agents/heartbeat-compaction-and-streaming.md;
// docs/config.md "agents.defaults.compaction"): the keys Talon implements are read into
// CompactionConfig; each key OpenClaw has that Talon does not implement (mode "safeguard" and its quality
// guard, memoryFlush, provider, postIndexSync, ...) is a warning naming it, never silently accepted.
#include "base/json.h"
#include "config/config_model.h"
#include "config/config_reader.h"

namespace talon::config {

/// Reads the block at `node` into `out`, recording every problem through `r`: a wrong type or range is
/// an error; an OpenClaw key Talon does not implement is a kUnsupportedKey warning; any other key is an
/// error as readObject reports it.
void readCompactionConfig(ConfigReader& r, const ConfigNode& node, const json::value& value, CompactionConfig& out);

}  // namespace talon::config
