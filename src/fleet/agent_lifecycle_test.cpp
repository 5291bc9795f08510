#include "fleet/agent_lifecycle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "base/file_io.h"
#include "fleet/fleet_test_util.h"

namespace talon::fleet {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::TempDir;

namespace fs = std::filesystem;

// An inventory with comments in and around the agents, an inline empty-ish accounts map and two gateways.
const char* kLifecycleInventory = R"(// The organisation's fleet.
{
  organisation: { id: "org-t", slug: "t", displayName: "T" },
  defaults: { policy: { tiers: ["default"] } },
  catalogs: {
    integrations: { telegram: { kind: "core-channel" }, slack: { kind: "core-channel" } },
    models: { "anthropic/sonnet": {} },
  },
  gateways: {
    // Support gateway.
    "gw-a": { port: 19001, stateDir: "/tmp/talon-agents-t/a", workspaceRoot: "/tmp/talon-agents-t/a-ws" },
    "gw-b": { port: 19201, stateDir: "/tmp/talon-agents-t/b", workspaceRoot: "/tmp/talon-agents-t/b-ws" },
  },
  accounts: {
    telegram: {
      support: { botToken: "${TG_SUPPORT}" },  // the support bot
      shared: { botToken: "${TG_SHARED}" },
    },
  },
  agents: {
    /* The support agent: keep this comment. */
    support: { gateway: "gw-a", kind: "use-case", accounts: { telegram: "support" } },
    helper: {
      gateway: "gw-b",
      kind: "human-coupled", // a person
      owner: "ana",
      accounts: { telegram: "shared" },
    }
  },
}
)";

InventoryPtr loadLifecycle(const TempDir& dir, const std::string& text = kLifecycleInventory) {
  auto inv = Inventory::load(dir.write("fleet.json5", text));
  EXPECT_TRUE(inv) << inv.error().message;
  return inv ? *inv : nullptr;
}

