// The email channel against real mail servers: Dovecot holds the agent's mailbox (mail arrives there by
// dovecot-lda, Dovecot's own delivery agent), and the agent's replies are submitted over SMTP with STARTTLS
// and AUTH to Postfix (a private instance that checks the password against Dovecot's users), which relays
// them to a submission server whose Maildir is the peer's mailbox the test reads
// (tests/support/mail_servers.h). The gateway's inbound path runs in process (InboundRouter over a real
// AgentRunner with a FakeModelProvider, ManualExecutors and a SimulatedClock;
// tests/support/gateway_components.h). The channel's worker polls on its own thread every 20 ms; every
// callback it posts runs on the manual executors, so the test pumps them. Waiting is bounded by a safety
// net only.
#include <gtest/gtest.h>

#include <iostream>
#include <thread>

#include "gateway/channels/email/email_channel.h"
#include "gateway/channels/email/email_mime.h"
#include "gateway/channels/inbound_router.h"
#include "gateway/channels/outbound_dispatcher.h"
#include "support/channel_pairing.h"
#include "support/gateway_components.h"
#include "support/mail_servers.h"
#include "support/manual_executors.h"

namespace talon::gateway::channels {
namespace {

using namespace std::chrono_literals;
constexpr auto kSafetyNet = 20s;

constexpr std::string_view kOpenConfig = R"({
  channels: { email: { dmPolicy: "open", allowFrom: ["*"] } },
})";
constexpr std::string_view kAllowlistConfig = R"({
  channels: { email: { dmPolicy: "allowlist", allowFrom: ["alice@example.com"] } },
})";
/// OpenClaw's default DM policy: strangers get a pairing code.
constexpr std::string_view kPairingConfig = R"({
  channels: { email: { dmPolicy: "pairing" } },
})";

std::string mail(const std::string& from, const std::string& subject, const std::string& messageId,
                 const std::string& extraHeaders, const std::string& body) {
  return "From: " + from + "\r\nTo: bot@example.net\r\nSubject: " + subject + "\r\nMessage-ID: <" + messageId +
         ">\r\nDate: Wed, 02 Dec 2026 10:00:00 +0000\r\n" + extraHeaders + "\r\n" + body + "\r\n";
}

class EmailChannelServersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dovecot = testing::DovecotServer::start({{"bot", "bot-imap-pw"}});
    ASSERT_TRUE(dovecot) << dovecot.error().toString();
    dovecot_ = std::move(*dovecot);
    auto submission = testing::SubmissionServer::start("bot", "bot-smtp-pw");
    ASSERT_TRUE(submission) << submission.error().toString();
    submission_ = std::move(*submission);
    // The channel submits to a real MTA: Postfix, authenticating against Dovecot's users and relaying
    // into the submission server's Maildir (the peer's mailbox). Postfix's master needs root; elsewhere
    // the channel submits to the submission server directly, and the test says so.
    auto postfix = testing::PostfixServer::start(*dovecot_, *submission_, "bot", "bot-smtp-pw");
    if (postfix) {
      postfix_ = std::move(*postfix);
    } else {
      ASSERT_EQ(postfix.error().code, ErrorCode::kFailedPrecondition) << postfix.error().toString();
      std::cerr << "note: " << postfix.error().message << "; SMTP goes straight to the aiosmtpd submission server\n";
    }
  }
  void TearDown() override {
    if (channel_) channel_->stop();
    router_.reset();
  }

  json::object settings() const {
    return json::object{{"imapUrl", dovecot_->url()},
                        {"imapUsername", "bot"},
                        {"imapPassword", "bot-imap-pw"},
                        {"allowPlaintext", true},  // Dovecot runs without TLS here; SMTP uses STARTTLS
                        {"smtpUrl", postfix_ ? postfix_->url() : submission_->url()},
                        {"smtpUsername", "bot"},
                        {"smtpPassword", postfix_ ? "bot-imap-pw" : "bot-smtp-pw"},  // Postfix checks Dovecot's users
                        {"caFile", postfix_ ? postfix_->certificateFile() : submission_->certificateFile()},
                        {"from", "bot@example.net"},
                        {"name", "Talon"}};
  }

  void startGateway(std::string_view config, json::object account, bool waitReady = true) {
    testing::GatewayComponentsOptions o;
    o.configText = std::string(config);
    gw_ = std::make_unique<testing::GatewayComponents>(o);
    ASSERT_TRUE(gw_->ok());
    gate_ = std::make_unique<routing::AccessGate>(gw_->config->config.channels, gw_->store.get(), gw_->clock);
    ChannelContext context;
    context.accountId = "default";
    context.executors = gw_->executors.executors();
    context.clock = gw_->clock;
    auto settings = EmailSettings::parse("default", account);
    ASSERT_TRUE(settings) << settings.error().toString();
    auto channel = EmailChannel::create(context, std::move(*settings), timing_);
    ASSERT_TRUE(channel) << channel.error().toString();
    channel_ = std::move(*channel);
    auto find = [this](std::string_view id) -> Channel* {
      return id == "email" || id == "email:default" ? channel_.get() : nullptr;
    };
    auto outbound = OutboundDispatcher::create(*gw_->store, gw_->metrics, gw_->healthRecords, gw_->bus,
                                               gw_->executors.executors(), gw_->clock, find);
    ASSERT_TRUE(outbound) << outbound.error().toString();
    gw_->outbound = std::move(*outbound);
    auto router = InboundRouter::create(gw_->config->config, gw_->agents->roster(), *gate_, *gw_->runner, gw_->metrics,
                                        gw_->audit, gw_->executors.executors(), find, *gw_->outbound);
    ASSERT_TRUE(router) << router.error().toString();
    router_ = std::move(*router);
    ASSERT_TRUE(channel_->start(*router_));
    if (waitReady) {
      ASSERT_TRUE(until([&] { return channel_->health().authenticated; })) << channel_->health().detail << "\n"
                                                                           << dovecot_->log();
    }
  }

  bool until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + kSafetyNet;
    while (std::chrono::steady_clock::now() < deadline) {
      gw_->executors.runReady();
      if (done()) return true;
      std::this_thread::sleep_for(2ms);
    }
    return false;
  }
  int64_t sessionCount() {
    auto sessions = gw_->store->sessions().list(store::SessionQuery{std::nullopt, 10, 0});
    EXPECT_TRUE(sessions);
    return sessions ? sessions->totalCount : -1;
  }
  /// The peer's mailbox once it holds `n` messages; the n-th, parsed.
  Result<ParsedEmail> delivered(std::size_t n, const std::function<void()>& step = {}) {
    const bool arrived = until([&] {
      if (step) step();
      return submission_->messages().size() >= n;
    });
    if (!arrived) {
      return fail(ErrorCode::kDeadlineExceeded, "no mail; channel: " + channel_->health().detail +
                                                    (postfix_ ? "\npostfix:\n" + postfix_->log() : std::string()));
    }
    const auto all = submission_->messages();
    return parseEmail(all[n - 1]);
  }

  /// The channel's timing: polls every 20 ms unless a test sets otherwise before startGateway.
  EmailTiming timing_{20ms, 5s};
  std::unique_ptr<testing::DovecotServer> dovecot_;
  std::unique_ptr<testing::SubmissionServer> submission_;
  std::unique_ptr<testing::PostfixServer> postfix_;  // null when not root (see SetUp)
  std::unique_ptr<testing::GatewayComponents> gw_;
  std::unique_ptr<routing::AccessGate> gate_;
  std::unique_ptr<EmailChannel> channel_;
  std::unique_ptr<InboundRouter> router_;
};

