#include "fleet/rollout.h"

#include <gtest/gtest.h>

#include <set>

#include "base/hash.h"
#include "fleet/fleet_test_util.h"

namespace talon::fleet {
namespace {

using testing::TempDir;

// ---- the step planner ----

std::vector<std::vector<std::string>> rolloutStepGateways(const std::vector<RolloutStep>& steps) {
  std::vector<std::vector<std::string>> out;
  for (const auto& s : steps) out.push_back(s.gateways);
  return out;
}

TEST(RolloutPlanner, CanaryFirstThenWavesInIdOrder) {
  auto steps = planRolloutSteps({"e", "b", "a", "d", "c"}, 1, 2);
  ASSERT_TRUE(steps);
  ASSERT_EQ(steps->size(), 3u);
  EXPECT_EQ((*steps)[0].label(), "canary");
  EXPECT_EQ((*steps)[1].label(), "wave 1");
  EXPECT_EQ((*steps)[2].label(), "wave 2");
  EXPECT_EQ(rolloutStepGateways(*steps), (std::vector<std::vector<std::string>>{{"a"}, {"b", "c"}, {"d", "e"}}));
}

TEST(RolloutPlanner, IsDeterministicWhateverTheInputOrder) {
  auto one = planRolloutSteps({"gw-c", "gw-a", "gw-b", "gw-d"}, 2, 1);
  auto two = planRolloutSteps({"gw-d", "gw-b", "gw-a", "gw-c", "gw-a"}, 2, 1);
  ASSERT_TRUE(one && two);
  EXPECT_EQ(rolloutStepGateways(*one), rolloutStepGateways(*two));
  EXPECT_EQ(rolloutStepGateways(*one), (std::vector<std::vector<std::string>>{{"gw-a", "gw-b"}, {"gw-c"}, {"gw-d"}}));
}

TEST(RolloutPlanner, EdgeCases) {
  auto none = planRolloutSteps({}, 1, 1);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto bigCanary = planRolloutSteps({"a", "b"}, 5, 1);
  ASSERT_TRUE(bigCanary);
  EXPECT_EQ(rolloutStepGateways(*bigCanary), (std::vector<std::vector<std::string>>{{"a", "b"}}));
  auto bigWave = planRolloutSteps({"a", "b", "c", "d"}, 1, 10);
  ASSERT_TRUE(bigWave);
  EXPECT_EQ(rolloutStepGateways(*bigWave), (std::vector<std::vector<std::string>>{{"a"}, {"b", "c", "d"}}));
  EXPECT_FALSE(planRolloutSteps({"a"}, 0, 1));
  EXPECT_FALSE(planRolloutSteps({"a"}, 1, 0));
}

TEST(RolloutTargetParse, RevisionsVersionsAndTheInventory) {
  auto inv = parseRolloutTarget("");
  ASSERT_TRUE(inv);
  EXPECT_EQ(inv->kind, RolloutTarget::Kind::kInventory);
  auto rev = parseRolloutTarget("3");
  ASSERT_TRUE(rev);
  EXPECT_EQ(rev->kind, RolloutTarget::Kind::kRevision);
  EXPECT_EQ(rev->revision, 3);
  auto rev2 = parseRolloutTarget("revision:12");
  ASSERT_TRUE(rev2);
  EXPECT_EQ(rev2->revision, 12);
  auto ver = parseRolloutTarget("1.2.0");
  ASSERT_TRUE(ver);
  EXPECT_EQ(ver->kind, RolloutTarget::Kind::kVersion);
  EXPECT_EQ(ver->version, "1.2.0");
  EXPECT_EQ(ver->describe(), "version 1.2.0");
  auto numericVersion = parseRolloutTarget("version:2026");
  ASSERT_TRUE(numericVersion);
  EXPECT_EQ(numericVersion->kind, RolloutTarget::Kind::kVersion);
  EXPECT_FALSE(parseRolloutTarget("revision:x"));
  EXPECT_FALSE(parseRolloutTarget("revision:0"));
  EXPECT_FALSE(parseRolloutTarget("version:"));
}

// ---- the gate ----

json::object rolloutHealth(const std::string& text) {
  auto v = parseJson(text);
  return v && v->is_object() ? v->as_object() : json::object{};
}

TEST(RolloutGate, NeedsReadyzHealthAndChannels) {
  ProbeResult ready{200, ""};
  ProbeResult notReady{503, ""};
  EXPECT_TRUE(evaluateGate(ready, rolloutHealth(R"({"ok":true,"channels":{}})")).ok);

  auto g = evaluateGate(notReady, rolloutHealth(R"({"ok":true})"));
  EXPECT_FALSE(g.ok);
  EXPECT_EQ(g.check, "readyz");
  EXPECT_EQ(g.detail, "/readyz answered 503");

  g = evaluateGate(ready, fail(ErrorCode::kUnauthenticated, "token mismatch"));
  EXPECT_EQ(g.check, "health");
  EXPECT_NE(g.detail.find("token mismatch"), std::string::npos);

  g = evaluateGate(ready, rolloutHealth(R"({"ok":false})"));
  EXPECT_EQ(g.check, "health");

  g = evaluateGate(ready,
                   rolloutHealth(
                       R"({"ok":true,"channels":{"telegram":{"accounts":{"bot1":{"enabled":true,"configured":true,
                                  "running":true,"probe":{"ok":false,"error":"401 Unauthorized"}}}}}})"));
  EXPECT_EQ(g.check, "channels");
  EXPECT_EQ(g.detail, "channel account telegram/bot1: probe failed: 401 Unauthorized");

  g = evaluateGate(ready, rolloutHealth(R"({"ok":true,"channels":{"slack":{"accounts":{"w":{"running":false,
                                  "lastError":"socket closed"}}}}})"));
  EXPECT_EQ(g.check, "channels");
  EXPECT_EQ(g.detail, "channel account slack/w is not running: socket closed");

  // A disabled or unconfigured account is not gated.
  EXPECT_TRUE(evaluateGate(ready, rolloutHealth(R"({"ok":true,"channels":{"slack":{"accounts":{
                                  "off":{"enabled":false,"running":false},"new":{"configured":false,"running":false},
                                  "up":{"running":true,"probe":{"ok":true}}}}}})"))
                  .ok);
}

