// The devices family over real components: list, approve, reject, rotate, revoke, remove, with OpenClaw's
// payload shapes and errors, every decision audited, and no token value in any payload.
#include <gtest/gtest.h>

#include "store/device_repository.h"
#include "support/method_harness.h"

namespace talon::gateway::methods {
namespace {

class DeviceMethodsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(harness_.ok()); }

  /// A pending request of device `id`, as a refused device-signed connect leaves it.
  void pend(const std::string& requestId, const std::string& id) {
    store::DeviceClaim c;
    c.deviceId = id;
    c.publicKey = "pk-" + id;
    c.clientId = "cli";
    c.clientMode = "cli";
    c.role = "operator";
    c.scopes = {"operator.read", "operator.pairing"};
    c.remoteIp = "192.0.2.4";
    store::WriteBatch b;
    store::DeviceRepository::requestPairing(b, requestId, c, gw_.clock->nowMs());
    ASSERT_TRUE(gw_.store->write(std::move(b)));
  }
  std::size_t audited(std::string_view kind, security::AuditOutcome outcome) {
    std::size_t n = 0;
    for (const auto& e : gw_.audit.ofKind(kind)) n += e.outcome == outcome;
    return n;
  }

  talon::testing::GatewayComponents gw_;
  talon::testing::MethodHarness harness_{gw_};
};

TEST_F(DeviceMethodsTest, ListApproveRotateRevokeRemove) {
  pend("req-1", "dev-1");
  auto list = harness_.call("device.pair.list", json::object{});
  ASSERT_TRUE(list.ok);
  const auto& pending = list.payload.at("pending").as_array();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].at("requestId"), "req-1");
  EXPECT_EQ(pending[0].at("deviceId"), "dev-1");
  EXPECT_EQ(pending[0].at("roles"), json::array{"operator"});
  EXPECT_TRUE(pending[0].at("ts").is_int64());
  EXPECT_TRUE(list.payload.at("paired").as_array().empty());

  auto approved = harness_.call("device.pair.approve", json::object{{"requestId", " req-1 "}});
  ASSERT_TRUE(approved.ok) << approved.error->toString();
  EXPECT_EQ(approved.payload.at("requestId"), "req-1");
  const auto& device = approved.payload.at("device").as_object();
  EXPECT_EQ(device.at("deviceId"), "dev-1");
  EXPECT_EQ(device.at("scopes"), (json::array{"operator.read", "operator.pairing"}));
  EXPECT_FALSE(device.contains("token"));
  EXPECT_EQ(device.at("tokens").as_array()[0].at("role"), "operator");
  EXPECT_FALSE(device.at("tokens").as_array()[0].as_object().contains("token"));
  EXPECT_EQ(audited("device.pair.approve", security::AuditOutcome::kAllowed), 1u);

  auto again = harness_.call("device.pair.approve", json::object{{"requestId", "req-1"}});
  ASSERT_FALSE(again.ok);
  EXPECT_EQ(protocolErrorCode(again.error->code), "INVALID_REQUEST");
  EXPECT_EQ(again.error->publicMessage(), "unknown requestId");

  auto rotated = harness_.call(
      "device.token.rotate", json::object{{"deviceId", "dev-1"}, {"role", "operator"}, {"scopes", {"operator.read"}}});
  ASSERT_TRUE(rotated.ok) << rotated.error->toString();
  EXPECT_EQ(rotated.payload.at("scopes"), json::array{"operator.read"});
  EXPECT_EQ(rotated.payload.at("tokenDelivery"), "withheld-cross-device");
  EXPECT_FALSE(rotated.payload.as_object().contains("token"));
  auto widened = harness_.call(
      "device.token.rotate", json::object{{"deviceId", "dev-1"}, {"role", "operator"}, {"scopes", {"operator.admin"}}});
  ASSERT_FALSE(widened.ok);
  EXPECT_EQ(widened.error->publicMessage(), "device token rotation denied");
  EXPECT_EQ(audited("device.token.rotate", security::AuditOutcome::kDenied), 1u);

  auto revoked = harness_.call("device.token.revoke", json::object{{"deviceId", "dev-1"}, {"role", "operator"}});
  ASSERT_TRUE(revoked.ok);
  EXPECT_EQ(revoked.payload.at("role"), "operator");
  EXPECT_TRUE(revoked.payload.at("revokedAtMs").is_int64());
  auto twice = harness_.call("device.token.revoke", json::object{{"deviceId", "dev-1"}, {"role", "operator"}});
  ASSERT_FALSE(twice.ok);
  EXPECT_EQ(twice.error->publicMessage(), "device token revocation denied");

  auto removed = harness_.call("device.pair.remove", json::object{{"deviceId", "dev-1"}});
  ASSERT_TRUE(removed.ok);
  EXPECT_EQ(removed.payload.at("deviceId"), "dev-1");
  auto unknown = harness_.call("device.pair.remove", json::object{{"deviceId", "dev-1"}});
  ASSERT_FALSE(unknown.ok);
  EXPECT_EQ(unknown.error->publicMessage(), "unknown deviceId");
}

TEST_F(DeviceMethodsTest, RejectAndParams) {
  pend("req-2", "dev-2");
  auto rejected = harness_.call("device.pair.reject", json::object{{"requestId", "req-2"}});
  ASSERT_TRUE(rejected.ok);
  EXPECT_EQ(rejected.payload.at("deviceId"), "dev-2");
  EXPECT_EQ(audited("device.pair.reject", security::AuditOutcome::kAllowed), 1u);
  auto unknown = harness_.call("device.pair.reject", json::object{{"requestId", "req-2"}});
  ASSERT_FALSE(unknown.ok);
  EXPECT_EQ(unknown.error->publicMessage(), "unknown requestId");
  auto missing = harness_.call("device.pair.approve", json::object{});
  ASSERT_FALSE(missing.ok);
  EXPECT_NE(missing.error->publicMessage().find("requestId"), std::string::npos);
}

}  // namespace
}  // namespace talon::gateway::methods
