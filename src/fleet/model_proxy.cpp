#include "fleet/model_proxy.h"

#include <strings.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cctype>
#include <cstdio>
#include <mutex>

#include "fleet/policy.h"
#include "fleet/proxy_accounting.h"
#include "net/http_client.h"
#include "net/http_router.h"
#include "net/server.h"

namespace talon::fleet {

namespace {

/// An error response in the upstream vendor's format: OpenAI's {"error": {message, type, param, code}}
/// (https://platform.openai.com/docs/guides/error-codes), or Anthropic's {"type": "error", "error": {type,
/// message}} with its type for the status (https://docs.anthropic.com/en/api/errors).
net::HttpResponse proxyError(ProxyApi api, int status, const std::string& type, const std::string& code,
                             const std::string& message) {
  if (api == ProxyApi::kAnthropicMessages) {
    std::string anthropicType = status == 400   ? "invalid_request_error"
                                : status == 401 ? "authentication_error"
                                : status == 403 ? "permission_error"
                                : status == 404 ? "not_found_error"
                                : status == 429 ? "rate_limit_error"
                                                : "api_error";
    json::object error{{"type", anthropicType}, {"message", message + " (" + code + ")"}};
    return net::jsonResponse(status, json::serialize(json::object{{"type", "error"}, {"error", std::move(error)}}));
  }
  json::object error{{"message", message}, {"type", type}, {"param", nullptr}, {"code", code}};
  return net::jsonResponse(status, json::serialize(json::object{{"error", std::move(error)}}));
}

/// The path after /providers/<id>/ that the provider's API is served on: chat/completions (OpenAI);
/// v1/messages or messages (Anthropic: its clients append /v1/messages to a base URL without /v1).
bool proxyRouteMatches(ProxyApi api, std::string_view rest) {
  if (api == ProxyApi::kAnthropicMessages) return rest == "v1/messages" || rest == "messages";
  return rest == "chat/completions";
}

/// The upstream URL for the provider's API: <baseUrl>/chat/completions; <baseUrl>/v1/messages (or
/// <baseUrl>/messages when baseUrl ends in /v1).
std::string proxyUpstreamUrl(ProxyApi api, const std::string& baseUrl) {
  if (api == ProxyApi::kOpenAiCompletions) return baseUrl + "/chat/completions";
  return baseUrl.ends_with("/v1") ? baseUrl + "/messages" : baseUrl + "/v1/messages";
}

std::string bearerToken(std::string_view authorization) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size()) return {};
  for (std::size_t i = 0; i < kBearer.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
        std::tolower(static_cast<unsigned char>(kBearer[i])))
      return {};
  }
  return std::string(authorization.substr(kBearer.size()));
}

/// Who holds a key, for messages: `gateway "g"` or `agent "a" of gateway "g"`.
std::string proxyKeyHolder(const VirtualKeyInfo& vk) {
  if (vk.agent) return "agent \"" + *vk.agent + "\" of gateway \"" + vk.gateway + "\"";
  return "gateway \"" + vk.gateway + "\"";
}

std::string proxyCapitalised(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

/// One forwarded request's state, shared by the upstream call's callbacks (which run one at a time).
struct ProxyForward {
  explicit ProxyForward(ProxyApi a) : api(a), scanner(a) {}
  ProxyApi api;
  net::HttpExchangePtr exchange;
  net::ResponseStreamPtr stream;
  bool streaming = false;
  int status = 0;
  std::string contentType = "application/json";
  std::string body;
  SseUsageScanner scanner;
  UsageRecord record;
  std::optional<ModelPrice> price;
};

}  // namespace

