#include "gateway/agent/run_events.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

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

// The directly written events give the bytes their json::object forms serialize to (key order, number
// and string encoding), escapes included.
TEST(RunEventEncoder, DirectlyWrittenEventsMatchTheirObjectForm) {
  const std::string text = "h\u00e9llo \"w\"\\\n\t\x01 \xe2\x80\xa8";
  const auto message = [&](std::optional<int64_t> ts) {
    json::object m{{"role", "assistant"}, {"content", json::array{json::object{{"type", "text"}, {"text", text}}}}};
    if (ts) m["timestamp"] = *ts;
    return m;
  };
  const auto chat = [&](int64_t seq, std::string_view state, const json::object& extra) {
    json::object o{{"runId", "r\"1"}, {"sessionKey", "agent:main:\u00e9"}, {"seq", seq}, {"state", state}};
    for (const auto& kv : extra) o[kv.key()] = kv.value();
    return json::serialize(o);
  };
  const auto agent = [&](int64_t seq, std::string_view stream, int64_t ts, const json::object& data) {
    return json::serialize(
        json::object{{"runId", "r\"1"}, {"seq", seq}, {"stream", stream}, {"ts", ts}, {"data", data}});
  };
  RunEventEncoder events("r\"1", "agent:main:\u00e9");
  EXPECT_EQ(events.chatStatus("starting_\"model"), chat(0, "status", {{"phase", "starting_\"model"}}));
  EXPECT_EQ(events.chatDelta("lo\n", false, text, 1700000000123),
            chat(1, "delta", {{"deltaText", "lo\n"}, {"message", message(1700000000123)}}));
  EXPECT_EQ(events.chatDelta(text, true, text, -5),
            chat(2, "delta", {{"deltaText", text}, {"replace", true}, {"message", message(-5)}}));
  EXPECT_EQ(events.chatFinal(text, TokenUsage{3, 40, 0, 0}, "stop"),
            chat(3, "final",
                 {{"message", message(std::nullopt)},
                  {"usage", json::object{{"input", 3}, {"output", 40}, {"total", 43}}},
                  {"stopReason", "stop"}}));
  EXPECT_EQ(events.chatAborted("rpc", text, 11), chat(4, "aborted", {{"stopReason", "rpc"}, {"message", message(11)}}));
  EXPECT_EQ(events.chatAborted("shutdown", "", 12), chat(5, "aborted", {{"stopReason", "shutdown"}}));
  EXPECT_EQ(events.lifecycle("start", 9), agent(0, "lifecycle", 9, {{"phase", "start"}}));
  EXPECT_EQ(events.assistant(text, "\"", 10), agent(1, "assistant", 10, {{"text", text}, {"delta", "\""}}));
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
