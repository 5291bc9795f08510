#pragma once
// The RPC metrics (issue 9 "Metrics and traces"): talon_rpc_requests_total{method,outcome} and
// talon_rpc_duration_seconds{method}, declared here beside the method registry they describe. Label
// cardinality is bounded by the registry: one `method` value per registered method, and "unknown" for
// every other name a client sends. The series of each method are looked up once, when the registry is
// complete; a request then costs one hash lookup by definition pointer, two clock reads and relaxed
// atomic adds, plus the small wrapper that sees its answer.
#include <chrono>
#include <memory>
#include <unordered_map>

#include "base/clock.h"
#include "base/error.h"
#include "gateway/health/metrics_registry.h"
#include "gateway/methods/method_registry.h"

namespace talon::gateway::methods {

/// The metric series of one method (or of "unknown"), one counter per `outcome` label: "ok" (res
/// ok:true), "error" (res ok:false from the handler or the params check), "denied" (refused before
/// dispatch: a missing scope or role, or a method Talon does not implement). Handles into the
/// registry; cheap to copy.
struct RpcMethodSeries {
  health::Counter ok, error, denied;
  health::Histogram duration;
};

/// Thread-safe after create(): every method is const and touches only atomics.
class RpcMetrics {
 public:
  /// Registers both families in `metrics` and looks up the series of every method `methods` holds
  /// now (register methods first) and of "unknown". `clock` times requests (steadyNow). Errors: as
  /// MetricsRegistry::add (a name already taken).
  static Result<std::unique_ptr<RpcMetrics>> create(health::MetricsRegistry& metrics, const MethodRegistry& methods,
                                                    ClockPtr clock);

  /// The series of `definition` (from MethodRegistry::find); the "unknown" series for nullptr or a
  /// definition registered after create().
  const RpcMethodSeries& series(const MethodDefinition* definition) const;

  /// Counts a request refused before dispatch (outcome "denied"); no duration is observed.
  void denied(const MethodDefinition* definition) const { series(definition).denied.inc(); }

  /// A responder that forwards to `reply` and, on the first answer, counts the outcome and observes the
  /// time since `start` (from this RpcMetrics' clock) in `series`. Later answers to the same request
  /// are forwarded but not counted again.
  RpcResponderPtr track(const RpcMethodSeries& series, RpcResponderPtr reply,
                        std::chrono::steady_clock::time_point start) const;

  /// Now, on the clock requests are timed with.
  std::chrono::steady_clock::time_point now() const { return clock_->steadyNow(); }

 private:
  explicit RpcMetrics(ClockPtr clock) : clock_(std::move(clock)) {}

  ClockPtr clock_;
  std::unordered_map<const MethodDefinition*, RpcMethodSeries> byMethod_;
  RpcMethodSeries unknown_;
};
using RpcMetricsPtr = std::unique_ptr<RpcMetrics>;

}  // namespace talon::gateway::methods
