// Synthetic probes in simulated time: a provider the test answers (tests/support/fake_model_provider.h),
// a scheduler view the test sets, deterministic executors and a SimulatedClock.
#include "gateway/health/synthetic_probes.h"

#include <gtest/gtest.h>

#include "gateway/health/alert_router.h"
#include "support/fake_model_provider.h"
#include "support/manual_executors.h"

namespace talon::gateway::health {
namespace {

config::SyntheticProbeConfig providerProbe(std::string name = "llm") {
  config::SyntheticProbeConfig c;
  c.name = std::move(name);
  c.kind = "provider";
  c.model = "fake/tiny";
  c.intervalSeconds = 60;
  c.timeoutSeconds = 10;
  return c;
}

config::SyntheticProbeConfig cronProbe() {
  config::SyntheticProbeConfig c;
  c.name = "scheduler";
  c.kind = "cron";
  c.intervalSeconds = 60;
  c.timeoutSeconds = 30;
  return c;
}

class SyntheticProbesTest : public ::testing::Test {
 protected:
  Result<std::unique_ptr<SyntheticProbes>> make(std::vector<config::SyntheticProbeConfig> probes,
                                                AlertRouter* alerts = nullptr) {
    SyntheticProbesDeps deps;
    deps.alerts = alerts;
    deps.probes = std::move(probes);
    deps.providers = {{"fake", provider_}};
    deps.cron = [this] { return cron_; };
    deps.health = &health_;
    deps.metrics = &metrics_;
    deps.executors = ex_.executors();
    deps.clock = clock_;
    return SyntheticProbes::create(std::move(deps));
  }

  std::optional<HealthRecord> record(const std::string& component) {
    for (const auto& r : health_.snapshot().records) {
      if (r.component == component && r.dimension == "result") return r;
    }
    return std::nullopt;
  }

  std::string scrape() { return metrics_.render(); }

  std::shared_ptr<SimulatedClock> clock_ = std::make_shared<SimulatedClock>();
  testing::ManualExecutors ex_{clock_};
  std::shared_ptr<talon::testing::FakeModelProvider> provider_ = std::make_shared<talon::testing::FakeModelProvider>();
  HealthRegistry health_{clock_};
  MetricsRegistry metrics_;
  CronProbeView cron_{true, 0};
};

TEST_F(SyntheticProbesTest, AProviderProbeSendsASmallCompletionAndRecordsLatencyAndOutcome) {
  auto probes = make({providerProbe()});
  ASSERT_TRUE(probes) << probes.error().toString();
  EXPECT_EQ(record("probe:llm")->state, HealthState::kUnknown);
  (*probes)->start();
  ex_.runReady();
  ASSERT_EQ(provider_->count(), 1u);
  const auto& request = provider_->call(0)->request;
  EXPECT_EQ(request.model, "tiny");
  EXPECT_EQ(request.maxTokens, 16);
  EXPECT_EQ(request.timeout, std::chrono::seconds(10));
  ASSERT_EQ(request.messages.size(), 1u);
  EXPECT_EQ(request.messages[0].role, "user");
  clock_->advance(420);
  provider_->call(0)->answer("OK");
  ex_.runReady();
  auto ok = record("probe:llm");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->state, HealthState::kOk);
  EXPECT_NE(ok->detail.find("420 ms"), std::string::npos) << ok->detail;
  EXPECT_FALSE(ok->critical);
  EXPECT_NE(scrape().find("talon_probe_success{probe=\"llm\"} 1"), std::string::npos) << scrape();
  EXPECT_NE(scrape().find("talon_probe_duration_seconds{probe=\"llm\"} 0.42"), std::string::npos) << scrape();