std::string lifecycleReadBack(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> lifecyclePaths(const InventoryEdit& edit, ConfigChange::Kind kind) {
  std::vector<std::string> out;
  for (const auto& c : edit.changes) {
    if (c.kind == kind) out.push_back(c.path);
  }
  return out;
}

PreflightOptions lifecycleOptions() {
  PreflightOptions o;
  o.checkHostPorts = false;
  return o;
}

TEST(AgentLifecycle, AddWritesAgentAccountAndBindingKeepingComments) {
  TempDir dir;
  auto inv = loadLifecycle(dir);
  AgentSpec spec;
  spec.id = "sales";
  spec.gateway = "gw-a";
  spec.owner = "bo";
  spec.model = "anthropic/sonnet";
  spec.accounts = {{"slack", "sales"}};
  spec.bindings.push_back(json::object{
      {"channel", "slack"}, {"accountId", "sales"}, {"peer", json::object{{"kind", "channel"}, {"id", "C1"}}}});
  auto edit = planAgentAdd(*inv, spec);
  ASSERT_TRUE(edit) << edit.error().message;
  // Nothing is written until the edit is checked and written.
  EXPECT_EQ(lifecycleReadBack(inv->path()), kLifecycleInventory);
  auto check = checkInventoryEdit(*edit, lifecycleOptions());
  EXPECT_TRUE(check.ok()) << (check.blocking.empty() ? "" : check.blocking[0].id + ": " + check.blocking[0].message);
  ASSERT_TRUE(writeInventoryEdit(*edit));

  std::string after = lifecycleReadBack(inv->path());
  ASSERT_EQ(edit->files.size(), 1u);
  EXPECT_EQ(edit->files[0].file, inv->path());
  EXPECT_EQ(after, edit->files[0].after);
  for (const char* kept : {"// The organisation's fleet.", "// Support gateway.", "// the support bot",
                           "/* The support agent: keep this comment. */", "// a person"}) {
    EXPECT_THAT(after, HasSubstr(kept));
  }
  auto reread = Inventory::load(inv->path());
  ASSERT_TRUE(reread) << reread.error().message << "\n" << after;
  const Agent* sales = (*reread)->findAgent("sales");
  ASSERT_NE(sales, nullptr);
  EXPECT_EQ(sales->gateway, "gw-a");
  EXPECT_EQ(sales->kind, "use-case");
  EXPECT_EQ(sales->owner, "bo");
  EXPECT_EQ(sales->accounts.at("slack").first, "sales");
  ASSERT_EQ(sales->bindings.size(), 1u);
  EXPECT_EQ(sales->bindings[0].peerId, "C1");
  EXPECT_NE((*reread)->findAccount("slack", "sales"), nullptr);
  EXPECT_NE((*reread)->findAgent("helper"), nullptr);
  auto added = lifecyclePaths(*edit, ConfigChange::Kind::kAdded);
  EXPECT_THAT(added, ::testing::Contains("agents.sales.gateway"));
  EXPECT_THAT(added, ::testing::Contains("agents.sales.accounts.slack"));
  EXPECT_THAT(added, ::testing::Contains("agents.sales.bindings[0].peer.id"));
  EXPECT_THAT(added, ::testing::Contains("accounts.slack.sales"));
  EXPECT_TRUE(lifecyclePaths(*edit, ConfigChange::Kind::kRemoved).empty());
  EXPECT_TRUE(lifecyclePaths(*edit, ConfigChange::Kind::kChanged).empty());
}

TEST(AgentLifecycle, AddThatFailsPreflightLeavesTheFileByteIdentical) {
  TempDir dir;
  auto inv = loadLifecycle(dir);
  AgentSpec spec;
  spec.id = "thief";
  spec.gateway = "gw-b";
  spec.accounts = {{"telegram", "support"}};  // already support's: FLEET-ACCOUNT-SHARED
  auto edit = planAgentAdd(*inv, spec);
  ASSERT_TRUE(edit) << edit.error().message;
  auto check = checkInventoryEdit(*edit, lifecycleOptions());
  ASSERT_FALSE(check.ok());
  bool shared = false;
  for (const auto& f : check.blocking) shared = shared || f.id == "FLEET-ACCOUNT-SHARED";
  EXPECT_TRUE(shared);
  EXPECT_EQ(lifecycleReadBack(inv->path()), kLifecycleInventory);

  // A model policy does not allow: FLEET-POLICY-UNCATALOGUED.
  spec.accounts.clear();
  spec.model = "openai/gpt-unknown";
  auto uncatalogued = planAgentAdd(*inv, spec);
  ASSERT_TRUE(uncatalogued);
  EXPECT_FALSE(checkInventoryEdit(*uncatalogued, lifecycleOptions()).ok());
  EXPECT_EQ(lifecycleReadBack(inv->path()), kLifecycleInventory);
}

TEST(AgentLifecycle, AddRefusesBadInputWithoutWriting) {
  TempDir dir;
  auto inv = loadLifecycle(dir);
  AgentSpec spec;
  spec.id = "support";
  spec.gateway = "gw-a";
  auto exists = planAgentAdd(*inv, spec);
  ASSERT_FALSE(exists);
  EXPECT_EQ(exists.error().code, ErrorCode::kFailedPrecondition);

  spec.id = "new-one";
  spec.gateway = "gw-z";
  auto unknown = planAgentAdd(*inv, spec);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);

  // An unknown binding key is caught by the same reader: kConfigInvalid naming the key.
  spec.gateway = "gw-a";
  spec.bindings.push_back(json::object{{"channel", "telegram"}, {"acountId", "x"}});
  auto invalid = planAgentAdd(*inv, spec);
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().code, ErrorCode::kConfigInvalid);
  EXPECT_THAT(invalid.error().message, HasSubstr("acountId"));

  spec.bindings.clear();
  spec.id = "Bad Id";
  auto badId = planAgentAdd(*inv, spec);
  ASSERT_FALSE(badId);
  EXPECT_EQ(badId.error().code, ErrorCode::kConfigInvalid);
  EXPECT_EQ(lifecycleReadBack(inv->path()), kLifecycleInventory);
}

TEST(AgentLifecycle, AddCreatesTheAgentsSectionWhenMissingAndFillsAnInlineEmptyOne) {
  TempDir dir;
  const std::string head = R"({ organisation: { id: "o", slug: "o", displayName: "O" },
  gateways: { g: { port: 19401, stateDir: "/tmp/talon-agents-t/g", workspaceRoot: "/tmp/talon-agents-t/g-ws" } })";
  for (const std::string& text : {head + " }\n", head + ", agents: {} }\n"}) {
    auto inv = loadLifecycle(dir, text);
    ASSERT_NE(inv, nullptr);
    AgentSpec spec;
    spec.id = "first";
    spec.gateway = "g";
    auto edit = planAgentAdd(*inv, spec);
    ASSERT_TRUE(edit) << edit.error().message;
    ASSERT_NE(edit->edited->findAgent("first"), nullptr) << edit->files.at(0).after;
    EXPECT_TRUE(checkInventoryEdit(*edit, lifecycleOptions()).ok());
  }
}

