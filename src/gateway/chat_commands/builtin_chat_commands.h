#pragma once
// The chat commands Talon registers (chat_command_registry.h), one registration function per command
// file and one line per command in builtin_chat_commands.cpp.
#include "base/error.h"
#include "gateway/agent/agent_runner.h"
#include "gateway/chat_commands/chat_command_registry.h"

namespace talon::gateway::chat_commands {

/// What the built-in commands use; each registration function takes only its part. The referenced
/// objects outlive the registry.
struct ChatCommandServices {
  AgentRunner& runner;
};

/// Registers every built-in command. Errors: the first ChatCommandRegistry::add error.
Status registerBuiltinChatCommands(ChatCommandRegistry& registry, const ChatCommandServices& services);

/// `/compact [instructions]` (compact_command.cpp).
Status registerCompactCommand(ChatCommandRegistry& registry, AgentRunner& runner);

}  // namespace talon::gateway::chat_commands
