// The hooks ingress (OpenClaw docs/gateway/config-hooks.md "Hook HTTP contract"; request handling as
// OpenClaw 2026.9.6 dist/hooks-*.mjs createHooksRequestHandler): `POST <hooks.path>/agent` and
// `POST <hooks.path>/<mapping sub-path>` start an agent turn on channel "webhook"; `POST .../wake` is
// answered "not supported yet" (Talon has no heartbeat). Authentication: the hook token
// (`Authorization: Bearer` or `X-OpenClaw-Token`; a `token` query parameter is refused with 400) or a
// Talon signature (`hooks.signing`, security/webhook_signature.h). Failed authentication is audited
// ("hooks.auth") and throttled as OpenClaw throttles it (20 failures per 60 s per client, then 429 with
// Retry-After; loopback not exempt). Served when `hooks.enabled` is true.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/hash.h"
#include "base/ids.h"
#include "base/json.h"
#include "base/text.h"
#include "gateway/health/metrics_registry.h"
#include "gateway/http/builtin_routes.h"
#include "gateway/http/hook_template.h"
#include "gateway/routing/id_normalization.h"
#include "gateway/routing/session_key.h"
#include "gateway/run_registry.h"
#include "gateway/trace_intake.h"
#include "net/http_router.h"
#include "security/audit_sink.h"
#include "security/auth_rate_limiter.h"
#include "security/secret.h"
#include "security/webhook_signature.h"
#include "store/store.h"

