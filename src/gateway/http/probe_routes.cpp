// Probes on the gateway port (reference/openclaw-protocol.md "HTTP endpoints"): liveness
// (/health, /healthz), start-up (/startup, /startupz) and readiness (/ready, /readyz).
#include "gateway/http/builtin_routes.h"

namespace talon::gateway::http {
namespace {

struct ProbeDeps {
  const GatewayInfo& info;
  GatewayState& state;
  ClockPtr clock;
};

void respondJson(const net::HttpExchangePtr& ex, bool ok, json::object body) {
  ex->respond(net::jsonResponse(ok ? 200 : httpStatus(ErrorCode::kUnavailable), json::serialize(body)));
}

}  // namespace

Status registerProbeRoutes(net::HttpRouter& router, const GatewayServices& services) {
  const ProbeDeps d{services.info, services.state, services.clock};
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
    json::array failing;
    if (!d.state.started) failing.push_back("startup");
    if (d.state.stopping) failing.push_back("draining");
    if (!d.state.storeReachable) failing.push_back("store");
    bool isReady = failing.empty();
    respondJson(ex, isReady,
                {{"ready", isReady}, {"failing", failing}, {"uptimeMs", d.clock->nowMs() - d.info.startedAtMs}});
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
