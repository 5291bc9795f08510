// GET /metrics: the metrics registry in the Prometheus text format 0.0.4, behind the gateway's
// Authenticator (a Prometheus scrape config sends the token with `authorization: {credentials: …}`).
// Gauges of state owned elsewhere (open connections, turns running and queued, the net layer's
// counters) are read here at scrape time; metrics that change by events are kept by their owners.
#include <spdlog/spdlog.h>

#include <mutex>

#include "gateway/health/metrics_registry.h"
#include "gateway/http/builtin_routes.h"
#include "security/authenticator.h"

namespace talon::gateway::http {
namespace {

/// Read at scrape time from their owners.
constexpr health::MetricSpec kScrapeMetrics[] = {
    {"talon_gateway_connections", health::MetricType::kGauge, "Protocol (WebSocket) connections open now.", {}},
    {"talon_agent_turns", health::MetricType::kGauge, "Agent turns now, by state.", {"state"}},
    {"talon_http_connections_accepted_total",
     health::MetricType::kCounter,
     "TCP connections accepted on the gateway port.",
     {}},
    {"talon_http_requests_total", health::MetricType::kCounter, "Plain HTTP requests served.", {}},
    {"talon_websocket_handshakes_total", health::MetricType::kCounter, "Completed WebSocket handshakes.", {}},
    {"talon_http_connections_open", health::MetricType::kGauge, "HTTP and WebSocket connections open now.", {}},
};

/// Mirrors monotonic counters owned by another module into registry counters.
class CounterMirror {
 public:
  explicit CounterMirror(health::Counter c) : counter_(c) {}
  void update(uint64_t current) {
    if (current > last_) counter_.inc(current - last_);
    last_ = current;
  }

 private:
  health::Counter counter_;
  uint64_t last_ = 0;
};

struct ScrapeState {
  std::mutex mu;  // one scrape at a time updates the mirrors
  health::Gauge connections, running, queued, open;
  std::unique_ptr<CounterMirror> accepted, requests, handshakes;
};

}  // namespace

Status registerMetricsRoute(net::HttpRouter& router, const GatewayServices& services) {
  auto families = services.metrics.add(kScrapeMetrics);
  if (!families) return fail(families.error());
  auto scrape = std::make_shared<ScrapeState>();
  auto& f = *families;
  scrape->connections = *f[0]->gauge();
  scrape->running = *f[1]->gauge({"running"});
  scrape->queued = *f[1]->gauge({"queued"});
  scrape->accepted = std::make_unique<CounterMirror>(*f[2]->counter());
  scrape->requests = std::make_unique<CounterMirror>(*f[3]->counter());
  scrape->handshakes = std::make_unique<CounterMirror>(*f[4]->counter());
  scrape->open = *f[5]->gauge();
  return router.add({{"GET"},
                     "/metrics",
                     net::PathMatch::kExact,
                     [scrape, &metrics = services.metrics, &auth = services.auth, &state = services.state,
                      &runner = services.runner, serverStats = services.serverStats](const net::HttpExchangePtr& ex) {
                       const auto& req = ex->request();
                       auto who =
                           auth.authenticateHttp(req.header("authorization"),
                                                 security::PeerOrigin{req.remoteIsLoopback, req.remoteAddress, {}});
                       if (!who) {
                         spdlog::info("GET /metrics from {}: {}", req.remoteAddress, who.error().message);
                         return ex->respond(net::errorResponse(who.error()));
                       }
                       {
                         std::lock_guard lock(scrape->mu);
                         scrape->connections.set(static_cast<double>(state.connections.load()));
                         auto stats = runner.stats();
                         scrape->running.set(static_cast<double>(stats.running));
                         scrape->queued.set(static_cast<double>(stats.queued));
                         if (serverStats) {
                           auto s = serverStats();
                           scrape->accepted->update(s.connectionsAccepted);
                           scrape->requests->update(s.httpRequests);
                           scrape->handshakes->update(s.webSocketsAccepted);
                           scrape->open.set(static_cast<double>(s.openConnections));
                         }
                       }
                       net::HttpResponse response;
                       response.contentType = std::string(health::kPrometheusContentType);
                       response.body = metrics.render();
                       response.headers.emplace_back("Cache-Control", "no-store");
                       ex->respond(std::move(response));
                     }});
}

}  // namespace talon::gateway::http
