#include "gateway/lazy_thread_pool.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

namespace talon::gateway {

struct LazyThreadPool::Pool {
  explicit Pool(std::size_t n) : pool(n) {}
  boost::asio::thread_pool pool;
};

LazyThreadPool::LazyThreadPool(std::size_t threads) : threads_(std::max<std::size_t>(threads, 1)) {}

LazyThreadPool::~LazyThreadPool() { join(); }

void LazyThreadPool::post(Task task) {
  Pool* pool = nullptr;
  {
    std::lock_guard lock(mu_);
    if (!pool_) {
      if (joined_) return;  // never started: nothing will run it
      pool_ = std::make_unique<Pool>(threads_);
    }
    pool = pool_.get();
  }
  // Outside the lock: a task running on the pool may post again.
  boost::asio::post(pool->pool, std::move(task));
}

void LazyThreadPool::join() {
  Pool* pool = nullptr;
  {
    std::lock_guard lock(mu_);
    joined_ = true;
    pool = pool_.get();
  }
  if (pool) pool->pool.join();
}

bool LazyThreadPool::started() const {
  std::lock_guard lock(mu_);
  return pool_ != nullptr;
}

}  // namespace talon::gateway
