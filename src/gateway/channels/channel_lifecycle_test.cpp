// The account lifecycle of the channel runtime (channel_manager.h "Lifecycle"): operator start / stop /
// logout, a stop that survives config reloads, and the live reload of `channels.*` that touches only the
// accounts whose settings changed — over real components and the loopback channel in simulated time.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "config/config_loader.h"
#include "gateway/channels/channel_manager.h"
#include "gateway/channels/loopback_channel.h"
#include "support/gateway_components.h"
#include "support/inbound_messages.h"
#include "support/manual_executors.h"

namespace talon::gateway::channels {
namespace {

using testing::directMessage;
using testing::findAccount;

constexpr std::string_view kLifecycleConfig = R"({
  gateway: { channelHealth: { checkIntervalSeconds: 10, staleEventThresholdSeconds: 60,
                              recovery: { graceSeconds: 20 } } },
  channels: {
    loopback: {
      dmPolicy: "open", allowFrom: ["*"], defaultAccount: "a",
      accounts: { a: { name: "Ay" }, b: { name: "Bee" }, off: { enabled: false } },
    },
  },
})";

/// Counts what the accounts deliver (the gateway's inbound path is not under test here).
struct CountingSink final : ChannelSink {
  void onInbound(std::string_view channelId, routing::InboundMessage) override {
    std::lock_guard lock(mu);
    received.emplace_back(channelId);
  }
  std::size_t count(std::string_view channelId) {
    std::lock_guard lock(mu);
    return static_cast<std::size_t>(std::count(received.begin(), received.end(), channelId));
  }
  std::mutex mu;
  std::vector<std::string> received;
};

class ChannelLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(gw_.ok());
    gw_.channelRuntime->start(sink_);
  }

  ChannelManager& runtime() { return *gw_.channelRuntime; }
  LoopbackChannel* loopback(std::string_view accountId) {
    return dynamic_cast<LoopbackChannel*>(gw_.channels.find("loopback:" + std::string(accountId)));
  }
  AccountStatus status(std::string_view accountId) {
    auto all = runtime().status();
    const AccountStatus* s = findAccount(all, accountId);
    EXPECT_NE(s, nullptr) << accountId;
    return s ? *s : AccountStatus{};
  }
  std::optional<health::HealthRecord> record(std::string_view account, std::string_view dimension) {
    return gw_.healthRecords.get("channel:loopback/" + std::string(account), dimension);
  }
  /// The `channels` of a config text, loaded as a reload loads it.
  config::ChannelsConfig channelsOf(std::string_view text) {
    config::LoadOptions load;
    load.env = config::Environment{};
    auto loaded = config::loadConfigText(text, gw_.dir.path() / "next.json", load);
    EXPECT_TRUE(loaded) << (loaded ? "" : loaded.error().toString());
    return loaded ? loaded->config.channels : config::ChannelsConfig{};
  }

  static testing::GatewayComponentsOptions options() {
    testing::GatewayComponentsOptions o;
    o.configText = std::string(kLifecycleConfig);
    return o;
  }

  testing::GatewayComponents gw_{options()};
  CountingSink sink_;
};

TEST_F(ChannelLifecycleTest, AStoppedAccountShowsStoppedNotFailedAndIsNeitherMutedNorRecovered) {
  LoopbackChannel* before = loopback("b");
  ASSERT_NE(before, nullptr);
  auto stopped = runtime().stopAccount("loopback", "b");
  ASSERT_TRUE(stopped) << stopped.error().toString();
  EXPECT_EQ(stopped->accountId, "b");
  EXPECT_TRUE(stopped->stopped);
  EXPECT_FALSE(stopped->alreadyStopped);
  EXPECT_EQ(before->health().state, ChannelHealth::State::kStopped);

  AccountStatus b = status("b");
  EXPECT_FALSE(b.running);
  EXPECT_TRUE(b.stopped);
  EXPECT_EQ(b.health.healthState, "stopped");
  EXPECT_EQ(b.health.degradedSinceMs, 0);
  EXPECT_FALSE(b.health.muted);
  for (const char* d : {"transport", "application", "functional"}) {
    ASSERT_TRUE(record("b", d)) << d;
    EXPECT_EQ(record("b", d)->state, health::HealthState::kUnknown) << d;
    EXPECT_NE(record("b", d)->detail.find("stopped by the operator"), std::string::npos) << record("b", d)->detail;
  }

  // Far past the stale-event threshold (60 s) and the recovery grace (20 s): still stopped, never
  // muted, never restarted by self-recovery. The other account is untouched.
  gw_.executors.advance(300'000);
  b = status("b");
  EXPECT_EQ(b.health.healthState, "stopped");
  EXPECT_EQ(b.recoveryAttempts, 0);
  EXPECT_FALSE(b.running);
  EXPECT_EQ(before->restarts(), 0);
  EXPECT_EQ(before->health().state, ChannelHealth::State::kStopped);
  EXPECT_FALSE(gw_.healthRecords.get("channel:loopback/b", "recovery"));
  EXPECT_TRUE(status("a").running);

  // Stopping again is a no-op answer.
  auto again = runtime().stopAccount("loopback", "b");
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->alreadyStopped);
}

