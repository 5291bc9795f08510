#include "base/clock.h"

#include <ctime>

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

namespace {

std::string formatUtc(int64_t unixMs, const char* format) {
  std::time_t secs = static_cast<std::time_t>(unixMs / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[48];
  std::size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

}  // namespace

std::string formatRfc3339Ms(int64_t unixMs) {
  return formatUtc(unixMs, "%Y-%m-%dT%H:%M:%S.") + std::to_string(1000 + unixMs % 1000).substr(1) + "Z";
}

std::string formatRfc3339(int64_t unixMs) { return formatUtc(unixMs, "%Y-%m-%dT%H:%M:%SZ"); }

std::string formatUtcForDisplay(int64_t unixMs) { return unixMs <= 0 ? "-" : formatUtc(unixMs, "%Y-%m-%d %H:%M:%SZ"); }

}  // namespace talon
