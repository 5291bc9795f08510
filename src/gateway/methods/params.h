#pragma once
// The params schema a method declares beside its handler, and the one validator that checks a request's
// params against it. Messages follow OpenClaw's validator (reference/openclaw-protocol.md: "must have
// required property 'x'", "at root: unexpected property 'x'", "at /x: must be string").
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"

namespace talon::gateway::methods {

/// The JSON type a param must have.
enum class ParamType { kString, kNonEmptyString, kInteger, kBoolean, kObject, kArray, kAny };

/// One param of a method's closed params object.
struct ParamSpec {
  std::string_view name;
  ParamType type;
  bool required = false;
  /// An OpenClaw param Talon accepts in the schema but does not act on yet: a request that sets it (to
  /// anything but null) is refused with kUnsupported "… is not supported by Talon yet" instead of being
  /// silently ignored.
  bool unsupported = false;
};

/// A method's params schema: a closed object of `ParamSpec`s (any other key is an error).
using ParamsSchema = std::vector<ParamSpec>;

/// Validates `params` (null or absent means {}) against `schema`. Errors: kInvalidArgument
/// "invalid <method> params: …" for a missing, unexpected or mistyped param; kUnsupported for a set
/// `unsupported` param. Thread-safe (pure).
Result<json::object> validateParams(std::string_view method, const json::value& params, const ParamsSchema& schema);

/// An integer param, or `fallback` when absent.
int64_t intParam(const json::object& params, std::string_view key, int64_t fallback);

}  // namespace talon::gateway::methods
