// The IMAP line rules of the IDLE connection (imap_idle.h), against RFC 3501 / RFC 2177 examples and
// Dovecot's own lines. The connection itself is tested against a real Dovecot (tests/email).
#include "gateway/channels/email/imap_idle.h"

#include <gtest/gtest.h>

namespace talon::gateway::channels {
namespace {

TEST(ImapIdleLines, CapabilityListsAreReadWordByWord) {
  EXPECT_TRUE(imapLineHasCapability("* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+", "IDLE"));
  EXPECT_TRUE(imapLineHasCapability("* capability imap4rev1 idle", "IDLE")) << "case-insensitive";
  EXPECT_TRUE(imapLineHasCapability("* OK [CAPABILITY IMAP4rev1 IDLE STARTTLS] Dovecot ready.", "IDLE"));
  EXPECT_FALSE(imapLineHasCapability("* OK [CAPABILITY IMAP4rev1 STARTTLS] IDLE servers are nice", "IDLE"))
      << "only the bracketed list counts";
  EXPECT_FALSE(imapLineHasCapability("* CAPABILITY IMAP4rev1 IDLEX", "IDLE")) << "a whole word";
  EXPECT_FALSE(imapLineHasCapability("* CAPABILITY IMAP4rev1 LOGINDISABLED", "IDLE"));
  EXPECT_FALSE(imapLineHasCapability("* 3 EXISTS", "IDLE"));
}

TEST(ImapIdleLines, ExistsAndRecentSignalNewMail) {
  EXPECT_TRUE(imapLineSignalsNewMail("* 23 EXISTS"));
  EXPECT_TRUE(imapLineSignalsNewMail("* 5 RECENT"));
  EXPECT_TRUE(imapLineSignalsNewMail("* 4 exists"));
  EXPECT_FALSE(imapLineSignalsNewMail("* 2 EXPUNGE"));
  EXPECT_FALSE(imapLineSignalsNewMail("* 3 FETCH (FLAGS (\\Seen))"));
  EXPECT_FALSE(imapLineSignalsNewMail("* OK Still here"));
  EXPECT_FALSE(imapLineSignalsNewMail("+ idling"));
  EXPECT_FALSE(imapLineSignalsNewMail("* EXISTS"));
  EXPECT_FALSE(imapLineSignalsNewMail("* 3 EXISTSX"));
}

TEST(ImapIdleLines, TaggedCompletionsAreMatchedByTag) {
  EXPECT_EQ(imapTaggedResult("T3 OK Idle completed (0.001 + 2.000 secs).", "T3"), true);
  EXPECT_EQ(imapTaggedResult("T3 NO [ALERT] nope", "T3"), false);
  EXPECT_EQ(imapTaggedResult("T3 BAD Error in IMAP command", "T3"), false);
  EXPECT_EQ(imapTaggedResult("T31 OK done", "T3"), std::nullopt) << "another tag";
  EXPECT_EQ(imapTaggedResult("* OK Still here", "T3"), std::nullopt);
  EXPECT_EQ(imapTaggedResult("T3", "T3"), std::nullopt);
}

TEST(ImapIdleLines, MailboxNamesAreQuoted) {
  EXPECT_EQ(imapQuoted("INBOX"), "\"INBOX\"");
  EXPECT_EQ(imapQuoted("Support Queue"), "\"Support Queue\"");
  EXPECT_EQ(imapQuoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
}

TEST(ImapIdleLines, CurlFailuresMapToTheGatewaysCodes) {
  EXPECT_EQ(mailCurlError(CURLE_LOGIN_DENIED, 0, "denied", "IMAP h:1").code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(mailCurlError(CURLE_COULDNT_CONNECT, 0, "refused", "IMAP h:1").code, ErrorCode::kUnavailable);
  auto upstream = mailCurlError(CURLE_QUOTE_ERROR, 550, "no", "SMTP h:2");
  EXPECT_EQ(upstream.code, ErrorCode::kUpstream);
  EXPECT_EQ(upstream.message, "SMTP h:2: the server answered 550: no");
}

}  // namespace
}  // namespace talon::gateway::channels
