// The outbox: stored before sent, retried with backoff until confirmed or a bound, the final failure
// visible (log, metric, health record, bus event), long messages split and sent part by part, pending
// deliveries resumed by a new dispatcher over the same store (a restart after a crash). Real SQLite in a
// temp dir, the real registries and bus, deterministic executors and a SimulatedClock
// (tests/support/manual_executors.h); nothing sleeps.
#include "gateway/channels/outbound_dispatcher.h"

#include <gtest/gtest.h>

#include <deque>

#include "base/json.h"
#include "gateway/channels/reply_splitter.h"
#include "store/sqlite_store.h"
#include "support/manual_executors.h"
#include "support/temp_dir.h"

namespace talon::gateway::channels {
namespace {

/// A channel whose sends answer from a script (ok when the script is empty), recording what it was
/// asked to send and, at each send, what the outbox held.
class ScriptedChannel final : public Channel {
 public:
  std::string_view provider() const override { return "scripted"; }
  Status start(ChannelSink&) override { return {}; }
  void stop() override {}
  void send(OutboundMessage message, std::function<void(Status)> onSent) override {
    Status result;
    {
      std::lock_guard lock(mu_);
      if (onSend) onSend(message);
      if (!script.empty()) {
        result = std::move(script.front());
        script.pop_front();
      }
      attempts.push_back(message);
      if (result) confirmed.push_back(message);
    }
    onSent(std::move(result));
  }
  void probe(std::function<void(Status)> done) override { done({}); }
  ChannelHealth health() const override { return {}; }
  ChannelCapabilities capabilities() const override { return ChannelCapabilities{maxTextChars, false}; }

  std::size_t confirmedCount() const {
    std::lock_guard lock(mu_);
    return confirmed.size();
  }

  mutable std::mutex mu_;
  std::deque<Status> script;
  std::vector<OutboundMessage> attempts;
  std::vector<OutboundMessage> confirmed;
  std::function<void(const OutboundMessage&)> onSend;
  std::size_t maxTextChars = 4000;
};

Status down() { return fail(ErrorCode::kUnavailable, "the network is down"); }

class OutboundDispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::SqliteStoreOptions options;
    options.path = dir_ / "talon.sqlite";
    auto opened = store::openSqliteStore(options);
    ASSERT_TRUE(opened) << opened.error().toString();
    gw_.store = std::move(*opened);
    busId_ = gw_.bus.subscribe(
        [this](const GatewayEvent& e) {
          std::lock_guard lock(mu_);
          events_.push_back(e);
        },
        EventBus::Interest::kEverySession);
    dispatcher_ = make();
  }
  void TearDown() override {
    if (dispatcher_) dispatcher_->stop();
    gw_.bus.unsubscribe(busId_);
    if (gw_.store) gw_.store->close();
  }

  static OutboundPolicy policy() {
    OutboundPolicy p;
    p.maxAttempts = 4;
    p.initialDelay = std::chrono::milliseconds(1000);
    p.maxDelay = std::chrono::milliseconds(8000);
    p.jitter = 0.0;  // exact delays: 1, 2, 4 s
    p.maxAge = std::chrono::milliseconds(3'600'000);
    p.seed = 7;
    return p;
  }

  std::unique_ptr<OutboundDispatcher> make(OutboundPolicy p = policy()) {
    auto d = OutboundDispatcher::create(
        *gw_.store, gw_.metrics, gw_.healthRecords, gw_.bus, gw_.executors.executors(), gw_.clock,
        [this](std::string_view id) -> Channel* { return id == "scripted" && present_ ? &channel_ : nullptr; }, p);
    EXPECT_TRUE(d) << d.error().toString();
    return d ? std::move(*d) : nullptr;
  }

  static OutboundMessage message(std::string text, std::string peer = "Bob") {
    OutboundMessage m;
    m.accountId = "default";
    m.peer = routing::Peer{routing::PeerKind::kDirect, std::move(peer)};
    m.threadId = "7";
    m.text = std::move(text);
    m.runId = "run-1";
    return m;
  }

