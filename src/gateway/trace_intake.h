#pragma once
// Where W3C `traceparent` values enter the gateway (request frames, HTTP headers): parsed by
// protocol::parseTraceparent, and a malformed one is ignored — never an error for the request — and
// counted in talon_traceparent_invalid_total{source} (source "rpc" or "http"), declared here.
#include <memory>
#include <optional>
#include <string_view>

#include "base/error.h"
#include "gateway/health/metrics_registry.h"
#include "protocol/trace_context.h"

namespace talon::gateway {

/// Where a traceparent came from: the `source` label.
enum class TraceSource { kRpc, kHttp };

/// Thread-safe after create() (relaxed atomic counters only).
class TraceIntake {
 public:
  /// Registers talon_traceparent_invalid_total in `metrics`. Errors: as MetricsRegistry::add.
  static Result<std::unique_ptr<TraceIntake>> create(health::MetricsRegistry& metrics);

  /// The trace context of `traceparent`; nullopt when absent (nullopt or empty) or malformed, the
  /// latter counted under `source`.
  std::optional<protocol::TraceContext> accept(std::optional<std::string_view> traceparent, TraceSource source) const;

  /// Counts a malformed traceparent seen elsewhere (the caller parsed it).
  void countInvalid(TraceSource source) const { (source == TraceSource::kRpc ? invalidRpc_ : invalidHttp_).inc(); }

 private:
  TraceIntake() = default;
  health::Counter invalidRpc_, invalidHttp_;
};
using TraceIntakePtr = std::unique_ptr<TraceIntake>;

/// An HTTP request's `traceparent` header value (empty when absent) through `intake`; parsed without
/// counting when `intake` is null.
std::optional<protocol::TraceContext> acceptHttpTraceparent(const TraceIntake* intake, std::string_view header);

}  // namespace talon::gateway