std::optional<std::string> proxyModelDenial(const EffectiveFleet& fleet, const std::string& gatewayId,
                                            const std::string& modelRef, const std::optional<std::string>& agentId) {
  const Gateway* gateway = fleet.inventory().findGateway(gatewayId);
  if (gateway == nullptr) return "gateway \"" + gatewayId + "\" is not in the inventory";
  const std::size_t gatewayIndex = static_cast<std::size_t>(gateway - fleet.inventory().gateways().data());
  std::vector<std::size_t> agents = fleet.agentsOf(gatewayIndex);
  if (agentId) {
    const Agent* agent = fleet.inventory().findAgent(*agentId);
    if (agent == nullptr) return "agent \"" + *agentId + "\" is not in the inventory";
    if (agent->gateway != gatewayId)
      return "agent \"" + *agentId + "\" is on gateway \"" + agent->gateway + "\", not \"" + gatewayId + "\"";
    agents = {static_cast<std::size_t>(agent - fleet.inventory().agents().data())};
  }
  if (agents.empty()) return "gateway \"" + gatewayId + "\" has no agents";
  std::size_t slash = modelRef.find('/');
  std::string provider = slash == std::string::npos ? modelRef : modelRef.substr(0, slash);
  std::string firstReason;
  for (std::size_t i : agents) {
    PolicyDecision p = decideForAgent(fleet, i, "provider", provider, "model proxy");
    PolicyDecision m = p.allowed ? decideForAgent(fleet, i, "model", modelRef, "model proxy") : p;
    if (m.allowed) return std::nullopt;
    if (firstReason.empty()) firstReason = m.category + " \"" + m.item + "\": " + m.reason;
  }
  return firstReason;
}

/// What a request is decided with: the fleet (policy), its modelProxy section and the upstream keys.
/// Replaced whole by ModelProxy::reload(); a request keeps the snapshot it started with.
struct ProxyConfigSnapshot {
  std::shared_ptr<const EffectiveFleet> fleet;
  const ModelProxySettings* settings = nullptr;
  std::map<std::string, std::string> upstreamKeys;
};

/// The snapshot of `fleet` with `keys`. Errors: kInvalidArgument when the fleet has no modelProxy section or a
/// provider has no upstream key.
Result<std::shared_ptr<const ProxyConfigSnapshot>> proxySnapshot(std::shared_ptr<const EffectiveFleet> fleet,
                                                                 std::map<std::string, std::string> keys) {
  if (!fleet || !fleet->inventory().modelProxy())
    return fail(ErrorCode::kInvalidArgument, "the inventory has no modelProxy section");
  auto snap = std::make_shared<ProxyConfigSnapshot>();
  snap->fleet = std::move(fleet);
  snap->settings = &*snap->fleet->inventory().modelProxy();
  for (const auto& [id, provider] : snap->settings->providers) {
    auto key = keys.find(id);
    if (key == keys.end() || key->second.empty())
      return fail(ErrorCode::kInvalidArgument,
                  "modelProxy.providers." + id + ": no upstream key (" + provider.apiKeyVariable + " is not set)");
  }
  snap->upstreamKeys = std::move(keys);
  return std::shared_ptr<const ProxyConfigSnapshot>(std::move(snap));
}

struct ModelProxy::Impl : std::enable_shared_from_this<ModelProxy::Impl> {
  std::mutex configMutex;
  std::shared_ptr<const ProxyConfigSnapshot> config;
  std::shared_ptr<ProxyLedger> ledger;
  ClockPtr clock;
  net::HttpClientPtr client;
  net::ServerPtr server;
  boost::asio::thread_pool worker{1};
  std::mutex healthMutex;
  json::object health{{"status", "starting"}};
  std::once_flag stopped;

  void handle(const net::HttpExchangePtr& exchange) {
    const net::HttpRequest& req = exchange->request();
    if (req.path == "/fleet/health") {
      std::lock_guard lock(healthMutex);
      exchange->respond(net::jsonResponse(200, json::serialize(health)));
      return;
    }
    constexpr std::string_view kPrefix = "/providers/";
    std::string_view path = req.path;
    if (!path.starts_with(kPrefix)) {
      exchange->respond(proxyError(ProxyApi::kOpenAiCompletions, 404, "invalid_request_error", "unknown_url",
                                   "Unknown request URL: " + req.path));
      return;
    }
    path.remove_prefix(kPrefix.size());
    std::size_t slash = path.find('/');
    std::string provider(path.substr(0, slash));
    auto cfg = snapshot();
    auto known = cfg->settings->providers.find(provider);
    ProxyApi api =
        known != cfg->settings->providers.end() ? proxyApiOf(known->second.api) : ProxyApi::kOpenAiCompletions;
    if (slash == std::string_view::npos || !proxyRouteMatches(api, path.substr(slash + 1))) {
      exchange->respond(
          proxyError(api, 404, "invalid_request_error", "unknown_url", "Unknown request URL: " + req.path));
      return;
    }
    if (req.method != "POST") {
      exchange->respond(proxyError(api, 405, "invalid_request_error", "method_not_allowed", "Use POST"));
      return;
    }
    boost::asio::post(worker,
                      [self = shared_from_this(), exchange, provider, cfg] { self->admit(exchange, provider, *cfg); });
  }

