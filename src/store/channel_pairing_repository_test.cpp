#include "store/channel_pairing_repository.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "store/sqlite_store.h"
#include "store/store.h"
#include "store/store_test_fixture.h"

namespace talon::store {
namespace {

class ChannelPairingRepositoryTest : public testing::StoreTest {
 protected:
  ChannelPairingOutcome request(const std::string& account, const std::string& sender, int64_t nowMs) {
    auto out = std::make_shared<ChannelPairingOutcome>();
    WriteBatch b;
    ChannelPairingRepository::requestPairing(b, "loopback", account, sender, nowMs, out);
    EXPECT_TRUE(store_->write(std::move(b)));
    return *out;
  }
  std::optional<ChannelPairingRequest> approve(const std::string& code, int64_t nowMs,
                                               std::optional<std::string> channel = std::nullopt) {
    auto out = std::make_shared<std::optional<ChannelPairingRequest>>();
    WriteBatch b;
    ChannelPairingRepository::approveCode(b, code, std::move(channel), std::nullopt, nowMs, out);
    EXPECT_TRUE(store_->write(std::move(b)));
    return *out;
  }
};

TEST_F(ChannelPairingRepositoryTest, ACodeIsEightCharactersOfTheAlphabetAndStaysWhilePending) {
  auto first = request("default", "alice", 1000);
  EXPECT_TRUE(first.created);
  ASSERT_EQ(first.code.size(), kChannelPairingCodeLength);
  for (char c : first.code) EXPECT_NE(kChannelPairingCodeAlphabet.find(c), std::string_view::npos) << first.code;
  auto again = request("default", "alice", 2000);
  EXPECT_FALSE(again.created);  // the sender is not sent the code twice
  EXPECT_EQ(again.code, first.code);
  auto pending = store_->channelPairing().listPending(std::nullopt, std::nullopt, 2000);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].senderId, "alice");
  EXPECT_EQ((*pending)[0].createdAtMs, 1000);
  EXPECT_EQ((*pending)[0].lastSeenAtMs, 2000);
  EXPECT_EQ((*pending)[0].expiresAtMs(), 1000 + kChannelPairingTtlMs);
}

TEST_F(ChannelPairingRepositoryTest, AtMostThreePendingPerAccount) {
  std::set<std::string> codes;
  for (const char* s : {"a", "b", "c"}) {
    auto o = request("default", s, 1000);
    EXPECT_TRUE(o.created);
    codes.insert(o.code);
  }
  EXPECT_EQ(codes.size(), 3u);  // unique
  auto fourth = request("default", "d", 1000);
  EXPECT_FALSE(fourth.created);
  EXPECT_TRUE(fourth.code.empty());
  EXPECT_TRUE(request("other", "d", 1000).created);  // the cap is per account
  // Once one is approved, a new sender gets a code again.
  ASSERT_TRUE(approve(*codes.begin(), 1500));
  EXPECT_TRUE(request("default", "d", 1600).created);
}

TEST_F(ChannelPairingRepositoryTest, RequestsExpireAfterAnHour) {
  auto o = request("default", "alice", 1000);
  auto atExpiry = store_->channelPairing().listPending(std::nullopt, std::nullopt, 1000 + kChannelPairingTtlMs);
  ASSERT_TRUE(atExpiry);
  EXPECT_EQ(atExpiry->size(), 1u);
  const int64_t later = 1000 + kChannelPairingTtlMs + 1;
  auto after = store_->channelPairing().listPending(std::nullopt, std::nullopt, later);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->empty());
  EXPECT_FALSE(approve(o.code, later));  // an expired code approves nobody
  auto renewed = request("default", "alice", later);
  EXPECT_TRUE(renewed.created);
}

TEST_F(ChannelPairingRepositoryTest, ApprovalMovesTheSenderToTheAllowStore) {
  auto o = request("work", "alice", 1000);
  auto allowed = store_->channelPairing().isAllowed("loopback", "work", "alice");
  ASSERT_TRUE(allowed);
  EXPECT_FALSE(*allowed);
  EXPECT_FALSE(approve(o.code, 2000, "telegram"));  // another channel's code space
  std::string lower;
  for (char c : o.code) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  auto approved = approve(lower, 2000);  // case-insensitive
  ASSERT_TRUE(approved);
  EXPECT_EQ(approved->senderId, "alice");
  EXPECT_EQ(approved->accountId, "work");
  allowed = store_->channelPairing().isAllowed("loopback", "work", "alice");
  ASSERT_TRUE(allowed);
  EXPECT_TRUE(*allowed);
  EXPECT_FALSE(*store_->channelPairing().isAllowed("loopback", "default", "alice"));  // per account
  auto entries = store_->channelPairing().listAllowed(std::nullopt);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].approvedAtMs, 2000);
  EXPECT_TRUE(store_->channelPairing().listPending(std::nullopt, std::nullopt, 2000)->empty());
  EXPECT_FALSE(approve(o.code, 2000));  // used
}

}  // namespace
}  // namespace talon::store
