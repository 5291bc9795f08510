#include "store/device_repository.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "store/sqlite_store.h"
#include "store/store_test_fixture.h"

namespace talon::store {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

class DeviceRepositoryTest : public testing::StoreTest {
 protected:
  static DeviceClaim claim(const std::string& id, const std::string& role = "operator") {
    DeviceClaim c;
    c.deviceId = id;
    c.publicKey = "pk-" + id;
    c.displayName = "laptop " + id;
    c.platform = "linux";
    c.clientId = "cli";
    c.clientMode = "cli";
    c.role = role;
    c.scopes = {"operator.read", "operator.pairing"};
    c.remoteIp = "192.0.2.1";
    return c;
  }
  Status request(const std::string& requestId, DeviceClaim c, int64_t now = kNow) {
    WriteBatch b;
    DeviceRepository::requestPairing(b, requestId, std::move(c), now);
    return store_->write(std::move(b));
  }
  Status approve(const std::string& requestId, int64_t now = kNow) {
    WriteBatch b;
    DeviceRepository::approve(b, requestId, now);
    return store_->write(std::move(b));
  }
  DeviceRepository repo() { return store_->devices(); }
};

TEST_F(DeviceRepositoryTest, RequestApproveIssuesAnUndeliveredToken) {
  ASSERT_TRUE(request("r1", claim("d1")));
  auto pending = repo().listPending(kNow);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].requestId, "r1");
  EXPECT_EQ((*pending)[0].claim.scopes, (std::vector<std::string>{"operator.read", "operator.pairing"}));

  ASSERT_TRUE(approve("r1", kNow + 10));
  EXPECT_TRUE(repo().listPending(kNow + 10)->empty());
  auto device = repo().getPaired("d1");
  ASSERT_TRUE(device && *device);
  EXPECT_EQ((*device)->claim.publicKey, "pk-d1");
  EXPECT_EQ((*device)->claim.role, "operator");
  EXPECT_EQ((*device)->createdAtMs, kNow + 10);
  EXPECT_EQ((*device)->approvedAtMs, kNow + 10);
  auto tokens = repo().tokens("d1");
  ASSERT_TRUE(tokens);
  ASSERT_EQ(tokens->size(), 1u);
  EXPECT_EQ((*tokens)[0].tokenHash, "");
  EXPECT_EQ((*tokens)[0].revokedAtMs, 0);

  // A second approval of the same request fails: it is gone.
  auto again = approve("r1");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(again.error().publicMessage(), "unknown requestId");
}

TEST_F(DeviceRepositoryTest, RequestOfTheSameDeviceIsRefreshedNotDuplicated) {
  ASSERT_TRUE(request("r1", claim("d1")));
  auto upgraded = claim("d1");
  upgraded.scopes = {"operator.admin"};
  ASSERT_TRUE(request("r2", upgraded, kNow + 5));
  auto pending = repo().listPending(kNow + 5);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].requestId, "r1");
  EXPECT_EQ((*pending)[0].ts, kNow + 5);
  EXPECT_EQ((*pending)[0].claim.scopes, (std::vector<std::string>{"operator.admin"}));
}

TEST_F(DeviceRepositoryTest, PendingRequestsExpireAfterTheTtl) {
  ASSERT_TRUE(request("r1", claim("d1")));
  EXPECT_EQ(repo().listPending(kNow + kPairingRequestTtlMs)->size(), 1u);
  EXPECT_TRUE(repo().listPending(kNow + kPairingRequestTtlMs + 1)->empty());
  EXPECT_FALSE(*repo().getPending("r1", kNow + kPairingRequestTtlMs + 1));
  auto late = approve("r1", kNow + kPairingRequestTtlMs + 1);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, ErrorCode::kNotFound);
}

TEST_F(DeviceRepositoryTest, PendingRequestsAreCapped) {
  for (int64_t i = 0; i < kMaxPendingPairingRequests; ++i) {
    ASSERT_TRUE(request("r" + std::to_string(i), claim("d" + std::to_string(i))));
  }
  auto over = request("over", claim("extra"));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kResourceExhausted);
  // A device already pending may still refresh its request.
  EXPECT_TRUE(request("again", claim("d0")));
  // Once the old ones expire there is room again.
  EXPECT_TRUE(request("later", claim("extra"), kNow + kPairingRequestTtlMs + 1));
}

TEST_F(DeviceRepositoryTest, RejectRemoveRotateRevoke) {
  ASSERT_TRUE(request("r1", claim("d1")));
  ASSERT_TRUE(request("r2", claim("d2")));
  {
    WriteBatch b;
    DeviceRepository::reject(b, "r2");
    ASSERT_TRUE(store_->write(std::move(b)));
  }
  EXPECT_EQ(repo().listPending(kNow)->size(), 1u);
  {
    WriteBatch b;
    DeviceRepository::reject(b, "r2");
    EXPECT_EQ(store_->write(std::move(b)).error().code, ErrorCode::kNotFound);
  }
  ASSERT_TRUE(approve("r1"));
  {
    WriteBatch b;
    DeviceRepository::setToken(b, "d1", "operator", "hash-1", {"operator.read"}, kNow + 100, true);
    ASSERT_TRUE(store_->write(std::move(b)));
  }
  auto tokens = repo().tokens("d1");
  EXPECT_EQ((*tokens)[0].tokenHash, "hash-1");
  EXPECT_EQ((*tokens)[0].rotatedAtMs, kNow + 100);
  EXPECT_EQ((*tokens)[0].createdAtMs, kNow);
  {
    WriteBatch b;
    DeviceRepository::setToken(b, "d1", "node", "hash-2", {}, kNow, true);  // not paired as node
    EXPECT_EQ(store_->write(std::move(b)).error().code, ErrorCode::kNotFound);
  }
  {
    WriteBatch b;
    DeviceRepository::revokeToken(b, "d1", "operator", kNow + 200);
    ASSERT_TRUE(store_->write(std::move(b)));
  }
  EXPECT_EQ((*repo().tokens("d1"))[0].revokedAtMs, kNow + 200);
  {
    WriteBatch b;
    DeviceRepository::revokeToken(b, "d1", "operator", kNow + 300);  // already revoked
    EXPECT_EQ(store_->write(std::move(b)).error().code, ErrorCode::kNotFound);
  }
  {
    WriteBatch b;
    DeviceRepository::remove(b, "d1");
    ASSERT_TRUE(store_->write(std::move(b)));
  }
  EXPECT_FALSE(*repo().getPaired("d1"));
  EXPECT_TRUE(repo().tokens("d1")->empty());
  {
    WriteBatch b;
    DeviceRepository::remove(b, "d1");
    EXPECT_EQ(store_->write(std::move(b)).error().code, ErrorCode::kNotFound);
  }
}

TEST(ScopeList, RoundTrip) {
  EXPECT_EQ(joinScopeList({"a", "b"}), "a,b");
  EXPECT_EQ(splitScopeList("a,b"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(splitScopeList("").empty());
}

}  // namespace
}  // namespace talon::store
