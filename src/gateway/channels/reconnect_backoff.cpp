#include "gateway/channels/reconnect_backoff.h"

#include <algorithm>
#include <cmath>

namespace talon::gateway::channels {

ReconnectBackoff::ReconnectBackoff(Options options, uint64_t seed) : options_(options), rng_(seed) {}

std::chrono::milliseconds ReconnectBackoff::failed() {
  ++failures_;
  double base;
  if (circuitOpen()) {
    base = static_cast<double>(options_.openFor.count());
  } else {
    const double grown = static_cast<double>(options_.initial.count()) * std::pow(options_.factor, failures_ - 1);
    base = std::min(grown, static_cast<double>(options_.max.count()));
  }
  const double j = std::clamp(options_.jitter, 0.0, 1.0);
  std::uniform_real_distribution<double> spread(1.0 - j, 1.0 + j);
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(base * spread(rng_))));
}

void ReconnectBackoff::succeeded() { failures_ = 0; }

}  // namespace talon::gateway::channels
