// `gateway.metrics` (sections/gateway_section.cpp): Talon's setting for GET /metrics (docs/metrics.md).
#include <gtest/gtest.h>

#include "config/config_validator.h"
#include "config/json5.h"

namespace talon::config {
namespace {

ValidationResult validate(std::string_view text) {
  auto doc = parseJson5(text, "/c/talon.json");
  EXPECT_TRUE(doc) << (doc ? "" : doc.error().message);
  if (!doc) return {};
  return validateEffectiveConfig(doc->value, doc->sourceMap, {});
}

std::string messages(const ValidationResult& r) {
  std::string out;
  for (const auto& d : r.diagnostics) out += d.toString() + "\n";
  return out;
}

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
