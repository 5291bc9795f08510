// Heartbeats over real components (tests/support/gateway_components.h: an AgentRunner over the
// FakeModelProvider, ManualExecutors, a SimulatedClock, a loopback channel behind the outbox), in
// simulated time: the interval, HEARTBEAT.md skip and checklist, HEARTBEAT_OK / NO_REPLY suppression,
// delivery to a channel target, directPolicy block, active hours across midnight and across a DST change,
// escalation (backoff, alert, disable) and recovery, queued system events and wake; and the pure rules
// (effectively empty content, reply interpretation) against OpenClaw's cases.
#include "gateway/automation/heartbeat_service.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>

#include "gateway/channels/inbound_router.h"
#include "gateway/channels/loopback_channel.h"
#include "gateway/channels/outbound_dispatcher.h"
#include "gateway/health/alert_router.h"
#include "store/heartbeat_monitor_repository.h"
#include "store/session_route_repository.h"
#include "store/sqlite_store.h"
#include "support/gateway_components.h"
#include "support/inbound_messages.h"
#include "support/json_text.h"
#include "support/method_harness.h"

namespace talon::gateway::automation {
namespace {

using testing::jsonObject;
using testing::kHourMs;
using testing::kMinuteMs;

// --- pure rules ---------------------------------------------------------------------------------------

TEST(HeartbeatRulesTest, EffectivelyEmptyContentAsOpenClaw) {
  EXPECT_TRUE(isHeartbeatContentEffectivelyEmpty(""));
  EXPECT_TRUE(isHeartbeatContentEffectivelyEmpty("\n  \n"));
  EXPECT_TRUE(isHeartbeatContentEffectivelyEmpty("# Heartbeat checklist\n\n## Later\n"));
  EXPECT_TRUE(isHeartbeatContentEffectivelyEmpty("<!-- a comment\nover lines -->\n- [ ]\n- \n* [x]\n```markdown\n```"));
  EXPECT_TRUE(isHeartbeatContentEffectivelyEmpty("#\n+ [ ] \n"));
  EXPECT_FALSE(isHeartbeatContentEffectivelyEmpty("# Checklist\n- check the inbox\n"));
  EXPECT_FALSE(isHeartbeatContentEffectivelyEmpty("<!-- c --> do this"));
  EXPECT_FALSE(isHeartbeatContentEffectivelyEmpty("#hashtag is text"));
  EXPECT_FALSE(isHeartbeatContentEffectivelyEmpty("- [ ] water the plants"));
}

TEST(HeartbeatRulesTest, AcknowledgementsAreSuppressed) {
  EXPECT_TRUE(interpretHeartbeatReply("").suppress);
  EXPECT_TRUE(interpretHeartbeatReply("NO_REPLY").suppress);
  EXPECT_TRUE(interpretHeartbeatReply("  no_reply. ").suppress);
  EXPECT_TRUE(interpretHeartbeatReply("HEARTBEAT_OK").suppress);
  EXPECT_TRUE(interpretHeartbeatReply("**HEARTBEAT_OK**").suppress);
  EXPECT_TRUE(interpretHeartbeatReply("HEARTBEAT_OK all quiet here").suppress);
  EXPECT_TRUE(interpretHeartbeatReply("Nothing new. HEARTBEAT_OK.").suppress);
  EXPECT_TRUE(interpretHeartbeatReply("Nothing new. HEARTBEAT_OK.").acknowledged);

  // More than 300 characters besides the token: delivered, without the token.
  std::string longText(301, 'x');
  auto r = interpretHeartbeatReply("HEARTBEAT_OK " + longText);
  EXPECT_FALSE(r.suppress);
  EXPECT_EQ(r.text, longText);
  // Exactly 300 is still an acknowledgement.
  EXPECT_TRUE(interpretHeartbeatReply("HEARTBEAT_OK " + std::string(300, 'y')).suppress);

  // The token in the middle is not special; no token: the answer as is.
  auto middle = interpretHeartbeatReply("The HEARTBEAT_OK check found a problem");
  EXPECT_FALSE(middle.suppress);
  EXPECT_EQ(middle.text, "The HEARTBEAT_OK check found a problem");
  auto alert = interpretHeartbeatReply("  The disk is 95% full. ");
  EXPECT_FALSE(alert.suppress);
  EXPECT_FALSE(alert.acknowledged);
  EXPECT_EQ(alert.text, "The disk is 95% full.");
}

TEST(HeartbeatRulesTest, ActiveHoursAcrossMidnightAndDaylightSaving) {
  // 22:00–06:00 in Europe/Berlin (UTC+1 in winter).
  config::HeartbeatActiveHoursConfig night{22 * 60, 6 * 60, "Europe/Berlin"};
  const int64_t jan15utc = 1'736'899'200'000;  // 2025-01-15T00:00:00Z = 01:00 in Berlin
  EXPECT_EQ(withinActiveHours(night, jan15utc).value(), true);
  EXPECT_EQ(withinActiveHours(night, jan15utc + 5 * kHourMs - 1).value(), true);  // 05:59:59 local
  EXPECT_EQ(withinActiveHours(night, jan15utc + 5 * kHourMs).value(), false);     // 06:00 local: end exclusive
  EXPECT_EQ(withinActiveHours(night, jan15utc + 20 * kHourMs).value(), false);    // 21:00 local
  EXPECT_EQ(withinActiveHours(night, jan15utc + 21 * kHourMs).value(), true);     // 22:00 local: start inclusive

  // 09:00–17:00 in America/New_York around the spring change (2025-03-09, 02:00 EST → 03:00 EDT): 13:00Z
  // is 08:00 EST the day before and 09:00 EDT on the day.
  config::HeartbeatActiveHoursConfig office{9 * 60, 17 * 60, "America/New_York"};
  const int64_t mar8at13z = 1'741'438'800'000;  // 2025-03-08T13:00:00Z
  EXPECT_EQ(withinActiveHours(office, mar8at13z).value(), false);
  EXPECT_EQ(withinActiveHours(office, mar8at13z + 24 * kHourMs).value(), true);
  // The same in autumn (2025-11-02, 02:00 EDT → 01:00 EST): 21:30Z is 17:30 EDT before, 16:30 EST after.
  const int64_t nov1at2130z = 1'762'032'600'000;  // 2025-11-01T21:30:00Z
  EXPECT_EQ(withinActiveHours(office, nov1at2130z).value(), false);
  EXPECT_EQ(withinActiveHours(office, nov1at2130z + 24 * kHourMs).value(), true);

  config::HeartbeatActiveHoursConfig zero{8 * 60, 8 * 60, "UTC"};
  EXPECT_EQ(withinActiveHours(zero, jan15utc + 8 * kHourMs).value(), false) << "start == end is never inside";
  config::HeartbeatActiveHoursConfig allDay{0, 1440, "UTC"};
  EXPECT_EQ(withinActiveHours(allDay, jan15utc + 23 * kHourMs + 59 * kMinuteMs).value(), true);
  config::HeartbeatActiveHoursConfig bad{0, 60, "Mars/Olympus"};
  EXPECT_FALSE(withinActiveHours(bad, jan15utc).has_value());
}

// --- the service --------------------------------------------------------------------------------------

class HeartbeatServiceTest : public ::testing::Test {
 protected:
  struct NullSink final : channels::ChannelSink {
    void onInbound(std::string_view, routing::InboundMessage) override {}
  };

