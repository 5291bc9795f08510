#include "gateway/run_registry.h"

namespace talon::gateway {

std::size_t RunRegistry::outcomeBytes(const TurnOutcome& outcome) {
  return outcome.text.size() +
         (outcome.error ? outcome.error->message.size() + outcome.error->publicMessage().size() : 0);
}

std::size_t RunRegistry::size() {
  std::lock_guard lock(mu_);
  return runs_.size();
}

std::size_t RunRegistry::keptOutcomeBytes() {
  std::lock_guard lock(mu_);
  return outcomeBytes_;
}

void RunRegistry::eraseLocked(EntryMap::iterator it) {
  outcomeBytes_ -= it->second.outcomeBytes;
  lru_.erase(it->second.lruIt);
  runs_.erase(it);
}

bool RunRegistry::eraseIfExpired(EntryMap::iterator it) {
  if (!clock_ || ttlMs_ <= 0 || !it->second.run.done) return false;
  if (clock_->nowMs() - it->second.completedAtMs <= ttlMs_) return false;
  eraseLocked(it);
  return true;
}

void RunRegistry::trimLocked() {
  // Oldest first; running runs are stepped over, never forgotten.
  auto pos = lru_.end();
  while ((runs_.size() > capacity_ || outcomeBytes_ > maxOutcomeBytes_) && pos != lru_.begin()) {
    --pos;
    auto it = runs_.find(*pos);
    if (it == runs_.end() || !it->second.run.done) continue;
    pos = std::next(pos);  // eraseLocked removes *prev(pos); pos stays valid
    eraseLocked(it);
  }
}

std::optional<TrackedRun> RunRegistry::claim(const std::string& key, const TrackedRun& run) {
  std::lock_guard lock(mu_);
  auto it = runs_.find(key);
  if (it != runs_.end() && !eraseIfExpired(it)) return it->second.run;
  lru_.push_front(key);
  runs_.emplace(key, Entry{run, {}, lru_.begin()});
  trimLocked();
  return std::nullopt;
}

void RunRegistry::complete(const std::string& key, const TurnOutcome& outcome) {
  std::vector<std::function<void(const TurnOutcome&)>> waiters;
  {
    std::lock_guard lock(mu_);
    auto it = runs_.find(key);
    if (it == runs_.end()) return;
    outcomeBytes_ -= it->second.outcomeBytes;
    it->second.run.done = true;
    it->second.run.outcome = outcome;
    it->second.completedAtMs = clock_ ? clock_->nowMs() : 0;
    it->second.outcomeBytes = outcomeBytes(outcome);
    outcomeBytes_ += it->second.outcomeBytes;
    waiters.swap(it->second.waiters);
    trimLocked();
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
    eraseLocked(it);
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
