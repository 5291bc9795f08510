#include "gateway/http/builtin_routes.h"

#include "gateway/channels/telegram/telegram_webhook_route.h"

namespace talon::gateway::http {
namespace {
using RegisterRoutes = Status (*)(net::HttpRouter&, const GatewayServices&);

/// The route groups, one line each. A new group: a new file with its register function, plus one line.
constexpr RegisterRoutes kRouteGroups[] = {registerProbeRoutes,   registerOpenAiRoutes,
                                           registerMetricsRoute,  channels::registerTelegramWebhookRoutes,
                                           registerWebChatRoutes, registerHooksRoutes};
}  // namespace

Status registerBuiltinRoutes(net::HttpRouter& router, const GatewayServices& services) {
  for (auto group : kRouteGroups) {
    if (auto s = group(router, services); !s) return s;
  }
  return {};
}

}  // namespace talon::gateway::http
