#pragma once
// Sessions: one conversation thread of one agent (OpenClaw: a session, keyed by sessionKey).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "store/write_batch.h"

namespace talon::store {

class Store;

/// One session. The totals (messageCount, inputTokens, outputTokens) are the store's: they are kept
/// equal to the session's transcript rows and the sum over its run records, in the same transaction
/// as those rows, so a failed batch can never make them drift. Values set by a caller are ignored.
struct SessionRecord {
  std::string sessionKey;  // "agent:main:main"
  std::string agentId;
  std::string sessionId;  // uuid, stable for the key's lifetime
  std::string channel;    // "webchat", "telegram", ... or empty
  std::string label;      // display name, may be empty
  std::string model;      // "provider/model" of the last run, may be empty
  int64_t createdAtMs = 0;
  int64_t updatedAtMs = 0;
  int64_t messageCount = 0;  // transcript entries of the session (store-maintained)
  int64_t inputTokens = 0;   // totals over the session's runs (store-maintained)
  int64_t outputTokens = 0;
  std::string lastRunId;
};

/// A page of sessions. limit and offset must be ≥ 0; limit 0 returns only totalCount.
struct SessionQuery {
  std::optional<std::string> agentId;  // only this agent's sessions
  int64_t limit = 100;
  int64_t offset = 0;
};

struct SessionPage {
  std::vector<SessionRecord> sessions;  // newest updatedAtMs first (ties: sessionKey ascending)
  int64_t totalCount = 0;               // sessions matching the query, all pages
};

/// Reads and writes of sessions. A view over a Store (cheap to copy; the store must outlive it). Reads:
/// any thread; each sees every write whose commit was reported before the read began.
class SessionRepository {
 public:
  explicit SessionRepository(Store& store) : store_(&store) {}

  /// Adds to `batch` the insert-or-update of `record`: every field is replaced except createdAtMs
  /// (kept from the first insert) and the store-maintained totals (0 on insert, then kept). Required:
  /// sessionKey, agentId (kInvalidArgument when the batch is applied).
  static void upsert(WriteBatch& batch, SessionRecord record);

  /// A page of sessions; count and page come from one snapshot. Errors: kInvalidArgument for a negative
  /// limit or offset, kFailedPrecondition after Store::close(), kIo for database failures.
  Result<SessionPage> list(const SessionQuery& query) const;
  /// The session with this key, or nullopt. Errors: as list().
  Result<std::optional<SessionRecord>> get(const std::string& sessionKey) const;

 private:
  Store* store_;
};

}  // namespace talon::store
