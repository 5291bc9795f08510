#include "store/outbound_repository.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "store/sqlite_store.h"
#include "store/store.h"
#include "store/store_test_fixture.h"

namespace talon::store {
namespace {

class OutboundRepositoryTest : public testing::StoreTest {
 protected:
  static OutboundDelivery delivery(std::string id, int64_t createdAtMs, std::string key = "") {
    OutboundDelivery d;
    d.id = std::move(id);
    d.channelId = "loopback";
    d.accountId = "default";
    d.peerKind = "direct";
    d.peerId = "Bob";
    d.threadId = "42";
    d.text = "hello";
    d.runId = "run-1";
    d.idempotencyKey = std::move(key);
    d.chunkLimit = 4000;
    d.createdAtMs = createdAtMs;
    d.nextAttemptAtMs = createdAtMs;
    return d;
  }

  Result<OutboundDelivery> enqueue(OutboundDelivery d) {
    auto out = std::make_shared<OutboundDelivery>();
    WriteBatch b;
    OutboundRepository::enqueue(b, std::move(d), out);
    if (auto s = store_->write(std::move(b)); !s) return fail(s.error());
    return *out;
  }
};

TEST_F(OutboundRepositoryTest, AnEnqueuedDeliveryRoundTripsAndIsPending) {
  auto in = delivery("d1", 1000);
  auto stored = enqueue(in);
  ASSERT_TRUE(stored) << stored.error().toString();
  EXPECT_EQ(*stored, in);
  auto got = store_->outbound().get("d1");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ(**got, in);
  EXPECT_EQ((*got)->state, DeliveryState::kPending);
  auto pending = store_->outbound().pending();
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].id, "d1");
  auto missing = store_->outbound().get("nope");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
}

TEST_F(OutboundRepositoryTest, UpdatesKeepProgressAndTheStateFiltersListsAndPending) {
  ASSERT_TRUE(enqueue(delivery("a", 1000)));
  ASSERT_TRUE(enqueue(delivery("b", 2000)));
  ASSERT_TRUE(enqueue(delivery("c", 3000)));
  auto a = delivery("a", 1000);
  a.state = DeliveryState::kSent;
  a.sentAtMs = 1500;
  auto b = delivery("b", 2000);
  b.state = DeliveryState::kFailed;
  b.attempts = 8;
  b.lastError = "unavailable: the network is down";
  WriteBatch batch;
  OutboundRepository::update(batch, a);
  OutboundRepository::update(batch, b);
  ASSERT_TRUE(store_->write(std::move(batch)));

  auto all = store_->outbound().list(std::nullopt, 10);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, "c");  // newest first
  EXPECT_EQ((*all)[2].id, "a");
  auto failed = store_->outbound().list(DeliveryState::kFailed, 10);
  ASSERT_TRUE(failed);
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_EQ((*failed)[0], b);
  auto pending = store_->outbound().pending();
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].id, "c");
  auto limited = store_->outbound().list(std::nullopt, 1);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->size(), 1u);
}

TEST_F(OutboundRepositoryTest, AnIdempotencyKeyAlreadyStoredForTheChannelReturnsTheStoredRow) {
  ASSERT_TRUE(enqueue(delivery("first", 1000, "key-1")));
  auto again = delivery("second", 2000, "key-1");
  again.text = "other";
  auto stored = enqueue(again);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->id, "first");
  EXPECT_EQ(stored->text, "hello");
  auto all = store_->outbound().list(std::nullopt, 10);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 1u);
  // The key is per channel: another channel's delivery with the same key is its own.
  auto elsewhere = delivery("third", 3000, "key-1");
  elsewhere.channelId = "irc";
  auto third = enqueue(elsewhere);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->id, "third");
}

TEST_F(OutboundRepositoryTest, MalformedRowsAndUnknownIdsAreErrors) {
  auto noPeer = delivery("x", 1000);
  noPeer.peerId.clear();
  auto r = enqueue(noPeer);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  auto noLimit = delivery("y", 1000);
  noLimit.chunkLimit = 0;
  r = enqueue(noLimit);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  ASSERT_TRUE(enqueue(delivery("z", 1000)));
  r = enqueue(delivery("z", 2000));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kAlreadyExists);

  WriteBatch b;
  OutboundRepository::update(b, delivery("ghost", 1000));
  auto s = store_->write(std::move(b));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
}

TEST_F(OutboundRepositoryTest, PendingRowsSurviveAReopen) {
  auto d = delivery("kept", 1000);
  d.partsTotal = 3;
  d.partsSent = 1;
  d.attempts = 2;
  d.nextAttemptAtMs = 9000;
  d.lastError = "timeout";
  ASSERT_TRUE(enqueue(d));
  store_->close();
  store_.reset();
  open();
  auto pending = store_->outbound().pending();
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0], d);
}

TEST(DeliveryStateNames, RoundTrip) {
  for (auto s : {DeliveryState::kPending, DeliveryState::kSent, DeliveryState::kFailed}) {
    EXPECT_EQ(parseDeliveryState(deliveryStateName(s)), s);
  }
  EXPECT_FALSE(parseDeliveryState("queued"));
}

}  // namespace
}  // namespace talon::store
