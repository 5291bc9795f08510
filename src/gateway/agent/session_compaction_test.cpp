// The pure parts of history compaction: the token estimate, the budget and where a history is cut.
#include "gateway/agent/session_compaction.h"

#include <gtest/gtest.h>

#include "gateway/agent/transcript_tool_calls.h"

namespace talon::gateway {
namespace {

using store::TranscriptRole;

store::TranscriptEntry compactionTestEntry(int64_t seq, TranscriptRole role, std::string content,
                                           std::vector<ToolCall> calls = {}) {
  store::TranscriptEntry e;
  e.sessionKey = "agent:main:main";
  e.seq = seq;
  e.role = role;
  e.content = std::move(content);
  if (!calls.empty()) e.toolCallsJson = toolCallsToJson(calls);
  if (role == TranscriptRole::kTool) {
    e.toolCallId = "c" + std::to_string(seq);
    e.toolName = "echo";
  }
  return e;
}

TEST(SessionCompaction, EstimatesAsciiByFourBytesAndCjkPerCharacter) {
  EXPECT_EQ(estimateTextTokens(""), 0);
  EXPECT_EQ(estimateTextTokens("abcd"), 1);
  EXPECT_EQ(estimateTextTokens("abcde"), 2);  // rounded up
  EXPECT_EQ(estimateTextTokens(std::string(400, 'x')), 100);
  // Three CJK characters (9 UTF-8 bytes) are three tokens, not two.
  EXPECT_EQ(estimateTextTokens("\xe4\xbd\xa0\xe5\xa5\xbd\xe5\x90\x97"), 3);  // 你好吗
  EXPECT_EQ(estimateTextTokens("\xea\xb0\x80\xeb\x82\x98"), 2);              // 가나 (Hangul)
  EXPECT_EQ(estimateTextTokens("ab\xe3\x81\x82"), 2);                        // "ab" + あ: 1 + 1
  EXPECT_EQ(estimateTextTokens("\xc3\xa9\xc3\xa9"), 1);                      // éé: 4 bytes, not CJK
  ChatMessage m{"assistant", "abcd", {ToolCall{"1", "echo", R"({"text":"hi"})"}}, {}};
  // 4 framing + 1 content + (1 name + 4 arguments + 4 framing) for the call.
  EXPECT_EQ(estimateMessageTokens(m), 4 + 1 + 1 + 4 + 4);
}

TEST(SessionCompaction, BudgetIsTheWindowLessTheAnswersReserve) {
  EXPECT_EQ(contextBudgetTokens(0, 0), kDefaultContextWindowTokens - kDefaultAnswerReserveTokens);
  EXPECT_EQ(contextBudgetTokens(128'000, 4'096), 128'000 - 4'096);
  EXPECT_EQ(contextBudgetTokens(128'000, 0), 128'000 - kDefaultAnswerReserveTokens);
  EXPECT_EQ(contextBudgetTokens(8'000, 0), 4'000);  // the reserve is at most half the window
}

TEST(SessionCompaction, CutKeepsTheRecentTurns) {
  std::vector<store::TranscriptEntry> h = {
      compactionTestEntry(1, TranscriptRole::kUser, "one"),   compactionTestEntry(2, TranscriptRole::kAssistant, "1"),
      compactionTestEntry(3, TranscriptRole::kUser, "two"),   compactionTestEntry(4, TranscriptRole::kAssistant, "2"),
      compactionTestEntry(5, TranscriptRole::kUser, "three"), compactionTestEntry(6, TranscriptRole::kAssistant, "3"),
      compactionTestEntry(7, TranscriptRole::kUser, "four"),
  };
  EXPECT_EQ(compactionCut(h, 20'000, 3), 2u);            // turns two, three and four are kept
  EXPECT_EQ(compactionCut(h, 20'000, 1), 6u);            // only the current request
  EXPECT_EQ(compactionCut(h, 20'000, 0), 6u);            // the current request is always kept
  EXPECT_EQ(compactionCut(h, 20'000, 4), std::nullopt);  // nothing older than the kept turns
  EXPECT_EQ(compactionCut(h, 20'000, 9), std::nullopt);
  EXPECT_EQ(compactionCut({}, 20'000, 3), std::nullopt);
  // keepRecentTokens shortens the kept tail, entry by entry, down to the current request.
  EXPECT_EQ(compactionCut(h, 1, 3), 6u);
}

TEST(SessionCompaction, CutNeverSeparatesToolCallsFromTheirResults) {
  const std::string big(400, 'x');  // 100 tokens
  std::vector<store::TranscriptEntry> h = {
      compactionTestEntry(1, TranscriptRole::kUser, "do it"),
      compactionTestEntry(2, TranscriptRole::kAssistant, "",
                          {ToolCall{"c3", "echo", "{}"}, ToolCall{"c4", "echo", "{}"}}),
      compactionTestEntry(3, TranscriptRole::kTool, big),
      compactionTestEntry(4, TranscriptRole::kTool, big),
      compactionTestEntry(5, TranscriptRole::kAssistant, "done " + big),
      compactionTestEntry(6, TranscriptRole::kUser, "again"),
      compactionTestEntry(7, TranscriptRole::kAssistant, "", {ToolCall{"c8", "echo", "{}"}}),
      compactionTestEntry(8, TranscriptRole::kTool, big),
      compactionTestEntry(9, TranscriptRole::kAssistant, "done"),
      compactionTestEntry(10, TranscriptRole::kUser, "now"),
  };
  for (int64_t keep = 1; keep <= 600; keep += 7) {
    for (int turns = 1; turns <= 3; ++turns) {
      auto cut = compactionCut(h, keep, turns);
      if (!cut) continue;
      ASSERT_LT(*cut, h.size());
      EXPECT_NE(h[*cut].role, TranscriptRole::kTool) << "keep " << keep << " turns " << turns << " cut " << *cut;
      EXPECT_LE(*cut, 9u);  // never past the current request
    }
  }
  // With room for 250 tokens the tail starts after the first block: the assistant "done" answer (~103)
  // plus turn two (~120) fit, the tool results before them do not and go with their call.
  EXPECT_EQ(compactionCut(h, 250, 3), 4u);
  EXPECT_EQ(compactionCut(h, 130, 3), 5u);
}

TEST(SessionCompaction, SummaryRequestCarriesThePreviousSummaryTheEntriesAndTheFocus) {
  std::vector<store::TranscriptEntry> h = {
      compactionTestEntry(1, TranscriptRole::kUser, "open /etc/hosts"),
      compactionTestEntry(2, TranscriptRole::kAssistant, "", {ToolCall{"c3", "read", R"({"path":"/etc/hosts"})"}}),
      compactionTestEntry(3, TranscriptRole::kTool, "127.0.0.1 localhost"),
  };
  auto r = summaryRequest("gpt-4o-mini", "EARLIER", h, std::string(900, 'f'));
  EXPECT_EQ(r.model, "gpt-4o-mini");
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_NE(r.messages[0].content.find("identifiers"), std::string::npos);
  const std::string& body = r.messages[1].content;
  EXPECT_NE(body.find("EARLIER"), std::string::npos);
  EXPECT_NE(body.find("[user]: open /etc/hosts"), std::string::npos);
  EXPECT_NE(body.find(R"((tool call read {"path":"/etc/hosts"}))"), std::string::npos);
  EXPECT_NE(body.find("[tool echo]: 127.0.0.1 localhost"), std::string::npos);
  EXPECT_NE(body.find(std::string(800, 'f')), std::string::npos);
  EXPECT_EQ(body.find(std::string(801, 'f')), std::string::npos);  // the focus is cut to 800 characters
  EXPECT_NE(summaryMessage("S").content.find("<summary>\nS\n</summary>"), std::string::npos);
}

}  // namespace
}  // namespace talon::gateway
