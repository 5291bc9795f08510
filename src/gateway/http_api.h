#pragma once
// The gateway's HTTP surface on the WebSocket port: probes (/health, /healthz, /readyz, /startupz) and
// the OpenAI-compatible API (POST /v1/chat/completions, GET /v1/models, GET /v1/models/{id}) when
// `gateway.http.endpoints.chatCompletions.enabled` is true (OpenClaw docs/gateway/openai-http-api.md;
// reference/openclaw-protocol.md "HTTP endpoints").
//
// Thread rules: handleHttp runs on an I/O thread and never blocks; chat completions answer from the
// turn's callbacks.
#include "gateway/gateway_context.h"
#include "net/server.h"

namespace talon::gateway {

/// Answers one HTTP request.
void handleHttp(GatewayContext& ctx, const net::HttpExchangePtr& exchange);

}  // namespace talon::gateway
