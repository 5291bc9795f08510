#pragma once
// JSON5 parser (https://spec.json5.org/, JSON5 1.0.0), checked against the `json5` npm package 2.2.3
// by tests/json5/compare.mjs. Pure functions; safe to call from any thread.
//
// Supported: comments (// and /* */), trailing commas, unquoted keys (ECMAScript 5.1 IdentifierName
// with \uXXXX escapes), single- and double-quoted strings, every escape (\b \f \n \r \t \v \0 \xHH
// \uXXXX incl. surrogate pairs, line continuations, any other escaped character is itself), raw
// U+2028/U+2029 in strings, hexadecimal numbers, leading/trailing decimal points, explicit `+`,
// +/-Infinity, NaN, and the extra white space (VT, FF, NBSP, BOM, U+2028/U+2029, Unicode Zs).
//
// Numbers: an integer literal (decimal without fraction or exponent, or hexadecimal) that fits int64
// becomes int64; everything else a double (overflow gives +/-Infinity, as JavaScript does). A
// duplicate key replaces the earlier value (in the earlier key's position), as `json5` does.
//
// One deliberate difference from `json5`: an escaped lone surrogate (e.g. "\uD800" not followed by
// a low-surrogate escape) is an error, because it cannot be represented in UTF-8. The input must
// be valid UTF-8.
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/json.h"
#include "config/located_value.h"
#include "config/source_map.h"

namespace talon::config {

/// A parsed JSON5 text: its value and a source map (see SourceMap for the path syntax).
struct Json5Document {
  json::value value;
  SourceMap sourceMap;
};

/// A syntax error: where and what.
struct Json5Error {
  SourceLocation location;
  std::string message;
  /// "file:line:col: message".
  std::string toString() const;
};

/// Nesting deeper than this (objects and arrays) is an error; it bounds the recursion of everything that
/// walks the parsed tree. Real configs nest fewer than 20 levels.
inline constexpr int kJson5MaxDepth = 256;

/// Parses `text`, naming it `file` in locations and errors.
Expected<LocatedValue, Json5Error> parseJson5Located(std::string_view text, std::string_view file);

/// Parses `text` into a value and its source map. Errors: kInvalidArgument; the message is
/// "file:line:col: what", and `details` carries {"file", "line", "column", "reason"}.
Result<Json5Document> parseJson5(std::string_view text, std::string_view file = "<input>");

}  // namespace talon::config
