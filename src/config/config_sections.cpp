#include "config/config_sections.h"

namespace talon::config {

// The section table: one line per section, naming the `const ConfigSection` its file under
// src/config/sections/ defines. Order: the order sections are finished (their keys are read in
// document order).
#define TALON_CONFIG_SECTIONS(SECTION) \
  SECTION(kSchemaSection)              \
  SECTION(kMetaSection)                \
  SECTION(kGatewaySection)             \
  SECTION(kAgentsSection)              \
  SECTION(kBindingsSection)            \
  SECTION(kSessionSection)             \
  SECTION(kModelsSection)              \
  SECTION(kLoggingSection)             \
  SECTION(kSecretsSection)             \
  SECTION(kAuthSection)                \
  SECTION(kChannelsSection)            \
  SECTION(kHooksSection)               \
  SECTION(kCronSection)                \
  SECTION(kCommandsSection)

#define TALON_DECLARE_SECTION(name) extern const ConfigSection name;
TALON_CONFIG_SECTIONS(TALON_DECLARE_SECTION)
#undef TALON_DECLARE_SECTION

std::span<const ConfigSection* const> configSections() {
#define TALON_SECTION_ENTRY(name) &name,
  static const ConfigSection* const kTable[] = {TALON_CONFIG_SECTIONS(TALON_SECTION_ENTRY)};
#undef TALON_SECTION_ENTRY
  return kTable;
}

}  // namespace talon::config
