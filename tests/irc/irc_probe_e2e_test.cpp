// End to end: a channel probe (gateway.probes kind "channel", docs/probes.md) of `talon gateway run` (a real
// process) on the IRC channel against a real ngircd, with a small echo client written here (IRC over a real
// socket) as the probed peer and `talon-mock-model` answering any turn with "ok". The probe succeeds while
// the echo client answers, and its echoes never reach the agent (the echo client would otherwise get the
// agent's "ok"); once the echo client has quit, the probe fails with "sent, no reply containing …" in its
// health record. Short probe timings (10 s interval, 3 s timeout) keep the wait to seconds.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "../e2e/child_process.h"
#include "../e2e/e2e_support.h"
#include "support/irc_test_client.h"
#include "support/ngircd_server.h"

namespace talon::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// An IRC user "echo" that says back every direct message it gets, on a thread of its own, until stop().
class IrcEchoClient {
 public:
  /// Connects and registers; false when the server did not welcome it.
  bool start(uint16_t port) {
    if (!client_.connect(port, "echo")) return false;
    thread_ = std::thread([this] { run(); });
    return true;
  }
  /// Quits IRC and joins the thread. Idempotent.
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  ~IrcEchoClient() { stop(); }

  /// The texts received so far, in order.
  std::vector<std::string> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  void run() {
    while (!stop_) {
      // While stopping, a PING to the server makes a line (its PONG) arrive, which ends the wait.
      auto line = client_.waitFor(
          [&](const testing::irc::IrcLine& l) {
            return stop_ || (l.command == "PRIVMSG" && l.params.size() == 2 && l.params[0] == "echo");
          },
          [&] {
            if (stop_) client_.send("PING :stopping");
          });
      if (stop_ || !line || line->command != "PRIVMSG") continue;
      const std::string from = testing::irc::parseIrcPrefix(line->prefix).nick;
      {
        std::lock_guard lock(mu_);
        received_.push_back(line->params[1]);
      }
      client_.say(from, line->params[1]);
    }
    client_.send("QUIT :bye");
    client_.close();
  }

  testing::IrcTestClient client_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<std::string> received_;
};

constexpr const char* kProbeE2EToken = "e2e-token-channel-probe-0123456789";

/// The probe's health record (`probe:irc-echo`, dimension "result") from a fresh `health` snapshot.
std::optional<json::object> probeRecord(ProtocolClient& c) {
  auto res = c.request("health", json::object{{"probe", true}});
  if (!res || !getBool(*res, "ok").value_or(false)) return std::nullopt;
  const auto* records = getArray(res->at("payload").as_object(), "records");
  if (!records) return std::nullopt;
  for (const auto& r : *records) {
    const auto& o = r.as_object();
    if (getString(o, "component") == "probe:irc-echo" && getString(o, "dimension") == "result") return o;
  }
  return std::nullopt;
}

TEST(IrcProbeE2E, TheProbeIsOkWhileTheEchoClientAnswersAndFailsWhenItIsGone) {
  const fs::path dir = makeTempDir();
  auto ircd = testing::NgircdServer::start();
  ASSERT_TRUE(ircd) << ircd.error().toString();
  IrcEchoClient echo;
  ASSERT_TRUE(echo.start((*ircd)->port()));
  auto mock = std::make_unique<ChildProcess>(
      std::vector<std::string>{TALON_MOCK_MODEL_BINARY, "--port", "0", "--port-file", (dir / "mock.port").string()},
      std::map<std::string, std::string>{}, (dir / "mock.log").string());
  const int mockPort = waitForPortFile((dir / "mock.port").string(), 10s);
  ASSERT_GT(mockPort, 0) << mock->log();
  writeText(dir / "talon.json", std::string(R"({
  gateway: {
    auth: { mode: "token", token: ")") +
                                    kProbeE2EToken + R"(" },
    probes: [ { name: "irc-echo", kind: "channel", channel: "irc", to: "user:echo",
                intervalSeconds: 10, timeoutSeconds: 3, alertAfter: 1 } ],
  },
  models: { providers: { mock: { baseUrl: "http://127.0.0.1:)" +
                                    std::to_string(mockPort) +
                                    R"(/v1", apiKey: "test-key", api: "openai-completions",
                                 models: [{ id: "mock-model", name: "Mock" }] } } },
  agents: { defaults: { model: "mock/mock-model" } },
  channels: { irc: { host: "127.0.0.1", port: )" +
                                    std::to_string((*ircd)->port()) +
                                    R"(, tls: false, nick: "talonbot", dmPolicy: "open", allowFrom: ["*"] } },
})");
  auto gateway = std::make_unique<ChildProcess>(
      std::vector<std::string>{TALON_BINARY, "gateway", "run", "--config", (dir / "talon.json").string(), "--port", "0",
                               "--port-file", (dir / "gateway.port").string()},
      std::map<std::string, std::string>{{"TALON_STATE_DIR", (dir / "state").string()}},
      (dir / "gateway.log").string());
  const int port = waitForPortFile((dir / "gateway.port").string(), 15s);
  ASSERT_GT(port, 0) << gateway->log();
  auto client = ProtocolClient::connect(port, kProbeE2EToken);
  ASSERT_TRUE(client) << gateway->log();

  // The first run is at start (the ping waits in the outbox until the channel is registered) or, at the
  // latest, the next one 10 s later.
  std::optional<json::object> record;
  ASSERT_TRUE(pollUntil(
      [&] {
        record = probeRecord(*client);
        return record && getString(*record, "state") == "ok";
      },
      30s))
      << (record ? json::serialize(*record) : "no record") << "\n"
      << gateway->log();
  const std::string okDetail(getString(*record, "detail").value_or(""));
  EXPECT_EQ(okDetail.rfind("user:echo answered on irc:default in ", 0), 0u) << okDetail;
  EXPECT_NE(gateway->log().find("probe irc-echo: ok (user:echo answered on irc:default in "), std::string::npos)
      << gateway->log();
  ASSERT_FALSE(echo.received().empty());

  echo.stop();
  ASSERT_TRUE(pollUntil(
      [&] {
        record = probeRecord(*client);
        return record && getString(*record, "state") == "failed";
      },
      30s))
      << (record ? json::serialize(*record) : "no record") << "\n"
      << gateway->log();
  const std::string failedDetail(getString(*record, "detail").value_or(""));
  EXPECT_EQ(failedDetail.rfind("sent, no reply containing \"", 0), 0u) << failedDetail;
  EXPECT_NE(failedDetail.find("\" from user:echo within 3 s"), std::string::npos) << failedDetail;
  EXPECT_NE(gateway->log().find("probe irc-echo: failed (sent, no reply containing"), std::string::npos)
      << gateway->log();

  // Every message the echo client got was a probe's ping: its echoes never started a turn (whose "ok"
  // would have been sent to it).
  for (const auto& text : echo.received()) EXPECT_EQ(text.rfind("talon-probe ", 0), 0u) << text;
  gateway.reset();
  mock.reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace talon::test
