// The heartbeat blocks of `agents` (agents_section.cpp) and which agents run them (heartbeat_config.h):
// every implemented key read, OpenClaw's rules (durations, HH:MM, strict keys), the keys and targets Talon
// refuses as not supported yet, and OpenClaw's scope rules (entries' blocks win; defaults.agentId).
#include "config/heartbeat_config.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "config/config_test_util.h"

namespace talon::config {
namespace {

using testing::messages;
using testing::validate;

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

TEST(HeartbeatConfig, RefusesWhatTalonDoesNotDoYet) {
  ValidationResult r = validate(R"({agents: {defaults: {heartbeat: {
    every: "30m", target: "none", model: "openai/gpt-5.4-mini", lightContext: true, ackMaxChars: 10 }}}})");
  std::string m = messages(r);
  EXPECT_NE(m.find("agents.defaults.heartbeat.model: a heartbeat model override (heartbeat.model) is not "
                   "supported by Talon yet"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("agents.defaults.heartbeat.lightContext: heartbeat.lightContext"), std::string::npos) << m;
  EXPECT_NE(m.find("ackMaxChars"), std::string::npos) << "a key OpenClaw does not have either is unknown: " << m;

  for (std::string_view target : {"owner", "last"}) {
    ValidationResult t = validate(fmt::format(R"({{agents: {{defaults: {{heartbeat: {{target: "{}"}}}}}}}})", target));
    EXPECT_NE(messages(t).find(fmt::format("heartbeat target \"{}\"", target)), std::string::npos) << messages(t);
  }
  ValidationResult unset = validate(R"({agents: {defaults: {heartbeat: {every: "30m"}}}})");
  EXPECT_NE(messages(unset).find("heartbeat.target defaults to \"owner\""), std::string::npos) << messages(unset);
  ValidationResult noTo = validate(R"({agents: {defaults: {heartbeat: {target: "telegram"}}}})");
  EXPECT_NE(messages(noTo).find("needs heartbeat.to"), std::string::npos) << messages(noTo);
  ValidationResult combined = validate(R"({agents: {defaults: {heartbeat: {target: "telegram:42", to: "1"}}}})");
  EXPECT_NE(messages(combined).find("put the recipient in heartbeat.to"), std::string::npos) << messages(combined);
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
  EXPECT_TRUE(effectiveHeartbeats(none.config.agents).empty()) << "no block: no heartbeat";
}

}  // namespace
}  // namespace talon::config
