// `/compact [instructions]` (OpenClaw docs/concepts/compaction.md "Manual compaction", docs/tools/
// slash-commands.md; dist commands-handlers.runtime-*.mjs handleCompactCommand): the session's older
// history is summarised now, with the instructions as the summary's focus, and the conversation is told
// what was done. Any sender the access gate admitted may run it (not owner-only). A turn of the session
// that is running is aborted first and the compaction runs once the session's lane is free; turns queued
// behind it keep their place. `agents.defaults.compaction.enabled: false` does not turn it off.
#include "gateway/agent/session_compaction.h"
#include "gateway/chat_commands/builtin_chat_commands.h"
#include "gateway/chat_commands/compact_reply.h"

namespace talon::gateway::chat_commands {

namespace {

/// The context window of `agentId`'s model in tokens (models.providers.*.models[].contextWindow, else
/// kDefaultContextWindowTokens), for the reply's "Context" part.
int64_t compactContextWindow(const AgentRunner& runner, const std::string& agentId) {
  const AgentProfile* profile = runner.agent(agentId);
  if (profile == nullptr) return kDefaultContextWindowTokens;
  auto it = profile->contextWindows.find(profile->model);
  return it != profile->contextWindows.end() && it->second > 0 ? it->second : kDefaultContextWindowTokens;
}

}  // namespace

Status registerCompactCommand(ChatCommandRegistry& registry, AgentRunner& runner) {
  return registry.add({"compact", "/compact [instructions]", "Compact the session context.",
                       [&runner](ChatCommandCall call, ChatCommandReply reply) {
                         const int64_t window = compactContextWindow(runner, call.agentId);
                         runner.compact(
                             call.agentId, call.sessionKey, std::move(call.args),
                             [reply = std::move(reply), window](Result<CompactResult> result) {
                               reply(compactReplyText(result, window));
                             },
                             CompactWhenBusy::kAbortRunning);
                       }});
}

}  // namespace talon::gateway::chat_commands
