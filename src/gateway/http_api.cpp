#include "gateway/http_api.h"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include "base/ids.h"
#include "base/json.h"
#include "gateway/routing/id_normalization.h"

namespace talon::gateway {
namespace {

net::HttpResponse jsonResponse(int status, const json::value& body) {
  net::HttpResponse r;
  r.status = status;
  r.body = json::serialize(body);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

/// OpenAI's error body: {"error": {"message", "type", "param", "code"}}.
json::object openAiError(std::string_view message, std::string_view type, json::value code = nullptr) {
  return json::object{
      {"error", json::object{{"message", message}, {"type", type}, {"param", nullptr}, {"code", code}}}};
}

net::HttpResponse openAiErrorResponse(const Error& e) {
  return jsonResponse(httpStatus(e.code), openAiError(e.publicMessage(), openAiErrorType(e.code)));
}

bool bearerOk(const GatewayContext& ctx, const net::HttpRequest& req) {
  if (ctx.authMode == "none") return true;
  auto h = req.header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (h.size() <= kBearer.size() || h.substr(0, kBearer.size()) != kBearer) return false;
  auto token = h.substr(kBearer.size());
  return token.size() == ctx.sharedSecret.size() &&
         CRYPTO_memcmp(token.data(), ctx.sharedSecret.data(), token.size()) == 0;
}

/// Model ids Talon serves: "talon" and "openclaw" (the default agent), "<prefix>/default", and
/// "<prefix>/<agentId>" for prefix talon or openclaw (OpenClaw's model ids are `openclaw/<agentId>`).
std::optional<std::string> agentForModel(const GatewayContext& ctx, std::string_view model) {
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
    if (ctx.defaultAgentId.empty()) return std::nullopt;
    return ctx.defaultAgentId;
  }
  return ctx.roster.find(rest);
}

json::array modelList(const GatewayContext& ctx) {
  json::array data;
  auto add = [&](std::string id) {
    data.push_back(
        json::object{{"id", id}, {"object", "model"}, {"created", ctx.startedAtMs / 1000}, {"owned_by", "talon"}});
  };
  if (!ctx.defaultAgentId.empty()) {
    add("talon");
    add("talon/default");
    add("openclaw");
    add("openclaw/default");
  }
  for (const auto& id : ctx.roster.agentIds()) {
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
      std::string msg = "content part type \"" + std::string(type.value_or("")) + "\" is not supported by Talon yet";
      return fail(ErrorCode::kInvalidArgument, msg, msg);
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

void handleChatCompletions(GatewayContext& ctx, const net::HttpExchangePtr& ex) {
  const auto& req = ex->request();
  if (req.method != "POST") {
    return ex->respond(jsonResponse(405, openAiError("Method Not Allowed", "invalid_request_error")));
  }
  if (!bearerOk(ctx, req))
    return ex->respond(jsonResponse(
        401, json::object{{"error", json::object{{"message", "Unauthorized"}, {"type", "unauthorized"}}}}));
  auto body = parseJson(req.body);
  if (!body || !body->is_object()) {
    return ex->respond(jsonResponse(400, openAiError("request body must be a JSON object", "invalid_request_error")));
  }
  const auto& o = body->get_object();
  auto model = getString(o, "model");
  if (!model)
    return ex->respond(jsonResponse(400, openAiError("you must provide a model parameter", "invalid_request_error")));
  auto agentId = agentForModel(ctx, *model);
  if (!agentId) {
    return ex->respond(jsonResponse(404, openAiError("The model `" + std::string(*model) + "` does not exist",
                                                     "invalid_request_error", "model_not_found")));
  }
  const auto* messages = getArray(o, "messages");
  if (!messages || messages->empty()) {
    return ex->respond(jsonResponse(400, openAiError("messages must be a non-empty array", "invalid_request_error")));
  }
  for (std::string_view key : {"tools", "functions", "n", "response_format"}) {
    if (o.contains(key) && !o.at(key).is_null()) {
      std::string msg = "parameter `" + std::string(key) + "` is not supported by Talon yet";
      return ex->respond(jsonResponse(400, openAiError(msg, "invalid_request_error")));
    }
  }
  // The last message must be the user's; the ones before it are the conversation so far.
  std::vector<ChatMessage> context;
  std::string userText;
  for (std::size_t i = 0; i < messages->size(); ++i) {
    const auto& m = (*messages)[i];
    if (!m.is_object())
      return ex->respond(jsonResponse(400, openAiError("each message must be an object", "invalid_request_error")));
    auto role = getString(m.get_object(), "role").value_or("");
    auto text = contentText(m.get_object().contains("content") ? m.get_object().at("content") : json::value(nullptr));
    if (!text)
      return ex->respond(jsonResponse(400, openAiError(text.error().publicMessage(), "invalid_request_error")));
    bool last = i + 1 == messages->size();
    if (last) {
      if (role != "user") {
        return ex->respond(
            jsonResponse(400, openAiError("the last message must have role `user`", "invalid_request_error")));
      }
      userText = std::move(*text);
    } else if (role == "system" || role == "developer") {
      context.push_back(ChatMessage{"system", std::move(*text), {}, {}});
    } else if (role == "user" || role == "assistant") {
      context.push_back(ChatMessage{std::string(role), std::move(*text), {}, {}});
    } else {
      std::string msg = "messages with role `" + std::string(role) + "` are not supported by Talon yet";
      return ex->respond(jsonResponse(400, openAiError(msg, "invalid_request_error")));
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
  turn.contextOverride = std::move(context);
  std::string completionId = "chatcmpl-" + turn.runId;
  int64_t created = ctx.clock->nowMs() / 1000;
  std::string modelName(*model);

  if (!stream) {
    turn.onDone = [ex, completionId, created, modelName](const TurnOutcome& out) {
      if (out.error) return ex->respond(openAiErrorResponse(*out.error));
      json::object usage{{"prompt_tokens", out.usage.inputTokens},
                         {"completion_tokens", out.usage.outputTokens},
                         {"total_tokens", out.usage.inputTokens + out.usage.outputTokens}};
      ex->respond(jsonResponse(
          200, json::object{{"id", completionId},
                            {"object", "chat.completion"},
                            {"created", created},
                            {"model", modelName},
                            {"choices", json::array{json::object{
                                            {"index", 0},
                                            {"message", json::object{{"role", "assistant"}, {"content", out.text}}},
                                            {"finish_reason", out.stopReason == "length" ? "length" : "stop"}}}},
                            {"usage", usage}}));
    };
    auto submitted = ctx.runner->submit(std::move(turn));
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
  auto submitted = ctx.runner->submit(std::move(turn));
  if (!submitted) {
    TurnOutcome failed;
    failed.error = submitted.error();
    onDone(failed);
  }
}

}  // namespace

void handleHttp(GatewayContext& ctx, const net::HttpExchangePtr& ex) {
  const auto& req = ex->request();
  const auto& path = req.path;
  auto uptime = ctx.clock->nowMs() - ctx.startedAtMs;
  if (path == "/health" || path == "/healthz") {
    return ex->respond(jsonResponse(200, json::object{{"ok", true}, {"status", "live"}}));
  }
  if (path == "/startup" || path == "/startupz") {
    bool started = ctx.started.load();
    return ex->respond(jsonResponse(started ? 200 : 503, json::object{{"ok", started},
                                                                      {"status", started ? "started" : "starting"},
                                                                      {"version", ctx.version},
                                                                      {"uptimeMs", uptime}}));
  }
  if (path == "/ready" || path == "/readyz") {
    json::array failing;
    if (!ctx.started.load()) failing.push_back("startup");
    auto health = parseJson(*ctx.health.get());
    if (!health || !health->is_object() || !getBool(health->get_object(), "ok").value_or(false))
      failing.push_back("store");
    bool ready = failing.empty();
    return ex->respond(
        jsonResponse(ready ? 200 : 503, json::object{{"ready", ready}, {"failing", failing}, {"uptimeMs", uptime}}));
  }
  bool openAi = path == "/v1/chat/completions" || path == "/v1/models" || path.rfind("/v1/models/", 0) == 0;
  if (openAi) {
    if (!ctx.config->config.gateway.chatCompletionsEnabled) {
      return ex->respond(
          jsonResponse(404, json::object{{"error", json::object{{"message", "Not Found"}, {"type", "not_found"}}}}));
    }
    if (path == "/v1/chat/completions") return handleChatCompletions(ctx, ex);
    if (!bearerOk(ctx, req)) {
      return ex->respond(jsonResponse(
          401, json::object{{"error", json::object{{"message", "Unauthorized"}, {"type", "unauthorized"}}}}));
    }
    auto list = modelList(ctx);
    if (path == "/v1/models") return ex->respond(jsonResponse(200, json::object{{"object", "list"}, {"data", list}}));
    auto id = percentDecode(std::string_view(path).substr(std::string_view("/v1/models/").size()));
    for (const auto& m : list) {
      if (m.as_object().at("id").as_string() == id) return ex->respond(jsonResponse(200, m));
    }
    return ex->respond(jsonResponse(
        404, openAiError("The model `" + id + "` does not exist", "invalid_request_error", "model_not_found")));
  }
  ex->respond(
      jsonResponse(404, json::object{{"error", json::object{{"message", "Not Found"}, {"type", "not_found"}}}}));
}

}  // namespace talon::gateway
