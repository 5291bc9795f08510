#include "fleet/revision.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "base/clock.h"
#include "base/file_io.h"
#include "base/hash.h"
#include "fleet/deployer.h"
#include "fleet/fleet_test_util.h"
#include "fleet/inventory_git.h"
#include "fleet/local_process.h"

namespace talon::fleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempDir;

json::object revisionTestJson(const std::string& text) {
  auto v = parseJson(text);
  EXPECT_TRUE(v && v->is_object()) << text;
  return v ? v->as_object() : json::object{};
}

std::vector<std::string> revisionTestPaths(const std::vector<ConfigChange>& changes, ConfigChange::Kind kind) {
  std::vector<std::string> out;
  for (const auto& c : changes) {
    if (c.kind == kind) out.push_back(c.path);
  }
  return out;
}

RenderedGateway revisionTestRender(const std::string& id, const std::string& configText) {
  RenderedGateway r;
  r.id = id;
  r.runtime = "talon";
  r.config = revisionTestJson(configText);
  r.text = toPrettyJson(r.config);
  return r;
}

DeploymentRevision revisionTestRevision(int64_t id, const RenderedGateway& render, std::optional<int64_t> previous) {
  DeploymentRevision r;
  r.id = id;
  r.actor = "ops";
  r.timeMs = SimulatedClock().nowMs() + id;
  r.inventoryPath = "/inv/fleet.json5";
  GatewayRevision g;
  g.id = render.id;
  g.runtime = render.runtime;
  g.provider = "process";
  g.configPath = "/srv/" + render.id + "/openclaw.json";
  g.content = render.text;
  g.sha256 = sha256Hex(render.text);
  g.previousRevision = previous;
  r.gateways.push_back(g);
  return r;
}

TEST(RevisionDiffTest, ReportsLeafKeyPathsAddedChangedAndRemoved) {
  auto before = revisionTestJson(R"({"gateway":{"port":1,"bind":"loopback","auth":{"mode":"token","token":"${A}"}},
                                     "bindings":[{"agentId":"a","match":{"channel":"telegram"}}]})");
  auto after = revisionTestJson(R"({"gateway":{"port":2,"bind":"loopback","auth":{"mode":"token"}},
                                    "bindings":[{"agentId":"a","match":{"channel":"telegram"}},
                                                {"agentId":"b","match":{"channel":"slack"}}],
                                    "agents":{"entries":{}}})");
  auto changes = diffConfigs(before, after);
  EXPECT_THAT(revisionTestPaths(changes, ConfigChange::Kind::kChanged), ElementsAre("gateway.port"));
  EXPECT_THAT(revisionTestPaths(changes, ConfigChange::Kind::kRemoved), ElementsAre("gateway.auth.token"));
  EXPECT_THAT(revisionTestPaths(changes, ConfigChange::Kind::kAdded),
              ElementsAre("agents.entries", "bindings[1].agentId", "bindings[1].match.channel"));
  EXPECT_TRUE(diffConfigs(after, after).empty());
}

TEST(RevisionDiffTest, NeverCarriesValues) {
  auto before = revisionTestJson(R"({"channels":{"telegram":{"accounts":{"a":{"botToken":"${OLD_TOKEN}"}}}}})");
  auto after = revisionTestJson(R"({"channels":{"telegram":{"accounts":{"a":{"botToken":"${NEW_TOKEN}"}}}}})");
  auto changes = diffConfigs(before, after);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].path, "channels.telegram.accounts.a.botToken");
  GatewayPlan plan;
  plan.changes = changes;
  EXPECT_EQ(toJson(plan.toJson()).find("TOKEN"), std::string::npos);
}

TEST(RevisionStoreTest, RecordsListsAndReadsBackRevisionsWithMonotonicIds) {
  TempDir dir;
  auto store = RevisionStore::open(dir.path() / "state");
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ(*(*store)->nextId(), 1);
  auto a1 = revisionTestRender("a", R"({"gateway":{"port":1}})");
  auto b1 = revisionTestRender("b", R"({"gateway":{"port":5}})");
  auto r1 = revisionTestRevision(1, a1, std::nullopt);
  r1.gateways.push_back(revisionTestRevision(1, b1, std::nullopt).gateways[0]);
  r1.git = InventoryGitState{"abc123", false, {}};
  ASSERT_TRUE((*store)->record(r1));
  EXPECT_EQ(*(*store)->nextId(), 2);
  auto a2 = revisionTestRender("a", R"({"gateway":{"port":2}})");
  ASSERT_TRUE((*store)->record(revisionTestRevision(2, a2, 1)));
  auto again = (*store)->record(revisionTestRevision(2, a2, 1));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);

  auto all = (*store)->list();
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].git->commit, "abc123");
  EXPECT_EQ((*all)[1].gateways[0].previousRevision, 1);
  EXPECT_EQ((*all)[1].timeMs, r1.timeMs + 1);

  auto applied = (*store)->lastApplied();
  ASSERT_TRUE(applied);
  EXPECT_EQ(applied->at("a").revision, 2);
  EXPECT_EQ(applied->at("b").revision, 1);
  EXPECT_EQ(applied->at("a").gateway.sha256, sha256Hex(a2.text));

  auto missing = (*store)->get(9);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST(RevisionStoreTest, ALeftoverTempFileIsNotARevisionAndAMalformedOneIsNamed) {
  TempDir dir;
  auto store = RevisionStore::open(dir.path());
  ASSERT_TRUE(store);
  // What a crash between writing the temp file and the rename leaves behind.
  dir.write("revisions/00000001.json.tmp.1234", "{\"id\":1,");
  EXPECT_EQ(*(*store)->nextId(), 1);
  EXPECT_TRUE((*store)->list()->empty());
  dir.write("revisions/00000003.json", "{\"id\":3}");
  auto all = (*store)->list();
  ASSERT_FALSE(all);
  EXPECT_THAT(all.error().message, HasSubstr("00000003.json"));
  EXPECT_EQ(*(*store)->nextId(), 4);
}