  HeartbeatServiceTest() {
    loopback_ = gw_.addLoopbackWithOutbox(sink_);
    bus_ = gw_.bus.subscribe(
        [this](const GatewayEvent& e) {
          if (e.name == "heartbeat") events_.push_back(jsonObject(*e.payloadJson));
        },
        EventBus::Interest::kEverySession);
  }
  ~HeartbeatServiceTest() override { gw_.bus.unsubscribe(bus_); }

  /// A service for agent "main" with `hb` over the defaults (target loopback — unless fillTarget_ is
  /// false — with to user:ops, every 30m).
  std::unique_ptr<HeartbeatService> makeService(config::HeartbeatConfig hb = {},
                                                config::CronEscalationConfig escalation = {},
                                                config::CronFailureAlertConfig alert = {},
                                                health::AlertRouter* alerts = nullptr) {
    if (!hb.target && fillTarget_) hb.target = "loopback";
    if (!hb.to && hb.target == "loopback") hb.to = "user:ops";
    config::EffectiveHeartbeat effective{"main", hb, "agents.defaults.heartbeat"};
    HeartbeatServiceDeps deps{gw_.clock,
                              gw_.executors.executors(),
                              gw_.runner.get(),
                              gw_.outbound.get(),
                              nullptr,
                              &gw_.healthRecords,
                              &gw_.metrics,
                              &gw_.bus,
                              &gw_.audit,
                              {effective},
                              escalation,
                              alert,
                              0,
                              {}};
    deps.alerts = alerts;
    deps.ownerAllowFrom = owners_;
    deps.channels = channels_;
    deps.store = routeStore_ ? routeStore_ : gw_.store.get();
    deps.models = models_;
    deps.skipMissedTicks = skipMissed_;
    auto service = HeartbeatService::create(std::move(deps));
    EXPECT_TRUE(service) << service.error().toString();
    return service ? std::move(*service) : nullptr;
  }

  /// Runs until agent main's saved monitor satisfies `pred` (the service's writes are queued).
  bool waitMonitor(const std::function<bool(const store::HeartbeatMonitorRecord&)>& pred) {
    return gw_.executors.runUntil([&] {
      auto all = store::HeartbeatMonitorRepository(*gw_.store).list();
      return all && all->size() == 1 && (*all)[0].agentId == "main" && pred((*all)[0]);
    });
  }

  void writeChecklist(std::string_view text) {
    std::ofstream(gw_.runner->agent("main")->workspace / "HEARTBEAT.md") << text;
  }

  /// Answers model call `i` with `text`, or fails it; runs until the heartbeat event of that turn.
  void answer(std::size_t i, std::optional<std::string> text) {
    ASSERT_TRUE(gw_.waitCalls(i + 1)) << "no model call " << i;
    const std::size_t before = events_.size();
    if (text) {
      gw_.provider->call(i)->answer(*text);
    } else {
      gw_.provider->call(i)->complete(fail(ErrorCode::kUpstream, "the model is down"));
    }
    ASSERT_TRUE(gw_.executors.runUntil([&] { return lastStatus(before) != ""; }));
  }

  /// The status of the first `heartbeat` run event after index `from` ("" when none yet).
  std::string lastStatus(std::size_t from = 0) {
    for (std::size_t i = from; i < events_.size(); ++i) {
      if (events_[i].contains("status")) return std::string(events_[i].at("status").as_string());
    }
    return "";
  }

  /// The status of the newest `heartbeat` run event ("" when none yet); escalation events carry none.
  std::string latestStatus() {
    for (auto it = events_.rbegin(); it != events_.rend(); ++it) {
      if (it->contains("status")) return std::string(it->at("status").as_string());
    }
    return "";
  }

