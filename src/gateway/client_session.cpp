#include "gateway/client_session.h"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "base/ids.h"
#include "protocol/constants.h"
#include "protocol/errors.h"
#include "protocol/frames.h"
#include "protocol/handshake.h"
#include "protocol/methods.h"

namespace talon::gateway {
namespace asio = boost::asio;

ClientSession::ClientSession(const ConnectionDeps& deps, asio::io_context& io, net::WebSocketConnectionPtr connection,
                             UpgradeOrigin upgrade)
    : deps_(deps), io_(io), conn_(std::move(connection)), upgrade_(std::move(upgrade)), connId_(newUuid()) {}

ClientSession::~ClientSession() = default;

std::shared_ptr<ClientSession> ClientSession::start(const ConnectionDeps& deps, asio::io_context& io,
                                                    net::WebSocketConnectionPtr connection, UpgradeOrigin upgrade) {
  auto session = std::make_shared<ClientSession>(deps, io, std::move(connection), std::move(upgrade));
  session->conn_->setMaxMessageBytes(protocol::kPreConnectMaxPayloadBytes);
  {
    std::lock_guard lock(session->sendMu_);
    session->conn_->send(protocol::encodeConnectChallenge(session->challengeNonce_, deps.clock->nowMs()));
  }
  auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(protocol::kHandshakeTimeoutMs));
  std::weak_ptr<ClientSession> weak = session;
  timer->async_wait([weak](const boost::system::error_code& ec) {
    if (ec) return;
    auto self = weak.lock();
    if (self && self->state_ == State::kAwaitingConnect) {
      spdlog::info("connection {}: no connect within {} ms; closing", self->conn_->remoteAddress(),
                   protocol::kHandshakeTimeoutMs);
      self->closeWith(protocol::kCloseNormal, "handshake timeout");
    }
  });
  session->handshakeTimer_ = timer;
  deps.state.connections++;
  return session;
}

void ClientSession::closeWith(uint16_t code, std::string reason) {
  state_ = State::kClosed;
  conn_->close(code, protocol::truncateCloseReason(reason));
}

void ClientSession::onMessage(std::string_view text) {
  switch (state_) {
    case State::kAwaitingConnect:
      return handleConnect(text);
    case State::kConnected:
      return handleRequest(text);
    case State::kAuthenticating:  // a frame while the bad-credential answer is pending: dropped
    case State::kClosed:
      return;
  }
}