TEST_F(ChannelLifecycleTest, StartResumesAStoppedAccountOnAFreshAdapterAndIsANoOpOnARunningOne) {
  LoopbackChannel* used = loopback("b");
  ASSERT_TRUE(runtime().stopAccount("loopback", "b"));
  auto started = runtime().startAccount("loopback", "b");
  ASSERT_TRUE(started) << started.error().toString();
  EXPECT_TRUE(started->started);
  EXPECT_EQ(started->status, "handed-off");
  EXPECT_EQ(started->reason, "");
  EXPECT_FALSE(started->alreadyRunning);
  LoopbackChannel* fresh = loopback("b");
  ASSERT_NE(fresh, nullptr);
  EXPECT_NE(fresh, used);  // Channel::start runs once per adapter
  EXPECT_EQ(used->health().state, ChannelHealth::State::kStopped);
  AccountStatus b = status("b");
  EXPECT_TRUE(b.running);
  EXPECT_FALSE(b.stopped);
  EXPECT_EQ(b.health.healthState, "healthy");
  ASSERT_TRUE(fresh->inject(directMessage("Carol", "hello again")));
  EXPECT_EQ(sink_.count("loopback:b"), 1u);

  auto noop = runtime().startAccount("loopback", "b");
  ASSERT_TRUE(noop);
  EXPECT_TRUE(noop->alreadyRunning);
  EXPECT_TRUE(noop->started);
  EXPECT_EQ(noop->status, "retry");  // OpenClaw's outcome for an account whose task runs already
  EXPECT_EQ(noop->reason, "task-owned");
  EXPECT_EQ(loopback("b"), fresh);  // nothing was replaced or restarted
  EXPECT_EQ(fresh->restarts(), 0);
}

