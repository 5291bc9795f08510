// The email channel's keys in config (the `email` row of config/sections/channel_transports.cpp): Talon's
// own channel, its keys checked where they are written (URLs and the sender address by
// config/email_settings.h) and kept for the adapter, which checks the rest (EmailSettings::parse).
#include <gtest/gtest.h>

#include <string>

#include "config/config_test_util.h"
#include "config/config_validator.h"
#include "config/email_settings.h"
#include "config/json5.h"

namespace talon::config {
namespace {

using testing::messages;
using testing::validate;

TEST(EmailTransportKeys, AnAccountLoadsForTheAdapter) {
  ValidationResult r = validate(R"({
    channels: { email: {
      dmPolicy: "allowlist", allowFrom: ["alice@example.com"],
      accounts: { support: {
        name: "Support bot", imapUrl: "imaps://imap.example.com", imapUsername: "bot", imapPassword: "pw",
        mailbox: "Support", pollSeconds: 60, smtpUrl: "smtp://smtp.example.com:587", smtpUsername: "bot",
        smtpPassword: "pw2", from: "bot@example.com", caFile: "/etc/ssl/certs/ca.pem", allowPlaintext: false,
      } },
    } },
  })");
  ASSERT_TRUE(r.valid()) << messages(r);
  const ChannelConfig& c = r.config.channels.entries.at(0);
  EXPECT_EQ(c.id, "email");
  const auto& s = c.accountSettings.at("support").values;
  EXPECT_EQ(s.at("imapUrl"), json::value("imaps://imap.example.com"));
  EXPECT_EQ(s.at("imapPassword"), json::value("pw"));
  EXPECT_EQ(s.at("pollSeconds"), json::value(60));
  EXPECT_EQ(s.at("allowPlaintext"), json::value(false));
  EXPECT_EQ(c.access.dmPolicy, std::optional<std::string>("allowlist"));
}

TEST(EmailTransportKeys, BadValuesNameTheirFileLineAndPath) {
  struct Case {
    const char* member;
    const char* path;
  };
  const Case cases[] = {
      {R"(pollSeconds: 0)", "channels.email.accounts.a.pollSeconds"},
      {R"(pollSeconds: 7200)", "channels.email.accounts.a.pollSeconds"},
      {R"(imapUrl: 143)", "channels.email.accounts.a.imapUrl"},
      {R"(imapUrl: "http://imap.example.com")", "channels.email.accounts.a.imapUrl"},
      {R"(imapUrl: "imap://imap.example.com/INBOX")", "channels.email.accounts.a.imapUrl"},
      {R"(smtpUrl: "smtp://smtp.example.com:0")", "channels.email.accounts.a.smtpUrl"},
      {R"(smtpUrl: "imap://smtp.example.com")", "channels.email.accounts.a.smtpUrl"},
      {R"(from: "Bot <bot@example.com>")", "channels.email.accounts.a.from"},
      {R"(allowPlaintext: "yes")", "channels.email.accounts.a.allowPlaintext"},
      {R"(imap: { url: "imap://x" })", "channels.email.accounts.a: Unrecognized key: \"imap\""},
  };
  for (const auto& c : cases) {
    ValidationResult r =
        validate(std::string("{\n channels: { email: { accounts: { a: {\n  ") + c.member + ",\n } } } },\n}");
    EXPECT_FALSE(r.valid()) << c.member;
    const std::string m = messages(r);
    EXPECT_NE(m.find(std::string("/c/talon.json:3:")), std::string::npos) << c.member << "\n" << m;
    const std::string path(c.path);
    EXPECT_NE(m.find(path.back() == '"' ? path : path + ":"), std::string::npos) << c.member << "\n" << m;
  }
}

TEST(EmailFormats, MailAddresses) {
  for (const char* ok : {"bot@example.com", "a.b+tag@sub.example.org", "x@y"}) EXPECT_TRUE(isMailAddress(ok)) << ok;
  for (const char* bad : {"", "bot", "@example.com", "bot@", "a@b@c", "a b@c", "<a@b>", "a@b,c@d", "a\r\n@b"}) {
    EXPECT_FALSE(isMailAddress(bad)) << bad;
  }
}

}  // namespace
}  // namespace talon::config
