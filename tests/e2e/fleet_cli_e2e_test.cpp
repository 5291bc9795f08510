// End-to-end: `talon fleet validate|explain|render|preflight|routes|policy|agents` as a process — exit codes
// (0, 1 on an error finding, 3 on an invalid inventory, 6 on an unknown agent) and the --json shapes, over
// examples/fleet and inventories written per test. No gateway runs.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
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

TEST_F(FleetCliE2E, AgentsListAddAndRmOverACopyOfTheExample) {
  fs::create_directories(dir_ / "org");
  for (const char* f : {"fleet.json5", "catalogs.json5"}) {
    fs::copy_file(example().parent_path() / f, dir_ / "org" / f);
  }
  fs::path inv = dir_ / "org" / "fleet.json5";
  const std::string original = readText(inv);
  const std::string stateDir = (dir_ / "fleet-state").string();

  auto list = fleet({"agents", "list", "--json"}, inv);
  ASSERT_EQ(list.status, 0) << list.err;
  json::object listed = jsonObjectOf(list.out);
  ASSERT_EQ(listed.at("agents").as_array().size(), 5u) << list.out;
  for (const auto& a : listed.at("agents").as_array()) {
    if (a.at("id") != "support-vip") continue;
    EXPECT_EQ(a.at("gateway"), "support-main");
    EXPECT_EQ(a.at("bindings").as_array()[0].at("peer").at("kind"), "group") << toJson(a);
  }
  auto one = fleet({"agents", "list", "--gateway", "eng-talon"}, inv);
  ASSERT_EQ(one.status, 0) << one.err;
  EXPECT_NE(one.out.find("eng-helper"), std::string::npos) << one.out;
  EXPECT_EQ(one.out.find("support-vip"), std::string::npos) << one.out;

  // Slack on the engineering gateway: its group's policy denies it and Talon has no Slack adapter.
  auto refused = fleet({"agents", "add", "sales", "--gateway", "eng-talon", "--account", "slack:sales-bot"}, inv);
  EXPECT_EQ(refused.status, 1) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("FLEET-POLICY-DENIED"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("FLEET-RENDER-INVALID"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("nothing written"), std::string::npos) << refused.err;
  EXPECT_EQ(readText(inv), original);

  // A binding with an unknown key: the reader's error, exit 3, nothing written.
  auto invalid =
      fleet({"agents", "add", "sales", "--gateway", "support-main", "--bind", R"({channel: "slack", acount: 1})"}, inv);
  EXPECT_EQ(invalid.status, 3) << invalid.err;
  EXPECT_NE(invalid.err.find("acount"), std::string::npos) << invalid.err;
  EXPECT_EQ(readText(inv), original);

  auto added = fleet(
      {"agents", "add", "sales", "--gateway", "support-main", "--account", "slack:sales-bot", "--bind",
       R"({channel: "slack", accountId: "sales-bot", peer: {kind: "channel", id: "C1"}})", "--state-dir", stateDir},
      inv);
  ASSERT_EQ(added.status, 0) << added.out << added.err;
  EXPECT_NE(added.out.find("+ accounts.slack.sales-bot"), std::string::npos) << added.out;
  EXPECT_NE(readText(inv).find("// "), std::string::npos) << "the example's comments stay";
  auto validated = fleet({"validate", "--json"}, inv);
  ASSERT_EQ(validated.status, 0) << validated.err;
  EXPECT_EQ(jsonObjectOf(validated.out).at("agents"), 6);
  // The short form of --bind: a peer binding on an account of the same gateway (more specific than the
  // account binding support-triage has, so no ambiguity).
  auto shortForm = fleet({"agents", "add", "sales-tg", "--gateway", "support-main", "--bind",
                          "slack:support-slack:channel:C777", "--dry-run", "--json"},
                         inv);
  EXPECT_EQ(shortForm.status, 0) << shortForm.out << shortForm.err;
  EXPECT_NE(shortForm.out.find("agents.sales-tg.bindings[0].peer.id"), std::string::npos) << shortForm.out;
  auto badShort = fleet({"agents", "add", "sales-tg", "--gateway", "support-main", "--bind", "slack"}, inv);
  EXPECT_EQ(badShort.status, 2) << badShort.err;
  auto again = fleet({"agents", "add", "sales", "--gateway", "support-main"}, inv);
  EXPECT_EQ(again.status, 1) << again.err;

  auto removed = fleet({"agents", "rm", "sales", "--state-dir", stateDir, "--json"}, inv);
  ASSERT_EQ(removed.status, 0) << removed.out << removed.err;
  EXPECT_EQ(readText(inv), original);
  json::object r = jsonObjectOf(removed.out);
  EXPECT_TRUE(fs::exists(fs::path(std::string(r.at("archive").at("dir").as_string())) / "manifest.json"))
      << removed.out;
}

// Agents kept in an `$include`d file: `agents add` writes the new agent there (the inventory file is not
// touched) and says which file it wrote; `agents rm` cuts it from there again.
TEST_F(FleetCliE2E, AgentsAddAndRmEditTheIncludedFileThatHoldsTheAgents) {
  fs::create_directories(dir_ / "inc" / "agents");
  fs::path inv = dir_ / "inc" / "fleet.json5";
  const std::string stateDir = (dir_ / "inc-state").string();
  writeText(inv, R"({
  organisation: { id: "org-i", slug: "i", displayName: "I" },
  gateways: { g: { port: 19851, stateDir: ")" +
                     (dir_ / "inc-gw").string() + R"(", workspaceRoot: ")" + (dir_ / "inc-ws").string() + R"(" } },
  agents: { $include: "./agents/team.json5" },
}
)");
  const std::string team = "// The team's agents.\n{\n  first: { gateway: \"g\", kind: \"use-case\" },\n}\n";
  writeText(dir_ / "inc" / "agents" / "team.json5", team);
  const std::string root = readText(inv);

  auto added = fleet({"agents", "add", "second", "--gateway", "g", "--state-dir", stateDir, "--json"}, inv);
  ASSERT_EQ(added.status, 0) << added.out << added.err;
  json::object a = jsonObjectOf(added.out);
  ASSERT_EQ(a.at("files").as_array().size(), 1u) << added.out;
  EXPECT_EQ(std::string(a.at("files").as_array()[0].as_string()), (dir_ / "inc" / "agents" / "team.json5").string());
  EXPECT_EQ(readText(inv), root);
  std::string edited = readText(dir_ / "inc" / "agents" / "team.json5");
  EXPECT_NE(edited.find("// The team's agents."), std::string::npos) << edited;
  EXPECT_NE(edited.find("\"second\""), std::string::npos) << edited;
  auto validated = fleet({"validate", "--json"}, inv);
  ASSERT_EQ(validated.status, 0) << validated.err;
  EXPECT_EQ(jsonObjectOf(validated.out).at("agents"), 2);

  auto removed = fleet({"agents", "rm", "second", "--state-dir", stateDir, "--json"}, inv);
  ASSERT_EQ(removed.status, 0) << removed.out << removed.err;
  EXPECT_EQ(readText(dir_ / "inc" / "agents" / "team.json5"), team);
  EXPECT_EQ(readText(inv), root);
}

