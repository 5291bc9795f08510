#include "gateway/health/metrics_registry.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace talon::gateway::health {
namespace {

constexpr double kRunBuckets[] = {0.25, 1, 2.5};

/// The way a component declares its metrics: a list beside its code.
constexpr MetricSpec kRunnerMetrics[] = {
    {"talon_agent_runs_total", MetricType::kCounter, "Agent runs finished, by status.", {"status"}},
    {"talon_agent_runs_active", MetricType::kGauge, "Agent runs in progress."},
    {"talon_agent_run_duration_seconds", MetricType::kHistogram, "Agent run wall time.", {}, kRunBuckets},
};

TEST(MetricsRegistry, RendersTheTextFormat) {
  MetricsRegistry registry;
  auto families = registry.add(kRunnerMetrics);
  ASSERT_TRUE(families) << families.error().toString();
  ASSERT_EQ(families->size(), 3u);
  Counter ok = (*families)[0]->counter({"ok"}).value();
  Counter failed = (*families)[0]->counter({"error"}).value();
  Gauge active = (*families)[1]->gauge().value();
  Histogram duration = (*families)[2]->histogram().value();

  ok.inc();
  ok.inc(2);
  failed.inc();
  active.set(3);
  active.add(-1);
  duration.observe(0.125);
  duration.observe(0.25);  // le is inclusive
  duration.observe(2);
  duration.observe(32);

  EXPECT_EQ(registry.render(),
            "# HELP talon_agent_run_duration_seconds Agent run wall time.\n"
            "# TYPE talon_agent_run_duration_seconds histogram\n"
            "talon_agent_run_duration_seconds_bucket{le=\"0.25\"} 2\n"
            "talon_agent_run_duration_seconds_bucket{le=\"1\"} 2\n"
            "talon_agent_run_duration_seconds_bucket{le=\"2.5\"} 3\n"
            "talon_agent_run_duration_seconds_bucket{le=\"+Inf\"} 4\n"
            "talon_agent_run_duration_seconds_sum 34.375\n"
            "talon_agent_run_duration_seconds_count 4\n"
            "# HELP talon_agent_runs_active Agent runs in progress.\n"
            "# TYPE talon_agent_runs_active gauge\n"
            "talon_agent_runs_active 2\n"
            "# HELP talon_agent_runs_total Agent runs finished, by status.\n"
            "# TYPE talon_agent_runs_total counter\n"
            "talon_agent_runs_total{status=\"error\"} 1\n"
            "talon_agent_runs_total{status=\"ok\"} 3\n");
  EXPECT_EQ(ok.value(), 3u);
  EXPECT_EQ(active.value(), 2);
  EXPECT_EQ(duration.count(), 4u);
  EXPECT_EQ(duration.sum(), 34.375);
}

TEST(MetricsRegistry, UnlabelledMetricsRenderAsZeroBeforeUse) {
  constexpr MetricSpec kSpecs[] = {
      {"talon_ws_connections", MetricType::kGauge, "Open WebSocket connections."},
      {"talon_ws_frames_total", MetricType::kCounter, "Frames received."},
      {"talon_rpc_calls_total", MetricType::kCounter, "RPC calls, by method.", {"method"}},  // no child yet
      {"talon_rpc_seconds", MetricType::kHistogram, "RPC latency.", {"method", "outcome"}},
  };
  MetricsRegistry registry;
  ASSERT_TRUE(registry.add(kSpecs));
  EXPECT_EQ(registry.render(),
            "# HELP talon_ws_connections Open WebSocket connections.\n"
            "# TYPE talon_ws_connections gauge\n"
            "talon_ws_connections 0\n"
            "# HELP talon_ws_frames_total Frames received.\n"
            "# TYPE talon_ws_frames_total counter\n"
            "talon_ws_frames_total 0\n");
}

TEST(MetricsRegistry, DefaultBucketsAndSeveralLabels) {
  constexpr MetricSpec kSpecs[] = {
      {"talon_rpc_seconds", MetricType::kHistogram, "RPC latency.", {"method", "outcome"}},
  };
  MetricsRegistry registry;
  auto f = registry.add(kSpecs);
  ASSERT_TRUE(f);
  Histogram h = (*f)[0]->histogram({"health", "ok"}).value();
  h.observe(0.00390625);  // 2^-8 and 2^-7: exact in binary, so the sum is too
  h.observe(0.0078125);
  const std::string text = registry.render();
  EXPECT_NE(text.find("talon_rpc_seconds_bucket{method=\"health\",outcome=\"ok\",le=\"0.005\"} 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("talon_rpc_seconds_bucket{method=\"health\",outcome=\"ok\",le=\"0.01\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("talon_rpc_seconds_bucket{method=\"health\",outcome=\"ok\",le=\"10\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("talon_rpc_seconds_bucket{method=\"health\",outcome=\"ok\",le=\"+Inf\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("talon_rpc_seconds_sum{method=\"health\",outcome=\"ok\"} 0.01171875\n"), std::string::npos);
  EXPECT_NE(text.find("talon_rpc_seconds_count{method=\"health\",outcome=\"ok\"} 2\n"), std::string::npos);
  // 11 default buckets + Inf.
  std::size_t buckets = 0;
  for (std::size_t at = 0; (at = text.find("_bucket{", at)) != std::string::npos; ++at) ++buckets;
  EXPECT_EQ(buckets, 12u);
}

TEST(MetricsRegistry, EscapesHelpAndLabelValues) {
  constexpr MetricSpec kSpecs[] = {
      {"talon_channel_errors_total", MetricType::kCounter, "Errors\\by channel\nsecond line", {"channel"}},
  };
  MetricsRegistry registry;
  auto f = registry.add(kSpecs);
  ASSERT_TRUE(f);
  (*f)[0]->counter({"a\"b\\c\nd"}).value().inc();
  EXPECT_EQ(registry.render(),
            "# HELP talon_channel_errors_total Errors\\\\by channel\\nsecond line\n"
            "# TYPE talon_channel_errors_total counter\n"
            "talon_channel_errors_total{channel=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(MetricsRegistry, SpecialGaugeValues) {
  constexpr MetricSpec kSpecs[] = {
      {"talon_a", MetricType::kGauge, "a"},
      {"talon_b", MetricType::kGauge, "b"},
      {"talon_c", MetricType::kGauge, "c"},
      {"talon_d", MetricType::kGauge, "d"},
  };
  MetricsRegistry registry;
  auto f = registry.add(kSpecs);
  ASSERT_TRUE(f);
  (*f)[0]->gauge().value().set(NAN);
  (*f)[1]->gauge().value().set(INFINITY);
  (*f)[2]->gauge().value().set(-INFINITY);
  (*f)[3]->gauge().value().set(1.5e-7);
  const std::string text = registry.render();
  EXPECT_NE(text.find("talon_a NaN\n"), std::string::npos) << text;
  EXPECT_NE(text.find("talon_b +Inf\n"), std::string::npos);
  EXPECT_NE(text.find("talon_c -Inf\n"), std::string::npos);
  EXPECT_NE(text.find("talon_d 1.5e-07\n"), std::string::npos);
}

TEST(MetricsRegistry, CounterAddsAmountsThatAreNotWhole) {
  constexpr MetricSpec kSpecs[] = {
      {"talon_cpu_seconds_total", MetricType::kCounter, "CPU time."},
      {"talon_whole_total", MetricType::kCounter, "Whole."},
  };
  MetricsRegistry registry;
  auto f = registry.add(kSpecs);
  ASSERT_TRUE(f);
  Counter cpu = (*f)[0]->counter().value();
  cpu.inc(2);
  cpu.add(0.25);
  cpu.add(-1);   // ignored: a counter never goes down
  cpu.add(NAN);  // ignored
  (*f)[1]->counter().value().inc(3);
  EXPECT_EQ(cpu.value(), 2u);
  EXPECT_DOUBLE_EQ(cpu.total(), 2.25);
  const std::string text = registry.render();
  EXPECT_NE(text.find("talon_cpu_seconds_total 2.25\n"), std::string::npos) << text;
  EXPECT_NE(text.find("talon_whole_total 3\n"), std::string::npos) << text;
}

TEST(MetricsRegistry, HistogramNanGoesToInf) {
  constexpr MetricSpec kSpecs[] = {{"talon_h_seconds", MetricType::kHistogram, "h", {}, kRunBuckets}};
  MetricsRegistry registry;
  auto f = registry.add(kSpecs);
  ASSERT_TRUE(f);
  Histogram h = (*f)[0]->histogram().value();
  h.observe(NAN);
  const std::string text = registry.render();
  EXPECT_NE(text.find("talon_h_seconds_bucket{le=\"2.5\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("talon_h_seconds_bucket{le=\"+Inf\"} 1\n"), std::string::npos);
}

TEST(MetricsRegistry, ChildLookupReturnsTheSameSeries) {
  MetricsRegistry registry;
  auto f = registry.add(kRunnerMetrics);
  ASSERT_TRUE(f);
  Counter a = (*f)[0]->counter({"ok"}).value();
  Counter b = (*f)[0]->counter({"ok"}).value();
  a.inc();
  b.inc();
  EXPECT_EQ(a.value(), 2u);
  EXPECT_EQ(registry.find("talon_agent_runs_total"), (*f)[0]);
  EXPECT_EQ(registry.find("talon_nope_total"), nullptr);
}

TEST(MetricsRegistry, WrongTypeOrArityIsAnError) {
  MetricsRegistry registry;
  auto f = registry.add(kRunnerMetrics);
  ASSERT_TRUE(f);
  MetricFamily& runs = *(*f)[0];
  EXPECT_FALSE(runs.counter());                // one label expected
  EXPECT_FALSE(runs.counter({"ok", "more"}));  // too many
  auto gauge = runs.gauge({"ok"});
  ASSERT_FALSE(gauge);
  EXPECT_EQ(gauge.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(gauge.error().message, "metric talon_agent_runs_total is a counter, not a gauge");
  EXPECT_FALSE((*f)[1]->histogram());
  EXPECT_FALSE((*f)[2]->counter());
}

struct BadSpec {
  const char* why;
  MetricSpec spec;
};

constexpr double kUnsorted[] = {1, 0.5};
constexpr double kDuplicateBound[] = {1, 1};
constexpr double kInfBound[] = {1, INFINITY};

TEST(MetricsRegistry, RejectsBadSpecs) {
  const BadSpec bad[] = {
      {"empty name", {"", MetricType::kGauge, "h"}},
      {"upper case", {"talon_Runs_total", MetricType::kCounter, "h"}},
      {"colon", {"talon:runs_total", MetricType::kCounter, "h"}},
      {"leading digit", {"1talon_total", MetricType::kCounter, "h"}},
      {"reserved prefix", {"__talon_total", MetricType::kCounter, "h"}},
      {"no help", {"talon_x_total", MetricType::kCounter, ""}},
      {"counter without _total", {"talon_runs", MetricType::kCounter, "h"}},
      {"gauge with _total", {"talon_runs_total", MetricType::kGauge, "h"}},
      {"bad label", {"talon_x_total", MetricType::kCounter, "h", {"Status"}}},
      {"reserved label", {"talon_x_total", MetricType::kCounter, "h", {"__name"}}},
      {"duplicate label", {"talon_x_total", MetricType::kCounter, "h", {"a", "a"}}},
      {"gap in labels", {"talon_x_total", MetricType::kCounter, "h", {"a", "", "b"}}},
      {"le on a histogram", {"talon_x_seconds", MetricType::kHistogram, "h", {"le"}}},
      {"buckets on a gauge", {"talon_x", MetricType::kGauge, "h", {}, kRunBuckets}},
      {"unsorted buckets", {"talon_x_seconds", MetricType::kHistogram, "h", {}, kUnsorted}},
      {"duplicate bound", {"talon_x_seconds", MetricType::kHistogram, "h", {}, kDuplicateBound}},
      {"infinite bound", {"talon_x_seconds", MetricType::kHistogram, "h", {}, kInfBound}},
  };
  for (const BadSpec& b : bad) {
    MetricsRegistry registry;
    auto r = registry.add(std::span<const MetricSpec>(&b.spec, 1));
    ASSERT_FALSE(r) << b.why;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << b.why;
    EXPECT_EQ(registry.render(), "") << b.why;
  }
}

TEST(MetricsRegistry, DuplicateNamesAndAllOrNothing) {
  MetricsRegistry registry;
  ASSERT_TRUE(registry.add(kRunnerMetrics));
  // Again: every name is taken.
  EXPECT_FALSE(registry.add(kRunnerMetrics));
  // A histogram's series names are taken too, and a failed add registers nothing of its list.
  constexpr MetricSpec kClash[] = {
      {"talon_fresh_total", MetricType::kCounter, "fresh"},
      {"talon_agent_run_duration_seconds_count", MetricType::kGauge, "clashes with the histogram's _count"},
  };
  auto r = registry.add(kClash);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("already registered"), std::string::npos) << r.error().message;
  EXPECT_EQ(registry.find("talon_fresh_total"), nullptr);
  // ... nor takes its names: the fresh counter alone registers afterwards.
  ASSERT_TRUE(registry.add(std::span<const MetricSpec>(kClash, 1)));
  EXPECT_NE(registry.find("talon_fresh_total"), nullptr);
  // Within one list.
  constexpr MetricSpec kTwice[] = {
      {"talon_twice_total", MetricType::kCounter, "a"},
      {"talon_twice_total", MetricType::kCounter, "b"},
  };
  MetricsRegistry other;
  EXPECT_FALSE(other.add(kTwice));
  EXPECT_EQ(other.find("talon_twice_total"), nullptr);
}

TEST(MetricsRegistry, ConcurrentIncrementsAreAllCounted) {
  MetricsRegistry registry;
  auto f = registry.add(kRunnerMetrics);
  ASSERT_TRUE(f);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Each thread looks its child up once, as components do.
      Counter c = (*f)[0]->counter({t % 2 ? "ok" : "error"}).value();
      Histogram h = (*f)[2]->histogram().value();
      Gauge g = (*f)[1]->gauge().value();
      for (int i = 0; i < kPerThread; ++i) {
        c.inc();
        h.observe(1);
        g.add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ((*f)[0]->counter({"ok"}).value().value() + (*f)[0]->counter({"error"}).value().value(),
            uint64_t{kThreads * kPerThread});
  EXPECT_EQ((*f)[2]->histogram().value().count(), uint64_t{kThreads * kPerThread});
  EXPECT_EQ((*f)[1]->gauge().value().value(), double{kThreads * kPerThread});
}

/// Runs `promtool check metrics` (Debian's prometheus package) over the rendered text: the exposition
/// format parser and the Prometheus naming lint.
TEST(MetricsRegistry, PromtoolAcceptsTheOutput) {
  const std::filesystem::path promtool = "/usr/bin/promtool";
  if (!std::filesystem::exists(promtool)) GTEST_SKIP() << "promtool not installed (apt-get install prometheus)";
  MetricsRegistry registry;
  auto f = registry.add(kRunnerMetrics);
  ASSERT_TRUE(f);
  constexpr MetricSpec kMore[] = {
      {"talon_rpc_request_duration_seconds", MetricType::kHistogram, "RPC latency.", {"method", "outcome"}},
      {"talon_process_resident_memory_bytes", MetricType::kGauge, "Resident memory."},
      {"talon_channel_messages_received_total", MetricType::kCounter, "Inbound messages.", {"channel"}},
  };
  auto more = registry.add(kMore);
  ASSERT_TRUE(more);
  (*f)[0]->counter({"ok"}).value().inc(5);
  (*f)[0]->counter({"we\"ird\\va\nlue"}).value().inc();
  (*f)[2]->histogram().value().observe(0.3);
  (*more)[0]->histogram({"health", "ok"}).value().observe(0.0004);
  (*more)[1]->gauge().value().set(14.5e6);
  (*more)[2]->counter({"telegram"}).value().inc();

  const auto dir = std::filesystem::temp_directory_path() / ("talon-metrics-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto input = dir / "metrics.txt";
  const auto output = dir / "promtool.out";
  {
    std::ofstream out(input);
    out << registry.render();
  }
  const std::string cmd = promtool.string() + " check metrics < " + input.string() + " > " + output.string() + " 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream in(output);
  const std::string report((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove_all(dir);
  EXPECT_EQ(rc, 0) << report;
  EXPECT_EQ(report, "") << report;
}

}  // namespace
}  // namespace talon::gateway::health
