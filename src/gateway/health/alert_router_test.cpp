// The alert router over real targets: a loopback channel account through the outbox, a signed webhook
// to a local HTTP peer, and email to a real SMTP server (python3-aiosmtpd) — deduplication, cooldown,
// the per-target token bucket, resolved messages, and every outcome as a metric, a health record and an
// audit event. Timers and the outbox run on ManualExecutors in simulated time; nothing sleeps.
#include "gateway/health/alert_router.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gateway/automation/webhook_sender.h"
#include "gateway/channels/loopback_channel.h"
#include "gateway/channels/outbound_dispatcher.h"
#include "security/webhook_signature.h"
#include "support/gateway_components.h"
#include "support/io_thread.h"
#include "support/metric_value.h"
#include "support/scripted_peer.h"
#include "support/smtp_server.h"

namespace talon::gateway::health {
namespace {

using testing::metricValue;

using talon::testing::PeerReply;
using talon::testing::ScriptedPeer;

constexpr std::string_view kConfig = R"({
  channels: { loopback: { dmPolicy: "open", allowFrom: ["*"], accounts: { ops: {} } } },
})";

/// Where the loopback channel delivers inbound messages (none arrive in these tests).
class NullSink final : public channels::ChannelSink {
 public:
  void onInbound(std::string_view, routing::InboundMessage) override {}
};

config::AlertTargetConfig channelTarget() {
  config::AlertTargetConfig t;
  t.id = "ops-chat";
  t.kind = "channel";
  t.channel = "loopback";
  t.accountId = "ops";
  t.to = "channel:#ops";
  return t;
}

class AlertRouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(gw_.ok());
    gw_.channelRuntime->start(sink_);
    auto outbound = channels::OutboundDispatcher::create(*gw_.store, gw_.metrics, gw_.healthRecords, gw_.bus,
                                                         gw_.executors.executors(), gw_.clock,
                                                         [this](std::string_view id) { return gw_.channels.find(id); });
    ASSERT_TRUE(outbound) << outbound.error().toString();
    gw_.outbound = std::move(*outbound);
    io_.start();
    automation::WebhookSenderOptions wo;
    wo.maxAttempts = 1;
    auto webhooks = automation::WebhookSender::create(net::HttpClient::create(io_.io()), gw_.executors.executors(),
                                                      gw_.clock, gw_.metrics, wo);
    ASSERT_TRUE(webhooks) << webhooks.error().toString();
    webhooks_ = std::move(*webhooks);
  }
  void TearDown() override {
    router_.reset();
    io_.stop();
    if (gw_.outbound) gw_.outbound->stop();
  }

  AlertRouter& make(config::AlertsConfig config) {
    auto r =
        AlertRouter::create(AlertRouterDeps{std::move(config), gw_.outbound.get(), webhooks_.get(), gw_.healthRecords,
                                            gw_.metrics, &gw_.audit, gw_.executors.executors(), gw_.clock});
    EXPECT_TRUE(r) << r.error().toString();
    router_ = std::move(*r);
    return *router_;
  }
  channels::LoopbackChannel& ops() {
    return *dynamic_cast<channels::LoopbackChannel*>(gw_.channels.find("loopback:ops"));
  }
  bool settle(const std::function<bool()>& done) { return gw_.executors.runUntil(done); }
  double alerts(std::string_view kind, std::string_view outcome) {
    return metricValue(gw_.metrics,
                       fmt::format(R"(talon_alerts_total{{target_kind="{}",outcome="{}"}})", kind, outcome));
  }

  static Alert down(std::string key = "channel:irc/default") {
    return Alert{std::move(key),
                 AlertSeverity::kCritical,
                 "irc/default is down",
                 "2 recovery attempts failed",
                 {{"channel", "irc"}, {"accountId", "default"}}};
  }

  testing::GatewayComponents gw_{[] {
    testing::GatewayComponentsOptions o;
    o.configText = std::string(kConfig);
    return o;
  }()};
  NullSink sink_;
  testing::IoThread io_;
  std::unique_ptr<automation::WebhookSender> webhooks_;
  std::unique_ptr<AlertRouter> router_;
};

