#include "gateway/methods/rpc_metrics.h"

#include <atomic>

namespace talon::gateway::methods {
namespace {

/// RPC latencies are mostly well under a millisecond (health, status) and up to seconds (config
/// writes, a model list): finer low buckets than Prometheus' defaults.
constexpr double kRpcDurationBuckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                          0.1,    0.25,  0.5,    1,     2.5,  5,     10};

constexpr health::MetricSpec kRpcMetrics[] = {
    {"talon_rpc_requests_total",
     health::MetricType::kCounter,
     "Protocol requests after the handshake, by method (\"unknown\" for a name Talon does not implement) and "
     "outcome (ok, error, denied).",
     {"method", "outcome"}},
    {"talon_rpc_duration_seconds",
     health::MetricType::kHistogram,
     "Time from reading a dispatched request to its answer, by method.",
     {"method"},
     kRpcDurationBuckets},
};

constexpr std::string_view kUnknownMethod = "unknown";

Result<RpcMethodSeries> lookUp(health::MetricFamily& requests, health::MetricFamily& duration,
                               std::string_view method) {
  auto ok = requests.counter({method, "ok"});
  auto error = requests.counter({method, "error"});
  auto denied = requests.counter({method, "denied"});
  auto histogram = duration.histogram({method});
  if (!ok || !error || !denied || !histogram) {
    return fail(ErrorCode::kInternal, "rpc metrics: cannot create the series of " + std::string(method));
  }
  return RpcMethodSeries{*ok, *error, *denied, *histogram};
}

/// Forwards every answer; counts the first.
class TrackingResponder final : public RpcResponder {
 public:
  TrackingResponder(const RpcMethodSeries& series, RpcResponderPtr inner, const Clock& clock,
                    std::chrono::steady_clock::time_point start)
      : series_(series), inner_(std::move(inner)), clock_(clock), start_(start) {}

  void respondOk(std::string_view id, std::string_view payloadJson) override {
    settle(series_.ok);
    inner_->respondOk(id, payloadJson);
  }
  void respondError(std::string_view id, const Error& error, std::optional<std::string_view> payloadJson) override {
    settle(series_.error);
    inner_->respondError(id, error, payloadJson);
  }
  void subscribeSession(const std::string& sessionKey) override { inner_->subscribeSession(sessionKey); }

 private:
  void settle(const health::Counter& outcome) {
    if (answered_.exchange(true, std::memory_order_relaxed)) return;
    outcome.inc();
    series_.duration.observe(std::chrono::duration<double>(clock_.steadyNow() - start_).count());
  }

  const RpcMethodSeries& series_;  // owned by RpcMetrics, which outlives every request
  RpcResponderPtr inner_;
  const Clock& clock_;  // RpcMetrics' clock
  std::chrono::steady_clock::time_point start_;
  std::atomic<bool> answered_{false};
};

}  // namespace

Result<std::unique_ptr<RpcMetrics>> RpcMetrics::create(health::MetricsRegistry& metrics, const MethodRegistry& methods,
                                                       ClockPtr clock) {
  auto families = metrics.add(kRpcMetrics);
  if (!families) return fail(families.error());
  auto& requests = *(*families)[0];
  auto& duration = *(*families)[1];
  std::unique_ptr<RpcMetrics> m(new RpcMetrics(std::move(clock)));
  for (std::string_view name : methods.names()) {
    auto s = lookUp(requests, duration, name);
    if (!s) return fail(s.error());
    m->byMethod_.emplace(methods.find(name), *s);
  }
  auto unknown = lookUp(requests, duration, kUnknownMethod);
  if (!unknown) return fail(unknown.error());
  m->unknown_ = *unknown;
  return m;
}

const RpcMethodSeries& RpcMetrics::series(const MethodDefinition* definition) const {
  if (definition == nullptr) return unknown_;
  auto it = byMethod_.find(definition);
  return it == byMethod_.end() ? unknown_ : it->second;
}

RpcResponderPtr RpcMetrics::track(const RpcMethodSeries& series, RpcResponderPtr reply,
                                  std::chrono::steady_clock::time_point start) const {
  return std::make_shared<TrackingResponder>(series, std::move(reply), *clock_, start);
}

}  // namespace talon::gateway::methods
