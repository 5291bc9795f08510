#pragma once
// The chat command seam (OpenClaw docs/tools/slash-commands.md, "text commands"): a message on a channel
// or in the web chat whose text is `/<name>` or `/<name> <args>` is an instruction to the gateway,
// answered by the gateway itself and never sent to the model as a turn. Each command is one file that
// declares a ChatCommandSpec and registers it here; builtin_chat_commands.cpp holds the one
// registration line per command.
//
// Who may run a command: a message reaches the command path only after the access gate admitted its
// sender (channel allowlists, pairing, group policy) — OpenClaw's "authorized sender" when
// `commands.allowFrom` is not configured (Talon refuses that key as not supported yet). No owner-only
// command is registered yet; one would need the sender checked against `commands.ownerAllowFrom`.
//
// Thread rules: fill the registry once while the gateway is wired, then share it; match() and list()
// are const and safe from any number of threads. A command's run() is called on the thread that
// received the message and must not block: it posts store or model work elsewhere and answers through
// its ChatCommandReply.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace talon::gateway::chat_commands {

/// One invocation of a command: the conversation it was typed in and its arguments.
struct ChatCommandCall {
  std::string agentId;     // the agent the message was routed to
  std::string sessionKey;  // that agent's session for the conversation
  std::string channel;     // "loopback", "telegram", "webchat", …
  std::string senderId;    // the channel's sender id; "" for the web chat (an operator connection)
  /// The text after the command's name and an optional ':', trimmed; may be empty, may hold newlines.
  std::string args;
};

/// Answers a command with the text sent back to the conversation (OpenClaw's reply text, e.g.
/// "⚙️ Compacted (12k → 3.4k) • Context 3.4k/200k (2%)"). Called exactly once, from any thread.
using ChatCommandReply = std::function<void(std::string text)>;

/// A command as it registers itself.
struct ChatCommandSpec {
  std::string name;         // without the '/', lower case ASCII letters, digits, '-' and '_': "compact"
  std::string usage;        // as docs/chat-commands.md shows it: "/compact [instructions]"
  std::string description;  // one line
  std::function<void(ChatCommandCall call, ChatCommandReply reply)> run;
};

/// A message that invokes a registered command.
struct ChatCommandMatch {
  const ChatCommandSpec* spec = nullptr;  // owned by the registry
  std::string args;                       // as ChatCommandCall::args
};

class ChatCommandRegistry {
 public:
  /// Registers `spec`. Errors: kInvalidArgument for an empty or malformed name or no run function,
  /// kAlreadyExists for a name registered before (both name the command).
  Status add(ChatCommandSpec spec);

  /// The command `text` invokes, or nullopt: after trimming, the text starts with '/', then a name
  /// (compared without regard to ASCII case) that ends the text or is followed by whitespace or ':'
  /// (OpenClaw normalizeCommandBody: "/compact: focus" is "/compact focus"). "/compacted" is not
  /// "/compact"; an unknown name is no command (the text goes to the model as written).
  std::optional<ChatCommandMatch> match(std::string_view text) const;

  /// Every registered command, by name.
  std::vector<const ChatCommandSpec*> list() const;

 private:
  std::map<std::string, ChatCommandSpec, std::less<>> commands_;
};

}  // namespace talon::gateway::chat_commands
