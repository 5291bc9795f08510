// The access gate on the inbound path, through the loopback channel (one channel per account under
// test): DM policies pairing / allowlist / open / disabled, pairing codes (reply, once per request, the
// 1 h expiry on the SimulatedClock, the cap of 3 pending per account, approval), group policy and
// mention gating. A refused message is counted, audited without its text, and leaves no session and no
// run behind. OpenClaw docs/channels/pairing.md, docs/channels/groups.md.
#include <gtest/gtest.h>

#include "gateway/channels/inbound_router.h"
#include "gateway/channels/loopback_channel.h"
#include "support/gateway_components.h"

namespace talon::gateway::channels {
namespace {

constexpr std::string_view kAccessConfig = R"({
  bindings: [ { agentId: "main", match: { channel: "loopback", accountId: "*" } } ],
  channels: {
    loopback: {
      allowFrom: ["owner"],
      groupAllowFrom: ["member"],
      groups: { room1: { requireMention: true }, room2: { requireMention: false } },
      accounts: {
        strict: { dmPolicy: "allowlist" },
        public: { dmPolicy: "open", allowFrom: ["*"], groupPolicy: "open", groups: { "*": { requireMention: false } } },
        halfopen: { dmPolicy: "open", allowFrom: ["friend"] },
        closed: { dmPolicy: "disabled", groupPolicy: "disabled" },
      },
    },
  },
})";

routing::InboundMessage accessMessage(std::string sender, std::string text = "secret words") {
  routing::InboundMessage m;
  m.peer = routing::Peer{routing::PeerKind::kDirect, sender};
  m.sender = std::move(sender);
  m.text = std::move(text);
  return m;
}

routing::InboundMessage group(std::string room, std::string sender, std::optional<bool> mentioned) {
  routing::InboundMessage m;
  m.peer = routing::Peer{routing::PeerKind::kGroup, std::move(room)};
  m.sender = std::move(sender);
  m.text = "group words";
  m.mentioned = mentioned;
  return m;
}

class InboundAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(gw_.ok());
    auto find = [this](std::string_view) -> Channel* { return channel_.get(); };
    auto outbound = OutboundDispatcher::create(*gw_.store, gw_.metrics, gw_.healthRecords, gw_.bus,
                                               gw_.executors.executors(), gw_.clock, find);
    ASSERT_TRUE(outbound) << outbound.error().toString();
    gw_.outbound = std::move(*outbound);
    auto router = InboundRouter::create(gw_.config->config, gw_.agents->roster(), gate_, *gw_.runner, gw_.metrics,
                                        gw_.audit, gw_.executors.executors(), find, *gw_.outbound);
    ASSERT_TRUE(router) << router.error().toString();
    router_ = std::move(*router);
    useAccount("default");
  }
  void TearDown() override {
    if (channel_) channel_->stop();
  }

  /// Replaces the loopback channel by one that receives on `account`.
  void useAccount(const std::string& account) {
    if (channel_) channel_->stop();
    channel_ = std::make_unique<LoopbackChannel>(account, gw_.clock);
    ASSERT_TRUE(channel_->start(*router_));
  }

  static testing::GatewayComponentsOptions options() {
    testing::GatewayComponentsOptions o;
    o.configText = std::string(kAccessConfig);
    return o;
  }

  double metric(std::string_view series) const {
    const std::string text = gw_.metrics.render();
    const std::string prefix = std::string(series) + " ";
    for (std::size_t pos = 0; pos < text.size();) {
      auto end = text.find('\n', pos);
      std::string_view line(text.data() + pos, (end == std::string::npos ? text.size() : end) - pos);
      if (line.substr(0, prefix.size()) == prefix) return std::stod(std::string(line.substr(prefix.size())));
      pos = end == std::string::npos ? text.size() : end + 1;
    }
    return 0;
  }
  double refused(std::string_view reason) const {
    return metric(std::string(R"(talon_access_refused_total{channel="loopback",reason=")") + std::string(reason) +
                  "\"}");
  }

  /// Injects `m` and says whether it passed the gate (the gate decides synchronously inside the channel's
  /// inject). An admitted message is run to its reply; a refused one is drained (its pairing code, if
  /// any, is sent).
  bool admitted(routing::InboundMessage m) {
    const uint64_t refusedBefore = router_->counters().refused.value();
    const std::size_t callsBefore = gw_.provider->count();
    const std::size_t sentBefore = channel_->sent().size();
    EXPECT_TRUE(channel_->inject(std::move(m)));
    if (router_->counters().refused.value() > refusedBefore) {
      drain();
      EXPECT_EQ(gw_.provider->count(), callsBefore);
      return false;
    }
    EXPECT_TRUE(gw_.waitCalls(callsBefore + 1));
    if (gw_.provider->count() <= callsBefore) return true;
    gw_.provider->call(callsBefore)->answer("ok");
    EXPECT_TRUE(gw_.executors.runUntil([&] { return channel_->sent().size() > sentBefore; }));
    return true;
  }
  /// Runs queued tasks, waits until the store has committed and called back every batch submitted so
  /// far (batches commit and call back in order: an empty write is a barrier), then runs the tasks those
  /// callbacks posted — the pairing path is one batch and one posted task.
  void drain() {
    gw_.executors.runReady();
    ASSERT_TRUE(gw_.store->write(store::WriteBatch{}));
    gw_.executors.runReady();
  }

  std::vector<std::string> codesSent() const {
    std::vector<std::string> out;
    for (const auto& m : channel_->sent()) {
      auto at = m.text.find("Pairing code:\n```\n");
      if (at != std::string::npos) out.push_back(m.text.substr(at + 18, store::kChannelPairingCodeLength));
    }
    return out;
  }

  int64_t runRows() {
    int64_t n = 0;
    for (auto s :
         {store::RunStatus::kRunning, store::RunStatus::kOk, store::RunStatus::kError, store::RunStatus::kAborted}) {
      auto runs = gw_.store->runs().listWithStatus(s);
      EXPECT_TRUE(runs);
      if (runs) n += static_cast<int64_t>(runs->size());
    }
    return n;
  }
  int64_t sessionRows() {
    auto sessions = gw_.store->sessions().list(store::SessionQuery{std::nullopt, 0, 0});
    EXPECT_TRUE(sessions);
    return sessions ? sessions->totalCount : -1;
  }

  testing::GatewayComponents gw_{options()};
  routing::AccessGate gate_{gw_.config->config.channels, gw_.store.get(), gw_.clock};
  std::unique_ptr<LoopbackChannel> channel_;
  std::unique_ptr<InboundRouter> router_;
};