  std::string userMessage(std::size_t call) {
    const auto& messages = gw_.provider->call(call)->request.messages;
    for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
      if (it->role == "user") return it->content;
    }
    return "";
  }

  double metric(std::string_view name, std::string_view label) {
    auto* family = gw_.metrics.find(name);
    if (!family) return -1;
    if (family->type() == health::MetricType::kCounter) return static_cast<double>(family->counter({label})->value());
    return family->gauge({label})->value();
  }

  std::vector<std::string> escalations() {
    std::vector<std::string> out;
    for (const auto& e : gw_.audit.ofKind("heartbeat.escalation")) {
      out.emplace_back(e.details.at("action").as_string());
    }
    return out;
  }

  std::optional<health::HealthState> healthState() {
    for (const auto& r : gw_.healthRecords.snapshot().records) {
      if (r.component == "heartbeat:main" && r.dimension == "runs") return r.state;
    }
    return std::nullopt;
  }

  /// The messages an inbound channel message records its route through (the gateway's wiring): an
  /// open access gate on the loopback channel, the default bindings (DMs in agent:main:main).
  std::unique_ptr<channels::InboundRouter> inboundRouter() {
    config::ChannelConfig lb;
    lb.id = "loopback";
    lb.access.dmPolicy = "open";
    lb.access.allowFrom = std::vector<std::string>{"*"};
    openChannels_.entries = {lb};
    gate_ = std::make_unique<routing::AccessGate>(openChannels_, gw_.store.get(), gw_.clock);
    auto router = channels::InboundRouter::create(
        gw_.config->config, gw_.agents->roster(), *gate_, *gw_.runner, gw_.metrics, gw_.audit,
        gw_.executors.executors(), [this](std::string_view id) { return gw_.channels.find(id); }, *gw_.outbound,
        gw_.store.get(), gw_.clock);
    EXPECT_TRUE(router) << router.error().toString();
    return router ? std::move(*router) : nullptr;
  }

  /// A direct loopback message from `peer`, routed, answered (model call `call`) and its route recorded.
  void messageFrom(channels::InboundRouter& router, const std::string& peer, std::size_t call,
                   const std::string& accountId = "") {
    auto m = talon::testing::directMessage(peer, "hello");
    m.channel = "loopback";
    m.accountId = accountId;
    router.onInbound("loopback", m);
    ASSERT_TRUE(gw_.waitCalls(call + 1));
    gw_.provider->call(call)->answer("hi " + peer);
    ASSERT_TRUE(gw_.executors.runUntil([&] {
      auto r = store::SessionRouteRepository(*gw_.store).get("agent:main:main");
      return r && *r && (*r)->to == "user:" + peer;
    }));
  }

