#pragma once
// Gateway protocol v4 frames: parsing inbound `req` frames and serializing `res` and `event` frames.
// Pure functions; thread-safe. Frames are JSON text (one WebSocket text message each).
// Source: reference/openclaw-protocol.md §1 "Frames" and "Errors seen on the wire"; OpenClaw 2026.9.6
// dist/sessions-*.mjs region schema/frames.ts (RequestFrameSchema, ResponseFrameSchema, EventFrameSchema,
// ErrorShapeSchema) and dist/message-handler-*.mjs (how invalid frames are answered).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/expected.h"
#include "base/json.h"

namespace talon::protocol {

/// A validated inbound request: `{type:"req", id, method, params?, traceparent?, expectedProfileId?}`.
struct RequestFrame {
  std::string id;                                // non-empty
  std::string method;                            // non-empty
  json::value params;                            // null when absent (OpenClaw handlers treat absent and null alike)
  std::optional<std::string> traceparent;        // ≤128 characters
  std::optional<std::string> expectedProfileId;  // 1..128 characters
};

/// Why an inbound frame was rejected.
enum class FrameErrorKind {
  /// Not JSON at all (bad syntax, invalid UTF-8, trailing data). OpenClaw sends no error frame: before
  /// connect it closes with 1000; after connect it logs and drops the frame.
  kNotJson,
  /// JSON, but not a valid req frame. After connect OpenClaw answers `res ok:false` INVALID_REQUEST
  /// "invalid request frame: …" with the frame's id (or kInvalidFrameResponseId); before connect it
  /// closes with 1008 "invalid request frame" without an error frame.
  kInvalidRequest,
};

/// A rejected inbound frame.
struct FrameError {
  FrameErrorKind kind;
  /// For kInvalidRequest: invalidRequestFrameError(detail), ready for encodeResponseError. For kNotJson:
  /// kInvalidArgument with the parser's message (internal only; never sent).
  Error error;
  /// The frame's `id` when it is a non-empty string (the id to answer), else nullopt.
  std::optional<std::string> id;
};

/// The id OpenClaw answers an invalid request frame with when the frame carries no usable id.
inline constexpr std::string_view kInvalidFrameResponseId = "invalid";

/// Parses and validates one inbound text frame against the closed RequestFrameSchema: type "req",
/// non-empty string id and method, params optional (any JSON), traceparent optional string ≤128,
/// expectedProfileId optional string 1..128, any other top-level key rejected. Messages follow
/// OpenClaw's validator ("at root: unexpected property 'x'", "must have required property 'id'",
/// "at /id: must NOT have fewer than 1 characters", ...). The method is not checked against the table.
Expected<RequestFrame, FrameError> parseRequestFrame(std::string_view text);

/// The fast path of parseRequestFrame for the common request: one flat object of the frame's keys, each
/// at most once, whose values are strings of printable ASCII without escapes, except `params`, which is
/// absent or `{}`. Returns the frame parseRequestFrame returns for `text` when `text` is such a frame and
/// valid; nullopt for any other text (which parseRequestFrame then parses as a JSON tree). Pure.
std::optional<RequestFrame> parseFlatRequestFrame(std::string_view text);

/// parseRequestFrame for a stream of frames (one WebSocket connection): the same answers, but the
/// parser's working memory is kept from one frame to the next and the frame's JSON tree is built in a
/// buffer inside this object (frames larger than it spill to the heap), so a small request costs no
/// allocation beyond its params (copied out to the heap when present). Not thread-safe: one frame at a
/// time.
class RequestFrameParser {
 public:
  RequestFrameParser() = default;
  RequestFrameParser(const RequestFrameParser&) = delete;
  RequestFrameParser& operator=(const RequestFrameParser&) = delete;

  /// As parseRequestFrame(text): parseFlatRequestFrame, else parseTree.
  Expected<RequestFrame, FrameError> parse(std::string_view text);

  /// As parse, always through the JSON tree (no flat fast path): the reference the fast path is tested
  /// against.
  Expected<RequestFrame, FrameError> parseTree(std::string_view text);

 private:
  /// Bytes of JSON tree built without an allocation; a `health` or `chat.send` request fits.
  static constexpr std::size_t kTreeBufferBytes = 2048;

  json::parser parser_;
  alignas(std::max_align_t) unsigned char tree_[kTreeBufferBytes];
};

/// Appends `s` to `out` as a JSON string literal (quotes included): `"` and `\` escaped, control
/// characters as \b \f \n \r \t or \u00XX, invalid UTF-8 bytes replaced by \ufffd so the output is
/// always valid JSON.
void appendJsonString(std::string& out, std::string_view s);

/// `{"type":"res","id":<id>,"ok":true,"payload":<payloadJson>}`. `payloadJson` is spliced in verbatim
/// and must be one complete JSON value (precondition; not re-parsed, so callers can cache serialized
/// payloads on hot paths); empty omits `payload`. `id` is escaped.
std::string encodeResponseOk(std::string_view id, std::string_view payloadJson);
/// As encodeResponseOk, serializing `payload`.
std::string encodeResponseOkValue(std::string_view id, const json::value& payload);

/// The wire error object for `error`: {code: protocolErrorCode(error.code), message:
/// error.publicMessage(), details? (when non-empty), retryable? (only when true), retryAfterMs? (when
/// > 0)}. Matches ErrorShapeSchema. Uses base/error.h's mapping; there is no other.
json::object errorShape(const Error& error);

/// `{"type":"res","id":<id>,"ok":false,"error":<errorShape(error)>}`.
std::string encodeResponseError(std::string_view id, const Error& error);
/// `{"type":"res","id":<id>,"ok":false,"payload":<payloadJson>,"error":…}`: a failure that also carries
/// a payload (e.g. chat.send replaying a cached failed outcome). `payloadJson` as in encodeResponseOk.
std::string encodeResponseError(std::string_view id, const Error& error, std::string_view payloadJson);

/// `stateVersion` of event frames and snapshots: monotonic counters of the presence and health subtrees.
struct StateVersion {
  int64_t presence = 0;
  int64_t health = 0;
};

/// `{"type":"event","event":<event>,"payload":<payloadJson>,"seq":<seq>,"stateVersion":{…}}`, optional
/// parts omitted when empty/nullopt. `seq` counts per connection from 1 after hello-ok;
/// connect.challenge has none. `payloadJson` as in encodeResponseOk.
std::string encodeEvent(std::string_view event, std::string_view payloadJson,
                        std::optional<uint64_t> seq = std::nullopt,
                        std::optional<StateVersion> stateVersion = std::nullopt);
/// As encodeEvent, serializing `payload`.
std::string encodeEventValue(std::string_view event, const json::value& payload,
                             std::optional<uint64_t> seq = std::nullopt,
                             std::optional<StateVersion> stateVersion = std::nullopt);

/// The `tick` event: payload {ts} (ms since the epoch), sent every kTickIntervalMs.
std::string encodeTickEvent(int64_t tsMs, uint64_t seq);

/// The `shutdown` event: payload {reason, restartExpectedMs?} (reason non-empty; ms ≥ 0).
std::string encodeShutdownEvent(std::string_view reason, std::optional<int64_t> restartExpectedMs, uint64_t seq);

}  // namespace talon::protocol
