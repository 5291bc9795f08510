#include "support/io_thread.h"

namespace talon::testing {

IoThread::~IoThread() { stop(); }

void IoThread::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { io_.run(); });
}

void IoThread::stop() {
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace talon::testing
