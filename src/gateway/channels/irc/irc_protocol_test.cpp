// IRC as data: lines and prefixes (RFC 2812 §2.3.1 with IRCv3 tags), CTCP, OpenClaw's mention rule,
// formatting codes, nick alternatives and the splitting of outbound text to the 512-byte line limit.
#include "gateway/channels/irc/irc_protocol.h"

#include <gtest/gtest.h>

namespace talon::gateway::channels::irc {
namespace {

TEST(IrcProtocolTest, ParsesPrefixCommandParamsAndTrailing) {
  auto l = parseIrcLine(":alice!~al@host.example PRIVMSG #talon :hello there: friends");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->prefix, "alice!~al@host.example");
  EXPECT_EQ(l->command, "PRIVMSG");
  ASSERT_EQ(l->params.size(), 2u);
  EXPECT_EQ(l->params[0], "#talon");
  EXPECT_EQ(l->params[1], "hello there: friends");
  EXPECT_TRUE(l->hasTrailing);

  auto ping = parseIrcLine("ping irc.example");
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->command, "PING");
  EXPECT_TRUE(ping->prefix.empty());
  ASSERT_EQ(ping->params.size(), 1u);
  EXPECT_EQ(ping->params[0], "irc.example");
  EXPECT_FALSE(ping->hasTrailing);

  auto welcome = parseIrcLine(":srv 001 talon :Welcome to the Internet Relay Network talon!~t@127.0.0.1");
  ASSERT_TRUE(welcome);
  EXPECT_EQ(welcome->command, "001");
  EXPECT_EQ(welcome->params[0], "talon");

  // IRCv3 tags are tolerated; an empty trailing parameter is kept.
  auto tagged = parseIrcLine("@time=2026-01-01T00:00:00.000Z;msgid=abc :bob!b@h PRIVMSG talon :");
  ASSERT_TRUE(tagged);
  EXPECT_EQ(tagged->tags, "time=2026-01-01T00:00:00.000Z;msgid=abc");
  EXPECT_EQ(tagged->prefix, "bob!b@h");
  ASSERT_EQ(tagged->params.size(), 2u);
  EXPECT_EQ(tagged->params[1], "");
  EXPECT_TRUE(tagged->hasTrailing);

  EXPECT_FALSE(parseIrcLine(""));
  EXPECT_FALSE(parseIrcLine(":only.a.prefix"));
  EXPECT_FALSE(parseIrcLine("@a=b"));
}

TEST(IrcProtocolTest, SplitsPrefixes) {
  auto p = parseIrcPrefix("alice!~al@host");
  EXPECT_EQ(p.nick, "alice");
  EXPECT_EQ(p.user, "~al");
  EXPECT_EQ(p.host, "host");
  auto server = parseIrcPrefix("irc.example.net");
  EXPECT_EQ(server.nick, "irc.example.net");
  EXPECT_TRUE(server.user.empty());
  EXPECT_TRUE(server.host.empty());
  auto nickHost = parseIrcPrefix("bob@h");
  EXPECT_EQ(nickHost.nick, "bob");
  EXPECT_EQ(nickHost.host, "h");
}

TEST(IrcProtocolTest, RecognisesCtcp) {
  auto action = parseCtcp(
      "\x01"
      "ACTION waves\x01");
  ASSERT_TRUE(action);
  EXPECT_EQ(action->command, "ACTION");
  EXPECT_EQ(action->args, "waves");
  auto version = parseCtcp("\x01version\x01");
  ASSERT_TRUE(version);
  EXPECT_EQ(version->command, "VERSION");
  EXPECT_EQ(version->args, "");
  auto unterminated = parseCtcp("\x01PING 123");
  ASSERT_TRUE(unterminated);
  EXPECT_EQ(unterminated->args, "123");
  EXPECT_FALSE(parseCtcp("plain text"));
  EXPECT_FALSE(parseCtcp("\x01"));
}

TEST(IrcProtocolTest, MentionsFollowOpenClawsWordBoundaryRule) {
  EXPECT_TRUE(mentionsNick("talon: what time is it?", "talon"));
  EXPECT_TRUE(mentionsNick("hey TALON, hi", "talon"));
  EXPECT_TRUE(mentionsNick("ask talon", "talon"));
  EXPECT_TRUE(mentionsNick("@talon please", "talon"));
  EXPECT_FALSE(mentionsNick("talons are sharp", "talon"));
  EXPECT_FALSE(mentionsNick("mytalon", "talon"));
  EXPECT_FALSE(mentionsNick("talon_2 is someone else", "talon"));
  EXPECT_FALSE(mentionsNick("nothing here", "talon"));
  EXPECT_FALSE(mentionsNick("anything", ""));
  // A nick ending in a non-word character: JavaScript's \b needs a word character after it.
  EXPECT_TRUE(mentionsNick("talon_ hi", "talon_"));
  EXPECT_FALSE(mentionsNick("talon| hi", "talon|"));
  EXPECT_TRUE(mentionsNick("talon|x hi", "talon|"));
}

