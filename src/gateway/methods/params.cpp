#include "gateway/methods/params.h"

#include <cmath>

namespace talon::gateway::methods {
namespace {

Error invalidParams(std::string_view method, const std::string& detail) {
  std::string msg = "invalid " + std::string(method) + " params: " + detail;
  return Error(ErrorCode::kInvalidArgument, msg, msg);
}

bool hasType(const json::value& v, ParamType t) {
  switch (t) {
    case ParamType::kString:
      return v.is_string();
    case ParamType::kNonEmptyString:
      return v.is_string() && !v.get_string().empty();
    case ParamType::kInteger:
      return v.is_int64() || v.is_uint64() ||
             (v.is_double() && std::isfinite(v.get_double()) && std::trunc(v.get_double()) == v.get_double());
    case ParamType::kBoolean:
      return v.is_bool();
    case ParamType::kObject:
      return v.is_object();
    case ParamType::kArray:
      return v.is_array();
    case ParamType::kAny:
      return true;
  }
  return false;
}

std::string_view typeName(ParamType t) {
  switch (t) {
    case ParamType::kString:
      return "string";
    case ParamType::kNonEmptyString:
      return "non-empty string";
    case ParamType::kInteger:
      return "integer";
    case ParamType::kBoolean:
      return "boolean";
    case ParamType::kObject:
      return "object";
    case ParamType::kArray:
      return "array";
    case ParamType::kAny:
      return "any";
  }
  return "any";
}

}  // namespace

Result<json::object> validateParams(std::string_view method, const json::value& params, const ParamsSchema& schema) {
  if (params.is_null()) {
    for (const auto& s : schema) {
      if (s.required) return fail(invalidParams(method, "must have required property '" + std::string(s.name) + "'"));
    }
    return json::object{};
  }
  if (!params.is_object()) return fail(invalidParams(method, "must be object"));
  const auto& o = params.get_object();
  for (const auto& kv : o) {
    const ParamSpec* spec = nullptr;
    for (const auto& s : schema) {
      if (s.name == kv.key()) spec = &s;
    }
    if (!spec) return fail(invalidParams(method, "at root: unexpected property '" + std::string(kv.key()) + "'"));
    if (spec->unsupported && !kv.value().is_null()) {
      return fail(notSupportedYet(std::string(method) + " param '" + std::string(kv.key()) + "'"));
    }
    if (!hasType(kv.value(), spec->type)) {
      return fail(
          invalidParams(method, "at /" + std::string(kv.key()) + ": must be " + std::string(typeName(spec->type))));
    }
  }
  for (const auto& s : schema) {
    if (s.required && !o.contains(s.name)) {
      return fail(invalidParams(method, "must have required property '" + std::string(s.name) + "'"));
    }
  }
  return o;
}

int64_t intParam(const json::object& params, std::string_view key, int64_t fallback) {
  return getInt(params, key).value_or(fallback);
}

}  // namespace talon::gateway::methods
