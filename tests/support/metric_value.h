#pragma once
// Reading one series out of the gateway's Prometheus text exposition in tests.
#include <string>
#include <string_view>

#include "gateway/health/metrics_registry.h"

namespace talon::testing {

/// The value of the series written exactly as `series` (name and labels, e.g.
/// `talon_alerts_total{target_kind="webhook",outcome="sent"}`) in `metrics.render()`; -1 when absent.
inline double metricValue(const gateway::health::MetricsRegistry& metrics, std::string_view series) {
  const std::string text = "\n" + metrics.render();
  const std::string key = "\n" + std::string(series) + " ";
  auto pos = text.find(key);
  if (pos == std::string::npos) return -1;
  return std::stod(text.substr(pos + key.size()));
}

}  // namespace talon::testing