  struct Observed {
    std::optional<Result<store::OutboundDelivery>> first;
    std::optional<Result<store::OutboundDelivery>> settled;
  };

  std::shared_ptr<Observed> deliver(OutboundMessage m, std::string key = "") {
    auto seen = std::make_shared<Observed>();
    dispatcher_->deliver(
        "scripted", std::move(m), std::move(key), [seen](Result<store::OutboundDelivery> r) { seen->first = r; },
        [seen](Result<store::OutboundDelivery> r) { seen->settled = r; });
    return seen;
  }

  std::vector<store::OutboundDelivery> rows() {
    auto all = gw_.store->outbound().list(std::nullopt, 100);
    EXPECT_TRUE(all) << all.error().toString();
    return all ? *all : std::vector<store::OutboundDelivery>{};
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

  std::vector<GatewayEvent> events(std::string_view name) {
    std::lock_guard lock(mu_);
    std::vector<GatewayEvent> out;
    for (const auto& e : events_) {
      if (e.name == name) out.push_back(e);
    }
    return out;
  }

  /// What the dispatcher uses of the gateway's components.
  struct Components {
    std::shared_ptr<SimulatedClock> clock = std::make_shared<SimulatedClock>();
    testing::ManualExecutors executors{clock};
    store::StorePtr store;
    health::MetricsRegistry metrics;
    health::HealthRegistry healthRecords{clock};
    EventBus bus;
  };

  testing::TempDir dir_{"talon-outbox"};
  Components gw_;
  ScriptedChannel channel_;
  bool present_ = true;
  std::unique_ptr<OutboundDispatcher> dispatcher_;
  std::mutex mu_;
  std::vector<GatewayEvent> events_;
  uint64_t busId_ = 0;
};

TEST_F(OutboundDispatcherTest, AMessageIsStoredBeforeItIsSentAndMarkedSentWhenConfirmed) {
  std::vector<store::OutboundDelivery> atSend;
  channel_.onSend = [&](const OutboundMessage&) { atSend = rows(); };
  auto seen = deliver(message("hello"));
  ASSERT_TRUE(gw_.executors.runUntil([&] { return seen->settled.has_value(); }));

  ASSERT_EQ(atSend.size(), 1u);  // the row existed, pending, when the channel was asked
  EXPECT_EQ(atSend[0].state, store::DeliveryState::kPending);
  EXPECT_EQ(atSend[0].text, "hello");
  ASSERT_EQ(channel_.confirmed.size(), 1u);
  EXPECT_EQ(channel_.confirmed[0].text, "hello");
  EXPECT_EQ(channel_.confirmed[0].peer.id, "Bob");
  EXPECT_EQ(channel_.confirmed[0].threadId, "7");
  EXPECT_EQ(channel_.confirmed[0].runId, "run-1");

  ASSERT_TRUE(seen->first && *seen->first);
  ASSERT_TRUE(*seen->settled);
  EXPECT_EQ((*seen->settled)->state, store::DeliveryState::kSent);
  auto stored = rows();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].state, store::DeliveryState::kSent);
  EXPECT_EQ(stored[0].sentAtMs, gw_.clock->nowMs());
  EXPECT_EQ(stored[0].attempts, 0);
  EXPECT_EQ(stored[0].peerKind, "direct");
  EXPECT_EQ(metric(R"(talon_channel_deliveries_total{channel="scripted",outcome="sent"})"), 1);
  EXPECT_EQ(dispatcher_->activeCount(), 0u);
}

