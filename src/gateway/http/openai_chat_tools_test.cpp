// The chat tool contract's parsing and answer shapes (openai_chat_tools.h), against OpenClaw's texts
// (docs/gateway/openai-http-api.md "Chat tool contract"; dist openai-http-*.mjs, openai-tool-choice-*.mjs).
#include "gateway/http/openai_chat_tools.h"

#include <gtest/gtest.h>

namespace talon::gateway::http {
namespace {

json::object chatToolsRequest(std::string_view text) {
  auto v = parseJson(text);
  EXPECT_TRUE(v && v->is_object()) << text;
  return v && v->is_object() ? v->get_object() : json::object{};
}

std::string chatToolsError(std::string_view text) {
  auto r = parseChatTools(chatToolsRequest(text));
  EXPECT_FALSE(r) << text;
  if (r) return "";
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  return r.error().publicMessage();
}

constexpr std::string_view kWeatherTool =
    R"({"type":"function","function":{"name":"get_weather","description":"Weather",
        "parameters":{"type":"object","properties":{"city":{"type":"string"}}}}})";

TEST(OpenAiChatTools, FunctionToolsAreParsedWithTheirSchemas) {
  auto r = parseChatTools(chatToolsRequest(R"({"tools":[)" + std::string(kWeatherTool) + R"(,
      {"type":"function","function":{"name":"  now  "}}]})"));
  ASSERT_TRUE(r) << r.error().toString();
  ASSERT_EQ(r->tools.size(), 2u);
  EXPECT_EQ(r->tools[0].name, "get_weather");
  EXPECT_EQ(r->tools[0].description, "Weather");
  EXPECT_TRUE(r->tools[0].parameters().contains("properties"));
  EXPECT_EQ(r->tools[1].name, "now");  // trimmed, as OpenClaw trims it
  EXPECT_EQ(r->tools[1].parametersJson(), R"({"type":"object","properties":{}})");
  EXPECT_EQ(r->choice.kind, ChatToolChoice::Kind::kAuto);
  EXPECT_EQ(r->extraSystemPrompt, "");
  auto none = parseChatTools(chatToolsRequest(R"({"tools":null})"));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->tools.empty());
}

TEST(OpenAiChatTools, UnsupportedVariantsGetOpenClawsMessages) {
  EXPECT_EQ(chatToolsError(R"({"tools":{}})"), "Invalid tools/tool_choice: tools must be an array");
  EXPECT_EQ(chatToolsError(R"({"tools":[1]})"), "Invalid tools/tool_choice: each tool must be an object");
  EXPECT_EQ(chatToolsError(R"({"tools":[{"type":"custom","custom":{"name":"x"}}]})"),
            "Invalid tools/tool_choice: only function tools are supported");
  EXPECT_EQ(chatToolsError(R"({"tools":[{"type":"function"}]})"),
            "Invalid tools/tool_choice: tool.function is required");
  EXPECT_EQ(chatToolsError(R"({"tools":[{"type":"function","function":{"name":" "}}]})"),
            "Invalid tools/tool_choice: tool.function.name is required");
  const std::string tools = R"("tools":[)" + std::string(kWeatherTool) + "]";
  EXPECT_EQ(chatToolsError("{" + tools + R"(,"tool_choice":{"type":"allowed_tools","allowed_tools":{}}})"),
            "Invalid tools/tool_choice: tool_choice allowed_tools is not supported");
  EXPECT_EQ(chatToolsError("{" + tools + R"(,"tool_choice":{"type":"custom","custom":{"name":"x"}}})"),
            "Invalid tools/tool_choice: tool_choice custom is not supported");
  EXPECT_EQ(chatToolsError("{" + tools + R"(,"tool_choice":{"function":{"name":"x"}}})"),
            "Invalid tools/tool_choice: unsupported tool_choice type");
  EXPECT_EQ(chatToolsError("{" + tools + R"(,"tool_choice":"sometimes"})"),
            "Invalid tools/tool_choice: tool_choice must be a string or object");
  EXPECT_EQ(chatToolsError("{" + tools + R"(,"tool_choice":{"type":"function","function":{}}})"),
            "Invalid tools/tool_choice: tool_choice.function.name is required");
  EXPECT_EQ(chatToolsError("{" + tools + R"(,"tool_choice":{"type":"function","function":{"name":"nope"}}})"),
            "Invalid tools/tool_choice: tool_choice requested unknown tool: nope");
  EXPECT_EQ(chatToolsError(R"({"tool_choice":"required"})"),
            "Invalid tools/tool_choice: tool_choice=required but no tools were provided");
}

