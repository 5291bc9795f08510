#include "cli/gateway_client.h"

#include <unistd.h>

#include "base/ids.h"

#ifndef TALON_VERSION
#define TALON_VERSION "0.1.0"
#endif

namespace talon::cli {

Error errorFromWire(const json::object& error) {
  std::string code(getString(error, "code").value_or("UNKNOWN"));
  std::string message(getString(error, "message").value_or("request failed"));
  ErrorCode c = ErrorCode::kInternal;
  const json::object* details = getObject(error, "details");
  std::string detailCode = details ? std::string(getString(*details, "code").value_or("")) : "";
  if (detailCode.rfind("AUTH_", 0) == 0) {
    c = ErrorCode::kUnauthenticated;
  } else if (code == "INVALID_REQUEST") {
    c = ErrorCode::kInvalidArgument;
  } else if (code == "FORBIDDEN") {
    c = ErrorCode::kPermissionDenied;
  } else if (code == "UNAVAILABLE") {
    c = ErrorCode::kUnavailable;
  } else if (code == "NOT_FOUND") {
    c = ErrorCode::kNotFound;
  } else if (code == "AGENT_SELECTION_REQUIRED") {
    c = ErrorCode::kAgentSelectionRequired;
  } else if (code == "TIMEOUT") {
    c = ErrorCode::kDeadlineExceeded;
  } else if (code == "RATE_LIMITED") {
    c = ErrorCode::kResourceExhausted;
  } else if (code == "UPSTREAM_ERROR") {
    c = ErrorCode::kUpstream;
  }
  Error e(c, code + ": " + message, message);
  if (details) e.details = *details;
  return e;
}

Result<std::unique_ptr<GatewayClient>> GatewayClient::connect(const ClientOptions& options) {
  auto ws = net::WsClient::connect(options.url, options.timeout);
  if (!ws) {
    auto e = ws.error();
    if (e.code == ErrorCode::kUnavailable) {
      e.externalMessage = "cannot reach a gateway at " + options.url +
                          " (is it running? start one with `talon gateway run`, or pass --url)";
    }
    return fail(std::move(e));
  }
  std::unique_ptr<GatewayClient> client(new GatewayClient(std::move(*ws), options));
  auto deadline = std::chrono::steady_clock::now() + options.timeout;
  auto challenge = client->receiveFrame(deadline);
  if (!challenge) return fail(challenge.error());
  if (getString(*challenge, "event") != "connect.challenge") {
    return fail(ErrorCode::kUpstream, "expected connect.challenge", "the server did not send connect.challenge");
  }
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  json::object auth;
  if (!options.token.empty()) auth[options.usePassword ? "password" : "token"] = options.token;
  json::array scopes;
  for (const auto& s : options.scopes) scopes.push_back(json::string(s));
  json::object params{{"minProtocol", 4},
                      {"maxProtocol", 4},
                      {"client", json::object{{"id", "cli"},
                                              {"version", TALON_VERSION},
                                              {"platform", "linux"},
                                              {"deviceFamily", "Linux"},
                                              {"mode", "cli"},
                                              {"displayName", std::string("talon@") + host},
                                              {"instanceId", newUuid()}}},
                      {"caps", json::array{}},
                      {"auth", auth},
                      {"role", "operator"},
                      {"scopes", scopes}};
  auto hello = client->call("connect", params, false, options.timeout);
  if (!hello) {
    auto e = hello.error();
    if (auto code = client->ws_->closeCode(); code && e.code == ErrorCode::kUnavailable) {
      e.externalMessage =
          "the gateway closed the connection (" + std::to_string(*code) + " " + client->ws_->closeReason() + ")";
    }
    return fail(std::move(e));
  }
  if (!hello->is_object()) return fail(ErrorCode::kUpstream, "hello-ok is not an object", "malformed hello-ok");
  client->hello_ = hello->get_object();
  return client;
}

Result<json::object> GatewayClient::receiveFrame(std::chrono::steady_clock::time_point deadline) {
  auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (remaining.count() <= 0)
    return fail(ErrorCode::kDeadlineExceeded, "timed out waiting for the gateway", "timed out waiting for the gateway");
  auto text = ws_->receive(remaining);
  if (!text) {
    auto e = text.error();
    if (auto code = ws_->closeCode()) {
      e.externalMessage = "the gateway closed the connection (" + std::to_string(*code) +
                          (ws_->closeReason().empty() ? "" : " " + ws_->closeReason()) + ")";
    }
    return fail(std::move(e));
  }
  auto v = parseJson(*text);
  if (!v || !v->is_object())
    return fail(ErrorCode::kUpstream, "non-JSON frame from the gateway", "malformed frame from the gateway");
  return std::move(v->get_object());
}

Result<json::value> GatewayClient::call(const std::string& method, const json::value& params, bool expectFinal,
                                        std::optional<std::chrono::milliseconds> timeout) {
  std::string id = std::to_string(nextId_++) + ":" + newUuid();
  json::object req{{"type", "req"}, {"id", id}, {"method", method}};
  if (!params.is_null()) req["params"] = params;
  if (auto s = ws_->send(json::serialize(req)); !s) return fail(s.error());
  auto deadline = std::chrono::steady_clock::now() + timeout.value_or(options_.timeout);
  for (;;) {
    auto frame = receiveFrame(deadline);
    if (!frame) return fail(frame.error());
    auto type = getString(*frame, "type");
    if (type == "event") {
      events_.push_back(std::move(*frame));
      continue;
    }
    if (type != "res" || getString(*frame, "id") != id) continue;
    if (!getBool(*frame, "ok").value_or(false)) {
      const auto* err = getObject(*frame, "error");
      return fail(err ? errorFromWire(*err)
                      : Error(ErrorCode::kUpstream, "error response without error", "request failed"));
    }
    json::value payload = frame->contains("payload") ? frame->at("payload") : json::value(nullptr);
    if (expectFinal && payload.is_object() && getString(payload.get_object(), "status") == "accepted") continue;
    return payload;
  }
}

Result<json::object> GatewayClient::nextEvent(std::chrono::milliseconds timeout) {
  if (!events_.empty()) {
    auto e = std::move(events_.front());
    events_.erase(events_.begin());
    return e;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto frame = receiveFrame(deadline);
    if (!frame) return fail(frame.error());
    if (getString(*frame, "type") == "event") return std::move(*frame);
  }
}

void GatewayClient::close() { ws_->close(); }

}  // namespace talon::cli
