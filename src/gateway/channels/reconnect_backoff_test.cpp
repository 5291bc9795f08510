#include "gateway/channels/reconnect_backoff.h"

#include <gtest/gtest.h>

namespace talon::gateway::channels {
namespace {

using std::chrono::milliseconds;

TEST(ReconnectBackoff, GrowsExponentiallyWithinTheJitterAndCaps) {
  ReconnectBackoff b({.initial = milliseconds(1000),
                      .max = milliseconds(8000),
                      .factor = 2.0,
                      .jitter = 0.2,
                      .breakerThreshold = 100,
                      .openFor = milliseconds(60000)},
                     42);
  const int64_t expected[] = {1000, 2000, 4000, 8000, 8000, 8000};
  for (int64_t e : expected) {
    const int64_t d = b.failed().count();
    EXPECT_GE(d, e * 8 / 10);
    EXPECT_LE(d, e * 12 / 10);
  }
  EXPECT_EQ(b.consecutiveFailures(), 6);
}

TEST(ReconnectBackoff, JitterSpreadsDelays) {
  ReconnectBackoff b({.initial = milliseconds(10000), .max = milliseconds(10000), .jitter = 0.5}, 7);
  int64_t lo = INT64_MAX, hi = 0;
  for (int i = 0; i < 9; ++i) {
    const int64_t d = b.failed().count();
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_LT(lo, hi);
}

TEST(ReconnectBackoff, BreakerOpensAfterTheThresholdAndSuccessResets) {
  ReconnectBackoff b({.initial = milliseconds(100),
                      .max = milliseconds(1000),
                      .jitter = 0.0,
                      .breakerThreshold = 3,
                      .openFor = milliseconds(50000)},
                     1);
  EXPECT_EQ(b.failed(), milliseconds(100));
  EXPECT_EQ(b.failed(), milliseconds(200));
  EXPECT_FALSE(b.circuitOpen());
  EXPECT_EQ(b.failed(), milliseconds(50000));
  EXPECT_TRUE(b.circuitOpen());
  b.succeeded();
  EXPECT_FALSE(b.circuitOpen());
  EXPECT_EQ(b.consecutiveFailures(), 0);
  EXPECT_EQ(b.failed(), milliseconds(100));
}

}  // namespace
}  // namespace talon::gateway::channels
