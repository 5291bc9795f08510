#include "gateway/trace_intake.h"

#include <gtest/gtest.h>

namespace talon::gateway {
namespace {

TEST(TraceIntake, ValidValuesPassMalformedOnesAreCountedBySource) {
  health::MetricsRegistry metrics;
  auto intake = TraceIntake::create(metrics);
  ASSERT_TRUE(intake) << intake.error().toString();
  auto ok = (*intake)->accept("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TraceSource::kRpc);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_FALSE((*intake)->accept(std::nullopt, TraceSource::kRpc));  // absent: not counted
  EXPECT_FALSE((*intake)->accept("", TraceSource::kHttp));           // an empty header: absent
  EXPECT_FALSE((*intake)->accept("00-zz-00f067aa0ba902b7-01", TraceSource::kRpc));
  EXPECT_FALSE(acceptHttpTraceparent(intake->get(), "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(acceptHttpTraceparent(intake->get(), "garbage"));
  EXPECT_TRUE(acceptHttpTraceparent(nullptr, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
  const std::string text = metrics.render();
  EXPECT_NE(text.find("talon_traceparent_invalid_total{source=\"rpc\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("talon_traceparent_invalid_total{source=\"http\"} 2\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace talon::gateway
