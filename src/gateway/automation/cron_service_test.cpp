// The cron scheduler over real components (tests/support/gateway_components.h: a SQLite store in a temp
// dir, an AgentRunner over the FakeModelProvider, ManualExecutors and a SimulatedClock): a job runs at its
// time and records a run; a failing job backs off and is disabled; alerts go once per incident and a
// recovery follows; catch-up after downtime runs once or skips; a crash leaves an interrupted run; a slot
// that comes due during a run is skipped. Everything in simulated time.
#include "gateway/automation/cron_service.h"

#include <gtest/gtest.h>

#include "gateway/channels/loopback_channel.h"
#include "gateway/channels/outbound_dispatcher.h"
#include "gateway/health/alert_router.h"
#include "store/session_route_repository.h"
#include "support/gateway_components.h"
#include "support/io_thread.h"
#include "support/json_text.h"
#include "support/loopback_port.h"
#include "support/scripted_peer.h"

namespace talon::gateway::automation {
namespace {

using testing::jsonObject;
using testing::kHourMs;
using testing::kMinuteMs;

/// An agentTurn job in an isolated session, every `everyMs`, plus `extra` fields.
json::object everyJob(int64_t everyMs, std::string_view extra = "") {
  return jsonObject(fmt::format(R"({{"name":"report","schedule":{{"kind":"every","everyMs":{}}},
      "sessionTarget":"isolated","wakeMode":"now","payload":{{"kind":"agentTurn","message":"write the report"}}{}}})",
                                everyMs, extra.empty() ? "" : std::string(",") + std::string(extra)));
}

class CronServiceTest : public ::testing::Test {
 protected:
  struct NullSink final : channels::ChannelSink {
    void onInbound(std::string_view, routing::InboundMessage) override {}
  };

  CronServiceTest() {
    loopback_ = gw_.addLoopbackWithOutbox(sink_);
    bus_ = gw_.bus.subscribe(
        [this](const GatewayEvent& e) {
          if (e.name == "cron") events_.push_back(jsonObject(*e.payloadJson));
        },
        EventBus::Interest::kEverySession);
  }
  ~CronServiceTest() override { gw_.bus.unsubscribe(bus_); }

  /// A fresh service over the components' store (as a gateway start makes one).
  std::unique_ptr<CronService> makeService(config::CronConfig cfg = {}, health::AlertRouter* alerts = nullptr,
                                           std::shared_ptr<CronPreflight> preflight = nullptr) {
    CronServiceDeps deps{gw_.clock,
                         gw_.executors.executors(),
                         gw_.store.get(),
                         gw_.runner.get(),
                         gw_.outbound.get(),
                         nullptr,
                         &gw_.healthRecords,
                         &gw_.metrics,
                         &gw_.bus,
                         &gw_.audit,
                         cfg,
                         "main"};
    deps.alerts = alerts;
    deps.preflight = std::move(preflight);
    auto service = CronService::create(std::move(deps));
    EXPECT_TRUE(service) << service.error().toString();
    return service ? std::move(*service) : nullptr;
  }

  /// Answers model call `i` (0-based) with `text`, or fails it, and runs until no cron run is active.
  void answer(CronService& cron, std::size_t i, std::optional<std::string> text) {
    ASSERT_TRUE(gw_.waitCalls(i + 1)) << "no model call " << i;
    if (text) {
      gw_.provider->call(i)->answer(*text);
    } else {
      gw_.provider->call(i)->complete(fail(ErrorCode::kUpstream, "the model is down"));
    }
    ASSERT_TRUE(gw_.executors.runUntil([&] { return cron.activeRuns() == 0; }))
        << "the run of model call " << i << " is still active (" << gw_.executors.pendingIo() << " io, "
        << gw_.executors.pendingBlocking() << " blocking tasks, " << gw_.executors.armedTimers() << " timers, "
        << gw_.provider->count() << " model calls, runner " << gw_.runner->stats().running << " running / "
        << gw_.runner->stats().queued << " queued)";
  }

  std::vector<store::CronRunRow> runs(CronService& cron, const std::string& jobId) {
    auto page = cron.runs(jobId, 200, 0);
    EXPECT_TRUE(page) << page.error().toString();
    return page ? page->runs : std::vector<store::CronRunRow>{};
  }

  double metric(std::string_view name, std::string_view label) {
    auto* family = gw_.metrics.find(name);
    if (!family) return -1;
    if (family->type() == health::MetricType::kCounter) return static_cast<double>(family->counter({label})->value());
    return family->gauge({label})->value();
  }