TEST_F(ChannelLifecycleTest, NoAccountIdNamesTheDefaultAccountAndUnknownNamesAreRefused) {
  auto stopped = runtime().stopAccount("loopback", std::nullopt);
  ASSERT_TRUE(stopped);
  EXPECT_EQ(stopped->accountId, "a");  // defaultAccount
  EXPECT_TRUE(status("a").stopped);
  EXPECT_FALSE(status("b").stopped);

  auto unknownChannel = runtime().startAccount("telegram", std::nullopt);
  ASSERT_FALSE(unknownChannel);
  EXPECT_EQ(unknownChannel.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(unknownChannel.error().publicMessage(), "unknown channel: telegram");
  auto unknownAccount = runtime().stopAccount("loopback", "zz");
  ASSERT_FALSE(unknownAccount);
  EXPECT_EQ(unknownAccount.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(unknownAccount.error().publicMessage().find("zz"), std::string::npos);

  auto disabled = runtime().startAccount("loopback", "off");
  ASSERT_TRUE(disabled);
  EXPECT_FALSE(disabled->started);
  EXPECT_EQ(disabled->status, "skipped");
  EXPECT_EQ(disabled->reason, "disabled");
  EXPECT_EQ(gw_.channels.find("loopback:off"), nullptr);
}

TEST_F(ChannelLifecycleTest, LogoutStopsTheAccountAndDiscardsItsAdapterState) {
  LoopbackChannel* used = loopback("b");
  ASSERT_TRUE(used->inject(directMessage("Carol", "one")));
  ASSERT_EQ(used->health().received, 1);
  auto out = runtime().logoutAccount("loopback", "b");
  ASSERT_TRUE(out) << out.error().toString();
  EXPECT_TRUE(out->cleared);
  EXPECT_TRUE(out->loggedOut);
  EXPECT_EQ(out->accountId, "b");
  AccountStatus b = status("b");
  EXPECT_TRUE(b.stopped);
  EXPECT_EQ(b.health.healthState, "stopped");
  LoopbackChannel* fresh = loopback("b");
  ASSERT_NE(fresh, nullptr);
  EXPECT_NE(fresh, used);
  EXPECT_EQ(fresh->health().received, 0);  // the state the old adapter held is gone
  EXPECT_EQ(fresh->health().state, ChannelHealth::State::kStopped);
  EXPECT_FALSE(fresh->inject(directMessage("Carol", "lost")));  // not started: nothing is taken

  // It stays out until started; then the fresh adapter runs (no second replacement).
  gw_.executors.advance(120'000);
  EXPECT_EQ(status("b").health.healthState, "stopped");
  auto started = runtime().startAccount("loopback", "b");
  ASSERT_TRUE(started);
  EXPECT_TRUE(started->started);
  EXPECT_EQ(loopback("b"), fresh);
  ASSERT_TRUE(fresh->inject(directMessage("Carol", "two")));
  EXPECT_EQ(sink_.count("loopback:b"), 2u);
}

TEST_F(ChannelLifecycleTest, ReloadAddsRemovesAndRestartsOnlyTheAccountsWhoseSettingsChanged) {
  LoopbackChannel* a = loopback("a");
  LoopbackChannel* b = loopback("b");
  const int64_t aStartedAt = status("a").lastStartAtMs;
  gw_.executors.advance(5'000);

  // Added: c. a and b keep their adapters and connections.
  auto report = runtime().applyConfig(channelsOf(R"({ channels: { loopback: {
      dmPolicy: "open", allowFrom: ["*"], defaultAccount: "a",
      accounts: { a: { name: "Ay" }, b: { name: "Bee" }, off: { enabled: false }, c: {} } } } })"));
  EXPECT_EQ(report.started, std::vector<std::string>{"loopback:c"});
  EXPECT_TRUE(report.stopped.empty());
  EXPECT_TRUE(report.restarted.empty());
  EXPECT_EQ(report.unchanged.size(), 3u);
  EXPECT_EQ(loopback("a"), a);
  EXPECT_EQ(loopback("b"), b);
  EXPECT_EQ(status("a").lastStartAtMs, aStartedAt);
  EXPECT_EQ(a->restarts(), 0);
  ASSERT_NE(loopback("c"), nullptr);
  EXPECT_TRUE(status("c").running);
  EXPECT_EQ(status("c").health.healthState, "healthy");
  ASSERT_TRUE(loopback("c")->inject(directMessage("Dan", "hi c")));
  EXPECT_EQ(sink_.count("loopback:c"), 1u);
  auto reload = gw_.healthRecords.get("channels", "reload");
  ASSERT_TRUE(reload);
  EXPECT_EQ(reload->state, health::HealthState::kOk);
  EXPECT_NE(reload->detail.find("started loopback:c"), std::string::npos) << reload->detail;

  // Changed: a's name. Removed: b. Only a gets a new adapter; c keeps its own.
  LoopbackChannel* c = loopback("c");
  report = runtime().applyConfig(channelsOf(R"({ channels: { loopback: {
      dmPolicy: "open", allowFrom: ["*"], defaultAccount: "a",
      accounts: { a: { name: "Ay 2" }, off: { enabled: false }, c: {} } } } })"));
  EXPECT_EQ(report.restarted, std::vector<std::string>{"loopback:a"});
  EXPECT_EQ(report.stopped, std::vector<std::string>{"loopback:b"});
  EXPECT_TRUE(report.started.empty());
  EXPECT_EQ(loopback("c"), c);
  EXPECT_EQ(c->restarts(), 0);
  ASSERT_NE(loopback("a"), nullptr);
  EXPECT_NE(loopback("a"), a);
  EXPECT_EQ(a->health().state, ChannelHealth::State::kStopped);  // the old adapter is closed
  EXPECT_EQ(status("a").name, "Ay 2");
  EXPECT_TRUE(status("a").running);
  EXPECT_EQ(gw_.channels.find("loopback"), loopback("a"));  // still the default account
  // b is gone: its adapter stopped, out of the set, its status and its health records.
  EXPECT_EQ(b->health().state, ChannelHealth::State::kStopped);
  EXPECT_EQ(gw_.channels.find("loopback:b"), nullptr);
  EXPECT_EQ(findAccount(runtime().status(), "b"), nullptr);
  EXPECT_FALSE(record("b", "transport"));
  reload = gw_.healthRecords.get("channels", "reload");
  EXPECT_NE(reload->detail.find("stopped loopback:b"), std::string::npos) << reload->detail;
  EXPECT_NE(reload->detail.find("restarted loopback:a"), std::string::npos) << reload->detail;

  // The reconciliation goes on over the new set of accounts (no failure from the retired ones).
  ASSERT_TRUE(loopback("a")->inject(directMessage("Carol", "a again")));
  gw_.executors.advance(30'000);
  EXPECT_EQ(status("a").health.healthState, "healthy");
  EXPECT_EQ(status("c").health.healthState, "healthy");
}

TEST_F(ChannelLifecycleTest, AStopSurvivesReloadsUntilTheAccountIsStarted) {
  ASSERT_TRUE(runtime().stopAccount("loopback", "b"));
  // Another account changes: b is untouched and stays stopped.
  auto report = runtime().applyConfig(channelsOf(R"({ channels: { loopback: {
      dmPolicy: "open", allowFrom: ["*"], defaultAccount: "a",
      accounts: { a: { name: "Ay 2" }, b: { name: "Bee" }, off: { enabled: false } } } } })"));
  EXPECT_EQ(report.restarted, std::vector<std::string>{"loopback:a"});
  EXPECT_TRUE(status("b").stopped);
  EXPECT_FALSE(status("b").running);
  // b's own settings change: it gets the new settings but is not started.
  report = runtime().applyConfig(channelsOf(R"({ channels: { loopback: {
      dmPolicy: "open", allowFrom: ["*"], defaultAccount: "a",
      accounts: { a: { name: "Ay 2" }, b: { name: "Bee 2" }, off: { enabled: false } } } } })"));
  EXPECT_EQ(report.restarted, std::vector<std::string>{"loopback:b"});
  AccountStatus b = status("b");
  EXPECT_EQ(b.name, "Bee 2");
  EXPECT_TRUE(b.stopped);
  EXPECT_FALSE(b.running);
  EXPECT_EQ(b.health.healthState, "stopped");
  ASSERT_NE(loopback("b"), nullptr);
  EXPECT_EQ(loopback("b")->health().state, ChannelHealth::State::kStopped);
  // Started by the operator: running with the new settings.
  auto started = runtime().startAccount("loopback", "b");
  ASSERT_TRUE(started);
  EXPECT_TRUE(started->started);
  EXPECT_TRUE(status("b").running);
  EXPECT_EQ(status("b").health.healthState, "healthy");
}

