// The email channel's MIME side (email_mime.h) on hand-written mails: what the agent reads (plain text,
// HTML reduced, attachments listed), the thread a mail belongs to, and the reply it renders (read back
// with the same parser, as the peer's client would).
#include "gateway/channels/email/email_mime.h"

#include <gtest/gtest.h>

#include "gateway/routing/session_key.h"

namespace talon::gateway::channels {
namespace {

TEST(EmailMime, APlainMailGivesItsHeadersAndText) {
  auto mail = parseEmail(
      "From: Alice Example <Alice@Example.COM>\r\n"
      "To: bot@example.net\r\n"
      "Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n"
      "Message-ID: <m1@example.com>\r\n"
      "Content-Type: text/plain; charset=iso-8859-1\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n"
      "\r\n"
      "Caf=E9 at noon?\r\n"
      "Second line\r\n");
  ASSERT_TRUE(mail) << mail.error().toString();
  EXPECT_EQ(mail->fromAddress, "alice@example.com");
  EXPECT_EQ(mail->fromName, "Alice Example");
  EXPECT_EQ(mail->subject, "Grüße");
  EXPECT_EQ(mail->messageId, "m1@example.com");
  EXPECT_EQ(mail->text, "Café at noon?\nSecond line");
  EXPECT_FALSE(mail->textFromHtml);
  EXPECT_TRUE(mail->attachments.empty());
  EXPECT_FALSE(mail->autoSubmitted);
  EXPECT_EQ(emailThreadRoot(*mail), "m1@example.com");  // a new thread
}

TEST(EmailMime, AnHtmlOnlyMailIsReducedToText) {
  auto mail = parseEmail(
      "From: bob@example.com\r\n"
      "Subject: html\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: text/html; charset=utf-8\r\n"
      "\r\n"
      "<html><head><title>T</title><style>p{color:red}</style></head><body>"
      "<p>Hello&nbsp;<b>there</b> &amp; welcome</p><script>alert(1)</script>"
      "<ul><li>one</li><li>two &#x2192; three</li></ul>"
      "<p>See <a href=\"https://example.com/x\">the page</a><br>bye</p></body></html>\r\n");
  ASSERT_TRUE(mail) << mail.error().toString();
  EXPECT_TRUE(mail->textFromHtml);
  EXPECT_EQ(mail->text, "Hello there & welcome\n\n- one\n- two → three\n\nSee the page (https://example.com/x)\nbye");
}

TEST(EmailMime, MultipartAlternativePrefersThePlainPartAndListsAttachments) {
  auto mail = parseEmail(
      "From: carol@example.com\r\n"
      "Subject: report\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
      "\r\n"
      "--outer\r\n"
      "Content-Type: multipart/alternative; boundary=\"alt\"\r\n"
      "\r\n"
      "--alt\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "\r\n"
      "The plain version.\r\n"
      "--alt\r\n"
      "Content-Type: text/html; charset=utf-8\r\n"
      "\r\n"
      "<p>The <i>HTML</i> version.</p>\r\n"
      "--alt--\r\n"
      "--outer\r\n"
      "Content-Type: application/pdf; name=\"report.pdf\"\r\n"
      "Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "\r\n"
      "JVBERi0xLjQKJcfs\r\n"
      "--outer\r\n"
      "Content-Type: text/plain; name=\"notes.txt\"\r\n"
      "Content-Disposition: attachment; filename=\"notes.txt\"\r\n"
      "\r\n"
      "abc\r\n"
      "--outer--\r\n");
  ASSERT_TRUE(mail) << mail.error().toString();
  EXPECT_EQ(mail->text, "The plain version.");
  EXPECT_FALSE(mail->textFromHtml);
  ASSERT_EQ(mail->attachments.size(), 2u);
  EXPECT_EQ(mail->attachments[0].filename, "report.pdf");
  EXPECT_EQ(mail->attachments[0].contentType, "application/pdf");
  EXPECT_EQ(mail->attachments[0].sizeBytes, 12u);  // base64 of 12 bytes
  EXPECT_EQ(mail->attachments[1].filename, "notes.txt");
  EXPECT_EQ(mail->attachments[1].contentType, "text/plain");
  EXPECT_EQ(emailAgentText(*mail),
            "The plain version.\n[attachment: report.pdf (application/pdf, 12 bytes)]\n"
            "[attachment: notes.txt (text/plain, 3 bytes)]");
}

TEST(EmailMime, TheThreadRootIsTheFirstReferenceElseInReplyTo) {
  auto reply = parseEmail(
      "From: a@example.com\r\nMessage-ID: <m3@example.com>\r\nIn-Reply-To: <m2@talon>\r\n"
      "References: <m1@example.com>\r\n <m2@talon>\r\n\r\nok\r\n");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->inReplyTo, "m2@talon");
  EXPECT_EQ(reply->references, (std::vector<std::string>{"m1@example.com", "m2@talon"}));
  EXPECT_EQ(emailThreadRoot(*reply), "m1@example.com");

