// `gateway.metrics` (sections/gateway_section.cpp): Talon's setting for GET /metrics (docs/metrics.md).
#include <gtest/gtest.h>

#include "config/config_test_util.h"
#include "config/config_validator.h"
#include "config/json5.h"

namespace talon::config {
namespace {

using testing::messages;
using testing::validate;

TEST(MetricsConfig, LoopbackScrapingNeedsATokenByDefault) {
  auto r = validate("{}");
  ASSERT_TRUE(r.diagnostics.empty()) << messages(r);
  EXPECT_FALSE(r.config.gateway.metrics.allowUnauthenticatedLoopback);
}

TEST(MetricsConfig, AllowUnauthenticatedLoopbackIsRead) {
  auto r = validate("{gateway: {metrics: {allowUnauthenticatedLoopback: true}}}");
  ASSERT_TRUE(r.diagnostics.empty()) << messages(r);
  EXPECT_TRUE(r.config.gateway.metrics.allowUnauthenticatedLoopback);
}

TEST(MetricsConfig, WrongTypesAndUnknownKeysAreErrors) {
  auto wrongType = validate("{gateway: {metrics: {allowUnauthenticatedLoopback: 'yes'}}}");
  EXPECT_NE(messages(wrongType).find("gateway.metrics.allowUnauthenticatedLoopback"), std::string::npos)
      << messages(wrongType);
  auto unknown = validate("{gateway: {metrics: {path: '/m'}}}");
  EXPECT_NE(messages(unknown).find("gateway.metrics: Unrecognized key: \"path\""), std::string::npos)
      << messages(unknown);
}

}  // namespace
}  // namespace talon::config
