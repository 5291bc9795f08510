// The heartbeat blocks of `agents` (agents_section.cpp) and which agents run them (heartbeat_config.h):
// every key read, OpenClaw's rules (durations, HH:MM, strict keys, the default target "owner"), the
// heartbeat model's resolution and policy, `commands.ownerAllowFrom`, and OpenClaw's scope rules (entries'
// blocks win; defaults.agentId).
#include "config/heartbeat_config.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "config/config_test_util.h"

namespace talon::config {
namespace {

using testing::messages;
using testing::validate;

std::size_t errorCount(const ValidationResult& r) {
  std::size_t n = r.omittedErrors;
  for (const auto& d : r.diagnostics) n += d.isError() ? 1 : 0;
  return n;
}

TEST(HeartbeatConfig, ReadsEveryImplementedKey) {
  ValidationResult r = validate(R"({
    agents: { defaults: { heartbeat: {
      every: "1h30m", prompt: "Check in.", target: "telegram", to: "user:42", accountId: "ops",
      directPolicy: "block", activeHours: { start: "08:00", end: "24:00", timezone: "Europe/Berlin" },
      timeoutSeconds: 45, session: "main", isolatedSession: true, lightContext: false,
    } } },
  })");
  EXPECT_TRUE(r.diagnostics.empty()) << messages(r);
  ASSERT_TRUE(r.config.agents.defaults.heartbeat);
  const HeartbeatConfig& hb = *r.config.agents.defaults.heartbeat;
  EXPECT_EQ(hb.everyMs, 90 * 60'000);
  EXPECT_EQ(hb.prompt, "Check in.");
  EXPECT_EQ(hb.target, "telegram");
  EXPECT_EQ(hb.to, "user:42");
  EXPECT_EQ(hb.accountId, "ops");
  EXPECT_EQ(hb.directPolicy, "block");
  ASSERT_TRUE(hb.activeHours);
  EXPECT_EQ(hb.activeHours->startMinute, 8 * 60);
  EXPECT_EQ(hb.activeHours->endMinute, 1440);
  EXPECT_EQ(hb.activeHours->timezone, "Europe/Berlin");
  EXPECT_EQ(hb.timeoutSeconds, 45);
  EXPECT_EQ(hb.session, "main");
  EXPECT_EQ(hb.isolatedSession, true);

  auto effective = effectiveHeartbeats(r.config.agents);
  ASSERT_EQ(effective.size(), 1u);
  EXPECT_EQ(effective[0].agentId, "main");
  EXPECT_EQ(effective[0].everyMs(), 90 * 60'000);
}

TEST(HeartbeatConfig, DurationsAndTimes) {
  auto every = [](std::string_view value) {
    ValidationResult r =
        validate(fmt::format(R"({{agents: {{defaults: {{heartbeat: {{every: "{}", target: "none"}}}}}}}})", value));
    return r.diagnostics.empty() ? r.config.agents.defaults.heartbeat->everyMs.value_or(-1) : -1;
  };
  EXPECT_EQ(every("30"), 30 * 60'000) << "a bare number is minutes";
  EXPECT_EQ(every("0m"), 0) << "0m disables the cadence";
  EXPECT_EQ(every("45s"), 45'000);
  EXPECT_EQ(every("2h"), 2 * 3'600'000);
  EXPECT_EQ(every("1d"), 86'400'000);
  EXPECT_EQ(every("soon"), -1);
  EXPECT_EQ(every("5 parsecs"), -1);

  ValidationResult bad = validate(R"({agents: {defaults: {heartbeat: {target: "none",
    activeHours: {start: "24:00", end: "7:00"}}}}})");
  std::string m = messages(bad);
  EXPECT_NE(m.find("agents.defaults.heartbeat.activeHours.start: invalid time"), std::string::npos) << m;
  EXPECT_NE(m.find("agents.defaults.heartbeat.activeHours.end: invalid time"), std::string::npos) << m;
}

TEST(HeartbeatConfig, AStockOpenClawBlockWithoutTargetValidates) {
  // OpenClaw's default target is "owner"; a block that leaves it out is valid (and `to` is ignored there).
  ValidationResult unset = validate(R"({commands: {ownerAllowFrom: ["telegram:123456789"]},
    agents: {defaults: {heartbeat: {every: "30m"}}}})");
  EXPECT_TRUE(unset.diagnostics.empty()) << messages(unset);
  for (std::string_view target : {"owner", "last", "none", "telegram"}) {
    ValidationResult t = validate(fmt::format(R"({{agents: {{defaults: {{heartbeat: {{target: "{}"}}}}}}}})", target));
    EXPECT_TRUE(t.diagnostics.empty()) << target << ": " << messages(t);
    EXPECT_EQ(t.config.agents.defaults.heartbeat->target, target);
  }
  ValidationResult ignored = validate(R"({agents: {defaults: {heartbeat: {target: "owner", to: "user:42"}}}})");
  EXPECT_EQ(errorCount(ignored), 0u) << messages(ignored);
  EXPECT_NE(messages(ignored).find("heartbeat.to is ignored with target \"owner\""), std::string::npos)
      << messages(ignored);

