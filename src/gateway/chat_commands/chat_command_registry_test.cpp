// Which messages are chat commands (OpenClaw normalizeCommandBody: a leading '/', the name in any case,
// then whitespace or ':'), and what the registry refuses.
#include "gateway/chat_commands/chat_command_registry.h"

#include <gtest/gtest.h>

namespace talon::gateway::chat_commands {
namespace {

ChatCommandSpec commandNamed(std::string name) {
  return {std::move(name), "/x", "test", [](ChatCommandCall, ChatCommandReply reply) { reply("done"); }};
}

TEST(ChatCommandRegistryTest, AMessageIsACommandOnlyWhenItStartsWithARegisteredName) {
  ChatCommandRegistry registry;
  ASSERT_TRUE(registry.add(commandNamed("compact")));
  const std::pair<const char*, const char*> commands[] = {
      {"/compact", ""},
      {"  /compact  \n", ""},
      {"/COMPACT", ""},
      {"/compact Focus on the API design decisions", "Focus on the API design decisions"},
      {"/compact: keep the names", "keep the names"},
      {"/compact :keep", "keep"},
      {"/compact\nfirst line\nsecond line ", "first line\nsecond line"},
  };
  for (const auto& [text, args] : commands) {
    auto m = registry.match(text);
    ASSERT_TRUE(m) << text;
    EXPECT_EQ(m->spec->name, "compact");
    EXPECT_EQ(m->args, args) << text;
  }
  for (const char* text : {"compact", "please /compact", "/compacted", "/new", "/", "", "/ compact"}) {
    EXPECT_FALSE(registry.match(text)) << text;
  }
}

TEST(ChatCommandRegistryTest, BadNamesMissingHandlersAndDuplicatesAreRefused) {
  ChatCommandRegistry registry;
  EXPECT_EQ(registry.add(commandNamed("")).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(registry.add(commandNamed("Compact")).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(registry.add(commandNamed("com pact")).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(registry.add({"status", "/status", "x", nullptr}).error().code, ErrorCode::kInvalidArgument);
  ASSERT_TRUE(registry.add(commandNamed("compact")));
  auto again = registry.add(commandNamed("compact"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(again.error().message.find("/compact"), std::string::npos);
  ASSERT_EQ(registry.list().size(), 1u);
}

}  // namespace
}  // namespace talon::gateway::chat_commands
