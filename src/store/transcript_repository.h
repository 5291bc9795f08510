#pragma once
// Transcripts: the append-only lines of a session's conversation.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "store/write_batch.h"

namespace talon::store {

class Store;

/// Who wrote a transcript line (OpenAI/OpenClaw chat roles).
enum class TranscriptRole { kUser, kAssistant, kTool, kSystem };

/// The stored and wire name: "user", "assistant", "tool", "system".
std::string_view transcriptRoleName(TranscriptRole role);
/// The role of a name given by transcriptRoleName(); nullopt for any other text (case-sensitive).
std::optional<TranscriptRole> parseTranscriptRole(std::string_view name);

/// One transcript line. Append-only; (sessionKey, seq) is unique and seq starts at 1. Seqs of a session
/// increase but may have gaps (a failed batch leaves its seqs unused).
struct TranscriptEntry {
  std::string sessionKey;
  int64_t seq = 0;
  std::string runId;
  TranscriptRole role = TranscriptRole::kUser;
  std::string content;        // text
  std::string toolCallsJson;  // assistant tool calls, JSON array as sent by the model (or empty)
  std::string toolCallId;     // for role tool: the call answered
  std::string toolName;       // for role tool
  int64_t ts = 0;             // ms since epoch
};

/// Reads and appends of transcript lines. A view over a Store (cheap to copy; the store must outlive it).
class TranscriptRepository {
 public:
  explicit TranscriptRepository(Store& store) : store_(&store) {}

  /// Adds to `batch` the append of `entry` and, in the same transaction, adds one to its session's
  /// messageCount. Required: sessionKey, seq ≥ 1 (kInvalidArgument); the session must exist, written
  /// earlier or earlier in the batch (kFailedPrecondition); (sessionKey, seq) must be new
  /// (kAlreadyExists).
  static void append(WriteBatch& batch, TranscriptEntry entry);

  /// The last `limit` entries of a session, oldest first; limit ≤ 0 means all. An unknown session has
  /// none. Errors: kFailedPrecondition after Store::close(), kIo for database failures (also for a
  /// stored role this binary does not know).
  Result<std::vector<TranscriptEntry>> tail(const std::string& sessionKey, int64_t limit) const;
  /// The entries run `runId` wrote in session `sessionKey`, oldest first (its user message, model answers
  /// and tool results: the run ledger). Errors: as tail().
  Result<std::vector<TranscriptEntry>> forRun(const std::string& sessionKey, const std::string& runId) const;

 private:
  Store* store_;
};

}  // namespace talon::store