TEST_F(AlertRouterTest, AnIncidentIsSentOnceUntilTheCooldownPassesThenResolvedOnce) {
  config::AlertsConfig c;
  c.targets = {channelTarget()};
  c.cooldownSeconds = 600;
  AlertRouter& router = make(c);
  ASSERT_TRUE(gw_.healthRecords.get("alerts/ops-chat", "delivery"));
  EXPECT_EQ(gw_.healthRecords.get("alerts/ops-chat", "delivery")->state, HealthState::kUnknown);

  router.raise(down());
  ASSERT_TRUE(settle([&] { return router.targets()[0].sent == 1; }));
  auto sent = ops().sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].peer.kind, routing::PeerKind::kChannel);
  EXPECT_EQ(sent[0].peer.id, "#ops");
  EXPECT_EQ(sent[0].text,
            "[critical] irc/default is down\n2 recovery attempts failed\nchannel: irc\naccountId: default");
  EXPECT_EQ(gw_.healthRecords.get("alerts/ops-chat", "delivery")->state, HealthState::kOk);
  EXPECT_EQ(alerts("channel", "sent"), 1);

  // The same incident again within the cooldown: counted, not sent.
  gw_.executors.advance(599'000);
  router.raise(down());
  gw_.executors.runReady();
  EXPECT_EQ(ops().sent().size(), 1u);
  EXPECT_EQ(alerts("channel", "deduplicated"), 1);
  EXPECT_EQ(router.openIncidents(), std::vector<std::string>{"channel:irc/default"});

  // After the cooldown: repeated.
  gw_.executors.advance(1'000);
  router.raise(down());
  ASSERT_TRUE(settle([&] { return ops().sent().size() == 2; }));

  router.resolve("channel:irc/default", "irc/default is healthy again");
  ASSERT_TRUE(settle([&] { return ops().sent().size() == 3; }));
  EXPECT_EQ(ops().sent()[2].text, "[resolved] irc/default is down\nirc/default is healthy again");
  EXPECT_TRUE(router.openIncidents().empty());
  router.resolve("channel:irc/default", "again");  // no longer open: nothing
  gw_.executors.runReady();
  EXPECT_EQ(ops().sent().size(), 3u);
  ASSERT_TRUE(settle([&] { return router.targets()[0].sent == 3; }));
  auto audited = gw_.audit.ofKind("alert.delivery");
  ASSERT_EQ(audited.size(), 3u);
  EXPECT_EQ(audited[2].details.at("message"), json::value("resolved"));
  EXPECT_EQ(audited[2].outcome, security::AuditOutcome::kAllowed);
}

TEST_F(AlertRouterTest, AHigherSeverityIsSentWithinTheCooldown) {
  config::AlertsConfig c;
  c.targets = {channelTarget()};
  AlertRouter& router = make(c);
  Alert warning = down();
  warning.severity = AlertSeverity::kWarning;
  router.raise(warning);
  router.raise(warning);
  router.raise(down());  // critical now
  ASSERT_TRUE(settle([&] { return ops().sent().size() == 2; }));
  EXPECT_EQ(ops().sent()[0].text.substr(0, 9), "[warning]");
  EXPECT_EQ(ops().sent()[1].text.substr(0, 10), "[critical]");
  EXPECT_EQ(alerts("channel", "deduplicated"), 1);
}

TEST_F(AlertRouterTest, TheTokenBucketDropsWhatExceedsTheRateAndCountsIt) {
  config::AlertsConfig c;
  c.targets = {channelTarget()};
  c.rateLimitBurst = 2;
  c.rateLimitRefillSeconds = 60;
  AlertRouter& router = make(c);
  router.raise(down("a"));
  router.raise(down("b"));
  router.raise(down("c"));  // the bucket is empty
  ASSERT_TRUE(settle([&] { return router.targets()[0].sent == 2; }));
  EXPECT_EQ(ops().sent().size(), 2u);
  EXPECT_EQ(router.targets()[0].rateLimited, 1);
  EXPECT_EQ(alerts("channel", "rate_limited"), 1);
  auto record = gw_.healthRecords.get("alerts/ops-chat", "delivery");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->state, HealthState::kDegraded);
  EXPECT_NE(record->detail.find("dropped by the rate limit"), std::string::npos) << record->detail;

  // "c" was never told, so its resolution sends nothing; one token comes back after 60 s.
  router.resolve("c", "ok");
  gw_.executors.advance(60'000);
  router.raise(down("d"));
  ASSERT_TRUE(settle([&] { return ops().sent().size() == 3; }));
  EXPECT_NE(ops().sent()[2].text.find("[critical]"), std::string::npos);
  router.raise(down("e"));  // empty again
  gw_.executors.runReady();
  EXPECT_EQ(alerts("channel", "rate_limited"), 2);
}

TEST_F(AlertRouterTest, AWebhookTargetGetsASignedJsonAlert) {
  ScriptedPeer peer({PeerReply::whole(204, "")});
  config::AlertsConfig c;
  config::AlertTargetConfig t;
  t.id = "pager";
  t.kind = "webhook";
  t.url = peer.origin() + "/hooks/talon";
  t.secret = "whsec-alerts";
  c.targets = {t};
  AlertRouter& router = make(c);
  router.raise(down());
  ASSERT_TRUE(settle([&] { return router.targets()[0].sent == 1; }));
  auto reqs = peer.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/hooks/talon");
  security::WebhookVerifier verifier(security::Secret("whsec-alerts"), 300, gw_.clock);
  EXPECT_EQ(verifier.verify(reqs[0].header("x-talon-timestamp"), reqs[0].header("x-talon-signature"), reqs[0].body),
            security::SignatureCheck::kValid);
  auto body = parseJson(reqs[0].body);
  ASSERT_TRUE(body);
  EXPECT_EQ(body->at("type"), json::value("alert.firing"));
  EXPECT_EQ(body->at("key"), json::value("channel:irc/default"));
  EXPECT_EQ(body->at("severity"), json::value("critical"));
  EXPECT_EQ(body->at("fields").at("accountId"), json::value("default"));
  EXPECT_EQ(alerts("webhook", "sent"), 1);
}

TEST_F(AlertRouterTest, AFailedSendIsAMetricAHealthRecordAndAnAuditEvent) {
  ScriptedPeer peer({PeerReply::whole(404, "{}")});
  config::AlertsConfig c;
  config::AlertTargetConfig t;
  t.id = "pager";
  t.kind = "webhook";
  t.url = peer.origin() + "/gone?token=abc";
  t.secret = "whsec-alerts";
  c.targets = {t};
  AlertRouter& router = make(c);
  EXPECT_EQ(router.targets()[0].destination, peer.origin() + "/gone");  // no query in status or logs
  router.raise(down());
  ASSERT_TRUE(settle([&] { return router.targets()[0].failed == 1; }));
  EXPECT_EQ(alerts("webhook", "failed"), 1);
  auto record = gw_.healthRecords.get("alerts/pager", "delivery");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->state, HealthState::kFailed);
  EXPECT_NE(record->detail.find("last send failed"), std::string::npos) << record->detail;
  auto audited = gw_.audit.ofKind("alert.delivery");
  ASSERT_EQ(audited.size(), 1u);
  EXPECT_EQ(audited[0].outcome, security::AuditOutcome::kFailed);
  EXPECT_EQ(audited[0].target, "pager");
}

