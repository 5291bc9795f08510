// The RFC 5322 text renderMail builds for alert emails (smtp_mailer.h); the SMTP exchange itself is
// tested against a real server in alert_router_test.cpp.
#include "gateway/health/smtp_mailer.h"

#include <gtest/gtest.h>

namespace talon::gateway::health {
namespace {

TEST(RenderMail, HeadersThenABlankLineThenTheBodyWithCrlfLineEnds) {
  MailMessage m{"talon@example.com",
                "oncall@example.com",
                "channel irc:default is down",
                "line one\nline two",
                {{"X-Talon-Alert-Key", "channel:irc/default"}}};
  const std::string text = renderMail(m, 1'764'633'600'000, "1.talon-alert@example.com");  // 2025-12-02 00:00 UTC
  EXPECT_EQ(text,
            "Date: Tue, 02 Dec 2025 00:00:00 +0000\r\n"
            "From: <talon@example.com>\r\n"
            "To: <oncall@example.com>\r\n"
            "Subject: channel irc:default is down\r\n"
            "Message-ID: <1.talon-alert@example.com>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n"
            "X-Talon-Alert-Key: channel:irc/default\r\n"
            "\r\n"
            "line one\r\nline two\r\n");
}

TEST(RenderMail, LineBreaksInHeaderValuesCannotAddHeaders) {
  MailMessage m{"talon@example.com",
                "oncall@example.com",
                "down\r\nBcc: victim@example.com",
                "x",
                {{"X-Talon-Alert-Key", "a\nBcc: other@example.com"}}};
  const std::string text = renderMail(m, 0, "id@example.com");
  EXPECT_EQ(text.find("\r\nBcc:"), std::string::npos) << text;
  EXPECT_EQ(text.find("\nBcc:"), std::string::npos) << text;
  EXPECT_NE(text.find("Subject: down  Bcc: victim@example.com\r\n"), std::string::npos) << text;
}

TEST(RenderMail, ANonAsciiSubjectIsEncodedInShortWords) {
  MailMessage m{"t@example.com",
                "o@example.com",
                "[Talon] critical: Überwachung — der Kanal irc:default ist seit zwei Minuten getrennt",
                "x",
                {}};
  const std::string text = renderMail(m, 0, "id@example.com");
  const auto start = text.find("Subject: ");
  const auto end = text.find("\r\nMessage-ID:");
  ASSERT_NE(start, std::string::npos);
  const std::string subject = text.substr(start, end - start);
  EXPECT_EQ(subject.rfind("Subject: =?UTF-8?B?", 0), 0u) << subject;
  EXPECT_NE(subject.find("?=\r\n =?UTF-8?B?"), std::string::npos) << subject;  // folded into several words
  for (std::size_t pos = 0; (pos = subject.find("=?UTF-8?B?", pos)) != std::string::npos;) {
    const auto close = subject.find("?=", pos + 10);
    ASSERT_NE(close, std::string::npos);
    EXPECT_LE(close + 2 - pos, 75u);  // RFC 2047 §2
    pos = close;
  }
}

TEST(SendMail, RefusesAMessageWithoutHostSenderOrRecipient) {
  EXPECT_EQ(sendMail(SmtpSettings{}, MailMessage{"a@b.c", "d@e.f", "s", "b", {}}, 0).error().code,
            ErrorCode::kInvalidArgument);
  SmtpSettings s;
  s.host = "127.0.0.1";
  EXPECT_EQ(sendMail(s, MailMessage{"", "d@e.f", "s", "b", {}}, 0).error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace talon::gateway::health
