#include "gateway/client_session.h"

#include <openssl/crypto.h>
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

namespace {
/// OpenClaw answers a bad credential after about 270 ms (reference/openclaw-protocol.md §1), which
/// slows down guessing; Talon waits the same.
constexpr auto kAuthFailureDelay = std::chrono::milliseconds(270);

bool secretEquals(std::string_view offered, std::string_view expected) {
  if (offered.size() != expected.size()) return false;
  return CRYPTO_memcmp(offered.data(), expected.data(), expected.size()) == 0;
}
}  // namespace

ClientSession::ClientSession(GatewayContext& ctx, asio::io_context& io, net::WebSocketConnectionPtr connection)
    : ctx_(ctx), io_(io), conn_(std::move(connection)), connId_(newUuid()) {}

ClientSession::~ClientSession() = default;

std::shared_ptr<ClientSession> ClientSession::start(GatewayContext& ctx, asio::io_context& io,
                                                    net::WebSocketConnectionPtr connection) {
  auto session = std::make_shared<ClientSession>(ctx, io, std::move(connection));
  session->conn_->setMaxMessageBytes(protocol::kPreConnectMaxPayloadBytes);
  {
    std::lock_guard lock(session->sendMu_);
    session->conn_->send(protocol::encodeConnectChallenge(newUuid(), ctx.clock->nowMs()));
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
  ctx.connections++;
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
  auto frame = protocol::parseRequestFrame(text);
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

  // Shared-secret check (gateway.auth.mode token | password | none).
  std::optional<protocol::AuthFailure> authFailure;
  if (ctx_.authMode == "token") {
    if (!params->auth.token) {
      authFailure = protocol::AuthFailure::kTokenMissing;
    } else if (!secretEquals(*params->auth.token, ctx_.sharedSecret)) {
      authFailure = protocol::AuthFailure::kTokenMismatch;
    }
  } else if (ctx_.authMode == "password") {
    if (!params->auth.password) {
      authFailure = protocol::AuthFailure::kPasswordMissing;
    } else if (!secretEquals(*params->auth.password, ctx_.sharedSecret)) {
      authFailure = protocol::AuthFailure::kPasswordMismatch;
    }
  }
  if (authFailure) {
    spdlog::warn("connection {}: bad credentials from client {}", conn_->remoteAddress(), params->client.id);
    auto error =
        protocol::authFailureError(*authFailure, params->client.id, params->client.mode, conn_->remoteIsLoopback());
    state_ = State::kAuthenticating;
    auto timer = std::make_shared<asio::steady_timer>(io_, kAuthFailureDelay);
    auto self = shared_from_this();
    timer->async_wait([self, timer, id = frame->id, error](const boost::system::error_code&) {
      {
        std::lock_guard lock(self->sendMu_);
        self->conn_->send(protocol::encodeResponseError(id, error));
      }
      self->closeWith(protocol::kClosePolicyViolation, error.publicMessage());
    });
    return;
  }

  role_ = *role;
  protocol::ScopeGrantInput grant;
  grant.isLoopback = conn_->remoteIsLoopback();
  grant.sharedSecretAuth = ctx_.authMode != "none";
  grant.clientId = params->client.id;
  grant.clientMode = params->client.mode;
  grant.requested = params->scopes;
  // With auth mode "none" (loopback only) the requested scopes are granted as with the shared secret.
  if (ctx_.authMode == "none") grant.sharedSecretAuth = true;
  auto granted = protocol::grantScopes(grant);
  scopes_ = protocol::ScopeSet::fromNames(granted);

  protocol::HelloSnapshot snapshot;
  auto health = parseJson(*ctx_.health.get());
  if (health && health->is_object()) snapshot.health = std::move(health->get_object());
  snapshot.uptimeMs = ctx_.clock->nowMs() - ctx_.startedAtMs;
  snapshot.stateVersion = protocol::StateVersion{1, 1};
  snapshot.extra = json::object{
      {"configPath", ctx_.config->path}, {"stateDir", ctx_.stateDir.string()}, {"authMode", ctx_.authMode}};
  static const auto methods = protocol::implementedMethodNames();
  protocol::HelloOkInput in;
  in.serverVersion = ctx_.version;
  in.connId = connId_;
  in.methods = methods;
  in.events = protocol::kTalonEvents;
  in.capabilities = protocol::kTalonServerCapabilities;
  in.snapshot = &snapshot;
  in.auth.role = protocol::roleName(role_);
  in.auth.scopes = granted;
  in.auth.method = ctx_.authMode;
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
  {
    std::lock_guard lock(ctx_.presenceMu);
    ctx_.presence[conn_->id()] = PresenceEntry{params->client.instanceId.value_or(""),
                                               params->client.displayName.value_or(params->client.id),
                                               conn_->remoteAddress(),
                                               params->client.version,
                                               params->client.platform,
                                               params->client.deviceFamily.value_or(""),
                                               std::string(protocol::clientModeName(params->client.mode)),
                                               "connect",
                                               ctx_.clock->nowMs()};
  }
  std::weak_ptr<ClientSession> weak = shared_from_this();
  busSubscription_ = ctx_.bus->subscribe([weak](const GatewayEvent& e) {
    if (auto self = weak.lock()) self->onEvent(e);
  });
  spdlog::debug("connection {} ({}): connected as {}/{}", conn_->id(), conn_->remoteAddress(), params->client.id,
                protocol::clientModeName(params->client.mode));
}

void ClientSession::handleRequest(std::string_view text) {
  auto frame = protocol::parseRequestFrame(text);
  if (!frame) {
    if (frame.error().kind == protocol::FrameErrorKind::kNotJson) {
      spdlog::info("connection {}: dropped a frame that is not JSON: {}", conn_->id(), frame.error().error.message);
      return;
    }
    return respondError(frame.error().id.value_or(std::string(protocol::kInvalidFrameResponseId)), frame.error().error,
                        std::nullopt);
  }
  if (frame->method == "connect") {
    return respondError(frame->id, Error(ErrorCode::kInvalidArgument, "connect after handshake", "already connected"),
                        std::nullopt);
  }
  auto allowed = protocol::authorize(frame->method, scopes_, role_);
  if (!allowed) return respondError(frame->id, allowed.error(), std::nullopt);
  dispatchRpc(ctx_, std::move(*frame), shared_from_this());
}

void ClientSession::onEvent(const GatewayEvent& e) {
  if (state_ != State::kConnected) return;
  if (!e.sessionKey.empty()) {
    std::lock_guard lock(subsMu_);
    if (!sessions_.count(e.sessionKey)) return;
  }
  sendEvent(e.name, *e.payloadJson);
}

void ClientSession::sendEvent(std::string_view name, std::string_view payloadJson) {
  std::lock_guard lock(sendMu_);
  conn_->send(protocol::encodeEvent(name, payloadJson, ++seq_));
}

void ClientSession::respondOk(std::string_view id, std::string_view payloadJson) {
  std::lock_guard lock(sendMu_);
  conn_->send(protocol::encodeResponseOk(id, payloadJson));
}

void ClientSession::respondError(std::string_view id, const Error& error, std::optional<std::string_view> payloadJson) {
  if (error.code == ErrorCode::kInternal || error.code == ErrorCode::kIo) {
    spdlog::error("request {} failed: {}", id, error.toString());
  }
  std::lock_guard lock(sendMu_);
  conn_->send(payloadJson ? protocol::encodeResponseError(id, error, *payloadJson)
                          : protocol::encodeResponseError(id, error));
}

void ClientSession::subscribeSession(const std::string& sessionKey) {
  std::lock_guard lock(subsMu_);
  sessions_.insert(sessionKey);
}

void ClientSession::onClose(uint16_t code) {
  state_ = State::kClosed;
  if (busSubscription_) ctx_.bus->unsubscribe(busSubscription_);
  busSubscription_ = 0;
  if (handshakeTimer_) {
    static_cast<asio::steady_timer*>(handshakeTimer_.get())->cancel();
    handshakeTimer_.reset();
  }
  {
    std::lock_guard lock(ctx_.presenceMu);
    ctx_.presence.erase(conn_->id());
  }
  ctx_.connections--;
}

}  // namespace talon::gateway
