#include "base/clock.h"

namespace talon {

int64_t SystemClock::nowMs() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::chrono::steady_clock::time_point SystemClock::steadyNow() const { return std::chrono::steady_clock::now(); }

const std::shared_ptr<SystemClock>& SystemClock::instance() {
  static const auto clock = std::make_shared<SystemClock>();
  return clock;
}

}  // namespace talon
