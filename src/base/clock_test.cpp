#include "base/clock.h"

#include <gtest/gtest.h>

namespace talon {
namespace {

// 2026-12-02T14:46:56.007Z
constexpr int64_t kSample = 1'796'222'816'007;

TEST(ClockFormatTest, Rfc3339WithMillisecondsPadsTheFraction) {
  EXPECT_EQ(formatRfc3339Ms(kSample), "2026-12-02T14:46:56.007Z");
  EXPECT_EQ(formatRfc3339Ms(0), "1970-01-01T00:00:00.000Z");
}

TEST(ClockFormatTest, Rfc3339ToTheSecondDropsTheFraction) { EXPECT_EQ(formatRfc3339(kSample), "2026-12-02T14:46:56Z"); }

TEST(ClockFormatTest, DisplayTimeUsesASpaceAndADashForUnknown) {
  EXPECT_EQ(formatUtcForDisplay(kSample), "2026-12-02 14:46:56Z");
  EXPECT_EQ(formatUtcForDisplay(0), "-");
  EXPECT_EQ(formatUtcForDisplay(-5), "-");
}

}  // namespace
}  // namespace talon