TEST_F(EmailChannelServersTest, AMailIsAnsweredInItsThreadAndTheThreadIsOneSession) {
  startGateway(kOpenConfig, settings());
  auto health = channel_->health();
  EXPECT_EQ(health.state, ChannelHealth::State::kConnected);
  EXPECT_TRUE(health.authenticated);
  std::optional<Status> probed;
  channel_->probe([&](Status s) { probed = s; });
  ASSERT_TRUE(until([&] { return probed.has_value(); }));
  EXPECT_TRUE(*probed) << probed->error().toString();

  ASSERT_TRUE(dovecot_->deliver(
      "bot", mail("Alice <alice@example.com>", "Lunch", "m1@example.com", "", "Shall we meet at noon?")));
  ASSERT_TRUE(gw_->waitCalls(1));
  EXPECT_EQ(gw_->provider->call(0)->request.messages.back().content, "Shall we meet at noon?");
  gw_->provider->call(0)->answer("Noon works.");
  auto reply = delivered(1);
  ASSERT_TRUE(reply) << reply.error().toString();
  EXPECT_EQ(reply->fromAddress, "bot@example.net");
  EXPECT_EQ(reply->subject, "Re: Lunch");
  EXPECT_EQ(reply->inReplyTo, "m1@example.com");
  EXPECT_EQ(reply->references, std::vector<std::string>{"m1@example.com"});
  EXPECT_EQ(reply->text, "Noon works.");
  EXPECT_NE(submission_->messages()[0].find("X-RcptTo: alice@example.com"), std::string::npos);
  ASSERT_TRUE(until([&] { return channel_->health().sent == 1; }));
  EXPECT_EQ(sessionCount(), 1);

  // alice answers the reply: the same thread, so the same session (the model sees the history).
  ASSERT_TRUE(dovecot_->deliver("bot", mail("alice@example.com", "Re: Lunch", "m2@example.com",
                                            "In-Reply-To: <" + reply->messageId +
                                                ">\r\nReferences: <m1@example.com> <" + reply->messageId + ">\r\n",
                                            "Great, see you.")));
  ASSERT_TRUE(gw_->waitCalls(2));
  const auto& second = gw_->provider->call(1)->request.messages;
  EXPECT_EQ(second.back().content, "Great, see you.");
  EXPECT_GE(second.size(), 3u) << "the thread's history";
  gw_->provider->call(1)->answer("See you.");
  auto again = delivered(2);
  ASSERT_TRUE(again) << again.error().toString();
  EXPECT_EQ(again->inReplyTo, "m2@example.com");
  EXPECT_EQ(again->references, (std::vector<std::string>{"m1@example.com", reply->messageId, "m2@example.com"}));
  EXPECT_EQ(sessionCount(), 1);

  // A new mail without thread headers is a new thread: a session of its own.
  ASSERT_TRUE(dovecot_->deliver("bot", mail("alice@example.com", "Other", "m3@example.com", "", "New topic")));
  ASSERT_TRUE(gw_->waitCalls(3));
  EXPECT_EQ(sessionCount(), 2);
  EXPECT_EQ(channel_->health().received, 3);
  EXPECT_GT(channel_->health().lastInboundAtMs, 0);
}

TEST_F(EmailChannelServersTest, AnHtmlOnlyMailReachesTheAgentAsTextWithItsAttachmentsListed) {
  startGateway(kOpenConfig, settings());
  ASSERT_TRUE(dovecot_->deliver(
      "bot", mail("bob@example.com", "Report", "h1@example.com",
                  "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n",
                  "--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
                  "<html><body><p>Please <b>read</b> the&nbsp;report.</p><p>Thanks</p></body></html>\r\n"
                  "--b\r\nContent-Type: text/csv; name=\"q3.csv\"\r\nContent-Disposition: attachment; "
                  "filename=\"q3.csv\"\r\n\r\na,b\r\n1,2\r\n--b--")));
  ASSERT_TRUE(gw_->waitCalls(1));
  EXPECT_EQ(gw_->provider->call(0)->request.messages.back().content,
            "Please read the report.\n\nThanks\n[attachment: q3.csv (text/csv, 8 bytes)]");
  gw_->provider->call(0)->answer("Read it.");
  auto reply = delivered(1);
  ASSERT_TRUE(reply) << reply.error().toString();
  EXPECT_EQ(reply->inReplyTo, "h1@example.com");
}

TEST_F(EmailChannelServersTest, AnUnlistedSenderIsRefusedBeforeAnySessionExists) {
  startGateway(kAllowlistConfig, settings());
  ASSERT_TRUE(dovecot_->deliver("bot", mail("mallory@example.org", "hi", "x1@example.org", "", "let me in")));
  ASSERT_TRUE(until([&] { return channel_->health().received == 1; }));
  ASSERT_TRUE(until([&] { return !gw_->audit.ofKind("access.dm").empty(); }));
  gw_->executors.runReady();
  EXPECT_EQ(gw_->provider->count(), 0u);
  EXPECT_EQ(sessionCount(), 0);
  EXPECT_TRUE(submission_->messages().empty());

  // alice is listed (her address in any case).
  ASSERT_TRUE(dovecot_->deliver("bot", mail("Alice@Example.com", "hi", "a1@example.com", "", "it is alice")));
  ASSERT_TRUE(gw_->waitCalls(1));
  EXPECT_EQ(sessionCount(), 1);
  EXPECT_EQ(channel_->health().received, 2);
}

