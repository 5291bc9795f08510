#pragma once
// The identity of an effective config. Pure; thread-safe.
#include <string>

#include "base/json.h"

namespace talon::config {

/// sha256Hex(toCanonicalJson(effective)): 64 lower-case hex characters that do not depend on key order,
/// white space, comments, or how the config was split into `$include` files.
std::string configHash(const json::value& effective);

}  // namespace talon::config
