#pragma once
// The reply texts of `/compact` (OpenClaw 2026.9.6 dist commands-handlers.runtime-*.mjs
// handleCompactCommand, token-format-*.mjs formatTokenCount, status-message-*.mjs
// formatContextUsageShort). Pure: no threads, no I/O.
#include <cstdint>
#include <string>

#include "base/error.h"
#include "gateway/agent/agent_runner.h"

namespace talon::gateway::chat_commands {

/// A token count as OpenClaw shows it: below 1,000 the whole number ("950"); below 10,000 thousands with
/// one decimal ("3.4k"); below a million whole thousands ("12k"); then millions with one decimal
/// ("1.2m"). Rounds as JavaScript's toFixed (a tie goes up). A count ≤ 0 is "0".
std::string formatTokenCount(int64_t tokens);

/// "Context <total>/<window> (<pct>%)": `total` ≤ 0 is unknown ("Context ?/200k"), `contextWindow` ≤ 0 is
/// unknown ("?", and no percentage); the percentage is rounded and capped at 999.
std::string formatContextUsageShort(int64_t total, int64_t contextWindow);

/// The reply to `/compact` for what AgentRunner::compact answered, `contextWindow` being the tokens of
/// the session's model:
///   compacted          "⚙️ Compacted (<before> → <after>) • Context <after>/<window> (<pct>%)"
///   nothing to compact "⚙️ Compaction skipped: nothing compactable in this session yet • Context …"
///   shutting down      "⚙️ Compaction unavailable: gateway is shutting down."
///   any other error    "⚙️ Compaction failed: <the error's public message> • Context ?/<window>"
/// Token counts are Talon's estimates (session_compaction.h estimateTextTokens).
std::string compactReplyText(const Result<CompactResult>& result, int64_t contextWindow);

}  // namespace talon::gateway::chat_commands
