// `/compact` on the inbound channel path, in process: a LoopbackChannel feeding an InboundRouter with
// the built-in chat commands, over a real AgentRunner (SQLite in a temp dir, a model provider the test
// drives, deterministic executors and a SimulatedClock; tests/support/gateway_components.h). The command
// is answered by the gateway with OpenClaw's reply text and starts no turn; a running turn is aborted
// first; `compaction.enabled: false` does not turn it off; a sender the access gate refuses gets nothing.
// Nothing sleeps.
#include <gtest/gtest.h>

#include "gateway/channels/inbound_router.h"
#include "gateway/channels/loopback_channel.h"
#include "gateway/chat_commands/builtin_chat_commands.h"
#include "store/compaction_repository.h"
#include "support/gateway_components.h"
#include "support/inbound_messages.h"

namespace talon::gateway::chat_commands {
namespace {

using testing::directMessage;

// One agent "main" on the loopback channel, where only Ada may write; one session per peer; the last
// user turn alone is kept verbatim, so two exchanges leave one to summarise.
constexpr std::string_view kCompactCommandConfig = R"({
  session: { dmScope: "per-channel-peer" },
  channels: { loopback: { dmPolicy: "allowlist", allowFrom: ["Ada"] } },
  agents: { defaults: { compaction: { recentTurnsPreserve: 1 } } },
})";
constexpr const char* kAdaSession = "agent:main:loopback:direct:ada";

class CompactCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(gw_.ok());
    ASSERT_TRUE(registerBuiltinChatCommands(commands_, ChatCommandServices{*gw_.runner}));
    auto find = [this](std::string_view id) -> channels::Channel* {
      return id == "loopback" && channel_ ? channel_.get() : nullptr;
    };
    channels::OutboundPolicy policy;
    policy.jitter = 0.0;
    auto outbound = channels::OutboundDispatcher::create(*gw_.store, gw_.metrics, gw_.healthRecords, gw_.bus,
                                                         gw_.executors.executors(), gw_.clock, find, policy);
    ASSERT_TRUE(outbound) << outbound.error().toString();
    gw_.outbound = std::move(*outbound);
    auto router = channels::InboundRouter::create(gw_.config->config, gw_.agents->roster(), gate_, *gw_.runner,
                                                  gw_.metrics, gw_.audit, gw_.executors.executors(), find,
                                                  *gw_.outbound, nullptr, nullptr, nullptr, &commands_);
    ASSERT_TRUE(router) << router.error().toString();
    router_ = std::move(*router);
    ASSERT_TRUE(channel_->start(*router_));
  }
  void TearDown() override { channel_->stop(); }

  static testing::GatewayComponentsOptions options(std::string_view config = kCompactCommandConfig) {
    testing::GatewayComponentsOptions o;
    o.configText = std::string(config);
    return o;
  }

  bool sentCount(std::size_t n) {
    return gw_.executors.runUntil([&] { return channel_->sent().size() >= n; });
  }

  /// Ada says `message`; the model answers `answer`; the reply comes back.
  void exchange(const std::string& message, const std::string& answer) {
    const std::size_t calls = gw_.provider->count();
    const std::size_t replies = channel_->sent().size();
    ASSERT_TRUE(channel_->inject(directMessage("Ada", message)));
    ASSERT_TRUE(gw_.waitCalls(calls + 1));
    gw_.provider->call(calls)->answer(answer);
    ASSERT_TRUE(sentCount(replies + 1));
    EXPECT_EQ(channel_->sent().back().text, answer);
  }

  testing::GatewayComponents gw_{options()};
  routing::AccessGate gate_{gw_.config->config.channels, gw_.store.get(), gw_.clock};
  std::unique_ptr<channels::LoopbackChannel> channel_ =
      std::make_unique<channels::LoopbackChannel>("default", gw_.clock);
  ChatCommandRegistry commands_;
  std::unique_ptr<channels::InboundRouter> router_;
};

TEST_F(CompactCommandTest, CompactsWithTheInstructionsAndAnswersWithOpenClawsReply) {
  exchange("my name is Ada", "hello Ada");
  exchange("what is 2+2", "4");

  ASSERT_TRUE(channel_->inject(directMessage("Ada", "/compact Focus on names")));
  ASSERT_TRUE(gw_.waitCalls(3));
  const auto& summary = gw_.provider->call(2)->request;  // the summary call, not a turn
  ASSERT_EQ(summary.messages.size(), 2u);
  EXPECT_NE(summary.messages[1].content.find("my name is Ada"), std::string::npos);
  EXPECT_EQ(summary.messages[1].content.find("what is 2+2"), std::string::npos);
  EXPECT_NE(summary.messages[1].content.find("<focus>\nFocus on names\n</focus>"), std::string::npos);
  EXPECT_EQ(summary.messages[1].content.find("/compact"), std::string::npos);
  gw_.provider->call(2)->answer("The user is Ada.");
  ASSERT_TRUE(sentCount(3));
  const auto reply = channel_->sent().back();
  EXPECT_EQ(reply.peer.id, "Ada");
  EXPECT_EQ(reply.text.rfind("⚙️ Compacted (", 0), 0u) << reply.text;
  EXPECT_NE(reply.text.find(" • Context "), std::string::npos) << reply.text;
  EXPECT_NE(reply.text.find("/200k ("), std::string::npos) << reply.text;

  auto stored = store::CompactionRepository(*gw_.store).latest(kAdaSession);
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->id, 1);
  EXPECT_EQ((*stored)->reason, "manual");
  // The command is no message of the conversation: the transcript holds the two exchanges only.
  auto transcript = gw_.store->transcripts().tail(kAdaSession, 0);
  ASSERT_TRUE(transcript);
  EXPECT_EQ(transcript->size(), 4u);

  // The next turn sends the summary instead of the summarised exchange.
  exchange("and my name?", "Ada");
  const auto& next = gw_.provider->call(3)->request;
  ASSERT_EQ(next.messages.size(), 4u);
  EXPECT_NE(next.messages[0].content.find("The user is Ada."), std::string::npos);
  EXPECT_EQ(next.messages[1].content, "what is 2+2");
}