  auto bare = parseEmail("From: a@example.com\r\nMessage-ID: <m3@x>\r\nIn-Reply-To: <m2@talon>\r\n\r\nok\r\n");
  ASSERT_TRUE(bare);
  EXPECT_EQ(emailThreadRoot(*bare), "m2@talon");
}

TEST(EmailMime, OneThreadIsOneSessionKey) {
  // What the channel does with each mail: the thread root, as the session key's thread suffix.
  auto keyOf = [](const std::string& raw) {
    auto mail = parseEmail(raw);
    EXPECT_TRUE(mail) << raw;
    return routing::appendThreadSuffix("agent:main:main", emailThreadId(emailThreadRoot(*mail)));
  };
  const std::string first = keyOf("From: a@example.com\r\nMessage-ID: <m1@example.com>\r\n\r\nhi\r\n");
  const std::string reply = keyOf(
      "From: a@example.com\r\nMessage-ID: <m3@example.com>\r\nIn-Reply-To: <r2@talon>\r\n"
      "References: <m1@example.com> <r2@talon>\r\n\r\nagain\r\n");
  const std::string other = keyOf("From: a@example.com\r\nMessage-ID: <m9@example.com>\r\n\r\nnew\r\n");
  EXPECT_EQ(first, "agent:main:main:thread:m1@example.com");
  EXPECT_EQ(reply, first);
  EXPECT_NE(other, first);
  // A ':' in a Message-ID cannot split the key.
  EXPECT_EQ(emailThreadId("a:b <c>@d"), "a_b__c_@d");
}

TEST(EmailMime, AutomaticMailIsMarked) {
  for (const char* header : {"Auto-Submitted: auto-replied", "Precedence: bulk", "Precedence: list"}) {
    auto mail = parseEmail(std::string("From: a@example.com\r\n") + header + "\r\n\r\nout of office\r\n");
    ASSERT_TRUE(mail);
    EXPECT_TRUE(mail->autoSubmitted) << header;
  }
  auto human = parseEmail("From: a@example.com\r\nAuto-Submitted: no\r\n\r\nhi\r\n");
  ASSERT_TRUE(human);
  EXPECT_FALSE(human->autoSubmitted);
}

TEST(EmailMime, AMailWithoutASenderIsRefused) {
  auto mail = parseEmail("Subject: nobody\r\n\r\ntext\r\n");
  ASSERT_FALSE(mail);
  EXPECT_EQ(mail.error().code, ErrorCode::kInvalidArgument);
}

TEST(EmailMime, AReplyCarriesTheThreadHeadersAndReadsBack) {
  OutgoingEmail out;
  out.from = "bot@example.net";
  out.fromName = "Talon";
  out.to = "alice@example.com";
  out.subject = replySubject("Grüße");
  out.text = "Hello Alice,\nthe answer is 42 — café.";
  out.messageId = "r1.talon@example.net";
  out.inReplyTo = "m1@example.com";
  out.references = {"m0@example.com", "m1@example.com"};
  out.dateMs = 1'700'000'000'000;
  auto built = buildEmail(out);
  ASSERT_TRUE(built) << built.error().toString();
  const std::string& text = *built;
  EXPECT_NE(text.find("In-Reply-To: <m1@example.com>\r\n"), std::string::npos) << text;
  EXPECT_NE(text.find("References: <m0@example.com> <m1@example.com>\r\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Auto-Submitted: auto-replied\r\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("\n\n"), std::string::npos) << "bare LF line ends: " << text;
  auto back = parseEmail(text);
  ASSERT_TRUE(back) << back.error().toString();
  EXPECT_EQ(back->fromAddress, "bot@example.net");
  EXPECT_EQ(back->subject, "Re: Grüße");
  EXPECT_EQ(back->messageId, "r1.talon@example.net");
  EXPECT_EQ(back->inReplyTo, "m1@example.com");
  EXPECT_EQ(emailThreadRoot(*back), "m0@example.com");
  EXPECT_EQ(back->text, "Hello Alice,\nthe answer is 42 — café.");
  EXPECT_TRUE(back->autoSubmitted);  // so another robot does not answer it
}

TEST(EmailMime, ReplySubjects) {
  EXPECT_EQ(replySubject("Lunch"), "Re: Lunch");
  EXPECT_EQ(replySubject("RE: Lunch"), "RE: Lunch");
  EXPECT_EQ(replySubject("  "), "Re:");
}

TEST(EmailMime, HtmlToTextEdgeCases) {
  EXPECT_EQ(htmlToText("a<!-- hidden -->b"), "ab");
  EXPECT_EQ(htmlToText("<pre>x\n  y</pre>z"), "x\n  y\n\nz");
  EXPECT_EQ(htmlToText("<a href=\"mailto:x@y.z\">x@y.z</a>"), "x@y.z");
  EXPECT_EQ(htmlToText("5 &lt; 6 &unknown; &#65;"), "5 < 6 &unknown; A");
  EXPECT_EQ(htmlToText("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>"), "a b\n\nc");
}

}  // namespace
}  // namespace talon::gateway::channels
