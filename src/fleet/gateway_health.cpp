#include "fleet/gateway_health.h"

#include <algorithm>

#include "base/ids.h"
#include "net/ws_client.h"

namespace talon::fleet {

namespace {

/// "${VAR}" → VAR; nullopt for anything else.
std::optional<std::string> healthEnvReference(std::string_view s) {
  if (s.size() < 4 || !s.starts_with("${") || !s.ends_with("}")) return std::nullopt;
  return std::string(s.substr(2, s.size() - 3));
}

Result<json::object> healthReceive(net::WsClient& ws, std::chrono::steady_clock::time_point deadline) {
  auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (remaining.count() <= 0) return fail(ErrorCode::kDeadlineExceeded, "timed out waiting for the gateway");
  auto text = ws.receive(remaining);
  if (!text) {
    Error e = text.error();
    if (auto code = ws.closeCode())
      e.message = "the gateway closed the connection (" + std::to_string(*code) + " " + ws.closeReason() + ")";
    return fail(std::move(e));
  }
  auto v = parseJson(*text);
  if (!v || !v->is_object()) return fail(ErrorCode::kUpstream, "a frame from the gateway is not a JSON object");
  return std::move(v->as_object());
}

/// Sends request `method` and returns its response's payload (events meanwhile are skipped).
Result<json::value> healthRequest(net::WsClient& ws, const std::string& method, json::object params,
                                  std::chrono::steady_clock::time_point deadline, bool expectFinal = false) {
  std::string id = method + ":" + newUuid();
  json::object req{{"type", "req"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
  if (auto s = ws.send(json::serialize(req)); !s) return fail(s.error());
  for (;;) {
    auto frame = healthReceive(ws, deadline);
    if (!frame) return fail(frame.error());
    if (getString(*frame, "type") != "res" || getString(*frame, "id") != id) continue;
    if (!getBool(*frame, "ok").value_or(false)) {
      const json::object* err = getObject(*frame, "error");
      std::string code = err ? std::string(getString(*err, "code").value_or("")) : "";
      std::string message = err ? std::string(getString(*err, "message").value_or("")) : "";
      ErrorCode c = code == "UNAUTHORIZED" || code == "AUTH_FAILED" ? ErrorCode::kUnauthenticated
                    : code == "FORBIDDEN"                           ? ErrorCode::kPermissionDenied
                                                                    : ErrorCode::kUpstream;
      return fail(c, method + " failed: " + code + (message.empty() ? "" : " " + message));
    }
    const json::value* payload = frame->if_contains("payload");
    if (expectFinal && payload != nullptr && payload->is_object() &&
        getString(payload->as_object(), "status") == "accepted")
      continue;  // the ack; the final response carries the same id
    return payload != nullptr ? *payload : json::value(nullptr);
  }
}

}  // namespace

Result<GatewayCredential> gatewayCredential(const std::string& configText,
                                            const std::function<std::optional<std::string>(const std::string&)>& env) {
  auto parsed = parseJson(configText);
  if (!parsed || !parsed->is_object()) return fail(ErrorCode::kInvalidArgument, "the render is not a JSON object");
  const json::object* gateway = getObject(parsed->as_object(), "gateway");
  const json::object* auth = gateway ? getObject(*gateway, "auth") : nullptr;
  GatewayCredential out;
  if (auth == nullptr) return out;
  std::string mode(getString(*auth, "mode").value_or(auth->contains("password") ? "password" : "token"));
  if (mode != "token" && mode != "password") return out;
  const json::value* ref = auth->if_contains(mode);
  if (ref == nullptr) return out;
  std::optional<std::string> variable;
  if (ref->is_string()) {
    variable = healthEnvReference(ref->as_string());
    if (!variable) return fail(ErrorCode::kFailedPrecondition, "gateway.auth." + mode + " is not a ${VAR} reference");
  } else if (ref->is_object()) {
    auto source = getString(ref->as_object(), "source").value_or("");
    if (source != "env")
      return fail(ErrorCode::kFailedPrecondition,
                  "gateway.auth." + mode + " comes from a \"" + std::string(source) + "\" SecretRef, not read here");
    variable = std::string(getString(ref->as_object(), "id").value_or(""));
  }
  auto value = variable && env ? env(*variable) : std::nullopt;
  if (!value || value->empty())
    return fail(ErrorCode::kFailedPrecondition,
                "gateway.auth." + mode + " references " + variable.value_or("?") + ", which is not set here");
  out.kind = mode;
  out.value = *value;
  return out;
}

Result<GatewayCallsResult> callGatewayMethods(const std::string& host, int port, const GatewayCredential& credential,
                                              const std::string& clientVersion, std::chrono::milliseconds timeout,
                                              std::vector<GatewayRequest> requests, bool write) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string url =
      "ws://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  auto ws = net::WsClient::connect(url, timeout);
  if (!ws) return fail(ws.error());
  auto challenge = healthReceive(**ws, deadline);
  if (!challenge) return fail(challenge.error());
  if (getString(*challenge, "event") != "connect.challenge")
    return fail(ErrorCode::kUpstream, "the gateway did not send connect.challenge first");
  json::object auth;
  if (credential.kind != "none") auth[credential.kind] = credential.value;
  json::object connect{
      {"minProtocol", 4},
      {"maxProtocol", 4},
      {"client", json::object{{"id", "cli"},
                              {"version", clientVersion},
                              {"platform", "linux"},
                              {"mode", "cli"},
                              {"displayName", "talon fleet"},
                              {"instanceId", newUuid()}}},
      {"caps", json::array{}},
      {"auth", std::move(auth)},
      {"role", "operator"},
      {"scopes", write ? json::array{"operator.read", "operator.write"} : json::array{"operator.read"}}};
  auto hello = healthRequest(**ws, "connect", std::move(connect), deadline);
  if (!hello) return fail(hello.error());
  GatewayCallsResult out;
  if (hello->is_object()) {
    if (const json::object* server = getObject(hello->as_object(), "server"))
      out.serverVersion = std::string(getString(*server, "version").value_or(""));
  }
  std::optional<Error> lost;  // the connection is gone: the remaining requests fail with it
  for (auto& r : requests) {
    if (lost) {
      out.payloads.emplace_back(fail(*lost));
      continue;
    }
    auto payload = healthRequest(**ws, r.method, std::move(r.params), deadline, r.expectFinal);
    if (!payload && payload.error().code != ErrorCode::kUpstream &&
        payload.error().code != ErrorCode::kUnauthenticated && payload.error().code != ErrorCode::kPermissionDenied)
      lost = payload.error();
    out.payloads.push_back(std::move(payload));
  }
  (*ws)->close();
  return out;
}

Result<GatewayCallResult> callGatewayMethod(const std::string& host, int port, const GatewayCredential& credential,
                                            const std::string& clientVersion, std::chrono::milliseconds timeout,
                                            const std::string& method, json::object params, bool write,
                                            bool expectFinal) {
  std::vector<GatewayRequest> one;
  one.push_back(GatewayRequest{method, std::move(params), expectFinal});
  auto called = callGatewayMethods(host, port, credential, clientVersion, timeout, std::move(one), write);
  if (!called) return fail(called.error());
  if (!called->payloads.front()) return fail(called->payloads.front().error());
  GatewayCallResult out;
  out.serverVersion = std::move(called->serverVersion);
  out.payload = std::move(*called->payloads.front());
  return out;
}

Result<json::object> callGatewayHealth(const std::string& host, int port, const GatewayCredential& credential,
                                       const std::string& clientVersion, std::chrono::milliseconds timeout,
                                       bool probe) {
  auto health = callGatewayMethod(host, port, credential, clientVersion, timeout, "health",
                                  probe ? json::object{{"probe", true}} : json::object{});
  if (!health) return fail(health.error());
  if (!health->payload.is_object()) return fail(ErrorCode::kUpstream, "the health payload is not an object");
  return std::move(health->payload.as_object());
}

Result<ProbeTurnReply> callGatewayAgentTurn(const std::string& host, int port, const GatewayCredential& credential,
                                            const std::string& clientVersion, std::chrono::milliseconds timeout,
                                            const std::string& message, const std::string& agentId,
                                            const std::string& sessionKey) {
  json::object params{{"message", message},
                      {"sessionKey", sessionKey},
                      {"idempotencyKey", "fleet-probe-" + newUuid()},
                      {"deliver", false},
                      {"timeout", std::max<int64_t>(1, timeout.count() / 1000)}};
  if (!agentId.empty()) params["agentId"] = agentId;
  auto called = callGatewayMethod(host, port, credential, clientVersion, timeout, "agent", std::move(params),
                                  /*write=*/true, /*expectFinal=*/true);
  if (!called) return fail(called.error());
  if (!called->payload.is_object()) return fail(ErrorCode::kUpstream, "the agent payload is not an object");
  ProbeTurnReply out;
  out.payload = std::move(called->payload.as_object());
  out.runId = std::string(getString(out.payload, "runId").value_or(""));
  std::string status(getString(out.payload, "status").value_or(""));
  if (status != "ok") {
    return fail(ErrorCode::kUpstream,
                "the turn ended with status \"" + status + "\"" +
                    (getString(out.payload, "summary") ? ": " + std::string(*getString(out.payload, "summary")) : ""));
  }
  if (const json::object* result = getObject(out.payload, "result")) {
    if (const json::value* payloads = result->if_contains("payloads"); payloads != nullptr && payloads->is_array()) {
      for (const auto& p : payloads->as_array()) {
        if (!p.is_object()) continue;
        if (auto text = getString(p.as_object(), "text"))
          out.text += (out.text.empty() ? "" : "\n") + std::string(*text);
      }
    }
  }
  return out;
}

}  // namespace talon::fleet