TEST_F(CompactCommandTest, ASessionWithNothingOldEnoughIsLeftAsItIsAndSaysSo) {
  ASSERT_TRUE(channel_->inject(directMessage("Ada", "/compact")));
  ASSERT_TRUE(sentCount(1));
  EXPECT_EQ(channel_->sent().back().text,
            "⚙️ Compaction skipped: nothing compactable in this session yet • Context ?/200k");
  exchange("hi", "hello");
  ASSERT_TRUE(channel_->inject(directMessage("Ada", "/COMPACT")));
  ASSERT_TRUE(sentCount(3));
  EXPECT_EQ(channel_->sent().back().text.rfind("⚙️ Compaction skipped: nothing compactable in this session yet • "
                                               "Context ",
                                               0),
            0u)
      << channel_->sent().back().text;
  EXPECT_EQ(gw_.provider->count(), 1u) << "no model call for the commands";
}

TEST_F(CompactCommandTest, ARunningTurnIsAbortedAndTheSessionCompactedAfterIt) {
  exchange("my name is Ada", "hello Ada");
  exchange("what is 2+2", "4");
  ASSERT_TRUE(channel_->inject(directMessage("Ada", "tell me a long story")));
  ASSERT_TRUE(gw_.waitCalls(3));
  ASSERT_TRUE(channel_->inject(directMessage("Ada", "/compact")));
  ASSERT_TRUE(gw_.waitCalls(4));
  EXPECT_TRUE(gw_.provider->call(2)->cancelled) << "the running turn is aborted";
  const auto& summary = gw_.provider->call(3)->request;
  ASSERT_EQ(summary.messages.size(), 2u);
  EXPECT_NE(summary.messages[1].content.find("my name is Ada"), std::string::npos);
  gw_.provider->call(3)->answer("The user is Ada.");
  ASSERT_TRUE(sentCount(3));
  EXPECT_EQ(channel_->sent().back().text.rfind("⚙️ Compacted (", 0), 0u) << channel_->sent().back().text;
  auto stored = store::CompactionRepository(*gw_.store).latest(kAdaSession);
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->id, 1);
}

TEST_F(CompactCommandTest, ASenderTheGateRefusesCannotCompact) {
  exchange("my name is Ada", "hello Ada");
  ASSERT_TRUE(channel_->inject(directMessage("Eve", "/compact")));
  gw_.executors.runReady();
  EXPECT_EQ(channel_->sent().size(), 1u) << "no answer to a refused sender";
  EXPECT_EQ(gw_.provider->count(), 1u);
}

constexpr std::string_view kCompactionOffConfig = R"({
  channels: { loopback: { dmPolicy: "open", allowFrom: ["*"] } },
  agents: { defaults: { compaction: { enabled: false, recentTurnsPreserve: 1 } } },
})";

TEST_F(CompactCommandTest, DisabledCompactionStillCompactsOnTheCommand) {
  // A second set of components with `compaction.enabled: false` (OpenClaw: "manual /compact remain[s]
  // available").
  testing::GatewayComponents off{options(kCompactionOffConfig)};
  ASSERT_TRUE(off.ok());
  ChatCommandRegistry commands;
  ASSERT_TRUE(registerBuiltinChatCommands(commands, ChatCommandServices{*off.runner}));
  routing::AccessGate gate{off.config->config.channels, off.store.get(), off.clock};
  auto channel = std::make_unique<channels::LoopbackChannel>("default", off.clock);
  auto find = [&](std::string_view id) -> channels::Channel* { return id == "loopback" ? channel.get() : nullptr; };
  auto outbound = channels::OutboundDispatcher::create(*off.store, off.metrics, off.healthRecords, off.bus,
                                                       off.executors.executors(), off.clock, find, {});
  ASSERT_TRUE(outbound);
  off.outbound = std::move(*outbound);
  auto router = channels::InboundRouter::create(off.config->config, off.agents->roster(), gate, *off.runner,
                                                off.metrics, off.audit, off.executors.executors(), find, *off.outbound,
                                                nullptr, nullptr, nullptr, &commands);
  ASSERT_TRUE(router);
  ASSERT_TRUE(channel->start(**router));
  auto sent = [&](std::size_t n) { return off.executors.runUntil([&] { return channel->sent().size() >= n; }); };
  for (const char* message : {"my name is Ada", "what is 2+2"}) {
    const std::size_t calls = off.provider->count();
    ASSERT_TRUE(channel->inject(directMessage("Ada", message)));
    ASSERT_TRUE(off.waitCalls(calls + 1));
    off.provider->call(calls)->answer("ok");
    ASSERT_TRUE(sent(calls + 1));
  }
  ASSERT_TRUE(channel->inject(directMessage("Ada", "/compact")));
  ASSERT_TRUE(off.waitCalls(3));
  off.provider->call(2)->answer("The user is Ada.");
  ASSERT_TRUE(sent(3));
  EXPECT_EQ(channel->sent().back().text.rfind("⚙️ Compacted (", 0), 0u) << channel->sent().back().text;
  channel->stop();
}

}  // namespace
}  // namespace talon::gateway::chat_commands