// ---- the runner, with a fake of the Deployer seam ----

/// What the fake "runs": per gateway, the config and binary deployed last, and a record of the calls.
struct FakeFleetState {
  std::map<std::string, DeployTarget> running;
  std::vector<std::string> calls;
  /// Binaries whose gateways never become ready.
  std::set<std::string> brokenBinaries;
  /// Binaries whose deploy fails outright (the process exits).
  std::set<std::string> crashingBinaries;
  /// Reach gateways through a tunnel of the deployer (as the ssh provider does) rather than directly.
  bool tunnels = false;
  /// Gateways whose tunnel cannot be opened.
  std::set<std::string> unreachable;
};

class FakeRolloutDeployer final : public Deployer {
 public:
  explicit FakeRolloutDeployer(FakeFleetState& state) : state_(state) {}
  Status check(const DeployTarget&, const DeployContext&) const override { return {}; }
  Result<ApplyAction> apply(const DeployTarget& target, const DeployContext&, bool) override {
    state_.calls.push_back("apply " + target.id + " " + target.binary);
    if (state_.crashingBinaries.count(target.binary))
      return fail(ErrorCode::kUnavailable, "gateway " + target.id + " exited");
    bool was = state_.running.count(target.id) != 0;
    state_.running[target.id] = target;
    return was ? ApplyAction::kRestarted : ApplyAction::kStarted;
  }
  Status start(const DeployTarget& target, const DeployContext&) override {
    state_.calls.push_back("start " + target.id);
    return {};
  }
  Status stop(const DeployTarget& target, const DeployContext&) override {
    state_.calls.push_back("stop " + target.id);
    state_.running.erase(target.id);
    return {};
  }
  GatewayRuntimeStatus status(const DeployTarget&, const DeployContext&) override { return {}; }
  Result<std::string> logs(const DeployTarget&, const DeployContext&, std::size_t) override { return std::string(); }
  Result<GatewayAddress> gatewayAddress(const DeployTarget& target, const DeployContext& context) override {
    if (!state_.tunnels) return Deployer::gatewayAddress(target, context);
    if (state_.unreachable.count(target.id))
      return fail(ErrorCode::kUnavailable, "gateway " + target.id + " on host h: ssh h failed (forwarding)");
    state_.calls.push_back("open tunnel " + target.id + " to " + target.probeHost + ":" + std::to_string(target.port));
    FakeFleetState& state = state_;
    std::string id = target.id;
    return GatewayAddress("127.0.0.2", 40000, "ssh-tunnel",
                          [&state, id] { state.calls.push_back("close tunnel " + id); });
  }

