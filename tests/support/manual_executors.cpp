#include "support/manual_executors.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <vector>

namespace talon::testing {

enum class Kind { kIo, kBlocking, kTools };

struct ManualExecutors::Shared {
  std::shared_ptr<SimulatedClock> clock;
  mutable std::mutex mu;
  std::condition_variable posted;
  struct Queued {
    Kind kind;
    gateway::Task task;
  };
  std::deque<Queued> queue;
  std::size_t toolTasksPosted = 0;
  bool holdTools = false;
  // Armed timers by (deadline in steady ms, arming order).
  std::map<std::pair<int64_t, uint64_t>, std::pair<std::shared_ptr<std::atomic<bool>>, gateway::Task>> timers;
  uint64_t nextTimer = 0;

  void post(Kind kind, gateway::Task task) {
    {
      std::lock_guard lock(mu);
      if (kind == Kind::kTools) ++toolTasksPosted;
      queue.push_back(Queued{kind, std::move(task)});
    }
    posted.notify_all();
  }
  int64_t steadyMs() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock->steadyNow().time_since_epoch()).count();
  }
  std::size_t count(Kind kind) const {
    std::lock_guard lock(mu);
    std::size_t n = 0;
    for (const auto& q : queue) n += q.kind == kind ? 1 : 0;
    return n;
  }
};

class ManualExecutors::Timer final : public gateway::TimerHandle {
 public:
  explicit Timer(std::shared_ptr<std::atomic<bool>> cancelled) : cancelled_(std::move(cancelled)) {}
  void cancel() override { cancelled_->store(true); }

 private:
  std::shared_ptr<std::atomic<bool>> cancelled_;
};

ManualExecutors::ManualExecutors(std::shared_ptr<SimulatedClock> clock) : shared_(std::make_shared<Shared>()) {
  shared_->clock = std::move(clock);
}

ManualExecutors::~ManualExecutors() = default;

gateway::Executors ManualExecutors::executors() {
  std::weak_ptr<Shared> weak = shared_;
  gateway::Executors ex;
  ex.io = [weak](gateway::Task t) {
    if (auto s = weak.lock()) s->post(Kind::kIo, std::move(t));
  };
  ex.blocking = [weak](gateway::Task t) {
    if (auto s = weak.lock()) s->post(Kind::kBlocking, std::move(t));
  };
  ex.tools = [weak](gateway::Task t) {
    if (auto s = weak.lock()) s->post(Kind::kTools, std::move(t));
  };
  ex.after = [weak](std::chrono::milliseconds delay, gateway::Task t) -> gateway::TimerHandlePtr {
    auto cancelled = std::make_shared<std::atomic<bool>>(false);
    if (auto s = weak.lock()) {
      std::lock_guard lock(s->mu);
      auto due = s->steadyMs() + std::max<int64_t>(0, delay.count());
      s->timers.emplace(std::make_pair(due, s->nextTimer++), std::make_pair(cancelled, std::move(t)));
    }
    return std::make_shared<Timer>(cancelled);
  };
  return ex;
}

std::size_t ManualExecutors::runReady() {
  std::size_t ran = 0;
  for (;;) {
    gateway::Task task;
    {
      std::lock_guard lock(shared_->mu);
      auto it = std::find_if(shared_->queue.begin(), shared_->queue.end(),
                             [this](const Shared::Queued& q) { return !shared_->holdTools || q.kind != Kind::kTools; });
      if (it == shared_->queue.end()) return ran;
      task = std::move(it->task);
      shared_->queue.erase(it);
    }
    task();
    ++ran;
  }
}

void ManualExecutors::holdTools(bool hold) {
  std::lock_guard lock(shared_->mu);
  shared_->holdTools = hold;
}

std::size_t ManualExecutors::runTools() {
  std::vector<gateway::Task> tasks;
  {
    std::lock_guard lock(shared_->mu);
    for (auto it = shared_->queue.begin(); it != shared_->queue.end();) {
      if (it->kind == Kind::kTools) {
        tasks.push_back(std::move(it->task));
        it = shared_->queue.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& t : tasks) t();
  return tasks.size();
}

bool ManualExecutors::runUntil(const std::function<bool()>& done, std::chrono::milliseconds realTimeout) {
  // `done` can also turn true without a task being posted (a store write the writer thread committed,
  // read back by `done`), so it is checked again every kRecheck while waiting.
  constexpr auto kRecheck = std::chrono::milliseconds(10);
  auto idleSince = std::chrono::steady_clock::now();
  for (;;) {
    if (runReady() > 0) idleSince = std::chrono::steady_clock::now();
    if (done()) return true;
    std::unique_lock lock(shared_->mu);
    auto runnable = [this] {
      return std::any_of(shared_->queue.begin(), shared_->queue.end(),
                         [this](const Shared::Queued& q) { return !shared_->holdTools || q.kind != Kind::kTools; });
    };
    if (shared_->posted.wait_for(lock, kRecheck, runnable)) continue;
    if (std::chrono::steady_clock::now() - idleSince >= realTimeout) {
      lock.unlock();
      return done();
    }
  }
}

void ManualExecutors::advance(int64_t ms) {
  const int64_t target = shared_->steadyMs() + ms;
  for (;;) {
    runReady();
    std::shared_ptr<std::atomic<bool>> cancelled;
    gateway::Task task;
    {
      std::lock_guard lock(shared_->mu);
      // Drop cancelled timers, then take the earliest one due by `target`.
      for (auto it = shared_->timers.begin(); it != shared_->timers.end();) {
        it = it->second.first->load() ? shared_->timers.erase(it) : std::next(it);
      }
      if (shared_->timers.empty() || shared_->timers.begin()->first.first > target) break;
      auto it = shared_->timers.begin();
      int64_t due = it->first.first;
      cancelled = it->second.first;
      task = std::move(it->second.second);
      shared_->timers.erase(it);
      int64_t now = shared_->steadyMs();
      if (due > now) shared_->clock->advance(due - now);
    }
    if (!cancelled->load()) task();
  }
  int64_t now = shared_->steadyMs();
  if (target > now) shared_->clock->advance(target - now);
  runReady();
}

std::size_t ManualExecutors::pendingIo() const { return shared_->count(Kind::kIo); }
std::size_t ManualExecutors::pendingBlocking() const { return shared_->count(Kind::kBlocking); }
std::size_t ManualExecutors::pendingTools() const { return shared_->count(Kind::kTools); }
std::size_t ManualExecutors::armedTimers() const {
  std::lock_guard lock(shared_->mu);
  std::size_t n = 0;
  for (const auto& [key, t] : shared_->timers) n += t.first->load() ? 0 : 1;
  return n;
}
std::size_t ManualExecutors::toolTasksPosted() const {
  std::lock_guard lock(shared_->mu);
  return shared_->toolTasksPosted;
}

}  // namespace talon::testing
