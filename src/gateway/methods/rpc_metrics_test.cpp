#include "gateway/methods/rpc_metrics.h"

#include <gtest/gtest.h>

#include "gateway/health/metrics_registry.h"

namespace talon::gateway::methods {
namespace {

class CountingResponder final : public RpcResponder {
 public:
  void respondOk(std::string_view id, std::string_view) override { answers.push_back(std::string(id) + " ok"); }
  void respondError(std::string_view id, const Error&, std::optional<std::string_view>) override {
    answers.push_back(std::string(id) + " error");
  }
  void subscribeSession(const std::string& key) override { sessions.push_back(key); }
  std::vector<std::string> answers;
  std::vector<std::string> sessions;
};

class RpcMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(registry_.add({"health", protocol::Scope::kRead, {}, [](const MethodCall& c) { c.ok("{}"); }}));
    ASSERT_TRUE(registry_.add({"status", protocol::Scope::kRead, {}, [](const MethodCall& c) {
                                 c.error(Error(ErrorCode::kUnavailable, "down", "down"));
                               }}));
    auto m = RpcMetrics::create(metrics_, registry_, clock_);
    ASSERT_TRUE(m) << m.error().toString();
    rpc_ = std::move(*m);
  }

  bool has(const std::string& line) const { return metrics_.render().find(line + "\n") != std::string::npos; }

  health::MetricsRegistry metrics_;
  MethodRegistry registry_;
  std::shared_ptr<SimulatedClock> clock_ = std::make_shared<SimulatedClock>();
  RpcMetricsPtr rpc_;
};

TEST_F(RpcMetricsTest, EveryRegisteredMethodAndUnknownStartAtZero) {
  for (const char* method : {"health", "status", "unknown"}) {
    for (const char* outcome : {"ok", "error", "denied"}) {
      EXPECT_TRUE(has(std::string("talon_rpc_requests_total{method=\"") + method + "\",outcome=\"" + outcome + "\"} 0"))
          << method << " " << outcome << "\n"
          << metrics_.render();
    }
    EXPECT_TRUE(has(std::string("talon_rpc_duration_seconds_count{method=\"") + method + "\"} 0"));
  }
}

TEST_F(RpcMetricsTest, CountsTheFirstAnswerAndTimesItOnTheInjectedClock) {
  auto rec = std::make_shared<CountingResponder>();
  const auto* health = registry_.find("health");
  auto reply = rpc_->track(rpc_->series(health), rec, rpc_->now());
  clock_->advance(250);
  protocol::RequestFrame f{"1", "health", nullptr, std::nullopt, std::nullopt};
  MethodRegistry::dispatch(*health, f, reply);
  reply->respondOk("1", "{}");  // a second answer (agent's final res) is forwarded, not counted
  reply->subscribeSession("agent:main:main");
  EXPECT_EQ(rec->answers, (std::vector<std::string>{"1 ok", "1 ok"}));
  EXPECT_EQ(rec->sessions, (std::vector<std::string>{"agent:main:main"}));
  EXPECT_TRUE(has("talon_rpc_requests_total{method=\"health\",outcome=\"ok\"} 1")) << metrics_.render();
  EXPECT_TRUE(has("talon_rpc_duration_seconds_bucket{method=\"health\",le=\"0.1\"} 0"));
  EXPECT_TRUE(has("talon_rpc_duration_seconds_bucket{method=\"health\",le=\"0.25\"} 1"));
  EXPECT_TRUE(has("talon_rpc_duration_seconds_sum{method=\"health\"} 0.25"));

  auto failing = rpc_->track(rpc_->series(registry_.find("status")), rec, rpc_->now());
  MethodRegistry::dispatch(*registry_.find("status"), protocol::RequestFrame{"2", "status", nullptr, {}, {}}, failing);
  EXPECT_TRUE(has("talon_rpc_requests_total{method=\"status\",outcome=\"error\"} 1")) << metrics_.render();
  EXPECT_TRUE(has("talon_rpc_requests_total{method=\"status\",outcome=\"ok\"} 0"));
}

TEST_F(RpcMetricsTest, UnknownAndDeniedRequestsKeepTheLabelsBounded) {
  rpc_->denied(nullptr);                   // a method Talon does not implement
  rpc_->denied(registry_.find("status"));  // a missing scope
  EXPECT_TRUE(has("talon_rpc_requests_total{method=\"unknown\",outcome=\"denied\"} 1")) << metrics_.render();
  EXPECT_TRUE(has("talon_rpc_requests_total{method=\"status\",outcome=\"denied\"} 1"));
  // A definition registered after create() counts as unknown, never as a new label value.
  MethodDefinition late{"sessions.list", protocol::Scope::kRead, {}, [](const MethodCall& c) { c.ok("{}"); }};
  EXPECT_EQ(&rpc_->series(&late), &rpc_->series(nullptr));
  EXPECT_EQ(metrics_.render().find("sessions.list"), std::string::npos);
}

TEST(MethodDispatch, CarriesAValidTraceparentAndIgnoresAMalformedOne) {
  MethodRegistry r;
  std::optional<protocol::TraceContext> seen;
  ASSERT_TRUE(r.add({"health", protocol::Scope::kRead, {}, [&](const MethodCall& c) {
                       seen = c.trace;
                       c.ok("{}");
                     }}));
  auto rec = std::make_shared<CountingResponder>();
  protocol::RequestFrame f{"1", "health", nullptr, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", {}};
  MethodRegistry::dispatch(*r.find("health"), f, rec);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
  f.traceparent = "not-a-traceparent";
  MethodRegistry::dispatch(*r.find("health"), f, rec);
  EXPECT_FALSE(seen);
  EXPECT_EQ(rec->answers, (std::vector<std::string>{"1 ok", "1 ok"}));  // never an error
}

}  // namespace
}  // namespace talon::gateway::methods