 private:
  FakeFleetState& state_;
};

GateProbes fakeRolloutProbes(FakeFleetState& state, int& observations) {
  GateProbes p;
  p.readyz = [&state, &observations](const DeployTarget& t) {
    ++observations;
    auto it = state.running.find(t.id);
    if (it == state.running.end()) return ProbeResult{0, "connection refused"};
    return state.brokenBinaries.count(it->second.binary) ? ProbeResult{503, ""} : ProbeResult{200, ""};
  };
  p.health = [](const DeployTarget&) -> Result<json::object> { return json::object{{"ok", true}}; };
  return p;
}

class RolloutRunner : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = RevisionStore::open(dir_.path() / "fleet");
    ASSERT_TRUE(r);
    revisions_ = std::move(*r);
    auto b = BackupStore::open(dir_.path() / "fleet");
    ASSERT_TRUE(b);
    backups_ = std::move(*b);
    for (const char* id : {"gw-a", "gw-b", "gw-c"}) deployers_[id] = std::make_unique<FakeRolloutDeployer>(state_);
    context_.fleetStateDir = dir_.path() / "fleet";
    clock_ = std::make_shared<SimulatedClock>();
  }

  DeployTarget target(const std::string& id, const std::string& binary, const std::string& config) {
    DeployTarget t;
    t.id = id;
    t.runtime = "talon";
    t.provider = "process";
    t.port = 18000;
    t.paths.stateDir = (dir_.path() / id / "state").string();
    t.paths.configPath = (dir_.path() / id / "state" / "openclaw.json").string();
    t.configText = config;
    t.binary = binary;
    t.version = binary.empty() ? "" : binary.substr(binary.rfind('/') + 1);
    return t;
  }

  /// Records revision 1 with every gateway on `binary` and marks them running.
  void deployed(const std::string& binary) {
    DeploymentRevision r;
    r.id = 1;
    r.actor = "t";
    for (const char* id : {"gw-a", "gw-b", "gw-c"}) {
      auto t = target(id, binary, R"({"gateway":{"port":18000}})");
      GatewayRevision g;
      g.id = id;
      g.runtime = "talon";
      g.provider = "process";
      g.configPath = t.paths.configPath;
      g.content = t.configText;
      g.sha256 = sha256Hex(t.configText);
      g.binary = binary;
      g.version = t.version;
      r.gateways.push_back(g);
      state_.running[id] = t;
    }
    ASSERT_TRUE(revisions_->record(r));
  }

  std::vector<RolloutUnit> unitsTo(const std::string& binary) {
    auto applied = revisions_->lastApplied();
    EXPECT_TRUE(applied);
    std::vector<RolloutUnit> out;
    for (auto& [id, d] : deployers_) {
      RolloutUnit u;
      u.desired = target(id, binary, R"({"gateway":{"port":18000}})");
      u.deployer = d.get();
      if (auto it = applied->find(id); it != applied->end()) u.lastGood = it->second;
      out.push_back(std::move(u));
    }
    return out;
  }

  Result<RolloutReport> run(std::vector<RolloutUnit>& units, std::size_t canary, std::size_t wave) {
    RolloutOptions o;
    o.actor = "tester";
    o.canary = canary;
    o.wave = wave;
    o.gateTimeout = std::chrono::milliseconds(10'000);
    o.gateInterval = std::chrono::milliseconds(1'000);
    o.clock = clock_;
    o.sleep = [this](std::chrono::milliseconds d) { clock_->advance(d.count()); };
    o.targetDescription = "version test";
    o.onState = [this](const std::string& g, const std::string& s, const std::string&) {
      transitions_.push_back(g + " " + s);
    };
    GateProbes probes = fakeRolloutProbes(state_, observations_);
    probes.turn = turn_;
    return runRollout(units, *revisions_, *backups_, context_, probes, o);
  }

  TempDir dir_;
  std::unique_ptr<RevisionStore> revisions_;
  std::unique_ptr<BackupStore> backups_;
  std::map<std::string, std::unique_ptr<FakeRolloutDeployer>> deployers_;
  FakeFleetState state_;
  DeployContext context_;
  std::shared_ptr<SimulatedClock> clock_;
  std::vector<std::string> transitions_;
  int observations_ = 0;
  /// The probe turn's runner (unset: none).
  std::function<Result<ProbeTurnReply>(const DeployTarget&)> turn_;
};

TEST_F(RolloutRunner, PassingGatesUpdateEveryGatewayStepByStep) {
  deployed("/bin/v1");
  auto units = unitsTo("/bin/v2");
  auto report = run(units, 1, 2);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->exitCode(), 0);
  ASSERT_EQ(report->steps.size(), 2u);
  EXPECT_EQ(report->revisions, (std::vector<int64_t>{2, 3}));
  for (const auto& g : report->gateways) {
    EXPECT_EQ(g.state, "updated") << g.id;
    EXPECT_EQ(g.fromRevision, 1);
  }
  EXPECT_EQ(state_.calls, (std::vector<std::string>{"apply gw-a /bin/v2", "apply gw-b /bin/v2", "apply gw-c /bin/v2"}));
  // Backups first, per step: the canary's in backup 1, the wave's in backup 2.
  auto backups = backups_->list();
  ASSERT_TRUE(backups);
  ASSERT_EQ(backups->size(), 3u);
  EXPECT_EQ((*backups)[0].id, 1);
  EXPECT_EQ((*backups)[0].gateway, "gw-a");
  EXPECT_EQ((*backups)[1].id, 2);
  EXPECT_EQ((*backups)[0].reason, "rollout");
  EXPECT_EQ(transitions_.front(), "gw-a backed-up");
  auto last = revisions_->lastApplied();
  ASSERT_TRUE(last);
  for (const auto& [id, a] : *last) EXPECT_EQ(a.gateway.binary, "/bin/v2") << id;
  auto rev2 = revisions_->get(2);
  ASSERT_TRUE(rev2);
  EXPECT_EQ(rev2->kind, "rollout");
  EXPECT_EQ(rev2->note, "rollout to version test, canary");
  EXPECT_EQ(rev2->gateways[0].previousRevision, 1);

  // Rolling out again: nothing changed, no step.
  auto again = unitsTo("/bin/v2");
  auto second = run(again, 1, 2);
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->steps.empty());
  for (const auto& g : second->gateways) EXPECT_EQ(g.state, "unchanged");
}

