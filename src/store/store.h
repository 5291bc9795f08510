#pragma once
// Durable state: sessions, append-only transcripts and agent runs. `Store` is the seam between the
// gateway and its database (SQLite embedded by default; PostgreSQL later).
//
// Writes go through submit(): one writer thread applies batches in order, several per transaction,
// and calls back after the commit is durable against a process crash (SQLite WAL). Reads may be made
// from any thread; each thread reading gets its own connection and sees every committed write.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace talon::store {

/// One conversation thread of one agent (OpenClaw: a session, keyed by sessionKey).
struct SessionRecord {
  std::string sessionKey;  // "agent:main:main"
  std::string agentId;
  std::string sessionId;  // uuid, stable for the key's lifetime
  std::string channel;    // "webchat", "telegram", ... or empty
  std::string label;      // display name, may be empty
  std::string model;      // "provider/model" of the last run, may be empty
  int64_t createdAtMs = 0;
  int64_t updatedAtMs = 0;
  int64_t messageCount = 0;  // transcript entries
  int64_t inputTokens = 0;   // totals over all runs
  int64_t outputTokens = 0;
  std::string lastRunId;
};

/// One transcript line. Append-only; (sessionKey, seq) is unique and seq starts at 1.
struct TranscriptEntry {
  std::string sessionKey;
  int64_t seq = 0;
  std::string runId;
  std::string role;           // "user" | "assistant" | "tool" | "system"
  std::string content;        // text
  std::string toolCallsJson;  // assistant tool calls, JSON array as sent by the model (or empty)
  std::string toolCallId;     // for role "tool": the call answered
  std::string toolName;       // for role "tool"
  int64_t ts = 0;             // ms since epoch
};

/// One agent run (a turn). Status: "running" | "ok" | "error" | "aborted".
struct RunRecord {
  std::string runId;
  std::string sessionKey;
  std::string agentId;
  std::string idempotencyKey;  // unique when not empty
  std::string status;
  std::string model;
  std::string errorCode;  // when status is error
  std::string errorMessage;
  std::string finalText;  // the final answer, when ok
  int64_t startedAtMs = 0;
  int64_t endedAtMs = 0;
  int64_t inputTokens = 0;
  int64_t outputTokens = 0;
  int64_t steps = 0;  // model calls made
};

/// Writes applied in one transaction, in this order: session upserts, transcript appends, run upserts.
/// A session upsert replaces every field but createdAtMs (kept from the first insert); the counters
/// (messageCount, tokens) are the caller's. A run upsert replaces every field. Entries and runs must name
/// a session that exists (written earlier, or in this batch). Required fields: sessionKey and agentId of
/// a session; sessionKey, seq ≥ 1 and a known role of an entry; runId, sessionKey and a known status of
/// a run.
struct WriteBatch {
  std::vector<SessionRecord> sessions;
  std::vector<TranscriptEntry> entries;
  std::vector<RunRecord> runs;
};

/// A page of sessions. limit and offset must be ≥ 0; limit 0 returns only totalCount.
struct SessionQuery {
  std::optional<std::string> agentId;  // only this agent's sessions
  int64_t limit = 100;
  int64_t offset = 0;
};

struct SessionPage {
  std::vector<SessionRecord> sessions;  // newest updatedAtMs first
  int64_t totalCount = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  /// Queues a batch; `onCommitted` runs on the writer thread once it is committed (or failed, and
  /// then nothing of the batch was applied). Batches are applied in submission order. Errors:
  /// kAlreadyExists for a duplicate (sessionKey, seq) or idempotencyKey, kInvalidArgument for a missing
  /// required field or an unknown role/status, kFailedPrecondition for an entry or run whose session
  /// does not exist, kIo for database failures. After close(), `onCommitted` runs at once on the
  /// caller's thread with kFailedPrecondition. Thread-safe; `onCommitted` must not block for long (it
  /// holds up every later commit) and must not call write() or close().
  virtual void submit(WriteBatch batch, std::function<void(Status)> onCommitted) = 0;
  /// submit() and wait for the commit. Errors: as submit(); kFailedPrecondition when called from an
  /// onCommitted callback (it would deadlock).
  virtual Status write(WriteBatch batch) = 0;

  /// Reads below: any thread; each sees every write whose commit was reported before the read began.
  /// Errors: kInvalidArgument for a bad query, kFailedPrecondition after close(), kIo for database
  /// failures. Sessions newest updatedAtMs first (ties: sessionKey ascending); count and page are one
  /// snapshot.
  virtual Result<SessionPage> listSessions(const SessionQuery& query) = 0;
  virtual Result<std::optional<SessionRecord>> getSession(const std::string& sessionKey) = 0;
  /// The last `limit` entries of a session, oldest first. limit ≤ 0 means all. An unknown session has
  /// no entries.
  virtual Result<std::vector<TranscriptEntry>> transcript(const std::string& sessionKey, int64_t limit) = 0;
  virtual Result<std::optional<RunRecord>> getRun(const std::string& runId) = 0;
  /// The run that used this key; nullopt for an empty key.
  virtual Result<std::optional<RunRecord>> findRunByIdempotencyKey(const std::string& idempotencyKey) = 0;
  /// Runs left "running" by a previous process (crash); the gateway marks them aborted at start.
  /// Oldest startedAtMs first (ties: runId ascending).
  virtual Result<std::vector<RunRecord>> listRunsWithStatus(const std::string& status) = 0;

  /// Where the data lives, for status output ("/home/u/.talon/state/talon.sqlite").
  virtual std::string location() const = 0;
  /// Finishes queued writes and stops the writer. Idempotent.
  virtual void close() = 0;
};
using StorePtr = std::unique_ptr<Store>;

}  // namespace talon::store
