#pragma once
// A fixed-size thread pool whose threads start with the first task, for pools a gateway may never use
// (the tool pool of a gateway whose agents call no tools): an idle gateway then has no threads, stacks or
// malloc arenas for them, and its start creates none (bench/README.md, "Where start-up time goes").
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>

#include "gateway/executors.h"

namespace talon::gateway {

/// Runs tasks on `threads` threads started by the first post(). Thread-safe: post() and join() may be
/// called from any thread, post() also from the pool's own tasks.
class LazyThreadPool {
 public:
  /// `threads` ≥ 1 (0 is taken as 1). `fallback` (optional) runs a task when the threads cannot be
  /// started (e.g. the process is at its thread limit), so that the task is neither lost nor thrown
  /// back at the caller; the failure is logged at error level each time.
  explicit LazyThreadPool(std::size_t threads, std::function<void(Task)> fallback = {});
  ~LazyThreadPool();  // join()
  LazyThreadPool(const LazyThreadPool&) = delete;
  LazyThreadPool& operator=(const LazyThreadPool&) = delete;

  /// Queues `task`; starts the threads if they have not started. As with boost::asio::thread_pool, a
  /// task posted while join() waits (by a running task) still runs, and one posted once the threads have
  /// exited is dropped (destroyed without running); after join() a pool that never started stays
  /// without threads and drops the task. When the threads cannot be created the task goes to `fallback`;
  /// without one, std::system_error is thrown (as std::thread does) and the task is dropped.
  void post(Task task);

  /// Waits until every queued task (and every task they post) has run and the threads have exited.
  /// Idempotent. Must not be called from one of the pool's tasks.
  void join();

  /// Whether the threads have been started (by a post()).
  bool started() const;

 private:
  struct Pool;
  const std::size_t threads_;
  const std::function<void(Task)> fallback_;
  mutable std::mutex mu_;
  bool joined_ = false;
  std::unique_ptr<Pool> pool_;  // set once, by the first post(); kept until destruction
};

}  // namespace talon::gateway