TEST_F(InboundAccessTest, PairingAnswersAStrangerWithACodeOnceAndCreatesNoSessionOrRun) {
  EXPECT_FALSE(admitted(accessMessage("stranger")));
  auto codes = codesSent();
  ASSERT_EQ(codes.size(), 1u);
  for (char c : codes[0]) EXPECT_NE(store::kChannelPairingCodeAlphabet.find(c), std::string_view::npos) << codes[0];
  auto sent = channel_->sent();
  EXPECT_EQ(sent[0].peer.id, "stranger");
  EXPECT_NE(sent[0].text.find("talon pairing approve loopback " + codes[0]), std::string::npos);
  EXPECT_EQ(gw_.provider->count(), 0u);
  EXPECT_EQ(sessionRows(), 0);
  EXPECT_EQ(runRows(), 0);

  // The same sender again: still refused, no second code.
  EXPECT_FALSE(admitted(accessMessage("stranger")));
  EXPECT_EQ(codesSent().size(), 1u);
  EXPECT_EQ(refused("dm_pairing_required"), 2);

  auto denied = gw_.audit.ofKind("access.dm");
  ASSERT_EQ(denied.size(), 2u);
  EXPECT_EQ(denied[0].outcome, security::AuditOutcome::kDenied);
  EXPECT_EQ(denied[0].details.at("senderId").as_string(), "stranger");
  EXPECT_EQ(denied[0].details.at("reason").as_string(), "dm_pairing_required");
  EXPECT_EQ(denied[0].details.at("policy").as_string(), "dmPolicy=pairing");
  for (const auto& e : gw_.audit.events()) {
    EXPECT_EQ(boost::json::serialize(e.details).find("secret words"), std::string::npos) << e.kind;
  }
  EXPECT_EQ(gw_.audit.ofKind("access.pairing.request").size(), 1u);

  // allowFrom is admitted without pairing.
  EXPECT_TRUE(admitted(accessMessage("owner")));
}

TEST_F(InboundAccessTest, AnApprovedCodeAdmitsTheSenderOnItsAccountOnly) {
  EXPECT_FALSE(admitted(accessMessage("stranger")));
  auto codes = codesSent();
  ASSERT_EQ(codes.size(), 1u);
  auto approved = std::make_shared<std::optional<store::ChannelPairingRequest>>();
  store::WriteBatch b;
  store::ChannelPairingRepository::approveCode(b, codes[0], "loopback", std::nullopt, gw_.clock->nowMs(), approved);
  ASSERT_TRUE(gw_.store->write(std::move(b)));
  ASSERT_TRUE(*approved);
  EXPECT_EQ((*approved)->accountId, "default");
  EXPECT_TRUE(admitted(accessMessage("stranger")));
  // Pairing approvals grant DMs only: not groups, and not another account under allowlist.
  EXPECT_FALSE(admitted(group("room2", "stranger", true)));
  useAccount("strict");
  EXPECT_FALSE(admitted(accessMessage("stranger")));
}