  talon::testing::GatewayComponents gw_{talon::testing::GatewayComponentsOptions::forAutomations()};
  /// makeService gives a block without `target` the loopback target (false: it stays unset, "owner").
  bool fillTarget_ = true;
  /// HeartbeatServiceDeps::skipMissedTicks of the next makeService.
  bool skipMissed_ = false;
  std::vector<std::string> owners_;
  config::ChannelsConfig channels_;
  std::map<std::string, config::HeartbeatModel> models_;
  store::Store* routeStore_ = nullptr;
  config::ChannelsConfig openChannels_;
  std::unique_ptr<routing::AccessGate> gate_;
  NullSink sink_;
  channels::LoopbackChannel* loopback_ = nullptr;
  uint64_t bus_ = 0;
  std::vector<json::object> events_;
};

TEST_F(HeartbeatServiceTest, RunsEveryIntervalInTheMainSessionAndSuppressesAcknowledgements) {
  config::HeartbeatConfig hb;
  hb.everyMs = 30 * kMinuteMs;
  auto service = makeService(hb);
  ASSERT_TRUE(service);
  service->start();

  gw_.executors.advance(30 * kMinuteMs - 1);
  EXPECT_EQ(gw_.provider->count(), 0u) << "nothing before the first interval";
  gw_.executors.advance(1);
  answer(0, "HEARTBEAT_OK");
  EXPECT_EQ(userMessage(0), kDefaultHeartbeatPrompt);
  EXPECT_EQ(lastStatus(), "ok-token");
  EXPECT_TRUE(loopback_->sent().empty()) << "an acknowledgement is not delivered";
  const std::string runId(events_.back().at("runId").as_string());
  ASSERT_TRUE(gw_.executors.runUntil([&] { return gw_.outcome(runId).has_value(); }));
  EXPECT_EQ(gw_.outcome(runId)->sessionKey, "agent:main:main");

  gw_.executors.advance(30 * kMinuteMs);
  answer(1, "NO_REPLY");
  EXPECT_EQ(metric("talon_heartbeat_runs_total", "ok-token"), 2);
  EXPECT_EQ(healthState(), health::HealthState::kOk);
  ASSERT_TRUE(service->lastEvent());
  EXPECT_EQ(service->lastEvent()->at("status").as_string(), "ok-token");
  EXPECT_EQ(service->lastEvent()->at("agentId").as_string(), "main");
}

TEST_F(HeartbeatServiceTest, DeliversAnAlertToTheTargetAndHonoursDirectPolicy) {
  config::HeartbeatConfig hb;
  hb.everyMs = 10 * kMinuteMs;
  auto service = makeService(hb);
  ASSERT_TRUE(service);
  service->start();
  gw_.executors.advance(10 * kMinuteMs);
  answer(0, "The backup failed last night.");
  ASSERT_TRUE(gw_.executors.runUntil([&] { return loopback_->sent().size() == 1; }));
  EXPECT_EQ(loopback_->sent()[0].text, "The backup failed last night.");
  EXPECT_EQ(loopback_->sent()[0].peer.id, "ops");
  ASSERT_TRUE(gw_.executors.runUntil([&] { return latestStatus() == "sent"; }));
  EXPECT_EQ(events_.back().at("channel").as_string(), "loopback");
  EXPECT_EQ(events_.back().at("preview").as_string(), "The backup failed last night.");

  service->stop();
  service.reset();
  config::HeartbeatConfig blocked = hb;
  blocked.directPolicy = "block";
  auto second = makeService(blocked);
  ASSERT_TRUE(second);
  second->start();
  gw_.executors.advance(10 * kMinuteMs);
  answer(1, "Another alert.");
  EXPECT_EQ(events_.back().at("status").as_string(), "skipped");
  EXPECT_EQ(events_.back().at("reason").as_string(), "dm-blocked");
  EXPECT_EQ(loopback_->sent().size(), 1u) << "nothing more to a direct peer";
}

TEST_F(HeartbeatServiceTest, TargetNoneKeepsTheAnswerInternal) {
  config::HeartbeatConfig hb;
  hb.everyMs = 5 * kMinuteMs;
  hb.target = "none";
  auto service = makeService(hb);
  ASSERT_TRUE(service);
  service->start();
  gw_.executors.advance(5 * kMinuteMs);
  answer(0, "Something to say.");
  EXPECT_EQ(events_.back().at("status").as_string(), "skipped");
  EXPECT_EQ(events_.back().at("reason").as_string(), "target-none");
  EXPECT_TRUE(loopback_->sent().empty());
}

TEST_F(HeartbeatServiceTest, AnEffectivelyEmptyChecklistSkipsTheRunAndAChecklistJoinsThePrompt) {
  config::HeartbeatConfig hb;
  hb.everyMs = 15 * kMinuteMs;
  hb.prompt = "Check in.";
  auto service = makeService(hb);
  ASSERT_TRUE(service);
  writeChecklist("# Heartbeat checklist\n\n- [ ]\n<!-- nothing yet -->\n");
  service->start();
  gw_.executors.advance(15 * kMinuteMs);
  gw_.executors.runReady();
  EXPECT_EQ(gw_.provider->count(), 0u) << "no model call for an empty checklist";
  ASSERT_FALSE(events_.empty());
  EXPECT_EQ(events_.back().at("status").as_string(), "skipped");
  EXPECT_EQ(events_.back().at("reason").as_string(), "empty-heartbeat-file");

  writeChecklist("# Heartbeat checklist\n- look at the build\n");
  gw_.executors.advance(15 * kMinuteMs);
  answer(0, "HEARTBEAT_OK");
  EXPECT_EQ(userMessage(0), "Check in.\n\n# Heartbeat checklist\n- look at the build");
}

TEST_F(HeartbeatServiceTest, OutsideActiveHoursTicksAreSkipped) {
  // The simulated clock starts at 2023-11-14T22:13:20Z; the window is 08:00–22:00 UTC.
  config::HeartbeatConfig hb;
  hb.everyMs = kHourMs;
  hb.activeHours = config::HeartbeatActiveHoursConfig{8 * 60, 22 * 60, "UTC"};
  auto service = makeService(hb);
  ASSERT_TRUE(service);
  service->start();
  for (int i = 0; i < 9; ++i) gw_.executors.advance(kHourMs);  // 23:13 … 07:13: nine quiet ticks
  gw_.executors.runReady();
  EXPECT_EQ(gw_.provider->count(), 0u);
  EXPECT_EQ(metric("talon_heartbeat_runs_total", "skipped"), 9);
  EXPECT_EQ(events_.back().at("reason").as_string(), "quiet-hours");
  gw_.executors.advance(kHourMs);  // 08:13
  answer(0, "HEARTBEAT_OK");
  EXPECT_EQ(gw_.provider->count(), 1u);
}

// gateway.alerts get the heartbeat's incident: raised after `after` failures, resolved by a success.
TEST_F(HeartbeatServiceTest, AFailingHeartbeatIsAnIncidentForTheAlertTargets) {
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
  config::HeartbeatConfig hb;
  hb.everyMs = kHourMs;
  config::CronEscalationConfig esc;
  esc.retryInitialMs = kMinuteMs;
  config::CronFailureAlertConfig alert;
  alert.after = 2;
  auto service = makeService(hb, esc, alert, router->get());
  ASSERT_TRUE(service);
  service->start();
  auto toOncall = [&] {
    std::vector<std::string> texts;
    for (const auto& m : loopback_->sent()) {
      if (m.peer.id == "oncall") texts.push_back(m.text);
    }
    return texts;
  };

  gw_.executors.advance(kHourMs);
  answer(0, std::nullopt);
  EXPECT_TRUE((*router)->openIncidents().empty()) << "one failure is below `after`";
  gw_.executors.advance(kMinuteMs);
  answer(1, std::nullopt);
  EXPECT_EQ((*router)->openIncidents(), std::vector<std::string>{"heartbeat:main"});
  ASSERT_TRUE(gw_.executors.runUntil([&] { return toOncall().size() == 1; }));
  EXPECT_NE(toOncall()[0].find("Heartbeat of agent main is failing"), std::string::npos) << toOncall()[0];

  gw_.executors.advance(2 * kMinuteMs);
  answer(2, "HEARTBEAT_OK");
  EXPECT_TRUE((*router)->openIncidents().empty());
  ASSERT_TRUE(gw_.executors.runUntil([&] { return toOncall().size() == 2; }));
  EXPECT_NE(toOncall()[1].find("succeeded again after 2 failed runs"), std::string::npos) << toOncall()[1];
}

TEST_F(HeartbeatServiceTest, FailuresBackOffAlertDisableAndRecover) {
  config::HeartbeatConfig hb;
  hb.everyMs = kHourMs;
  config::CronEscalationConfig esc;
  esc.retryInitialMs = kMinuteMs;
  esc.retryMaxMs = 4 * kMinuteMs;
  esc.disableAfter = 4;
  config::CronFailureAlertConfig alert;
  alert.after = 2;
  auto service = makeService(hb, esc, alert);
  ASSERT_TRUE(service);
  service->start();

  gw_.executors.advance(kHourMs);
  answer(0, std::nullopt);
  EXPECT_EQ(latestStatus(), "failed");
  EXPECT_EQ(healthState(), health::HealthState::kDegraded);
  EXPECT_EQ(metric("talon_heartbeat_consecutive_errors", "main"), 1);
  EXPECT_EQ(service->status()[0].nextDueAtMs, gw_.clock->nowMs() + kMinuteMs) << "the retry waits the backoff";

  gw_.executors.advance(kMinuteMs);
  answer(1, std::nullopt);  // second failure: an alert to the heartbeat's own target
  ASSERT_TRUE(gw_.executors.runUntil([&] { return loopback_->sent().size() == 1; }));
  EXPECT_NE(loopback_->sent()[0].text.find("Heartbeat of agent main failed 2 times in a row"), std::string::npos)
      << loopback_->sent()[0].text;
  EXPECT_EQ(service->status()[0].nextDueAtMs, gw_.clock->nowMs() + 2 * kMinuteMs);

  gw_.executors.advance(2 * kMinuteMs);
  answer(2, "HEARTBEAT_OK");  // recovery
  ASSERT_TRUE(gw_.executors.runUntil([&] { return loopback_->sent().size() == 2; }));
  EXPECT_NE(loopback_->sent()[1].text.find("recovered after 2 failed runs"), std::string::npos);
  EXPECT_EQ(healthState(), health::HealthState::kOk);
  EXPECT_EQ(metric("talon_heartbeat_consecutive_errors", "main"), 0);
  EXPECT_EQ(service->status()[0].nextDueAtMs, gw_.clock->nowMs() + kHourMs) << "back on its cadence";

  // Four failures in a row disable the heartbeat.
  std::size_t call = 3;
  gw_.executors.advance(kHourMs);
  answer(call++, std::nullopt);
  for (int64_t wait : {kMinuteMs, 2 * kMinuteMs, 4 * kMinuteMs}) {
    gw_.executors.advance(wait);
    answer(call++, std::nullopt);
  }
  EXPECT_EQ(healthState(), health::HealthState::kFailed);
  EXPECT_EQ(service->status()[0].disabledReason, "consecutive-failures");
  EXPECT_EQ(service->status()[0].nextDueAtMs, 0);
  gw_.executors.advance(10 * kHourMs);
  gw_.executors.runReady();
  EXPECT_EQ(gw_.provider->count(), call) << "a disabled heartbeat does not run";
  EXPECT_EQ(escalations(), (std::vector<std::string>{"backoff", "backoff", "alert", "recovery", "backoff", "backoff",
                                                     "alert", "backoff", "disable"}));
  EXPECT_EQ(metric("talon_heartbeat_escalations_total", "disable"), 1);

  // set-heartbeats enables it again with a fresh count.
  service->setEnabled(true, "operator:test");
  EXPECT_EQ(service->status()[0].disabledReason, "");
  EXPECT_EQ(service->status()[0].consecutiveErrors, 0);
  gw_.executors.advance(kHourMs);
  answer(call, "HEARTBEAT_OK");
  EXPECT_EQ(gw_.audit.ofKind("heartbeat.set").size(), 1u);
}

TEST_F(HeartbeatServiceTest, QueuedSystemEventsRideTheNextHeartbeatAndWakeRunsAtOnce) {
  config::HeartbeatConfig hb;
  hb.everyMs = kHourMs;
  hb.prompt = "Beat.";
  auto service = makeService(hb);
  ASSERT_TRUE(service);
  service->start();
  ASSERT_TRUE(service->enqueueSystemEvent("main", "The deploy finished."));
  EXPECT_EQ(service->status()[0].queuedSystemEvents, 1u);
  ASSERT_TRUE(service->wake("main", "cron"));
  answer(0, "HEARTBEAT_OK");
  EXPECT_EQ(userMessage(0), "System: The deploy finished.\n\nBeat.");
  EXPECT_EQ(service->status()[0].queuedSystemEvents, 0u);
  EXPECT_EQ(service->status()[0].nextDueAtMs, gw_.clock->nowMs() + kHourMs) << "a wake restarts the cadence";
  EXPECT_FALSE(service->wake("other", ""));
}

TEST_F(HeartbeatServiceTest, CreateRefusesAnUnknownTimeZone) {
  config::HeartbeatConfig hb;
  hb.target = "none";
  hb.activeHours = config::HeartbeatActiveHoursConfig{0, 600, "Not/AZone"};
  config::EffectiveHeartbeat effective{"main", hb, "agents.defaults.heartbeat"};
  auto service = HeartbeatService::create(HeartbeatServiceDeps{gw_.clock,
                                                               gw_.executors.executors(),
                                                               gw_.runner.get(),
                                                               nullptr,
                                                               nullptr,
                                                               &gw_.healthRecords,
                                                               &gw_.metrics,
                                                               &gw_.bus,
                                                               &gw_.audit,
                                                               {effective},
                                                               {},
                                                               {},
                                                               0,
                                                               {}});
  ASSERT_FALSE(service);
  EXPECT_NE(service.error().message.find("agents.defaults.heartbeat.activeHours.timezone"), std::string::npos)
      << service.error().message;
}

// --- targets owner and last, model, lightContext ------------------------------------------------------

TEST_F(HeartbeatServiceTest, OwnerTargetIsTheFirstOwnerAllowFromEntry) {
  config::ChannelConfig lb;
  lb.id = "loopback";
  lb.access.allowFrom = std::vector<std::string>{"ops"};
  channels_.entries = {lb};
  owners_ = {"*", "loopback:boss"};
  config::HeartbeatConfig hb;
  hb.target = "owner";
  hb.everyMs = 10 * kMinuteMs;
  auto service = makeService(hb);
  ASSERT_TRUE(service);
  service->start();
  gw_.executors.advance(10 * kMinuteMs);
  answer(0, "The backup failed.");
  ASSERT_TRUE(gw_.executors.runUntil([&] { return loopback_->sent().size() == 1; }));
  EXPECT_EQ(loopback_->sent()[0].peer.id, "boss");
  EXPECT_EQ(loopback_->sent()[0].peer.kind, routing::PeerKind::kDirect);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return latestStatus() == "sent"; }));
  EXPECT_EQ(events_.back().at("to").as_string(), "boss");
}

