#include "security/device_authenticator.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>

#include "../tests/support/recording_audit_sink.h"
#include "base/hash.h"
#include "security/device_identity.h"
#include "security/shared_secret_authenticator.h"
#include "security/trusted_proxy_authenticator.h"
#include "store/sqlite_store.h"

namespace talon::security {
namespace {

namespace fs = std::filesystem;
using protocol::Role;

constexpr std::string_view kDeviceToken = "tok-0123456789abcdef";
constexpr std::string_view kNonce = "challenge-nonce";

struct Device {
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  Device() {
    EXPECT_GE(sodium_init(), 0);
    crypto_sign_keypair(pk, sk);
  }
  std::string publicKey() const { return base64UrlEncode({reinterpret_cast<const char*>(pk), sizeof pk}); }
  std::string id() const { return sha256Hex({reinterpret_cast<const char*>(pk), sizeof pk}); }
  /// A connect of this device, signed over `nonce`, with the shared token or a device token.
  protocol::ConnectParams connect(int64_t now, std::vector<std::string> scopes, std::optional<std::string> token,
                                  std::optional<std::string> deviceToken = {}, std::string role = "operator",
                                  std::string_view nonce = kNonce) const {
    protocol::ConnectParams p;
    p.minProtocol = p.maxProtocol = 4;
    p.client.id = "cli";
    p.client.mode = protocol::ClientMode::kCli;
    p.client.platform = "linux";
    p.role = role;
    p.scopes = std::move(scopes);
    p.auth.token = token;
    p.auth.deviceToken = deviceToken;
    std::string signedToken = token ? *token : deviceToken.value_or("");
    const std::string deviceId = id();
    DeviceAuthFields f{deviceId, "cli", "cli", role, p.scopes, now, signedToken, nonce, "linux", ""};
    std::string payload = buildDeviceAuthPayloadV3(f);
    unsigned char sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), sk);
    p.device = protocol::ConnectDevice{deviceId, publicKey(), base64UrlEncode({reinterpret_cast<const char*>(sig), 64}),
                                       now, std::string(nonce)};
    return p;
  }
};

class DeviceAuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "talon-devauth-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    store::SqliteStoreOptions options;
    options.path = dir_ / "talon.sqlite";
    auto store = store::openSqliteStore(options);
    if (!store) throw std::runtime_error(store.error().toString());
    store_ = std::move(*store);
    config::GatewayAuthConfig c;
    c.mode = "token";
    c.token = std::string(kDeviceToken);
    shared_ = std::move(*SharedSecretAuthenticator::create(c));
    auth_ = std::make_unique<DeviceAuthenticator>(*shared_, *store_, audit_, clock_);
  }
  void TearDown() override {
    store_->close();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  Expected<Principal, ConnectAuthFailure> connect(const protocol::ConnectParams& p, bool loopback = false) {
    Role role = p.role == "node" ? Role::kNode : Role::kOperator;
    return auth_->authenticateConnect(p, role, PeerOrigin{loopback, "192.0.2.9:4000", kNonce});
  }
  void approve(const std::string& requestId) {
    store::WriteBatch b;
    store::DeviceRepository::approve(b, requestId, clock_->nowMs());
    ASSERT_TRUE(store_->write(std::move(b)));
  }

  fs::path dir_;
  store::StorePtr store_;
  std::unique_ptr<SharedSecretAuthenticator> shared_;
  talon::testing::RecordingAuditSink audit_;
  std::shared_ptr<SimulatedClock> clock_ = std::make_shared<SimulatedClock>();
  std::unique_ptr<DeviceAuthenticator> auth_;
};