  std::vector<std::string> escalations(std::string_view action) {
    std::vector<std::string> out;
    for (const auto& e : gw_.audit.ofKind("cron.escalation")) {
      if (e.details.at("action").as_string() == action) out.push_back(e.target);
    }
    return out;
  }

  talon::testing::GatewayComponents gw_{talon::testing::GatewayComponentsOptions::forAutomations()};
  NullSink sink_;
  channels::LoopbackChannel* loopback_ = nullptr;
  uint64_t bus_ = 0;
  std::vector<json::object> events_;
};

TEST_F(CronServiceTest, AJobRunsAtItsTimeAndRecordsTheRun) {
  auto cron = makeService();
  ASSERT_TRUE(cron && cron->start());
  const int64_t created = gw_.clock->nowMs();
  auto job = cron->add(everyJob(kMinuteMs), {"operator:test"});
  ASSERT_TRUE(job) << job.error().toString();
  const std::string id(job->at("id").as_string());
  EXPECT_EQ(job->at("state").at("nextRunAtMs").as_int64(), created + kMinuteMs);
  EXPECT_EQ(gw_.audit.ofKind("cron.add").size(), 1u);

  gw_.executors.advance(kMinuteMs - 1);
  EXPECT_EQ(gw_.provider->count(), 0u) << "nothing runs before its time";
  gw_.executors.advance(1);
  answer(*cron, 0, "the report");

  auto history = runs(*cron, id);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].status, "ok");
  EXPECT_EQ(history[0].trigger, "schedule");
  EXPECT_EQ(history[0].summary, "the report");
  EXPECT_EQ(history[0].scheduledAtMs, created + kMinuteMs);
  EXPECT_EQ(history[0].sessionKey.rfind("agent:main:cron:" + id + ":run:", 0), 0u) << history[0].sessionKey;
  EXPECT_EQ(history[0].deliveryStatus, "not-requested");

  auto row = cron->row(id);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->state.lastRunStatus, "ok");
  EXPECT_EQ(row->state.consecutiveErrors, 0);
  EXPECT_EQ(row->state.lastSuccessAtMs, gw_.clock->nowMs());
  EXPECT_EQ(row->state.nextRunAtMs, created + 2 * kMinuteMs);
  EXPECT_EQ(row->state.runningSinceMs, 0);
  EXPECT_EQ(metric("talon_cron_runs_total", "ok"), 1);
  EXPECT_EQ(metric("talon_cron_job_last_success_timestamp_seconds", id),
            static_cast<double>(row->state.lastSuccessAtMs) / 1000.0);
  auto health = gw_.healthRecords.get("cron:" + id, "runs");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->state, health::HealthState::kOk);

  std::vector<std::string> actions;
  for (const auto& e : events_) actions.emplace_back(e.at("action").as_string());
  EXPECT_EQ(actions, (std::vector<std::string>{"added", "started", "finished"}));

  // The second slot runs too, each in its own session.
  gw_.executors.advance(kMinuteMs);
  answer(*cron, 1, "again");
  history = runs(*cron, id);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_NE(history[0].sessionKey, history[1].sessionKey);
}

TEST_F(CronServiceTest, AnnounceDeliversTheAnswerAndALastRouteIsRecordedAsNotDelivered) {
  auto cron = makeService();
  ASSERT_TRUE(cron && cron->start());
  auto job =
      cron->add(everyJob(kMinuteMs, R"("delivery":{"mode":"announce","channel":"loopback","to":"group:team"})"), {});
  ASSERT_TRUE(job) << job.error().toString();
  const std::string id(job->at("id").as_string());
  gw_.executors.advance(kMinuteMs);
  answer(*cron, 0, "today's report");
  ASSERT_TRUE(gw_.executors.runUntil([&] { return loopback_->sent().size() == 1; }));
  EXPECT_EQ(loopback_->sent()[0].text, "today's report");
  EXPECT_EQ(loopback_->sent()[0].peer.id, "team");
  EXPECT_EQ(runs(*cron, id)[0].deliveryStatus, "delivered");

  // OpenClaw's CLI default: announce without a channel (the last route). Nothing has reached the agent on
  // a channel yet, so there is no route: recorded, not silent.
  auto last = cron->add(everyJob(kHourMs, R"("delivery":{"mode":"announce"})"), {});
  ASSERT_TRUE(last) << last.error().toString();
  const std::string lastId(last->at("id").as_string());
  ASSERT_TRUE(cron->run(lastId, "force", {}));
  answer(*cron, 1, "nowhere to go");
  auto history = runs(*cron, lastId);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].status, "ok");
  EXPECT_EQ(history[0].deliveryStatus, "not-delivered");
  EXPECT_NE(history[0].error.find("last route"), std::string::npos) << history[0].error;

  // Once a channel message has reached the agent's main session, the announce follows its route.
  store::SessionRouteRecord route;
  route.sessionKey = "agent:main:main";
  route.agentId = "main";
  route.channel = "loopback";
  route.to = "user:ops";
  route.chatType = "direct";
  route.updatedAtMs = gw_.clock->nowMs();
  store::WriteBatch batch;
  store::SessionRouteRepository::record(batch, route);
  ASSERT_TRUE(gw_.store->write(std::move(batch)));
  ASSERT_TRUE(cron->run(lastId, "force", {}));
  answer(*cron, 2, "now there is a route");
  ASSERT_TRUE(gw_.executors.runUntil([&] { return loopback_->sent().size() == 2; }));
  EXPECT_EQ(loopback_->sent()[1].peer.id, "ops");
  EXPECT_EQ(loopback_->sent()[1].text, "now there is a route");
  std::size_t delivered = 0;
  for (const auto& r : runs(*cron, lastId)) delivered += r.deliveryStatus == "delivered" ? 1 : 0;
  EXPECT_EQ(delivered, 1u);
}

