#pragma once
// Where gateway work runs, without exposing Asio to every file: `io` for short non-blocking steps (the
// I/O threads), `blocking` for SQLite reads, file tools and workspace reads (a bounded worker pool).
#include <functional>

namespace talon::gateway {

using Task = std::function<void()>;

struct Executors {
  /// Runs `task` soon on an I/O thread. Never blocks the caller.
  std::function<void(Task)> io;
  /// Runs `task` on the worker pool; the task may block (disk, SQLite). Never blocks the caller.
  std::function<void(Task)> blocking;
};

}  // namespace talon::gateway
