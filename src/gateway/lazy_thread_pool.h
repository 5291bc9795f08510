#pragma once
// A fixed-size thread pool whose threads start with the first task, for pools a gateway may never use
// (the tool pool of a gateway whose agents call no tools): an idle gateway then has no threads, stacks or
// malloc arenas for them, and its start creates none (bench/README.md, "Where start-up time goes").
#include <cstddef>
#include <memory>
#include <mutex>

#include "gateway/executors.h"

namespace talon::gateway {

/// Runs tasks on `threads` threads started by the first post(). Thread-safe: post() and join() may be
/// called from any thread, post() also from the pool's own tasks.
class LazyThreadPool {
 public:
  /// `threads` ≥ 1 (0 is taken as 1).
  explicit LazyThreadPool(std::size_t threads);
  ~LazyThreadPool();  // join()
  LazyThreadPool(const LazyThreadPool&) = delete;
  LazyThreadPool& operator=(const LazyThreadPool&) = delete;

  /// Queues `task`; starts the threads if they have not started. As with boost::asio::thread_pool, a
  /// task posted while join() waits (by a running task) still runs, and one posted once the threads have
  /// exited is dropped (destroyed without running); after join() a pool that never started stays
  /// without threads and drops the task. Throws std::system_error when the threads cannot be created (as
  /// std::thread does); the task is then dropped.
  void post(Task task);

  /// Waits until every queued task (and every task they post) has run and the threads have exited.
  /// Idempotent. Must not be called from one of the pool's tasks.
  void join();

  /// Whether the threads have been started (by a post()).
  bool started() const;

 private:
  struct Pool;
  const std::size_t threads_;
  mutable std::mutex mu_;
  bool joined_ = false;
  std::unique_ptr<Pool> pool_;  // set once, by the first post(); kept until destruction
};

}  // namespace talon::gateway