TEST_F(OutboundDispatcherTest, FailedAttemptsAreRetriedWithBackoffUntilTheChannelConfirms) {
  channel_.script = {down(), down()};
  auto seen = deliver(message("hi"));
  ASSERT_TRUE(gw_.executors.runUntil([&] { return seen->first.has_value(); }));
  // The first attempt failed: the caller learns it is pending, with the reason and the next attempt.
  ASSERT_TRUE(*seen->first);
  EXPECT_EQ((*seen->first)->state, store::DeliveryState::kPending);
  EXPECT_EQ((*seen->first)->attempts, 1);
  EXPECT_EQ((*seen->first)->lastError, "unavailable: the network is down");
  EXPECT_EQ((*seen->first)->nextAttemptAtMs, gw_.clock->nowMs() + 1000);
  EXPECT_FALSE(seen->settled);

  gw_.executors.advance(999);
  EXPECT_EQ(channel_.attempts.size(), 1u);  // not before its time
  gw_.executors.advance(1);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return channel_.attempts.size() == 2; }));
  ASSERT_TRUE(gw_.executors.runUntil([&] { return gw_.executors.armedTimers() == 1; }));  // the next retry
  EXPECT_EQ(rows()[0].attempts, 2);
  gw_.executors.advance(1999);
  EXPECT_EQ(channel_.attempts.size(), 2u);  // the second delay doubled
  gw_.executors.advance(1);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return seen->settled.has_value(); }));
  EXPECT_EQ(channel_.confirmedCount(), 1u);
  EXPECT_EQ((*seen->settled)->state, store::DeliveryState::kSent);
  auto stored = rows();
  EXPECT_EQ(stored[0].state, store::DeliveryState::kSent);
  EXPECT_EQ(stored[0].attempts, 2);
  EXPECT_EQ(metric(R"(talon_channel_deliveries_total{channel="scripted",outcome="retried"})"), 2);
  EXPECT_EQ(metric(R"(talon_channel_deliveries_total{channel="scripted",outcome="sent"})"), 1);
  EXPECT_TRUE(events("channel.delivery.failed").empty());
}

TEST_F(OutboundDispatcherTest, ADeliveryThatNeverGoesThroughFailsVisiblyAfterItsAttempts) {
  channel_.script = {down(), down(), down(), down()};
  auto seen = deliver(message("lost?"));
  for (int64_t delay : {1000, 2000, 4000}) {
    ASSERT_TRUE(gw_.executors.runUntil([&] { return gw_.executors.armedTimers() == 1; }));
    gw_.executors.advance(delay);
  }
  ASSERT_TRUE(gw_.executors.runUntil([&] { return seen->settled.has_value(); }));
  EXPECT_EQ(channel_.attempts.size(), 4u);
  ASSERT_TRUE(*seen->settled);
  EXPECT_EQ((*seen->settled)->state, store::DeliveryState::kFailed);
  EXPECT_EQ(rows()[0].state, store::DeliveryState::kFailed);
  EXPECT_EQ(rows()[0].attempts, 4);
  EXPECT_EQ(rows()[0].lastError, "unavailable: the network is down");
  EXPECT_EQ(metric(R"(talon_channel_deliveries_total{channel="scripted",outcome="failed"})"), 1);
  EXPECT_EQ(metric(R"(talon_channel_deliveries_total{channel="scripted",outcome="retried"})"), 3);
  auto record = gw_.healthRecords.get("channel:scripted", "delivery");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->state, health::HealthState::kDegraded);
  EXPECT_NE(record->detail.find("1 deliveries failed"), std::string::npos) << record->detail;
  EXPECT_NE(record->detail.find("the network is down"), std::string::npos) << record->detail;
  auto failed = events("channel.delivery.failed");
  ASSERT_EQ(failed.size(), 1u);
  auto payload = parseJson(*failed[0].payloadJson);
  ASSERT_TRUE(payload);
  const auto& o = payload->as_object();
  EXPECT_EQ(*getString(o, "channel"), "scripted");
  EXPECT_EQ(*getString(o, "state"), "failed");
  EXPECT_EQ(*getInt(o, "attempts"), 4);
  EXPECT_EQ(*getString(o, "runId"), "run-1");
  EXPECT_EQ(o.if_contains("text"), nullptr);  // the event never carries the message
  EXPECT_EQ(gw_.executors.armedTimers(), 0u);
  EXPECT_EQ(dispatcher_->activeCount(), 0u);

  // A later delivery that goes through turns the record back to ok.
  auto next = deliver(message("and now?"));
  ASSERT_TRUE(gw_.executors.runUntil([&] { return next->settled.has_value(); }));
  EXPECT_EQ(gw_.healthRecords.get("channel:scripted", "delivery")->state, health::HealthState::kOk);
}