TEST_F(HeartbeatServiceTest, OwnerTargetFallsBackToTheChannelAllowFromByDefault) {
  config::ChannelConfig lb;
  lb.id = "loopback";
  lb.access.allowFrom = std::vector<std::string>{"*", "ops2"};
  channels_.entries = {lb};
  owners_ = {"group:family"};  // never a group
  fillTarget_ = false;
  config::HeartbeatConfig hb;  // no target: "owner"
  hb.everyMs = 10 * kMinuteMs;
  auto service = makeService(hb);
  ASSERT_TRUE(service);
  service->start();
  gw_.executors.advance(10 * kMinuteMs);
  answer(0, "Something needs you.");
  ASSERT_TRUE(gw_.executors.runUntil([&] { return loopback_->sent().size() == 1; }));
  EXPECT_EQ(loopback_->sent()[0].peer.id, "ops2");
}

TEST_F(HeartbeatServiceTest, WithoutAnOwnerTheTickIsSkippedBeforeTheModel) {
  config::ChannelConfig lb;
  lb.id = "loopback";
  lb.access.allowFrom = std::vector<std::string>{"*"};  // wildcard-only: no owner
  channels_.entries = {lb};
  config::HeartbeatConfig hb;
  hb.target = "owner";
  hb.everyMs = 10 * kMinuteMs;
  auto service = makeService(hb);
  ASSERT_TRUE(service);
  service->start();
  gw_.executors.advance(10 * kMinuteMs);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return lastStatus() != ""; }));
  EXPECT_EQ(lastStatus(), "skipped");
  EXPECT_EQ(events_.back().at("reason").as_string(), "no-route");
  gw_.executors.runReady();
  EXPECT_EQ(gw_.provider->count(), 0u) << "no model call without a route";
  EXPECT_EQ(metric("talon_heartbeat_runs_total", "skipped"), 1);
  // The next tick comes `every` later.
  gw_.executors.advance(10 * kMinuteMs);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return events_.size() == 2; }));
  EXPECT_EQ(gw_.provider->count(), 0u);
}