TEST(RevisionStoreTest, OneApplyAtATimeHoldsTheLock) {
  TempDir dir;
  auto store = RevisionStore::open(dir.path());
  ASSERT_TRUE(store);
  auto first = (*store)->lock();
  ASSERT_TRUE(first) << first.error().message;
  auto second = (*store)->lock();
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kFailedPrecondition);
  first->reset();
  EXPECT_TRUE((*store)->lock());
}

TEST(RevisionPlanTest, NewChangedAndUnchangedAgainstTheLastAppliedRevision) {
  TempDir dir;
  auto store = RevisionStore::open(dir.path());
  ASSERT_TRUE(store);
  auto a1 = revisionTestRender("a", R"({"gateway":{"port":1,"bind":"loopback"}})");
  auto b1 = revisionTestRender("b", R"({"gateway":{"port":5}})");
  ASSERT_TRUE((*store)->record(revisionTestRevision(1, a1, std::nullopt)));
  ASSERT_TRUE((*store)->record(revisionTestRevision(2, b1, std::nullopt)));
  auto applied = (*store)->lastApplied();
  ASSERT_TRUE(applied);

  auto a2 = revisionTestRender("a", R"({"gateway":{"port":2,"bind":"loopback"}})");
  auto c1 = revisionTestRender("c", R"({"gateway":{"port":9}})");
  auto plans = planGateways({a2, b1, c1}, *applied);
  ASSERT_EQ(plans.size(), 3u);
  EXPECT_EQ(plans[0].status, "changed");
  EXPECT_EQ(plans[0].appliedRevision, 1);
  ASSERT_EQ(plans[0].changes.size(), 1u);
  EXPECT_EQ(plans[0].changes[0].path, "gateway.port");
  EXPECT_EQ(plans[1].status, "unchanged");
  EXPECT_TRUE(plans[1].changes.empty());
  EXPECT_EQ(plans[2].status, "new");
  EXPECT_THAT(revisionTestPaths(plans[2].changes, ConfigChange::Kind::kAdded), ElementsAre("gateway.port"));
  json::object j = plans[0].toJson();
  EXPECT_EQ(j.at("changed").as_array().size(), 1u);
  EXPECT_EQ(j.at("appliedRevision"), 1);
}

TEST(RevisionStateDirTest, OptionThenEnvironmentThenBesideTheInventory) {
  EXPECT_EQ(resolveFleetStateDir("/x/state", "/y", "/inv/fleet.json5"), "/x/state");
  EXPECT_EQ(resolveFleetStateDir("", "/y/", "/inv/fleet.json5"), "/y/");
  EXPECT_EQ(resolveFleetStateDir("", "", "/inv/fleet.json5"), "/inv/.talon-fleet");
}

TEST(RevisionSecretsTest, FindsEveryEnvironmentReferenceButNotTheEscape) {
  std::string text = R"({"a":"${TOKEN_A}","b":"x-${B_2}-y","c":"$${NOT_ME}","d":"${lower}",
                         "e":{"source":"env","provider":"default","id":"REF_ID"},"f":"${A}${TOKEN_A}"})";
  EXPECT_THAT(referencedEnvironmentVariables(text), ElementsAre("A", "B_2", "REF_ID", "TOKEN_A"));
}

class RevisionGitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto git = runCommand({"git", "--version"}, dir_.path());
    if (!git || git->exitCode != 0) GTEST_SKIP() << "git is not installed";
    run({"git", "init", "-q"});
    run({"git", "config", "user.email", "fleet@example.test"});
    run({"git", "config", "user.name", "Fleet Test"});
  }
  void run(const std::vector<std::string>& argv) {
    auto r = runCommand(argv, dir_.path());
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->exitCode, 0) << r->err;
  }
  TempDir dir_;
};

