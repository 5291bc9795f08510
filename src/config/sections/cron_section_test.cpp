#include <gtest/gtest.h>

#include "config/config_test_util.h"
#include "config/config_validator.h"
#include "config/json5.h"

namespace talon::config {
namespace {

using testing::validate;

using testing::messages;

TEST(CronSection, DefaultsAreOpenClawsAndTalons) {
  ValidationResult r = validate("{}");
  EXPECT_TRUE(r.diagnostics.empty()) << messages(r);
  const CronConfig& c = r.config.cron;
  EXPECT_TRUE(c.enabled);
  EXPECT_FALSE(c.skipMissedJobs);
  EXPECT_FALSE(c.failureAlert.configured);
  EXPECT_EQ(c.failureAlert.after, 2);
  EXPECT_EQ(c.failureAlert.cooldownMs, 3'600'000);
  EXPECT_EQ(c.escalation.retryInitialMs, 60'000);
  EXPECT_EQ(c.escalation.retryMaxMs, 3'600'000);
  EXPECT_EQ(c.escalation.disableAfter, 10);
}

TEST(CronSection, ReadsEveryImplementedKey) {
  Environment env{{"CRON_HOOK_TOKEN", "bearer-0123456789"}};
  ValidationResult r = validate(R"({
    cron: {
      enabled: false,
      skipMissedJobs: true,
      webhookToken: "${CRON_HOOK_TOKEN}",
      sessionRetention: false,
      failureAlert: {enabled: true, after: 3, cooldownMs: 600000, includeSkipped: true, mode: "announce",
                     channel: "telegram", to: "user:42", accountId: "ops"},
      escalation: {retryBackoff: {initialMs: 30000, maxMs: 900000}, disableAfter: 5},
    },
  })",
                                env);
  EXPECT_TRUE(r.diagnostics.empty()) << messages(r);
  const CronConfig& c = r.config.cron;
  EXPECT_FALSE(c.enabled);
  EXPECT_TRUE(c.skipMissedJobs);
  EXPECT_EQ(c.webhookToken, "bearer-0123456789");
  EXPECT_TRUE(c.failureAlert.configured);
  EXPECT_EQ(c.failureAlert.after, 3);
  EXPECT_EQ(c.failureAlert.cooldownMs, 600'000);
  EXPECT_TRUE(c.failureAlert.includeSkipped);
  EXPECT_EQ(c.failureAlert.channel, "telegram");
  EXPECT_EQ(c.failureAlert.to, "user:42");
  EXPECT_EQ(c.failureAlert.accountId, "ops");
  EXPECT_EQ(c.escalation.retryInitialMs, 30'000);
  EXPECT_EQ(c.escalation.retryMaxMs, 900'000);
  EXPECT_EQ(c.escalation.disableAfter, 5);
}

TEST(CronSection, AFileRefTokenIsLeftForTheResolver) {
  ValidationResult r = validate(R"({cron: {webhookToken: {source: "file", provider: "default", id: "/cron/token"}}})");
  EXPECT_TRUE(r.diagnostics.empty()) << messages(r);
  ASSERT_TRUE(r.config.cron.webhookTokenRef);
  EXPECT_EQ(r.config.cron.webhookTokenRef->id, "/cron/token");
  EXPECT_EQ(r.config.cron.webhookTokenRef->path, "cron.webhookToken");
  EXPECT_TRUE(r.config.cron.webhookToken.empty());
}

TEST(CronSection, RefusesWhatTalonDoesNotDo) {
  ValidationResult r = validate(R"({
    cron: {
      triggers: {enabled: true},
      webhookSsrfPolicy: {dangerouslyAllowPrivateNetwork: true},
      sessionRetention: "24h",
      failureAlert: {mode: "webhook", channel: "last"},
      escalation: {retryBackoff: {initialMs: 600000, maxMs: 60000}, every: 3},
    },
  })");
  std::string all = messages(r);
  EXPECT_NE(all.find("cron.triggers: OpenClaw key \"triggers\" is not supported by Talon yet"), std::string::npos)
      << all;
  EXPECT_NE(all.find("OpenClaw key \"webhookSsrfPolicy\" is not supported by Talon yet"), std::string::npos) << all;
  EXPECT_NE(all.find("cron.sessionRetention (pruning of cron run sessions) is not supported"), std::string::npos)
      << all;
  EXPECT_NE(all.find("channel \"last\" is not supported by Talon yet"), std::string::npos) << all;
  EXPECT_NE(all.find("mode \"webhook\" requires cron.failureAlert.to"), std::string::npos) << all;
  EXPECT_NE(all.find("maxMs (60000) must be >= initialMs (600000)"), std::string::npos) << all;
  EXPECT_NE(all.find("Unrecognized key: \"every\""), std::string::npos) << all;
}

TEST(CronSection, AZeroRetentionIsWhatTalonDoes) {
  ValidationResult r = validate(R"({cron: {sessionRetention: "0h"}})");
  EXPECT_TRUE(r.diagnostics.empty()) << messages(r);
}

}  // namespace
}  // namespace talon::config
