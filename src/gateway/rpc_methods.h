#pragma once
// Handlers of the gateway protocol methods Talon implements (health, status, system-presence,
// agents.list, sessions.list, chat.send, chat.history, agent, config.get, models.list, logs.tail).
// Payload shapes follow the frames captured from OpenClaw 2026.9.6 (tests/data/wire/).
//
// Thread rules: dispatchRpc runs on the calling (I/O) thread and never blocks: SQLite and file reads
// are posted to the blocking pool, and the answer is sent from there through the responder.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "gateway/gateway_context.h"
#include "protocol/frames.h"

namespace talon::gateway {

/// How a handler answers; implemented by the WebSocket connection. Thread-safe.
class RpcResponder {
 public:
  virtual ~RpcResponder() = default;
  /// Sends `res ok:true` with an already-serialized payload.
  virtual void respondOk(std::string_view id, std::string_view payloadJson) = 0;
  /// Sends `res ok:false` with the error (and a payload, e.g. a cached run outcome).
  virtual void respondError(std::string_view id, const Error& error,
                            std::optional<std::string_view> payloadJson = {}) = 0;
  /// Routes the `chat`/`agent` events of a session to this connection from now on.
  virtual void subscribeSession(const std::string& sessionKey) = 0;
};
using RpcResponderPtr = std::shared_ptr<RpcResponder>;

/// Runs the handler of an authorized request (the caller checked scopes with protocol::authorize).
void dispatchRpc(GatewayContext& ctx, protocol::RequestFrame frame, const RpcResponderPtr& responder);

/// Builds the `health` payload (HealthSnapshot shape). Blocking (reads session counts): call on the
/// blocking pool; the result is cached in ctx.health.
std::string buildHealthPayload(GatewayContext& ctx);

/// Parses a client session key and resolves its agent (chat.send, chat.history, agent).
Result<std::pair<std::string, std::string>> resolveClientSession(GatewayContext& ctx, std::string_view sessionKey,
                                                                 std::optional<std::string_view> agentId);

}  // namespace talon::gateway