TEST_F(CronServiceTest, ASystemEventRunsAsATurnInTheMainSession) {
  auto cron = makeService();
  ASSERT_TRUE(cron && cron->start());
  auto job = cron->add(jsonObject(R"({"name":"nudge","schedule":{"kind":"every","everyMs":60000},"sessionTarget":"main",
                                  "wakeMode":"now","payload":{"kind":"systemEvent","text":"check the inbox"}})"),
                       {});
  ASSERT_TRUE(job) << job.error().toString();
  gw_.executors.advance(kMinuteMs);
  ASSERT_TRUE(gw_.waitCalls(1));
  EXPECT_NE(gw_.provider->call(0)->request.messages.back().content.find("check the inbox"), std::string::npos);
  answer(*cron, 0, "ok");
  auto history = runs(*cron, std::string(job->at("id").as_string()));
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].sessionKey, "agent:main:main");
}

TEST_F(CronServiceTest, AFailingJobBacksOffThenIsDisabled) {
  config::CronConfig cfg;
  cfg.escalation.retryInitialMs = kMinuteMs;
  cfg.escalation.retryMaxMs = 2 * kMinuteMs;
  cfg.escalation.disableAfter = 4;
  auto cron = makeService(cfg);
  ASSERT_TRUE(cron && cron->start());
  auto job = cron->add(everyJob(kHourMs), {});
  ASSERT_TRUE(job);
  const std::string id(job->at("id").as_string());

  gw_.executors.advance(kHourMs);
  answer(*cron, 0, std::nullopt);
  auto row = cron->row(id);
  EXPECT_EQ(row->state.consecutiveErrors, 1);
  EXPECT_EQ(row->state.nextRunAtMs, gw_.clock->nowMs() + kMinuteMs) << "the retry follows the backoff, not the hour";
  EXPECT_EQ(gw_.healthRecords.get("cron:" + id, "runs")->state, health::HealthState::kDegraded);
  EXPECT_EQ(metric("talon_cron_job_consecutive_errors", id), 1);

  gw_.executors.advance(kMinuteMs);
  answer(*cron, 1, std::nullopt);
  EXPECT_EQ(cron->row(id)->state.nextRunAtMs, gw_.clock->nowMs() + 2 * kMinuteMs);
  gw_.executors.advance(2 * kMinuteMs);
  answer(*cron, 2, std::nullopt);
  EXPECT_EQ(cron->row(id)->state.nextRunAtMs, gw_.clock->nowMs() + 2 * kMinuteMs) << "capped at maxMs";
  EXPECT_EQ(runs(*cron, id)[0].trigger, "retry");
  EXPECT_EQ(escalations("backoff").size(), 3u);

  gw_.executors.advance(2 * kMinuteMs);
  answer(*cron, 3, std::nullopt);
  row = cron->row(id);
  EXPECT_FALSE(row->enabled);
  EXPECT_EQ(row->state.autoDisabledReason, "consecutive-failures");
  EXPECT_EQ(row->state.autoDisabledAtMs, gw_.clock->nowMs());
  EXPECT_EQ(row->state.nextRunAtMs, 0);
  EXPECT_EQ(gw_.healthRecords.get("cron:" + id, "runs")->state, health::HealthState::kFailed);
  EXPECT_EQ(escalations("disable"), std::vector<std::string>{id});
  EXPECT_EQ(metric("talon_cron_escalations_total", "disable"), 1);
  EXPECT_EQ(metric("talon_cron_runs_total", "error"), 4);
  auto shown = cron->get(id);
  EXPECT_EQ(shown->at("state").at("autoDisabled").at("reason").as_string(), "consecutive-failures");

  gw_.executors.advance(10 * kHourMs);
  EXPECT_EQ(gw_.provider->count(), 4u) << "a disabled job does not run";

  // Enabling it again clears the auto-disable and schedules it.
  auto enabled = cron->update(id, jsonObject(R"({"enabled":true})"), {});
  ASSERT_TRUE(enabled) << enabled.error().toString();
  row = cron->row(id);
  EXPECT_TRUE(row->enabled);
  EXPECT_TRUE(row->state.autoDisabledReason.empty());
  EXPECT_EQ(row->state.consecutiveErrors, 0);
  EXPECT_GT(row->state.nextRunAtMs, gw_.clock->nowMs());
}