  std::shared_ptr<const ProxyConfigSnapshot> snapshot() {
    std::lock_guard lock(configMutex);
    return config;
  }

  /// On the worker: key, provider, body, policy, limit; then the upstream call.
  void admit(const net::HttpExchangePtr& exchange, const std::string& providerId, const ProxyConfigSnapshot& cfg) {
    const net::HttpRequest& req = exchange->request();
    const ModelProxySettings* settings = cfg.settings;
    const EffectiveFleet* fleet = cfg.fleet.get();
    auto provider = settings->providers.find(providerId);
    if (provider == settings->providers.end()) {
      exchange->respond(proxyError(ProxyApi::kOpenAiCompletions, 404, "invalid_request_error", "unknown_provider",
                                   "The proxy has no provider \"" + providerId + "\"."));
      return;
    }
    const ProxyApi api = proxyApiOf(provider->second.api);
    // OpenAI clients send `Authorization: Bearer`; Anthropic's `x-api-key` (or Bearer with authHeader).
    std::string token = bearerToken(req.header("authorization"));
    if (token.empty()) token = std::string(req.header("x-api-key"));
    auto key = token.empty() ? Result<std::optional<VirtualKeyInfo>>(std::nullopt) : ledger->authenticate(token);
    if (!key) {
      exchange->respond(proxyError(api, 503, "server_error", "ledger_unavailable", "The proxy cannot check keys now"));
      return;
    }
    if (!*key || !(*key)->active()) {
      exchange->respond(proxyError(api, 401, "invalid_request_error", "invalid_api_key",
                                   *key ? "The virtual key was revoked." : "Incorrect API key provided."));
      return;
    }
    const VirtualKeyInfo& vk = **key;
    if (!settings->usedBy(vk.gateway) || fleet->inventory().findGateway(vk.gateway) == nullptr) {
      exchange->respond(proxyError(api, 403, "invalid_request_error", "gateway_not_proxied",
                                   "Gateway \"" + vk.gateway + "\" is not listed in modelProxy.gateways."));
      return;
    }
    if (vk.agent) {
      const Agent* agent = fleet->inventory().findAgent(*vk.agent);
      if (agent == nullptr || agent->gateway != vk.gateway) {
        exchange->respond(proxyError(
            api, 403, "invalid_request_error", "agent_not_proxied",
            "Agent \"" + *vk.agent + "\" is no longer an agent of gateway \"" + vk.gateway + "\" in the inventory."));
        return;
      }
    }
    auto prepared = prepareChatRequest(req.body, api);
    if (!prepared || prepared->model.empty()) {
      exchange->respond(proxyError(api, 400, "invalid_request_error", "invalid_body",
                                   "The body must be a JSON object with a \"model\"."));
      return;
    }
    std::string modelRef = providerId + "/" + prepared->model;
    if (auto denial = proxyModelDenial(*fleet, vk.gateway, modelRef, vk.agent)) {
      exchange->respond(
          proxyError(api, 403, "invalid_request_error", "model_not_allowed",
                     "Model \"" + modelRef + "\" is not permitted for " + proxyKeyHolder(vk) + ": " + *denial));
      return;
    }
    std::optional<ModelPrice> price;
    if (auto p = settings->pricing.find(modelRef); p != settings->pricing.end()) price = p->second;
    if (auto refusal = checkLimits(*settings, vk, modelRef, price.has_value(), api)) {
      exchange->respond(std::move(*refusal));
      return;
    }
    auto state = std::make_shared<ProxyForward>(api);
    state->exchange = exchange;
    state->streaming = prepared->stream;
    state->price = price;
    state->record.gateway = vk.gateway;
    state->record.agent = vk.agent;
    state->record.keyId = vk.keyId;
    state->record.model = modelRef;
    state->record.stream = prepared->stream;
    forward(state, provider->second, cfg.upstreamKeys.at(provider->second.id), std::move(prepared->body));
  }

