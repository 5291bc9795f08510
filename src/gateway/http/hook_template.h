#pragma once
// Hook mapping templates (OpenClaw docs/gateway/config-hooks.md, "Mapping details"; OpenClaw 2026.9.6
// dist/hooks-*.mjs renderTemplate/resolveTemplateExpr/getByPath): `{{expr}}` is replaced by
//   payload.<path> or <path>   a value of the JSON body (`a.b`, `items[0].id`)
//   headers.<name>             a request header (lower-case name; repeated headers joined by ", ")
//   query.<name>               a query parameter
//   path                       the sub-path after hooks.path
//   now                        the current time, ISO 8601 UTC with milliseconds
// Missing or null values render as "", strings as they are, numbers and booleans as JavaScript prints
// them, objects and arrays as JSON. Pure functions; thread-safe.
#include <map>
#include <string>
#include <string_view>

#include "base/json.h"

namespace talon::gateway::http {

/// What a template can read.
struct HookTemplateContext {
  json::value payload;                         // the request body (an object, or {} )
  std::map<std::string, std::string> headers;  // lower-case names
  std::map<std::string, std::string> query;    // decoded names and values (the last of repeated names)
  std::string path;                            // sub-path, no leading '/'
  std::string now;                             // ISO 8601 time for {{now}}
};

/// `template` with every `{{expr}}` replaced.
std::string renderHookTemplate(std::string_view tmpl, const HookTemplateContext& ctx);

/// True when `tmpl` holds a `{{...}}` expression (OpenClaw hasHookTemplateExpressions).
bool hasHookTemplate(std::string_view tmpl);

/// The decoded parameters of a URL query string ("a=1&b=x%20y"; '+' is a space); of a repeated name the
/// last value is kept (as OpenClaw's Object.fromEntries(url.searchParams.entries())).
std::map<std::string, std::string> parseQuery(std::string_view query);

/// `ms` since the epoch as JavaScript's Date.toISOString() prints it ("2023-11-14T22:13:20.000Z").
std::string isoTimestamp(int64_t ms);

}  // namespace talon::gateway::http