TEST(AgentLifecycle, RemoveCutsTheAgentAndTheAccountsOnlyItMapped) {
  TempDir dir;
  auto inv = loadLifecycle(dir);
  auto edit = planAgentRemove(*inv, "support");
  ASSERT_TRUE(edit) << edit.error().message;
  auto check = checkInventoryEdit(*edit, lifecycleOptions());
  EXPECT_TRUE(check.ok()) << (check.blocking.empty() ? "" : check.blocking[0].id);
  ASSERT_TRUE(writeInventoryEdit(*edit));
  std::string after = lifecycleReadBack(inv->path());
  auto reread = Inventory::load(inv->path());
  ASSERT_TRUE(reread) << reread.error().message << "\n" << after;
  EXPECT_EQ((*reread)->findAgent("support"), nullptr);
  EXPECT_NE((*reread)->findAgent("helper"), nullptr);
  EXPECT_EQ((*reread)->findAccount("telegram", "support"), nullptr);
  EXPECT_NE((*reread)->findAccount("telegram", "shared"), nullptr);
  EXPECT_THAT(after, Not(HasSubstr("TG_SUPPORT")));
  for (const char* kept : {"// The organisation's fleet.", "// Support gateway.", "// a person"}) {
    EXPECT_THAT(after, HasSubstr(kept));
  }
  auto removed = lifecyclePaths(*edit, ConfigChange::Kind::kRemoved);
  EXPECT_THAT(removed, ::testing::Contains("agents.support.gateway"));
  EXPECT_THAT(removed, ::testing::Contains("agents.support.accounts.telegram"));
  EXPECT_THAT(removed, ::testing::Contains("accounts.telegram.support.botToken"));
  EXPECT_TRUE(lifecyclePaths(*edit, ConfigChange::Kind::kAdded).empty());

  // The last agent of a multi-line entry, without a trailing comma.
  auto helper = planAgentRemove(**reread, "helper");
  ASSERT_TRUE(helper) << helper.error().message;
  EXPECT_TRUE((*helper).edited->agents().empty()) << helper->files.at(0).after;

  auto missing = planAgentRemove(**reread, "nobody");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

// An inventory whose agents and accounts live in `$include`d files, one per gateway for the agents.
const char* kLifecycleIncludingInventory = R"({ organisation: { id: "o", slug: "o", displayName: "O" },
  catalogs: { integrations: { telegram: { kind: "core-channel" }, slack: { kind: "core-channel" } } },
  gateways: {
    g: { port: 19501, stateDir: "/tmp/talon-agents-t/i", workspaceRoot: "/tmp/talon-agents-t/i-ws" },
    h: { port: 19701, stateDir: "/tmp/talon-agents-t/j", workspaceRoot: "/tmp/talon-agents-t/j-ws" },
  },
  accounts: { $include: "./accounts.json5" },
  agents: { $include: ["./agents/g.json5", "./agents/h.json5"] },
}
)";
const char* kLifecycleAccountsFile = R"(// Channel accounts.
{ telegram: { inc: { botToken: "${TG_INC}" }, other: { botToken: "${TG_OTHER}" } } }
)";
const char* kLifecycleAgentsG = R"(// Agents of gateway g.
{
  inc: { gateway: "g", kind: "use-case", accounts: { telegram: "inc" } }, // keep me
}
)";
const char* kLifecycleAgentsH = R"({ hx: { gateway: "h", kind: "use-case", accounts: { telegram: "other" } } }
)";

InventoryPtr loadIncluding(const TempDir& dir) {
  dir.write("accounts.json5", kLifecycleAccountsFile);
  dir.write("agents/g.json5", kLifecycleAgentsG);
  dir.write("agents/h.json5", kLifecycleAgentsH);
  return loadLifecycle(dir, kLifecycleIncludingInventory);
}