// The compose and kubernetes renders through the binary: every rendered file (configs, compose files,
// manifests) and the CLI's output hold references only — the canary "real" values set for every variable
// the inventory references, the upstream provider key included, appear nowhere. Then apply through both
// providers on this machine, which has neither a docker daemon nor a cluster: refused before anything
// starts, naming what is missing.
TEST_F(FleetCliE2E, ContainerManifestsCarryReferencesNeverValues) {
  fs::path inventory = dir_ / "fleet.json5";
  writeText(inventory, readText(fs::path(TALON_SOURCE_DIR) / "tests" / "data" / "fleet" / "manifests" / "fleet.json5"));
  const std::string canary = "sk-REAL-canary-5c1d7e";
  std::map<std::string, std::string> env;
  for (const char* var : {"FLEET_GATEWAY_TOKEN", "TG_OC_BOT_TOKEN", "TG_TALON_BOT_TOKEN", "TG_K8S_BOT_TOKEN",
                          "K8S_OC_GATEWAY_TOKEN", "OPENAI_REAL_KEY", "TALON_FLEET_PROXY_KEY_K8S_OC"})
    env[var] = canary;
  fs::path out = dir_ / "rendered";
  auto rendered =
      runTalon(dir_, {"fleet", "render", "--inventory", inventory.string(), "--out", out.string(), "--json"}, env);
  ASSERT_EQ(rendered.status, 0) << rendered.err;
  json::object j = jsonObjectOf(rendered.out);
  EXPECT_EQ(std::string(j.at("manifests").at("compose-oc").as_string()),
            (out / "compose-oc" / "compose.yaml").string());
  EXPECT_EQ(std::string(j.at("manifests").at("k8s-oc").as_string()), (out / "k8s-oc" / "kubernetes.yaml").string());
  EXPECT_EQ(std::string(j.at("configs").at("compose-talon").as_string()),
            (out / "compose-talon" / "openclaw.json").string());
  std::size_t scanned = 0;
  for (const auto& entry : fs::recursive_directory_iterator(out)) {
    if (!entry.is_regular_file()) continue;
    std::string text = readText(entry.path());
    EXPECT_EQ(text.find(canary), std::string::npos) << entry.path() << " holds a secret value";
    EXPECT_EQ(text.find("OPENAI_REAL_KEY"), std::string::npos) << entry.path() << " names the upstream key";
    ++scanned;
  }
  EXPECT_EQ(scanned, 6u);  // three configs, two compose files, one set of manifests
  EXPECT_NE(readText(out / "k8s-oc" / "kubernetes.yaml").find("key: TALON_FLEET_PROXY_KEY_K8S_OC"), std::string::npos);
  EXPECT_NE(readText(out / "compose-oc" / "compose.yaml").find("TG_OC_BOT_TOKEN: ${TG_OC_BOT_TOKEN}"),
            std::string::npos);
  auto printed = runTalon(dir_, {"fleet", "render", "--inventory", inventory.string()}, env);
  ASSERT_EQ(printed.status, 0) << printed.err;
  EXPECT_NE(printed.out.find("kind: StatefulSet"), std::string::npos);
  EXPECT_EQ(printed.out.find(canary), std::string::npos);

  // A Talon gateway in a container without an image: refused, naming the gateway and the key.
  fs::path noImage = dir_ / "no-image.json5";
  writeText(noImage, R"({
  organisation: { id: "o", slug: "o", displayName: "O" },
  gateways: { g: { runtime: "talon", provider: "compose", port: 18789, stateDir: "/s", workspaceRoot: "/w", bind: "lan" } },
})");
  auto refused = runTalon(dir_, {"fleet", "render", "--inventory", noImage.string()}, {});
  EXPECT_EQ(refused.status, 3) << refused.err;
  EXPECT_NE(refused.err.find("gateway g: image:"), std::string::npos) << refused.err;

  for (const auto& [gateway, missing] : {std::pair<std::string, std::string>{"compose-oc", "docker"},
                                         std::pair<std::string, std::string>{"k8s-oc", "Kubernetes cluster"}}) {
    std::map<std::string, std::string> applyEnv = env;
    applyEnv["KUBECONFIG"] = (dir_ / "empty-kubeconfig").string();
    writeText(dir_ / "empty-kubeconfig", "");
    auto applied = runTalon(dir_,
                            {"fleet", "apply", "--inventory", inventory.string(), "--gateway", gateway,
                             "--no-host-check", "--allow-dirty", "--state-dir", (dir_ / "state").string()},
                            applyEnv);
    EXPECT_EQ(applied.status, 5) << gateway << ": " << applied.out << applied.err;
    EXPECT_NE(applied.err.find(missing), std::string::npos) << gateway << ": " << applied.err;
    EXPECT_EQ(applied.err.find(canary), std::string::npos);
  }
}

}  // namespace
}  // namespace talon::test
