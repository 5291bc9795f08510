#pragma once
// One operator's WebSocket connection speaking gateway protocol v4: connect.challenge → connect →
// hello-ok, then req/res and events with a per-connection seq (reference/openclaw-protocol.md §1).
//
// Thread rules: the net layer calls onMessage/onClose serially for one connection; responses and events
// may be sent from any thread (send order is preserved under an internal mutex).
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

#include "base/ids.h"
#include "gateway/gateway_services.h"
#include "gateway/methods/method_registry.h"
#include "gateway/methods/rpc_metrics.h"
#include "gateway/trace_intake.h"
#include "net/server.h"
#include "protocol/client_info.h"
#include "protocol/frames.h"
#include "protocol/scopes.h"
#include "security/audit_sink.h"
#include "security/authenticator.h"
#include "security/browser_origin.h"

namespace boost::asio {
class io_context;
}

namespace talon::gateway {

/// What a connection uses. All referenced objects outlive every connection.
struct ConnectionDeps {
  const GatewayInfo& info;
  std::shared_ptr<const ConfigSnapshot> config;
  const methods::MethodRegistry& methods;
  EventBus& bus;
  PresenceRegistry& presence;
  CachedPayload& health;
  const security::Authenticator& auth;
  GatewayState& state;
  ClockPtr clock;
  /// Refused browser origins are recorded here ("auth.origin").
  security::AuditSink& audit;
  /// `gateway.controlUi.allowedOrigins` / `dangerouslyAllowHostHeaderOriginFallback`.
  security::BrowserOriginPolicy originPolicy;
  /// Counts and times every request after the handshake (talon_rpc_*); null: not measured.
  const methods::RpcMetrics* rpcMetrics = nullptr;
  /// Counts malformed request-frame traceparents; null: not counted.
  const TraceIntake* traces = nullptr;
};

/// What the WebSocket upgrade request said about the page that opened the socket (copied: the request
/// does not outlive the upgrade).
struct UpgradeOrigin {
  std::string origin;          // the Origin header; empty when absent (not a browser)
  std::string host;            // the Host header
  bool isLocalClient = false;  // net::HttpRequest::remoteIsLoopback
  std::string peerAddress;     // net::HttpRequest::peerAddress: the socket's peer
  /// The upgrade request's headers, kept for the Authenticator (security::PeerOrigin::headers); empty
  /// unless an Authenticator reads them (trusted-proxy auth).
  net::Headers headers{};
};

class ClientSession final : public net::WebSocketSession,
                            public methods::RpcResponder,
                            public std::enable_shared_from_this<ClientSession> {
 public:
  /// Sends the challenge and arms the handshake timeout. `io` runs the session's timers. A connect from a
  /// browser (`upgrade.origin` set) is refused unless deps.originPolicy allows the origin
  /// (security/browser_origin.h), before its credentials are checked, as OpenClaw does.
  static std::shared_ptr<ClientSession> start(const ConnectionDeps& deps, boost::asio::io_context& io,
                                              net::WebSocketConnectionPtr connection, UpgradeOrigin upgrade = {});
  ~ClientSession() override;

  // net::WebSocketSession
  void onMessage(std::string_view text) override;
  void onClose(uint16_t code) override;

  // RpcResponder
  void respondOk(std::string_view id, std::string_view payloadJson) override;
  void respondError(std::string_view id, const Error& error, std::optional<std::string_view> payloadJson) override;
  void subscribeSession(const std::string& sessionKey) override;

  ClientSession(const ConnectionDeps& deps, boost::asio::io_context& io, net::WebSocketConnectionPtr connection,
                UpgradeOrigin upgrade = {});

 private:
  enum class State { kAwaitingConnect, kAuthenticating, kConnected, kClosed };

  void handleConnect(std::string_view text);
  void handleRequest(std::string_view text);
  void onEvent(const GatewayEvent& event);
  void sendEvent(std::string_view name, std::string_view payloadJson);
  void closeWith(uint16_t code, std::string reason);

  const ConnectionDeps& deps_;
  boost::asio::io_context& io_;
  net::WebSocketConnectionPtr conn_;
  UpgradeOrigin upgrade_;
  std::string connId_;
  std::string challengeNonce_ = newUuid();  // sent in connect.challenge; a device signs it
  std::atomic<State> state_{State::kAwaitingConnect};
  protocol::Role role_ = protocol::Role::kOperator;
  protocol::ScopeSet scopes_;
  std::shared_ptr<const methods::MethodCaller> caller_;  // set at connect
  /// Set at connect, cleared at close; read by subscribeSession from whichever thread a handler answers on
  /// (an id the bus no longer knows is ignored there).
  std::atomic<uint64_t> busSubscription_{0};
  std::shared_ptr<void> handshakeTimer_;  // boost::asio::steady_timer, kept opaque here

  protocol::RequestFrameParser parser_;  // onMessage is serial per connection (net layer)

  std::mutex sendMu_;  // orders seq assignment with the send of events
  uint64_t seq_ = 0;
};

}  // namespace talon::gateway