  ValidationResult r = validate(R"({agents: {defaults: {heartbeat: { ackMaxChars: 10 }}}})");
  EXPECT_NE(messages(r).find("ackMaxChars"), std::string::npos) << "a key OpenClaw does not have is unknown";
  ValidationResult combined = validate(R"({agents: {defaults: {heartbeat: {target: "telegram:42", to: "1"}}}})");
  EXPECT_NE(messages(combined).find("put the recipient in heartbeat.to"), std::string::npos) << messages(combined);
}

TEST(HeartbeatConfig, ModelAndLightContext) {
  ValidationResult r = validate(R"({agents: {
    defaults: { models: { "openai/gpt-5.4-mini": { alias: "mini" } },
                heartbeat: { target: "none", model: "mini", lightContext: true } } }})");
  EXPECT_TRUE(r.diagnostics.empty()) << messages(r);
  const HeartbeatConfig& hb = *r.config.agents.defaults.heartbeat;
  EXPECT_EQ(hb.model, "mini");
  EXPECT_EQ(hb.lightContext, true);
  auto effective = effectiveHeartbeats(r.config.agents);
  ASSERT_EQ(effective.size(), 1u);
  EXPECT_EQ(effective[0].config.lightContext, true);
  auto model = resolveHeartbeatModel(r.config, effective[0]);
  ASSERT_TRUE(model) << model.error().message;
  ASSERT_TRUE(*model);
  EXPECT_EQ((*model)->ref, "openai/gpt-5.4-mini") << "the alias resolves for the agent";

  // The agent's modelPolicy decides, as for any override; the error names the key.
  ValidationResult refused = validate(R"({agents: {defaults: {
    modelPolicy: { allow: ["openai/gpt-4.1"] },
    heartbeat: { target: "none", model: "openai/gpt-5.4-mini" } } }})");
  std::string m = messages(refused);
  EXPECT_NE(m.find("agents.defaults.heartbeat.model: Model override \"openai/gpt-5.4-mini\" is not allowed"),
            std::string::npos)
      << m;
  // An entry's own model is reported at the entry's key.
  ValidationResult entry = validate(R"({agents: {entries: {main: {heartbeat: {
    target: "none", model: "nowhere/some-model" }}}}})");
  m = messages(entry);
  EXPECT_NE(m.find("agents.entries.main.heartbeat.model: model \"nowhere/some-model\" needs provider \"nowhere\", "
                   "which is not configured"),
            std::string::npos)
      << m;
  ValidationResult empty = validate(R"({agents: {defaults: {heartbeat: {target: "none", model: ""}}}})");
  EXPECT_GT(errorCount(empty), 0u);
  ValidationResult notBool = validate(R"({agents: {defaults: {heartbeat: {target: "none", lightContext: "yes"}}}})");
  EXPECT_GT(errorCount(notBool), 0u);
}

TEST(HeartbeatConfig, CommandsOwnerAllowFrom) {
  ValidationResult r = validate(R"({commands: {ownerAllowFrom: ["telegram:123456789", 42, " user:ops "]}})");
  EXPECT_TRUE(r.diagnostics.empty()) << messages(r);
  EXPECT_EQ(r.config.commands.ownerAllowFrom, (std::vector<std::string>{"telegram:123456789", "42", " user:ops "}));

  ValidationResult bad = validate(R"({commands: {ownerAllowFrom: ["", 1.5, true]}})");
  EXPECT_EQ(errorCount(bad), 3u) << messages(bad);
  ValidationResult notArray = validate(R"({commands: {ownerAllowFrom: "telegram:1"}})");
  EXPECT_EQ(errorCount(notArray), 1u) << messages(notArray);
  // OpenClaw's other commands keys stay refused as not supported yet.
  ValidationResult other = validate(R"({commands: {native: "auto", ownerAllowFrom: []}})");
  EXPECT_NE(messages(other).find("commands.native: OpenClaw key \"native\" is not supported by Talon yet"),
            std::string::npos)
      << messages(other);
}

