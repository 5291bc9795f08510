#pragma once
// Incremental parser for `text/event-stream` (Server-Sent Events), exactly per the WHATWG HTML Living
// Standard §9.2.5 "Parsing an event stream" and §9.2.6 "Interpreting an event stream"
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
// one leading UTF-8 BOM is skipped; lines end in CRLF, LF or CR (a CRLF split across two feeds is one
// line end); a line starting with ':' is a comment; `field: value` loses one space after the colon; a
// line without a colon is a field with an empty value; `data` lines are joined with LF; an empty line
// dispatches the event (nothing is dispatched when the data buffer is empty); `id` values containing
// NUL are ignored; `retry` is taken only when all ASCII digits; unknown fields are ignored; an event not
// terminated by an empty line when the stream ends is discarded.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace talon::gateway {

/// One dispatched event.
struct SseEvent {
  std::string type;  // the `event` field, "message" when absent
  std::string data;  // `data` lines joined with LF, without the final LF
  std::string lastEventId;
};

/// Feed it bytes as they arrive, split anywhere. Not thread-safe: one instance per stream, used from
/// one thread at a time.
class SseParser {
 public:
  /// Receives each event; returns false to stop parsing (later input is ignored).
  using EventHandler = std::function<bool(const SseEvent& event)>;

  /// `maxEventBytes` bounds the line and data buffers (bytes); exceeding it fails feed().
  explicit SseParser(EventHandler onEvent, std::size_t maxEventBytes = 16u << 20);

  /// Parses `bytes`, dispatching every event completed by them. Errors: kUpstream when a line or an
  /// event's data exceeds maxEventBytes (the parser then stays stopped).
  Status feed(std::string_view bytes);

  /// True when bytes were received after the last dispatch boundary (a partial line or fields of an
  /// event without its terminating empty line): at end of stream those are discarded.
  bool hasPendingInput() const;
  /// True after the handler returned false or feed() failed.
  bool stopped() const { return stopped_; }
  /// The last valid `retry` field, in ms.
  std::optional<int64_t> retryMs() const { return retryMs_; }

 private:
  Status processLine(std::string_view line);
  void dispatch();

  EventHandler onEvent_;
  std::size_t maxEventBytes_;
  std::string line_;  // the current incomplete line
  std::string data_;
  std::string eventType_;
  std::string lastEventId_;
  std::optional<int64_t> retryMs_;
  bool sawFields_ = false;  // a non-comment line since the last dispatch boundary
  bool afterCr_ = false;    // the previous byte was a CR (a following LF belongs to it)
  bool bomChecked_ = false;
  bool stopped_ = false;
};

}  // namespace talon::gateway
