#pragma once
// The config section seam: each top-level key of the config (`gateway`, `agents`, `bindings`, ...) is
// owned by one section, defined in its own file under src/config/sections/, which reads and validates
// that key through a ConfigReader into TalonConfig. The table of sections is config_sections.cpp;
// adding a section is one new file plus one line there (docs/config.md, "Adding a config section").
// Immutable data; thread-safe.
#include <span>
#include <string_view>

#include "base/json.h"
#include "config/config_model.h"
#include "config/config_reader.h"

namespace talon::config {

/// One top-level config key and how to read it.
struct ConfigSection {
  /// The root key the section owns (OpenClaw's name for it).
  std::string_view key;
  /// Reads `value` (the key's value, at `node`) into `config`, recording every problem through `reader`.
  /// Called only when the key is present; what it leaves untouched keeps the defaults of config_model.h.
  void (*read)(ConfigReader& reader, const ConfigNode& node, const json::value& value, TalonConfig& config);
  /// Optional (may be null): runs after every section was read, whether or not the key was present, for
  /// rules inside the section that need the whole of it (e.g. the agents roster rules) and for defaults
  /// that depend on what was read. Checks that span two sections belong in config_validator.cpp
  /// (checkCrossSectionReferences), not here.
  void (*finish)(ConfigReader& reader, TalonConfig& config) = nullptr;
};

/// Every section, in the order they are finished; the root object's keys are read in document order.
std::span<const ConfigSection* const> configSections();

}  // namespace talon::config