TEST_F(CronServiceTest, AnAlertGoesOncePerIncidentAndARecoveryFollows) {
  config::CronConfig cfg;
  cfg.escalation.retryInitialMs = kMinuteMs;
  cfg.escalation.disableAfter = 0;
  auto cron = makeService(cfg);
  ASSERT_TRUE(cron && cron->start());
  auto job = cron->add(
      everyJob(kHourMs, R"("failureAlert":{"after":2,"channel":"loopback","to":"user:ops","cooldownMs":3600000})"), {});
  ASSERT_TRUE(job) << job.error().toString();
  const std::string id(job->at("id").as_string());

  gw_.executors.advance(kHourMs);
  answer(*cron, 0, std::nullopt);
  gw_.executors.runReady();
  EXPECT_TRUE(loopback_->sent().empty()) << "one error is below `after`";

  gw_.executors.advance(kMinuteMs);
  answer(*cron, 1, std::nullopt);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return loopback_->sent().size() == 1; }));
  auto alert = loopback_->sent()[0];
  EXPECT_EQ(alert.peer.id, "ops");
  EXPECT_NE(alert.text.find("\"report\""), std::string::npos) << alert.text;
  EXPECT_NE(alert.text.find("failed 2 times"), std::string::npos) << alert.text;
  EXPECT_NE(alert.text.find("the model is down"), std::string::npos) << alert.text;
  EXPECT_GT(cron->row(id)->state.alertedAtMs, 0);

  gw_.executors.advance(2 * kMinuteMs);
  answer(*cron, 2, std::nullopt);
  gw_.executors.advance(4 * kMinuteMs);
  answer(*cron, 3, std::nullopt);
  gw_.executors.runReady();
  EXPECT_EQ(escalations("alert").size(), 1u) << "the same incident alerts once within the cooldown";
  EXPECT_EQ(loopback_->sent().size(), 1u);

  gw_.executors.advance(8 * kMinuteMs);
  answer(*cron, 4, "fine again");
  ASSERT_TRUE(gw_.executors.runUntil([&] { return loopback_->sent().size() == 2; }));
  EXPECT_NE(loopback_->sent()[1].text.find("recovered"), std::string::npos) << loopback_->sent()[1].text;
  EXPECT_EQ(cron->row(id)->state.alertedAtMs, 0);
  EXPECT_EQ(metric("talon_cron_escalations_total", "alert"), 1);
  EXPECT_EQ(metric("talon_cron_escalations_total", "recovery"), 1);
  EXPECT_EQ(escalations("alert"), std::vector<std::string>{id});
  EXPECT_EQ(gw_.healthRecords.get("cron:" + id, "runs")->state, health::HealthState::kOk);

  // A new incident alerts again.
  gw_.executors.advance(kHourMs);
  answer(*cron, 5, std::nullopt);
  gw_.executors.advance(kMinuteMs);
  answer(*cron, 6, std::nullopt);
  EXPECT_EQ(escalations("alert").size(), 2u);
  EXPECT_TRUE(gw_.executors.runUntil([&] { return loopback_->sent().size() == 3; }));
}

