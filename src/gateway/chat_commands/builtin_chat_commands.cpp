#include "gateway/chat_commands/builtin_chat_commands.h"

namespace talon::gateway::chat_commands {

Status registerBuiltinChatCommands(ChatCommandRegistry& registry, const ChatCommandServices& services) {
  if (auto s = registerCompactCommand(registry, services.runner); !s) return s;
  return {};
}

}  // namespace talon::gateway::chat_commands