TEST_F(DeviceAuthenticatorTest, TrustedProxyIdentityAddsItsGrantToThePairedDevicesScopes) {
  config::GatewayAuthConfig c;
  c.mode = "trusted-proxy";
  config::TrustedProxyAuthConfig tp;
  tp.userHeader = "x-forwarded-user";
  c.trustedProxy = tp;
  c.identityScopes = {{"ops@example.com", {"operator.write"}}};
  auto proxy = TrustedProxyAuthenticator::create(
      c, {"10.0.0.1"}, [] { return Result<std::vector<IpAddress>>(std::vector<IpAddress>{}); });
  ASSERT_TRUE(proxy) << proxy.error().toString();
  DeviceAuthenticator auth(**proxy, *store_, audit_, clock_);
  std::vector<std::pair<std::string, std::string>> headers = {{"X-Forwarded-For", "203.0.113.7"},
                                                              {"X-Forwarded-User", "ops@example.com"}};
  auto viaProxy = [&](const protocol::ConnectParams& p) {
    return auth.authenticateConnect(p, Role::kOperator, PeerOrigin{false, "203.0.113.7", kNonce, "10.0.0.1", headers});
  };
  Device d;
  const std::vector<std::string> scopes = {"operator.read"};
  auto first = viaProxy(d.connect(clock_->nowMs(), scopes, std::nullopt));
  ASSERT_FALSE(first);  // the proxy's identity does not approve the device
  EXPECT_EQ(first.error().error.details.at("code"), "PAIRING_REQUIRED");
  approve(std::string(first.error().error.details.at("requestId").as_string()));

  auto ok = viaProxy(d.connect(clock_->nowMs(), scopes, std::nullopt));
  ASSERT_TRUE(ok) << ok.error().error.toString();
  EXPECT_EQ(ok->method, "trusted-proxy");
  EXPECT_EQ(ok->grantedScopes, (std::vector<std::string>{"operator.read", "operator.write"}));
  EXPECT_TRUE(ok->scopes.satisfies(protocol::Scope::kWrite));
  // The grant is session-only: the pairing record keeps the device's own scopes.
  auto paired = store_->devices().getPaired(d.id());
  ASSERT_TRUE(paired && *paired);
  EXPECT_EQ((*paired)->claim.scopes, scopes);

  headers.emplace_back("x-openclaw-scopes", "operator.write");
  auto capped = viaProxy(d.connect(clock_->nowMs(), scopes, std::nullopt));
  ASSERT_TRUE(capped) << capped.error().error.toString();
  EXPECT_EQ(capped->grantedScopes, (std::vector<std::string>{"operator.write"}));

  headers = {{"X-Forwarded-For", "203.0.113.7"}};  // no user: refused before the device is looked at
  auto noUser = viaProxy(d.connect(clock_->nowMs(), scopes, std::nullopt));
  ASSERT_FALSE(noUser);
  EXPECT_EQ(noUser.error().error.details.at("authReason"), "trusted_proxy_user_missing");
}

TEST_F(DeviceAuthenticatorTest, RefusedBeforeApprovalAcceptedAfterRefusedAfterRevocation) {
  Device d;
  const std::vector<std::string> scopes = {"operator.read", "operator.pairing"};
  auto first = connect(d.connect(clock_->nowMs(), scopes, std::string(kDeviceToken)));
  ASSERT_FALSE(first);
  const Error& e = first.error().error;
  EXPECT_EQ(protocolErrorCode(e.code), "NOT_PAIRED");
  EXPECT_EQ(e.details.at("code"), "PAIRING_REQUIRED");
  EXPECT_EQ(e.details.at("reason"), "not-paired");
  EXPECT_EQ(e.details.at("deviceId").as_string(), d.id());
  EXPECT_EQ(first.error().delay.count(), 0);
  const std::string requestId(e.details.at("requestId").as_string());
  EXPECT_EQ(first.error().closeReason, "pairing required: device is not approved yet (requestId: " + requestId + ")");
  auto pending = store_->devices().listPending(clock_->nowMs());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].claim.remoteIp, "192.0.2.9");
  EXPECT_EQ(audit_.ofKind("device.pair.request").size(), 1u);

  // A second try refreshes the same request.
  auto again = connect(d.connect(clock_->nowMs(), scopes, std::string(kDeviceToken)));
  EXPECT_EQ(again.error().error.details.at("requestId").as_string(), requestId);

  approve(requestId);
  auto ok = connect(d.connect(clock_->nowMs(), scopes, std::string(kDeviceToken)));
  ASSERT_TRUE(ok) << ok.error().error.toString();
  EXPECT_EQ(ok->grantedScopes, scopes);  // non-loopback, yet granted: the device is paired for them
  EXPECT_EQ(ok->deviceId, d.id());
  EXPECT_EQ(ok->method, "token");
  ASSERT_FALSE(ok->issuedDeviceToken.empty());  // delivered once, at the first connect after approval
  const std::string deviceToken = ok->issuedDeviceToken;
  auto tokens = store_->devices().tokens(d.id());
  EXPECT_EQ((*tokens)[0].tokenHash, sha256Hex(deviceToken));  // only the hash is kept

  // The device token alone authenticates, and is not issued again.
  auto byToken = connect(d.connect(clock_->nowMs(), {"operator.read"}, std::nullopt, deviceToken));
  ASSERT_TRUE(byToken) << byToken.error().error.toString();
  EXPECT_EQ(byToken->method, "device-token");
  EXPECT_TRUE(byToken->issuedDeviceToken.empty());
  auto wrong = connect(d.connect(clock_->nowMs(), {"operator.read"}, std::nullopt, std::string("nope")));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().error.details.at("code"), "AUTH_DEVICE_TOKEN_MISMATCH");
  // More scopes than approved: a scope upgrade request.
  auto wider = connect(d.connect(clock_->nowMs(), {"operator.admin"}, std::string(kDeviceToken)));
  ASSERT_FALSE(wider);
  EXPECT_EQ(wider.error().error.details.at("reason"), "scope-upgrade");

  {
    store::WriteBatch b;
    store::DeviceRepository::revokeToken(b, d.id(), "operator", clock_->nowMs());
    ASSERT_TRUE(store_->write(std::move(b)));
  }
  auto revoked = connect(d.connect(clock_->nowMs(), scopes, std::string(kDeviceToken)));
  ASSERT_FALSE(revoked);
  EXPECT_EQ(revoked.error().error.details.at("code"), "PAIRING_REQUIRED");
  auto revokedToken = connect(d.connect(clock_->nowMs(), {"operator.read"}, std::nullopt, deviceToken));
  ASSERT_FALSE(revokedToken);
  EXPECT_EQ(revokedToken.error().error.details.at("code"), "AUTH_DEVICE_TOKEN_MISMATCH");
}

