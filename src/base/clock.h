#pragma once
// Time sources. Production code takes a Clock& so tests can inject SimulatedClock instead of sleeping.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace talon {

/// Wall and monotonic time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  /// Milliseconds since the Unix epoch (wall clock; used for protocol `ts` fields).
  virtual int64_t nowMs() const = 0;
  /// Monotonic time, for durations and deadlines.
  virtual std::chrono::steady_clock::time_point steadyNow() const = 0;
};
using ClockPtr = std::shared_ptr<Clock>;

/// The real clocks.
class SystemClock final : public Clock {
 public:
  int64_t nowMs() const override;
  std::chrono::steady_clock::time_point steadyNow() const override;
  /// A process-wide instance.
  static const std::shared_ptr<SystemClock>& instance();
};

/// A clock that only moves when told to. Thread-safe.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(int64_t startMs = 1'700'000'000'000) : ms_(startMs), steadyMs_(0) {}
  int64_t nowMs() const override { return ms_.load(); }
  std::chrono::steady_clock::time_point steadyNow() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(steadyMs_.load()));
  }
  /// Moves both clocks forward by `ms` milliseconds.
  void advance(int64_t ms) {
    ms_ += ms;
    steadyMs_ += ms;
  }

 private:
  std::atomic<int64_t> ms_;
  std::atomic<int64_t> steadyMs_;
};

/// `unixMs` (milliseconds since the Unix epoch) as an RFC 3339 UTC timestamp with milliseconds,
/// "2026-12-02T14:46:56.123Z". Thread-safe.
std::string formatRfc3339Ms(int64_t unixMs);

/// `unixMs` as an RFC 3339 UTC timestamp to the second, "2026-12-02T14:46:56Z". Thread-safe.
std::string formatRfc3339(int64_t unixMs);

/// `unixMs` as a UTC time for tables meant to be read, "2026-12-02 14:46:56Z"; "-" when `unixMs` ≤ 0
/// (not known). Thread-safe.
std::string formatUtcForDisplay(int64_t unixMs);

}  // namespace talon
