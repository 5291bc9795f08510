#include "config/config_hash.h"

#include "base/hash.h"

namespace talon::config {

std::string configHash(const json::value& effective) { return sha256Hex(toCanonicalJson(effective)); }

}  // namespace talon::config