TEST_F(RolloutRunner, AFailedCanaryGateRollsTheCanaryBackAndStops) {
  deployed("/bin/v1");
  state_.brokenBinaries.insert("/bin/broken");
  auto units = unitsTo("/bin/broken");
  auto report = run(units, 1, 2);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(report->ok());
  EXPECT_EQ(report->exitCode(), 7);
  EXPECT_EQ(report->failedStep, "canary");
  EXPECT_TRUE(report->revisions.empty());
  EXPECT_EQ(report->rollbackRevision, 2);
  EXPECT_EQ(report->gateways[0].state, "rolled-back");
  EXPECT_EQ(report->gateways[0].error, "readyz: /readyz answered 503");
  EXPECT_EQ(report->gateways[1].state, "pending");
  EXPECT_EQ(report->gateways[2].state, "pending");
  // The canary went to the broken binary and back; the others were never touched.
  EXPECT_EQ(state_.calls, (std::vector<std::string>{"apply gw-a /bin/broken", "apply gw-a /bin/v1"}));
  EXPECT_EQ(state_.running["gw-a"].binary, "/bin/v1");
  EXPECT_EQ(state_.running["gw-b"].binary, "/bin/v1");
  // The gate was observed until its timeout (10 s at 1 s intervals), on the simulated clock.
  EXPECT_EQ(observations_, 11 + 1);
  EXPECT_EQ(transitions_, (std::vector<std::string>{"gw-a backed-up", "gw-a deploying", "gw-a gating",
                                                    "gw-a gate-failed", "gw-a rolling-back", "gw-a rolled-back"}));
  auto rollback = revisions_->get(2);
  ASSERT_TRUE(rollback);
  EXPECT_EQ(rollback->kind, "rollback");
  ASSERT_EQ(rollback->gateways.size(), 1u);
  EXPECT_EQ(rollback->gateways[0].binary, "/bin/v1");
  EXPECT_EQ(rollback->gateways[0].previousRevision, 1);
  auto json = report->toJson();
  EXPECT_EQ(json.at("exitCode"), 7);
  EXPECT_EQ(json.at("failedStep"), "canary");
}