namespace talon::gateway::http {
namespace {

/// The hooks endpoints' counters.
constexpr health::MetricSpec kHookMetrics[] = {
    {"talon_hooks_requests_total",
     health::MetricType::kCounter,
     "Requests to the hooks endpoints, by result (accepted, unauthorized, rate_limited, bad_request, "
     "not_found, too_large, unsupported, failed, replayed).",
     {"result"}},
};

/// OpenClaw's hook auth limiter (HOOK_AUTH_FAILURE_LIMIT 20, HOOK_AUTH_FAILURE_WINDOW_MS 60 s as both
/// window and lockout, exemptLoopback false).
config::AuthRateLimitConfig hookRateLimit() {
  config::AuthRateLimitConfig c;
  c.maxAttempts = 20;
  c.windowMs = 60'000;
  c.lockoutMs = 60'000;
  c.exemptLoopback = false;
  return c;
}

/// OpenClaw's early answers are plain text.
net::HttpResponse textResponse(int status, std::string body) {
  net::HttpResponse r;
  r.status = status;
  r.contentType = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

net::HttpResponse jsonBody(int status, const json::object& body) {
  return net::jsonResponse(status, json::serialize(body));
}

net::HttpResponse hookError(int status, std::string_view error) {
  return jsonBody(status, json::object{{"ok", false}, {"error", error}});
}

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

/// A string member, trimmed; nullopt when absent or not a string.
std::optional<std::string> trimmedString(const json::object& o, std::string_view key) {
  auto v = getString(o, key);
  if (!v) return std::nullopt;
  return trimWhitespace(*v);
}

/// Where a session key came from (OpenClaw resolveHookSessionKey `source`).
enum class KeySource { kRequest, kMappingStatic, kMappingTemplated };

/// OpenClaw's resolveHookIdempotencyKey: the `Idempotency-Key` header, else `X-OpenClaw-Idempotency-Key`,
/// else the payload's `idempotencyKey`; each trimmed, and taken only when non-empty and at most 256
/// characters. "" when none is.
std::string hookIdempotencyKey(const net::HttpRequest& req, const json::object& payload) {
  for (std::string_view h : {"idempotency-key", "x-openclaw-idempotency-key"}) {
    std::string key = trimWhitespace(req.header(h));
    if (!key.empty() && key.size() <= 256) return key;
  }
  if (const auto* k = payload.if_contains("idempotencyKey"); k && k->is_string()) {
    std::string key = trimWhitespace(k->get_string());
    if (!key.empty() && key.size() <= 256) return key;
  }
  return {};
}

/// The outcome of a hook run that never started (the replay lookup or the runner refused it).
TurnOutcome failedHookOutcome(std::string runId, std::string sessionKey, std::string agentId, Error error) {
  TurnOutcome o;
  o.runId = std::move(runId);
  o.sessionKey = std::move(sessionKey);
  o.agentId = std::move(agentId);
  o.error = std::move(error);
  return o;
}

/// One agent run a request asks for, before policy.
struct AgentAction {
  std::string message;
  std::string name = "Hook";
  std::string agentId;  // raw, may be empty
  bool agentFromRequest = false;
  std::string sessionKey;  // the logical hook key, may be empty
  KeySource keySource = KeySource::kRequest;
  std::string sessionMode = "isolated";
  std::optional<int64_t> timeoutSeconds;
  std::string idempotencyKey;
  bool waitForCompletion = false;
  std::string sourcePath;
  std::string mappingId;
  std::string authMethod;  // "token" | "signature"
};

class HooksIngress : public std::enable_shared_from_this<HooksIngress> {
 public:
  HooksIngress(config::HooksConfig cfg, const AgentDirectory& agents, AgentRunner& runner, security::AuditSink& audit,
               ClockPtr clock, health::MetricFamily& requests, const TraceIntake* traces, store::Store& store,
               Executors executors)
      : cfg_(std::move(cfg)),
        agents_(agents),
        runner_(runner),
        audit_(audit),
        clock_(clock),
        token_(cfg_.token),
        limiter_(hookRateLimit(), clock),
        requests_(requests),
        traces_(traces),
        store_(store),
        executors_(std::move(executors)) {
    if (!cfg_.signing.secret.empty()) {
      verifier_ = std::make_unique<security::WebhookVerifier>(security::Secret(cfg_.signing.secret),
                                                              cfg_.signing.toleranceSeconds, clock);
    }
    for (const auto& m : cfg_.mappings) {
      keyTemplated_.push_back(hasHookTemplate(trimWhitespace(m.sessionKey)));
    }
  }

  const std::string& basePath() const { return cfg_.path; }

  void handle(const net::HttpExchangePtr& ex) {
    const auto& req = ex->request();
    auto query = parseQuery(req.query);
    if (query.count("token") != 0) {
      count("bad_request");
      return ex->respond(textResponse(400,
                                      "Hook token must be provided via Authorization: Bearer <token> or "
                                      "X-OpenClaw-Token header (query parameters are not allowed)."));
    }
    if (req.method != "POST") {
      count("bad_request");
      auto r = textResponse(405, "Method Not Allowed");
      r.headers.emplace_back("Allow", "POST");
      return ex->respond(std::move(r));
    }
    std::string authMethod;
    if (auto refusal = authenticate(req, authMethod)) return ex->respond(std::move(*refusal));

    std::string_view rest = std::string_view(req.path).substr(cfg_.path.size());
    while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
    std::string subPath(rest);
    if (subPath.empty()) {
      count("not_found");
      return ex->respond(textResponse(404, "Not Found"));
    }
    if (static_cast<int64_t>(req.body.size()) > cfg_.maxBodyBytes) {
      count("too_large");
      return ex->respond(hookError(413, "payload too large"));
    }
    json::object payload;
    if (!trimWhitespace(req.body).empty()) {
      auto parsed = parseJson(req.body);
      if (!parsed) {
        count("bad_request");
        return ex->respond(hookError(400, "invalid JSON body"));
      }
      if (parsed->is_object()) payload = std::move(parsed->get_object());
    }

    if (subPath == "wake") {
      count("unsupported");
      return ex->respond(hookError(httpStatus(ErrorCode::kUnsupported),
                                   "POST " + cfg_.path + "/wake is not supported by Talon yet (no heartbeat)"));
    }
    if (subPath == "agent") return handleAgent(ex, payload, authMethod);
    handleMapping(ex, req, payload, subPath, std::move(query), authMethod);
  }

 private:
  void count(std::string_view result) {
    if (auto c = requests_.counter({result})) c->inc();
  }

  void auditAuth(const net::HttpRequest& req, security::AuditOutcome outcome, std::string_view reason,
                 std::string_view method) {
    security::AuditEvent e;
    e.kind = "hooks.auth";
    e.actor = "client:" + req.remoteAddress;
    e.target = req.path;
    e.outcome = outcome;
    e.details["reason"] = reason;
    e.details["clientAddress"] = req.remoteAddress;
    if (!method.empty()) e.details["method"] = method;
    audit_.record(std::move(e));
  }

  /// Nullopt when the request authenticates (`method` says how); else the response to send.
  std::optional<net::HttpResponse> authenticate(const net::HttpRequest& req, std::string& method) {
    std::string reason;
    std::string_view ts = req.header(security::kWebhookTimestampHeader);
    std::string_view sig = req.header(security::kWebhookSignatureHeader);
    bool signaturePresented = !ts.empty() || !sig.empty();
    if (verifier_ && (cfg_.signing.required || signaturePresented)) {
      auto check = verifier_->verify(ts, sig, req.body);
      if (check == security::SignatureCheck::kValid) {
        method = "signature";
      } else {
        reason = "signature_" + std::string(security::signatureCheckName(check));
      }
    } else {
      // OpenClaw extractHookToken: a nonempty Bearer token first, then X-OpenClaw-Token.
      std::string token;
      std::string auth = trimWhitespace(req.header("authorization"));
      if (lowerAscii(auth).rfind("bearer ", 0) == 0) token = trimWhitespace(std::string_view(auth).substr(7));
      if (token.empty()) token = trimWhitespace(req.header("x-openclaw-token"));
      if (token.empty()) {
        reason = "token_missing";
      } else if (!token_.equals(token)) {
        reason = "token_mismatch";
      } else {
        method = "token";
      }
    }
    if (reason.empty()) {
      limiter_.reset(req.remoteAddress);
      return std::nullopt;
    }
    // As OpenClaw: the limiter is asked only after a failed check, so the right credentials still pass
    // during a lockout; a failure while locked out answers 429.
    auto decision = limiter_.check(req.remoteAddress, req.remoteIsLoopback);
    if (!decision.allowed) {
      count("rate_limited");
      auditAuth(req, security::AuditOutcome::kDenied, "rate_limited", "");
      int64_t seconds = decision.retryAfterMs > 0 ? (decision.retryAfterMs + 999) / 1000 : 1;
      spdlog::warn("hook auth throttled for {}; retry-after={}s", req.remoteAddress, seconds);
      auto r = textResponse(429, "Too Many Requests");
      r.headers.emplace_back("Retry-After", std::to_string(seconds));
      return r;
    }
    limiter_.recordFailure(req.remoteAddress, req.remoteIsLoopback);
    count("unauthorized");
    auditAuth(req, security::AuditOutcome::kDenied, reason, "");
    spdlog::info("hook request {} from {} refused: {}", req.path, req.remoteAddress, reason);
    return textResponse(401, "Unauthorized");
  }

  void handleAgent(const net::HttpExchangePtr& ex, const json::object& payload, const std::string& authMethod) {
    auto bad = [&](std::string_view error) {
      count("bad_request");
      ex->respond(hookError(400, error));
    };
    AgentAction a;
    a.authMethod = authMethod;
    a.sourcePath = cfg_.path + "/agent";
    if (payload.contains("waitForCompletion")) {
      if (!payload.at("waitForCompletion").is_bool()) return bad("waitForCompletion must be boolean");
      a.waitForCompletion = payload.at("waitForCompletion").get_bool();
    }
    a.message = trimmedString(payload, "message").value_or("");
    if (a.message.empty()) return bad("message required");
    if (auto n = trimmedString(payload, "name"); n && !n->empty()) a.name = *n;
    if (payload.contains("agentId")) {
      auto id = trimmedString(payload, "agentId");
      if (!id || id->empty()) return bad("agentId must be a non-empty string");
      a.agentId = *id;
      a.agentFromRequest = true;
    }
    a.idempotencyKey = hookIdempotencyKey(ex->request(), payload);
    a.sessionKey = trimmedString(payload, "sessionKey").value_or("");
    if (payload.contains("sessionMode")) {
      auto mode = getString(payload, "sessionMode");
      if (!mode || (*mode != "isolated" && *mode != "persistent")) {
        return bad("sessionMode must be isolated or persistent");
      }
      a.sessionMode = std::string(*mode);
    }
    // What Talon cannot honour yet is refused, not ignored.
    if (auto wake = getString(payload, "wakeMode"); wake && *wake == "next-heartbeat") {
      count("unsupported");
      return ex->respond(hookError(400, "wakeMode \"next-heartbeat\" is not supported by Talon yet"));
    }
    bool deliver =
        !(payload.contains("deliver") && payload.at("deliver").is_bool() && !payload.at("deliver").get_bool());
    if (deliver) {
      for (std::string_view key : {"channel", "to", "accountId"}) {
        if (payload.contains(key)) {
          count("unsupported");
          return ex->respond(
              hookError(400, "hook delivery to a channel (" + std::string(key) + ") is not supported by Talon yet"));
        }
      }
    }
    for (std::string_view key : {"model", "thinking"}) {
      if (payload.contains(key)) {
        count("unsupported");
        return ex->respond(hookError(400, "hook " + std::string(key) + " overrides are not supported by Talon yet"));
      }
    }
    if (const auto* t = payload.if_contains("timeoutSeconds"); t && t->is_number()) {
      double seconds = t->to_number<double>();
      if (seconds >= 1) a.timeoutSeconds = static_cast<int64_t>(seconds);  // OpenClaw: floored; invalid ignored
    }
    dispatch(ex, std::move(a));
  }

  void handleMapping(const net::HttpExchangePtr& ex, const net::HttpRequest& req, json::object payload,
                     const std::string& subPath, std::map<std::string, std::string> query,
                     const std::string& authMethod) {
    std::string normalizedPath = subPath;
    while (!normalizedPath.empty() && normalizedPath.back() == '/') normalizedPath.pop_back();
    const config::HookMappingConfig* mapping = nullptr;
    bool templated = false;
    for (std::size_t i = 0; i < cfg_.mappings.size(); ++i) {
      const auto& m = cfg_.mappings[i];
      if (!m.matchPath.empty() && m.matchPath != normalizedPath) continue;
      if (!m.matchSource.empty()) {
        auto source = getString(payload, "source");
        if (!source || *source != m.matchSource) continue;
      }
      mapping = &m;
      templated = keyTemplated_[i];
      break;
    }
    if (mapping == nullptr) {
      count("not_found");
      return ex->respond(textResponse(404, "Not Found"));
    }
    HookTemplateContext ctx;
    ctx.payload = std::move(payload);
    for (const auto& [name, value] : req.headers) {
      auto& slot = ctx.headers[lowerAscii(name)];
      slot = slot.empty() ? value : slot + ", " + value;
    }
    ctx.query = std::move(query);
    ctx.path = subPath;
    ctx.now = isoTimestamp(clock_->nowMs());

    AgentAction a;
    a.authMethod = authMethod;
    a.sourcePath = cfg_.path + "/" + subPath;
    a.mappingId = mapping->id;
    a.message = renderHookTemplate(mapping->messageTemplate, ctx);
    if (auto name = trimWhitespace(renderHookTemplate(mapping->name, ctx)); !name.empty()) a.name = name;
    a.agentId = mapping->agentId;
    a.sessionKey = trimWhitespace(renderHookTemplate(mapping->sessionKey, ctx));
    a.keySource = templated ? KeySource::kMappingTemplated : KeySource::kMappingStatic;
    a.sessionMode = mapping->sessionMode;
    a.timeoutSeconds = mapping->timeoutSeconds;
    a.idempotencyKey = hookIdempotencyKey(req, ctx.payload.get_object());
    // OpenClaw validateAction.
    if (templated && a.sessionKey.empty()) {
      count("bad_request");
      return ex->respond(hookError(400, "hook mapping sessionKey template rendered empty"));
    }
    if (trimWhitespace(a.message).empty()) {
      count("bad_request");
      return ex->respond(hookError(400, "hook mapping requires message"));
    }
    dispatch(ex, std::move(a));
  }

  void auditDispatch(const AgentAction& a, security::AuditOutcome outcome, std::string_view reason,
                     const std::string& agentId, const std::string& sessionKey, const std::string& runId) {
    security::AuditEvent e;
    e.kind = "hooks.dispatch";
    e.actor = "hook:" + a.sourcePath;
    e.target = agentId;
    e.outcome = outcome;
    e.details["auth"] = a.authMethod;
    if (!reason.empty()) e.details["reason"] = reason;
    if (!a.mappingId.empty()) e.details["mappingId"] = a.mappingId;
    if (!sessionKey.empty()) e.details["sessionKey"] = sessionKey;
    if (!runId.empty()) e.details["runId"] = runId;
    audit_.record(std::move(e));
  }

  bool prefixAllows(std::string_view key) const {
    std::string k = lowerAscii(trimWhitespace(key));
    if (k.empty()) return false;
    return std::any_of(cfg_.allowedSessionKeyPrefixes.begin(), cfg_.allowedSessionKeyPrefixes.end(),
                       [&](const std::string& p) { return k.rfind(p, 0) == 0; });
  }

  std::string prefixError() const {
    std::string list;
    for (const auto& p : cfg_.allowedSessionKeyPrefixes) list += (list.empty() ? "" : ", ") + p;
    return "sessionKey must start with one of: " + list;
  }

  /// Agent and session policy (OpenClaw resolveEffectiveHookTargetAgentId, isHookAgentAllowed,
  /// resolveHookSessionKey, normalizeHookDispatchSessionKey), then the turn.
  void dispatch(const net::HttpExchangePtr& ex, AgentAction a) {
    auto refuse = [&](std::string_view error, std::string_view reason, const std::string& agentId = {}) {
      count("bad_request");
      auditDispatch(a, security::AuditOutcome::kDenied, reason, agentId, {}, {});
      ex->respond(hookError(400, error));
    };
    const bool restricted = !cfg_.allowedSessionKeyPrefixes.empty();
    std::optional<std::string> selected;
    if (!a.agentId.empty()) {
      selected = agents_.roster().find(a.agentId);
      if (!selected && a.agentFromRequest) {
        return refuse("unknown agentId \"" + routing::normalizeAgentId(a.agentId) + "\"", "unknown_agent");
      }
    }
    std::string agentId = selected ? *selected : agents_.defaultAgentId();
    if (agentId.empty()) {
      return refuse("agentId is required when multiple agents are configured", "agent_required");
    }
    if (cfg_.allowedAgentIds &&
        std::find(cfg_.allowedAgentIds->begin(), cfg_.allowedAgentIds->end(), agentId) == cfg_.allowedAgentIds->end()) {
      return refuse("agentId is not allowed by hooks.allowedAgentIds", "agent_not_allowed", agentId);
    }
    const bool persistent = a.sessionMode == "persistent";
    if (persistent && a.sessionKey.empty()) {
      if (a.keySource == KeySource::kRequest) {
        return refuse("sessionKey is required when sessionMode is persistent", "session_key_required", agentId);
      }
      if (cfg_.defaultSessionKey.empty()) {
        return refuse("sessionKey or hooks.defaultSessionKey is required when mapped hook sessionMode is persistent",
                      "session_key_required", agentId);
      }
    }
    std::string hookKey;
    if (!a.sessionKey.empty()) {
      if (a.keySource != KeySource::kMappingStatic && !cfg_.allowRequestSessionKey) {
        return refuse(
            "sessionKey is disabled for externally supplied hook payload values; set "
            "hooks.allowRequestSessionKey=true to enable",
            "session_key_disabled", agentId);
      }
      if (restricted && !prefixAllows(a.sessionKey)) return refuse(prefixError(), "session_key_prefix", agentId);
      hookKey = a.sessionKey;
    } else if (!cfg_.defaultSessionKey.empty()) {
      hookKey = cfg_.defaultSessionKey;
    } else {
      hookKey = "hook:" + newUuid();
      if (restricted && !prefixAllows(hookKey)) return refuse(prefixError(), "session_key_prefix", agentId);
    }
    if (persistent && a.keySource == KeySource::kRequest && !restricted) {
      return refuse("hooks.allowedSessionKeyPrefixes is required when direct hook sessionMode is persistent",
                    "session_key_prefix", agentId);
    }
    // An agent-scoped key is re-scoped to the target agent, then checked again.
    std::string dispatchKey = hookKey;
    if (auto parsed = routing::parseAgentSessionKey(hookKey)) dispatchKey = "agent:" + agentId + ":" + parsed->rest;
    if (restricted && !prefixAllows(dispatchKey)) return refuse(prefixError(), "session_key_prefix", agentId);

    TurnRequest turn;
    turn.runId = newUuid();
    turn.agentId = agentId;
    std::string base = routing::normalizeSessionKey(dispatchKey);
    if (!routing::parseAgentSessionKey(base)) base = "agent:" + agentId + ":" + base;
    // Isolated (OpenClaw's default): a fresh session per run under the logical key, as OpenClaw's
    // isolated cron runs use `<agentSessionKey>:run:<id>`; persistent: the logical key's session.
    turn.sessionKey = persistent ? base : base + ":run:" + turn.runId;
    turn.message = a.message;
    turn.channel = "webhook";
    turn.trace = acceptHttpTraceparent(traces_, ex->request().header("traceparent"));
    if (a.timeoutSeconds) turn.timeout = std::chrono::seconds(*a.timeoutSeconds);
    if (a.idempotencyKey.empty()) return submit(ex, std::move(a), std::move(turn));

    // OpenClaw's hook replay (dispatchAgentHookWithReplay): the same idempotencyKey for the same hook
    // and the same request answers the first dispatch instead of starting another run. The run keeps
    // the replay key as its idempotency key, so a retry after a restart is answered from the run ledger
    // until the key's TTL (gateway.idempotency.ttlSeconds) releases it.
    turn.idempotencyKey = hookReplayKey(a, agentId, hookKey);
    TrackedRun tracked{turn.runId, turn.sessionKey, agentId, false, {}};
    if (auto existing = replays_.claim(turn.idempotencyKey, tracked))
      return replay(ex, a, turn.idempotencyKey, *existing);
    executors_.blocking([self = shared_from_this(), this, ex, a = std::move(a), turn = std::move(turn)]() mutable {
      auto previous = store_.idempotency().findRun(turn.idempotencyKey);
      if (!previous) {
        replays_.forget(turn.idempotencyKey,
                        failedHookOutcome(turn.runId, turn.sessionKey, turn.agentId, previous.error()));
        count("failed");
        spdlog::warn("hook {}: the replay lookup failed: {}", a.sourcePath, previous.error().toString());
        return ex->respond(jsonBody(503, json::object{{"ok", false}, {"error", previous.error().publicMessage()}}));
      }
      if (*previous) {
        TrackedRun old{(*previous)->runId, (*previous)->sessionKey, (*previous)->agentId, true,
                       storedRunOutcome(**previous)};
        replays_.complete(turn.idempotencyKey, old.outcome);
        return replay(ex, a, turn.idempotencyKey, old);
      }
      submit(ex, std::move(a), std::move(turn));
    });
  }

  /// "hook:<sha256>" of the request's replay scope: OpenClaw's buildHookReplayCacheKey takes the hook
  /// path, the target agent, the requested (or default) session key, the message and the other run
  /// options, then the idempotency key. (Talon has one hooks token, so the token is not part of it.)
  std::string hookReplayKey(const AgentAction& a, const std::string& agentId, const std::string& hookKey) const {
    json::object scope{{"path", a.sourcePath},
                       {"agentId", agentId},
                       {"sessionKey", a.sessionKey.empty() ? cfg_.defaultSessionKey : a.sessionKey},
                       {"message", a.message},
                       {"name", a.name},
                       {"sessionMode", a.sessionMode},
                       {"timeoutSeconds", a.timeoutSeconds ? json::value(*a.timeoutSeconds) : json::value(nullptr)}};
    return "hook:" + sha256Hex(json::serialize(scope) + "\n" + a.idempotencyKey);
  }

  /// Answers a replayed request as the first one was answered: {ok, runId}, and with waitForCompletion
  /// the run's completion once it has one.
  void replay(const net::HttpExchangePtr& ex, const AgentAction& a, const std::string& key, const TrackedRun& run) {
    count("replayed");
    spdlog::info("hook {} ({}) replayed runId={}", a.name, a.sourcePath, run.runId);
    if (!a.waitForCompletion) return ex->respond(jsonBody(200, json::object{{"ok", true}, {"runId", run.runId}}));
    const std::string runId = run.runId;
    if (!replays_.waitFor(key, [ex, runId](const TurnOutcome& out) { ex->respond(completionBody(runId, out)); })) {
      ex->respond(completionBody(runId, run.outcome));
    }
  }

  static net::HttpResponse completionBody(const std::string& runId, const TurnOutcome& out) {
    json::object completion{{"status", out.error ? "error" : "ok"},
                            {"replyDisposition", out.error || out.text.empty() ? "empty" : "visible"}};
    return jsonBody(200, json::object{{"ok", true}, {"runId", runId}, {"completion", completion}});
  }

  /// Hands `turn` to the runner and answers (at once, or after the run with waitForCompletion).
  void submit(const net::HttpExchangePtr& ex, AgentAction a, TurnRequest turn) {
    const std::string runId = turn.runId;
    const std::string sessionKey = turn.sessionKey;
    const std::string agentId = turn.agentId;
    const std::string key = turn.idempotencyKey;
    spdlog::info("hook {} ({}) runId={} agent={} session={}", a.name, a.sourcePath, runId, agentId, sessionKey);
    const bool wait = a.waitForCompletion;
    turn.onDone = [self = shared_from_this(), this, ex, runId, key, wait](const TurnOutcome& out) {
      if (!key.empty()) replays_.complete(key, out);
      if (wait) ex->respond(completionBody(runId, out));
    };
    auto submitted = runner_.submit(std::move(turn));
    if (!submitted) {
      if (!key.empty()) {
        replays_.forget(key, failedHookOutcome(runId, sessionKey, agentId, submitted.error()));
      }
      count("failed");
      auditDispatch(a, security::AuditOutcome::kFailed, submitted.error().message, agentId, sessionKey, runId);
      spdlog::warn("hook {} runId={} not started: {}", a.sourcePath, runId, submitted.error().toString());
      int status = submitted.error().code == ErrorCode::kUnavailable ? 503 : 502;
      std::string error =
          status == 503 ? submitted.error().publicMessage() : "hook agent run failed before entering the agent runner";
      return ex->respond(jsonBody(status, json::object{{"ok", false}, {"error", error}, {"runId", runId}}));
    }
    count("accepted");
    auditDispatch(a, security::AuditOutcome::kAllowed, {}, agentId, sessionKey, runId);
    if (!wait) ex->respond(jsonBody(200, json::object{{"ok", true}, {"runId", runId}}));
  }

  const config::HooksConfig cfg_;
  const AgentDirectory& agents_;
  AgentRunner& runner_;
  security::AuditSink& audit_;
  ClockPtr clock_;
  const security::Secret token_;
  std::unique_ptr<security::WebhookVerifier> verifier_;
  security::AuthRateLimiter limiter_;
  health::MetricFamily& requests_;
  const TraceIntake* traces_;       // may be null
  std::vector<bool> keyTemplated_;  // by mapping: its sessionKey is a template
  store::Store& store_;
  Executors executors_;
  /// Hook runs by replay key (hookReplayKey), in flight or recently ended; older keys are found in the
  /// run ledger (the run carries its replay key as its idempotency key).
  RunRegistry replays_{1024};
};

}  // namespace

Status registerHooksRoutes(net::HttpRouter& router, const GatewayServices& services) {
  // Disabled: the paths stay unrouted (OpenClaw: "Disabled hooks fall through to the rest of Gateway routing").
  const auto& cfg = services.config->config.hooks;
  if (!cfg.enabled) return {};
  auto families = services.metrics.add(kHookMetrics);
  if (!families) return fail(families.error());
  auto ingress = std::make_shared<HooksIngress>(cfg, services.agents, services.runner, services.audit, services.clock,
                                                *(*families)[0], services.traces, services.store, services.executors);
  auto handler = [ingress](const net::HttpExchangePtr& ex) { ingress->handle(ex); };
  // Every method is routed here: a wrong one answers OpenClaw's 405 text with `Allow: POST`.
  if (auto s = router.add({{}, cfg.path, net::PathMatch::kExact, handler}); !s) return s;
  return router.add({{}, cfg.path + "/", net::PathMatch::kPrefix, handler});
}

}  // namespace talon::gateway::http