TEST_F(HeartbeatServiceTest, LastTargetFollowsTheLastInboundConversation) {
  auto router = inboundRouter();
  ASSERT_TRUE(router);
  config::HeartbeatConfig hb;
  hb.target = "last";
  hb.everyMs = 10 * kMinuteMs;
  auto service = makeService(hb);
  ASSERT_TRUE(service);
  service->start();
  gw_.executors.advance(10 * kMinuteMs);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return lastStatus() != ""; }));
  EXPECT_EQ(events_.back().at("reason").as_string(), "no-route") << "nothing received yet";

  messageFrom(*router, "alice", 0);
  messageFrom(*router, "bob", 1);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return loopback_->sent().size() == 2; }));  // the two replies
  gw_.executors.advance(10 * kMinuteMs);
  answer(2, "Bob, the deploy is stuck.");
  ASSERT_TRUE(gw_.executors.runUntil([&] { return loopback_->sent().size() == 3; }));
  EXPECT_EQ(loopback_->sent()[2].peer.id, "bob") << "the last conversation";
  EXPECT_EQ(loopback_->sent()[2].text, "Bob, the deploy is stuck.");

  // sessions.list shows the route as OpenClaw's lastChannel / lastTo.
  talon::testing::MethodHarness harness{gw_};
  ASSERT_TRUE(harness.ok());
  auto listed = harness.call("sessions.list", talon::testing::jsonValue("{}"));
  ASSERT_TRUE(listed.ok) << (listed.error ? listed.error->toString() : "");
  bool found = false;
  for (const auto& row : listed.payload.at("sessions").as_array()) {
    if (row.at("key").as_string() != "agent:main:main") continue;
    found = true;
    EXPECT_EQ(row.at("lastChannel").as_string(), "loopback");
    EXPECT_EQ(row.at("lastTo").as_string(), "user:bob");
    EXPECT_FALSE(row.as_object().contains("lastAccountId")) << "the default account";
  }
  EXPECT_TRUE(found);
}

