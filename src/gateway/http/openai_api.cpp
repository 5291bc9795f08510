// The OpenAI-compatible HTTP API (OpenClaw docs/gateway/openai-http-api.md): POST /v1/chat/completions
// (streamed or not), GET /v1/models and GET /v1/models/{id}, served when
// `gateway.http.endpoints.chatCompletions.enabled` is true.
#include <spdlog/spdlog.h>

#include <mutex>

#include "base/ids.h"
#include "base/json.h"
#include "gateway/http/builtin_routes.h"
#include "gateway/http/openai_chat_tools.h"
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

/// The session token a stateless follow-up's first result names: `call_<token>_<seq>_<n>`, the id
/// handleChatCompletions gave the pending call. Error (400): an id Talon did not give, or a legacy
/// function result (no id) without `user`.
Result<std::string> sessionTokenOfCall(const ClientToolResult& result) {
  const std::string& id = result.toolCallId;
  if (id.empty()) {
    std::string msg = "function result `" + result.name + "` matches no pending tool call of that name";
    return fail(ErrorCode::kInvalidArgument, msg, msg);
  }
  std::string msg = "tool_call_id `" + id + "` matches no pending tool call";
  constexpr std::string_view kPrefix = "call_";
  constexpr std::size_t kTokenChars = 20;  // randomHex(10)
  if (id.rfind(kPrefix, 0) != 0 || id.size() <= kPrefix.size() + kTokenChars ||
      id[kPrefix.size() + kTokenChars] != '_') {
    return fail(ErrorCode::kInvalidArgument, msg, msg);
  }
  std::string token = id.substr(kPrefix.size(), kTokenChars);
  if (token.find_first_not_of("0123456789abcdef") != std::string::npos)
    return fail(ErrorCode::kInvalidArgument, msg, msg);
  return token;
}

/// One streamed chat completion (`text/event-stream`): the role chunk, content deltas, tool-call deltas,
/// the finish chunk, the usage chunk and `[DONE]` in OpenAI's chunk shape. The stream may open late (a
/// follow-up), so a refusal can still be a plain error response. Thread-safe: the run's deltas and its
/// end arrive on I/O threads.
class ChatCompletionStream {
 public:
  ChatCompletionStream(net::HttpExchangePtr ex, std::string id, int64_t created, std::string model)
      : ex_(std::move(ex)), id_(std::move(id)), created_(created), model_(std::move(model)) {}

  /// Sends the response head and the assistant's role chunk (once).
  void open() {
    std::lock_guard lock(mu_);
    openLocked();
  }
  bool opened() const {
    std::lock_guard lock(mu_);
    return sse_ != nullptr;
  }
  /// A piece of the answer's text (opens the stream when needed; an empty piece sends nothing).
  void content(std::string_view piece) {
    if (piece.empty()) return;
    std::lock_guard lock(mu_);
    openLocked();
    writeLocked(chunk(json::object{{"content", piece}}, nullptr));
  }
  /// The end of a run that succeeded: its pending client tool calls as `delta.tool_calls`, the finish
  /// chunk ("tool_calls", "length" or "stop"), the usage chunk when asked for, then [DONE].
  void finish(const TurnOutcome& out, bool includeUsage) {
    std::lock_guard lock(mu_);
    openLocked();
    for (auto& delta : toolCallDeltas(out.pendingToolCalls)) writeLocked(chunk(std::move(delta), nullptr));
    std::string reason = !out.pendingToolCalls.empty() ? "tool_calls" : out.stopReason == "length" ? "length" : "stop";
    writeLocked(chunk(json::object{}, json::string(reason)));
    if (includeUsage) {
      writeLocked(
          json::object{{"id", id_},
                       {"object", "chat.completion.chunk"},
                       {"created", created_},
                       {"model", model_},
                       {"choices", json::array{}},
                       {"usage", json::object{{"prompt_tokens", out.usage.inputTokens},
                                              {"completion_tokens", out.usage.outputTokens},
                                              {"total_tokens", out.usage.inputTokens + out.usage.outputTokens}}}});
    }
    endLocked();
  }
  /// A failure after the stream opened (or before, for a server-side error): `{"error": ...}` then [DONE].
  void fail(json::object error) {
    std::lock_guard lock(mu_);
    openLocked();
    writeLocked(std::move(error));
    endLocked();
  }
  /// A refusal before anything was streamed: a plain error response.
  void refuse(net::HttpResponse response) {
    std::lock_guard lock(mu_);
    if (sse_ != nullptr || ended_) return;
    ended_ = true;
    ex_->respond(std::move(response));
  }

