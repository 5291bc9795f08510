#pragma once
// Boost.JSON helpers used across modules.
#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace talon {

namespace json = boost::json;

/// Parses strict JSON (RFC 8259). Errors: kInvalidArgument with the parser's message and byte offset.
Result<json::value> parseJson(std::string_view text);
/// As parseJson(text), the value's memory taken from `storage` (e.g. a json::monotonic_resource over a
/// caller's buffer, for a document read and dropped at once). The value, and any copy of it or of its
/// parts, must not outlive that resource: copies keep the storage of what they copy.
Result<json::value> parseJson(std::string_view text, json::storage_ptr storage);

/// Compact serialization.
inline std::string toJson(const json::value& v) { return json::serialize(v); }

/// Pretty serialization with two-space indentation and a trailing newline (for CLI output and files).
std::string toPrettyJson(const json::value& v);

/// Canonical serialization: object keys sorted by code point at every depth, no whitespace. Used for
/// hashes that must not depend on key order.
std::string toCanonicalJson(const json::value& v);

/// Typed field accessors: nullopt when absent or of another type.
std::optional<std::string_view> getString(const json::object& o, std::string_view key);
std::optional<int64_t> getInt(const json::object& o, std::string_view key);
std::optional<bool> getBool(const json::object& o, std::string_view key);
const json::object* getObject(const json::object& o, std::string_view key);
const json::array* getArray(const json::object& o, std::string_view key);

}  // namespace talon
