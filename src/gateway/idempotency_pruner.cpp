#include "gateway/idempotency_pruner.h"

#include <spdlog/spdlog.h>

namespace talon::gateway {

struct IdempotencyPruner::State : std::enable_shared_from_this<State> {
  State(store::Store& s, Executors e, ClockPtr c, int64_t ttl)
      : store(s), executors(std::move(e)), clock(std::move(c)), ttlMs(ttl) {}

  store::Store& store;
  Executors executors;
  ClockPtr clock;
  int64_t ttlMs;

  mutable std::mutex mu;
  bool started = false;
  bool stopped = false;
  TimerHandlePtr timer;
  int64_t releasedTotal = 0;
  int64_t passesDone = 0;

  /// Submits one pass; when it committed, schedules the next (at once when it hit the bound).
  void pass() {
    {
      std::lock_guard lock(mu);
      if (stopped) return;
    }
    auto released = std::make_shared<int64_t>(0);
    store::WriteBatch batch;
    store::IdempotencyRepository::pruneExpired(batch, clock->nowMs() - ttlMs, kMaxKeysPerPass, released);
    std::weak_ptr<State> weak = weak_from_this();
    // The commit callback runs on the writer thread: the next pass is scheduled from an I/O task.
    store.submit(std::move(batch), [weak, released](Status s) {
      auto self = weak.lock();
      if (!self) return;
      int64_t count = 0;
      if (!s) {
        spdlog::error("idempotency keys: expired keys cannot be released: {}", s.error().toString());
      } else {
        count = *released;
        if (count > 0) spdlog::debug("idempotency keys: released {} expired key(s)", count);
      }
      self->executors.io([weak, count] {
        if (auto again = weak.lock()) again->schedule(count >= kMaxKeysPerPass ? 0 : kPassIntervalMs, count);
      });
    });
  }

  void schedule(int64_t delayMs, int64_t justReleased) {
    std::lock_guard lock(mu);
    releasedTotal += justReleased;
    ++passesDone;
    if (stopped) return;
    std::weak_ptr<State> weak = weak_from_this();
    timer = executors.after(std::chrono::milliseconds(delayMs), [weak] {
      if (auto self = weak.lock()) self->pass();
    });
  }
};

IdempotencyPruner::IdempotencyPruner(store::Store& store, Executors executors, ClockPtr clock, int64_t ttlMs)
    : state_(std::make_shared<State>(store, std::move(executors), std::move(clock), ttlMs)) {}

IdempotencyPruner::~IdempotencyPruner() { stop(); }

void IdempotencyPruner::start() {
  {
    std::lock_guard lock(state_->mu);
    if (state_->started) return;
    state_->started = true;
  }
  state_->pass();
}

void IdempotencyPruner::stop() {
  TimerHandlePtr timer;
  {
    std::lock_guard lock(state_->mu);
    state_->stopped = true;
    timer = std::move(state_->timer);
  }
  if (timer) timer->cancel();
}

int64_t IdempotencyPruner::released() const {
  std::lock_guard lock(state_->mu);
  return state_->releasedTotal;
}

int64_t IdempotencyPruner::passes() const {
  std::lock_guard lock(state_->mu);
  return state_->passesDone;
}

}  // namespace talon::gateway