  // The next run comes at the interval; a failure turns the record red with the error.
  ex_.advance(60'000);
  ASSERT_EQ(provider_->count(), 2u);
  provider_->call(1)->complete(fail(Error(ErrorCode::kUnauthenticated, "401 invalid api key")));
  ex_.runReady();
  auto failed = record("probe:llm");
  EXPECT_EQ(failed->state, HealthState::kFailed);
  EXPECT_NE(failed->detail.find("401 invalid api key"), std::string::npos) << failed->detail;
  EXPECT_NE(scrape().find("talon_probe_runs_total{probe=\"llm\",outcome=\"failed\"} 1"), std::string::npos);
  EXPECT_NE(scrape().find("talon_probe_runs_total{probe=\"llm\",outcome=\"ok\"} 1"), std::string::npos);
  (*probes)->stop();
}

TEST_F(SyntheticProbesTest, AProbeStillRunningIsNotStartedTwice) {
  auto probes = make({providerProbe()});
  ASSERT_TRUE(probes);
  (*probes)->start();
  ex_.runReady();
  ASSERT_EQ(provider_->count(), 1u);
  ex_.advance(60'000);  // the provider never answered: the slot passes without a second call
  EXPECT_EQ(provider_->count(), 1u);
  EXPECT_FALSE((*probes)->runNow("llm"));
  provider_->call(0)->answer("OK");
  ex_.runReady();
  EXPECT_TRUE((*probes)->runNow("llm"));
  ex_.runReady();
  EXPECT_EQ(provider_->count(), 2u);
  EXPECT_FALSE((*probes)->runNow("no-such-probe"));
  provider_->call(1)->answer("OK");
  ex_.runReady();
  (*probes)->stop();
}

TEST_F(SyntheticProbesTest, ACronProbeFailsWhenTheSchedulerIsStoppedOrLate) {
  auto probes = make({cronProbe()});
  ASSERT_TRUE(probes);
  cron_ = {true, clock_->nowMs() + 5'000};
  (*probes)->start();
  ex_.runReady();
  EXPECT_EQ(record("probe:scheduler")->state, HealthState::kOk);

  // 10 s late is within the 30 s allowed; 31 s late is not.
  cron_ = {true, clock_->nowMs() + 60'000 - 10'000};
  ex_.advance(60'000);
  EXPECT_EQ(record("probe:scheduler")->state, HealthState::kOk);
  cron_ = {true, clock_->nowMs() + 60'000 - 31'000};
  ex_.advance(60'000);
  auto late = record("probe:scheduler");
  EXPECT_EQ(late->state, HealthState::kFailed);
  EXPECT_NE(late->detail.find("31 s overdue"), std::string::npos) << late->detail;

  cron_ = {false, 0};
  ex_.advance(60'000);
  EXPECT_NE(record("probe:scheduler")->detail.find("not running"), std::string::npos);
  (*probes)->stop();
}

TEST_F(SyntheticProbesTest, AProbeThatKeepsFailingIsAnIncidentUntilItSucceeds) {
  auto router =
      AlertRouter::create(AlertRouterDeps{{}, nullptr, nullptr, health_, metrics_, nullptr, ex_.executors(), clock_});
  ASSERT_TRUE(router) << router.error().toString();
  auto probe = cronProbe();
  probe.alertAfter = 3;
  auto probes = make({probe}, router->get());
  ASSERT_TRUE(probes) << probes.error().toString();
  cron_ = {false, 0};
  (*probes)->start();
  ex_.runReady();
  ex_.advance(60'000);
  EXPECT_TRUE((*router)->openIncidents().empty()) << "two failures are below alertAfter (3)";
  ex_.advance(60'000);
  EXPECT_EQ((*router)->openIncidents(), std::vector<std::string>{"probe:scheduler"});
  cron_ = {true, clock_->nowMs() + 60'000 + 5'000};
  ex_.advance(60'000);
  EXPECT_EQ(record("probe:scheduler")->state, HealthState::kOk);
  EXPECT_TRUE((*router)->openIncidents().empty()) << "a success resolves it";
  (*probes)->stop();
}

TEST_F(SyntheticProbesTest, AProviderThatIsNotConfiguredIsAConfigError) {
  auto c = providerProbe();
  c.model = "elsewhere/model";
  auto probes = make({c});
  ASSERT_FALSE(probes);
  EXPECT_EQ(probes.error().code, ErrorCode::kConfigInvalid);
  EXPECT_NE(probes.error().message.find("gateway.probes[0].model"), std::string::npos);
}

TEST_F(SyntheticProbesTest, StopCancelsTheScheduleAndDropsLateAnswers) {
  auto probes = make({providerProbe()});
  ASSERT_TRUE(probes);
  (*probes)->start();
  ex_.runReady();
  (*probes)->stop();
  provider_->call(0)->answer("OK");
  ex_.runReady();
  EXPECT_EQ(record("probe:llm")->state, HealthState::kUnknown);
  ex_.advance(120'000);
  EXPECT_EQ(provider_->count(), 1u);
}

}  // namespace
}  // namespace talon::gateway::health
