#include "fleet/gateway_address.h"

#include <gtest/gtest.h>

#include "fleet/deployer.h"

namespace talon::fleet {
namespace {

TEST(GatewayAddress, ReleasesOnceWhenDroppedAndMovesTheReleaseAlong) {
  int released = 0;
  {
    GatewayAddress a("127.0.0.1", 41000, "ssh-tunnel", [&released] { ++released; });
    EXPECT_EQ(a.text(), "127.0.0.1:41000");
    EXPECT_EQ(a.via(), "ssh-tunnel");
    GatewayAddress b = std::move(a);
    EXPECT_EQ(released, 0);
    GatewayAddress c("::1", 80, "direct");
    EXPECT_EQ(c.text(), "[::1]:80");
    c = std::move(b);  // c's own (empty) release runs; b's moves to c
    EXPECT_EQ(released, 0);
    c.release();
    EXPECT_EQ(released, 1);
    c.release();
    EXPECT_EQ(released, 1);
  }
  EXPECT_EQ(released, 1);
}

TEST(GatewayAddress, WithoutADeployerAGatewayIsReachedDirectly) {
  DeployTarget t;
  t.id = "gw-a";
  t.probeHost = "10.0.0.7";
  t.port = 18789;
  auto address = reachGateway(nullptr, t, DeployContext{});
  ASSERT_TRUE(address) << address.error().message;
  EXPECT_EQ(address->text(), "10.0.0.7:18789");
  EXPECT_EQ(address->via(), "direct");
}

}  // namespace
}  // namespace talon::fleet
