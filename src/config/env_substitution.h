#pragma once
// `${VAR}` substitution in config strings, as OpenClaw does it (dist `env-substitution`, docs/gateway/
// configuration/environment-variables.md). Pure functions.
//
// - `${NAME}` with NAME matching `[A-Z_][A-Z0-9_]*` is replaced by the variable's value; it may appear
//   anywhere in a string ("${BASE}/v1"). Other `${...}` text (e.g. lower-case names) is left alone.
// - `$${NAME}` is the escape: it produces the literal text `${NAME}`.
// - A missing or empty variable leaves `${NAME}` in place and produces a warning.
// Only string values are substituted, never object keys; it runs after `$include` resolution, so it
// covers included files too.
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.h"
#include "config/environment.h"
#include "config/located_value.h"

namespace talon::config {

/// True when `name` matches `[A-Z_][A-Z0-9_]*`.
bool isEnvVarName(std::string_view name);

/// Substitutes `${NAME}` references in `value`. Names of missing or empty variables are appended to
/// `missing` (once per reference) when it is not null.
std::string substituteEnvVars(std::string_view value, const Environment& env,
                              std::vector<std::string>* missing = nullptr);

/// Substitutes in every string value under `root`. Each missing variable adds a warning (code kEnv)
/// at the string's location, with OpenClaw's wording: `Missing env var "NAME" - feature using this
/// value will be unavailable`. When `substitutedPaths` is not null, the config paths of strings whose
/// text changed (a variable's value inserted, or a `$${NAME}` escape applied) are added to it.
void substituteEnvInTree(LocatedValue& root, const Environment& env, std::vector<Diagnostic>& warnings,
                         std::set<std::string>* substitutedPaths = nullptr);

}  // namespace talon::config
