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

}  // namespace talon::gateway
