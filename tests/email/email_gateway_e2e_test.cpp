// End to end: `talon gateway run` (a real process) with the email channel configured against a real
// Dovecot and SMTP submission server on loopback ports (tests/support/mail_servers.h), and
// `talon-mock-model` answering every turn with "ok". A mail delivered to the agent's mailbox is answered
// in the peer's mailbox with In-Reply-To set; Dovecot is then restarted, and the next mail of the thread
// is answered too. The gateway must start the channel from config: when it does not, the test fails
// saying so — it never skips. A second test starts the gateway with a broken GMime on the library path:
// the account fails its start with the reason, and the gateway runs on.
#include <gtest/gtest.h>

#include <filesystem>

#include "../e2e/child_process.h"
#include "../e2e/e2e_support.h"
#include "base/json.h"
#include "gateway/channels/email/email_mime.h"
#include "support/mail_servers.h"

namespace talon::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class EmailGatewayE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir();
    auto dovecot = testing::DovecotServer::start({{"bot", "imap-pw"}});
    ASSERT_TRUE(dovecot) << dovecot.error().toString();
    dovecot_ = std::move(*dovecot);
    auto submission = testing::SubmissionServer::start("bot", "smtp-pw");
    ASSERT_TRUE(submission) << submission.error().toString();
    submission_ = std::move(*submission);
    mock_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{TALON_MOCK_MODEL_BINARY, "--port", "0", "--port-file", (dir_ / "mock.port").string()},
        std::map<std::string, std::string>{}, (dir_ / "mock.log").string());
    const int mockPort = waitForPortFile((dir_ / "mock.port").string(), 10s);
    ASSERT_GT(mockPort, 0) << mock_->log();
    writeText(dir_ / "talon.json", R"({
  gateway: { auth: { mode: "token", token: "e2e-token" } },
  models: { providers: { mock: { baseUrl: "http://127.0.0.1:)" +
                                       std::to_string(mockPort) +
                                       R"(/v1", apiKey: "test-key", api: "openai-completions",
                                 models: [{ id: "mock-model", name: "Mock" }] } } },
  agents: { defaults: { model: "mock/mock-model" } },
  channels: { email: { dmPolicy: "allowlist", allowFrom: ["alice@example.com"], accounts: { support: {
    imapUrl: ")" + dovecot_->url() +
                                       R"(", imapUsername: "bot", imapPassword: "imap-pw", allowPlaintext: true,
    pollSeconds: 1, smtpUrl: ")" + submission_->url() +
                                       R"(", smtpUsername: "bot", smtpPassword: "smtp-pw",
    caFile: ")" + submission_->certificateFile() +
                                       R"(", from: "bot@example.net",
  } } } },
})");
    gateway_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{TALON_BINARY, "gateway", "run", "--config", (dir_ / "talon.json").string(), "--port",
                                 "0", "--port-file", (dir_ / "gateway.port").string()},
        std::map<std::string, std::string>{{"TALON_STATE_DIR", (dir_ / "state").string()}},
        (dir_ / "gateway.log").string());
    ASSERT_GT(waitForPortFile((dir_ / "gateway.port").string(), 15s), 0) << gateway_->log();
  }

  void TearDown() override {
    gateway_.reset();
    mock_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }

  /// The n-th mail in the peer's mailbox, parsed, once it is there (up to 30 s).
  std::optional<gateway::channels::ParsedEmail> reply(std::size_t n) {
    if (!pollUntil([&] { return submission_->messages().size() >= n; }, 30s)) return std::nullopt;
    auto parsed = gateway::channels::parseEmail(submission_->messages()[n - 1]);
    if (!parsed) return std::nullopt;
    return *parsed;
  }

  fs::path dir_;
  std::unique_ptr<testing::DovecotServer> dovecot_;
  std::unique_ptr<testing::SubmissionServer> submission_;
  std::unique_ptr<ChildProcess> mock_;
  std::unique_ptr<ChildProcess> gateway_;
};

