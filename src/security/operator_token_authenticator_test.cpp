#include "security/operator_token_authenticator.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>

#include "../tests/support/recording_audit_sink.h"
#include "security/audited_authenticator.h"
#include "security/shared_secret_authenticator.h"
#include "store/sqlite_store.h"

namespace talon::security {
namespace {

namespace fs = std::filesystem;
using Names = std::vector<std::string>;
using protocol::Role;

constexpr std::string_view kShared = "shared-0123456789abcdef";

class OperatorTokenAuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "talon-optokauth-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    store::SqliteStoreOptions options;
    options.path = dir_ / "talon.sqlite";
    auto store = store::openSqliteStore(options);
    if (!store) throw std::runtime_error(store.error().toString());
    store_ = std::move(*store);
    config::GatewayAuthConfig c;
    c.mode = "token";
    c.token = std::string(kShared);
    shared_ = std::move(*SharedSecretAuthenticator::create(c));
    build({});
  }
  void TearDown() override {
    store_->close();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void build(const config::GatewayRolesConfig& roles) {
    audited_.reset();
    auth_ = std::make_unique<OperatorTokenAuthenticator>(*shared_, *store_, OperatorRoles::fromConfig(roles), clock_);
    audited_ = std::make_unique<AuditedAuthenticator>(*auth_, audit_);
  }
  /// Creates a token named `name` bound to `role`; returns the token.
  std::string create(const std::string& name, const std::string& role, int64_t expiresAtMs = 0) {
    std::string token = newOperatorToken();
    store::OperatorTokenRecord r;
    r.name = name;
    r.role = role;
    r.tokenHash = operatorTokenHash(token);
    r.tokenPrefix = operatorTokenDisplayPrefix(token);
    r.createdAtMs = clock_->nowMs();
    r.expiresAtMs = expiresAtMs;
    store::WriteBatch b;
    store::OperatorTokenRepository::create(b, std::move(r));
    EXPECT_TRUE(store_->write(std::move(b)));
    return token;
  }
  void revoke(const std::string& name) {
    store::WriteBatch b;
    store::OperatorTokenRepository::revoke(b, name, clock_->nowMs(), std::make_shared<bool>());
    ASSERT_TRUE(store_->write(std::move(b)));
  }
  static protocol::ConnectParams params(std::optional<std::string> token, Names scopes = {
                                                                              "operator.admin",
                                                                              "operator.read",
                                                                              "operator.write",
                                                                              "operator.approvals",
                                                                              "operator.pairing",
                                                                          }) {
    protocol::ConnectParams p;
    p.minProtocol = p.maxProtocol = 4;
    p.client.id = "cli";
    p.client.mode = protocol::ClientMode::kCli;
    p.client.platform = "linux";
    p.role = "operator";
    p.scopes = std::move(scopes);
    p.auth.token = std::move(token);
    return p;
  }
  Expected<Principal, ConnectAuthFailure> connect(const protocol::ConnectParams& p, Role role = Role::kOperator) {
    return audited_->authenticateConnect(p, role, PeerOrigin{false, "192.0.2.9:4000", "nonce"});
  }

  fs::path dir_;
  store::StorePtr store_;
  std::unique_ptr<SharedSecretAuthenticator> shared_;
  talon::testing::RecordingAuditSink audit_;
  std::shared_ptr<SimulatedClock> clock_ = std::make_shared<SimulatedClock>();
  std::unique_ptr<OperatorTokenAuthenticator> auth_;
  std::unique_ptr<AuditedAuthenticator> audited_;
};

TEST_F(OperatorTokenAuthenticatorTest, TokenFormat) {
  std::string t = newOperatorToken();
  EXPECT_TRUE(hasOperatorTokenPrefix(t));
  EXPECT_EQ(t.size(), kOperatorTokenPrefix.size() + 43);
  EXPECT_NE(t, newOperatorToken());
  EXPECT_EQ(operatorTokenDisplayPrefix(t), t.substr(0, kOperatorTokenPrefix.size() + 4));
  EXPECT_EQ(operatorTokenHash(t).size(), 64u);
}

TEST_F(OperatorTokenAuthenticatorTest, GrantsTheRoleCeilingAndAuditsTheNameNeverTheToken) {
  const std::string token = create("ci", "operator");
  auto p = connect(params(token));
  ASSERT_TRUE(p) << p.error().error.toString();
  EXPECT_EQ(p->method, "token");  // hello-ok auth.method is a closed set in OpenClaw
  EXPECT_EQ(p->grantedScopes, (Names{"operator.read", "operator.write", "operator.approvals"}));
  EXPECT_FALSE(p->scopes.satisfies(protocol::Scope::kAdmin));
  EXPECT_FALSE(p->scopes.satisfies(protocol::Scope::kPairing));
  ASSERT_TRUE(p->operatorToken);
  EXPECT_EQ(p->operatorToken->name, "ci");
  EXPECT_EQ(p->operatorToken->role, "operator");

  auto admin = connect(params(create("root", "admin")));
  ASSERT_TRUE(admin);
  EXPECT_TRUE(admin->scopes.satisfies(protocol::Scope::kAdmin));

  auto events = audit_.ofKind("auth.connect");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].outcome, AuditOutcome::kAllowed);
  EXPECT_EQ(events[0].actor, "operator-token:ci");
  EXPECT_EQ(events[0].details.at("tokenName"), "ci");
  EXPECT_EQ(events[0].details.at("tokenRole"), "operator");
  EXPECT_EQ(events[0].details.at("method"), "token");
  for (const auto& e : audit_.events()) {
    EXPECT_EQ(json::serialize(e.details).find(token), std::string::npos);
    EXPECT_EQ(e.actor.find(token), std::string::npos);
  }
}

