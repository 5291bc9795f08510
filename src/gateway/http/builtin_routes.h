#pragma once
// The HTTP routes the gateway registers, one registration function per owning file.
#include "gateway/gateway_services.h"
#include "net/http_router.h"

namespace talon::gateway::http {

/// Registers every built-in route group (the table in builtin_routes.cpp). Errors: the first
/// HttpRouter::add error.
Status registerBuiltinRoutes(net::HttpRouter& router, const GatewayServices& services);

Status registerProbeRoutes(net::HttpRouter& router, const GatewayServices& services);   // probe_routes.cpp
Status registerOpenAiRoutes(net::HttpRouter& router, const GatewayServices& services);  // openai_api.cpp
Status registerMetricsRoute(net::HttpRouter& router, const GatewayServices& services);  // metrics_route.cpp
/// The WebChat page and its assets under gateway.controlUi.basePath, unless gateway.controlUi.enabled is false.
Status registerWebChatRoutes(net::HttpRouter& router, const GatewayServices& services);  // webchat_routes.cpp
Status registerHooksRoutes(net::HttpRouter& router, const GatewayServices& services);    // hooks_route.cpp

}  // namespace talon::gateway::http
