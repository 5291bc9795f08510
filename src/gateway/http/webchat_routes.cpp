// The WebChat page (docs/channels.md "WebChat"): a small page, embedded in the binary from web/webchat/
// (cmake/EmbedWebAssets.cmake), that chats with an agent over the gateway WebSocket (protocol v4) as
// OpenClaw's browser clients do. Served while `gateway.controlUi.enabled` (default true) under
// `gateway.controlUi.basePath`:
//   <base>/chat, <base>/chat/<agentId>        the page (agent "main"'s main session by default)
//   <base>/__talon__/webchat/<asset>          its script and style sheet
//   <base>/ (and <base> when set)             302 to <base>/chat
// The page carries no secret: the user types the gateway token (or passes it in the URL fragment,
// which browsers never send). Every response forbids framing and sniffing; the page's
// Content-Security-Policy allows only its own script, style and a same-origin WebSocket.
#include <fmt/format.h>

#include <string>
#include <string_view>
#include <utility>

#include "gateway/http/builtin_routes.h"
#include "webchat_assets.inc"  // generated: kWebAssets {name, bytes}

namespace talon::gateway::http {
namespace {

/// OpenClaw's Control UI CSP allows same-origin assets, data: and blob: URLs and HTTPS images
/// (docs/web/control-ui/security-model.md); the WebChat page needs less: no inline code, no images
/// but data:, no frames, no forms posted anywhere.
constexpr std::string_view kPageCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

std::string_view asset(std::string_view name) {
  for (const auto& [n, bytes] : kWebAssets) {
    if (n == name) return bytes;
  }
  return {};
}

net::Headers commonHeaders() {
  return {{"X-Content-Type-Options", "nosniff"},
          {"Referrer-Policy", "no-referrer"},
          {"X-Frame-Options", "DENY"},
          {"Cache-Control", "no-cache"}};
}

/// index.html with `{{basePath}}` replaced (the base path is a validated URL path: no quoting needed).
std::string renderPage(std::string_view basePath) {
  std::string page(asset("index.html"));
  static constexpr std::string_view kMarker = "{{basePath}}";
  for (auto pos = page.find(kMarker); pos != std::string::npos; pos = page.find(kMarker, pos + basePath.size())) {
    page.replace(pos, kMarker.size(), basePath);
  }
  return page;
}

}  // namespace

Status registerWebChatRoutes(net::HttpRouter& router, const GatewayServices& services) {
  const auto& ui = services.config->config.gateway.controlUi;
  if (!ui.enabled) return {};
  const std::string base = ui.basePath;
  auto page = std::make_shared<const std::string>(renderPage(base));
  auto servePage = [page](const net::HttpExchangePtr& ex) {
    net::HttpResponse r;
    r.contentType = "text/html; charset=utf-8";
    r.headers = commonHeaders();
    r.headers.emplace_back("Content-Security-Policy", std::string(kPageCsp));
    r.body = *page;
    ex->respond(std::move(r));
  };
  for (auto [path, match] :
       {std::pair{base + "/chat", net::PathMatch::kExact}, std::pair{base + "/chat/", net::PathMatch::kPrefix}}) {
    if (auto s = router.add({{"GET"}, path, match, servePage}); !s) return s;
  }
  struct AssetType {
    std::string_view name;
    std::string_view contentType;
  };
  for (auto [name, type] : {AssetType{"webchat.js", "text/javascript; charset=utf-8"},
                            AssetType{"webchat.css", "text/css; charset=utf-8"}}) {
    auto bytes = asset(name);
    auto handler = [bytes, type = std::string(type)](const net::HttpExchangePtr& ex) {
      net::HttpResponse r;
      r.contentType = type;
      r.headers = commonHeaders();
      r.body = std::string(bytes);
      ex->respond(std::move(r));
    };
    if (auto s =
            router.add({{"GET"}, fmt::format("{}/__talon__/webchat/{}", base, name), net::PathMatch::kExact, handler});
        !s) {
      return s;
    }
  }
  auto redirect = [to = base + "/chat"](const net::HttpExchangePtr& ex) {
    net::HttpResponse r;
    r.status = 302;
    r.contentType = "text/plain; charset=utf-8";
    r.headers = commonHeaders();
    r.headers.emplace_back("Location", to);
    r.body = "see " + to + "\n";
    ex->respond(std::move(r));
  };
  if (auto s = router.add({{"GET"}, base + "/", net::PathMatch::kExact, redirect}); !s) return s;
  if (!base.empty()) {
    if (auto s = router.add({{"GET"}, base, net::PathMatch::kExact, redirect}); !s) return s;
  }
  return {};
}

}  // namespace talon::gateway::http