TEST_F(AlertRouterTest, ATargetWhoseSecretCannotBeReadIsReportedAndNeverUsedUnsigned) {
  ScriptedPeer peer({PeerReply::whole(204, "")});
  config::AlertsConfig c;
  config::AlertTargetConfig t;
  t.id = "pager";
  t.kind = "webhook";
  t.url = peer.origin() + "/r";
  t.secretUnavailable = "env var \"PAGER_SECRET\" is not set";
  c.targets = {t};
  AlertRouter& router = make(c);
  EXPECT_EQ(gw_.healthRecords.get("alerts/pager", "delivery")->state, HealthState::kFailed);
  router.raise(down());
  ASSERT_TRUE(settle([&] { return router.targets()[0].failed == 1; }));
  EXPECT_TRUE(peer.requests().empty());
}

TEST_F(AlertRouterTest, AnEmailTargetDeliversToARealSmtpServer) {
  auto smtp = testing::SmtpServer::start();
  ASSERT_TRUE(smtp) << smtp.error().toString();
  config::AlertsConfig c;
  config::AlertTargetConfig t;
  t.id = "oncall";
  t.kind = "email";
  t.to = "oncall@example.com";
  t.from = "talon@gw1.example.com";
  t.smtpHost = "127.0.0.1";
  t.smtpPort = (*smtp)->port();
  t.smtpSecurity = "none";
  c.targets = {t};
  AlertRouter& router = make(c);
  Alert a = down();
  a.title = "irc/default is down — Überwachung";  // a non-ASCII subject is RFC 2047-encoded
  a.text = ".a line that starts with a dot\nsecond line";
  router.raise(a);
  ASSERT_TRUE(settle([&] { return router.targets()[0].sent + router.targets()[0].failed == 1; }));
  ASSERT_EQ(router.targets()[0].sent, 1) << router.targets()[0].lastError;
  auto messages = (*smtp)->messages();
  ASSERT_EQ(messages.size(), 1u);
  const std::string& m = messages[0];
  EXPECT_NE(m.find("X-MailFrom: talon@gw1.example.com"), std::string::npos) << m;
  EXPECT_NE(m.find("X-RcptTo: oncall@example.com"), std::string::npos) << m;
  EXPECT_NE(m.find("From: <talon@gw1.example.com>"), std::string::npos) << m;
  EXPECT_NE(m.find("To: <oncall@example.com>"), std::string::npos) << m;
  EXPECT_NE(m.find("Subject: =?UTF-8?B?"), std::string::npos) << m;
  EXPECT_NE(m.find("X-Talon-Alert-Key: channel:irc/default"), std::string::npos) << m;
  EXPECT_NE(m.find("X-Talon-Alert-State: firing"), std::string::npos) << m;
  EXPECT_NE(m.find("Content-Type: text/plain; charset=utf-8"), std::string::npos) << m;
  EXPECT_NE(m.find("\n.a line that starts with a dot"), std::string::npos) << m;  // dot-stuffing undone
  EXPECT_NE(m.find("accountId: default"), std::string::npos) << m;
  EXPECT_EQ(alerts("email", "sent"), 1);

  router.resolve(a.key, "irc/default is healthy again");
  ASSERT_TRUE(settle([&] { return router.targets()[0].sent + router.targets()[0].failed == 2; }));
  messages = (*smtp)->messages();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_NE(messages[1].find("X-Talon-Alert-State: resolved"), std::string::npos) << messages[1];
  EXPECT_NE(messages[1].find("irc/default is healthy again"), std::string::npos) << messages[1];
}

TEST_F(AlertRouterTest, AnUnreachableSmtpServerIsAFailure) {
  config::AlertsConfig c;
  config::AlertTargetConfig t;
  t.id = "oncall";
  t.kind = "email";
  t.to = "oncall@example.com";
  t.from = "talon@example.com";
  t.smtpHost = "127.0.0.1";
  t.smtpPort = 1;  // nothing listens there
  t.smtpSecurity = "none";
  c.targets = {t};
  AlertRouter& router = make(c);
  router.raise(down());
  ASSERT_TRUE(settle([&] { return router.targets()[0].failed == 1; }));
  EXPECT_NE(router.targets()[0].lastError.find("SMTP 127.0.0.1:1"), std::string::npos) << router.targets()[0].lastError;
  EXPECT_EQ(gw_.healthRecords.get("alerts/oncall", "delivery")->state, HealthState::kFailed);
  EXPECT_EQ(alerts("email", "failed"), 1);
}

}  // namespace
}  // namespace talon::gateway::health