TEST_F(HeartbeatServiceTest, LastRouteSurvivesARestart) {
  {
    auto router = inboundRouter();
    ASSERT_TRUE(router);
    messageFrom(*router, "carol", 0);
  }
  // Another process over the same database: the route was persisted.
  store::SqliteStoreOptions options;
  options.path = gw_.dir / "state" / "talon.sqlite";
  auto reopened = store::openSqliteStore(options);
  ASSERT_TRUE(reopened) << reopened.error().toString();
  routeStore_ = reopened->get();
  auto route = store::SessionRouteRepository(**reopened).get("agent:main:main");
  ASSERT_TRUE(route && *route);
  EXPECT_EQ((*route)->channel, "loopback");
  EXPECT_EQ((*route)->chatType, "direct");

  config::HeartbeatConfig hb;
  hb.target = "last";
  hb.everyMs = 10 * kMinuteMs;
  auto service = makeService(hb);
  ASSERT_TRUE(service);
  service->start();
  ASSERT_TRUE(gw_.executors.runUntil([&] { return loopback_->sent().size() == 1; }));  // the reply to carol
  gw_.executors.advance(10 * kMinuteMs);
  answer(1, "Carol, the invoice is due.");
  ASSERT_TRUE(gw_.executors.runUntil([&] { return loopback_->sent().size() == 2; }));
  EXPECT_EQ(loopback_->sent()[1].peer.id, "carol");
  service->stop();
  (*reopened)->close();
}

TEST_F(HeartbeatServiceTest, AnAccountTheLastChannelDoesNotHaveSkipsDelivery) {
  auto router = inboundRouter();
  ASSERT_TRUE(router);
  messageFrom(*router, "dave", 0);
  config::ChannelConfig lb;
  lb.id = "loopback";
  lb.accounts["default"] = {};
  channels_.entries = {lb};
  config::HeartbeatConfig hb;
  hb.target = "last";
  hb.accountId = "ops-bot";
  hb.everyMs = 10 * kMinuteMs;
  auto service = makeService(hb);
  ASSERT_TRUE(service);
  service->start();
  gw_.executors.advance(10 * kMinuteMs);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return lastStatus() != ""; }));
  EXPECT_EQ(lastStatus(), "skipped");
  EXPECT_EQ(events_.back().at("reason").as_string(), "unknown-account");
  gw_.executors.runReady();
  EXPECT_EQ(gw_.provider->count(), 1u) << "only the inbound message's turn called the model";
}

TEST_F(HeartbeatServiceTest, ModelOverrideAndLightContextReachTheModelCall) {
  std::ofstream(gw_.runner->agent("main")->workspace / "AGENTS.md") << "You are the ops agent.";
  config::HeartbeatConfig hb;
  hb.target = "none";
  hb.everyMs = 10 * kMinuteMs;
  auto full = makeService(hb);
  ASSERT_TRUE(full);
  full->start();
  gw_.executors.advance(10 * kMinuteMs);
  answer(0, "NO_REPLY");
  const auto& first = gw_.provider->call(0)->request;
  EXPECT_EQ(first.model, "model-1") << "the agent's own model";
  ASSERT_FALSE(first.messages.empty());
  EXPECT_EQ(first.messages[0].role, "system");
  EXPECT_NE(first.messages[0].content.find("You are the ops agent."), std::string::npos);
  full->stop();
  full.reset();

  models_["main"] = config::HeartbeatModel{"fake/model-cheap", {}};
  models_["main"].params.maxTokens = 256;
  hb.lightContext = true;
  writeChecklist("- check the queue\n");
  auto light = makeService(hb);
  ASSERT_TRUE(light);
  light->start();
  gw_.executors.advance(10 * kMinuteMs);
  answer(1, "NO_REPLY");
  const auto& second = gw_.provider->call(1)->request;
  EXPECT_EQ(second.model, "model-cheap");
  EXPECT_EQ(second.maxTokens, 256);
  for (const auto& m : second.messages) {
    EXPECT_NE(m.role, "system") << "no bootstrap files with lightContext";
    EXPECT_EQ(m.content.find("You are the ops agent."), std::string::npos);
  }
  EXPECT_NE(userMessage(1).find("- check the queue"), std::string::npos) << "the checklist is still sent";
}

// --- the persisted monitor schedule -------------------------------------------------------------------

TEST_F(HeartbeatServiceTest, TheScheduleSurvivesARestart) {
  config::HeartbeatConfig hb;
  hb.everyMs = kHourMs;
  const int64_t start = gw_.clock->nowMs();
  {
    auto first = makeService(hb);
    ASSERT_TRUE(first);
    first->start();
    ASSERT_TRUE(waitMonitor([&](const store::HeartbeatMonitorRecord& m) { return m.nextDueAtMs == start + kHourMs; }));
    gw_.executors.advance(20 * kMinuteMs);
    first->stop();
  }
  // The gateway is down for 10 minutes; the next one resumes the saved tick instead of a fresh hour.
  gw_.executors.advance(10 * kMinuteMs);
  auto second = makeService(hb);
  ASSERT_TRUE(second);
  second->start();
  EXPECT_EQ(second->status()[0].nextDueAtMs, start + kHourMs);
  gw_.executors.advance(30 * kMinuteMs - 1);
  EXPECT_EQ(gw_.provider->count(), 0u);
  gw_.executors.advance(1);
  answer(0, "HEARTBEAT_OK");
  ASSERT_TRUE(waitMonitor([&](const store::HeartbeatMonitorRecord& m) {
    return m.nextDueAtMs == start + 2 * kHourMs && m.lastRunAtMs == start + kHourMs;
  }));
}

