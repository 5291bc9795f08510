// End-to-end: `talon fleet backup|restore|rollout` with the process provider over three local gateways on
// free loopback ports — Talon's own, and OpenClaw's when it is installed (tools/install-openclaw; skipped
// otherwise). A rolling update to a catalogued version passes its gates (canary, then a wave) and every
// gateway ends on the new version; then a deliberately broken version (an executable that starts and
// never becomes ready) fails the canary's gate: the canary is rolled back automatically and is healthy on
// its last known-good revision, the other gateways never change, and the exit code says so. Backups are
// taken, listed, verified and one is restored.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "base/json.h"
#include "child_process.h"
#include "e2e_support.h"

namespace talon::test {
namespace {

namespace fs = std::filesystem;

/// argv[0] of process `pid` (what the fleet exec'd: the version's binary).
std::string fleetRolloutArgv0(int64_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string argv0;
  std::getline(in, argv0, '\0');
  return argv0;
}

/// `talon args...` waiting up to `seconds` (OpenClaw gateways take 10-30 s each to start here), with
/// stdout and stderr kept apart.
CliResult fleetRolloutRun(const fs::path& dir, const std::vector<std::string>& args,
                          std::map<std::string, std::string> env, int seconds) {
  static int n = 0;
  auto out = dir / ("rollout-cli-" + std::to_string(++n) + ".out");
  auto err = dir / ("rollout-cli-" + std::to_string(n) + ".err");
  env["FLEET_ROLLOUT_E2E_ERR"] = err.string();
  std::vector<std::string> argv = {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>\"$FLEET_ROLLOUT_E2E_ERR\"", TALON_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess p(argv, env, out.string());
  CliResult r;
  auto status = p.wait(std::chrono::seconds(seconds));
  if (status && WIFEXITED(*status)) r.status = WEXITSTATUS(*status);
  if (!status) p.stop(SIGKILL);
  r.out = readText(out);
  r.err = readText(err);
  return r;
}

class FleetRolloutE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir();
    std::vector<int> taken;
    for (const char* id : {"gw-a", "gw-b", "gw-c"}) {
      ports_[id] = freeLoopbackPortApart(taken);
      taken.push_back(ports_[id]);
    }
    fs::create_directories(dir_ / "bin");
    // The broken version: an executable that starts and never becomes ready.
    writeText(dir_ / "bin" / "never-ready", "#!/bin/sh\nexec sleep 300\n");
    fs::permissions(dir_ / "bin" / "never-ready", fs::perms::owner_all);
    env_["FLEET_E2E_TOKEN"] = "fleet-rollout-e2e-token";
  }
  void TearDown() override {
    fleetRolloutRun(dir_, {"fleet", "stop", "--inventory", inventory()}, env_, 120);
    for (const char* id : {"gw-a", "gw-b", "gw-c"}) {
      std::ifstream pid(dir_ / ".talon-fleet" / "gateways" / id / "gateway.pid");
      int p = 0;
      if (pid >> p && p > 0) ::kill(p, SIGKILL);
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string inventory() const { return (dir_ / "fleet.json5").string(); }

  /// Three gateways of `runtime`; the version catalog lists `good` (the real runtime under another name)
  /// and "9.9.9-broken".
  void writeInventory(const std::string& runtime, const fs::path& good) {
    std::string gateways;
    for (const auto& [id, port] : ports_) {
      gateways += "    \"" + id + "\": { port: " + std::to_string(port) + ", stateDir: \"" +
                  (dir_ / id / "state").string() + "\", workspaceRoot: \"" + (dir_ / id / "ws").string() + "\" },\n";
    }
    writeText(dir_ / "fleet.json5",
              "{\n  organisation: { id: \"org-e2e\", slug: \"e2e\", displayName: \"E2E\" },\n"
              "  defaults: { runtime: \"" +
                  runtime +
                  "\", provider: \"process\", auth: { mode: \"token\", token: \"${FLEET_E2E_TOKEN}\" } },\n"
                  "  runtimes: { " +
                  runtime + ": { versions: {\n    \"2.0.0\": { binary: \"" + good.string() +
                  "\" },\n    \"9.9.9-broken\": { binary: \"" + (dir_ / "bin" / "never-ready").string() +
                  "\" },\n  } } },\n  gateways: {\n" + gateways + "  },\n}\n");
  }

  CliResult talon(std::vector<std::string> args, int seconds = 60) {
    args.push_back("--inventory");
    args.push_back(inventory());
    return fleetRolloutRun(dir_, args, env_, seconds);
  }

  std::map<std::string, json::object> statuses() {
    std::map<std::string, json::object> out;
    auto r = talon({"fleet", "status", "--json"});
    EXPECT_EQ(r.status, 0) << r.err;
    json::object all = jsonObjectOf(r.out);
    if (const json::value* g = all.if_contains("gateways"); g != nullptr && g->is_array()) {
      for (const auto& s : g->as_array()) out[std::string(s.at("gateway").as_string())] = s.as_object();
    }
    return out;
  }

  /// The whole scenario for gateways of `runtime`; `good` is the executable catalogued as 2.0.0 and
  /// `startSeconds` bounds one command that starts three gateways.
  /// `argv0`: the gateways' processes are `good` itself (Talon), not an interpreter it starts (OpenClaw).
  void rollOutThenFailACanary(const std::string& runtime, const fs::path& good, int startSeconds, bool argv0) {
    writeInventory(runtime, good);
    auto applied = talon({"fleet", "apply", "--json"}, startSeconds);
    ASSERT_EQ(applied.status, 0) << applied.out << applied.err;
    EXPECT_EQ(jsonObjectOf(applied.out).at("revision"), 1);

    // A backup of every gateway, listed and verified.
    auto backup = talon({"fleet", "backup", "--json"});
    ASSERT_EQ(backup.status, 0) << backup.err;
    json::object b1 = jsonObjectOf(backup.out);
    EXPECT_EQ(b1.at("backup"), 1);
    ASSERT_EQ(b1.at("gateways").as_array().size(), 3u);
    EXPECT_EQ(b1.at("gateways").as_array()[0].at("revision"), 1);
    auto verified = talon({"fleet", "backup", "verify", "--json"});
    EXPECT_EQ(verified.status, 0) << verified.out << verified.err;
    EXPECT_EQ(jsonObjectOf(verified.out).at("ok"), true);
    // The drill recovers one gateway's copy in a scratch folder and the runtime's own doctor accepts it
    // (Talon: `talon doctor`; OpenClaw: `openclaw doctor --lint`).
    auto drill = talon({"fleet", "backup", "drill", "1", "--gateway", "gw-a", "--json"}, 300);
    EXPECT_EQ(drill.status, 0) << drill.out << drill.err;
    EXPECT_EQ(jsonObjectOf(drill.out).at("ok"), true) << drill.out;

    // An unknown version is refused before anything changes.
    auto unknown = talon({"fleet", "rollout", "--to", "7.7.7"});
    EXPECT_EQ(unknown.status, 2) << unknown.err;
    EXPECT_NE(unknown.err.find("version 7.7.7 is not in the inventory's version catalog"), std::string::npos)
        << unknown.err;
    EXPECT_NE(unknown.err.find("2.0.0, 9.9.9-broken"), std::string::npos) << unknown.err;

    // A rolling update that passes its gates: the canary, then a wave of two.
    auto rolled =
        talon({"fleet", "rollout", "--to", "2.0.0", "--canary", "1", "--wave", "2", "--gate-timeout", "60", "--json"},
              startSeconds);
    ASSERT_EQ(rolled.status, 0) << rolled.out << rolled.err;
    json::object r1 = jsonObjectOf(rolled.out);
    EXPECT_EQ(toJson(r1.at("steps")),
              R"([{"step":"canary","gateways":["gw-a"]},{"step":"wave 1","gateways":["gw-b","gw-c"]}])");
    EXPECT_EQ(toJson(r1.at("revisions")), "[2,3]");
    for (const auto& g : r1.at("gateways").as_array()) {
      EXPECT_EQ(g.at("state"), "updated") << toJson(g);
      EXPECT_EQ(g.at("toVersion"), "2.0.0");
    }
    EXPECT_NE(rolled.err.find("rollout: gw-a: deploying (canary, version 2.0.0)"), std::string::npos) << rolled.err;
    EXPECT_NE(rolled.err.find("rollout: gw-c: healthy"), std::string::npos) << rolled.err;
    // The gateway before each step was backed up: backups 2 (canary) and 3 (wave 1).
    EXPECT_NE(rolled.err.find("rollout: gw-b: backed-up (backup 3)"), std::string::npos) << rolled.err;
    std::map<std::string, int64_t> pids;
    for (auto& [id, s] : statuses()) {
      EXPECT_EQ(s.at("state"), "running") << toJson(s);
      EXPECT_EQ(s.at("health").at("ok"), true) << toJson(s);
      EXPECT_EQ(s.at("appliedRevision"), id == "gw-a" ? 2 : 3);
      EXPECT_EQ(s.at("appliedVersion"), "2.0.0");
      pids[id] = s.at("pid").as_int64();
      if (argv0) EXPECT_EQ(fleetRolloutArgv0(pids[id]), good.string()) << id;
    }

    // The broken version: the canary fails its gate and is rolled back; the wave never starts.
    auto broken = talon(
        {"fleet", "rollout", "--to", "9.9.9-broken", "--canary", "1", "--wave", "2", "--gate-timeout", "3", "--json"},
        startSeconds);
    EXPECT_EQ(broken.status, 7) << broken.out << broken.err;
    json::object r2 = jsonObjectOf(broken.out);
    EXPECT_EQ(r2.at("ok"), false);
    EXPECT_EQ(r2.at("failedStep"), "canary");
    EXPECT_EQ(r2.at("rollbackRevision"), 4);
    for (const auto& g : r2.at("gateways").as_array()) {
      if (g.at("gateway") == "gw-a") {
        EXPECT_EQ(g.at("state"), "rolled-back") << toJson(g);
        EXPECT_EQ(g.at("fromRevision"), 2);
        EXPECT_NE(std::string(g.at("error").as_string()).find("deploy: gateway gw-a was not ready within 3000 ms"),
                  std::string::npos)
            << toJson(g);
      } else {
        EXPECT_EQ(g.at("state"), "pending") << toJson(g);
      }
    }
    EXPECT_NE(broken.err.find("rollout: gw-a: gate-failed"), std::string::npos) << broken.err;
    EXPECT_NE(broken.err.find("rollout: gw-a: rolled-back (healthy on revision 2)"), std::string::npos) << broken.err;
    auto after = statuses();
    EXPECT_EQ(after["gw-a"].at("state"), "running") << toJson(after["gw-a"]);
    EXPECT_EQ(after["gw-a"].at("health").at("ok"), true);
    EXPECT_EQ(after["gw-a"].at("appliedRevision"), 4);
    EXPECT_EQ(after["gw-a"].at("appliedVersion"), "2.0.0");
    if (argv0) EXPECT_EQ(fleetRolloutArgv0(after["gw-a"].at("pid").as_int64()), good.string());
    for (const char* id : {"gw-b", "gw-c"}) {
      EXPECT_EQ(after[id].at("pid"), pids[id]) << id << " was touched";
      EXPECT_EQ(after[id].at("appliedRevision"), 3);
    }
    auto rollback = talon({"fleet", "revisions", "show", "4", "--json"});
    ASSERT_EQ(rollback.status, 0) << rollback.err;
    json::object rev4 = jsonObjectOf(rollback.out);
    EXPECT_EQ(rev4.at("kind"), "rollback");
    EXPECT_EQ(rev4.at("gateways").as_array()[0].at("version"), "2.0.0");

    // Restore gw-b from the first backup: back on revision 1's config and the default binary.
    auto restored = talon({"fleet", "restore", "1", "--gateway", "gw-b", "--json"}, startSeconds);
    ASSERT_EQ(restored.status, 0) << restored.out << restored.err;
    json::object rs = jsonObjectOf(restored.out);
    EXPECT_EQ(rs.at("revision"), 5);
    auto final = statuses();
    EXPECT_EQ(final["gw-b"].at("state"), "running") << toJson(final["gw-b"]);
    EXPECT_NE(final["gw-b"].at("pid"), pids["gw-b"]);
    EXPECT_EQ(final["gw-b"].at("appliedRevision"), 5);
    EXPECT_EQ(final["gw-c"].at("pid"), pids["gw-c"]);

    auto list = talon({"fleet", "backup", "list", "--json"});
    ASSERT_EQ(list.status, 0) << list.err;
    auto backups = parseJson(list.out);
    ASSERT_TRUE(backups && backups->is_array()) << list.out;
    EXPECT_EQ(backups->as_array().size(), 3u + 3u + 1u);  // manual, two rollout steps, the failed canary

    // Every rollout, rollback, backup and restore is in the fleet's audit chain.
    auto audit = runTalon(dir_, {"audit", "list", "--json"}, {{"TALON_STATE_DIR", (dir_ / ".talon-fleet").string()}});
    ASSERT_EQ(audit.status, 0) << audit.err;
    for (const char* kind : {"fleet.rollout", "fleet.rollback", "fleet.backup", "fleet.restore"})
      EXPECT_NE(audit.out.find(kind), std::string::npos) << kind;
  }

  fs::path dir_;
  std::map<std::string, int> ports_;
  std::map<std::string, std::string> env_;
};

TEST_F(FleetRolloutE2E, TalonGatewaysRollOutAndRollBackAFailedCanary) {
  // Version 2.0.0 is this Talon under another path, so that each gateway's argv[0] shows the version it runs.
  fs::create_symlink(TALON_BINARY, dir_ / "bin" / "talon-2.0.0");
  rollOutThenFailACanary("talon", dir_ / "bin" / "talon-2.0.0", 60, true);
}

TEST_F(FleetRolloutE2E, OpenClawGatewaysRollOutAndRollBackAFailedCanary) {
  fs::path openclaw = installedOpenClaw();
  if (openclaw.empty()) GTEST_SKIP() << "OpenClaw is not installed (tools/install-openclaw)";
  env_["TALON_FLEET_OPENCLAW"] = openclaw.string();
  fs::create_symlink(openclaw, dir_ / "bin" / "openclaw-2.0.0");
  rollOutThenFailACanary("openclaw", dir_ / "bin" / "openclaw-2.0.0", 170, false);
}

}  // namespace
}  // namespace talon::test
