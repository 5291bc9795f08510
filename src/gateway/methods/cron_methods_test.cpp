// The cron.* methods over real components and a CronService (tests/support/method_harness.h): OpenClaw's
// params and answers (paging fields, CronJobSchema, CronRunLogEntrySchema, run results, not-found details),
// the kinds Talon refuses as not supported yet, and the audit records of changes.
#include <gtest/gtest.h>

#include "gateway/automation/cron_service.h"
#include "gateway/methods/builtin_methods.h"
#include "support/json_text.h"
#include "support/method_harness.h"

namespace talon::gateway::methods {
namespace {

using testing::jsonValue;

constexpr std::string_view kAdd = R"({"name":"digest","schedule":{"kind":"every","everyMs":3600000},
  "sessionTarget":"isolated","wakeMode":"now","payload":{"kind":"agentTurn","message":"summarize the day"},
  "delivery":{"mode":"none"}})";

class CronMethodsTest : public ::testing::Test {
 protected:
  /// The service, before the methods are registered (they capture services().cron).
  bool wire() {
    auto cron = automation::CronService::create(automation::CronServiceDeps{gw_.clock,
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
                                                                            "main"});
    EXPECT_TRUE(cron) << cron.error().toString();
    if (!cron) return false;
    gw_.cron = std::move(*cron);
    return static_cast<bool>(gw_.cron->start());
  }

  std::string addJob(std::string_view text = kAdd) {
    auto answer = harness_.call("cron.add", jsonValue(text));
    EXPECT_TRUE(answer.ok) << (answer.error ? answer.error->toString() : "");
    return answer.ok ? std::string(answer.payload.at("id").as_string()) : std::string();
  }

  talon::testing::GatewayComponents gw_;
  bool wired_ = wire();
  talon::testing::MethodHarness harness_{gw_};
};

TEST_F(CronMethodsTest, AddAnswersTheJobAsOpenClawsSchema) {
  ASSERT_TRUE(wired_ && harness_.ok());
  auto answer = harness_.call("cron.add", jsonValue(kAdd), MethodCaller{"cli"});
  ASSERT_TRUE(answer.ok) << answer.error->toString();
  const auto& job = answer.payload.as_object();
  EXPECT_FALSE(job.at("id").as_string().empty());
  EXPECT_EQ(job.at("name").as_string(), "digest");
  EXPECT_TRUE(job.at("enabled").as_bool());
  EXPECT_EQ(job.at("schedule").at("kind").as_string(), "every");
  EXPECT_EQ(job.at("sessionTarget").as_string(), "isolated");
  EXPECT_EQ(job.at("wakeMode").as_string(), "now");
  EXPECT_EQ(job.at("payload").at("message").as_string(), "summarize the day");
  EXPECT_EQ(job.at("createdAtMs").as_int64(), gw_.clock->nowMs());
  EXPECT_EQ(job.at("state").at("nextRunAtMs").as_int64(), gw_.clock->nowMs() + 3'600'000);
  EXPECT_EQ(job.at("nextRunAtMs").as_int64(), gw_.clock->nowMs() + 3'600'000);
  auto audits = gw_.audit.ofKind("cron.add");
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].actor, "operator:cli");
  EXPECT_EQ(audits[0].target, job.at("id").as_string());
}

TEST_F(CronMethodsTest, ListPagesWithOpenClawsFields) {
  ASSERT_TRUE(wired_ && harness_.ok());
  for (int i = 0; i < 3; ++i) {
    addJob();
    gw_.clock->advance(1);
  }
  auto disabled = std::string(kAdd);
  disabled.insert(1, R"("enabled":false,)");
  addJob(disabled);

  auto page = harness_.call("cron.list", jsonValue(R"({"limit":2})"));
  ASSERT_TRUE(page.ok) << page.error->toString();
  const auto& p = page.payload.as_object();
  EXPECT_EQ(p.at("jobs").as_array().size(), 2u);
  EXPECT_EQ(p.at("total").as_int64(), 3) << "disabled jobs are left out by default";
  EXPECT_EQ(p.at("offset").as_int64(), 0);
  EXPECT_EQ(p.at("limit").as_int64(), 2);
  EXPECT_TRUE(p.at("hasMore").as_bool());
  EXPECT_EQ(p.at("nextOffset").as_int64(), 2);
  EXPECT_EQ(p.at("snapshotRevision").as_string().subview(0, 7), "sha256:");

  auto rest = harness_.call("cron.list", jsonValue(R"({"includeDisabled":true,"offset":2,"limit":200})"));
  ASSERT_TRUE(rest.ok);
  EXPECT_EQ(rest.payload.at("total").as_int64(), 4);
  EXPECT_EQ(rest.payload.at("jobs").as_array().size(), 2u);
  EXPECT_FALSE(rest.payload.at("hasMore").as_bool());
  EXPECT_TRUE(rest.payload.at("nextOffset").is_null());

  auto sorted = harness_.call("cron.list", jsonValue(R"({"sortBy":"name"})"));
  ASSERT_FALSE(sorted.ok);
  EXPECT_EQ(sorted.error->details.at("code").as_string(), "UNSUPPORTED");
}

