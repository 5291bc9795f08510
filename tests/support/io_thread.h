#pragma once
// An Asio io_context run by one background thread, for tests of components that do real I/O (an HTTP
// client against the in-process mock model server). Kept alive by a work guard until destruction.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>
#include <thread>

namespace talon::testing {

class IoThread {
 public:
  IoThread() = default;
  /// stop(), if not done already.
  ~IoThread();
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  /// The context; objects bound to it may be created before start().
  boost::asio::io_context& io() { return io_; }
  /// Starts the thread (idempotent).
  void start();
  /// Drops the work guard, stops the context and joins the thread. Idempotent. Objects whose handlers
  /// hold references into the test must be stopped before.
  void stop();

 private:
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      boost::asio::make_work_guard(io_)};
  std::thread thread_;
};

}  // namespace talon::testing
