#pragma once
// Deterministic executors for gateway unit tests: `io`, `blocking` and `tools` tasks are queued and run
// on the test thread when the test says so; `after` timers fire when the test advances the
// SimulatedClock past their deadline. Nothing runs on its own, so a test controls every interleaving
// and never sleeps.
//
// Thread rules: tasks may be posted from any thread (a store's writer thread posts its commit
// callbacks through `io`); they only run inside runReady()/runUntil()/advance(), on the calling thread.
// Use one ManualExecutors per test; it must outlive the Executors copies handed out.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/clock.h"
#include "gateway/executors.h"

namespace talon::testing {

class ManualExecutors {
 public:
  /// `clock` drives the timers; it is advanced only by advance().
  explicit ManualExecutors(std::shared_ptr<SimulatedClock> clock);
  ~ManualExecutors();
  ManualExecutors(const ManualExecutors&) = delete;
  ManualExecutors& operator=(const ManualExecutors&) = delete;

  /// Executors whose four members queue into this object.
  gateway::Executors executors();

  /// Runs queued tasks (of every kind, in posting order, including tasks they post) until none is
  /// left. Returns how many ran.
  std::size_t runReady();
  /// Runs tasks until `done()` holds, waiting (on a condition variable, not a sleep) for tasks posted by
  /// other threads such as the store's writer, and checking `done()` again every 10 ms meanwhile (it may
  /// turn true on another thread without a task). Returns false when `done()` still fails after
  /// `realTimeout` of wall-clock time without a new task — a safety net so a broken test fails
  /// instead of hanging; no test outcome depends on it.
  bool runUntil(const std::function<bool()>& done,
                std::chrono::milliseconds realTimeout = std::chrono::milliseconds(10'000));
  /// Moves the simulated clock forward by `ms`, firing due timers in deadline order (each at its own
  /// time) and running the tasks they post.
  void advance(int64_t ms);

  /// While held, runReady()/runUntil()/advance() leave `tools` tasks queued (a tool "still running");
  /// runTools() runs them. Lets a test abort or time out a turn in the middle of a tool call.
  void holdTools(bool hold);
  /// Runs the queued `tools` tasks (only those queued now). Returns how many ran.
  std::size_t runTools();

  /// Queued tasks of each kind (not yet run), and armed timers.
  std::size_t pendingIo() const;
  std::size_t pendingBlocking() const;
  std::size_t pendingTools() const;
  std::size_t armedTimers() const;
  /// Tasks posted to `tools` since construction.
  std::size_t toolTasksPosted() const;

 private:
  struct Shared;
  class Timer;
  std::shared_ptr<Shared> shared_;
};

}  // namespace talon::testing