void ClientSession::handleConnect(std::string_view text) {
  auto frame = parser_.parse(text);
  if (!frame) {
    if (frame.error().kind == protocol::FrameErrorKind::kNotJson) {
      spdlog::info("connection {}: invalid JSON before connect; closing", conn_->remoteAddress());
      return closeWith(protocol::kCloseNormal, "invalid JSON");
    }
    return closeWith(protocol::kClosePolicyViolation, "invalid request frame");
  }
  auto fail = [&](const protocol::HandshakeFailure& f) {
    spdlog::info("connection {}: handshake refused: {}", conn_->remoteAddress(), f.error.message);
    {
      std::lock_guard lock(sendMu_);
      conn_->send(protocol::encodeResponseError(frame->id, f.error));
    }
    closeWith(f.closeCode, f.closeReason);
  };
  auto params = protocol::parseConnectRequest(*frame);
  if (!params) return fail(params.error());
  auto role = protocol::validateConnect(*params);
  if (!role) return fail(role.error());
  // Browser origin (OpenClaw enforceOriginCheckForAnyClient: every client whose upgrade carried an
  // Origin header), before credentials.
  if (!upgrade_.origin.empty()) {
    auto decision = security::checkBrowserOrigin(
        security::BrowserOriginRequest{upgrade_.origin, upgrade_.host, upgrade_.isLocalClient}, deps_.originPolicy);
    if (!decision.allowed || decision.matchedBy == security::OriginMatch::kHostHeaderFallback) {
      security::AuditEvent e;
      e.kind = "auth.origin";
      e.actor = "client:" + params->client.id;
      e.target = upgrade_.origin;
      e.outcome = decision.allowed ? security::AuditOutcome::kAllowed : security::AuditOutcome::kDenied;
      e.details = {
          {"reason", decision.allowed ? std::string(security::originMatchName(decision.matchedBy)) : decision.reason},
          {"host", upgrade_.host},
          {"remote", conn_->remoteAddress()}};
      deps_.audit.record(std::move(e));
    }
    if (!decision.allowed) {
      spdlog::warn("connection {}: browser origin {} refused (host {}): {}", conn_->remoteAddress(), upgrade_.origin,
                   upgrade_.host, decision.reason);
      auto error = protocol::originNotAllowedError(decision.reason);
      return fail(protocol::HandshakeFailure{error, protocol::kClosePolicyViolation, error.publicMessage()});
    }
    if (decision.matchedBy == security::OriginMatch::kHostHeaderFallback) {
      spdlog::warn(
          "connection {}: browser origin {} accepted by the Host-header fallback "
          "(gateway.controlUi.dangerouslyAllowHostHeaderOriginFallback)",
          conn_->remoteAddress(), upgrade_.origin);
    }
  }

  auto principal =
      deps_.auth.authenticateConnect(*params, *role,
                                     security::PeerOrigin{conn_->remoteIsLoopback(), conn_->remoteAddress(),
                                                          challengeNonce_, upgrade_.peerAddress, upgrade_.headers});
  if (!principal) {
    spdlog::warn("connection {}: connect of client {} refused: {}", conn_->remoteAddress(), params->client.id,
                 principal.error().error.publicMessage());
    auto error = principal.error().error;
    std::string closeReason =
        principal.error().closeReason.empty() ? error.publicMessage() : principal.error().closeReason;
    if (principal.error().delay.count() == 0) {
      {
        std::lock_guard lock(sendMu_);
        conn_->send(protocol::encodeResponseError(frame->id, error));
      }
      return closeWith(protocol::kClosePolicyViolation, closeReason);
    }
    state_ = State::kAuthenticating;
    auto timer = std::make_shared<asio::steady_timer>(io_, principal.error().delay);
    auto self = shared_from_this();
    timer->async_wait([self, timer, id = frame->id, error, closeReason](const boost::system::error_code&) {
      {
        std::lock_guard lock(self->sendMu_);
        self->conn_->send(protocol::encodeResponseError(id, error));
      }
      self->closeWith(protocol::kClosePolicyViolation, closeReason);
    });
    return;
  }
  role_ = principal->role;
  scopes_ = principal->scopes;
  methods::MethodCaller caller{params->client.id, conn_->remoteAddress(), {}, {}, std::nullopt};
  if (principal->operatorToken) {
    caller.operatorToken = principal->operatorToken->name;
    caller.operatorRole = principal->operatorToken->role;
    caller.agents = principal->operatorToken->agents;
  }
  caller_ = std::make_shared<const methods::MethodCaller>(std::move(caller));

  protocol::HelloSnapshot snapshot;
  auto health = parseJson(*deps_.health.get());
  if (health && health->is_object()) snapshot.health = std::move(health->get_object());
  snapshot.uptimeMs = deps_.clock->nowMs() - deps_.info.startedAtMs;
  snapshot.stateVersion = protocol::StateVersion{1, 1};
  snapshot.extra = json::object{{"configPath", deps_.config->path}, {"stateDir", deps_.info.stateDir.string()}};
  // SnapshotSchema.authMode is the gateway's mode (none|token|password|trusted-proxy): a connect by
  // device token does not tell it.
  // (Nor does a named operator token, which also answers method "token".)
  if (!principal->operatorToken && (principal->method == "none" || principal->method == "token" ||
                                    principal->method == "password" || principal->method == "trusted-proxy")) {
    snapshot.extra["authMode"] = principal->method;
  }
  const auto& methods = deps_.methods.names();
  protocol::HelloOkInput in;
  in.serverVersion = deps_.info.version;
  in.connId = connId_;
  in.methods = methods;
  in.events = protocol::kTalonEvents;
  in.capabilities = protocol::kTalonServerCapabilities;
  in.snapshot = &snapshot;
  in.auth.role = protocol::roleName(role_);
  in.auth.scopes = principal->grantedScopes;
  in.auth.method = principal->method;
  in.auth.deviceToken = principal->issuedDeviceToken;
  auto hello = protocol::encodeHelloOk(in);
  if (!hello) {
    spdlog::error("cannot encode hello-ok: {}", hello.error().toString());
    return closeWith(1011, "internal error");
  }
  {
    std::lock_guard lock(sendMu_);
    conn_->send(protocol::encodeResponseOk(frame->id, *hello));
  }
  state_ = State::kConnected;
  if (handshakeTimer_) {
    static_cast<asio::steady_timer*>(handshakeTimer_.get())->cancel();
    handshakeTimer_.reset();
  }
  conn_->setMaxMessageBytes(static_cast<std::size_t>(protocol::kMaxPayloadBytes));
  // The limit hello-ok advertises as policy.maxBufferedBytes is the one the connection enforces.
  conn_->setMaxBufferedBytes(static_cast<std::size_t>(protocol::kMaxBufferedBytes));
  {
    deps_.presence.set(
        conn_->id(),
        PresenceEntry{params->client.instanceId.value_or(""), params->client.displayName.value_or(params->client.id),
                      conn_->remoteAddress(), params->client.version, params->client.platform,
                      params->client.deviceFamily.value_or(""),
                      std::string(protocol::clientModeName(params->client.mode)), "connect", deps_.clock->nowMs()});
  }
  std::weak_ptr<ClientSession> weak = shared_from_this();
  // Revoking the credential this connection used closes it (PresenceRegistry::disconnect*).
  deps_.presence.setAuth(conn_->id(),
                         ConnectionAuth{principal->deviceId, std::string(protocol::roleName(role_)),
                                        principal->operatorToken ? principal->operatorToken->name : std::string()},
                         [weak](uint16_t code, std::string reason) {
                           if (auto self = weak.lock()) {
                             spdlog::info("connection {}: closing: {}", self->conn_->id(), reason);
                             self->closeWith(code, std::move(reason));
                           }
                         });
  const uint64_t subscription = deps_.bus.subscribe([weak](const GatewayEvent& e) {
    if (auto self = weak.lock()) self->onEvent(e);
  });
  busSubscription_.store(subscription, std::memory_order_release);
  spdlog::debug("connection {} ({}): connected as {}/{}", conn_->id(), conn_->remoteAddress(), params->client.id,
                protocol::clientModeName(params->client.mode));
}

