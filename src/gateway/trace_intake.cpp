#include "gateway/trace_intake.h"

namespace talon::gateway {
namespace {

constexpr health::MetricSpec kTraceMetrics[] = {
    {"talon_traceparent_invalid_total",
     health::MetricType::kCounter,
     "Malformed W3C traceparent values ignored, by source (rpc: request frames, http: request headers).",
     {"source"}},
};

}  // namespace

Result<std::unique_ptr<TraceIntake>> TraceIntake::create(health::MetricsRegistry& metrics) {
  auto families = metrics.add(kTraceMetrics);
  if (!families) return fail(families.error());
  std::unique_ptr<TraceIntake> t(new TraceIntake());
  auto rpc = (*families)[0]->counter({"rpc"});
  auto http = (*families)[0]->counter({"http"});
  if (!rpc || !http) return fail(ErrorCode::kInternal, "trace intake: cannot create its counters");
  t->invalidRpc_ = *rpc;
  t->invalidHttp_ = *http;
  return t;
}

std::optional<protocol::TraceContext> TraceIntake::accept(std::optional<std::string_view> traceparent,
                                                          TraceSource source) const {
  if (!traceparent || traceparent->empty()) return std::nullopt;
  auto trace = protocol::parseTraceparent(*traceparent);
  if (!trace) countInvalid(source);
  return trace;
}

std::optional<protocol::TraceContext> acceptHttpTraceparent(const TraceIntake* intake, std::string_view header) {
  if (intake != nullptr) return intake->accept(header, TraceSource::kHttp);
  if (header.empty()) return std::nullopt;
  return protocol::parseTraceparent(header);
}

}  // namespace talon::gateway