TEST_F(CronMethodsTest, GetUpdateRemoveByIdOrJobId) {
  ASSERT_TRUE(wired_ && harness_.ok());
  const std::string id = addJob();
  auto got = harness_.call("cron.get", jsonValue(R"({"jobId":")" + id + R"("})"));
  ASSERT_TRUE(got.ok);
  EXPECT_EQ(got.payload.at("id").as_string(), id);

  auto updated = harness_.call(
      "cron.update",
      jsonValue(R"({"id":")" + id + R"(","patch":{"name":"nightly","payload":{"kind":"agentTurn","message":"x"},
                                                      "schedule":{"kind":"cron","expr":"0 3 * * *","tz":"UTC"}}})"));
  ASSERT_TRUE(updated.ok) << updated.error->toString();
  EXPECT_EQ(updated.payload.at("name").as_string(), "nightly");
  EXPECT_EQ(updated.payload.at("payload").at("message").as_string(), "x");
  EXPECT_EQ(updated.payload.at("schedule").at("expr").as_string(), "0 3 * * *");
  EXPECT_EQ(gw_.audit.ofKind("cron.update").size(), 1u);

  auto removed = harness_.call("cron.remove", jsonValue(R"({"id":")" + id + R"("})"));
  ASSERT_TRUE(removed.ok);
  EXPECT_EQ(json::serialize(removed.payload), R"({"ok":true,"removed":true})");

  auto missing = harness_.call("cron.get", jsonValue(R"({"id":")" + id + R"("})"));
  ASSERT_FALSE(missing.ok);
  EXPECT_EQ(protocolErrorCode(missing.error->code), "INVALID_REQUEST");
  EXPECT_EQ(missing.error->details.at("code").as_string(), "CRON_JOB_NOT_FOUND");
  auto removeAgain = harness_.call("cron.remove", jsonValue(R"({"id":")" + id + R"("})"));
  ASSERT_FALSE(removeAgain.ok);
  EXPECT_EQ(removeAgain.error->details.at("code").as_string(), "CRON_JOB_NOT_FOUND");
  auto noId = harness_.call("cron.remove", jsonValue("{}"));
  ASSERT_FALSE(noId.ok);
  EXPECT_EQ(noId.error->publicMessage(), "invalid cron.remove params: missing id");
}

TEST_F(CronMethodsTest, RunAndRunsAnswerAsOpenClaw) {
  ASSERT_TRUE(wired_ && harness_.ok());
  const std::string id = addJob();
  auto notDue = harness_.call("cron.run", jsonValue(R"({"id":")" + id + R"(","mode":"due"})"));
  ASSERT_TRUE(notDue.ok);
  EXPECT_FALSE(notDue.payload.at("ran").as_bool());
  EXPECT_EQ(notDue.payload.at("reason").as_string(), "not-due");
  EXPECT_EQ(notDue.payload.at("processInstanceId").as_string(), gw_.info.instanceId);

  auto run = harness_.call("cron.run", jsonValue(R"({"id":")" + id + R"(","mode":"force"})"));
  ASSERT_TRUE(run.ok) << run.error->toString();
  EXPECT_TRUE(run.payload.at("enqueued").as_bool());
  const std::string runId(run.payload.at("runId").as_string());
  ASSERT_TRUE(gw_.waitCalls(1));
  // `openclaw cron run --wait` polls cron.runs {id, runId, limit: 1}: no entry while the run runs...
  const std::string byRunId = R"({"id":")" + id + R"(","runId":")" + runId + R"(","limit":1})";
  auto pending = harness_.call("cron.runs", jsonValue(byRunId));
  ASSERT_TRUE(pending.ok) << pending.error->toString();
  EXPECT_TRUE(pending.payload.at("entries").as_array().empty());
  gw_.provider->call(0)->answer("the digest");
  ASSERT_TRUE(gw_.executors.runUntil([&] { return gw_.cron->activeRuns() == 0; }));
  // ... then that run's entry.
  auto finished = harness_.call("cron.runs", jsonValue(byRunId));
  ASSERT_TRUE(finished.ok);
  ASSERT_EQ(finished.payload.at("entries").as_array().size(), 1u);
  EXPECT_EQ(finished.payload.at("entries").at(0).at("runId").as_string(), runId);
  EXPECT_EQ(finished.payload.at("entries").at(0).at("status").as_string(), "ok");
  auto unknown = harness_.call("cron.runs", jsonValue(R"({"runId":"no-such-run"})"));
  ASSERT_TRUE(unknown.ok);
  EXPECT_TRUE(unknown.payload.at("entries").as_array().empty());

  auto runs = harness_.call("cron.runs", jsonValue(R"({"id":")" + id + R"("})"));
  ASSERT_TRUE(runs.ok) << runs.error->toString();
  const auto& entries = runs.payload.at("entries").as_array();
  ASSERT_EQ(entries.size(), 1u);
  const auto& e = entries[0].as_object();
  EXPECT_EQ(e.at("jobId").as_string(), id);
  EXPECT_EQ(e.at("action").as_string(), "finished");
  EXPECT_EQ(e.at("status").as_string(), "ok");
  EXPECT_EQ(e.at("completionStatus").as_string(), "succeeded");
  EXPECT_EQ(e.at("summary").as_string(), "the digest");
  EXPECT_EQ(e.at("runId").as_string(), runId);
  EXPECT_EQ(e.at("deliveryStatus").as_string(), "not-requested");
  EXPECT_EQ(e.at("jobName").as_string(), "digest");
  EXPECT_EQ(runs.payload.at("total").as_int64(), 1);
  EXPECT_FALSE(runs.payload.at("hasMore").as_bool());
  EXPECT_TRUE(runs.payload.at("nextOffset").is_null());

  auto all = harness_.call("cron.runs", jsonValue("{}"));
  ASSERT_TRUE(all.ok);
  EXPECT_EQ(all.payload.at("entries").as_array().size(), 1u);

  auto status = harness_.call("cron.status", jsonValue("{}"));
  ASSERT_TRUE(status.ok);
  EXPECT_TRUE(status.payload.at("enabled").as_bool());
  EXPECT_EQ(status.payload.at("jobs").as_int64(), 1);
  EXPECT_EQ(status.payload.at("storage").as_string(), "sqlite");
  EXPECT_TRUE(status.payload.at("nextWakeAtMs").is_int64());
}

