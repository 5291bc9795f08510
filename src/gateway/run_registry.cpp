#include "gateway/run_registry.h"

namespace talon::gateway {

std::optional<TrackedRun> RunRegistry::claim(const std::string& key, const TrackedRun& run) {
  std::lock_guard lock(mu_);
  auto it = runs_.find(key);
  if (it != runs_.end()) return it->second.run;
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
    waiters.swap(it->second.waiters);
  }
  for (auto& w : waiters) w(outcome);
}

bool RunRegistry::waitFor(const std::string& key, std::function<void(const TurnOutcome&)> waiter) {
  std::unique_lock lock(mu_);
  auto it = runs_.find(key);
  if (it == runs_.end()) return false;
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