TEST_F(RolloutRunner, AProbeTurnGatesForwardStepsOnlyAndAWrongAnswerRollsTheCanaryBack) {
  deployed("/bin/v1");
  std::vector<std::string> turns;
  // The gateway on /bin/v2 answers the probe; on /bin/mute it answers something else.
  turn_ = [&](const DeployTarget& t) -> Result<ProbeTurnReply> {
    turns.push_back(t.id + " " + state_.running[t.id].binary + " " + t.probeTurn->message);
    ProbeTurnReply r;
    r.text = state_.running[t.id].binary == "/bin/v2" ? "Probe OK, all good" : "I cannot help with that";
    return r;
  };
  auto withTurn = [](std::vector<RolloutUnit> units) {
    for (auto& u : units) u.desired.probeTurn = ProbeTurnSpec{"Reply with: probe ok", "", "PROBE ok", {}};
    return units;
  };
  auto good = withTurn(unitsTo("/bin/v2"));
  auto passed = run(good, 1, 2);
  ASSERT_TRUE(passed) << passed.error().message;
  EXPECT_TRUE(passed->ok());
  EXPECT_EQ(turns, (std::vector<std::string>{"gw-a /bin/v2 Reply with: probe ok", "gw-b /bin/v2 Reply with: probe ok",
                                             "gw-c /bin/v2 Reply with: probe ok"}));
  EXPECT_EQ(transitions_[3], "gw-a probing");
  EXPECT_EQ(transitions_[4], "gw-a healthy");

  turns.clear();
  transitions_.clear();
  auto mute = withTurn(unitsTo("/bin/mute"));
  auto failed = run(mute, 1, 2);
  ASSERT_TRUE(failed) << failed.error().message;
  EXPECT_EQ(failed->exitCode(), 7);
  EXPECT_EQ(failed->gateways[0].state, "rolled-back");
  EXPECT_EQ(failed->gateways[0].error,
            "turn: probe turn: the reply does not contain \"PROBE ok\": \"I cannot help with that\"");
  // The rollback to /bin/v2 is gated on health alone: one turn, the canary's.
  EXPECT_EQ(turns, (std::vector<std::string>{"gw-a /bin/mute Reply with: probe ok"}));
  EXPECT_EQ(transitions_, (std::vector<std::string>{"gw-a backed-up", "gw-a deploying", "gw-a gating", "gw-a probing",
                                                    "gw-a gate-failed", "gw-a rolling-back", "gw-a rolled-back"}));
  EXPECT_EQ(state_.running["gw-a"].binary, "/bin/v2");
}

TEST_F(RolloutRunner, GatesReachEachGatewayAtItsDeployersAddressAndCloseItAfterwards) {
  deployed("/bin/v1");
  state_.tunnels = true;
  std::vector<std::string> seen;
  turn_ = [&](const DeployTarget& t) -> Result<ProbeTurnReply> {
    seen.push_back("turn " + t.id + " " + t.probeHost + ":" + std::to_string(t.port));
    ProbeTurnReply r;
    r.text = "probe ok";
    return r;
  };
  auto units = unitsTo("/bin/v2");
  for (auto& u : units) u.desired.probeHost = "127.0.0.1";
  units[0].desired.probeTurn = ProbeTurnSpec{"Reply with: probe ok", "", "probe ok", {}};
  auto passed = run(units, 1, 2);
  ASSERT_TRUE(passed) << passed.error().message;
  EXPECT_TRUE(passed->ok());
  // Each gate opens the deployer's tunnel after the deploy and closes it before the next gateway.
  EXPECT_EQ(state_.calls, (std::vector<std::string>{
                              "apply gw-a /bin/v2", "open tunnel gw-a to 127.0.0.1:18000", "close tunnel gw-a",
                              "apply gw-b /bin/v2", "open tunnel gw-b to 127.0.0.1:18000", "close tunnel gw-b",
                              "apply gw-c /bin/v2", "open tunnel gw-c to 127.0.0.1:18000", "close tunnel gw-c"}));
  // The probe turn went to the tunnel's address, not the gateway's own.
  EXPECT_EQ(seen, (std::vector<std::string>{"turn gw-a 127.0.0.2:40000"}));

  // A tunnel that cannot be opened fails the gate as `reach`, with the deployer's error.
  state_.calls.clear();
  state_.unreachable = {"gw-a"};
  auto next = unitsTo("/bin/v3");
  auto failed = run(next, 1, 2);
  ASSERT_TRUE(failed) << failed.error().message;
  EXPECT_FALSE(failed->ok());
  EXPECT_EQ(failed->gateways[0].error.rfind("reach: gateway gw-a on host h: ssh h failed (forwarding)", 0), 0u)
      << failed->gateways[0].error;
}

