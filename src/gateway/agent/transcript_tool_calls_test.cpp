#include "gateway/agent/transcript_tool_calls.h"

#include <gtest/gtest.h>

namespace talon::gateway {
namespace {

TEST(TranscriptToolCallsTest, CallsRoundTripWithTheirProviderSignature) {
  std::vector<ToolCall> calls{ToolCall{"c1", "read", R"({"path":"a"})", "CiQB0e2K"}, ToolCall{"c2", "exec", "{}"}};
  std::string text = toolCallsToJson(calls);
  // A call without a signature is stored as before (no key), so older entries read the same.
  EXPECT_EQ(text, R"([{"id":"c1","name":"read","arguments":"{\"path\":\"a\"}","signature":"CiQB0e2K"},)"
                  R"({"id":"c2","name":"exec","arguments":"{}"}])");
  auto back = toolCallsFromJson(text);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].signature, "CiQB0e2K");
  EXPECT_EQ(back[0].argumentsJson, R"({"path":"a"})");
  EXPECT_EQ(back[1].signature, "");
  EXPECT_TRUE(toolCallsFromJson("not json").empty());
}

}  // namespace
}  // namespace talon::gateway