TEST_F(ChannelLifecycleTest, ReloadMovesTheDefaultAccountWithoutRestartingAnything) {
  LoopbackChannel* a = loopback("a");
  LoopbackChannel* b = loopback("b");
  auto report = runtime().applyConfig(channelsOf(R"({ channels: { loopback: {
      dmPolicy: "open", allowFrom: ["*"], defaultAccount: "b",
      accounts: { a: { name: "Ay" }, b: { name: "Bee" }, off: { enabled: false } } } } })"));
  EXPECT_FALSE(report.changed());
  EXPECT_EQ(loopback("a"), a);
  EXPECT_EQ(loopback("b"), b);
  EXPECT_EQ(gw_.channels.find("loopback"), b);
  EXPECT_TRUE(status("b").isDefault);
  EXPECT_FALSE(status("a").isDefault);
  // An account switched off by a reload is stopped and shows as disabled.
  report = runtime().applyConfig(channelsOf(R"({ channels: { loopback: {
      dmPolicy: "open", allowFrom: ["*"], defaultAccount: "b",
      accounts: { a: { name: "Ay", enabled: false }, b: { name: "Bee" }, off: { enabled: false } } } } })"));
  EXPECT_EQ(report.restarted, std::vector<std::string>{"loopback:a"});
  EXPECT_EQ(a->health().state, ChannelHealth::State::kStopped);
  EXPECT_EQ(gw_.channels.find("loopback:a"), nullptr);
  EXPECT_FALSE(status("a").enabled);
  EXPECT_EQ(status("a").health.healthState, "disabled");
  EXPECT_FALSE(record("a", "transport"));
}

