#include "gateway/health/provider_health.h"

#include <gtest/gtest.h>

namespace talon::gateway::health {
namespace {

class ProviderHealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto h = ProviderHealth::create(metrics_, records_, clock_, {});
    ASSERT_TRUE(h) << h.error().toString();
    health_ = std::move(*h);
  }
  void call(bool ok, std::string reason = "", int64_t ms = 100, std::string provider = "openai") {
    health_->record(ModelCallRecord{std::move(provider), "gpt-4o", ok, std::move(reason), ms});
  }
  const HealthRecord* record(std::string_view component) {
    snapshot_ = records_.snapshot();
    for (const auto& r : snapshot_.records) {
      if (r.component == component) return &r;
    }
    return nullptr;
  }

  std::shared_ptr<SimulatedClock> clock_ = std::make_shared<SimulatedClock>();
  MetricsRegistry metrics_;
  HealthRegistry records_{clock_};
  std::unique_ptr<ProviderHealth> health_;
  HealthSnapshot snapshot_;
};

TEST_F(ProviderHealthTest, ErrorRateAndLatencyPercentilesPerProviderAndModel) {
  for (int i = 1; i <= 20; ++i) call(true, "", i * 10);  // 10 .. 200 ms
  call(false, "server_error", 1000);
  auto s = health_->snapshot();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].calls, 21);
  EXPECT_EQ(s[0].errors, 1);
  EXPECT_EQ(s[0].p50Ms, 110);
  EXPECT_EQ(s[0].p95Ms, 200);
  const HealthRecord* r = record("provider:openai");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->dimension, "gpt-4o");
  EXPECT_EQ(r->state, HealthState::kOk);
  EXPECT_NE(r->detail.find("p95 200 ms"), std::string::npos) << r->detail;
  std::string text = metrics_.render();
  EXPECT_NE(text.find("talon_model_calls_total{provider=\"openai\",model=\"gpt-4o\",outcome=\"ok\"} 20"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("outcome=\"server_error\"} 1"), std::string::npos);
  EXPECT_NE(text.find("talon_model_errors_total{provider=\"openai\",kind=\"server_error\"} 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("talon_model_request_duration_seconds_count{provider=\"openai\",model=\"gpt-4o\"} 21\n"),
            std::string::npos)
      << text;
}

TEST_F(ProviderHealthTest, RepeatedFailuresStartACooldownThatGrowsAndASuccessEnds) {
  call(false, "server_error");
  call(false, "server_error");
  EXPECT_FALSE(health_->inCooldown("openai", "gpt-4o"));
  call(false, "server_error");
  EXPECT_TRUE(health_->inCooldown("openai", "gpt-4o"));
  EXPECT_EQ(record("provider:openai")->state, HealthState::kFailed);
  EXPECT_FALSE(health_->inCooldown("other", "gpt-4o"));
  clock_->advance(30'000);  // first cooldown: 30 s
  EXPECT_FALSE(health_->inCooldown("openai", "gpt-4o"));
  for (int i = 0; i < 3; ++i) call(false, "timeout");
  clock_->advance(59'999);  // second: 1 min
  EXPECT_TRUE(health_->inCooldown("openai", "gpt-4o"));
  clock_->advance(1);
  EXPECT_FALSE(health_->inCooldown("openai", "gpt-4o"));
  call(true);
  for (int i = 0; i < 3; ++i) call(false, "timeout");
  clock_->advance(30'000);  // a success reset the steps: 30 s again
  EXPECT_FALSE(health_->inCooldown("openai", "gpt-4o"));
}

TEST_F(ProviderHealthTest, BillingDisablesForTenMinutesAtOnceAndFormatErrorsNeverCoolDown) {
  call(false, "billing");
  EXPECT_TRUE(health_->inCooldown("openai", "gpt-4o"));
  clock_->advance(599'999);
  EXPECT_TRUE(health_->inCooldown("openai", "gpt-4o"));
  clock_->advance(1);
  EXPECT_FALSE(health_->inCooldown("openai", "gpt-4o"));
  for (int i = 0; i < 5; ++i) call(false, "format", 10, "local");
  EXPECT_FALSE(health_->inCooldown("local", "gpt-4o"));
  EXPECT_EQ(record("provider:local")->state, HealthState::kDegraded);
}

}  // namespace
}  // namespace talon::gateway::health