TEST_F(OutboundDispatcherTest, ADeliveryOlderThanMaxAgeFailsAtItsNextFailedAttempt) {
  auto p = policy();
  p.maxAttempts = 100;
  p.maxAge = std::chrono::milliseconds(2500);
  dispatcher_->stop();
  dispatcher_ = make(p);
  channel_.script = {down(), down(), down(), down()};
  auto seen = deliver(message("old news"));
  ASSERT_TRUE(gw_.executors.runUntil([&] { return gw_.executors.armedTimers() == 1; }));
  gw_.executors.advance(1000);  // attempt 2 at 1 s
  ASSERT_TRUE(gw_.executors.runUntil([&] { return gw_.executors.armedTimers() == 1; }));
  gw_.executors.advance(2000);  // attempt 3 at 3 s: older than 2.5 s
  ASSERT_TRUE(gw_.executors.runUntil([&] { return seen->settled.has_value(); }));
  EXPECT_EQ((*seen->settled)->state, store::DeliveryState::kFailed);
  EXPECT_EQ((*seen->settled)->attempts, 3);
}

TEST_F(OutboundDispatcherTest, AChannelThatIsNotRunningIsRetriedUntilItIs) {
  present_ = false;
  auto seen = deliver(message("wait for me"));
  ASSERT_TRUE(gw_.executors.runUntil([&] { return seen->first.has_value(); }));
  EXPECT_EQ((*seen->first)->state, store::DeliveryState::kPending);
  EXPECT_NE((*seen->first)->lastError.find("is not running"), std::string::npos);
  present_ = true;
  gw_.executors.advance(1000);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return seen->settled.has_value(); }));
  EXPECT_EQ((*seen->settled)->state, store::DeliveryState::kSent);
}

TEST_F(OutboundDispatcherTest, ALongMessageIsSentInPartsAndAFailedPartIsResentAloneInOrder) {
  channel_.maxTextChars = 20;
  const std::string text = "first paragraph.\n\nsecond paragraph.\n\nthird paragraph.";
  const auto parts = splitReply(text, 20);
  ASSERT_EQ(parts.size(), 3u);
  channel_.script = {Status{}, down()};  // part 1 goes, part 2 fails once
  auto seen = deliver(message(text));
  ASSERT_TRUE(gw_.executors.runUntil([&] { return seen->first.has_value(); }));
  EXPECT_EQ((*seen->first)->partsSent, 1);
  EXPECT_EQ((*seen->first)->partsTotal, 3);
  gw_.executors.advance(1000);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return seen->settled.has_value(); }));
  ASSERT_EQ(channel_.confirmed.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(channel_.confirmed[i].text, parts[i]);
  ASSERT_EQ(channel_.attempts.size(), 4u);  // part 2 twice, part 1 once
  EXPECT_EQ(channel_.attempts[1].text, parts[1]);
  EXPECT_EQ(channel_.attempts[2].text, parts[1]);
  EXPECT_EQ(rows()[0].partsSent, 3);
}