TEST_F(EmailGatewayE2E, AMailIsAnsweredBeforeAndAfterDovecotRestarts) {
  ASSERT_TRUE(dovecot_->deliver("bot",
                                "From: Alice <alice@example.com>\r\nTo: bot@example.net\r\nSubject: Hello\r\n"
                                "Message-ID: <e1@example.com>\r\n\r\nhello over mail\r\n"));
  auto first = reply(1);
  ASSERT_TRUE(first) << "the gateway did not answer through the email channel configured in channels.email\n"
                     << gateway_->log() << "\n"
                     << dovecot_->log();
  EXPECT_EQ(first->text, "ok");
  EXPECT_EQ(first->inReplyTo, "e1@example.com");
  EXPECT_EQ(first->subject, "Re: Hello");

  ASSERT_TRUE(dovecot_->restart());
  ASSERT_TRUE(dovecot_->deliver("bot",
                                "From: alice@example.com\r\nTo: bot@example.net\r\nSubject: Re: Hello\r\n"
                                "Message-ID: <e2@example.com>\r\nIn-Reply-To: <" +
                                    first->messageId + ">\r\nReferences: <e1@example.com> <" + first->messageId +
                                    ">\r\n\r\nare you back?\r\n"));
  auto second = reply(2);
  ASSERT_TRUE(second) << "no answer after Dovecot restarted\n" << gateway_->log();
  EXPECT_EQ(second->text, "ok");
  EXPECT_EQ(second->inReplyTo, "e2@example.com");
  EXPECT_EQ(submission_->messages().size(), 2u) << "the first mail was answered twice";
}

// `talon` does not link GMime: it opens libgmime-3.0.so.0 when an email account starts. With a broken
// libgmime-3.0.so.0 first on the library path (LD_LIBRARY_PATH reaches dlopen), the gateway starts and
// serves as before, and the email account does not start: `talon channels status` shows the reason,
// naming the library and its Debian package. Needs no mail server: the account never gets as far as
// connecting.
TEST(EmailGatewayWithoutGMimeE2E, TheAccountDoesNotStartAndStatusSaysWhy) {
  const fs::path dir = makeTempDir();
  writeText(dir / "lib" / "libgmime-3.0.so.0", "not a shared object\n");
  const std::string token = "e2e-token-without-gmime";
  writeText(dir / "talon.json", R"({
  gateway: { auth: { mode: "token", token: ")" +
                                    token + R"(" } },
  channels: { email: { dmPolicy: "allowlist", allowFrom: ["alice@example.com"], accounts: { support: {
    imapUrl: "imap://127.0.0.1:1", imapUsername: "bot", imapPassword: "imap-pw", allowPlaintext: true,
    smtpUrl: "smtp://127.0.0.1:1", from: "bot@example.net",
  } } } },
})");
  ChildProcess gateway({TALON_BINARY, "gateway", "run", "--config", (dir / "talon.json").string(), "--port", "0",
                        "--port-file", (dir / "gateway.port").string()},
                       {{"TALON_STATE_DIR", (dir / "state").string()}, {"LD_LIBRARY_PATH", (dir / "lib").string()}},
                       (dir / "gateway.log").string());
  const int port = waitForPortFile((dir / "gateway.port").string(), 15s);
  ASSERT_GT(port, 0) << gateway.log();

  json::object account;
  auto accountStatus = [&] {
    auto r = runTalon(
        dir, {"channels", "status", "--json", "--url", "ws://127.0.0.1:" + std::to_string(port), "--token", token},
        {{"TALON_STATE_DIR", (dir / "state").string()}});
    if (r.status != 0) return false;
    const auto payload = jsonObjectOf(r.out);
    const auto* all = getObject(payload, "channelAccounts");
    const auto* list = all != nullptr ? getArray(*all, "email") : nullptr;
    if (list == nullptr || list->empty() || !list->front().is_object()) return false;
    account = list->front().as_object();
    return getString(account, "lastError").has_value();
  };
  ASSERT_TRUE(pollUntil(accountStatus, 15s))
      << "no email account with a lastError in `talon channels status`: " << json::serialize(account) << "\n"
      << gateway.log();
  const std::string lastError(*getString(account, "lastError"));
  EXPECT_NE(lastError.find("cannot load libgmime-3.0.so.0"), std::string::npos) << lastError;
  EXPECT_NE(lastError.find("(Debian package libgmime-3.0-0)"), std::string::npos) << lastError;
  EXPECT_EQ(getBool(account, "running"), false) << json::serialize(account);
  EXPECT_TRUE(gateway.running()) << gateway.log();
  if (!HasFailure()) fs::remove_all(dir);
}

}  // namespace
}  // namespace talon::test
