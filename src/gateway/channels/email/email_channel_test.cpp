// The email channel's settings (EmailSettings::parse, parseMailServerUrl): every refusal names its key.
// The channel against real servers is tests/email/ (label `email`).
#include "gateway/channels/email/email_channel.h"

#include <gtest/gtest.h>

namespace talon::gateway::channels {
namespace {

json::object valid() {
  return json::object{{"imapUrl", "imaps://imap.example.com"},
                      {"imapUsername", "bot"},
                      {"imapPassword", "pw"},
                      {"smtpUrl", "smtp://smtp.example.com:2525"},
                      {"smtpUsername", "bot"},
                      {"smtpPassword", "pw"},
                      {"from", "Bot@Example.com"}};
}

TEST(EmailSettings, DefaultsAndPorts) {
  auto s = EmailSettings::parse("work", valid());
  ASSERT_TRUE(s) << s.error().toString();
  EXPECT_EQ(s->imap.host, "imap.example.com");
  EXPECT_EQ(s->imap.port, 993);
  EXPECT_TRUE(s->imap.implicitTls);
  EXPECT_EQ(s->smtp.port, 2525);
  EXPECT_FALSE(s->smtp.implicitTls);
  EXPECT_EQ(s->mailbox, "INBOX");
  EXPECT_EQ(s->pollSeconds, 30);
  EXPECT_EQ(s->from, "bot@example.com");
  EXPECT_FALSE(s->allowPlaintext);
}

TEST(EmailSettings, MailServerUrls) {
  EXPECT_EQ(config::parseMailServerUrl("imap", "imap://h")->port, 143);
  EXPECT_EQ(config::parseMailServerUrl("smtp", "smtps://h/")->port, 465);
  EXPECT_EQ(config::parseMailServerUrl("smtp", "smtp://[::1]:25")->host, "::1");
  EXPECT_FALSE(config::parseMailServerUrl("imap", "smtp://h"));
  EXPECT_FALSE(config::parseMailServerUrl("imap", "imap://h/INBOX"));
  EXPECT_FALSE(config::parseMailServerUrl("imap", "imap://user@h"));
  EXPECT_FALSE(config::parseMailServerUrl("imap", "imap://h:0"));
  EXPECT_FALSE(config::parseMailServerUrl("imap", "imap://h:99999"));
  EXPECT_FALSE(config::parseMailServerUrl("imap", "imap://:143"));
}

TEST(EmailSettings, RefusalsNameTheirKey) {
  struct Case {
    const char* key;
    json::value value;
    const char* expected;
  };
  const Case cases[] = {
      {"imapUrl", nullptr, "channels.email.accounts.work.imapUrl: is required"},
      {"imapUrl", "http://x", "channels.email.accounts.work.imapUrl: must start with imap://"},
      {"smtpUrl", "smtp://x/y", "channels.email.accounts.work.smtpUrl: must be smtp://host[:port]"},
      {"imapPassword", nullptr, "channels.email.accounts.work.imapPassword: is required"},
      {"from", "not an address", "channels.email.accounts.work.from: must be a bare address"},
      {"pollSeconds", 0, "channels.email.accounts.work.pollSeconds: must be an integer from 1 to 3600"},
      {"pollSeconds", "5", "channels.email.accounts.work.pollSeconds: must be an integer"},
      {"allowPlaintext", "yes", "channels.email.accounts.work.allowPlaintext: must be true or false"},
      {"mailbox", "a\"b", "channels.email.accounts.work.mailbox: must be a mailbox name"},
      {"caFile", "/nonexistent/ca.pem", "channels.email.accounts.work.caFile: \"/nonexistent/ca.pem\" is not"},
      {"smtpUsername", nullptr, "channels.email.accounts.work.smtpPassword: needs smtpUsername"},
      {"imapHost", "x", "channels.email.accounts.work.imapHost: is not an email channel setting"},
  };
  for (const auto& c : cases) {
    auto settings = valid();
    if (c.value.is_null()) {
      settings.erase(c.key);
    } else {
      settings[c.key] = c.value;
    }
    auto s = EmailSettings::parse("work", settings);
    ASSERT_FALSE(s) << c.key;
    EXPECT_EQ(s.error().code, ErrorCode::kConfigInvalid);
    EXPECT_EQ(s.error().message.rfind(c.expected, 0), 0u) << s.error().message;
  }
}

}  // namespace
}  // namespace talon::gateway::channels