TEST_F(DeviceAuthenticatorTest, AnotherRoleIsARoleUpgrade) {
  Device d;
  auto first = connect(d.connect(clock_->nowMs(), {}, std::string(kDeviceToken)));
  approve(std::string(first.error().error.details.at("requestId").as_string()));
  ASSERT_TRUE(connect(d.connect(clock_->nowMs(), {}, std::string(kDeviceToken))));
  auto node = connect(d.connect(clock_->nowMs(), {}, std::string(kDeviceToken), {}, "node"));
  ASSERT_FALSE(node);
  EXPECT_EQ(node.error().error.details.at("reason"), "role-upgrade");
}

TEST_F(DeviceAuthenticatorTest, BadProofIsRefusedAtOnceAndAudited) {
  Device d;
  auto p = d.connect(clock_->nowMs(), {}, std::string(kDeviceToken), {}, "operator", "another-nonce");
  auto r = connect(p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.details.at("code"), "DEVICE_AUTH_NONCE_MISMATCH");
  EXPECT_EQ(r.error().delay.count(), 0);
  auto stale = connect(d.connect(clock_->nowMs() - kDeviceSignatureSkewMs - 1, {}, std::string(kDeviceToken)));
  EXPECT_EQ(stale.error().error.details.at("code"), "DEVICE_AUTH_SIGNATURE_EXPIRED");
  auto events = audit_.ofKind("auth.device");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].outcome, AuditOutcome::kDenied);
  EXPECT_EQ(events[0].actor, "device:" + d.id());
  EXPECT_EQ(events[0].details.at("reason"), "device-nonce-mismatch");
}

TEST_F(DeviceAuthenticatorTest, WrongSharedTokenWithDeviceAnswersAsWithout) {
  Device d;
  auto r = connect(d.connect(clock_->nowMs(), {}, std::string("wrong")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.details.at("code"), "AUTH_TOKEN_MISMATCH");
  EXPECT_EQ(r.error().delay, kAuthFailureDelay);
  EXPECT_TRUE(store_->devices().listPending(clock_->nowMs())->empty());
}

TEST_F(DeviceAuthenticatorTest, DeviceIdentityRequiredWhereOpenClawRequiresIt) {
  protocol::ConnectParams node;
  node.client.id = "node-host";
  node.client.mode = protocol::ClientMode::kNode;
  node.role = "node";
  node.auth.token = std::string(kDeviceToken);
  auto remote = connect(node, false);
  ASSERT_FALSE(remote);
  EXPECT_EQ(protocolErrorCode(remote.error().error.code), "NOT_PAIRED");
  EXPECT_EQ(remote.error().error.details.at("code"), "DEVICE_IDENTITY_REQUIRED");
  EXPECT_TRUE(connect(node, true));  // loopback with the shared token

  protocol::ConnectParams deviceTokenOnly;
  deviceTokenOnly.client.id = "cli";
  deviceTokenOnly.auth.deviceToken = "dt";
  auto r = connect(deviceTokenOnly, true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.details.at("code"), "DEVICE_IDENTITY_REQUIRED");

  // An operator with the shared token and no device keeps working (no scopes off loopback).
  protocol::ConnectParams op;
  op.client.id = "cli";
  op.scopes = {"operator.read"};
  op.auth.token = std::string(kDeviceToken);
  auto remoteOp = connect(op, false);
  ASSERT_TRUE(remoteOp);
  EXPECT_TRUE(remoteOp->grantedScopes.empty());
  auto localOp = connect(op, true);
  ASSERT_TRUE(localOp);
  EXPECT_EQ(localOp->grantedScopes, op.scopes);
}

}  // namespace
}  // namespace talon::security
