// Cost of a cron next-run computation: each iteration chains 10,000 nextAfter calls (each run's answer is
// the next call's start), so items_per_second is next runs per second. Sparse expressions ("0 0 29 2 *",
// "0 0 13 * +FRI") show that the search skips by field rather than walking minutes.
//
//   talon_bench --benchmark_filter=CronNextAfter
#include <benchmark/benchmark.h>

#include <stdexcept>

#include "gateway/automation/cron_schedule.h"

namespace talon::gateway::automation {
namespace {

constexpr int kRuns = 10'000;

void BM_CronNextAfter(benchmark::State& state, const char* expr, const char* tz) {
  auto parsed = CronExpression::parse(expr);
  if (!parsed) throw std::runtime_error(parsed.error().toString());
  for (auto _ : state) {
    int64_t t = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
    for (int i = 0; i < kRuns; ++i) {
      auto next = parsed->nextAfter(t, tz);
      if (!next || !*next) {
        t = 1'767'225'600'000;  // an expression that ran out of matches starts over
        continue;
      }
      t = **next;
    }
    benchmark::DoNotOptimize(t);
  }
  state.SetItemsProcessed(state.iterations() * kRuns);
}

BENCHMARK_CAPTURE(BM_CronNextAfter, every_minute_utc, "* * * * *", "UTC")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_CronNextAfter, weekdays_9am_new_york, "0 9 * * MON-FRI", "America/New_York")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_CronNextAfter, last_friday_lord_howe, "30 2 * * FRI#L", "Australia/Lord_Howe")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_CronNextAfter, friday_13th, "0 0 13 * +FRI", "Europe/Berlin")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_CronNextAfter, leap_day, "0 0 29 2 *", "UTC")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_CronNextAfter, never_feb_30, "0 0 30 2 *", "UTC")->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace talon::gateway::automation
