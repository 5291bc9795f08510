#pragma once
// Idempotency for run-starting requests (chat.send, agent): an idempotencyKey seen before returns the
// first request's run instead of starting another (OpenClaw: "Re-sending the same idempotencyKey
// returns the cached outcome"). Keeps the most recent `capacity` keys in memory, each for at most the
// key TTL after its run ended (`gateway.idempotency.ttlSeconds`), and at most `maxOutcomeBytes` of
// finished runs' answers; older keys are looked up in the store's runs table by the caller, which keeps
// them until the IdempotencyPruner releases them.
// Thread-safe.
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "gateway/agent/agent_runner.h"
#include "store/run_repository.h"

namespace talon::gateway {

/// A run known by its idempotency key.
struct TrackedRun {
  std::string runId;
  std::string sessionKey;
  std::string agentId;
  bool done = false;
  TurnOutcome outcome;  // valid when done
};

class RunRegistry {
 public:
  /// Keeps at most `capacity` keys. With a `clock` and `ttlMs` > 0, a key whose run completed more
  /// than `ttlMs` (wall ms) ago is forgotten (claim() takes it as new, waitFor() as unknown);
  /// without, finished keys are forgotten only for capacity and bytes. Finished runs' outcomes (their
  /// texts and error messages, outcomeBytes()) take at most `maxOutcomeBytes`: the oldest finished
  /// keys are forgotten first. A running run's key is never forgotten for capacity or bytes.
  explicit RunRegistry(std::size_t capacity = 1024, ClockPtr clock = nullptr, int64_t ttlMs = 0,
                       std::size_t maxOutcomeBytes = kDefaultMaxOutcomeBytes)
      : capacity_(capacity), clock_(std::move(clock)), ttlMs_(ttlMs), maxOutcomeBytes_(maxOutcomeBytes) {}

  /// The default bound on the bytes of kept outcomes (1 MiB).
  static constexpr std::size_t kDefaultMaxOutcomeBytes = std::size_t{1} << 20;
  /// The bytes an outcome holds that grow with the run (answer text, error message), as counted
  /// against maxOutcomeBytes.
  static std::size_t outcomeBytes(const TurnOutcome& outcome);
  /// Keys kept now, and the bytes their outcomes hold (for tests and metrics).
  std::size_t size();
  std::size_t keptOutcomeBytes();

  /// Registers `key` for a new run. Returns nullopt when it was new (the caller starts the run), or a
  /// copy of the run already registered under it.
  std::optional<TrackedRun> claim(const std::string& key, const TrackedRun& run);
  /// Records the outcome of the run registered under `key` and runs the waiters added by waitFor().
  void complete(const std::string& key, const TurnOutcome& outcome);
  /// Drops `key` (its run never started: the next claim() of the key takes it as new) after handing
  /// `outcome` to the waiters added by waitFor().
  void forget(const std::string& key, const TurnOutcome& outcome);
  /// Calls `waiter` with the outcome once the run under `key` completes (at once when it already has).
  /// Returns false when the key is unknown.
  bool waitFor(const std::string& key, std::function<void(const TurnOutcome&)> waiter);

 private:
  struct Entry {
    TrackedRun run;
    std::vector<std::function<void(const TurnOutcome&)>> waiters;
    std::list<std::string>::iterator lruIt;
    int64_t completedAtMs = 0;     // wall ms, when run.done
    std::size_t outcomeBytes = 0;  // counted in outcomeBytes_, when run.done
  };
  using EntryMap = std::unordered_map<std::string, Entry>;
  /// Erases the entry at `it` when its run completed more than ttlMs_ ago; true when it did. Holds mu_.
  bool eraseIfExpired(EntryMap::iterator it);
  /// Erases the entry at `it` (its LRU position and bytes too). Holds mu_.
  void eraseLocked(EntryMap::iterator it);
  /// Forgets the oldest finished keys while more than capacity_ keys or maxOutcomeBytes_ are kept.
  /// Holds mu_.
  void trimLocked();

  std::mutex mu_;
  std::size_t capacity_;
  ClockPtr clock_;
  int64_t ttlMs_;
  std::size_t maxOutcomeBytes_;
  std::size_t outcomeBytes_ = 0;
  std::list<std::string> lru_;  // most recently claimed first
  EntryMap runs_;
};

/// The terminal outcome of a run an earlier process (or an evicted key) recorded, as the runner would
/// have reported it: ok → its final text; error → its stored error (code and public message); aborted →
/// the abort (not retryable: the key's run is over). A run still marked running was interrupted (its
/// process died and the start-up sweep could not mark it): it is answered as aborted by shutdown too,
/// never as UNAVAILABLE, which would invite the client to retry a key that can never complete.
TurnOutcome storedRunOutcome(const store::RunRecord& run);

}  // namespace talon::gateway
