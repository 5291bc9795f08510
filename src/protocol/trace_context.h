#pragma once
// W3C Trace Context (https://www.w3.org/TR/trace-context/, §3.2 traceparent): the `traceparent` a
// client sends on a request frame (OpenClaw's RequestFrameSchema field `traceparent`, ≤128 characters)
// or as an HTTP header, parsed as OpenClaw 2026.9.6 parses it (dist/diagnostic-events-*.mjs
// parseDiagnosticTraceparent): trimmed and lower-cased; `version-traceid-parentid-flags` with a
// two-hex-digit version other than "ff" (version "00" has exactly four fields; a later version may add
// fields after the fourth, which are ignored, §3.3.1 / §4.3); a 32-hex-digit trace id and a 16-hex-digit
// parent id, neither all zeros; two hex digits of flags. Anything else is malformed: the caller ignores
// it (and counts it) rather than failing the request.
#include <optional>
#include <string>
#include <string_view>

namespace talon::protocol {

/// The longest traceparent accepted (OpenClaw's MAX_TRACEPARENT_LENGTH).
inline constexpr std::size_t kMaxTraceparentLength = 128;

/// A parsed traceparent, normalized to lower case.
struct TraceContext {
  std::string traceId;   // 32 lower-case hex digits, not all zero
  std::string parentId;  // 16 lower-case hex digits, not all zero: the caller's span
  std::string flags;     // 2 lower-case hex digits ("01": sampled)

  bool operator==(const TraceContext&) const = default;
};

/// The trace context of `traceparent`, or nullopt when it is malformed (see above).
std::optional<TraceContext> parseTraceparent(std::string_view traceparent);

/// `00-<traceId>-<spanId>-<flags>`: the traceparent of a call made as span `spanId` (16 lower-case hex
/// digits, not all zero) of `trace`.
std::string formatTraceparent(const TraceContext& trace, std::string_view spanId);

}  // namespace talon::protocol