// gateway.alerts (Talon's alert targets) get a failing job's incident whether or not the job has an alert
// route of its own: raised after `after` failures, critical when the job is disabled, resolved by a success.
TEST_F(CronServiceTest, AFailingJobIsAnIncidentForTheAlertTargets) {
  config::AlertsConfig alertsConfig;
  config::AlertTargetConfig target;
  target.id = "oncall";
  target.kind = "channel";
  target.channel = "loopback";
  target.to = "user:oncall";
  alertsConfig.targets.push_back(target);
  auto router = health::AlertRouter::create(health::AlertRouterDeps{alertsConfig, gw_.outbound.get(), nullptr,
                                                                    gw_.healthRecords, gw_.metrics, &gw_.audit,
                                                                    gw_.executors.executors(), gw_.clock});
  ASSERT_TRUE(router) << router.error().toString();
  config::CronConfig cfg;
  cfg.escalation.retryInitialMs = kMinuteMs;
  cfg.escalation.disableAfter = 4;
  auto cron = makeService(cfg, router->get());
  ASSERT_TRUE(cron && cron->start());
  // No failureAlert and no announce route: OpenClaw's route alert stays quiet; the alert targets do not.
  auto job = cron->add(everyJob(kHourMs), {});
  ASSERT_TRUE(job) << job.error().toString();
  const std::string id(job->at("id").as_string());
  const std::string key = "cron:" + id;
  auto toOncall = [&] {
    std::vector<std::string> texts;
    for (const auto& m : loopback_->sent()) {
      if (m.peer.id == "oncall") texts.push_back(m.text);
    }
    return texts;
  };

  gw_.executors.advance(kHourMs);
  answer(*cron, 0, std::nullopt);
  gw_.executors.runReady();
  EXPECT_TRUE((*router)->openIncidents().empty()) << "one failure is below failureAlert.after (2)";

  gw_.executors.advance(kMinuteMs);
  answer(*cron, 1, std::nullopt);
  EXPECT_EQ((*router)->openIncidents(), std::vector<std::string>{key});
  ASSERT_TRUE(gw_.executors.runUntil([&] { return toOncall().size() == 1; }));
  EXPECT_NE(toOncall()[0].find("is failing"), std::string::npos) << toOncall()[0];
  EXPECT_NE(toOncall()[0].find("the model is down"), std::string::npos) << toOncall()[0];

  gw_.executors.advance(2 * kMinuteMs);
  answer(*cron, 2, std::nullopt);
  gw_.executors.runReady();
  EXPECT_EQ(toOncall().size(), 1u) << "the same incident within the cooldown is not repeated";

  // The fourth failure disables the job: a higher severity, so it is sent within the cooldown.
  gw_.executors.advance(4 * kMinuteMs);
  answer(*cron, 3, std::nullopt);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return toOncall().size() == 2; }));
  EXPECT_NE(toOncall()[1].find("was disabled"), std::string::npos) << toOncall()[1];
  EXPECT_FALSE(cron->row(id)->enabled);

  // Enabled again by an operator, a success resolves the incident.
  ASSERT_TRUE(cron->update(id, jsonObject(R"({"enabled":true})"), {}));
  EXPECT_EQ((*router)->openIncidents(), std::vector<std::string>{key}) << "enabling is not a success";
  ASSERT_TRUE(cron->run(id, "force", {}));
  answer(*cron, 4, "fine again");
  EXPECT_TRUE((*router)->openIncidents().empty());
  ASSERT_TRUE(gw_.executors.runUntil([&] { return toOncall().size() == 3; }));
  EXPECT_NE(toOncall()[2].find("succeeded again"), std::string::npos) << toOncall()[2];
}

TEST_F(CronServiceTest, AJobWithFailureAlertFalseIsNoIncident) {
  auto router = health::AlertRouter::create(health::AlertRouterDeps{{},
                                                                    gw_.outbound.get(),
                                                                    nullptr,
                                                                    gw_.healthRecords,
                                                                    gw_.metrics,
                                                                    &gw_.audit,
                                                                    gw_.executors.executors(),
                                                                    gw_.clock});
  ASSERT_TRUE(router) << router.error().toString();
  config::CronConfig cfg;
  cfg.escalation.retryInitialMs = kMinuteMs;
  auto cron = makeService(cfg, router->get());
  ASSERT_TRUE(cron && cron->start());
  auto job = cron->add(everyJob(kHourMs, R"("failureAlert":false)"), {});
  ASSERT_TRUE(job) << job.error().toString();
  gw_.executors.advance(kHourMs);
  answer(*cron, 0, std::nullopt);
  gw_.executors.advance(kMinuteMs);
  answer(*cron, 1, std::nullopt);
  gw_.executors.advance(2 * kMinuteMs);
  answer(*cron, 2, std::nullopt);
  EXPECT_EQ(runs(*cron, std::string(job->at("id").as_string())).size(), 3u);
  EXPECT_TRUE((*router)->openIncidents().empty());
}

TEST_F(CronServiceTest, AfterDowntimeAMissedJobRunsOnceNotOncePerSlot) {
  std::string id;
  {
    auto cron = makeService();
    ASSERT_TRUE(cron && cron->start());
    auto job = cron->add(everyJob(kMinuteMs), {});
    ASSERT_TRUE(job);
    id = std::string(job->at("id").as_string());
    cron->stop();
  }
  gw_.clock->advance(10 * kMinuteMs);  // the gateway was down: ten slots passed
  auto cron = makeService();
  ASSERT_TRUE(cron && cron->start());
  answer(*cron, 0, "caught up");
  gw_.executors.runReady();
  EXPECT_EQ(gw_.provider->count(), 1u);
  auto history = runs(*cron, id);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].trigger, "catch-up");
  EXPECT_GT(cron->row(id)->state.nextRunAtMs, gw_.clock->nowMs());
}

