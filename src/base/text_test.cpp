#include "base/text.h"

#include <gtest/gtest.h>

namespace talon {
namespace {

TEST(TextTest, TrimWhitespaceRemovesAsciiWhitespaceAtBothEnds) {
  EXPECT_EQ(trimWhitespace(" \t a b \r\n"), "a b");
  EXPECT_EQ(trimWhitespace(" \n "), "");
  EXPECT_EQ(trimWhitespace("\xC2\xA0x"), "\xC2\xA0x");  // no-break space is not ASCII whitespace
}

TEST(TextTest, IsHttpUrlWantsTheSchemeAtTheStart) {
  EXPECT_TRUE(isHttpUrl("http://x"));
  EXPECT_TRUE(isHttpUrl("https://x/y"));
  EXPECT_FALSE(isHttpUrl("ftp://x"));
  EXPECT_FALSE(isHttpUrl(" https://x"));
}

TEST(TextTest, PrintablePrefixBlanksControlBytesAndMarksTheCut) {
  EXPECT_EQ(printablePrefix("a\nb\tc", 10), "a b c");
  EXPECT_EQ(printablePrefix("abcdef", 3), "abc...");
}

TEST(TextTest, TruncateUtf8NeverSplitsASequence) {
  EXPECT_EQ(truncateUtf8("abc", 5), "abc");
  EXPECT_EQ(truncateUtf8("ab\xC3\xA9", 3), "ab");  // é is 2 bytes: cutting at 3 would split it
  EXPECT_EQ(truncateUtf8("ab\xC3\xA9", 4), "ab\xC3\xA9");
  EXPECT_EQ(truncateUtf8("\xE2\x82\xAC", 2), "");  // € is 3 bytes
}

}  // namespace
}  // namespace talon
