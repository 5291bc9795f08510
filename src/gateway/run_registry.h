#pragma once
// Idempotency for run-starting requests (chat.send, agent): an idempotencyKey seen before returns the
// first request's run instead of starting another (OpenClaw: "Re-sending the same idempotencyKey
// returns the cached outcome"). Keeps the most recent `capacity` keys in memory; older keys are found
// in the store's runs table by the caller. Thread-safe.
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/agent/agent_runner.h"

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
  explicit RunRegistry(std::size_t capacity = 4096) : capacity_(capacity) {}

  /// Registers `key` for a new run. Returns nullopt when it was new (the caller starts the run), or a
  /// copy of the run already registered under it.
  std::optional<TrackedRun> claim(const std::string& key, const TrackedRun& run);
  /// Records the outcome of the run registered under `key` and runs the waiters added by waitFor().
  void complete(const std::string& key, const TurnOutcome& outcome);
  /// Calls `waiter` with the outcome once the run under `key` completes (at once when it already has).
  /// Returns false when the key is unknown.
  bool waitFor(const std::string& key, std::function<void(const TurnOutcome&)> waiter);

 private:
  struct Entry {
    TrackedRun run;
    std::vector<std::function<void(const TurnOutcome&)>> waiters;
    std::list<std::string>::iterator lruIt;
  };
  std::mutex mu_;
  std::size_t capacity_;
  std::list<std::string> lru_;
  std::unordered_map<std::string, Entry> runs_;
};

}  // namespace talon::gateway