TEST_F(CronServiceTest, AfterDowntimeSkipMissedJobsTakesTheNextSlot) {
  std::string id;
  {
    auto cron = makeService();
    ASSERT_TRUE(cron && cron->start());
    auto job = cron->add(everyJob(kMinuteMs), {});
    ASSERT_TRUE(job);
    id = std::string(job->at("id").as_string());
  }
  gw_.clock->advance(10 * kMinuteMs + 1);
  config::CronConfig cfg;
  cfg.skipMissedJobs = true;
  auto cron = makeService(cfg);
  ASSERT_TRUE(cron && cron->start());
  gw_.executors.runReady();
  EXPECT_EQ(gw_.provider->count(), 0u);
  EXPECT_TRUE(runs(*cron, id).empty());
  const int64_t next = cron->row(id)->state.nextRunAtMs;
  EXPECT_GT(next, gw_.clock->nowMs());
  EXPECT_LE(next, gw_.clock->nowMs() + kMinuteMs);
}

TEST_F(CronServiceTest, ARunLeftRunningByACrashIsInterrupted) {
  std::string id;
  {
    auto cron = makeService();
    ASSERT_TRUE(cron && cron->start());
    auto job = cron->add(everyJob(kHourMs), {});
    ASSERT_TRUE(job);
    id = std::string(job->at("id").as_string());
    gw_.executors.advance(kHourMs);
    ASSERT_TRUE(gw_.waitCalls(1));  // the run is in progress when the "process" goes away
  }
  auto cron = makeService();
  ASSERT_TRUE(cron && cron->start());
  auto history = runs(*cron, id);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].status, "interrupted");
  EXPECT_GT(history[0].finishedAtMs, 0);
  auto row = cron->row(id);
  EXPECT_EQ(row->state.runningSinceMs, 0);
  EXPECT_EQ(row->state.lastRunStatus, "error");
  EXPECT_EQ(row->state.consecutiveErrors, 1);
  EXPECT_EQ(metric("talon_cron_runs_total", "interrupted"), 1);
  EXPECT_EQ(gw_.audit.ofKind("cron.run.interrupted").size(), 1u);
  auto shown = cronRunToJson(history[0], "report");
  EXPECT_EQ(shown.at("status").as_string(), "error");
}

TEST_F(CronServiceTest, ASlotDueDuringARunIsSkipped) {
  auto cron = makeService();
  ASSERT_TRUE(cron && cron->start());
  auto job = cron->add(everyJob(kMinuteMs), {});
  ASSERT_TRUE(job);
  const std::string id(job->at("id").as_string());
  gw_.executors.advance(kMinuteMs);
  ASSERT_TRUE(gw_.waitCalls(1));
  gw_.executors.advance(kMinuteMs);  // the next slot while the first run still runs
  auto history = runs(*cron, id);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].status, "skipped");
  EXPECT_EQ(history[0].error, "already running");
  EXPECT_EQ(history[1].status, "running");
  EXPECT_EQ(metric("talon_cron_runs_total", "skipped"), 1);
  EXPECT_EQ(gw_.provider->count(), 1u) << "no second turn while the first runs";
  answer(*cron, 0, "done late");
  EXPECT_EQ(cron->row(id)->state.consecutiveSkipped, 0);
}

TEST_F(CronServiceTest, AOneShotJobIsDeletedAfterItsSuccess) {
  auto cron = makeService();
  ASSERT_TRUE(cron && cron->start());
  auto job = cron->add(jsonObject(R"({"name":"once","schedule":{"kind":"at","at":"2m"},"sessionTarget":"isolated",
                                  "wakeMode":"now","payload":{"kind":"agentTurn","message":"once"}})"),
                       {});
  ASSERT_TRUE(job) << job.error().toString();
  EXPECT_TRUE(job->at("deleteAfterRun").as_bool());
  const std::string id(job->at("id").as_string());
  gw_.executors.advance(2 * kMinuteMs);
  answer(*cron, 0, "done");
  EXPECT_FALSE(cron->get(id));
  EXPECT_FALSE(gw_.healthRecords.get("cron:" + id, "runs"));
}

