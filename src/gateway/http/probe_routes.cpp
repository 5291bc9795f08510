// Probes on the gateway port (reference/openclaw-protocol.md "HTTP endpoints"): liveness
// (/health, /healthz), start-up (/startup, /startupz) and readiness (/ready, /readyz).
#include "gateway/health/health_registry.h"
#include "gateway/http/builtin_routes.h"

namespace talon::gateway::http {
namespace {

struct ProbeDeps {
  const GatewayInfo& info;
  GatewayState& state;
  health::HealthRegistry& healthRecords;
  ClockPtr clock;
};

void respondJson(const net::HttpExchangePtr& ex, bool ok, json::object body) {
  ex->respond(net::jsonResponse(ok ? 200 : httpStatus(ErrorCode::kUnavailable), json::serialize(body)));
}

}  // namespace

Status registerProbeRoutes(net::HttpRouter& router, const GatewayServices& services) {
  const ProbeDeps d{services.info, services.state, services.healthRecords, services.clock};
  auto live = [](const net::HttpExchangePtr& ex) { respondJson(ex, true, {{"ok", true}, {"status", "live"}}); };
  auto startup = [d](const net::HttpExchangePtr& ex) {
    bool started = d.state.started.load();
    const char* status = d.state.stopping ? "draining" : started ? "started" : "starting";
    respondJson(ex, started,
                {{"ok", started},
                 {"status", status},
                 {"version", d.info.version},
                 {"uptimeMs", d.clock->nowMs() - d.info.startedAtMs}});
  };
  auto ready = [d](const net::HttpExchangePtr& ex) {
    // Typed health records, no JSON re-parsed: not ready while a critical record is failed or unknown.
    auto readiness = d.healthRecords.readiness();
    json::array failing;
    for (const auto& r : readiness.blocking) failing.push_back(json::string(r.component + "/" + r.dimension));
    if (d.state.stopping) failing.push_back("gateway/draining");
    // Non-critical records that are failed or degraded (a channel account down or muted): shown, but
    // they do not take the gateway out of rotation.
    json::array degraded;
    for (const auto& r : d.healthRecords.snapshot().records) {
      if (r.critical) continue;
      if (r.state == health::HealthState::kFailed || r.state == health::HealthState::kDegraded) {
        degraded.push_back(json::string(r.component + "/" + r.dimension));
      }
    }
    bool isReady = failing.empty();
    respondJson(ex, isReady,
                {{"ready", isReady},
                 {"failing", failing},
                 {"degraded", degraded},
                 {"uptimeMs", d.clock->nowMs() - d.info.startedAtMs}});
  };
  for (const char* path : {"/health", "/healthz"}) {
    if (auto s = router.add({{"GET"}, path, net::PathMatch::kExact, live}); !s) return s;
  }
  for (const char* path : {"/startup", "/startupz"}) {
    if (auto s = router.add({{"GET"}, path, net::PathMatch::kExact, startup}); !s) return s;
  }
  for (const char* path : {"/ready", "/readyz"}) {
    if (auto s = router.add({{"GET"}, path, net::PathMatch::kExact, ready}); !s) return s;
  }
  return {};
}

}  // namespace talon::gateway::http