TEST_F(EmailChannelServersTest, AStrangerUnderPairingGetsACodeThatAnOperatorApproves) {
  startGateway(kPairingConfig, settings());
  ASSERT_TRUE(dovecot_->deliver("bot", mail("Mallory <mallory@example.org>", "hi", "p1@example.org", "", "let me in")));
  auto reply = delivered(1);
  ASSERT_TRUE(reply) << reply.error().toString();
  EXPECT_NE(submission_->messages()[0].find("X-RcptTo: mallory@example.org"), std::string::npos);
  EXPECT_EQ(reply->inReplyTo, "p1@example.org") << "the code answers the mail in its thread";
  EXPECT_NE(reply->text.find("Your email id: mallory@example.org"), std::string::npos) << reply->text;
  const std::string code = testing::pairingCodeIn(reply->text);
  ASSERT_FALSE(code.empty()) << reply->text;
  EXPECT_NE(reply->text.find("talon pairing approve email " + code), std::string::npos) << reply->text;
  gw_->executors.runReady();
  EXPECT_EQ(gw_->provider->count(), 0u);
  EXPECT_EQ(sessionCount(), 0);

  // The operator approves the code; mallory's next mail reaches the agent and is answered.
  EXPECT_EQ(testing::approvePairing(*gw_->store, "email", code, gw_->clock->nowMs()), "mallory@example.org");
  ASSERT_TRUE(dovecot_->deliver("bot", mail("mallory@example.org", "again", "p2@example.org", "", "approved now?")));
  ASSERT_TRUE(gw_->waitCalls(1));
  EXPECT_EQ(gw_->provider->call(0)->request.messages.back().content, "approved now?");
  gw_->provider->call(0)->answer("Yes, welcome.");
  auto welcome = delivered(2);
  ASSERT_TRUE(welcome) << welcome.error().toString();
  EXPECT_EQ(welcome->text, "Yes, welcome.");
  EXPECT_EQ(welcome->inReplyTo, "p2@example.org");
  EXPECT_EQ(sessionCount(), 1);
}

// IMAP IDLE (docs/channels.md "Email"): with the timed poll an hour away, only the server's push can bring
// the mail in; without IDLE the same mail waits for the next poll.
TEST_F(EmailChannelServersTest, NewMailArrivesThroughImapIdleWithoutWaitingForThePoll) {
  timing_.pollInterval = std::chrono::hours(1);
  startGateway(kOpenConfig, settings());  // the first poll runs at start, then none for an hour
  for (int i = 1; i <= 2; ++i) {
    const std::string id = "i" + std::to_string(i) + "@example.com";
    ASSERT_TRUE(dovecot_->deliver("bot", mail("alice@example.com", "ping", id, "", "mail " + std::to_string(i))));
    ASSERT_TRUE(gw_->waitCalls(static_cast<std::size_t>(i))) << "mail " << i << " was not pushed";
    EXPECT_EQ(gw_->provider->call(i - 1)->request.messages.back().content, "mail " + std::to_string(i));
    gw_->provider->call(i - 1)->answer("got " + std::to_string(i));
    auto reply = delivered(static_cast<std::size_t>(i));
    ASSERT_TRUE(reply) << reply.error().toString();
    EXPECT_EQ(reply->inReplyTo, id);
  }
  EXPECT_EQ(channel_->health().received, 2);
}

TEST_F(EmailChannelServersTest, WithoutIdleNewMailWaitsForThePoll) {
  timing_.pollInterval = std::chrono::hours(1);
  auto account = settings();
  account["idle"] = false;
  startGateway(kOpenConfig, std::move(account));
  ASSERT_TRUE(dovecot_->deliver("bot", mail("alice@example.com", "ping", "n1@example.com", "", "poll me")));
  std::this_thread::sleep_for(1500ms);  // ample for a push; the poll is an hour away
  gw_->executors.runReady();
  EXPECT_EQ(gw_->provider->count(), 0u);
  ASSERT_TRUE(channel_->restart());  // a poll now
  ASSERT_TRUE(gw_->waitCalls(1));
  EXPECT_EQ(gw_->provider->call(0)->request.messages.back().content, "poll me");
}

