#include "gateway/health/process_metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace talon::gateway::health {
namespace {

// A /proc/<pid>/stat line (proc(5)) whose command holds a space and a parenthesis, as a process may name
// itself: fields are counted after the last ')'. utime 250, stime 150 ticks; starttime 1000 ticks;
// vsize 123456789 bytes; rss 2000 pages.
constexpr const char* kStat =
    "4242 (talon (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 150 0 0 20 0 9 0 1000 123456789 2000 "
    "18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 17 1 0 0 0 0 0\n";

TEST(ProcessMetrics, ParsesProcStat) {
  auto s = parseProcStat(kStat, 100, 4096, int64_t{1'700'000'000});
  ASSERT_TRUE(s.cpuSeconds);
  EXPECT_DOUBLE_EQ(*s.cpuSeconds, 4.0);
  ASSERT_TRUE(s.startTimeSeconds);
  EXPECT_DOUBLE_EQ(*s.startTimeSeconds, 1'700'000'010.0);
  ASSERT_TRUE(s.virtualBytes);
  EXPECT_DOUBLE_EQ(*s.virtualBytes, 123456789.0);
  ASSERT_TRUE(s.residentBytes);
  EXPECT_DOUBLE_EQ(*s.residentBytes, 2000.0 * 4096);
}

TEST(ProcessMetrics, UnreadableFieldsStayUnset) {
  auto s = parseProcStat("garbage", 100, 4096, int64_t{0});
  EXPECT_FALSE(s.cpuSeconds);
  EXPECT_FALSE(s.residentBytes);
  auto noBoot = parseProcStat(kStat, 100, 4096, std::nullopt);
  EXPECT_TRUE(noBoot.cpuSeconds);
  EXPECT_FALSE(noBoot.startTimeSeconds);
}

TEST(ProcessMetrics, ThisProcessHasPlausibleValues) {
  auto s = readProcessSample();
  ASSERT_TRUE(s.residentBytes && s.virtualBytes && s.openFds && s.startTimeSeconds && s.cpuSeconds);
  EXPECT_GT(*s.residentBytes, 0);
  EXPECT_GE(*s.virtualBytes, *s.residentBytes);
  EXPECT_GE(*s.openFds, 3);  // stdin, stdout, stderr at least
  EXPECT_GT(*s.startTimeSeconds, 1'500'000'000);
  if (s.maxFds) EXPECT_GE(*s.maxFds, *s.openFds);
}

TEST(ProcessMetrics, RendersTheStandardNamesAndTheCpuCounterOnlyGrows) {
  MetricsRegistry registry;
  auto m = ProcessMetrics::create(registry);
  ASSERT_TRUE(m) << m.error().toString();
  ProcessSample first;
  first.cpuSeconds = 1.5;
  first.residentBytes = 1024;
  first.virtualBytes = 4096;
  first.openFds = 7;
  first.maxFds = 1024;
  first.startTimeSeconds = 1'700'000'000.25;
  (*m)->update(first);
  ProcessSample second;
  second.cpuSeconds = 1.25;  // a smaller reading never takes the counter back
  (*m)->update(second);
  second.cpuSeconds = 2.75;
  (*m)->update(second);
  const std::string text = registry.render();
  for (const char* line : {
           "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 2.75\n",
           "process_resident_memory_bytes 1024\n",
           "process_virtual_memory_bytes 4096\n",
           "process_open_fds 7\n",
           "process_max_fds 1024\n",
           "process_start_time_seconds 1700000000.25\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  }
}

}  // namespace
}  // namespace talon::gateway::health
