// A job's own `escalation` (Talon-only) over cron.escalation: read strictly, merged by cron.update, shown
// by cron.get, checked against the global numbers, and acted on by the scheduler (the job's backoff and
// disable threshold, in simulated time); and a systemEvent job handing its text to the agent's heartbeat.
#include <gtest/gtest.h>

#include "gateway/automation/cron_job.h"
#include "gateway/automation/cron_service.h"
#include "gateway/automation/heartbeat_service.h"
#include "support/gateway_components.h"
#include "support/json_text.h"

namespace talon::gateway::automation {
namespace {

using testing::jsonObject;
using testing::kHourMs;
using testing::kMinuteMs;

constexpr int64_t kNow = 1'700'000'000'000;

json::object job(std::string_view escalation) {
  return jsonObject(fmt::format(R"({{"name":"flaky","schedule":{{"kind":"every","everyMs":3600000}},
      "sessionTarget":"isolated","wakeMode":"now","payload":{{"kind":"agentTurn","message":"check"}}{}}})",
                                escalation.empty() ? "" : ",\"escalation\":" + std::string(escalation)));
}

TEST(CronJobEscalation, ReadsTheOverrideStrictly) {
  auto spec = parseCronJobSpec(job(R"({"retryBackoff":{"initialMs":10000,"maxMs":120000},"disableAfter":30})"), kNow);
  ASSERT_TRUE(spec) << spec.error().toString();
  EXPECT_EQ(spec->escalation.retryInitialMs, 10'000);
  EXPECT_EQ(spec->escalation.retryMaxMs, 120'000);
  EXPECT_EQ(spec->escalation.disableAfter, 30);
  EXPECT_TRUE(spec->json.contains("escalation"));

  auto none = parseCronJobSpec(job(""), kNow);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->escalation.empty());
  EXPECT_FALSE(none->json.contains("escalation")) << "OpenClaw's jobs stay as they were";

  auto message = [](std::string_view escalation) {
    auto s = parseCronJobSpec(job(escalation), kNow);
    return s ? std::string("ok") : s.error().message;
  };
  EXPECT_EQ(message(R"({"retryBackoff":{"initialMs":500}})"), "at /escalation/retryBackoff/initialMs: must be >= 1000");
  EXPECT_EQ(message(R"({"disableAfter":-1})"), "at /escalation/disableAfter: must be >= 0");
  EXPECT_EQ(message(R"({"retryBackoff":{"initialMs":60000,"maxMs":30000}})"),
            "at /escalation/retryBackoff/maxMs: must be >= initialMs (60000)");
  EXPECT_EQ(message(R"({"alertAfter":3})"), "at /escalation: unexpected property 'alertAfter'");
  EXPECT_EQ(message(R"({"retryBackoff":{"factor":3}})"), "at /escalation/retryBackoff: unexpected property 'factor'");
  EXPECT_EQ(message("true"), "at /escalation: must be object");
}

TEST(CronJobEscalation, MergesOverTheGlobalNumbers) {
  config::CronEscalationConfig global;  // 1 min .. 60 min, disable after 10
  CronJobEscalation e;
  e.disableAfter = 3;
  auto merged = e.over(global);
  ASSERT_TRUE(merged);
  EXPECT_EQ(merged->retryInitialMs, 60'000);
  EXPECT_EQ(merged->retryMaxMs, 3'600'000);
  EXPECT_EQ(merged->disableAfter, 3);

  CronJobEscalation tooLow;
  tooLow.retryMaxMs = 30'000;  // below the inherited initialMs
  auto bad = tooLow.over(global);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("from cron.escalation"), std::string::npos) << bad.error().message;
}

TEST(CronJobEscalation, PatchMergesAndNullRemoves) {
  json::object stored = job(R"({"retryBackoff":{"initialMs":10000,"maxMs":120000},"disableAfter":30})");
  auto merged = applyCronJobPatch(stored, jsonObject(R"({"escalation":{"retryBackoff":{"maxMs":60000}}})"));
  ASSERT_TRUE(merged) << merged.error().toString();
  auto spec = parseCronJobSpec(*merged, kNow);
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->escalation.retryInitialMs, 10'000) << "retryBackoff merges one level down";
  EXPECT_EQ(spec->escalation.retryMaxMs, 60'000);
  EXPECT_EQ(spec->escalation.disableAfter, 30);

  auto field = applyCronJobPatch(*merged, jsonObject(R"({"escalation":{"disableAfter":null}})"));
  ASSERT_TRUE(field);
  EXPECT_FALSE(parseCronJobSpec(*field, kNow)->escalation.disableAfter);
  auto removed = applyCronJobPatch(*merged, jsonObject(R"({"escalation":null})"));
  ASSERT_TRUE(removed);
  EXPECT_FALSE(removed->contains("escalation"));
  EXPECT_FALSE(applyCronJobPatch(*merged, jsonObject(R"({"escalation":5})")));
}

class CronJobEscalationServiceTest : public ::testing::Test {
 protected:
  std::unique_ptr<CronService> makeService(HeartbeatService* heartbeat = nullptr) {
    CronServiceDeps deps{gw_.clock,
                         gw_.executors.executors(),
                         gw_.store.get(),
                         gw_.runner.get(),
                         nullptr,
                         nullptr,
                         &gw_.healthRecords,
                         &gw_.metrics,
                         &gw_.bus,
                         &gw_.audit,
                         {},
                         "main"};
    deps.heartbeat = heartbeat;
    auto service = CronService::create(std::move(deps));
    EXPECT_TRUE(service) << service.error().toString();
    return service ? std::move(*service) : nullptr;
  }

  void failRun(CronService& cron, std::size_t i) {
    ASSERT_TRUE(gw_.waitCalls(i + 1)) << "no model call " << i;
    gw_.provider->call(i)->complete(talon::fail(ErrorCode::kUpstream, "the model is down"));
    ASSERT_TRUE(gw_.executors.runUntil([&] { return cron.activeRuns() == 0; }));
  }

  talon::testing::GatewayComponents gw_{talon::testing::GatewayComponentsOptions::forAutomations()};
};

TEST_F(CronJobEscalationServiceTest, TheJobsOwnBackoffAndDisableThresholdApply) {
  auto cron = makeService();
  ASSERT_TRUE(cron && cron->start());
  auto added = cron->add(job(R"({"retryBackoff":{"initialMs":10000,"maxMs":20000},"disableAfter":3})"), {"test"});
  ASSERT_TRUE(added) << added.error().toString();
  const std::string id(added->at("id").as_string());
  EXPECT_EQ(cron->get(id)->at("escalation").at("disableAfter").as_int64(), 3) << "cron.get shows the override";

  gw_.executors.advance(kHourMs);
  failRun(*cron, 0);
  EXPECT_EQ(cron->row(id)->state.nextRunAtMs, gw_.clock->nowMs() + 10'000) << "the job's initialMs, not 1 min";
  gw_.executors.advance(10'000);
  failRun(*cron, 1);
  EXPECT_EQ(cron->row(id)->state.nextRunAtMs, gw_.clock->nowMs() + 20'000);
  gw_.executors.advance(20'000);
  failRun(*cron, 2);
  EXPECT_FALSE(cron->row(id)->enabled) << "disabled after the job's 3, not the global 10";
  EXPECT_EQ(cron->row(id)->state.autoDisabledReason, "consecutive-failures");

  // An override that does not fit the global numbers is refused at add and update.
  auto bad = cron->add(job(R"({"retryBackoff":{"maxMs":30000}})"), {"test"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(
      cron->update(id, jsonObject(R"({"escalation":{"retryBackoff":{"initialMs":10000,"maxMs":5000}}})"), {"test"}));
}

TEST_F(CronJobEscalationServiceTest, SystemEventsWaitForTheHeartbeatOrWakeIt) {
  config::HeartbeatConfig hb;
  hb.everyMs = 6 * kHourMs;
  hb.target = "none";
  hb.prompt = "Beat.";
  auto heartbeat = HeartbeatService::create(HeartbeatServiceDeps{gw_.clock,
                                                                 gw_.executors.executors(),
                                                                 gw_.runner.get(),
                                                                 nullptr,
                                                                 nullptr,
                                                                 &gw_.healthRecords,
                                                                 &gw_.metrics,
                                                                 &gw_.bus,
                                                                 &gw_.audit,
                                                                 {{"main", hb, "agents.defaults.heartbeat"}},
                                                                 {},
                                                                 {},
                                                                 0,
                                                                 {}});
  ASSERT_TRUE(heartbeat) << heartbeat.error().toString();
  (*heartbeat)->start();
  auto cron = makeService(heartbeat->get());
  ASSERT_TRUE(cron && cron->start());
  auto later = cron->add(jsonObject(R"({"name":"note","schedule":{"kind":"every","everyMs":3600000},
      "sessionTarget":"main","wakeMode":"next-heartbeat","payload":{"kind":"systemEvent","text":"Standup at 10."}})"),
                         {"test"});
  ASSERT_TRUE(later) << later.error().toString();
  gw_.executors.advance(kHourMs);
  gw_.executors.runReady();
  EXPECT_EQ(gw_.provider->count(), 0u) << "next-heartbeat: queued, no turn of its own";
  EXPECT_EQ((*heartbeat)->status()[0].queuedSystemEvents, 1u);
  auto runs = cron->runs(std::string(later->at("id").as_string()), 10, 0);
  ASSERT_TRUE(runs && runs->runs.size() == 1);
  EXPECT_EQ(runs->runs[0].status, "ok");
  EXPECT_EQ(runs->runs[0].summary, "queued for the next heartbeat");

  auto now = cron->add(jsonObject(R"({"name":"urgent","schedule":{"kind":"every","everyMs":7200000},
      "sessionTarget":"main","wakeMode":"now","payload":{"kind":"systemEvent","text":"The build broke."}})"),
                       {"test"});
  ASSERT_TRUE(now) << now.error().toString();
  gw_.executors.advance(2 * kHourMs);  // both jobs are due: one queues, the other queues and wakes
  ASSERT_TRUE(gw_.waitCalls(1));
  const auto& messages = gw_.provider->call(0)->request.messages;
  ASSERT_FALSE(messages.empty());
  const std::string& text = messages.back().content;
  EXPECT_NE(text.find("System: Standup at 10."), std::string::npos) << text;
  EXPECT_NE(text.find("System: The build broke."), std::string::npos) << text;
  EXPECT_NE(text.find("Beat."), std::string::npos) << text;
}

}  // namespace
}  // namespace talon::gateway::automation
