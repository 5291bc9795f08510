#include "gateway/providers/sse_parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace talon::gateway {

namespace {
constexpr std::string_view kBom = "\xEF\xBB\xBF";

/// Finds line ends (CR or LF) in one feed's bytes with memchr rather than string_view::find_first_of,
/// which tests each byte against the set with one memchr call per byte. The next LF is remembered
/// until a line end passes it, so a stream of CR-only lines is not rescanned to its end for each line.
class LineEndFinder {
 public:
  explicit LineEndFinder(std::string_view s) : s_(s) {}

  /// The index of the first CR or LF at or after `pos` (pos < size), or npos.
  std::size_t next(std::size_t pos) {
    if (!lfKnown_ || (lf_ != std::string_view::npos && lf_ < pos)) {
      const void* lf = std::memchr(s_.data() + pos, '\n', s_.size() - pos);
      lf_ = lf != nullptr ? static_cast<std::size_t>(static_cast<const char*>(lf) - s_.data()) : std::string_view::npos;
      lfKnown_ = true;
    }
    const std::size_t limit = lf_ == std::string_view::npos ? s_.size() : lf_;
    if (const void* cr = std::memchr(s_.data() + pos, '\r', limit - pos)) {
      return static_cast<std::size_t>(static_cast<const char*>(cr) - s_.data());
    }
    return lf_;
  }

 private:
  std::string_view s_;
  std::size_t lf_ = std::string_view::npos;
  bool lfKnown_ = false;
};

bool allAsciiDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
}  // namespace

SseParser::SseParser(EventHandler onEvent, std::size_t maxEventBytes)
    : onEvent_(std::move(onEvent)), maxEventBytes_(maxEventBytes) {}

bool SseParser::hasPendingInput() const { return !line_.empty() || sawFields_; }

Status SseParser::feed(std::string_view bytes) {
  if (stopped_) return {};
  if (!bomChecked_) {
    // The BOM may itself arrive split across feeds: hold the first bytes in line_ until they decide.
    std::size_t take = std::min(bytes.size(), kBom.size() - line_.size());
    line_.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (line_.size() < kBom.size() && kBom.substr(0, line_.size()) == line_) return {};
    bomChecked_ = true;
    std::string head = std::move(line_);
    line_.clear();
    if (head == kBom) head.clear();
    if (!head.empty()) {
      if (auto st = feed(head); !st) return st;
      if (stopped_) return {};
    }
  }
  std::size_t pos = 0;
  if (afterCr_ && !bytes.empty()) {
    afterCr_ = false;
    if (bytes[0] == '\n') pos = 1;  // the LF of a CRLF split between two feeds
  }
  LineEndFinder lineEnds(bytes);
  while (pos < bytes.size() && !stopped_) {
    std::size_t end = lineEnds.next(pos);
    if (end == std::string_view::npos) {
      line_.append(bytes.substr(pos));
      if (line_.size() > maxEventBytes_) {
        stopped_ = true;
        return fail(ErrorCode::kUpstream, fmt::format("event stream line exceeds {} bytes", maxEventBytes_));
      }
      return {};
    }
    Status st;
    if (line_.empty()) {
      st = processLine(bytes.substr(pos, end - pos));
    } else {
      line_.append(bytes.substr(pos, end - pos));
      std::string line = std::move(line_);
      line_.clear();
      st = processLine(line);
    }
    if (!st) {
      stopped_ = true;
      return st;
    }
    pos = end + 1;
    if (bytes[end] == '\r') {
      if (pos == bytes.size()) {
        afterCr_ = true;
      } else if (bytes[pos] == '\n') {
        ++pos;
      }
    }
  }
  return {};
}

Status SseParser::processLine(std::string_view line) {
  if (line.empty()) {
    dispatch();
    return {};
  }
  if (line.front() == ':') return {};  // comment
  sawFields_ = true;
  std::string_view field = line;
  std::string_view value;
  if (auto colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "event") {
    eventType_.assign(value);
  } else if (field == "data") {
    if (data_.size() + value.size() + 1 > maxEventBytes_) {
      return fail(ErrorCode::kUpstream, fmt::format("event stream event exceeds {} bytes", maxEventBytes_));
    }
    data_.append(value);
    data_.push_back('\n');
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) lastEventId_.assign(value);
  } else if (field == "retry") {
    if (allAsciiDigits(value) && value.size() <= 18) retryMs_ = std::stoll(std::string(value));
  }
  return {};
}

void SseParser::dispatch() {
  sawFields_ = false;
  if (data_.empty()) {
    eventType_.clear();
    return;
  }
  data_.pop_back();  // the data buffer always ends in the LF appended after its last line
  SseEvent event{eventType_.empty() ? std::string("message") : std::move(eventType_), std::move(data_), lastEventId_};
  data_.clear();
  eventType_.clear();
  if (!onEvent_(event)) stopped_ = true;
}

}  // namespace talon::gateway
