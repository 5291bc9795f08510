// End to end: `talon gateway run` (a real process) with the IRC channel against a real ngircd and an email
// alert target on a real SMTP server (python3-aiosmtpd). The IRC server is killed: the channel runtime's
// bounded recovery fails, the account is escalated and the alert email arrives; the server is started
// again: the channel reconnects and the resolved email arrives. Short recovery timings
// (gateway.channelHealth: 1 s checks, 1 s grace) keep the wait to seconds; docs/channels.md "Recovery"
// has the arithmetic of the defaults.
#include <gtest/gtest.h>

#include <filesystem>

#include "../e2e/child_process.h"
#include "../e2e/e2e_support.h"
#include "support/irc_test_client.h"
#include "support/ngircd_server.h"
#include "support/smtp_server.h"

namespace talon::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

TEST(IrcRecoveryE2E, AKilledServerIsEscalatedByEmailAndResolvedWhenItReturns) {
  const fs::path dir = makeTempDir();
  auto ircd = testing::NgircdServer::start();
  ASSERT_TRUE(ircd) << ircd.error().toString();
  auto smtp = testing::SmtpServer::start();
  ASSERT_TRUE(smtp) << smtp.error().toString();
  writeText(dir / "talon.json",
            R"({
  gateway: {
    auth: { mode: "token", token: "e2e-token-recovery-0123456789" },
    channelHealth: { checkIntervalSeconds: 1, recovery: { graceSeconds: 1, maxAttempts: 2, probeTimeoutSeconds: 1 } },
    alerts: { targets: [ { id: "oncall", kind: "email", to: "oncall@example.com", from: "talon@example.com",
                           smtp: { host: "127.0.0.1", port: )" +
                std::to_string((*smtp)->port()) + R"(, security: "none" } } ] },
  },
  models: { providers: { mock: { baseUrl: "http://127.0.0.1:1/v1", apiKey: "test-key", api: "openai-completions",
                                 models: [{ id: "mock-model", name: "Mock" }] } } },
  agents: { defaults: { model: "mock/mock-model" } },
  channels: { irc: { host: "127.0.0.1", port: )" +
                std::to_string((*ircd)->port()) +
                R"(, tls: false, nick: "talonbot", channels: ["#talon"], dmPolicy: "open", allowFrom: ["*"] } },
})");
  auto gateway = std::make_unique<ChildProcess>(
      std::vector<std::string>{TALON_BINARY, "gateway", "run", "--config", (dir / "talon.json").string(), "--port", "0",
                               "--port-file", (dir / "gateway.port").string()},
      std::map<std::string, std::string>{{"TALON_STATE_DIR", (dir / "state").string()}},
      (dir / "gateway.log").string());
  ASSERT_GT(waitForPortFile((dir / "gateway.port").string(), 15s), 0) << gateway->log();
  ASSERT_TRUE(pollUntil([&] { return gateway->log().find("registered as talonbot") != std::string::npos; }, 20s))
      << gateway->log();

  (*ircd)->kill();
  ASSERT_TRUE(pollUntil([&] { return (*smtp)->messages().size() == 1; }, 30s)) << gateway->log();
  const std::string alert = (*smtp)->messages()[0];
  EXPECT_NE(alert.find("Subject: [Talon] critical: channel irc:default is disconnected"), std::string::npos) << alert;
  EXPECT_NE(alert.find("X-Talon-Alert-Key: channel:irc/default"), std::string::npos) << alert;
  EXPECT_NE(alert.find("X-Talon-Alert-State: firing"), std::string::npos) << alert;
  EXPECT_NE(alert.find("recoveryAttempts: 2"), std::string::npos) << alert;

  ASSERT_TRUE((*ircd)->restart());
  ASSERT_TRUE(pollUntil([&] { return (*smtp)->messages().size() == 2; }, 60s)) << gateway->log();
  const std::string resolved = (*smtp)->messages()[1];
  EXPECT_NE(resolved.find("Subject: [Talon] RESOLVED: channel irc:default is disconnected"), std::string::npos)
      << resolved;
  EXPECT_NE(resolved.find("X-Talon-Alert-State: resolved"), std::string::npos) << resolved;
  gateway.reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace talon::test