TEST(AgentLifecycle, AddWritesBesideItsGatewaysAgentsInTheIncludedFileThatHoldsThem) {
  TempDir dir;
  auto inv = loadIncluding(dir);
  ASSERT_NE(inv, nullptr);
  AgentSpec spec;
  spec.id = "newbie";
  spec.gateway = "g";
  spec.accounts = {{"telegram", "fresh"}, {"slack", "sl"}};
  auto edit = planAgentAdd(*inv, spec);
  ASSERT_TRUE(edit) << edit.error().message;
  // The agent goes to g's file, the accounts to the accounts file; the inventory file is untouched.
  std::vector<fs::path> files;
  for (const auto& f : edit->files) files.push_back(f.file);
  EXPECT_THAT(files, ::testing::UnorderedElementsAre(dir.path() / "agents" / "g.json5", dir.path() / "accounts.json5"));
  auto check = checkInventoryEdit(*edit, lifecycleOptions());
  EXPECT_TRUE(check.ok()) << (check.blocking.empty() ? "" : check.blocking[0].id + ": " + check.blocking[0].message);
  ASSERT_TRUE(writeInventoryEdit(*edit));

  EXPECT_EQ(lifecycleReadBack(inv->path()), kLifecycleIncludingInventory);
  EXPECT_EQ(lifecycleReadBack(dir.path() / "agents" / "h.json5"), kLifecycleAgentsH);
  std::string g = lifecycleReadBack(dir.path() / "agents" / "g.json5");
  EXPECT_THAT(g, HasSubstr("// Agents of gateway g."));
  EXPECT_THAT(g, HasSubstr("// keep me"));
  EXPECT_THAT(g, HasSubstr("\"newbie\""));
  std::string accounts = lifecycleReadBack(dir.path() / "accounts.json5");
  EXPECT_THAT(accounts, HasSubstr("// Channel accounts."));
  EXPECT_THAT(accounts, HasSubstr("\"fresh\""));
  EXPECT_THAT(accounts, HasSubstr("\"slack\""));

  auto reread = Inventory::load(inv->path());
  ASSERT_TRUE(reread) << reread.error().message << "\n" << g << "\n" << accounts;
  const Agent* added = (*reread)->findAgent("newbie");
  ASSERT_NE(added, nullptr);
  EXPECT_EQ(added->layer.location.file, (dir.path() / "agents" / "g.json5").string());
  EXPECT_NE((*reread)->findAccount("telegram", "fresh"), nullptr);
  EXPECT_NE((*reread)->findAccount("slack", "sl"), nullptr);
  EXPECT_THAT(lifecyclePaths(*edit, ConfigChange::Kind::kAdded), ::testing::Contains("agents.newbie.gateway"));

  // An agent of the other gateway goes to that gateway's file.
  spec = AgentSpec{};
  spec.id = "second";
  spec.gateway = "h";
  auto onH = planAgentAdd(**reread, spec);
  ASSERT_TRUE(onH) << onH.error().message;
  ASSERT_EQ(onH->files.size(), 1u);
  EXPECT_EQ(onH->files[0].file, dir.path() / "agents" / "h.json5");
}

TEST(AgentLifecycle, RemoveCutsAnAgentAndItsAccountFromTheIncludedFilesThatHoldThem) {
  TempDir dir;
  auto inv = loadIncluding(dir);
  ASSERT_NE(inv, nullptr);
  auto edit = planAgentRemove(*inv, "inc");
  ASSERT_TRUE(edit) << edit.error().message;
  EXPECT_EQ(edit->files.size(), 2u);
  auto check = checkInventoryEdit(*edit, lifecycleOptions());
  EXPECT_TRUE(check.ok()) << (check.blocking.empty() ? "" : check.blocking[0].id + ": " + check.blocking[0].message);
  ASSERT_TRUE(writeInventoryEdit(*edit));
  EXPECT_EQ(lifecycleReadBack(inv->path()), kLifecycleIncludingInventory);
  auto reread = Inventory::load(inv->path());
  ASSERT_TRUE(reread) << reread.error().message;
  EXPECT_EQ((*reread)->findAgent("inc"), nullptr);
  EXPECT_EQ((*reread)->findAccount("telegram", "inc"), nullptr);
  EXPECT_NE((*reread)->findAccount("telegram", "other"), nullptr);
  EXPECT_NE((*reread)->findAgent("hx"), nullptr);
  EXPECT_THAT(lifecycleReadBack(dir.path() / "agents" / "g.json5"), HasSubstr("// Agents of gateway g."));
  EXPECT_THAT(lifecycleReadBack(dir.path() / "accounts.json5"), Not(HasSubstr("TG_INC")));
  EXPECT_THAT(lifecyclePaths(*edit, ConfigChange::Kind::kRemoved),
              ::testing::Contains("accounts.telegram.inc.botToken"));
}