TEST_F(CronServiceTest, ManualRunsAnswerAsOpenClaw) {
  auto cron = makeService();
  ASSERT_TRUE(cron);
  auto job = cron->add(everyJob(kHourMs), {});
  ASSERT_TRUE(job);
  const std::string id(job->at("id").as_string());
  auto stopped = cron->run(id, "force", {});
  ASSERT_TRUE(stopped);
  EXPECT_EQ(stopped->reason, "stopped");
  ASSERT_TRUE(cron->start());
  auto notDue = cron->run(id, "due", {});
  ASSERT_TRUE(notDue);
  EXPECT_FALSE(notDue->enqueued);
  EXPECT_EQ(notDue->reason, "not-due");
  auto forced = cron->run(id, "force", {"operator:cli"});
  ASSERT_TRUE(forced);
  EXPECT_TRUE(forced->enqueued);
  auto again = cron->run(id, "force", {});
  EXPECT_EQ(again->reason, "already-running");
  answer(*cron, 0, "manual");
  auto history = runs(*cron, id);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].trigger, "manual");
  EXPECT_EQ(history[0].id, forced->runId);
  EXPECT_EQ(cron->row(id)->state.nextRunAtMs, job->at("state").at("nextRunAtMs").as_int64()) << "schedule kept";
  EXPECT_FALSE(cron->run("nope", "force", {}));
}

TEST_F(CronServiceTest, UnsupportedKindsAreRefusedNotStored) {
  auto cron = makeService();
  ASSERT_TRUE(cron);
  auto command =
      cron->add(jsonObject(R"({"name":"x","schedule":{"kind":"every","everyMs":1000},"sessionTarget":"isolated",
                                      "wakeMode":"now","payload":{"kind":"command","argv":["ls"]}})"),
                {});
  ASSERT_FALSE(command);
  EXPECT_EQ(command.error().code, ErrorCode::kUnsupported);
  auto stream =
      cron->add(jsonObject(R"({"name":"x","schedule":{"kind":"stream","command":["tail"]},"sessionTarget":"isolated",
                                     "wakeMode":"now","payload":{"kind":"agentTurn","message":"m"}})"),
                {});
  ASSERT_FALSE(stream);
  EXPECT_EQ(stream.error().code, ErrorCode::kUnsupported);
  auto mainTurn = cron->add(jsonObject(R"({"name":"x","schedule":{"kind":"every","everyMs":1000},"sessionTarget":"main",
                                       "wakeMode":"now","payload":{"kind":"agentTurn","message":"m"}})"),
                            {});
  ASSERT_FALSE(mainTurn);
  EXPECT_EQ(mainTurn.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(cron->list().empty());
}

TEST(CronRetryDelay, DoublesUpToTheMaximum) {
  config::CronEscalationConfig e;
  EXPECT_EQ(cronRetryDelayMs(e, 1), 60'000);
  EXPECT_EQ(cronRetryDelayMs(e, 2), 120'000);
  EXPECT_EQ(cronRetryDelayMs(e, 3), 240'000);
  EXPECT_EQ(cronRetryDelayMs(e, 7), 3'600'000);
  EXPECT_EQ(cronRetryDelayMs(e, 100), 3'600'000);
}

// ---- the local-endpoint preflight (cron_preflight.h) over real sockets on loopback --------------------

/// A model provider entry for the preflight.
config::ProviderConfig preflightProvider(std::string id, std::string api, std::string baseUrl) {
  config::ProviderConfig p;
  p.id = std::move(id);
  p.api = std::move(api);
  p.baseUrl = std::move(baseUrl);
  return p;
}

TEST_F(CronServiceTest, AnIsolatedRunWhoseLocalEndpointsAreAllDownIsSkippedWithoutAModelCall) {
  auto closed = talon::testing::freeLoopbackPort();  // bound, read back, released: nothing listens there
  ASSERT_TRUE(closed);
  const std::string dead = "http://127.0.0.1:" + std::to_string(*closed);
  talon::testing::IoThread io;
  io.start();
  auto preflight = std::make_shared<CronPreflight>(
      net::HttpClient::create(io.io()), gw_.clock,
      std::vector<config::ProviderConfig>{preflightProvider("ollama", "ollama", dead),
                                          preflightProvider("vllm", "openai-completions", dead + "/v1/")},
      std::map<std::string, std::vector<std::string>>{{"main", {"ollama/qwen3:8b", "vllm/qwen3-32b"}}});
  auto cron = makeService({}, nullptr, preflight);
  ASSERT_TRUE(cron && cron->start());
  const int64_t created = gw_.clock->nowMs();
  auto job = cron->add(everyJob(kMinuteMs), {"operator:test"});
  ASSERT_TRUE(job);
  const std::string id(job->at("id").as_string());

  gw_.executors.advance(kMinuteMs);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return cron->activeRuns() == 0; }));
  auto history = runs(*cron, id);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].status, "skipped");
  EXPECT_NE(history[0].error.find("This automation uses ollama/qwen3:8b but the local provider preflight failed at " +
                                  dead + "."),
            std::string::npos)
      << history[0].error;
  EXPECT_EQ(gw_.provider->count(), 0u) << "no model call";
  auto row = cron->row(id);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->state.lastRunStatus, "skipped");
  EXPECT_EQ(row->state.consecutiveErrors, 0) << "a skipped run is not an error";
  EXPECT_EQ(row->state.consecutiveSkipped, 1);
  EXPECT_EQ(row->state.nextRunAtMs, created + 2 * kMinuteMs) << "no backoff: the next slot";
  EXPECT_TRUE(escalations("backoff").empty());
  EXPECT_EQ(metric("talon_cron_runs_total", "skipped"), 1);
  EXPECT_EQ(metric("talon_cron_runs_total", "error"), 0);
}

