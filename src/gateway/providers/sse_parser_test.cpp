#include "gateway/providers/sse_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/file_io.h"

namespace talon::gateway {
namespace {

using namespace std::string_literals;

struct Seen {
  std::string type;
  std::string data;
  std::string id;
  bool operator==(const Seen&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Seen& s) {
  return os << "{" << s.type << ", \"" << s.data << "\", id=" << s.id << "}";
}

/// Feeds `parts` in order and returns the dispatched events.
std::vector<Seen> parse(const std::vector<std::string_view>& parts) {
  std::vector<Seen> seen;
  SseParser parser([&](const SseEvent& e) {
    seen.push_back({e.type, e.data, e.lastEventId});
    return true;
  });
  for (auto p : parts) EXPECT_TRUE(parser.feed(p));
  return seen;
}

std::vector<Seen> parseWhole(std::string_view s) { return parse({s}); }

/// Every way of cutting `s` in two, and byte by byte, must give the same events as one feed.
void expectSplitInvariant(std::string_view s) {
  const auto whole = parseWhole(s);
  for (std::size_t i = 0; i <= s.size(); ++i) {
    ASSERT_EQ(parse({s.substr(0, i), s.substr(i)}), whole) << "split at byte " << i;
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < s.size(); ++i) bytes.push_back(s.substr(i, 1));
  ASSERT_EQ(parse(bytes), whole) << "byte by byte";
}

struct FramingCase {
  const char* name;
  std::string input;
  std::vector<Seen> events;
};

// Cases from the WHATWG HTML Standard §9.2.5/§9.2.6 (parsing and interpreting an event stream).
const std::vector<FramingCase>& framingCases() {
  static const std::vector<FramingCase> cases = {
      {"simple", "data: a\n\n", {{"message", "a", ""}}},
      {"no space after colon", "data:a\n\n", {{"message", "a", ""}}},
      {"only one space removed", "data:  a\n\n", {{"message", " a", ""}}},
      {"colon inside value", "data: a:b: c\n\n", {{"message", "a:b: c", ""}}},
      {"data lines joined with LF", "data: a\ndata: b\ndata:\n\n", {{"message", "a\nb\n", ""}}},
      {"CRLF line ends", "data: a\r\ndata: b\r\n\r\n", {{"message", "a\nb", ""}}},
      {"CR line ends", "data: a\r\rdata: b\r\r", {{"message", "a", ""}, {"message", "b", ""}}},
      {"mixed line ends", "data: a\r\n\rdata: b\n\r\n", {{"message", "a", ""}, {"message", "b", ""}}},
      {"LF line before a CR line",
       "data: a\ndata: b\r\rdata: c\r\n\n",
       {{"message", "a\nb", ""}, {"message", "c", ""}}},
      {"CR lines before a later LF",
       "data: a\rdata: b\r\rdata: c\n\ndata: d\r\n\r\n",
       {{"message", "a\nb", ""}, {"message", "c", ""}, {"message", "d", ""}}},
      {"comments ignored", ": ping\n\n:\ndata: a\n: mid\n\n", {{"message", "a", ""}}},
      {"field without colon is empty value", "data\n\n", {{"message", "", ""}}},
      {"two empty data lines", "data\ndata\n\n", {{"message", "\n", ""}}},
      {"empty data buffer dispatches nothing", "event: x\n\n\n\n", {}},
      {"event type", "event: error\ndata: boom\n\n", {{"error", "boom", ""}}},
      {"event type resets after dispatch",
       "event: e1\ndata: 1\n\ndata: 2\n\n",
       {{"e1", "1", ""}, {"message", "2", ""}}},
      {"event type resets even when nothing dispatched", "event: e1\n\ndata: 2\n\n", {{"message", "2", ""}}},
      {"id persists", "id: 7\ndata: a\n\ndata: b\n\n", {{"message", "a", "7"}, {"message", "b", "7"}}},
      {"id with NUL ignored",
       "id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n"s,
       {{"message", "a", "1"}, {"message", "b", "1"}}},
      {"empty id clears", "id: 1\ndata: a\n\nid\ndata: b\n\n", {{"message", "a", "1"}, {"message", "b", ""}}},
      {"unknown fields ignored", "foo: bar\nDATA: x\ndata : y\ndata: a\n\n", {{"message", "a", ""}}},
      {"unterminated event discarded", "data: a\n\ndata: b\n", {{"message", "a", ""}}},
      {"BOM skipped",
       "\xEF\xBB\xBF"
       "data: a\n\n",
       {{"message", "a", ""}}},
      {"only the first BOM skipped",
       "\xEF\xBB\xBF\xEF\xBB\xBF"
       "data: a\n\ndata: b\n\n",
       {{"message", "b", ""}}},
      {"partial BOM is data",
       "\xEF\xBB"
       "data: a\n\ndata: b\n\n",
       {{"message", "b", ""}}},
      {"DONE sentinel",
       "data: {\"x\":1}\n\ndata: [DONE]\n\n",
       {{"message", "{\"x\":1}", ""}, {"message", "[DONE]", ""}}},
      {"UTF-8 passes through", "data: caf\xC3\xA9 \xE2\x98\x95\n\n", {{"message", "caf\xC3\xA9 \xE2\x98\x95", ""}}},
  };
  return cases;
}

TEST(SseParser, FramingTable) {
  for (const auto& c : framingCases()) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(parseWhole(c.input), c.events);
    expectSplitInvariant(c.input);
  }
}

TEST(SseParser, RetryFieldTakesOnlyDigits) {
  std::vector<Seen> seen;
  SseParser p([&](const SseEvent& e) {
    seen.push_back({e.type, e.data, e.lastEventId});
    return true;
  });
  ASSERT_TRUE(p.feed("retry: 1500\n\n"));
  EXPECT_EQ(p.retryMs(), 1500);
  ASSERT_TRUE(p.feed("retry: 15x\nretry: -1\nretry:\n\n"));
  EXPECT_EQ(p.retryMs(), 1500);
  EXPECT_TRUE(seen.empty());
}

TEST(SseParser, PendingInputAtEndOfStream) {
  SseParser p([](const SseEvent&) { return true; });
  EXPECT_FALSE(p.hasPendingInput());
  ASSERT_TRUE(p.feed("data: a\n"));
  EXPECT_TRUE(p.hasPendingInput());
  ASSERT_TRUE(p.feed("\n"));
  EXPECT_FALSE(p.hasPendingInput());
  ASSERT_TRUE(p.feed("da"));
  EXPECT_TRUE(p.hasPendingInput());
  ASSERT_TRUE(p.feed("ta: b\n\n: comment only\n"));
  EXPECT_FALSE(p.hasPendingInput());
}

TEST(SseParser, HandlerReturningFalseStopsParsing) {
  int calls = 0;
  SseParser p([&](const SseEvent& e) {
    ++calls;
    return e.data != "stop";
  });
  ASSERT_TRUE(p.feed("data: 1\n\ndata: stop\n\ndata: 3\n\n"));
  ASSERT_TRUE(p.feed("data: 4\n\n"));
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(p.stopped());
}

TEST(SseParser, OversizedLineAndEventFail) {
  SseParser line([](const SseEvent&) { return true; }, 16);
  ASSERT_TRUE(line.feed("data: 0123456789"));
  auto st = line.feed("abcdef");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kUpstream);
  EXPECT_TRUE(line.stopped());