TEST(AgentLifecycle, WriteOfSeveralFilesWritesNoneWhenOneChangedMeanwhile) {
  TempDir dir;
  auto inv = loadIncluding(dir);
  ASSERT_NE(inv, nullptr);
  auto edit = planAgentRemove(*inv, "inc");
  ASSERT_TRUE(edit) << edit.error().message;
  ASSERT_EQ(edit->files.size(), 2u);
  std::string changed = std::string(kLifecycleAccountsFile) + "// edited by someone else\n";
  dir.write("accounts.json5", changed);
  auto w = writeInventoryEdit(*edit);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(lifecycleReadBack(dir.path() / "accounts.json5"), changed);
  EXPECT_EQ(lifecycleReadBack(dir.path() / "agents" / "g.json5"), kLifecycleAgentsG);
  // No temp file is left behind.
  for (const auto& e : fs::recursive_directory_iterator(dir.path())) {
    EXPECT_THAT(e.path().filename().string(), Not(HasSubstr(".tmp-")));
  }
}

TEST(AgentLifecycle, AnEditThatBreaksAnIncludedFileIsRefusedNamingIt) {
  TempDir dir;
  auto inv = loadIncluding(dir);
  ASSERT_NE(inv, nullptr);
  AgentSpec spec;
  spec.id = "bad";
  spec.gateway = "g";
  spec.bindings.push_back(json::object{{"channel", "telegram"}, {"acountId", "inc"}});
  auto edit = planAgentAdd(*inv, spec);
  ASSERT_FALSE(edit);
  EXPECT_EQ(edit.error().code, ErrorCode::kConfigInvalid);
  EXPECT_THAT(edit.error().message, HasSubstr("g.json5"));
  EXPECT_EQ(lifecycleReadBack(dir.path() / "agents" / "g.json5"), kLifecycleAgentsG);
}

TEST(AgentLifecycle, WriteRefusesWhenTheFileChangedMeanwhile) {
  TempDir dir;
  auto inv = loadLifecycle(dir);
  auto edit = planAgentRemove(*inv, "helper");
  ASSERT_TRUE(edit);
  std::string changed = std::string(kLifecycleInventory) + "\n// edited by someone else\n";
  dir.write("fleet.json5", changed);
  auto w = writeInventoryEdit(*edit);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(lifecycleReadBack(inv->path()), changed);
}

TEST(AgentLifecycle, ArchiveMovesStateAndWritesAManifest) {
  TempDir dir;
  dir.write("ws/support/MEMORY.md", "remember");
  dir.write("state/agents/support/sessions/s1.jsonl", "{}\n");
  std::vector<std::pair<std::string, fs::path>> paths{{"workspace", dir.path() / "ws" / "support"},
                                                      {"agentState", dir.path() / "state" / "agents" / "support"},
                                                      {"agentDir", dir.path() / "elsewhere"}};
  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  fs::path archiveDir = defaultAgentArchiveDir(dir.path() / "fleet-state", "support", now);
  EXPECT_EQ(archiveDir.filename().string(), "support-20270115T080000Z");
  auto archived = archiveAgentState("support", "gw-a", dir.path() / "fleet.json5", paths, archiveDir, now);
  ASSERT_TRUE(archived) << archived.error().message;
  EXPECT_FALSE(fs::exists(dir.path() / "ws" / "support"));
  EXPECT_FALSE(fs::exists(dir.path() / "state" / "agents" / "support"));
  EXPECT_EQ(lifecycleReadBack(archiveDir / "workspace" / "MEMORY.md"), "remember");
  EXPECT_TRUE(fs::exists(archiveDir / "agentState" / "sessions" / "s1.jsonl"));
  ASSERT_EQ(archived->paths.size(), 3u);
  EXPECT_EQ(archived->paths[0].files, 1u);
  EXPECT_EQ(archived->paths[0].bytes, 8u);
  EXPECT_TRUE(archived->paths[2].to.empty());
  auto manifest = parseJson(lifecycleReadBack(archiveDir / "manifest.json"));
  ASSERT_TRUE(manifest && manifest->is_object());
  EXPECT_EQ(manifest->at("agent"), "support");
  EXPECT_EQ(manifest->at("time"), "2027-01-15T08:00:00Z");
  EXPECT_EQ(manifest->at("paths").as_array().size(), 3u);

  // An archive folder is never reused.
  auto again = archiveAgentState("support", "gw-a", dir.path() / "fleet.json5", paths, archiveDir, now);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
}

TEST(AgentLifecycle, StatePathsFollowTheGatewayLayout) {
  TempDir dir;
  auto inv = loadLifecycle(dir);
  auto fleet = EffectiveFleet::resolve(inv);
  auto paths = agentStatePaths(fleet, 1);  // "support" (agents are sorted by id: helper, support)
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_EQ(paths[0].second, fs::path("/tmp/talon-agents-t/a-ws/support"));
  EXPECT_EQ(paths[1].second, fs::path("/tmp/talon-agents-t/a/agents/support"));
}

}  // namespace
}  // namespace talon::fleet