TEST_F(CronServiceTest, TheFirstReachableModelOfTheChainLetsTheRunStartAndProbesAreCachedFiveMinutes) {
  auto closed = talon::testing::freeLoopbackPort();
  ASSERT_TRUE(closed);
  // A live OpenAI-compatible server (vLLM, LM Studio): any HTTP answer counts, a 401 too.
  talon::testing::ScriptedPeer live({talon::testing::PeerReply::whole(401, R"({"error":"no key"})")});
  talon::testing::IoThread io;
  io.start();
  auto preflight = std::make_shared<CronPreflight>(
      net::HttpClient::create(io.io()), gw_.clock,
      std::vector<config::ProviderConfig>{
          preflightProvider("ollama", "ollama", "http://127.0.0.1:" + std::to_string(*closed)),
          preflightProvider("lmstudio", "openai-completions", live.origin() + "/v1")},
      std::map<std::string, std::vector<std::string>>{{"main", {"ollama/qwen3:8b", "lmstudio/qwen3-32b"}}});
  auto cron = makeService({}, nullptr, preflight);
  ASSERT_TRUE(cron && cron->start());
  auto job = cron->add(everyJob(kMinuteMs), {"operator:test"});
  ASSERT_TRUE(job);
  const std::string id(job->at("id").as_string());

  gw_.executors.advance(kMinuteMs);
  answer(*cron, 0, "report 1");
  ASSERT_EQ(live.requests().size(), 1u);
  EXPECT_EQ(live.requests()[0].method, "GET");
  EXPECT_EQ(live.requests()[0].target, "/v1/models");
  // Minutes 2 to 5: both endpoints' results come from the cache.
  for (std::size_t i = 1; i <= 4; ++i) {
    gw_.executors.advance(kMinuteMs);
    answer(*cron, i, "report");
  }
  EXPECT_EQ(live.requests().size(), 1u);
  // Five minutes after the first probe: probed again.
  gw_.executors.advance(kMinuteMs);
  answer(*cron, 5, "report");
  EXPECT_EQ(live.requests().size(), 2u);
  auto history = runs(*cron, id);
  ASSERT_EQ(history.size(), 6u);
  for (const auto& run : history) EXPECT_EQ(run.status, "ok");
}

TEST_F(CronServiceTest, OnlyIsolatedAgentTurnsArePreflighted) {
  auto closed = talon::testing::freeLoopbackPort();
  ASSERT_TRUE(closed);
  talon::testing::IoThread io;
  io.start();
  auto preflight =
      std::make_shared<CronPreflight>(net::HttpClient::create(io.io()), gw_.clock,
                                      std::vector<config::ProviderConfig>{preflightProvider(
                                          "ollama", "ollama", "http://127.0.0.1:" + std::to_string(*closed))},
                                      std::map<std::string, std::vector<std::string>>{{"main", {"ollama/qwen3:8b"}}});
  auto cron = makeService({}, nullptr, preflight);
  ASSERT_TRUE(cron && cron->start());
  auto job = cron->add(jsonObject(R"({"name":"in the session","schedule":{"kind":"every","everyMs":60000},
      "sessionTarget":"session:reports","wakeMode":"now","payload":{"kind":"agentTurn","message":"write the report"}})"),
                       {"operator:test"});
  ASSERT_TRUE(job) << job.error().toString();
  gw_.executors.advance(kMinuteMs);
  answer(*cron, 0, "report");  // the turn ran: the runner's own errors apply to it
  EXPECT_EQ(runs(*cron, std::string(job->at("id").as_string()))[0].status, "ok");
}

}  // namespace
}  // namespace talon::gateway::automation