  /// On the worker: the spending limits that apply to a request by `vk` — the gateway's
  /// (modelProxy.limits.gateways, everything its keys spent) and, for an agent's key, the agent's
  /// (modelProxy.limits.agents, what that agent's key spent). nullopt when the request may go on; else the
  /// answer: 403 model_not_priced (a limit applies and the model has no price), 429 insufficient_quota naming
  /// the limit reached, 503 when the ledger cannot be read.
  std::optional<net::HttpResponse> checkLimits(const ModelProxySettings& settings, const VirtualKeyInfo& vk,
                                               const std::string& modelRef, bool priced, ProxyApi api) {
    auto gatewayLimit = settings.gatewayLimits.find(vk.gateway);
    auto agentLimit = vk.agent ? settings.agentLimits.find(*vk.agent) : settings.agentLimits.end();
    const bool hasGatewayLimit = gatewayLimit != settings.gatewayLimits.end();
    const bool hasAgentLimit = agentLimit != settings.agentLimits.end();
    if (!hasGatewayLimit && !hasAgentLimit) return std::nullopt;
    if (!priced) {
      return proxyError(api, 403, "invalid_request_error", "model_not_priced",
                        proxyCapitalised(hasAgentLimit ? proxyKeyHolder(vk) : "gateway \"" + vk.gateway + "\"") +
                            " has a spending limit and model \"" + modelRef + "\" has no price in modelProxy.pricing.");
    }
    SpendWindows windows = spendWindowsAt(clock->nowMs());
    auto refuse = [&](const std::string& who, const std::string& limitPath, const LimitExceeded& exceeded) {
      return proxyError(api, 429, "insufficient_quota", "insufficient_quota",
                        proxyCapitalised(who) + " reached its " + exceeded.window + " spending limit (" + limitPath +
                            "." + exceeded.window + "Usd: " + std::to_string(exceeded.spentUsd) + " of " +
                            std::to_string(exceeded.limitUsd) + " USD).");
    };
    auto unavailable = [&] {
      return proxyError(api, 503, "server_error", "ledger_unavailable", "The proxy cannot check spending now");
    };
    if (hasGatewayLimit) {
      auto today = ledger->spentUsd(vk.gateway, windows.dayStartMs);
      auto month = ledger->spentUsd(vk.gateway, windows.monthStartMs);
      if (!today || !month) return unavailable();
      if (auto exceeded = checkSpendLimit(gatewayLimit->second, *today, *month))
        return refuse("gateway \"" + vk.gateway + "\"", "modelProxy.limits.gateways." + vk.gateway, *exceeded);
    }
    if (hasAgentLimit) {
      auto today = ledger->agentSpentUsd(vk.gateway, *vk.agent, windows.dayStartMs);
      auto month = ledger->agentSpentUsd(vk.gateway, *vk.agent, windows.monthStartMs);
      if (!today || !month) return unavailable();
      if (auto exceeded = checkSpendLimit(agentLimit->second, *today, *month))
        return refuse(proxyKeyHolder(vk), "modelProxy.limits.agents." + *vk.agent, *exceeded);
    }
    return std::nullopt;
  }

