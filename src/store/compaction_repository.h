#pragma once
// Compactions of a session's history (OpenClaw docs/concepts/compaction.md): each is a summary of the
// transcript entries before `firstKeptSeq`, which later turns send instead of those entries. The
// transcript itself is never changed; the newest compaction of a session is the one in force.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "store/write_batch.h"

namespace talon::store {

class Store;

/// One compaction, as stored.
struct CompactionRecord {
  std::string sessionKey;
  int64_t id = 0;            // 1, 2, ... per session: the session's compaction count after this one
  int64_t firstKeptSeq = 0;  // the first transcript seq kept verbatim (≥ 1)
  std::string summary;       // the model's summary of everything before firstKeptSeq
  std::string reason;        // "threshold" | "overflow" | "manual"
  std::string runId;         // the run that compacted ("" for a manual compaction)
  std::string model;         // "provider/model" that wrote the summary
  int64_t tokensBefore = 0;  // estimated tokens of the history before, and after (summary + kept tail)
  int64_t tokensAfter = 0;
  int64_t createdAtMs = 0;
};

/// Reads and appends of compactions. A view over a Store (cheap to copy; the store must outlive it).
/// Reads: any thread; each sees every write whose commit was reported before it began.
class CompactionRepository {
 public:
  explicit CompactionRepository(Store& store) : store_(&store) {}

  /// Adds to `batch` the append of `record`. Errors when applied: kInvalidArgument (empty sessionKey,
  /// summary or reason, id or firstKeptSeq < 1), kFailedPrecondition (no such session), kAlreadyExists
  /// (the session has compaction `id` already).
  static void append(WriteBatch& batch, CompactionRecord record);

  /// The newest compaction of a session; nullopt when it has none. Errors: kFailedPrecondition after
  /// Store::close(), kIo for database failures.
  Result<std::optional<CompactionRecord>> latest(const std::string& sessionKey) const;

  /// The compaction count of each of `sessionKeys` (its newest compaction's id; OpenClaw's session
  /// `compactionCount`), by key; a session without compactions is absent. Errors: as latest().
  Result<std::map<std::string, int64_t>> counts(const std::vector<std::string>& sessionKeys) const;

 private:
  Store* store_;
};

}  // namespace talon::store