TEST_F(OperatorTokenAuthenticatorTest, ARoleIsACeilingNotAGrant) {
  const std::string token = create("reader", "operator");
  auto p = connect(params(token, {"operator.read"}));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->grantedScopes, Names{"operator.read"});
  auto none = connect(params(token, {}));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->grantedScopes.empty());
}

TEST_F(OperatorTokenAuthenticatorTest, RevokedAndExpiredTokensAreRefusedAsAWrongToken) {
  const std::string revoked = create("old", "operator");
  ASSERT_TRUE(connect(params(revoked)));
  revoke("old");
  auto r = connect(params(revoked));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.details.at("code"), "AUTH_TOKEN_MISMATCH");
  EXPECT_EQ(r.error().delay, kAuthFailureDelay);  // a guess: delayed and rate limited like one

  const std::string expiring = create("temp", "operator", clock_->nowMs() + 60'000);
  ASSERT_TRUE(connect(params(expiring)));
  clock_->advance(60'000);
  auto e = connect(params(expiring));
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().error.details.at("code"), "AUTH_TOKEN_MISMATCH");

  auto events = audit_.ofKind("auth.connect");
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[1].outcome, AuditOutcome::kDenied);
  EXPECT_EQ(events[1].details.at("tokenName"), "old");
  EXPECT_EQ(events[1].details.at("tokenRefusal"), "revoked");
  EXPECT_EQ(events[3].details.at("tokenName"), "temp");
  EXPECT_EQ(events[3].details.at("tokenRefusal"), "expired");
}

TEST_F(OperatorTokenAuthenticatorTest, AnUndefinedRoleFallsBackToTheDefaultOrIsRefused) {
  const std::string token = create("ci", "maintainer");
  auto refused = connect(params(token));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().auditReason, "role-undefined");

  config::GatewayRolesConfig roles;
  roles.configured = true;
  roles.defaultRole = "guest";
  roles.definitions["guest"] = config::OperatorRoleConfig{{"operator.read"}, Names{"main"}, "write"};
  build(roles);
  auto p = connect(params(token));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->operatorToken->role, "guest");
  EXPECT_EQ(p->grantedScopes, Names{"operator.read"});
  EXPECT_EQ(p->operatorToken->agents, (std::optional<Names>(Names{"main"})));
}

TEST_F(OperatorTokenAuthenticatorTest, OtherCredentialsGoToTheSharedSecret) {
  auto shared = connect(params(std::string(kShared)));
  ASSERT_TRUE(shared);
  EXPECT_EQ(shared->method, "token");
  EXPECT_FALSE(shared->operatorToken);
  // A prefixed token no one created is decided by the shared secret (a mismatch here).
  auto unknown = connect(params(newOperatorToken()));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().error.details.at("code"), "AUTH_TOKEN_MISMATCH");
  EXPECT_TRUE(unknown.error().operatorTokenName.empty());
}

TEST_F(OperatorTokenAuthenticatorTest, ANodeConnectCannotUseAnOperatorToken) {
  const std::string token = create("ci", "admin");
  auto p = params(token, {});
  p.role = "node";
  auto r = connect(p, Role::kNode);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().auditReason, "role-not-operator");
}

TEST_F(OperatorTokenAuthenticatorTest, HttpBearerGetsTheRoleScopesAndEachUseIsAudited) {
  const std::string token = create("scraper", "operator");
  auto p = audited_->authenticateHttp("Bearer " + token, PeerOrigin{true, "127.0.0.1:5000", ""});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->grantedScopes, (Names{"operator.read", "operator.write", "operator.approvals"}));
  auto events = audit_.ofKind("auth.http");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].outcome, AuditOutcome::kAllowed);
  EXPECT_EQ(events[0].details.at("tokenName"), "scraper");
  revoke("scraper");
  auto refused = audited_->authenticateHttp("Bearer " + token, PeerOrigin{true, "127.0.0.1:5000", ""});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(refused.error().publicMessage(), "Unauthorized");
  // The shared secret still works over HTTP.
  EXPECT_TRUE(audited_->authenticateHttp("Bearer " + std::string(kShared), PeerOrigin{true, "127.0.0.1:5000", ""}));
}

TEST_F(OperatorTokenAuthenticatorTest, TheLastUseIsRecorded) {
  const std::string token = create("ci", "operator");
  clock_->advance(5000);
  ASSERT_TRUE(connect(params(token)));
  // The touch is submitted asynchronously; batches apply in order, so a later synchronous one waits for it.
  store::WriteBatch after;
  store::OperatorTokenRepository::touch(after, "no-such-token", 0);
  ASSERT_TRUE(store_->write(std::move(after)));
  auto found = store_->operatorTokens().find("ci");
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->lastUsedAtMs, clock_->nowMs());
}

}  // namespace
}  // namespace talon::security
