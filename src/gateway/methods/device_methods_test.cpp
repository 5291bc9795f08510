// The devices family over real components: list, approve, reject, rotate, revoke, remove, with OpenClaw's
// payload shapes and errors, every decision audited, and no token value in any payload.
#include <gtest/gtest.h>

#include <algorithm>

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

TEST_F(DeviceMethodsTest, RevokingRotatingOrRemovingClosesTheDevicesConnectionsWith4001AndAuditsIt) {
  pend("req-1", "dev-1");
  ASSERT_TRUE(harness_.call("device.pair.approve", json::object{{"requestId", "req-1"}}).ok);
  // Open connections: dev-1 as operator (two) and as node, another device, a shared-token client.
  std::vector<std::pair<uint64_t, std::string>> closed;  // connection, "code reason"
  auto connect = [&](uint64_t id, std::string deviceId, std::string role) {
    gw_.presence.setAuth(id, gateway::ConnectionAuth{std::move(deviceId), std::move(role), ""},
                         [&closed, id](uint16_t code, std::string reason) {
                           closed.emplace_back(id, std::to_string(code) + " " + reason);
                         });
  };
  connect(1, "dev-1", "operator");
  connect(2, "dev-1", "operator");
  connect(3, "dev-1", "node");
  connect(4, "dev-2", "operator");
  connect(5, "", "operator");

  ASSERT_TRUE(harness_.call("device.token.rotate", json::object{{"deviceId", "dev-1"}, {"role", "operator"}}).ok);
  std::sort(closed.begin(), closed.end());
  EXPECT_EQ(closed, (std::vector<std::pair<uint64_t, std::string>>{{1, "4001 device token rotated"},
                                                                   {2, "4001 device token rotated"}}));
  // The closed connections go away (ClientSession::onClose removes them).
  gw_.presence.remove(1);
  gw_.presence.remove(2);
  closed.clear();

  // A failed revocation closes nothing; a token of a role with no connection closes nothing.
  ASSERT_FALSE(harness_.call("device.token.revoke", json::object{{"deviceId", "dev-9"}, {"role", "operator"}}).ok);
  EXPECT_TRUE(closed.empty());
  connect(6, "dev-1", "operator");
  ASSERT_TRUE(harness_.call("device.token.revoke", json::object{{"deviceId", "dev-1"}, {"role", "operator"}}).ok);
  EXPECT_EQ(closed, (std::vector<std::pair<uint64_t, std::string>>{{6, "4001 device token revoked"}}));
  gw_.presence.remove(6);
  closed.clear();

  ASSERT_TRUE(harness_.call("device.pair.remove", json::object{{"deviceId", "dev-1"}}).ok);
  EXPECT_EQ(closed, (std::vector<std::pair<uint64_t, std::string>>{{3, "4001 device removed"}}));

  auto closes = gw_.audit.ofKind("connection.close");
  ASSERT_EQ(closes.size(), 3u);
  EXPECT_EQ(closes[0].target, "dev-1");
  EXPECT_EQ(closes[0].details.at("connections"), 2);
  EXPECT_EQ(closes[0].details.at("code"), 4001);
  EXPECT_EQ(closes[0].details.at("reason"), "device token rotated");
  EXPECT_EQ(closes[1].details.at("reason"), "device token revoked");
  EXPECT_EQ(closes[2].details.at("reason"), "device removed");
  EXPECT_FALSE(closes[2].details.contains("role"));
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