TEST(OpenAiChatTools, ToolChoiceNarrowsHidesOrRequires) {
  const std::string tools =
      R"("tools":[)" + std::string(kWeatherTool) + R"(,{"type":"function","function":{"name":"get_time"}}])";
  auto none = parseChatTools(chatToolsRequest("{" + tools + R"(,"tool_choice":"none"})"));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->tools.empty());
  auto required = parseChatTools(chatToolsRequest("{" + tools + R"(,"tool_choice":"required"})"));
  ASSERT_TRUE(required);
  EXPECT_EQ(required->tools.size(), 2u);
  EXPECT_EQ(required->extraSystemPrompt, "You must call one of the available tools before responding.");
  auto pinned = parseChatTools(
      chatToolsRequest("{" + tools + R"(,"tool_choice":{"type":"function","function":{"name":"get_time"}}})"));
  ASSERT_TRUE(pinned);
  ASSERT_EQ(pinned->tools.size(), 1u);
  EXPECT_EQ(pinned->tools[0].name, "get_time");
  EXPECT_EQ(pinned->extraSystemPrompt, "You must call the get_time tool before responding.");

  std::vector<ToolCall> weather{{"c1", "get_weather", "{}"}};
  EXPECT_TRUE(toolChoiceSatisfied(required->choice, weather));
  EXPECT_FALSE(toolChoiceSatisfied(required->choice, {}));
  EXPECT_FALSE(toolChoiceSatisfied(pinned->choice, weather));
  EXPECT_TRUE(toolChoiceSatisfied(none->choice, {}));
  EXPECT_EQ(unsatisfiedToolChoiceMessage(pinned->choice),
            "tool_choice required a get_time tool call, but the agent did not produce one");
  EXPECT_EQ(unsatisfiedToolChoiceMessage(required->choice),
            "tool_choice=required was not satisfied by the agent response");
}

Result<ChatConversation> chatToolsMessages(std::string_view text) {
  auto v = parseJson(text);
  EXPECT_TRUE(v && v->is_array()) << text;
  return parseChatMessages(v->get_array(), int64_t{1} << 20);
}

TEST(OpenAiChatTools, AUserTurnKeepsTheConversationWithItsToolCalls) {
  auto r = chatToolsMessages(R"([
    {"role":"system","content":"be brief"},
    {"role":"user","content":"weather?"},
    {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
      "function":{"name":"get_weather","arguments":{"city":"Oslo"}}}]},
    {"role":"tool","tool_call_id":"c1","content":[{"type":"text","text":"-3 C"}]},
    {"role":"assistant","content":"It is cold."},
    {"role":"user","content":"thanks"}])");
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->userText, "thanks");
  EXPECT_TRUE(r->results.empty());
  ASSERT_EQ(r->context.size(), 5u);
  EXPECT_EQ(r->context[2].role, "assistant");
  ASSERT_EQ(r->context[2].toolCalls.size(), 1u);
  EXPECT_EQ(r->context[2].toolCalls[0].argumentsJson, R"({"city":"Oslo"})");  // an object is serialized
  EXPECT_EQ(r->context[3].toolCallId, "c1");
  EXPECT_EQ(r->context[3].content, "-3 C");
}