/// A hand-built config with a secret ref (what a config file cannot express here: a ref resolved at
/// start-up, which a reload cannot resolve), over adapters that record the settings they were made with.
TEST(ChannelLifecycleSecrets, AReloadKeepsTheResolvedValueOfAnUnchangedRefAndRefusesANewRefUntilARestart) {
  auto clock = std::make_shared<SimulatedClock>();
  testing::ManualExecutors executors{clock};
  ChannelRegistry registry;
  std::vector<json::object> made;  // the settings of every adapter made, in order
  ASSERT_TRUE(registry.add("loopback", [&](const ChannelContext& c) -> Result<ChannelPtr> {
    made.push_back(c.settings);
    return ChannelPtr(std::make_unique<LoopbackChannel>(c.accountId, c.clock));
  }));
  auto withRef = [](std::string refId, std::string name, bool resolved) {
    config::ChannelsConfig channels;
    config::ChannelConfig loopback;
    loopback.id = "loopback";
    config::ChannelSettings account;
    account.values["name"] = name;
    account.secretRefs["token"] = config::SecretRef{"file", "default", refId, "channels.loopback.accounts.a.token"};
    if (resolved) account.values["token"] = "s3cret";  // what resolveConfigSecrets put there at start-up
    loopback.accountSettings["a"] = std::move(account);
    loopback.accounts["a"] = {};
    channels.entries.push_back(std::move(loopback));
    return channels;
  };
  const config::ChannelsConfig initial = withRef("/token", "Ay", true);
  ChannelSet set;
  health::HealthRegistry records(clock);
  health::MetricsRegistry metrics;
  EventBus bus;
  auto runtime = ChannelManager::create(
      ChannelManagerDeps{initial, registry, set, records, metrics, bus, executors.executors(), clock}, {});
  ASSERT_TRUE(runtime) << runtime.error().toString();
  CountingSink sink;
  (*runtime)->start(sink);
  ASSERT_EQ(made.size(), 1u);
  EXPECT_EQ(made[0].at("token"), json::value("s3cret"));

  // The same ref, unresolved as a reload loads it: unchanged, not restarted.
  auto report = (*runtime)->applyConfig(withRef("/token", "Ay", false));
  EXPECT_FALSE(report.changed());
  EXPECT_EQ(made.size(), 1u);

  // Another setting changes: restarted with the value resolved at start-up.
  report = (*runtime)->applyConfig(withRef("/token", "Ay 2", false));
  EXPECT_EQ(report.restarted, std::vector<std::string>{"loopback:a"});
  ASSERT_EQ(made.size(), 2u);
  EXPECT_EQ(made[1].at("token"), json::value("s3cret"));
  EXPECT_TRUE((*runtime)->status().at(0).running);
  EXPECT_EQ((*runtime)->status().at(0).lastErrorAtMs, 0);

  // The ref itself changes: it cannot be resolved before a restart; the account says so and stays down.
  report = (*runtime)->applyConfig(withRef("/other", "Ay 2", false));
  EXPECT_EQ(report.restarted, std::vector<std::string>{"loopback:a"});
  EXPECT_EQ(made.size(), 2u);  // no adapter without its secret
  auto a = (*runtime)->status().at(0);
  EXPECT_FALSE(a.running);
  EXPECT_FALSE(a.configured);
  EXPECT_NE(a.lastError.find("channels.loopback.accounts.a.token cannot be read"), std::string::npos) << a.lastError;
  EXPECT_NE(a.lastError.find("restart"), std::string::npos) << a.lastError;
  EXPECT_EQ(a.lastErrorAtMs, clock->nowMs());  // when the error was recorded
  EXPECT_EQ(a.health.healthState, "not-running");
  (*runtime)->stop();
}

}  // namespace
}  // namespace talon::gateway::channels