TEST(HeartbeatConfig, EntriesBlocksWinAndMergeOverTheDefaults) {
  ValidationResult r = validate(R"({agents: {
    ownership: "explicit",
    defaults: { heartbeat: { every: "30m", target: "none", prompt: "Shared." } },
    entries: { main: {}, ops: { heartbeat: { every: "1h", target: "loopback", to: "user:ops" } } },
  }})");
  EXPECT_TRUE(r.diagnostics.empty()) << messages(r);
  auto effective = effectiveHeartbeats(r.config.agents);
  ASSERT_EQ(effective.size(), 1u) << "only the agents with a block of their own";
  EXPECT_EQ(effective[0].agentId, "ops");
  EXPECT_EQ(effective[0].everyMs(), 3'600'000);
  EXPECT_EQ(effective[0].config.prompt, "Shared.");
  EXPECT_EQ(effective[0].config.target, "loopback");
  EXPECT_EQ(effective[0].path, "agents.entries.ops.heartbeat");

  ValidationResult shared = validate(R"({agents: {
    ownership: "explicit",
    defaults: { heartbeat: { target: "none" } },
    entries: { main: {}, ops: {} },
  }})");
  EXPECT_EQ(effectiveHeartbeats(shared.config.agents).size(), 2u) << "a shared block runs for every agent";

  ValidationResult owner = validate(R"({agents: {
    ownership: "explicit",
    defaults: { heartbeat: { target: "none", agentId: "ops" } },
    entries: { main: {}, ops: {} },
  }})");
  EXPECT_TRUE(owner.diagnostics.empty()) << messages(owner);
  auto one = effectiveHeartbeats(owner.config.agents);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].agentId, "ops");

  ValidationResult unknown = validate(R"({agents: {defaults: {heartbeat: {target: "none", agentId: "nobody"}}}})");
  EXPECT_NE(messages(unknown).find("unknown agent id \"nobody\""), std::string::npos) << messages(unknown);
  ValidationResult entryAgentId =
      validate(R"({agents: {entries: {main: {heartbeat: {target: "none", agentId: "main"}}}}})");
  EXPECT_NE(messages(entryAgentId).find("agentId"), std::string::npos) << "agentId belongs to the defaults only";

  ValidationResult none = validate("{}");
  auto implicit = effectiveHeartbeats(none.config.agents);
  ASSERT_EQ(implicit.size(), 1u) << "no block: OpenClaw's implicit heartbeat of the sole agent";
  EXPECT_EQ(implicit[0].agentId, "main");
  EXPECT_TRUE(implicit[0].implicit);
  EXPECT_EQ(implicit[0].everyMs(), 30 * 60'000) << "every default: 30 min, target owner";
  EXPECT_FALSE(implicit[0].config.target);
  EXPECT_FALSE(heartbeatOwnerUnresolved(none.config.agents));

  ValidationResult sole = validate(R"({agents: {entries: {ops: {}}}})");
  auto soleHb = effectiveHeartbeats(sole.config.agents);
  ASSERT_EQ(soleHb.size(), 1u);
  EXPECT_EQ(soleHb[0].agentId, "ops");
  EXPECT_TRUE(soleHb[0].implicit);

  // Several agents and no block: no owner, no heartbeat, and a warning naming the fix.
  ValidationResult ownerless = validate(R"({agents: {ownership: "explicit", entries: {main: {}, ops: {}}}})");
  EXPECT_EQ(errorCount(ownerless), 0u) << messages(ownerless);
  EXPECT_TRUE(effectiveHeartbeats(ownerless.config.agents).empty());
  EXPECT_TRUE(heartbeatOwnerUnresolved(ownerless.config.agents));
  EXPECT_NE(messages(ownerless).find("Multi-agent config has no ambient heartbeat owner"), std::string::npos)
      << messages(ownerless);
  EXPECT_NE(messages(ownerless).find("agents.defaults.heartbeat.agentId"), std::string::npos);
  EXPECT_FALSE(heartbeatOwnerUnresolved(owner.config.agents));
  EXPECT_EQ(effective[0].implicit, false);
}

}  // namespace
}  // namespace talon::config