void ClientSession::handleRequest(std::string_view text) {
  const auto started = deps_.rpcMetrics ? deps_.rpcMetrics->now() : std::chrono::steady_clock::time_point{};
  auto frame = parser_.parse(text);
  if (!frame) {
    if (frame.error().kind == protocol::FrameErrorKind::kNotJson) {
      // OpenClaw drops such a frame silently; Talon answers it, so a client never waits for nothing.
      spdlog::info("connection {}: a frame that is not JSON: {}", conn_->id(), frame.error().error.message);
      return respondError(
          protocol::kInvalidFrameResponseId,
          protocol::invalidRequestFrameError("frame is not valid JSON (" + frame.error().error.message + ")"),
          std::nullopt);
    }
    return respondError(frame.error().id.value_or(std::string(protocol::kInvalidFrameResponseId)), frame.error().error,
                        std::nullopt);
  }
  if (std::string_view(frame->method) == std::string_view("connect")) {
    return respondError(frame->id, Error(ErrorCode::kInvalidArgument, "connect after handshake", "already connected"),
                        std::nullopt);
  }
  if (frame->traceparent && deps_.traces && !protocol::parseTraceparent(*frame->traceparent)) {
    deps_.traces->countInvalid(TraceSource::kRpc);  // ignored, never an error (W3C Trace Context §3.2)
  }
  const auto* method = deps_.methods.find(frame->method);
  auto allowed = method != nullptr ? protocol::authorizeFound(method->spec, frame->method, scopes_, role_, true)
                                   : protocol::authorize(frame->method, scopes_, role_, false);
  if (!allowed) {
    if (deps_.rpcMetrics) deps_.rpcMetrics->denied(method);
    return respondError(frame->id, allowed.error(), std::nullopt);
  }
  methods::RpcResponderPtr reply = shared_from_this();
  if (deps_.rpcMetrics) {
    reply = deps_.rpcMetrics->track(deps_.rpcMetrics->series(method), std::move(reply), started);
  }
  methods::MethodRegistry::dispatch(*method, std::move(*frame), std::move(reply), caller_);
}

void ClientSession::onEvent(const GatewayEvent& e) {
  if (state_ != State::kConnected) return;
  sendEvent(e.name, *e.payloadJson);
}

void ClientSession::sendEvent(std::string_view name, std::string_view payloadJson) {
  std::lock_guard lock(sendMu_);
  conn_->send(protocol::encodeEvent(name, payloadJson, ++seq_));
}

// Responses carry no seq: they are encoded and queued without sendMu_ (the connection's queue keeps
// the order of send() calls).
void ClientSession::respondOk(std::string_view id, std::string_view payloadJson) {
  conn_->send(protocol::encodeResponseOk(id, payloadJson));
}

void ClientSession::respondError(std::string_view id, const Error& error, std::optional<std::string_view> payloadJson) {
  if (error.code == ErrorCode::kInternal || error.code == ErrorCode::kIo) {
    spdlog::error("request {} failed: {}", id, error.toString());
  }
  conn_->send(payloadJson ? protocol::encodeResponseError(id, error, *payloadJson)
                          : protocol::encodeResponseError(id, error));
}

void ClientSession::subscribeSession(const std::string& sessionKey) {
  if (const auto id = busSubscription_.load(std::memory_order_acquire)) deps_.bus.joinSession(id, sessionKey);
}

void ClientSession::onClose(uint16_t code) {
  state_ = State::kClosed;
  if (const auto id = busSubscription_.exchange(0, std::memory_order_acq_rel)) deps_.bus.unsubscribe(id);
  if (handshakeTimer_) {
    static_cast<asio::steady_timer*>(handshakeTimer_.get())->cancel();
    handshakeTimer_.reset();
  }
  deps_.presence.remove(conn_->id());
  deps_.state.connections--;
}

}  // namespace talon::gateway
