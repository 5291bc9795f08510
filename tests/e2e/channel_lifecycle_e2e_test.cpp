// End-to-end: the channel account lifecycle through real processes — `talon gateway run` with loopback
// accounts, `talon channels stop|start|logout` (the gateway's channels.stop / channels.start /
// channels.logout), the same methods over OpenClaw's protocol, and a live reload of `channels.*` from an
// edit of the config file: the added account starts, the changed one restarts, the unchanged one keeps
// its connection, and the stopped one stays stopped.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>

#include "base/json.h"
#include "child_process.h"
#include "e2e_support.h"

namespace talon::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kChannelLifecycleToken = "e2e-lifecycle-token-0123456789";

std::string configWith(const std::string& accounts) {
  return std::string(R"({
  gateway: { auth: { mode: "token", token: ")") +
         kChannelLifecycleToken + R"(" } },
  channels: { loopback: { dmPolicy: "open", allowFrom: ["*"], defaultAccount: "a", accounts: )" +
         accounts +
         R"( } },
})";
}

struct CliOutput {
  int exitCode = -1;
  std::string output;  // stdout and stderr
};

class ChannelLifecycleE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir();
    writeText(dir_ / "talon.json", configWith(R"({ a: { name: "Ay" }, b: { name: "Bee" } })"));
    gateway_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{TALON_BINARY, "gateway", "run", "--config", (dir_ / "talon.json").string(), "--port",
                                 "0", "--port-file", (dir_ / "gateway.port").string()},
        std::map<std::string, std::string>{{"TALON_STATE_DIR", (dir_ / "state").string()}},
        (dir_ / "gateway.log").string());
    port_ = waitForPortFile((dir_ / "gateway.port").string(), 15s);
    ASSERT_GT(port_, 0) << gateway_->log();
  }
  void TearDown() override {
    gateway_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }

  CliOutput cli(std::vector<std::string> args) {
    args.insert(args.end(), {"--url", "ws://127.0.0.1:" + std::to_string(port_), "--token", kChannelLifecycleToken});
    auto r = runTalon(dir_, args, {{"TALON_STATE_DIR", (dir_ / "state").string()}});
    EXPECT_NE(r.status, -1) << "the CLI did not exit: " << r.out << r.err;
    return CliOutput{r.status, r.out + r.err};
  }

  /// accountId -> its snapshot, from `talon channels status --json`.
  std::map<std::string, json::object> accounts() {
    std::map<std::string, json::object> out;
    auto r = cli({"channels", "status", "--json"});
    if (r.exitCode != 0) return out;
    auto payload = jsonObjectOf(r.output);
    const auto* all = getObject(payload, "channelAccounts");
    const auto* list = all ? getArray(*all, "loopback") : nullptr;
    if (!list) return out;
    for (const auto& a : *list) out[std::string(a.at("accountId").as_string())] = a.as_object();
    return out;
  }
  static std::string state(const std::map<std::string, json::object>& all, const std::string& id) {
    auto it = all.find(id);
    if (it == all.end()) return "(absent)";
    return std::string(getString(it->second, "healthState").value_or("?"));
  }

  fs::path dir_;
  std::unique_ptr<ChildProcess> gateway_;
  int port_ = 0;
};

TEST_F(ChannelLifecycleE2E, StopStartLogoutAndALiveReloadOfChannels) {
  ASSERT_TRUE(
      pollUntil([&] { return state(accounts(), "a") == "healthy" && state(accounts(), "b") == "healthy"; }, 15s))
      << gateway_->log();

  // Stop b from the CLI: shown as stopped (not failed), and not a status issue.
  auto stop = cli({"channels", "stop", "loopback", "--account", "b", "--json"});
  ASSERT_EQ(stop.exitCode, 0) << stop.output;
  auto stopped = jsonObjectOf(stop.output);
  EXPECT_EQ(getString(stopped, "channel"), "loopback") << stop.output;
  EXPECT_EQ(getString(stopped, "accountId"), "b") << stop.output;
  EXPECT_EQ(getBool(stopped, "stopped"), true) << stop.output;
  auto before = accounts();
  EXPECT_EQ(state(before, "b"), "stopped");
  EXPECT_EQ(getBool(before["b"], "running"), false);
  const auto aStartedAt = getInt(before["a"], "lastStartAt");
  ASSERT_TRUE(aStartedAt);

  // Edit the config: c added, b renamed (changed), a untouched. The watcher applies it without a restart.
  writeText(dir_ / "talon.json", configWith(R"({ a: { name: "Ay" }, b: { name: "Bee 2" }, c: { name: "Sea" } })"));
  ASSERT_TRUE(pollUntil([&] { return state(accounts(), "c") == "healthy"; }, 20s)) << gateway_->log();
  auto after = accounts();
  EXPECT_EQ(getInt(after["a"], "lastStartAt"), aStartedAt);  // kept its connection
  EXPECT_EQ(state(after, "a"), "healthy");
  EXPECT_EQ(getString(after["b"], "name"), "Bee 2");  // the new settings ...
  EXPECT_EQ(state(after, "b"), "stopped");            // ... but still stopped by the operator
  const std::string log = gateway_->log();
  EXPECT_NE(log.find("started loopback:c"), std::string::npos) << log;
  EXPECT_NE(log.find("restarted loopback:b"), std::string::npos) << log;
  EXPECT_NE(log.find("unchanged loopback:a"), std::string::npos) << log;
  EXPECT_EQ(log.find("requires a gateway restart"), std::string::npos) << log;

  // Start b: running again; starting it twice is a no-op answer.
  auto start = cli({"channels", "start", "loopback", "--account", "b"});
  ASSERT_EQ(start.exitCode, 0) << start.output;
  EXPECT_NE(start.output.find("loopback/b: started"), std::string::npos) << start.output;
  auto again = cli({"channels", "start", "loopback", "--account", "b"});
  ASSERT_EQ(again.exitCode, 0) << again.output;
  EXPECT_NE(again.output.find("already running"), std::string::npos) << again.output;
  EXPECT_EQ(state(accounts(), "b"), "healthy");

  // channels.logout over OpenClaw's protocol, default account.
  auto client = ProtocolClient::connect(port_, kChannelLifecycleToken);
  ASSERT_TRUE(client);
  auto out = client->request("channels.logout", json::object{{"channel", "loopback"}});
  ASSERT_TRUE(out) << gateway_->log();
  ASSERT_EQ(getBool(*out, "ok"), true) << json::serialize(*out);
  EXPECT_EQ(
      out->at("payload"),
      json::value(json::object{{"channel", "loopback"}, {"accountId", "a"}, {"cleared", true}, {"loggedOut", true}}));
  EXPECT_EQ(state(accounts(), "a"), "stopped");
  auto unknown = client->request("channels.start", json::object{{"channel", "nope"}});
  ASSERT_TRUE(unknown);
  EXPECT_EQ(getBool(*unknown, "ok"), false);
  EXPECT_EQ(unknown->at("error").at("code"), json::value("INVALID_REQUEST")) << json::serialize(*unknown);

  // A removed account stops and leaves the status.
  writeText(dir_ / "talon.json", configWith(R"({ a: { name: "Ay" }, b: { name: "Bee 2" } })"));
  ASSERT_TRUE(pollUntil([&] { return state(accounts(), "c") == "(absent)"; }, 20s)) << gateway_->log();
  EXPECT_EQ(state(accounts(), "a"), "stopped");  // a reload does not start a stopped account
  EXPECT_EQ(state(accounts(), "b"), "healthy");
}

}  // namespace
}  // namespace talon::test