TEST_F(HeartbeatServiceTest, ATickMissedWhileDownRunsOnceOrIsSkipped) {
  config::HeartbeatConfig hb;
  hb.everyMs = 10 * kMinuteMs;
  const int64_t start = gw_.clock->nowMs();
  {
    auto first = makeService(hb);
    ASSERT_TRUE(first);
    first->start();
    ASSERT_TRUE(
        waitMonitor([&](const store::HeartbeatMonitorRecord& m) { return m.nextDueAtMs == start + 10 * kMinuteMs; }));
    first->stop();
  }
  gw_.executors.advance(25 * kMinuteMs);  // two slots missed
  skipMissed_ = true;
  {
    auto skipping = makeService(hb);
    ASSERT_TRUE(skipping);
    skipping->start();
    EXPECT_EQ(skipping->status()[0].nextDueAtMs, start + 30 * kMinuteMs) << "the next slot of the old cadence";
    gw_.executors.runReady();
    EXPECT_EQ(gw_.provider->count(), 0u);
    skipping->stop();
  }
  ASSERT_TRUE(
      waitMonitor([&](const store::HeartbeatMonitorRecord& m) { return m.nextDueAtMs == start + 30 * kMinuteMs; }));
  gw_.executors.advance(10 * kMinuteMs);  // that slot is missed too
  skipMissed_ = false;
  auto catchingUp = makeService(hb);
  ASSERT_TRUE(catchingUp);
  catchingUp->start();
  gw_.executors.advance(0);
  answer(0, "HEARTBEAT_OK");  // the missed tick runs once, at start
  EXPECT_EQ(gw_.provider->count(), 1u);
  EXPECT_EQ(catchingUp->status()[0].nextDueAtMs, gw_.clock->nowMs() + 10 * kMinuteMs);
}

TEST_F(HeartbeatServiceTest, AnAutomaticDisableSurvivesARestartUntilTheConfigChanges) {
  config::HeartbeatConfig hb;
  hb.everyMs = kHourMs;
  config::CronEscalationConfig esc;
  esc.retryInitialMs = kMinuteMs;
  esc.retryMaxMs = kMinuteMs;
  esc.disableAfter = 2;
  {
    auto first = makeService(hb, esc);
    ASSERT_TRUE(first);
    first->start();
    gw_.executors.advance(kHourMs);
    answer(0, std::nullopt);
    gw_.executors.advance(kMinuteMs);
    answer(1, std::nullopt);
    EXPECT_EQ(first->status()[0].disabledReason, "consecutive-failures");
    ASSERT_TRUE(waitMonitor([&](const store::HeartbeatMonitorRecord& m) {
      return m.disabledReason == "consecutive-failures" && m.consecutiveErrors == 2;
    }));
    first->stop();
  }
  {
    auto second = makeService(hb, esc);
    ASSERT_TRUE(second);
    second->start();
    auto s = second->status()[0];
    EXPECT_EQ(s.disabledReason, "consecutive-failures") << "a restart does not re-enable a failing heartbeat";
    EXPECT_EQ(s.consecutiveErrors, 2);
    EXPECT_EQ(s.nextDueAtMs, 0);
    EXPECT_EQ(healthState(), health::HealthState::kFailed);
    gw_.executors.advance(3 * kHourMs);
    gw_.executors.runReady();
    EXPECT_EQ(gw_.provider->count(), 2u);
    second->stop();
  }
  // A changed heartbeat config starts afresh.
  hb.prompt = "Check the queue.";
  auto third = makeService(hb, esc);
  ASSERT_TRUE(third);
  third->start();
  EXPECT_EQ(third->status()[0].disabledReason, "");
  EXPECT_EQ(third->status()[0].consecutiveErrors, 0);
  EXPECT_EQ(third->status()[0].nextDueAtMs, gw_.clock->nowMs() + kHourMs);
  ASSERT_TRUE(waitMonitor(
      [&](const store::HeartbeatMonitorRecord& m) { return m.disabledReason.empty() && m.consecutiveErrors == 0; }));
}

TEST_F(HeartbeatServiceTest, WithoutARouteAWakeWithEventsStillRunsInternally) {
  fillTarget_ = false;  // target "owner", and nobody is an owner
  config::HeartbeatConfig hb;
  hb.everyMs = kHourMs;
  auto service = makeService(hb);
  ASSERT_TRUE(service);
  service->start();
  ASSERT_TRUE(service->enqueueSystemEvent("main", "The backup finished."));
  ASSERT_TRUE(service->wake("main", "cron"));
  answer(0, "The backup of tonight finished.");
  EXPECT_EQ(userMessage(0).rfind("System: The backup finished.", 0), 0u) << userMessage(0);
  EXPECT_EQ(lastStatus(), "skipped");
  EXPECT_EQ(events_.back().at("reason").as_string(), "no-route");
  EXPECT_EQ(events_.back().at("message").as_string(), kHeartbeatNoRouteMessage);
  gw_.executors.runReady();
  EXPECT_TRUE(loopback_->sent().empty()) << "nothing to deliver to";
  // A plain scheduled tick without events still skips before the model.
  gw_.executors.advance(kHourMs);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return events_.size() >= 2; }));
  EXPECT_EQ(events_.back().at("reason").as_string(), "no-route");
  gw_.executors.runReady();
  EXPECT_EQ(gw_.provider->count(), 1u);
}

}  // namespace
}  // namespace talon::gateway::automation