  void forward(const std::shared_ptr<ProxyForward>& state, const ProxyProvider& provider, const std::string& realKey,
               std::string body) {
    const net::HttpRequest& req = state->exchange->request();
    net::ClientRequest call;
    call.method = "POST";
    call.url = proxyUpstreamUrl(state->api, provider.baseUrl);
    call.headers = {{"Content-Type", "application/json"}};
    if (state->api == ProxyApi::kAnthropicMessages) {
      call.headers.emplace_back("x-api-key", realKey);
      auto version = req.header("anthropic-version");
      call.headers.emplace_back("anthropic-version", version.empty() ? "2023-06-01" : std::string(version));
      if (auto beta = req.header("anthropic-beta"); !beta.empty()) call.headers.emplace_back("anthropic-beta", beta);
    } else {
      call.headers.emplace_back("Authorization", "Bearer " + realKey);
    }
    if (auto accept = req.header("accept"); !accept.empty()) call.headers.emplace_back("Accept", std::string(accept));
    call.body = std::move(body);
    call.idleTimeout = std::chrono::milliseconds(120'000);
    call.resendOnStaleConnection = true;
    net::ClientHandlers h;
    h.onHeaders = [state](int status, const net::Headers& headers) {
      state->status = status;
      for (const auto& [name, value] : headers) {
        if (name.size() == 12 && strncasecmp(name.c_str(), "content-type", 12) == 0) state->contentType = value;
      }
      if (state->streaming && status == 200) state->stream = state->exchange->startStream(200, state->contentType);
    };
    h.onBody = [state](std::string_view data) {
      if (state->stream) {
        state->stream->write(std::string(data));
        state->scanner.feed(data);
      } else {
        state->body.append(data);
      }
    };
    h.onComplete = [self = shared_from_this(), state](Status done) {
      if (state->status == 0) {
        if (state->stream) state->stream->end();
        state->exchange->respond(proxyError(state->api, 502, "server_error", "upstream_unavailable",
                                            "The upstream did not answer: " + done.error().message));
        return;
      }
      std::optional<TokenUsage> usage =
          state->stream ? state->scanner.usage()
                        : (state->status == 200 ? parseCompletionUsage(state->body, state->api) : std::nullopt);
      state->record.status = state->status;
      if (usage) state->record.usage = *usage;
      if (usage && state->price) state->record.costUsd = usageCostUsd(*state->price, *usage);
      // The usage is recorded before the answer completes, so that the gateway's next request (and
      // `talon fleet usage`) already sees what this one spent.
      boost::asio::post(self->worker, [self, state] {
        state->record.timeMs = self->clock->nowMs();
        if (auto s = self->ledger->record(state->record); !s)
          std::fprintf(stderr, "fleet serve: usage of gateway %s%s%s not recorded: %s\n", state->record.gateway.c_str(),
                       state->record.agent ? ", agent " : "", state->record.agent ? state->record.agent->c_str() : "",
                       s.error().message.c_str());
        if (state->stream) {
          state->stream->end();
        } else {
          state->exchange->respond(net::HttpResponse{state->status, state->contentType, {}, std::move(state->body)});
        }
      });
    };
    client->start(std::move(call), std::move(h));
  }
};

ModelProxy::ModelProxy(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

ModelProxy::~ModelProxy() { stop(); }

Result<std::unique_ptr<ModelProxy>> ModelProxy::create(boost::asio::io_context& io, ModelProxyOptions options) {
  auto snap = proxySnapshot(std::move(options.fleet), std::move(options.upstreamKeys));
  if (!snap) return fail(snap.error());
  auto impl = std::make_shared<Impl>();
  impl->config = std::move(*snap);
  impl->ledger = std::move(options.ledger);
  impl->clock = options.clock ? std::move(options.clock) : std::make_shared<SystemClock>();
  impl->client = net::HttpClient::create(io);
  net::ServerOptions serverOptions;
  serverOptions.bindAddresses = {options.bindAddress};
  serverOptions.port = options.port;
  net::ServerHandlers handlers;
  handlers.onHttp = [weak = std::weak_ptr<Impl>(impl)](net::HttpExchangePtr exchange) {
    if (auto self = weak.lock()) {
      self->handle(exchange);
    } else {
      exchange->respond(
          proxyError(ProxyApi::kOpenAiCompletions, 503, "server_error", "stopping", "The proxy is stopping"));
    }
  };
  auto server = net::Server::create(io, std::move(serverOptions), std::move(handlers));
  if (!server) return fail(server.error());
  impl->server = std::move(*server);
  return std::unique_ptr<ModelProxy>(new ModelProxy(std::move(impl)));
}

uint16_t ModelProxy::port() const { return impl_->server->port(); }

Status ModelProxy::reload(std::shared_ptr<const EffectiveFleet> fleet,
                          std::map<std::string, std::string> upstreamKeys) {
  auto snap = proxySnapshot(std::move(fleet), std::move(upstreamKeys));
  if (!snap) return fail(snap.error());
  std::lock_guard lock(impl_->configMutex);
  impl_->config = std::move(*snap);
  return {};
}

void ModelProxy::setHealth(json::object health) {
  std::lock_guard lock(impl_->healthMutex);
  impl_->health = std::move(health);
}

void ModelProxy::stop() {
  std::call_once(impl_->stopped, [this] {
    impl_->server->stop();
    impl_->worker.join();
  });
}

}  // namespace talon::fleet