TEST_F(InboundAccessTest, APendingCodeExpiresAfterAnHour) {
  EXPECT_FALSE(admitted(accessMessage("stranger")));
  ASSERT_EQ(codesSent().size(), 1u);
  gw_.clock->advance(store::kChannelPairingTtlMs);
  EXPECT_FALSE(admitted(accessMessage("stranger")));
  EXPECT_EQ(codesSent().size(), 1u);  // still the same request at exactly one hour
  gw_.clock->advance(1);
  EXPECT_FALSE(admitted(accessMessage("stranger")));
  auto codes = codesSent();
  ASSERT_EQ(codes.size(), 2u);  // a new request, a new code
  auto pending = gw_.store->channelPairing().listPending("loopback", "default", gw_.clock->nowMs());
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].code, codes[1]);
}

TEST_F(InboundAccessTest, AtMostThreePendingRequestsPerAccount) {
  for (const char* s : {"s1", "s2", "s3", "s4"}) EXPECT_FALSE(admitted(accessMessage(s)));
  EXPECT_EQ(codesSent().size(), 3u);  // the fourth stranger gets no code
  EXPECT_EQ(refused("dm_pairing_required"), 4);
  useAccount("halfopen");  // another account has its own cap
  auto pending = gw_.store->channelPairing().listPending("loopback", std::nullopt, gw_.clock->nowMs());
  ASSERT_TRUE(pending);
  EXPECT_EQ(pending->size(), 3u);
}

TEST_F(InboundAccessTest, AllowlistOpenAndDisabled) {
  useAccount("strict");  // allowlist: the channel's allowFrom is inherited; no code for strangers
  EXPECT_TRUE(admitted(accessMessage("owner")));
  EXPECT_FALSE(admitted(accessMessage("stranger")));
  EXPECT_TRUE(channel_->sent().size() == 1u);  // only the owner's reply
  EXPECT_EQ(refused("dm_not_allowlisted"), 1);

  useAccount("public");  // open with "*"
  EXPECT_TRUE(admitted(accessMessage("anyone")));

  useAccount("halfopen");  // open without "*": only the listed senders (OpenClaw's runtime rule)
  EXPECT_TRUE(admitted(accessMessage("friend")));
  EXPECT_FALSE(admitted(accessMessage("anyone")));
  EXPECT_EQ(refused("dm_not_allowlisted"), 2);

  useAccount("closed");  // disabled: not even the owner
  EXPECT_FALSE(admitted(accessMessage("owner")));
  EXPECT_EQ(refused("dm_disabled"), 1);
  EXPECT_TRUE(channel_->sent().empty());
  EXPECT_EQ(gw_.store->channelPairing().listPending(std::nullopt, std::nullopt, gw_.clock->nowMs())->size(), 0u);
}

TEST_F(InboundAccessTest, GroupPolicyAllowlistsAndMentionGating) {
  EXPECT_TRUE(admitted(group("room1", "member", true)));
  EXPECT_FALSE(admitted(group("room1", "member", false)));
  EXPECT_EQ(refused("mention_required"), 1);
  EXPECT_TRUE(admitted(group("room1", "member", std::nullopt)));  // the channel cannot tell: not enforced
  EXPECT_TRUE(admitted(group("room2", "member", false)));         // requireMention: false for room2
  EXPECT_FALSE(admitted(group("room3", "member", true)));         // not in groups
  EXPECT_EQ(refused("group_not_allowlisted"), 1);
  EXPECT_FALSE(admitted(group("room1", "owner", true)));  // groupAllowFrom is set: allowFrom does not apply
  EXPECT_EQ(refused("group_sender_not_allowlisted"), 1);
  auto audited = gw_.audit.ofKind("access.group");
  ASSERT_EQ(audited.size(), 3u);
  EXPECT_EQ(audited[0].details.at("peerId").as_string(), "room1");
  EXPECT_TRUE(codesSent().empty());  // groups never get pairing codes

  useAccount("public");  // open: any group, any member; "*" turns mention gating off
  EXPECT_TRUE(admitted(group("anywhere", "anyone", false)));

  useAccount("closed");
  EXPECT_FALSE(admitted(group("room2", "member", true)));
  EXPECT_EQ(refused("group_disabled"), 1);
}

TEST_F(InboundAccessTest, AnUnconfiguredChannelPairsDirectMessagesAndClosesGroups) {
  routing::AccessGate bare(config::ChannelsConfig{}, nullptr, gw_.clock);
  routing::InboundMessage m = accessMessage("someone");
  m.channel = "telegram";
  auto d = bare.decide(m);
  EXPECT_FALSE(d.admitted);
  EXPECT_TRUE(d.pairing);
  EXPECT_EQ(d.policy, "dmPolicy=pairing");
  routing::InboundMessage g = group("room", "someone", true);
  g.channel = "telegram";
  d = bare.decide(g);
  EXPECT_FALSE(d.admitted);
  EXPECT_EQ(d.reason, "group_not_allowlisted");
  EXPECT_EQ(d.policy, "groupPolicy=allowlist");
}

}  // namespace
}  // namespace talon::gateway::channels
