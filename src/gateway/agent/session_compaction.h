#pragma once
// Compaction of a session's history (OpenClaw docs/concepts/compaction.md): when the conversation sent
// to the model would not fit the model's context window, the older part of the transcript is summarised
// by one model call and later turns send [summary + the messages after it]. The full transcript stays
// in the store; the summary is a store::CompactionRecord.
//
// This file holds the pure parts: the token estimate, the per-model budget, where the history is cut
// (never between an assistant's tool calls and their results), the summarisation request and the
// message that carries a summary into later requests. No threads, no clock, no I/O.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_model.h"
#include "gateway/providers/model_provider.h"
#include "store/transcript_repository.h"

namespace talon::gateway {

/// `agents.defaults.compaction` as the runner applies it (config/compaction_config.h reads it).
struct CompactionSettings {
  /// Threshold compaction before a turn whose history exceeds the budget. Overflow recovery and manual
  /// compaction run whatever this says (OpenClaw).
  bool enabled = true;
  /// The most recent transcript tail kept verbatim, in estimated tokens.
  int64_t keepRecentTokens = 20'000;
  /// The most recent user turns kept verbatim (at least the current one is always kept).
  int recentTurnsPreserve = 3;
  /// Budget of the summarisation call.
  std::chrono::milliseconds timeout{180'000};
  /// "provider/model" of the summarisation call; empty: the model of the session's turn.
  std::string model;
  /// Tell the chat when compaction starts and ends (chat status events "compacting" / "compacted").
  bool notifyUser = false;
};

/// The settings of `config` (`agents.defaults.compaction`); `model` is copied as written (the gateway
/// resolves an alias to "provider/model").
CompactionSettings compactionSettings(const config::CompactionConfig& config);

/// Context window assumed for a model whose `contextWindow` is not configured, in tokens (OpenClaw
/// DEFAULT_CONTEXT_TOKENS).
inline constexpr int64_t kDefaultContextWindowTokens = 200'000;
/// Tokens kept free for the answer when the model has no `maxTokens` (OpenClaw's compaction
/// reserveTokensFloor).
inline constexpr int64_t kDefaultAnswerReserveTokens = 20'000;

/// Estimated tokens of `text`: one token per CJK character (Han, Hiragana, Katakana, Hangul, CJK
/// punctuation and full-width forms; OpenClaw counts CJK per character), and one per 4 UTF-8 bytes of
/// everything else, rounded up.
int64_t estimateTextTokens(std::string_view text);
/// Estimated tokens of one message: its content, its tool calls' names and arguments, and 4 for the
/// role and framing.
int64_t estimateMessageTokens(const ChatMessage& message);
/// The sum over `messages`.
int64_t estimateMessagesTokens(const std::vector<ChatMessage>& messages);

/// The estimated tokens a request may hold for a model: `contextWindow` (≤ 0: kDefaultContextWindowTokens)
/// minus the answer's reserve — `maxTokens` when > 0, else kDefaultAnswerReserveTokens — the reserve being
/// capped at half the window.
int64_t contextBudgetTokens(int64_t contextWindow, int64_t maxTokens);

/// Where `entries` (a session's history, oldest first) is cut: entries [0, cut) are summarised and
/// [cut, end) are kept. The kept tail starts at the `recentTurnsPreserve`-th last user message; while it
/// holds more than `keepRecentTokens` it loses its oldest entries, never past the last user message (the
/// current request) and never starting on a tool result, so an assistant's tool calls and their results
/// stay on one side. nullopt when nothing would be summarised (cut 0).
std::optional<std::size_t> compactionCut(const std::vector<store::TranscriptEntry>& entries, int64_t keepRecentTokens,
                                         int recentTurnsPreserve);

/// The message that carries a stored summary into later requests (role "user", first after the system
/// prompt).
ChatMessage summaryMessage(std::string_view summary);

/// The summarisation call: a fixed system prompt, then the previous summary (if any) and the
/// summarised entries as a plain-text transcript (one "[role]: text" block each; tool calls by name and
/// arguments), then `instructions` (an operator's focus, cut to 800 characters) when given.
ModelRequest summaryRequest(std::string model, std::string_view previousSummary,
                            const std::vector<store::TranscriptEntry>& entries, std::string_view instructions);

/// The chat message of a transcript entry (assistant tool calls and tool results kept).
ChatMessage transcriptChatMessage(const store::TranscriptEntry& entry);

}  // namespace talon::gateway