  SseParser event([](const SseEvent&) { return true; }, 16);
  auto st2 = event.feed("data: 01234567\ndata: 01234567\n\n");
  ASSERT_FALSE(st2);
  EXPECT_EQ(st2.error().code, ErrorCode::kUpstream);
}

class RecordedStream : public ::testing::TestWithParam<const char*> {};

TEST_P(RecordedStream, EverySplitPointGivesTheSameEvents) {
  auto text = readFile(std::string(TALON_SOURCE_DIR) + "/src/gateway/providers/testdata/" + GetParam());
  ASSERT_TRUE(text) << text.error().toString();
  auto whole = parseWhole(*text);
  ASSERT_GT(whole.size(), 5u);
  EXPECT_EQ(whole.back().data, "[DONE]");
  for (const auto& e : whole) EXPECT_EQ(e.type, "message");
  expectSplitInvariant(*text);

  // The same stream with CRLF line ends (a CR and its LF then fall into different feeds) and with CR.
  std::string crlf, cr;
  for (char c : *text) {
    if (c == '\n') {
      crlf += "\r\n";
      cr += '\r';
    } else {
      crlf += c;
      cr += c;
    }
  }
  EXPECT_EQ(parseWhole(crlf), whole);
  EXPECT_EQ(parseWhole(cr), whole);
  expectSplitInvariant(crlf);
}

INSTANTIATE_TEST_SUITE_P(OpenAi, RecordedStream,
                         ::testing::Values("openai_stream_text.sse", "openai_stream_tools.sse"));

}  // namespace
}  // namespace talon::gateway
