#include "gateway/run_registry.h"

namespace talon::gateway {

bool RunRegistry::eraseIfExpired(std::unordered_map<std::string, Entry>::iterator it) {
  if (!clock_ || ttlMs_ <= 0 || !it->second.run.done) return false;
  if (clock_->nowMs() - it->second.completedAtMs <= ttlMs_) return false;
  lru_.erase(it->second.lruIt);
  runs_.erase(it);
  return true;
}

std::optional<TrackedRun> RunRegistry::claim(const std::string& key, const TrackedRun& run) {
  std::lock_guard lock(mu_);
  auto it = runs_.find(key);
  if (it != runs_.end() && !eraseIfExpired(it)) return it->second.run;
  lru_.push_front(key);
  runs_.emplace(key, Entry{run, {}, lru_.begin()});
  while (runs_.size() > capacity_) {
    auto oldest = runs_.find(lru_.back());
    if (oldest != runs_.end() && !oldest->second.run.done) break;  // never forget a running run
    if (oldest != runs_.end()) runs_.erase(oldest);
    lru_.pop_back();
  }
  return std::nullopt;
}

void RunRegistry::complete(const std::string& key, const TurnOutcome& outcome) {
  std::vector<std::function<void(const TurnOutcome&)>> waiters;
  {
    std::lock_guard lock(mu_);
    auto it = runs_.find(key);
    if (it == runs_.end()) return;
    it->second.run.done = true;
    it->second.run.outcome = outcome;
    it->second.completedAtMs = clock_ ? clock_->nowMs() : 0;
    waiters.swap(it->second.waiters);
  }
  for (auto& w : waiters) w(outcome);
}

void RunRegistry::forget(const std::string& key, const TurnOutcome& outcome) {
  std::vector<std::function<void(const TurnOutcome&)>> waiters;
  {
    std::lock_guard lock(mu_);
    auto it = runs_.find(key);
    if (it == runs_.end()) return;
    waiters.swap(it->second.waiters);
    lru_.erase(it->second.lruIt);
    runs_.erase(it);
  }
  for (auto& w : waiters) w(outcome);
}

bool RunRegistry::waitFor(const std::string& key, std::function<void(const TurnOutcome&)> waiter) {
  std::unique_lock lock(mu_);
  auto it = runs_.find(key);
  if (it == runs_.end() || eraseIfExpired(it)) return false;
  if (it->second.run.done) {
    auto outcome = it->second.run.outcome;
    lock.unlock();
    waiter(outcome);
    return true;
  }
  it->second.waiters.push_back(std::move(waiter));
  return true;
}

namespace {

/// The ErrorCode of a run record's stored protocol code, read back through the one mapping
/// (protocolErrorCode): where several codes share a protocol code the first listed, the general one,
/// is taken (INVALID_REQUEST → kInvalidArgument, INTERNAL → kInternal); unknown text → kInternal.
ErrorCode errorCodeFromProtocol(std::string_view protocolCode) {
  static constexpr ErrorCode kCandidates[] = {ErrorCode::kInvalidArgument,
                                              ErrorCode::kPermissionDenied,
                                              ErrorCode::kNotFound,
                                              ErrorCode::kAlreadyExists,
                                              ErrorCode::kAgentSelectionRequired,
                                              ErrorCode::kResourceExhausted,
                                              ErrorCode::kUnavailable,
                                              ErrorCode::kDeadlineExceeded,
                                              ErrorCode::kCancelled,
                                              ErrorCode::kUpstream,
                                              ErrorCode::kInternal};
  for (ErrorCode c : kCandidates) {
    if (protocolErrorCode(c) == protocolCode) return c;
  }
  return ErrorCode::kInternal;
}

}  // namespace

TurnOutcome storedRunOutcome(const store::RunRecord& run) {
  TurnOutcome o;
  o.runId = run.runId;
  o.sessionKey = run.sessionKey;
  o.agentId = run.agentId;
  o.model = run.model;
  o.usage.inputTokens = run.inputTokens;
  o.usage.outputTokens = run.outputTokens;
  o.steps = static_cast<int>(run.steps);
  o.durationMs = run.endedAtMs > run.startedAtMs ? run.endedAtMs - run.startedAtMs : 0;
  switch (run.status) {
    case store::RunStatus::kOk:
      o.text = run.finalText;
      o.stopReason = "stop";
      break;
    case store::RunStatus::kError: {
      std::string message = run.errorMessage.empty() ? "run failed" : run.errorMessage;
      o.error = Error(errorCodeFromProtocol(run.errorCode), message, message);
      o.stopReason = "error";
      break;
    }
    case store::RunStatus::kAborted:
    case store::RunStatus::kRunning: {
      std::string message = run.errorMessage.empty() ? "run aborted" : run.errorMessage;
      o.error = Error(ErrorCode::kCancelled, message, message);
      o.aborted = true;
      if (run.status == store::RunStatus::kRunning) o.stopReason = "shutdown";
      break;
    }
  }
  return o;
}

}  // namespace talon::gateway