TEST(IrcProtocolTest, StripsFormattingCodes) {
  EXPECT_EQ(stripFormatting("\x02"
                            "bold\x02 \x1dit\x1d \x1funder\x1f\x0f"),
            "bold it under");
  EXPECT_EQ(stripFormatting("\x03"
                            "04red\x03 \x03"
                            "4,12on blue\x03 \x03,x"),
            "red on blue ,x");
  EXPECT_EQ(stripFormatting("a\x03"
                            "123"),
            "a3");  // two digits at most
}

TEST(IrcProtocolTest, NamesChannels) {
  EXPECT_TRUE(isChannelName("#talon"));
  EXPECT_TRUE(isChannelName("&local"));
  EXPECT_FALSE(isChannelName("talon"));
  EXPECT_FALSE(isChannelName(""));
}

TEST(IrcProtocolTest, AlternativeNicksAppendUnderscoresWithinThirtyBytes) {
  EXPECT_EQ(alternativeNick("talon", 1), "talon_");
  EXPECT_EQ(alternativeNick("talon", 3), "talon___");
  const std::string longNick(30, 'n');
  EXPECT_EQ(alternativeNick(longNick, 1), std::string(29, 'n') + "_");
  EXPECT_EQ(alternativeNick(longNick, 2).size(), 30u);
}

TEST(IrcProtocolTest, SplitsTextIntoLinesWithinTheLimit) {
  // One message per line; empty lines dropped; control characters removed.
  auto lines = splitPrivmsgText("first\r\nsecond\n\nthird\x07\rfourth", 50);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "first");
  EXPECT_EQ(lines[1], "second");
  EXPECT_EQ(lines[2], "third");
  EXPECT_EQ(lines[3], "fourth");
  EXPECT_TRUE(splitPrivmsgText("\n\r\n", 50).empty());

  // A long line: every piece fits 512 bytes with the overhead and CR LF; words are kept whole.
  std::string text;
  for (int i = 0; i < 200; ++i) text += (i ? " word" : "word") + std::to_string(i);
  const std::size_t overhead = privmsgOverhead("talon", "~talon", "127.0.0.1", "#room");
  EXPECT_EQ(overhead, std::string(":talon!~talon@127.0.0.1 PRIVMSG #room :").size());
  auto pieces = splitPrivmsgText(text, overhead);
  ASSERT_GT(pieces.size(), 1u);
  std::string joined;
  for (const auto& p : pieces) {
    EXPECT_LE(overhead + p.size() + 2, kMaxLineBytes);
    EXPECT_NE(p.back(), ' ');
    EXPECT_EQ(p.rfind("word", 0), 0u) << p;  // starts at a word
    joined += (joined.empty() ? "" : " ") + p;
  }
  EXPECT_EQ(joined, text);
}

TEST(IrcProtocolTest, SplitsAtUtf8BoundariesOnly) {
  // 300 two-byte and three-byte code points with no spaces: no piece ends inside a code point.
  std::string text;
  for (int i = 0; i < 150; ++i) text += "é€";  // 2 + 3 bytes
  const std::size_t overhead = 400;            // leaves 110 bytes per piece
  auto pieces = splitPrivmsgText(text, overhead);
  std::string joined;
  for (const auto& p : pieces) {
    EXPECT_LE(p.size(), 110u);
    const auto last = static_cast<unsigned char>(p.back());
    EXPECT_TRUE(last == 0xA9 || last == 0xAC) << "ends inside a code point";  // é = C3 A9, € = E2 82 AC
    joined += p;
  }
  EXPECT_EQ(joined, text);
}

TEST(IrcProtocolTest, OverheadAssumesTheLongestMaskWhenUnknown) {
  EXPECT_EQ(privmsgOverhead("n", "", "", "t"), 1 + 1 + 1 + 10 + 1 + 63 + 9 + 1 + 2u);
}

}  // namespace
}  // namespace talon::gateway::channels::irc
