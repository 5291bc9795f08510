#pragma once
// Where gateway work runs, without exposing Asio to every file (ARCHITECTURE.md "Threads and storage"):
// `io` for short non-blocking steps (the I/O threads), `blocking` for SQLite reads and workspace reads
// that serve RPCs (a bounded worker pool), `tools` for tool calls (a pool of their own, so a slow tool
// can never starve `health` or `sessions.list`), and `after` for timers.
//
// Tests drive all four from one thread in simulated time (tests/support/manual_executors.h).
#include <chrono>
#include <functional>
#include <memory>

namespace talon::gateway {

using Task = std::function<void()>;

/// A scheduled timer; cancel() stops a task that has not run yet. Thread-safe; idempotent.
class TimerHandle {
 public:
  virtual ~TimerHandle() = default;
  virtual void cancel() = 0;
};
using TimerHandlePtr = std::shared_ptr<TimerHandle>;

struct Executors {
  /// Runs `task` soon on an I/O thread. Never blocks the caller.
  std::function<void(Task)> io;
  /// Runs `task` on the worker pool for RPC reads; the task may block (disk, SQLite). Never blocks
  /// the caller.
  std::function<void(Task)> blocking;
  /// Runs `task` on the tool pool; the task may block for long (tool calls). Never blocks the caller.
  /// When unset, `blocking` is used.
  std::function<void(Task)> tools;
  /// Runs `task` on an I/O thread once `delay` (monotonic, ms) has passed, unless cancelled first.
  std::function<TimerHandlePtr(std::chrono::milliseconds delay, Task task)> after;

  /// `tools`, or `blocking` when no tool pool is set.
  void runTool(Task task) const { tools ? tools(std::move(task)) : blocking(std::move(task)); }
};

}  // namespace talon::gateway