TEST_F(OutboundDispatcherTest, PendingDeliveriesLeftByACrashAreResumedByTheNextDispatcher) {
  // What a process that died mid-delivery left: one due now with one of its two parts confirmed, one due
  // in 5 s, one already sent.
  channel_.maxTextChars = 20;
  const std::string two = "part one is here.\n\npart two is here.";
  ASSERT_EQ(splitReply(two, 20).size(), 2u);
  const int64_t now = gw_.clock->nowMs();
  auto row = [&](std::string id, std::string text, int64_t next) {
    store::OutboundDelivery d;
    d.id = std::move(id);
    d.channelId = "scripted";
    d.peerKind = "group";
    d.peerId = "#room";
    d.text = std::move(text);
    d.chunkLimit = 20;
    d.partsTotal = static_cast<int64_t>(splitReply(d.text, 20).size());
    d.createdAtMs = now - 10'000;
    d.nextAttemptAtMs = next;
    return d;
  };
  auto dueNow = row("a", two, now - 1);
  dueNow.partsSent = 1;
  dueNow.attempts = 1;
  auto later = row("b", "later", now + 5000);
  auto done = row("c", "done", now);
  store::WriteBatch batch;
  for (auto* d : {&dueNow, &later, &done}) {
    store::OutboundRepository::enqueue(batch, *d, std::make_shared<store::OutboundDelivery>());
  }
  done.state = store::DeliveryState::kSent;
  store::OutboundRepository::update(batch, done);
  ASSERT_TRUE(gw_.store->write(std::move(batch)));

  // The process that wrote them is gone: a new dispatcher over the same store picks them up.
  dispatcher_->stop();
  dispatcher_ = make();
  auto resumed = dispatcher_->resumePending();
  ASSERT_TRUE(resumed) << resumed.error().toString();
  EXPECT_EQ(*resumed, 2u);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return channel_.confirmedCount() == 1; }));
  EXPECT_EQ(channel_.confirmed[0].text, "part two is here.");  // the confirmed part is not sent again
  EXPECT_EQ(channel_.confirmed[0].peer.kind, routing::PeerKind::kGroup);
  gw_.executors.runReady();
  EXPECT_EQ(channel_.confirmedCount(), 1u);  // "later" waits for its time
  gw_.executors.advance(5000);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return channel_.confirmedCount() == 2; }));
  EXPECT_EQ(channel_.confirmed[1].text, "later");
  ASSERT_TRUE(gw_.executors.runUntil([&] {
    auto p = gw_.store->outbound().pending();
    return p && p->empty();
  }));
  // Resuming again finds nothing to do.
  EXPECT_EQ(*dispatcher_->resumePending(), 0u);
}

TEST_F(OutboundDispatcherTest, TheSameIdempotencyKeyStoresAndSendsOnce) {
  auto first = deliver(message("once"), "key-1");
  ASSERT_TRUE(gw_.executors.runUntil([&] { return first->settled.has_value(); }));
  auto second = deliver(message("once"), "key-1");
  ASSERT_TRUE(gw_.executors.runUntil([&] { return second->settled.has_value(); }));
  EXPECT_EQ((*second->settled)->id, (*first->settled)->id);
  EXPECT_EQ(channel_.attempts.size(), 1u);
  EXPECT_EQ(rows().size(), 1u);
}

TEST_F(OutboundDispatcherTest, EmptyMessagesAreRefusedAndNothingIsSentAfterStop) {
  auto empty = deliver(message(""));
  ASSERT_TRUE(empty->first);
  ASSERT_FALSE(*empty->first);
  EXPECT_EQ(empty->first->error().code, ErrorCode::kInvalidArgument);

  channel_.script = {down()};
  auto seen = deliver(message("bye"));
  ASSERT_TRUE(gw_.executors.runUntil([&] { return seen->first.has_value(); }));
  dispatcher_->stop();
  gw_.executors.advance(10'000);
  EXPECT_EQ(channel_.attempts.size(), 1u);
  EXPECT_EQ(rows()[0].state, store::DeliveryState::kPending);  // resumed at the next start
}

TEST(OutboundRetryDelay, GrowsByTheFactorUpToTheCapWithinTheJitterBand) {
  OutboundPolicy p;
  p.initialDelay = std::chrono::milliseconds(1000);
  p.maxDelay = std::chrono::milliseconds(10'000);
  p.factor = 2.0;
  p.jitter = 0.2;
  EXPECT_EQ(outboundRetryDelay(p, 1, 0.5).count(), 1000);
  EXPECT_EQ(outboundRetryDelay(p, 3, 0.5).count(), 4000);
  EXPECT_EQ(outboundRetryDelay(p, 10, 0.5).count(), 10'000);
  EXPECT_EQ(outboundRetryDelay(p, 1, 0.0).count(), 800);
  EXPECT_EQ(outboundRetryDelay(p, 1, 1.0).count(), 1200);
}

}  // namespace
}  // namespace talon::gateway::channels