TEST_F(EmailChannelServersTest, ServersRestartedMidConversationStillDeliverTheReply) {
  startGateway(kOpenConfig, settings());
  ASSERT_TRUE(dovecot_->deliver("bot", mail("carol@example.com", "Q", "c1@example.com", "", "before the restart")));
  ASSERT_TRUE(gw_->waitCalls(1));

  // The servers go down while the agent thinks.
  dovecot_->stop();
  if (postfix_) postfix_->stop();
  submission_->stop();
  ASSERT_TRUE(until([&] { return channel_->health().state == ChannelHealth::State::kDisconnected; }))
      << channel_->health().detail;
  EXPECT_FALSE(channel_->health().authenticated);
  gw_->provider->call(0)->answer("first answer");
  ASSERT_TRUE(until([&] { return channel_->health().sendFailures >= 1; }));

  ASSERT_TRUE(dovecot_->restart());
  ASSERT_TRUE(submission_->restart());
  if (postfix_) ASSERT_TRUE(postfix_->restart());
  ASSERT_TRUE(until([&] { return channel_->health().authenticated; })) << channel_->health().detail;
  EXPECT_GE(channel_->health().reconnects, 1);

  // The outbox retries the reply as time moves on.
  auto reply = delivered(1, [this] { gw_->executors.advance(250); });
  ASSERT_TRUE(reply) << reply.error().toString();
  EXPECT_EQ(reply->text, "first answer");
  EXPECT_EQ(reply->inReplyTo, "c1@example.com");
  ASSERT_TRUE(until([&] { return channel_->health().state == ChannelHealth::State::kConnected; }))
      << channel_->health().detail;

  // A later mail in the thread is answered in the same session; the earlier one is not answered again.
  ASSERT_TRUE(dovecot_->deliver("bot", mail("carol@example.com", "Re: Q", "c2@example.com",
                                            "In-Reply-To: <" + reply->messageId +
                                                ">\r\nReferences: <c1@example.com> <" + reply->messageId + ">\r\n",
                                            "after the restart")));
  ASSERT_TRUE(gw_->waitCalls(2));
  gw_->provider->call(1)->answer("still here");
  auto later = delivered(2);
  ASSERT_TRUE(later) << later.error().toString();
  EXPECT_EQ(later->text, "still here");
  EXPECT_EQ(sessionCount(), 1);
  EXPECT_EQ(channel_->health().received, 2);
}

TEST_F(EmailChannelServersTest, ARefusedImapLoginIsDegraded) {
  auto account = settings();
  account["imapPassword"] = "wrong";
  startGateway(kOpenConfig, std::move(account), false);
  ASSERT_TRUE(until([&] { return channel_->health().state == ChannelHealth::State::kDegraded; }))
      << channel_->health().detail;
  const auto health = channel_->health();
  EXPECT_FALSE(health.authenticated);
  EXPECT_NE(health.detail.find("login refused"), std::string::npos) << health.detail;
  EXPECT_EQ(health.detail.find("wrong"), std::string::npos) << "never the password";
}

TEST_F(EmailChannelServersTest, ARefusedSmtpLoginFailsTheSend) {
  auto account = settings();
  account["smtpPassword"] = "wrong";
  startGateway(kOpenConfig, std::move(account));
  std::optional<Status> sent;
  channel_->send(OutboundMessage{"default", routing::Peer{routing::PeerKind::kDirect, "alice@example.com"},
                                 std::nullopt, "hello", ""},
                 [&](Status s) { sent = s; });
  ASSERT_TRUE(until([&] { return sent.has_value(); }));
  ASSERT_FALSE(*sent);
  EXPECT_EQ(sent->error().code, ErrorCode::kUnauthenticated) << sent->error().toString();
  EXPECT_EQ(channel_->health().state, ChannelHealth::State::kDegraded);
  EXPECT_TRUE(submission_->messages().empty());
}

}  // namespace
}  // namespace talon::gateway::channels
