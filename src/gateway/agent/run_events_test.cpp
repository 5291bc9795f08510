#include "gateway/agent/run_events.h"

#include <gtest/gtest.h>

namespace talon::gateway {
namespace {

json::object parsedObject(const std::string& text) {
  auto v = parseJson(text);
  EXPECT_TRUE(v && v->is_object()) << text;
  return v && v->is_object() ? v->get_object() : json::object{};
}

TEST(RunEventEncoder, ChatEventsCarryRunSessionAndSequence) {
  RunEventEncoder events("run-\"1\"", "agent:main:main");
  EXPECT_EQ(
      events.chatStatus("starting_model"),
      R"({"runId":"run-\"1\"","sessionKey":"agent:main:main","seq":0,"state":"status","phase":"starting_model"})");
  auto delta = parsedObject(events.chatDelta("lo", false, "hello", 1700000000000));
  EXPECT_EQ(delta.at("seq").as_int64(), 1);
  EXPECT_EQ(delta.at("state"), "delta");
  EXPECT_EQ(delta.at("deltaText"), "lo");
  EXPECT_FALSE(delta.contains("replace"));
  EXPECT_EQ(delta.at("message").at("content").at(0).at("text"), "hello");
  EXPECT_EQ(delta.at("message").at("timestamp").as_int64(), 1700000000000);
  auto final = parsedObject(events.chatFinal("hello", TokenUsage{3, 4, 0, 0}, "stop"));
  EXPECT_EQ(final.at("seq").as_int64(), 2);
  EXPECT_EQ(final.at("usage").at("total").as_int64(), 7);
  EXPECT_EQ(final.at("stopReason"), "stop");
}

TEST(RunEventEncoder, AgentEventsNumberTheirOwnSequence) {
  RunEventEncoder events("r", "k");
  EXPECT_EQ(events.lifecycle("start", 5),
            R"({"runId":"r","seq":0,"stream":"lifecycle","ts":5,"data":{"phase":"start"}})");
  EXPECT_EQ(events.turnState("model", 6, json::object{{"step", 2}, {"state", "ignored"}}),
            R"({"runId":"r","seq":1,"stream":"turn","ts":6,"data":{"state":"model","step":2}})");
  events.chatStatus("x");  // the chat sequence is separate
  auto tool = parsedObject(events.tool("result", "read", "call_1", true, 7, "not_found"));
  EXPECT_EQ(tool.at("seq").as_int64(), 2);
  EXPECT_EQ(tool.at("data").at("isError"), true);
  EXPECT_EQ(tool.at("data").at("errorKind"), "not_found");
}

}  // namespace
}  // namespace talon::gateway
