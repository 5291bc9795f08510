// `$schema`: the one root key OpenClaw allows besides its sections (an editor hint); a string, no effect.
#include "config/config_sections.h"
#include "config/config_validator.h"

namespace talon::config {

extern const ConfigSection kSchemaSection;
const ConfigSection kSchemaSection{
    kSchemaKey,
    [](ConfigReader& reader, const ConfigNode& node, const json::value& value, TalonConfig&) {
      reader.string(node, value);
    },
};

}  // namespace talon::config
