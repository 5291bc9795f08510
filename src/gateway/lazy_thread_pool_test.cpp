#include "gateway/lazy_thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

namespace talon::gateway {
namespace {

TEST(LazyThreadPool, StartsItsThreadsWithTheFirstTask) {
  LazyThreadPool pool(2);
  EXPECT_FALSE(pool.started());
  std::promise<std::thread::id> ran;
  pool.post([&ran] { ran.set_value(std::this_thread::get_id()); });
  EXPECT_TRUE(pool.started());
  EXPECT_NE(ran.get_future().get(), std::this_thread::get_id());
}

TEST(LazyThreadPool, JoinRunsEveryQueuedTaskIncludingTasksPostedByTasks) {
  LazyThreadPool pool(3);
  std::atomic<int> count{0};
  for (int i = 0; i < 100; ++i) {
    pool.post([&pool, &count] {
      count.fetch_add(1);
      pool.post([&count] { count.fetch_add(1); });
    });
  }
  pool.join();
  EXPECT_EQ(count.load(), 200);
}

TEST(LazyThreadPool, TasksPostedAfterJoinAreDroppedNotRun) {
  auto token = std::make_shared<int>(0);
  std::atomic<bool> ran{false};
  {
    LazyThreadPool pool(1);
    pool.post([] {});
    pool.join();
    pool.post([token, &ran] { ran = true; });
    pool.join();  // idempotent
  }
  EXPECT_FALSE(ran.load());
  EXPECT_EQ(token.use_count(), 1);  // the task was destroyed with the pool, not leaked
}

TEST(LazyThreadPool, AJoinedPoolThatNeverRanStartsNoThreads) {
  LazyThreadPool pool(4);
  pool.join();
  pool.post([] { ADD_FAILURE() << "ran after join"; });
  EXPECT_FALSE(pool.started());
}

}  // namespace
}  // namespace talon::gateway