 private:
  json::object chunk(json::object delta, json::value finish) const {
    return json::object{
        {"id", id_},
        {"object", "chat.completion.chunk"},
        {"created", created_},
        {"model", model_},
        {"choices",
         json::array{json::object{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", std::move(finish)}}}}};
  }
  void openLocked() {
    if (sse_ != nullptr || ended_) return;
    sse_ = ex_->startStream(200, "text/event-stream", {{"Cache-Control", "no-cache"}, {"Connection", "keep-alive"}});
    writeLocked(chunk(json::object{{"role", "assistant"}, {"content", ""}}, nullptr));
  }
  void writeLocked(const json::value& v) {
    if (sse_ != nullptr && !ended_) sse_->write(sseData(v));
  }
  void endLocked() {
    if (sse_ == nullptr || ended_) return;
    sse_->write("data: [DONE]\n\n");
    sse_->end();
    ended_ = true;
  }

  mutable std::mutex mu_;
  net::HttpExchangePtr ex_;
  std::string id_;
  int64_t created_;
  std::string model_;
  net::ResponseStreamPtr sse_;
  bool ended_ = false;
};

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
  for (std::string_view key : {"functions", "n", "response_format"}) {
    if (o.contains(key) && !o.at(key).is_null()) {
      return ex->respond(openAiErrorResponse(notSupportedYet("parameter `" + std::string(key) + "`")));
    }
  }
  auto selection = parseChatTools(o);
  if (!selection) return ex->respond(openAiErrorResponse(selection.error()));
  auto conversation = parseChatMessages(*messages, d.maxMessageBytes);
  if (!conversation) return ex->respond(openAiErrorResponse(conversation.error()));
  bool stream = getBool(o, "stream").value_or(false);
  bool includeUsage = false;
  if (const auto* so = getObject(o, "stream_options")) includeUsage = getBool(*so, "include_usage").value_or(false);

  TurnRequest turn;
  turn.runId = newUuid();
  turn.agentId = *agentId;
  // The session: `user` names a stable one; otherwise each request starts its own, named by a token
  // that the ids of its pending client tool calls carry ("call_<token>_<seq>_<n>"), so a follow-up
  // without `user` finds it again from its tool_call_id.
  const bool followUp = !conversation->results.empty();
  auto user = getString(o, "user");
  std::string token = randomHex(10);
  if (user && !user->empty()) {
    turn.sessionKey = "agent:" + *agentId + ":openai-user:" + routing::trimLower(*user);
  } else if (followUp) {
    auto resumed = sessionTokenOfCall(conversation->results.front());
    if (!resumed) return ex->respond(openAiErrorResponse(resumed.error()));
    token = std::move(*resumed);
    turn.sessionKey = "agent:" + *agentId + ":openai:" + token;
  } else {
    turn.sessionKey = "agent:" + *agentId + ":openai:" + token;
  }
  turn.message = std::move(conversation->userText);
  turn.channel = "openai-http";
  turn.trace = acceptHttpTraceparent(d.traces, req.header("traceparent"));
  if (!selection->extraSystemPrompt.empty()) {
    conversation->context.push_back(ChatMessage{"system", selection->extraSystemPrompt, {}, {}});
  }
  turn.contextOverride = std::move(conversation->context);
  if (!selection->tools.empty() || followUp) {
    ClientTools clientTools;
    clientTools.tools = std::move(selection->tools);
    clientTools.results = std::move(conversation->results);
    clientTools.callIdPrefix = "call_" + token + "_";
    turn.clientTools = std::move(clientTools);
  }
  const ChatToolChoice choice = selection->choice;
  const bool constrained =
      choice.kind == ChatToolChoice::Kind::kRequired || choice.kind == ChatToolChoice::Kind::kFunction;
  std::string completionId = "chatcmpl-" + turn.runId;
  int64_t created = d.clock->nowMs() / 1000;
  std::string modelName(*model);

  if (!stream) {
    turn.onDone = [ex, completionId, created, modelName, choice, constrained](const TurnOutcome& out) {
      if (out.error) return ex->respond(openAiErrorResponse(*out.error));
      if (constrained && !toolChoiceSatisfied(choice, out.pendingToolCalls)) {
        return ex->respond(
            net::jsonResponse(502, json::serialize(openAiError(unsatisfiedToolChoiceMessage(choice), "api_error"))));
      }
      json::object usage{{"prompt_tokens", out.usage.inputTokens},
                         {"completion_tokens", out.usage.outputTokens},
                         {"total_tokens", out.usage.inputTokens + out.usage.outputTokens}};
      json::object message{{"role", "assistant"}, {"content", out.text}};
      std::string finish = out.stopReason == "length" ? "length" : "stop";
      if (!out.pendingToolCalls.empty()) {
        message["tool_calls"] = toolCallsMessageJson(out.pendingToolCalls);
        finish = "tool_calls";
      }
      ex->respond(okJson(json::object{
          {"id", completionId},
          {"object", "chat.completion"},
          {"created", created},
          {"model", modelName},
          {"choices",
           json::array{json::object{{"index", 0}, {"message", std::move(message)}, {"finish_reason", finish}}}},
          {"usage", usage}}));
    };
    auto submitted = d.runner.submit(std::move(turn));
    if (!submitted) ex->respond(openAiErrorResponse(submitted.error()));
    return;
  }

  // The stream opens with the assistant's role chunk, at once; a follow-up opens it with the first
  // piece of the answer instead, so results the session refuses (no pending call) still get a 400.
  auto sse = std::make_shared<ChatCompletionStream>(ex, completionId, created, modelName);
  if (!followUp) sse->open();
  // Required / function-pinned choices hold the prose until the matching call is confirmed (OpenClaw).
  if (!constrained) {
    turn.onDelta = [sse](std::string_view piece) { sse->content(piece); };
  }
  turn.onDone = [sse, includeUsage, choice, constrained](const TurnOutcome& out) {
    if (out.error) {
      if (!sse->opened() && out.error->code == ErrorCode::kInvalidArgument) {
        return sse->refuse(openAiErrorResponse(*out.error));
      }
      return sse->fail(openAiError(out.error->publicMessage(), openAiErrorType(out.error->code)));
    }
    if (constrained && !toolChoiceSatisfied(choice, out.pendingToolCalls)) {
      return sse->fail(openAiError(unsatisfiedToolChoiceMessage(choice), "api_error"));
    }
    if (constrained) sse->content(out.text);
    sse->finish(out, includeUsage);
  };
  auto onDone = turn.onDone;
  auto submitted = d.runner.submit(std::move(turn));
  if (!submitted) {
    if (followUp || submitted.error().code == ErrorCode::kInvalidArgument) {
      if (!sse->opened()) return sse->refuse(openAiErrorResponse(submitted.error()));
    }
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
