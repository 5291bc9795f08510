#pragma once
// Reconnect pacing for channel adapters: jittered exponential backoff with a per-account circuit breaker,
// so a network that is down costs a bounded number of attempts (OpenClaw users report hundreds of
// reconnects a day, #62258). Each adapter owns one per account and counts every attempt in
// ChannelHealth::reconnects. Plain state, not thread-safe: use it from the adapter's own strand or thread.
#include <chrono>
#include <cstdint>
#include <random>

namespace talon::gateway::channels {

class ReconnectBackoff {
 public:
  struct Options {
    std::chrono::milliseconds initial{1000};  // the first delay
    std::chrono::milliseconds max{60000};     // the cap on the exponential delay
    double factor = 2.0;                      // growth per consecutive failure
    double jitter = 0.2;                      // each delay is drawn uniformly from ±jitter around it
    /// Consecutive failures that open the circuit; while open, the delay is `openFor`.
    int breakerThreshold = 10;
    std::chrono::milliseconds openFor{300000};
  };

  /// `seed` drives the jitter (tests pass a fixed one; adapters a random one).
  explicit ReconnectBackoff(Options options, uint64_t seed = std::random_device{}());

  /// Records a failed attempt and returns the delay before the next one: initial·factor^(n-1) capped at
  /// max, ± jitter; `openFor` (± jitter) once `breakerThreshold` consecutive failures opened the circuit.
  std::chrono::milliseconds failed();
  /// Records a successful connection: the next failure starts again from `initial`; closes the circuit.
  void succeeded();
  /// Consecutive failures since the last success.
  int consecutiveFailures() const { return failures_; }
  /// True while the circuit is open (breakerThreshold or more consecutive failures).
  bool circuitOpen() const { return failures_ >= options_.breakerThreshold; }

 private:
  Options options_;
  std::mt19937_64 rng_;
  int failures_ = 0;
};

}  // namespace talon::gateway::channels
