#include "gateway/channels/reply_splitter.h"

#include <gtest/gtest.h>

namespace talon::gateway::channels {
namespace {

std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

/// True when `s` is valid UTF-8 (no sequence cut).
bool validUtf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

void expectWithin(const std::vector<std::string>& parts, std::size_t max) {
  for (const auto& p : parts) {
    EXPECT_LE(codePointCount(p), max) << p;
    EXPECT_TRUE(validUtf8(p)) << p;
    EXPECT_FALSE(p.empty());
  }
}

TEST(ReplySplitter, ATextThatFitsIsOnePartAndAnEmptyTextNone) {
  EXPECT_EQ(splitReply("hello", 5), std::vector<std::string>{"hello"});
  EXPECT_TRUE(splitReply("", 10).empty());
  EXPECT_EQ(codePointCount("héllo ✓"), 7u);
}

TEST(ReplySplitter, ParagraphsAreCutBetweenParagraphsFirst) {
  const std::string text = "first paragraph here\n\nsecond one\n\nthird paragraph";
  auto parts = splitReply(text, 32);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0], "first paragraph here\n\nsecond one");
  EXPECT_EQ(parts[1], "third paragraph");
  expectWithin(parts, 32);
}

TEST(ReplySplitter, ALongParagraphIsCutBetweenLinesThenWords) {
  auto lines = splitReply("line one is here\nline two is here\nline three", 20);
  EXPECT_EQ(lines, (std::vector<std::string>{"line one is here", "line two is here", "line three"}));
  auto words = splitReply("the quick brown fox jumps over the lazy dog", 15);
  EXPECT_EQ(words, (std::vector<std::string>{"the quick brown", "fox jumps over", "the lazy dog"}));
  expectWithin(words, 15);
}

TEST(ReplySplitter, AWordLongerThanThePartIsCutBetweenCodePointsNeverInsideOne) {
  const std::string word = repeat("é", 10) + repeat("✓", 5) + repeat("😀", 5);  // 2-, 3- and 4-byte sequences
  for (std::size_t max : {1u, 3u, 7u, 11u}) {
    auto parts = splitReply(word, max);
    expectWithin(parts, max);
    std::string joined;
    for (const auto& p : parts) joined += p;
    EXPECT_EQ(joined, word) << max;
  }
}

TEST(ReplySplitter, ACodeBlockThatFitsIsKeptWholeInItsOwnPart) {
  const std::string code = "```cpp\nint a = 1;\n\nint b = 2;\n```";
  const std::string text = "Here is the code:\n\n" + code + "\n\nThat was it.";
  auto parts = splitReply(text, 40);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0], "Here is the code:");
  EXPECT_EQ(parts[1], code);  // the blank line inside the block does not split it
  EXPECT_EQ(parts[2], "That was it.");
}

TEST(ReplySplitter, ACodeBlockTooLongIsCutBetweenLinesAndEachPieceFencedAgain) {
  std::string body;
  for (int i = 0; i < 10; ++i) body += "line" + std::to_string(i) + " = value;\n";
  const std::string text = "```python\n" + body + "```";
  auto parts = splitReply(text, 50);
  ASSERT_GT(parts.size(), 1u);
  expectWithin(parts, 50);
  std::string rejoined;
  for (const auto& p : parts) {
    EXPECT_EQ(p.rfind("```python\n", 0), 0u) << p;
    ASSERT_GE(p.size(), 4u);
    EXPECT_EQ(p.substr(p.size() - 4), "\n```") << p;
    rejoined += p.substr(10, p.size() - 14) + "\n";
  }
  EXPECT_EQ(rejoined, body);  // every line once, in order, none cut
}

TEST(ReplySplitter, AnUnclosedFenceIsClosedInEveryPiece) {
  const std::string text = "~~~\n" + repeat("abcdefgh\n", 6) + "end";
  auto parts = splitReply(text, 25);
  ASSERT_GT(parts.size(), 1u);
  expectWithin(parts, 25);
  for (const auto& p : parts) {
    EXPECT_EQ(p.rfind("~~~\n", 0), 0u) << p;
    EXPECT_EQ(p.substr(p.size() - 4), "\n~~~") << p;
  }
}

TEST(ReplySplitter, TheSameInputAlwaysGivesTheSameParts) {
  std::string text;
  for (int i = 0; i < 50; ++i) text += "Paragraph " + std::to_string(i) + " with some words in it.\n\n";
  text += "```\n" + repeat("x = 1\n", 100) + "```\n";
  auto a = splitReply(text, 120);
  auto b = splitReply(text, 120);
  EXPECT_EQ(a, b);
  expectWithin(a, 120);
}

}  // namespace
}  // namespace talon::gateway::channels
