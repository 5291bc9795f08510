// The OpenAI-compatible HTTP API (OpenClaw docs/gateway/openai-http-api.md): POST /v1/chat/completions
// (streamed or not), GET /v1/models and GET /v1/models/{id}, served when
// `gateway.http.endpoints.chatCompletions.enabled` is true.
#include <spdlog/spdlog.h>

#include "base/ids.h"
#include "base/json.h"
#include "gateway/http/builtin_routes.h"
#include "gateway/message_limits.h"
#include "gateway/routing/id_normalization.h"
#include "gateway/trace_intake.h"
#include "net/http_router.h"
#include "security/audit_sink.h"
#include "security/authenticator.h"
#include "security/operator_roles.h"

namespace talon::gateway::http {
namespace {

struct OpenAiDeps {
  const GatewayInfo& info;
  const AgentDirectory& agents;
  const security::Authenticator& auth;
  security::AuditSink& audit;
  AgentRunner& runner;
  ClockPtr clock;
  /// gateway.limits.maxMessageBytes.
  int64_t maxMessageBytes;
  /// The `traceparent` header's intake (may be null).
  const TraceIntake* traces = nullptr;
};

/// OpenAI's error body: {"error": {"message", "type", "param", "code"}}.
json::object openAiError(std::string_view message, std::string_view type, json::value code = nullptr) {
  return json::object{
      {"error", json::object{{"message", message}, {"type", type}, {"param", nullptr}, {"code", code}}}};
}

/// The OpenAI error response for `e`: status from the one mapping (httpStatus), body in OpenAI's shape;
/// `code` is OpenAI's error code string when it has one ("model_not_found").
net::HttpResponse openAiErrorResponse(const Error& e, json::value code = nullptr) {
  return net::jsonResponse(httpStatus(e.code),
                           json::serialize(openAiError(e.publicMessage(), openAiErrorType(e.code), std::move(code))));
}

/// A client error (400) with `message` as both texts.
Error badRequest(std::string message) { return Error(ErrorCode::kInvalidArgument, message, message); }

net::HttpResponse okJson(const json::value& body) { return net::jsonResponse(200, json::serialize(body)); }

/// The OpenAI API's answer to a request without valid credentials (OpenClaw's body shape).
net::HttpResponse unauthorized() {
  return net::jsonResponse(httpStatus(ErrorCode::kUnauthenticated),
                           R"({"error":{"message":"Unauthorized","type":"unauthorized"}})");
}

/// The answer to a request whose credentials were refused: 401 (OpenClaw's body), 429 with Retry-After
/// and OpenClaw's rate_limited body while the client is locked out (gateway.auth.rateLimit), or 403 with
/// OpenClaw's proxy_attribution_required body (trusted-proxy auth).
net::HttpResponse refused(const Error& e) {
  if (e.code == ErrorCode::kPermissionDenied && e.details.contains("type")) {
    // Trusted-proxy auth: proxy_attribution_required is a 403 with OpenClaw's body.
    net::HttpResponse response;
    response.status = 403;
    response.body =
        json::serialize(json::object{{"error", {{"message", e.publicMessage()}, {"type", e.details.at("type")}}}});
    return response;
  }
  if (e.code != ErrorCode::kResourceExhausted) return unauthorized();
  auto response = net::errorResponse(e);  // 429 + Retry-After
  response.body = json::serialize(json::object{{"error", {{"message", e.publicMessage()}, {"type", "rate_limited"}}}});
  return response;
}

/// Nullopt when the request's credentials pass and grant `required` (stored in `out` when given); else
/// the response to send: 401/429 for refused credentials, 403 for a caller without the scope (a named
/// operator token whose role lacks it: docs/security.md "Operator tokens").
std::optional<net::HttpResponse> checkAuth(const OpenAiDeps& d, const net::HttpRequest& req, protocol::Scope required,
                                           security::Principal* out = nullptr) {
  auto principal = d.auth.authenticateHttp(
      req.header("authorization"),
      security::PeerOrigin{req.remoteIsLoopback, req.remoteAddress, {}, req.peerAddress, req.headers});
  if (!principal) {
    spdlog::info("HTTP {} {} from {}: {}", req.method, req.path, req.remoteAddress, principal.error().message);
    return refused(principal.error());
  }
  if (!principal->scopes.satisfies(required)) {
    std::string msg = "missing scope: " + std::string(protocol::scopeName(required));
    return openAiErrorResponse(Error(ErrorCode::kPermissionDenied, msg, msg), "missing_scope");
  }
  if (out != nullptr) *out = std::move(*principal);
  return std::nullopt;
}

/// Model ids Talon serves: "talon" and "openclaw" (the default agent), "<prefix>/default", and
/// "<prefix>/<agentId>" for prefix talon or openclaw (OpenClaw's model ids are `openclaw/<agentId>`).
std::optional<std::string> agentForModel(const OpenAiDeps& d, std::string_view model) {
  std::string_view rest;
  if (model == "talon" || model == "openclaw") {
    rest = "default";
  } else if (model.rfind("talon/", 0) == 0) {
    rest = model.substr(6);
  } else if (model.rfind("openclaw/", 0) == 0) {
    rest = model.substr(9);
  } else {
    return std::nullopt;
  }
  if (rest == "default") {
    if (d.agents.defaultAgentId().empty()) return std::nullopt;
    return d.agents.defaultAgentId();
  }
  return d.agents.roster().find(rest);
}

json::array modelList(const OpenAiDeps& d) {
  json::array data;
  auto add = [&](std::string id) {
    data.push_back(
        json::object{{"id", id}, {"object", "model"}, {"created", d.info.startedAtMs / 1000}, {"owned_by", "talon"}});
  };
  if (!d.agents.defaultAgentId().empty()) {
    add("talon");
    add("talon/default");
    add("openclaw");
    add("openclaw/default");
  }
  for (const auto& id : d.agents.roster().agentIds()) {
    add("talon/" + id);
    add("openclaw/" + id);
  }
  return data;
}

/// The text of a message's `content`: a string, or an array of parts whose text parts are joined.
/// Errors for other part types (images are not supported yet).
Result<std::string> contentText(const json::value& content) {
  if (content.is_string()) return std::string(content.get_string());
  if (content.is_null()) return std::string();
  if (!content.is_array())
    return fail(ErrorCode::kInvalidArgument, "content must be a string or an array",
                "message content must be a string or an array of parts");
  std::string out;
  for (const auto& part : content.get_array()) {
    if (!part.is_object())
      return fail(ErrorCode::kInvalidArgument, "bad content part", "message content parts must be objects");
    auto type = getString(part.get_object(), "type");
    if (type != "text") {
      return fail(notSupportedYet("content part type \"" + std::string(type.value_or("")) + "\""));
    }
    if (!out.empty()) out += "\n";
    out += getString(part.get_object(), "text").value_or("");
  }
  return out;
}

/// RFC 3986 percent-decoding of a path segment ("openclaw%2Fmain" → "openclaw/main"); a malformed
/// escape is kept as written.
std::string percentDecode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string sseData(const json::value& v) { return "data: " + json::serialize(v) + "\n\n"; }

void handleChatCompletions(const OpenAiDeps& d, const net::HttpExchangePtr& ex) {
  const auto& req = ex->request();
  security::Principal principal;
  if (auto refusal = checkAuth(d, req, protocol::Scope::kWrite, &principal)) return ex->respond(std::move(*refusal));
  auto body = parseJson(req.body);
  if (!body || !body->is_object()) {
    return ex->respond(openAiErrorResponse(badRequest("request body must be a JSON object")));
  }
  const auto& o = body->get_object();
  auto model = getString(o, "model");
  if (!model) return ex->respond(openAiErrorResponse(badRequest("you must provide a model parameter")));
  auto agentId = agentForModel(d, *model);
  if (!agentId) {
    std::string msg = "The model `" + std::string(*model) + "` does not exist";
    return ex->respond(openAiErrorResponse(Error(ErrorCode::kNotFound, msg, msg), "model_not_found"));
  }
  if (principal.operatorToken && !security::roleAllowsAgent(principal.operatorToken->agents, *agentId)) {
    security::AuditEvent e;
    e.kind = "access.agent";
    e.actor = "operator-token:" + principal.operatorToken->name;
    e.target = *agentId;
    e.outcome = security::AuditOutcome::kDenied;
    e.details = {{"tokenRole", principal.operatorToken->role}, {"via", "POST /v1/chat/completions"}};
    d.audit.record(std::move(e));
    std::string msg = "role \"" + principal.operatorToken->role + "\" may not run agent \"" + *agentId + "\"";
    return ex->respond(openAiErrorResponse(Error(ErrorCode::kPermissionDenied, msg, msg)));
  }
  const auto* messages = getArray(o, "messages");
  if (!messages || messages->empty()) {
    return ex->respond(openAiErrorResponse(badRequest("messages must be a non-empty array")));
  }
  for (std::string_view key : {"tools", "functions", "n", "response_format"}) {
    if (o.contains(key) && !o.at(key).is_null()) {
      return ex->respond(openAiErrorResponse(notSupportedYet("parameter `" + std::string(key) + "`")));
    }
  }
  // The last message must be the user's; the ones before it are the conversation so far.
  std::vector<ChatMessage> context;
  std::string userText;
  for (std::size_t i = 0; i < messages->size(); ++i) {
    const auto& m = (*messages)[i];
    if (!m.is_object()) return ex->respond(openAiErrorResponse(badRequest("each message must be an object")));
    auto role = getString(m.get_object(), "role").value_or("");
    auto text = contentText(m.get_object().contains("content") ? m.get_object().at("content") : json::value(nullptr));
    if (!text) return ex->respond(openAiErrorResponse(badRequest(text.error().publicMessage())));
    // Each message, the history's included, is bounded: the gateway holds them all for the turn.
    if (auto s = checkMessageSize(*text, d.maxMessageBytes); !s) return ex->respond(openAiErrorResponse(s.error()));
    bool last = i + 1 == messages->size();
    if (last) {
      if (role != "user") {
        return ex->respond(openAiErrorResponse(badRequest("the last message must have role `user`")));
      }
      userText = std::move(*text);
    } else if (role == "system" || role == "developer") {
      context.push_back(ChatMessage{"system", std::move(*text), {}, {}});
    } else if (role == "user" || role == "assistant") {
      context.push_back(ChatMessage{std::string(role), std::move(*text), {}, {}});
    } else {
      return ex->respond(openAiErrorResponse(notSupportedYet("messages with role `" + std::string(role) + "`")));
    }
  }
  bool stream = getBool(o, "stream").value_or(false);
  bool includeUsage = false;
  if (const auto* so = getObject(o, "stream_options")) includeUsage = getBool(*so, "include_usage").value_or(false);

  TurnRequest turn;
  turn.runId = newUuid();
  turn.agentId = *agentId;
  auto user = getString(o, "user");
  turn.sessionKey = user && !user->empty() ? "agent:" + *agentId + ":openai-user:" + routing::trimLower(*user)
                                           : "agent:" + *agentId + ":openai:" + turn.runId;
  turn.message = userText;
  turn.channel = "openai-http";
  turn.trace = acceptHttpTraceparent(d.traces, req.header("traceparent"));
  turn.contextOverride = std::move(context);
  std::string completionId = "chatcmpl-" + turn.runId;
  int64_t created = d.clock->nowMs() / 1000;
  std::string modelName(*model);

  if (!stream) {
    turn.onDone = [ex, completionId, created, modelName](const TurnOutcome& out) {
      if (out.error) return ex->respond(openAiErrorResponse(*out.error));
      json::object usage{{"prompt_tokens", out.usage.inputTokens},
                         {"completion_tokens", out.usage.outputTokens},
                         {"total_tokens", out.usage.inputTokens + out.usage.outputTokens}};
      ex->respond(okJson(json::object{
          {"id", completionId},
          {"object", "chat.completion"},
          {"created", created},
          {"model", modelName},
          {"choices", json::array{json::object{{"index", 0},
                                               {"message", json::object{{"role", "assistant"}, {"content", out.text}}},
                                               {"finish_reason", out.stopReason == "length" ? "length" : "stop"}}}},
          {"usage", usage}}));
    };
    auto submitted = d.runner.submit(std::move(turn));
    if (!submitted) ex->respond(openAiErrorResponse(submitted.error()));
    return;
  }

  auto sse = ex->startStream(200, "text/event-stream", {{"Cache-Control", "no-cache"}, {"Connection", "keep-alive"}});
  auto chunk = [completionId, created, modelName](json::object delta, json::value finish) {
    return json::object{
        {"id", completionId},
        {"object", "chat.completion.chunk"},
        {"created", created},
        {"model", modelName},
        {"choices",
         json::array{json::object{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", std::move(finish)}}}}};
  };
  sse->write(sseData(chunk(json::object{{"role", "assistant"}, {"content", ""}}, nullptr)));
  turn.onDelta = [sse, chunk](std::string_view piece) {
    sse->write(sseData(chunk(json::object{{"content", piece}}, nullptr)));
  };
  turn.onDone = [sse, chunk, includeUsage, completionId, created, modelName](const TurnOutcome& out) {
    if (out.error) {
      sse->write(sseData(json::object{{"error", json::object{{"message", out.error->publicMessage()},
                                                             {"type", openAiErrorType(out.error->code)},
                                                             {"param", nullptr},
                                                             {"code", nullptr}}}}));
    } else {
      sse->write(sseData(chunk(json::object{}, out.stopReason == "length" ? "length" : "stop")));
      if (includeUsage) {
        sse->write(sseData(
            json::object{{"id", completionId},
                         {"object", "chat.completion.chunk"},
                         {"created", created},
                         {"model", modelName},
                         {"choices", json::array{}},
                         {"usage", json::object{{"prompt_tokens", out.usage.inputTokens},
                                                {"completion_tokens", out.usage.outputTokens},
                                                {"total_tokens", out.usage.inputTokens + out.usage.outputTokens}}}}));
      }
    }
    sse->write("data: [DONE]\n\n");
    sse->end();
  };
  auto onDone = turn.onDone;
  auto submitted = d.runner.submit(std::move(turn));
  if (!submitted) {
    TurnOutcome failed;
    failed.error = submitted.error();
    onDone(failed);
  }
}

void handleModels(const OpenAiDeps& d, const net::HttpExchangePtr& ex) {
  const auto& req = ex->request();
  if (auto refusal = checkAuth(d, req, protocol::Scope::kRead)) return ex->respond(std::move(*refusal));
  auto list = modelList(d);
  if (req.path == "/v1/models") return ex->respond(okJson(json::object{{"object", "list"}, {"data", list}}));
  auto id = percentDecode(std::string_view(req.path).substr(std::string_view("/v1/models/").size()));
  for (const auto& m : list) {
    if (m.as_object().at("id").as_string() == id) return ex->respond(okJson(m));
  }
  std::string msg = "The model `" + id + "` does not exist";
  ex->respond(openAiErrorResponse(Error(ErrorCode::kNotFound, msg, msg), "model_not_found"));
}

}  // namespace

Status registerOpenAiRoutes(net::HttpRouter& router, const GatewayServices& services) {
  // Disabled: the paths stay unrouted, so they answer 404 like any unknown path (as OpenClaw does).
  if (!services.config->config.gateway.chatCompletionsEnabled) return {};
  const OpenAiDeps d{services.info,
                     services.agents,
                     services.auth,
                     services.audit,
                     services.runner,
                     services.clock,
                     services.config->config.gateway.limits.maxMessageBytes,
                     services.traces};
  if (auto s = router.add({{"POST"},
                           "/v1/chat/completions",
                           net::PathMatch::kExact,
                           [d](const net::HttpExchangePtr& ex) { handleChatCompletions(d, ex); }});
      !s) {
    return s;
  }
  if (auto s = router.add({{"GET"},
                           "/v1/models",
                           net::PathMatch::kExact,
                           [d](const net::HttpExchangePtr& ex) { handleModels(d, ex); }});
      !s) {
    return s;
  }
  return router.add(
      {{"GET"}, "/v1/models/", net::PathMatch::kPrefix, [d](const net::HttpExchangePtr& ex) { handleModels(d, ex); }});
}

}  // namespace talon::gateway::http
