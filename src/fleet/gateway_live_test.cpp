// The live comparison and the recent-error extraction over answers captured from the runtimes: OpenClaw
// 2026.9.6's frames (tests/data/wire) and Talon's health/logs.tail shapes (channel account snapshot,
// JSON log lines).
#include "fleet/gateway_live.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "base/file_io.h"
#include "support/json_text.h"

namespace talon::fleet {
namespace {

using ::talon::testing::jsonValue;
using ::testing::HasSubstr;
using ::testing::Not;

const std::filesystem::path kLiveWireDir = std::filesystem::path(TALON_SOURCE_DIR) / "tests" / "data" / "wire";

/// The payload of a captured response frame.
json::value liveWirePayload(const std::string& file) {
  auto text = readFile(kLiveWireDir / file);
  EXPECT_TRUE(text) << file;
  json::value frame = jsonValue(text ? *text : "null");
  return frame.is_object() && frame.as_object().contains("payload") ? frame.at("payload") : json::value(nullptr);
}

std::string liveStates(const std::vector<LiveAgent>& agents) {
  std::string s;
  for (const auto& a : agents) s += (s.empty() ? "" : " ") + a.id + ":" + a.state;
  return s;
}

TEST(GatewayLiveTest, ComparesTheInventoryWithTheAgentsTheGatewayRuns) {
  auto ids = agentIdsFromAgentsList(liveWirePayload("res.agents.list.json"));
  ASSERT_TRUE(ids) << ids.error().message;
  EXPECT_EQ(*ids, (std::set<std::string>{"main"}));
  EXPECT_EQ(liveStates(compareLiveAgents({"sales", "main"}, *ids)), "sales:absent main:running");
  EXPECT_EQ(liveStates(compareLiveAgents({"sales"}, {"zeta", "main", "sales"})),
            "sales:running main:unmanaged zeta:unmanaged");
  EXPECT_EQ(liveStates(compareLiveAgents({}, {})), "");
  EXPECT_EQ(liveStates(unknownLiveAgents({"a", "b"})), "a:unknown b:unknown");
}

TEST(GatewayLiveTest, AnAgentsListWithoutAgentsIsAnError) {
  auto ids = agentIdsFromAgentsList(jsonValue(R"({"defaultId":"main"})"));
  ASSERT_FALSE(ids);
  EXPECT_EQ(ids.error().code, ErrorCode::kUpstream);
  EXPECT_FALSE(agentIdsFromAgentsList(json::value(nullptr)));
}

TEST(GatewayLiveTest, OpenClawsErrorLinesComeFromItsLogsTailNewestFirst) {
  auto errors = recentErrorsFrom(liveWirePayload("res.health.json"), liveWirePayload("res.logs.tail.json"), {});
  ASSERT_EQ(errors.size(), 1u);  // one ERROR line among INFO lines, no channel
  EXPECT_EQ(errors[0].source, "log");
  EXPECT_EQ(errors[0].time, "2026-11-21T12:20:19.742+00:00");
  EXPECT_EQ(errors[0].message, "[openclaw] Help: openclaw --help");
  EXPECT_EQ(errors[0].toJson().at("source"), "log");
}

/// A Talon gateway's health with a telegram account that did not start and a webchat probe that failed
/// (channelAccountSnapshot's fields), and its JSON-lines log.
const char* kTalonHealth = R"({"ok":true,"ts":1796300000000,"channels":{
  "telegram":{"accountId":"ops","lastError":"channels.telegram.accounts.ops.botToken: the Telegram channel needs a bot token","accounts":{
    "ops":{"accountId":"ops","running":false,"lastError":"channels.telegram.accounts.ops.botToken: the Telegram channel needs a bot token","lastErrorAt":1796299999000}}},
  "webchat":{"accounts":{"default":{"accountId":"default","running":true,"lastError":null,
    "probe":{"ok":false,"elapsedMs":3,"error":"send to https://hooks.example.test/sekret-token-123 refused"},"lastProbeAt":1796300000123}}}},
  "channelOrder":["telegram","webchat"]})";

json::value talonLogsTail() {
  json::array lines{
      R"({"time":"2026-12-03T11:00:00.000Z","level":"error","message":"channel telegram:ops: not started: no token"})",
      R"({"time":"2026-12-03T11:00:01.000Z","level":"info","message":"gateway listening"})",
      R"({"time":"2026-12-03T11:00:02.000Z","level":"warning","message":"telegram ops: getMe failed"})",
      "not json at all",
      R"({"time":"2026-12-03T11:00:03.000Z","level":"critical","message":"audit: disk full\nsecond line"})"};
  return json::object{{"file", "/state/logs/talon.log"}, {"cursor", 10}, {"size", 10}, {"lines", std::move(lines)}};
}

TEST(GatewayLiveTest, TalonsChannelConditionsComeFirstThenItsErrorLinesNewestFirst) {
  auto errors = recentErrorsFrom(jsonValue(kTalonHealth), talonLogsTail(), {"sekret-token-123"});
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_EQ(errors[0].source, "channel telegram/ops");    // from accounts, not twice from the default copy
  EXPECT_EQ(errors[0].time, "2026-12-03T12:13:19.000Z");  // Talon's lastErrorAt
  EXPECT_THAT(errors[0].message, HasSubstr("needs a bot token"));
  EXPECT_EQ(errors[1].source, "channel webchat/default probe");
  EXPECT_EQ(errors[1].time, "2026-12-03T12:13:20.123Z");
  EXPECT_EQ(errors[1].message, "send to https://hooks.example.test/*** refused");
  EXPECT_EQ(errors[2].source, "log");
  EXPECT_EQ(errors[2].time, "2026-12-03T11:00:03.000Z");
  EXPECT_EQ(errors[2].message, "audit: disk full second line");
  EXPECT_EQ(errors[3].message, "channel telegram:ops: not started: no token");
  EXPECT_EQ(errors[0].toJson().at("time"), "2026-12-03T12:13:19.000Z");
}

TEST(GatewayLiveTest, RecentErrorsAreBoundedInNumberAndLength) {
  json::array lines;
  for (int i = 0; i < 20; ++i) {
    lines.push_back(json::value(json::serialize(json::object{
        {"time", "t" + std::to_string(i)}, {"level", "error"}, {"message", std::string(300, 'x') + "é"}})));
  }
  auto errors = recentErrorsFrom(json::value(nullptr), json::object{{"lines", std::move(lines)}}, {});
  ASSERT_EQ(errors.size(), kRecentErrorLimit);
  EXPECT_EQ(errors[0].time, "t19");
  EXPECT_EQ(errors[4].time, "t15");
  EXPECT_LE(errors[0].message.size(), kRecentErrorMaxBytes + 3);
  EXPECT_TRUE(errors[0].message.ends_with("...")) << errors[0].message;
}

TEST(GatewayLiveTest, ASecretSplitAcrossTheCutNeverShowsAndShortValuesAreNotMasked) {
  std::string secret = "tok-" + std::string(40, 'q');
  json::array lines{json::value(json::serialize(
      json::object{{"time", "t"}, {"level", "error"}, {"message", "abc " + std::string(176, 'a') + secret}}))};
  auto errors = recentErrorsFrom(json::value(nullptr), json::object{{"lines", std::move(lines)}}, {secret, "abc"});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].message, Not(HasSubstr("tok-qq")));
  EXPECT_THAT(errors[0].message, HasSubstr("***"));
  EXPECT_TRUE(errors[0].message.starts_with("abc ")) << errors[0].message;
}

}  // namespace
}  // namespace talon::fleet