TEST(RolloutGate, AProbeTurnNeedsACompletedTurnWithTheExpectedText) {
  ProbeTurnSpec spec{"ping", "ops", "Pong", std::chrono::seconds(5)};
  ProbeTurnReply reply;
  reply.text = "PONG from ops";
  EXPECT_TRUE(evaluateProbeTurn(spec, reply).ok);
  reply.text = "ping?";
  auto wrong = evaluateProbeTurn(spec, reply);
  EXPECT_FALSE(wrong.ok);
  EXPECT_EQ(wrong.check, "turn");
  EXPECT_EQ(wrong.detail, "probe turn: the reply does not contain \"Pong\": \"ping?\"");
  reply.text = " \n";
  spec.expect.clear();
  EXPECT_EQ(evaluateProbeTurn(spec, reply).detail, "probe turn: the reply is empty");
  reply.text = "anything";
  EXPECT_TRUE(evaluateProbeTurn(spec, reply).ok);
  auto error = evaluateProbeTurn(spec, fail(ErrorCode::kUpstream, "the turn ended with status \"error\": boom"));
  EXPECT_FALSE(error.ok);
  EXPECT_EQ(error.detail, "probe turn: the turn ended with status \"error\": boom");
}

TEST_F(RolloutRunner, AFailedWaveRollsBackOnlyThatWavesDeployedGateways) {
  deployed("/bin/v1");
  state_.crashingBinaries.insert("/bin/v2");
  auto units = unitsTo("/bin/v2");
  // gw-a (the canary) passes on v2 before v2 starts crashing for the wave.
  units[0].desired.binary = "/bin/v2-ok";
  auto report = run(units, 1, 2);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->failedStep, "wave 1");
  EXPECT_EQ(report->revisions, (std::vector<int64_t>{2}));
  EXPECT_EQ(report->gateways[0].state, "updated");
  EXPECT_EQ(report->gateways[1].state, "rolled-back");
  EXPECT_EQ(report->gateways[2].state, "not-deployed");
  EXPECT_EQ(report->gateways[1].error.rfind("deploy: ", 0), 0u) << report->gateways[1].error;
  EXPECT_EQ(state_.calls,
            (std::vector<std::string>{"apply gw-a /bin/v2-ok", "apply gw-b /bin/v2", "apply gw-b /bin/v1"}));
}

TEST_F(RolloutRunner, AFailedRollbackIsReportedWithItsOwnExitCode) {
  deployed("/bin/v1");
  state_.brokenBinaries = {"/bin/broken", "/bin/v1"};
  auto units = unitsTo("/bin/broken");
  auto report = run(units, 1, 1);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->rollbackFailed);
  EXPECT_EQ(report->exitCode(), 8);
  EXPECT_EQ(report->gateways[0].state, "rollback-failed");
  EXPECT_FALSE(report->rollbackRevision);
}

TEST_F(RolloutRunner, AGatewayWithoutAnEarlierRevisionIsStoppedOnRollback) {
  state_.brokenBinaries.insert("/bin/broken");
  auto units = unitsTo("/bin/broken");
  auto report = run(units, 1, 1);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->gateways[0].state, "stopped");
  EXPECT_EQ(report->exitCode(), 7);
  EXPECT_EQ(state_.calls.back(), "stop gw-a");
  EXPECT_EQ(state_.running.count("gw-a"), 0u);
}

TEST(RolloutTargetAtRevision, TakesConfigPortAndBinaryFromTheRevision) {
  DeployTarget base;
  base.id = "g";
  base.port = 1000;
  base.binary = "/new";
  base.paths.configPath = "/x/new.json";
  GatewayRevision r;
  r.content = R"({"gateway":{"port":2000}})";
  r.configPath = "/x/old.json";
  r.binary = "/old";
  r.version = "1.0";
  auto t = targetAtRevision(base, r);
  EXPECT_EQ(t.port, 2000);
  EXPECT_EQ(t.paths.configPath, "/x/old.json");
  EXPECT_EQ(t.binary, "/old");
  EXPECT_EQ(t.version, "1.0");
  EXPECT_EQ(t.configText, r.content);
}

}  // namespace
}  // namespace talon::fleet
