#include "gateway/lazy_thread_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <system_error>

namespace talon::gateway {

struct LazyThreadPool::Pool {
  explicit Pool(std::size_t n) : pool(n) {}
  boost::asio::thread_pool pool;
};

LazyThreadPool::LazyThreadPool(std::size_t threads, std::function<void(Task)> fallback)
    : threads_(std::max<std::size_t>(threads, 1)), fallback_(std::move(fallback)) {}

LazyThreadPool::~LazyThreadPool() { join(); }

void LazyThreadPool::post(Task task) {
  Pool* pool = nullptr;
  {
    std::lock_guard lock(mu_);
    if (!pool_) {
      if (joined_) return;  // never started: nothing will run it
      try {
        pool_ = std::make_unique<Pool>(threads_);
      } catch (const std::system_error& e) {
        if (!fallback_) throw;
        spdlog::error("cannot start {} pool threads ({}); the task runs on the fallback executor", threads_, e.what());
      }
    }
    pool = pool_.get();
  }
  if (pool == nullptr) return fallback_(std::move(task));
  boost::asio::post(pool->pool, std::move(task));  // outside the lock: only the pool's own queue is needed
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
