#include "base/cpu_count.h"

#include <gtest/gtest.h>
#include <sched.h>

namespace talon {
namespace {

TEST(CpuCountTest, CgroupV2CpuMaxRoundsUpAndTreatsMaxAsUnlimited) {
  EXPECT_EQ(cpuLimitFromCgroupV2("200000 100000\n"), 2);
  EXPECT_EQ(cpuLimitFromCgroupV2("150000 100000"), 2);
  EXPECT_EQ(cpuLimitFromCgroupV2("50000 100000"), 1);
  EXPECT_EQ(cpuLimitFromCgroupV2("max 100000\n"), std::nullopt);
  EXPECT_EQ(cpuLimitFromCgroupV2(""), std::nullopt);
  EXPECT_EQ(cpuLimitFromCgroupV2("100000"), std::nullopt);
  EXPECT_EQ(cpuLimitFromCgroupV2("0 100000"), std::nullopt);
}

TEST(CpuCountTest, CgroupV1QuotaOfMinusOneIsUnlimited) {
  EXPECT_EQ(cpuLimitFromCgroupV1("-1\n", "100000\n"), std::nullopt);
  EXPECT_EQ(cpuLimitFromCgroupV1("300000\n", "100000\n"), 3);
  EXPECT_EQ(cpuLimitFromCgroupV1("250000", "100000"), 3);
  EXPECT_EQ(cpuLimitFromCgroupV1("abc", "100000"), std::nullopt);
}

TEST(CpuCountTest, FollowsTheAffinityMask) {
  cpu_set_t original;
  ASSERT_EQ(sched_getaffinity(0, sizeof original, &original), 0);
  int before = usableCpuCount();
  EXPECT_GE(before, 1);
  EXPECT_LE(before, CPU_COUNT(&original));
  // Pinned to one CPU (as `taskset -c N` does), the process can use one.
  int first = 0;
  while (!CPU_ISSET(first, &original)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
  EXPECT_EQ(usableCpuCount(), 1);
  ASSERT_EQ(sched_setaffinity(0, sizeof original, &original), 0);
  EXPECT_EQ(usableCpuCount(), before);
}

}  // namespace
}  // namespace talon