TEST_F(CronMethodsTest, RefusesWhatTalonDoesNotDoAndMalformedJobs) {
  ASSERT_TRUE(wired_ && harness_.ok());
  auto command = harness_.call("cron.add", jsonValue(R"({"name":"x","schedule":{"kind":"every","everyMs":1000},
      "sessionTarget":"isolated","wakeMode":"now","payload":{"kind":"command","argv":["ls"]}})"));
  ASSERT_FALSE(command.ok);
  EXPECT_EQ(command.error->code, ErrorCode::kUnsupported);
  EXPECT_EQ(command.error->details.at("code").as_string(), "UNSUPPORTED");
  auto onExit = harness_.call("cron.add", jsonValue(R"({"name":"x","schedule":{"kind":"on-exit","command":"make"},
      "sessionTarget":"isolated","wakeMode":"now","payload":{"kind":"agentTurn","message":"m"}})"));
  ASSERT_FALSE(onExit.ok);
  EXPECT_EQ(onExit.error->code, ErrorCode::kUnsupported);
  auto trigger = harness_.call("cron.add", jsonValue(R"({"name":"x","schedule":{"kind":"every","everyMs":1000},
      "trigger":{"script":"return {fire:true}"},
      "sessionTarget":"isolated","wakeMode":"now","payload":{"kind":"agentTurn","message":"m"}})"));
  ASSERT_FALSE(trigger.ok);
  EXPECT_EQ(trigger.error->code, ErrorCode::kUnsupported);
  auto extra = harness_.call("cron.add", jsonValue(R"({"name":"x","schedule":{"kind":"every","everyMs":1000},
      "sessionTarget":"isolated","wakeMode":"now","payload":{"kind":"agentTurn","message":"m","bogus":1}})"));
  ASSERT_FALSE(extra.ok);
  EXPECT_EQ(extra.error->publicMessage(), "invalid cron.add params: at /payload: unexpected property 'bogus'");
  auto missing = harness_.call("cron.add", jsonValue(R"({"name":"x","schedule":{"kind":"every","everyMs":1000},
      "sessionTarget":"isolated","payload":{"kind":"agentTurn","message":"m"}})"));
  ASSERT_FALSE(missing.ok);
  EXPECT_EQ(protocolErrorCode(missing.error->code), "INVALID_REQUEST");
  auto webhook = harness_.call("cron.add", jsonValue(R"({"name":"x","schedule":{"kind":"every","everyMs":1000},
      "sessionTarget":"isolated","wakeMode":"now","payload":{"kind":"agentTurn","message":"m"},
      "delivery":{"mode":"webhook","to":"ftp://example.com"}})"));
  ASSERT_FALSE(webhook.ok);
  EXPECT_NE(webhook.error->publicMessage().find("valid http(s) URL"), std::string::npos);
  auto list = harness_.call("cron.list", jsonValue(R"({"includeDisabled":true})"));
  EXPECT_EQ(list.payload.at("total").as_int64(), 0) << "nothing refused was stored";
}

}  // namespace
}  // namespace talon::gateway::methods
