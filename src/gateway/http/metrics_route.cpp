// GET /metrics: the metrics registry in the Prometheus text format 0.0.4 (docs/metrics.md).
// Auth: a bearer token through the gateway's Authenticator (the shared token or password, or a named
// operator token; a Prometheus scrape config sends it with `authorization: {credentials: …}`) whose
// caller holds operator.read — 401 without valid credentials, 403 without the scope. With
// `gateway.metrics.allowUnauthenticatedLoopback` a loopback peer (no proxy headers) that sends no
// Authorization header is served without one.
// Gauges of state owned elsewhere (connections, connected clients, active sessions, turns running and
// queued, the net layer's counters, the process) are read here at scrape time; metrics that change by
// events are kept by their owners.
#include <spdlog/spdlog.h>

#include <mutex>

#include "gateway/health/metrics_registry.h"
#include "gateway/health/process_metrics.h"
#include "gateway/http/builtin_routes.h"
#include "protocol/scopes.h"
#include "security/audit_sink.h"
#include "security/authenticator.h"

namespace talon::gateway::http {
namespace {

/// Read at scrape time from their owners.
constexpr health::MetricSpec kScrapeMetrics[] = {
    {"talon_gateway_connections",
     health::MetricType::kGauge,
     "Protocol (WebSocket) connections open now, before and after the handshake.",
     {}},
    {"talon_agent_turns", health::MetricType::kGauge, "Agent turns now, by state.", {"state"}},
    {"talon_http_connections_accepted_total",
     health::MetricType::kCounter,
     "TCP connections accepted on the gateway port.",
     {}},
    {"talon_http_requests_total", health::MetricType::kCounter, "Plain HTTP requests served.", {}},
    {"talon_websocket_handshakes_total", health::MetricType::kCounter, "Completed WebSocket handshakes.", {}},
    {"talon_http_connections_open", health::MetricType::kGauge, "HTTP and WebSocket connections open now.", {}},
    {"talon_gateway_connected_clients",
     health::MetricType::kGauge,
     "Protocol clients connected now (handshake completed).",
     {}},
    {"talon_gateway_active_sessions",
     health::MetricType::kGauge,
     "Sessions with an agent turn running or queued now.",
     {}},
    {"talon_agent_session_cache_sessions",
     health::MetricType::kGauge,
     "Sessions whose history the agent runner holds in memory now.",
     {}},
    {"talon_agent_session_cache_bytes",
     health::MetricType::kGauge,
     "Bytes of the session histories held in memory now, approximately (bounded at 4 MiB).",
     {}},
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
  health::Gauge connections, running, queued, open, clients, sessions, cachedSessions, cachedSessionBytes;
  std::unique_ptr<CounterMirror> accepted, requests, handshakes;
  health::ProcessMetricsPtr process;
};

/// Who may scrape: nullopt when the request may be served, else the response refusing it.
std::optional<net::HttpResponse> checkScrapeAuth(const net::HttpRequest& req, const security::Authenticator& auth,
                                                 security::AuditSink& audit, bool allowUnauthenticatedLoopback) {
  const auto authorization = req.header("authorization");
  if (allowUnauthenticatedLoopback && req.remoteIsLoopback && authorization.empty()) return std::nullopt;
  auto who = auth.authenticateHttp(
      authorization, security::PeerOrigin{req.remoteIsLoopback, req.remoteAddress, {}, req.peerAddress, req.headers});
  if (!who) {
    spdlog::info("GET /metrics from {}: {}", req.remoteAddress, who.error().message);
    return net::errorResponse(who.error());
  }
  if (!who->scopes.satisfies(protocol::Scope::kRead)) {
    const std::string message = "missing scope: " + std::string(protocol::scopeName(protocol::Scope::kRead));
    security::AuditEvent e;
    e.kind = "auth.http";
    e.actor = who->operatorToken ? "operator-token:" + who->operatorToken->name : "http:" + req.remoteAddress;
    e.target = "GET /metrics";
    e.outcome = security::AuditOutcome::kDenied;
    e.details["remoteAddress"] = req.remoteAddress;
    e.details["reason"] = message;
    audit.record(std::move(e));
    spdlog::info("GET /metrics from {}: {}", req.remoteAddress, message);
    return net::errorResponse(Error(ErrorCode::kPermissionDenied, message, message));
  }
  return std::nullopt;
}

}  // namespace

Status registerMetricsRoute(net::HttpRouter& router, const GatewayServices& services) {
  auto families = services.metrics.add(kScrapeMetrics);
  if (!families) return fail(families.error());
  auto process = health::ProcessMetrics::create(services.metrics);
  if (!process) return fail(process.error());
  auto scrape = std::make_shared<ScrapeState>();
  auto& f = *families;
  scrape->connections = *f[0]->gauge();
  scrape->running = *f[1]->gauge({"running"});
  scrape->queued = *f[1]->gauge({"queued"});
  scrape->accepted = std::make_unique<CounterMirror>(*f[2]->counter());
  scrape->requests = std::make_unique<CounterMirror>(*f[3]->counter());
  scrape->handshakes = std::make_unique<CounterMirror>(*f[4]->counter());
  scrape->open = *f[5]->gauge();
  scrape->clients = *f[6]->gauge();
  scrape->sessions = *f[7]->gauge();
  scrape->cachedSessions = *f[8]->gauge();
  scrape->cachedSessionBytes = *f[9]->gauge();
  scrape->process = std::move(*process);
  const bool openOnLoopback = services.config->config.gateway.metrics.allowUnauthenticatedLoopback;
  if (openOnLoopback) {
    // The setting opens a read path without credentials: recorded once, when it takes effect.
    security::AuditEvent e;
    e.kind = "config.metrics";
    e.actor = "system";
    e.target = "gateway.metrics.allowUnauthenticatedLoopback";
    e.outcome = security::AuditOutcome::kAllowed;
    e.details["effect"] = "GET /metrics from loopback without a token";
    services.audit.record(std::move(e));
    spdlog::warn(
        "GET /metrics is served without a token to loopback clients (gateway.metrics.allowUnauthenticatedLoopback)");
  }
  return router.add({{"GET"},
                     "/metrics",
                     net::PathMatch::kExact,
                     [scrape, openOnLoopback, &metrics = services.metrics, &auth = services.auth,
                      &audit = services.audit, &state = services.state, &presence = services.presence,
                      &runner = services.runner, serverStats = services.serverStats](const net::HttpExchangePtr& ex) {
                       if (auto refused = checkScrapeAuth(ex->request(), auth, audit, openOnLoopback)) {
                         return ex->respond(std::move(*refused));
                       }
                       {
                         std::lock_guard lock(scrape->mu);
                         scrape->connections.set(static_cast<double>(state.connections.load()));
                         scrape->clients.set(static_cast<double>(presence.size()));
                         auto stats = runner.stats();
                         scrape->running.set(static_cast<double>(stats.running));
                         scrape->queued.set(static_cast<double>(stats.queued));
                         scrape->sessions.set(static_cast<double>(stats.activeSessions));
                         scrape->cachedSessions.set(static_cast<double>(stats.cachedSessions));
                         scrape->cachedSessionBytes.set(static_cast<double>(stats.cachedSessionBytes));
                         if (serverStats) {
                           auto s = serverStats();
                           scrape->accepted->update(s.connectionsAccepted);
                           scrape->requests->update(s.httpRequests);
                           scrape->handshakes->update(s.webSocketsAccepted);
                           scrape->open.set(static_cast<double>(s.openConnections));
                         }
                         scrape->process->update();
                       }
                       net::HttpResponse response;
                       response.contentType = std::string(health::kPrometheusContentType);
                       response.body = metrics.render();
                       response.headers.emplace_back("Cache-Control", "no-store");
                       ex->respond(std::move(response));
                     }});
}

}  // namespace talon::gateway::http