TEST(OpenAiChatTools, TrailingResultsAreAFollowUp) {
  auto r = chatToolsMessages(R"([
    {"role":"user","content":"weather in Oslo and Rome?"},
    {"role":"assistant","content":"Checking.","tool_calls":[
      {"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}},
      {"id":"call_b","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},
    {"role":"tool","tool_call_id":"call_a","content":""},
    {"role":"tool","tool_call_id":"call_b","content":[]},
    {"role":"function","name":"get_weather","content":null}])");
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->userText, "");
  ASSERT_EQ(r->context.size(), 1u);  // the tool-call message is replaced by the session's stored answer
  EXPECT_EQ(r->context[0].role, "user");
  ASSERT_EQ(r->results.size(), 3u);
  EXPECT_EQ(r->results[0].toolCallId, "call_a");
  EXPECT_EQ(r->results[0].content, "");
  EXPECT_EQ(r->results[1].toolCallId, "call_b");
  EXPECT_EQ(r->results[2].toolCallId, "");
  EXPECT_EQ(r->results[2].name, "get_weather");
}

TEST(OpenAiChatTools, MalformedMessagesAreRefused) {
  auto noId = chatToolsMessages(R"([{"role":"user","content":"x"},{"role":"tool","content":"r"}])");
  ASSERT_FALSE(noId);
  EXPECT_EQ(noId.error().publicMessage(), "messages with role `tool` must have a `tool_call_id`");
  auto noName = chatToolsMessages(R"([{"role":"user","content":"x"},{"role":"function","content":"r"}])");
  ASSERT_FALSE(noName);
  EXPECT_EQ(noName.error().publicMessage(), "messages with role `function` must have a `name`");
  auto lastAssistant = chatToolsMessages(R"([{"role":"user","content":"x"},{"role":"assistant","content":"y"}])");
  ASSERT_FALSE(lastAssistant);
  EXPECT_EQ(lastAssistant.error().publicMessage(), "the last message must have role `user` or `tool`");
  auto image = chatToolsMessages(R"([{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}])");
  ASSERT_FALSE(image);
  EXPECT_EQ(image.error().code, ErrorCode::kUnsupported);
  auto big = parseJson(R"([{"role":"user","content":"0123456789"}])");
  EXPECT_FALSE(parseChatMessages(big->get_array(), 4));
}

TEST(OpenAiChatTools, ToolCallsAreShapedAsOpenAiSendsThem) {
  std::vector<ToolCall> calls{{"call_x_2_0", "get_weather", R"({"city":"Zürich"})"}};
  auto message = toolCallsMessageJson(calls);
  EXPECT_EQ(
      json::serialize(message),
      R"([{"id":"call_x_2_0","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Zürich\"}"}}])");
  // Fragments of at most 11 bytes that never split "ü" (2 bytes at offsets 10-11).
  auto deltas = toolCallDeltas(calls, 11);
  ASSERT_EQ(deltas.size(), 3u);
  EXPECT_EQ(
      json::serialize(deltas[0]),
      R"({"tool_calls":[{"index":0,"id":"call_x_2_0","type":"function","function":{"name":"get_weather","arguments":""}}]})");
  std::string joined;
  for (std::size_t i = 1; i < deltas.size(); ++i) {
    const auto& tc = deltas[i].at("tool_calls").as_array().at(0).as_object();
    EXPECT_EQ(tc.at("index").as_int64(), 0);
    EXPECT_FALSE(tc.contains("id"));
    std::string piece(tc.at("function").as_object().at("arguments").as_string());
    EXPECT_LE(piece.size(), 11u);
    joined += piece;
  }
  EXPECT_EQ(joined, calls[0].argumentsJson);
  EXPECT_EQ(std::string(deltas[1].at("tool_calls").as_array().at(0).at("function").at("arguments").as_string()),
            R"({"city":"Z)");
  // Empty arguments still send one (empty) fragment, as OpenClaw does.
  EXPECT_EQ(toolCallDeltas({{"c", "now", ""}}).size(), 2u);
}

}  // namespace
}  // namespace talon::gateway::http
