#pragma once
// The environment variables the config module reads, as an injectable value: code takes an
// Environment instead of calling getenv, so tests never depend on the real environment.
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace talon::config {

/// Variable name -> value.
using Environment = std::map<std::string, std::string, std::less<>>;

/// A snapshot of the process environment (`environ`). Call it once at startup; not safe while another
/// thread calls setenv/putenv.
Environment processEnvironment();

/// The value of `name`, or nullptr when unset.
const std::string* findEnv(const Environment& env, std::string_view name);

/// The value of `name` trimmed of ASCII white space; "" when unset.
std::string envTrimmed(const Environment& env, std::string_view name);

}  // namespace talon::config
