// The /compact reply texts against OpenClaw 2026.9.6: token counts as its formatTokenCount prints them
// (values taken from running dist/token-format-*.mjs under Node 24), the "Context" part and each outcome.
#include "gateway/chat_commands/compact_reply.h"

#include <gtest/gtest.h>

namespace talon::gateway::chat_commands {
namespace {

TEST(CompactReplyTest, TokenCountsAreFormattedAsOpenClawFormatsThem) {
  const std::pair<int64_t, const char*> cases[] = {
      {0, "0"},          {-5, "0"},         {1, "1"},         {999, "999"},   {1000, "1.0k"},   {1049, "1.0k"},
      {1050, "1.1k"},    {1150, "1.1k"},    {1250, "1.3k"},   {3400, "3.4k"}, {9949, "9.9k"},   {9950, "9.9k"},
      {9999, "10.0k"},   {10000, "10k"},    {10500, "11k"},   {12345, "12k"}, {999499, "999k"}, {999500, "1.0m"},
      {1000000, "1.0m"}, {1250000, "1.3m"}, {2000000, "2.0m"}};
  for (const auto& [tokens, text] : cases) EXPECT_EQ(formatTokenCount(tokens), text) << tokens;
}

TEST(CompactReplyTest, ContextUsageShowsTotalWindowAndPercentage) {
  EXPECT_EQ(formatContextUsageShort(3400, 200000), "Context 3.4k/200k (2%)");
  EXPECT_EQ(formatContextUsageShort(0, 200000), "Context ?/200k");
  EXPECT_EQ(formatContextUsageShort(5000, 0), "Context 5.0k/?");
  EXPECT_EQ(formatContextUsageShort(50'000'000, 1000), "Context 50.0m/1.0k (999%)");
}

TEST(CompactReplyTest, EachOutcomeHasOpenClawsReply) {
  CompactResult done;
  done.compacted = true;
  done.tokensBefore = 12345;
  done.tokensAfter = 3400;
  done.compactionCount = 1;
  EXPECT_EQ(compactReplyText(done, 200000), "⚙️ Compacted (12k → 3.4k) • Context 3.4k/200k (2%)");

  CompactResult young;
  young.reason = "nothing to compact";
  young.tokensBefore = 40;
  EXPECT_EQ(compactReplyText(young, 200000),
            "⚙️ Compaction skipped: nothing compactable in this session yet • Context 40/200k (0%)");
  CompactResult empty;
  empty.reason = "no transcript";
  EXPECT_EQ(compactReplyText(empty, 200000),
            "⚙️ Compaction skipped: nothing compactable in this session yet • Context ?/200k");

  Result<CompactResult> draining =
      fail(ErrorCode::kUnavailable, "gateway is shutting down", "gateway is shutting down");
  EXPECT_EQ(compactReplyText(draining, 200000), "⚙️ Compaction unavailable: gateway is shutting down.");
  Result<CompactResult> failed = fail(ErrorCode::kUpstream, "compaction failed: HTTP 500: upstream exploded",
                                      "compaction failed: upstream exploded");
  EXPECT_EQ(compactReplyText(failed, 128000), "⚙️ Compaction failed: upstream exploded • Context ?/128k");
}

}  // namespace
}  // namespace talon::gateway::chat_commands
