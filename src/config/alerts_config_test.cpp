// `gateway.alerts` and `gateway.channelHealth.recovery` (sections/gateway_alerts.cpp; docs/alerts.md,
// docs/channels.md "Recovery").
#include "config/alerts_config.h"

#include <gtest/gtest.h>

#include "config/config_test_util.h"

namespace talon::config {
namespace {

using testing::messages;
using testing::validate;

TEST(AlertsConfig, DefaultsMeetTheTwoMinuteBound) {
  auto r = validate("{}");
  ASSERT_TRUE(r.diagnostics.empty()) << messages(r);
  const auto& a = r.config.gateway.alerts;
  EXPECT_TRUE(a.targets.empty());
  EXPECT_EQ(a.cooldownSeconds, 3600);
  EXPECT_EQ(a.rateLimitBurst, 10);
  EXPECT_EQ(a.rateLimitRefillSeconds, 60);
  const auto& h = r.config.gateway.channelHealth;
  EXPECT_EQ(h.checkIntervalSeconds, 30);
  EXPECT_TRUE(h.recovery.enabled);
  EXPECT_EQ(h.recovery.graceSeconds, 30);
  EXPECT_EQ(h.recovery.maxAttempts, 2);
  EXPECT_EQ(h.recovery.probeTimeoutSeconds, 10);
}

TEST(AlertsConfig, EveryTargetKindIsRead) {
  auto r = validate(R"({gateway: {
    alerts: {
      cooldownSeconds: 600, rateLimit: { burst: 3, refillSeconds: 120 },
      targets: [
        { kind: "channel", channel: "irc", accountId: "ops", to: "channel:#ops" },
        { id: "pager", kind: "webhook", url: "https://alerts.example.com/talon", secret: "s3cret" },
        { kind: "email", to: "oncall@example.com", from: "talon@example.com",
          smtp: { host: "smtp.example.com", port: 2525, security: "tls", username: "u", password: "p" } },
      ],
    },
    channelHealth: { recovery: { enabled: false, graceSeconds: 5, maxAttempts: 0, probeTimeoutSeconds: 3 } },
  }})");
  ASSERT_TRUE(r.diagnostics.empty()) << messages(r);
  const auto& a = r.config.gateway.alerts;
  EXPECT_EQ(a.cooldownSeconds, 600);
  EXPECT_EQ(a.rateLimitBurst, 3);
  EXPECT_EQ(a.rateLimitRefillSeconds, 120);
  ASSERT_EQ(a.targets.size(), 3u);
  EXPECT_EQ(a.targets[0].id, "channel-0");
  EXPECT_EQ(a.targets[0].channel, "irc");
  EXPECT_EQ(a.targets[0].accountId, "ops");
  EXPECT_EQ(a.targets[0].to, "channel:#ops");
  EXPECT_EQ(a.targets[1].id, "pager");
  EXPECT_EQ(a.targets[1].url, "https://alerts.example.com/talon");
  EXPECT_EQ(a.targets[1].secret, "s3cret");
  EXPECT_EQ(a.targets[2].id, "email-2");
  EXPECT_EQ(a.targets[2].smtpHost, "smtp.example.com");
  EXPECT_EQ(a.targets[2].smtpPort, 2525);
  EXPECT_EQ(a.targets[2].smtpSecurity, "tls");
  EXPECT_EQ(a.targets[2].smtpUsername, "u");
  EXPECT_EQ(a.targets[2].smtpPassword, "p");
  const auto& rec = r.config.gateway.channelHealth.recovery;
  EXPECT_FALSE(rec.enabled);
  EXPECT_EQ(rec.graceSeconds, 5);
  EXPECT_EQ(rec.maxAttempts, 0);
  EXPECT_EQ(rec.probeTimeoutSeconds, 3);
}

TEST(AlertsConfig, BadTargetsAreErrorsThatNameThePath) {
  struct Case {
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {R"({gateway: {alerts: {targets: [{kind: "sms", to: "1"}]}}})", "gateway.alerts.targets[0].kind"},
      {R"({gateway: {alerts: {targets: [{kind: "webhook", url: "https://x.example"}]}}})",
       "gateway.alerts.targets[0].secret"},
      {R"({gateway: {alerts: {targets: [{kind: "webhook", url: "ftp://x", secret: "s"}]}}})",
       "expected an http:// or https:// URL"},
      {R"({gateway: {alerts: {targets: [{kind: "channel", channel: "irc"}]}}})", "gateway.alerts.targets[0].to"},
      {R"({gateway: {alerts: {targets: [{kind: "channel", channel: "irc", to: "x", url: "https://x"}]}}})",
       "not a key of a \"channel\" alert target"},
      {R"({gateway: {alerts: {targets: [{kind: "email", to: "a@b.c\r\nBcc: x@y.z", from: "t@b.c",
           smtp: {host: "h"}}]}}})",
       "expected a mail address"},
      {R"({gateway: {alerts: {targets: [{kind: "email", to: "a@b.c", from: "t@b.c", smtp: {host: "h",
           security: "ssl"}}]}}})",
       "gateway.alerts.targets[0].smtp.security"},
      {R"({gateway: {alerts: {targets: [{id: "x", kind: "channel", channel: "irc", to: "a"},
                                       {id: "x", kind: "channel", channel: "irc", to: "b"}]}}})",
       "duplicate alert target id \"x\""},
      {R"({gateway: {alerts: {rateLimit: {burst: 0}}}})", "gateway.alerts.rateLimit.burst"},
      {R"({gateway: {alerts: {cooldown: 5}}})", "Unrecognized key: \"cooldown\""},
      {R"({gateway: {channelHealth: {recovery: {maxAttempts: -1}}}})", "gateway.channelHealth.recovery.maxAttempts"},
  };
  for (const auto& c : cases) {
    auto r = validate(c.text);
    EXPECT_NE(messages(r).find(c.expected), std::string::npos) << c.text << "\n" << messages(r);
  }
}

TEST(AlertsConfig, AnEnvSecretThatIsNotSetIsReportedNotDropped) {
  auto r = validate(R"({gateway: {alerts: {targets: [
    {kind: "webhook", url: "https://x.example", secret: "${TALON_TEST_UNSET_ALERT_SECRET}"}]}}})");
  ASSERT_EQ(r.config.gateway.alerts.targets.size(), 1u) << messages(r);
  EXPECT_TRUE(r.config.gateway.alerts.targets[0].secret.empty());
  EXPECT_FALSE(r.config.gateway.alerts.targets[0].secretUnavailable.empty()) << messages(r);
}

}  // namespace
}  // namespace talon::config