TEST_F(RevisionGitTest, ACleanInventoryHasItsCommitAndAChangeMakesItDirty) {
  auto inv = dir_.write("fleet.json5", "{}\n");
  auto inc = dir_.write("catalogs.json5", "{}\n");
  auto untracked = inventoryGitState(inv, {inv, inc});
  ASSERT_TRUE(untracked) << untracked.error().message;
  ASSERT_TRUE(untracked->has_value());
  EXPECT_TRUE((*untracked)->dirty);  // no commit yet, files untracked

  run({"git", "add", "fleet.json5", "catalogs.json5"});
  run({"git", "commit", "-q", "-m", "inventory"});
  auto head = runCommand({"git", "rev-parse", "HEAD"}, dir_.path());
  ASSERT_TRUE(head);
  // Files beside the inventory that it does not include (the fleet state dir) do not make it dirty.
  dir_.write(".talon-fleet/revisions/00000001.json", "{}");
  auto clean = inventoryGitState(inv, {inv, inc});
  ASSERT_TRUE(clean && clean->has_value());
  EXPECT_FALSE((*clean)->dirty);
  EXPECT_EQ((*clean)->commit + "\n", head->out);

  dir_.write("catalogs.json5", "{ changed: true }\n");
  auto dirty = inventoryGitState(inv, {inv, inc});
  ASSERT_TRUE(dirty && dirty->has_value());
  EXPECT_TRUE((*dirty)->dirty);
  ASSERT_EQ((*dirty)->changedFiles.size(), 1u);
  EXPECT_THAT((*dirty)->changedFiles[0], HasSubstr("catalogs.json5"));
}

TEST(RevisionGitOutsideTest, AnInventoryOutsideGitHasNoGitState) {
  TempDir dir;
  auto inv = dir.write("fleet.json5", "{}\n");
  // The temp dir is not inside a repository unless TMPDIR is; then there is nothing to check here.
  auto top = runCommand({"git", "rev-parse", "--is-inside-work-tree"}, dir.path());
  if (top && top->exitCode == 0) GTEST_SKIP() << "the temp dir is inside a git work tree";
  auto state = inventoryGitState(inv, {inv});
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_FALSE(state->has_value());
}

TEST(RevisionLocalProcessTest, RunCommandCapturesOutputAndExitCodeAndTailFileTakesTheLastLines) {
  TempDir dir;
  auto r = runCommand({"sh", "-c", "echo out; echo err >&2; exit 3"}, dir.path());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exitCode, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  auto missing = runCommand({"talon-no-such-command-here"}, dir.path());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  auto log = dir.write("x.log", "1\n2\n3\n4\n");
  EXPECT_EQ(tailFile(log, 2), "3\n4\n");
  EXPECT_EQ(tailFile(log, 10), "1\n2\n3\n4\n");
  EXPECT_EQ(tailFile(dir.path() / "none.log", 3), "");
}

TEST(RevisionLocalProcessTest, PidFilesRoundTripAndAMalformedOneIsNamed) {
  TempDir dir;
  auto path = dir.path() / "gateway.pid";
  EXPECT_FALSE(readPidFile(path)->has_value());
  ASSERT_TRUE(writePidFile(path, ProcessId{1234, 99}));
  auto back = readPidFile(path);
  ASSERT_TRUE(back && back->has_value());
  EXPECT_EQ((*back)->pid, 1234);
  EXPECT_EQ((*back)->startTicks, 99u);
  dir.write("bad.pid", "nope\n");
  auto bad = readPidFile(dir.path() / "bad.pid");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("bad.pid"));
}

TEST(RevisionLocalProcessTest, ADetachedProcessOutlivesItsStartAndIsTerminated) {
  TempDir dir;
  DetachedSpec spec;
  spec.argv = {"/bin/sh", "-c", "echo started $FLEET_TEST_VAR; exec sleep 60"};
  spec.env["FLEET_TEST_VAR"] = "hello";
  spec.workingDir = dir.path();
  spec.logPath = dir.path() / "child.log";
  auto id = startDetached(spec);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_TRUE(processAlive(*id));
  // The shell writes its line before it execs sleep; wait for it (bounded) before terminating.
  for (int i = 0; i < 200 && tailFile(spec.logPath, 5).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  EXPECT_FALSE(processAlive(ProcessId{id->pid, id->startTicks + 1}));  // another process with a reused pid
  EXPECT_TRUE(terminateProcess(*id, std::chrono::seconds(5)));
  EXPECT_FALSE(processAlive(*id));
  EXPECT_THAT(tailFile(spec.logPath, 5), HasSubstr("started hello"));

  spec.argv = {(dir.path() / "missing-binary").string()};
  auto missing = startDetached(spec);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace talon::fleet
