// End-to-end: `talon fleet validate|explain|render|preflight|routes|policy` as a process — exit codes
// (0, 1 on an error finding, 3 on an invalid inventory, 6 on an unknown agent) and the --json shapes, over
// examples/fleet and inventories written per test. No gateway runs.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "base/json.h"
#include "e2e_support.h"

namespace talon::test {
namespace {

namespace fs = std::filesystem;

class FleetCliE2E : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = makeTempDir(); }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  CliResult fleet(std::vector<std::string> args, const fs::path& inventory) {
    args.insert(args.begin(), "fleet");
    args.push_back("--inventory");
    args.push_back(inventory.string());
    return runTalon(dir_, args, {});
  }
  static fs::path example() { return fs::path(TALON_SOURCE_DIR) / "examples" / "fleet" / "fleet.json5"; }
  fs::path dir_;
};

TEST_F(FleetCliE2E, TheExamplePassesEveryCommand) {
  auto validated = fleet({"validate", "--json"}, example());
  ASSERT_EQ(validated.status, 0) << validated.err;
  EXPECT_EQ(jsonObjectOf(validated.out).at("gateways"), 3);

  auto preflight = fleet({"preflight", "--no-host-check", "--json"}, example());
  ASSERT_EQ(preflight.status, 0) << preflight.out << preflight.err;
  EXPECT_EQ(jsonObjectOf(preflight.out).at("ok"), true);

  auto explained = fleet({"explain", "support-dana", "model", "--json"}, example());
  ASSERT_EQ(explained.status, 0) << explained.err;
  json::object e = jsonObjectOf(explained.out);
  EXPECT_EQ(e.at("value"), "openai/gpt-5-mini");
  EXPECT_EQ(e.at("chain").as_array().back().at("layer"), "template:cost-capped");

  auto routes = fleet({"routes"}, example());
  ASSERT_EQ(routes.status, 0) << routes.err;
  EXPECT_NE(routes.out.find("binding.peer"), std::string::npos) << routes.out;

  auto policy = fleet({"policy", "support-vip", "--json"}, example());
  ASSERT_EQ(policy.status, 0) << policy.err;
  EXPECT_EQ(jsonObjectOf(policy.out).at("gateway"), "support-main");

  auto rendered = fleet({"render", "--out", (dir_ / "out").string()}, example());
  ASSERT_EQ(rendered.status, 0) << rendered.err;
  for (const char* id : {"support-main", "support-rescue", "eng-talon"}) {
    EXPECT_TRUE(fs::exists(dir_ / "out" / id / "openclaw.json")) << id;
  }
}

TEST_F(FleetCliE2E, AnErrorFindingExitsOne) {
  writeText(dir_ / "fleet.json5", R"({
  organisation: { id: "o", slug: "o", displayName: "O" },
  gateways: {
    a: { port: 18789, stateDir: "/s/a", workspaceRoot: "/w/a", host: "h", bind: "lan" },
    b: { port: 18800, stateDir: "/s/b", workspaceRoot: "/w/b", host: "h" },
  },
})");
  auto r = fleet({"preflight", "--json"}, dir_ / "fleet.json5");
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  json::object report = jsonObjectOf(r.out);
  EXPECT_EQ(report.at("ok"), false);
  std::set<std::string> ids;
  for (const auto& f : report.at("findings").as_array()) ids.insert(std::string(f.at("id").as_string()));
  EXPECT_TRUE(ids.count("FLEET-PORT-CONFLICT")) << r.out;
  EXPECT_TRUE(ids.count("FLEET-EXPOSED-NO-AUTH")) << r.out;
}

TEST_F(FleetCliE2E, AnInvalidInventoryExitsThreeWithFileAndLine) {
  writeText(dir_ / "fleet.json5",
            "{\n  organisation: { id: \"o\", slug: \"o\", displayName: \"O\" },\n  galaxies: {},\n}\n");
  auto r = fleet({"validate"}, dir_ / "fleet.json5");
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.err.find("fleet.json5:3:3: galaxies: unknown key"), std::string::npos) << r.err;
}

TEST_F(FleetCliE2E, AnUnknownAgentExitsSix) {
  auto r = fleet({"policy", "nobody"}, example());
  EXPECT_EQ(r.status, 6) << r.err;
}

}  // namespace
}  // namespace talon::test
