#include "security/shared_secret_authenticator.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace talon::security {
namespace {

using protocol::AuthFailure;
using protocol::ClientMode;
using protocol::Role;
using protocol::Scope;

constexpr std::string_view kSharedToken = "tok-0123456789abcdef";
constexpr std::string_view kPassword = "correct horse battery staple";
const PeerOrigin kLoopback{true, "127.0.0.1:50000", {}};
const PeerOrigin kRemote{false, "192.0.2.7:50000", {}};

config::GatewayAuthConfig authConfig(std::string mode, std::string token = {}, std::string password = {}) {
  config::GatewayAuthConfig c;
  c.mode = std::move(mode);
  c.token = std::move(token);
  c.password = std::move(password);
  return c;
}

std::unique_ptr<SharedSecretAuthenticator> make(const config::GatewayAuthConfig& c,
                                                std::string_view fallbackToken = {}) {
  auto a = SharedSecretAuthenticator::create(c, fallbackToken);
  EXPECT_TRUE(a) << a.error().toString();
  return a ? std::move(*a) : nullptr;
}

/// A connect from the local CLI asking for admin, read and write.
protocol::ConnectParams cliConnect(std::optional<std::string> token, std::optional<std::string> password = {}) {
  protocol::ConnectParams p;
  p.minProtocol = 4;
  p.maxProtocol = 4;
  p.client.id = "cli";
  p.client.mode = ClientMode::kCli;
  p.client.version = "2026.9.6";
  p.client.platform = "linux";
  p.scopes = {"operator.admin", "operator.read", "operator.write"};
  p.auth.token = std::move(token);
  p.auth.password = std::move(password);
  return p;
}

// --- create ---------------------------------------------------------------------------------------

TEST(AuthMode, ParsesTheConfigNames) {
  EXPECT_EQ(parseAuthMode("token").value(), AuthMode::kToken);
  EXPECT_EQ(parseAuthMode("").value(), AuthMode::kToken);  // unset means token
  EXPECT_EQ(parseAuthMode("password").value(), AuthMode::kPassword);
  EXPECT_EQ(parseAuthMode("none").value(), AuthMode::kNone);
  for (AuthMode m : {AuthMode::kNone, AuthMode::kToken, AuthMode::kPassword}) {
    EXPECT_EQ(parseAuthMode(authModeName(m)).value(), m);
  }
  auto proxy = parseAuthMode("trusted-proxy");
  ASSERT_FALSE(proxy);
  EXPECT_EQ(proxy.error().code, ErrorCode::kUnsupported);
  EXPECT_EQ(proxy.error().publicMessage(), "gateway.auth.mode \"trusted-proxy\" is not supported by Talon yet");
  EXPECT_FALSE(parseAuthMode("Token"));  // exact, as the config validator
}

TEST(SharedSecretAuthenticatorCreate, UnsupportedModeIsAnError) {
  auto a = SharedSecretAuthenticator::create(authConfig("trusted-proxy", std::string(kSharedToken)));
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, ErrorCode::kUnsupported);
}

TEST(SharedSecretAuthenticatorCreate, MissingSecretIsAnError) {
  auto token = SharedSecretAuthenticator::create(authConfig("token"));
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(token.error().message, "gateway.auth.mode is token but no token is set");
  EXPECT_EQ(token.error().publicMessage(), "gateway.auth.token is not set (or its ${VAR} is unset)");

  // A password does not stand in for a token, nor the reverse.
  auto password = SharedSecretAuthenticator::create(authConfig("password", std::string(kSharedToken)));
  ASSERT_FALSE(password);
  EXPECT_EQ(password.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(password.error().publicMessage(), "gateway.auth.password is not set (or its ${VAR} is unset)");
}

TEST(SharedSecretAuthenticatorCreate, SecretNeverInErrors) {
  auto a = SharedSecretAuthenticator::create(authConfig("bogus", std::string(kSharedToken), std::string(kPassword)));
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().toString().find(kSharedToken), std::string::npos);
  EXPECT_EQ(a.error().toString().find(kPassword), std::string::npos);
}

TEST(SharedSecretAuthenticatorCreate, FallbackTokenOnlyWhenNoTokenConfigured) {
  auto fallback = make(authConfig("token"), "generated");
  ASSERT_TRUE(fallback);
  EXPECT_EQ(fallback->mode(), AuthMode::kToken);
  EXPECT_TRUE(fallback->authenticateConnect(cliConnect("generated"), Role::kOperator, kLoopback));

  auto configured = make(authConfig("token", std::string(kSharedToken)), "generated");
  EXPECT_TRUE(configured->authenticateConnect(cliConnect(std::string(kSharedToken)), Role::kOperator, kLoopback));
  EXPECT_FALSE(configured->authenticateConnect(cliConnect("generated"), Role::kOperator, kLoopback));

  // The fallback is a token: it does not make password mode valid.
  EXPECT_FALSE(SharedSecretAuthenticator::create(authConfig("password"), "generated"));
  // An empty mode is token mode.
  auto unset = make(authConfig("", std::string(kSharedToken)));
  EXPECT_EQ(unset->mode(), AuthMode::kToken);
}

TEST(SharedSecretAuthenticatorCreate, NoneNeedsNoSecret) {
  auto a = make(authConfig("none"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->mode(), AuthMode::kNone);
}

// --- connect --------------------------------------------------------------------------------------

TEST(AuthenticateConnect, TokenModeAcceptsTheToken) {
  auto a = make(authConfig("token", std::string(kSharedToken)));
  auto p = a->authenticateConnect(cliConnect(std::string(kSharedToken)), Role::kOperator, kLoopback);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->method, "token");
  EXPECT_EQ(p->role, Role::kOperator);
  EXPECT_EQ(p->grantedScopes, (std::vector<std::string>{"operator.admin", "operator.read", "operator.write"}));
  EXPECT_EQ(p->scopes, protocol::ScopeSet::of({Scope::kAdmin, Scope::kRead, Scope::kWrite}));
}

void expectFailure(const Expected<Principal, ConnectAuthFailure>& r, AuthFailure reason, std::string_view code) {
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, reason);
  EXPECT_EQ(r.error().error.code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(r.error().error.details.at("code").as_string(), code);
}

TEST(AuthenticateConnect, TokenModeMissingAndMismatch) {
  auto a = make(authConfig("token", std::string(kSharedToken)));
  expectFailure(a->authenticateConnect(cliConnect(std::nullopt), Role::kOperator, kLoopback),
                AuthFailure::kTokenMissing, "AUTH_TOKEN_MISSING");
  // An empty token is missing, as in OpenClaw (`!connectToken`).
  expectFailure(a->authenticateConnect(cliConnect(""), Role::kOperator, kLoopback), AuthFailure::kTokenMissing,
                "AUTH_TOKEN_MISSING");
  expectFailure(a->authenticateConnect(cliConnect("wrong"), Role::kOperator, kLoopback), AuthFailure::kTokenMismatch,
                "AUTH_TOKEN_MISMATCH");
  // A prefix of the token is a mismatch.
  expectFailure(a->authenticateConnect(cliConnect(std::string(kSharedToken.substr(0, 5))), Role::kOperator, kLoopback),
                AuthFailure::kTokenMismatch, "AUTH_TOKEN_MISMATCH");
  // The right value offered as a password does not count in token mode.
  expectFailure(a->authenticateConnect(cliConnect(std::nullopt, std::string(kSharedToken)), Role::kOperator, kLoopback),
                AuthFailure::kTokenMissing, "AUTH_TOKEN_MISSING");
}

TEST(AuthenticateConnect, FailureErrorIsOpenClawsAndCarriesNoSecret) {
  auto a = make(authConfig("token", std::string(kSharedToken)));
  auto local = a->authenticateConnect(cliConnect("wrong"), Role::kOperator, kLoopback);
  ASSERT_FALSE(local);
  EXPECT_EQ(local.error().error.publicMessage(),
            "unauthorized: gateway token mismatch (use this gateway's gateway.auth.token or pair the device)");
  EXPECT_EQ(local.error().error.details.at("authReason").as_string(), "token_mismatch");
  // The hint depends on where the client is.
  auto remote = a->authenticateConnect(cliConnect("wrong"), Role::kOperator, kRemote);
  ASSERT_FALSE(remote);
  EXPECT_EQ(remote.error().error.publicMessage(),
            "unauthorized: gateway token mismatch (set gateway.remote.token to match gateway.auth.token)");
  EXPECT_EQ(local.error().error.toString().find(kSharedToken), std::string::npos);
}

TEST(AuthenticateConnect, PasswordModeAcceptsThePassword) {
  auto a = make(authConfig("password", {}, std::string(kPassword)));
  auto p = a->authenticateConnect(cliConnect(std::nullopt, std::string(kPassword)), Role::kOperator, kLoopback);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->method, "password");
  EXPECT_EQ(p->grantedScopes.size(), 3u);
}

TEST(AuthenticateConnect, PasswordModeMissingAndMismatch) {
  auto a = make(authConfig("password", {}, std::string(kPassword)));
  expectFailure(a->authenticateConnect(cliConnect(std::nullopt), Role::kOperator, kLoopback),
                AuthFailure::kPasswordMissing, "AUTH_PASSWORD_MISSING");
  expectFailure(a->authenticateConnect(cliConnect(std::nullopt, ""), Role::kOperator, kLoopback),
                AuthFailure::kPasswordMissing, "AUTH_PASSWORD_MISSING");
  expectFailure(a->authenticateConnect(cliConnect(std::nullopt, "wrong"), Role::kOperator, kLoopback),
                AuthFailure::kPasswordMismatch, "AUTH_PASSWORD_MISMATCH");
  // The password offered as a token does not count in password mode.
  expectFailure(a->authenticateConnect(cliConnect(std::string(kPassword)), Role::kOperator, kLoopback),
                AuthFailure::kPasswordMissing, "AUTH_PASSWORD_MISSING");
}

TEST(AuthenticateConnect, NoneModeAdmitsWithoutCredentials) {
  auto a = make(authConfig("none"));
  auto p = a->authenticateConnect(cliConnect(std::nullopt), Role::kOperator, kLoopback);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->method, "none");
  // As with the shared secret: a loopback cli/cli keeps what it asked for.
  EXPECT_EQ(p->grantedScopes, (std::vector<std::string>{"operator.admin", "operator.read", "operator.write"}));
  // Whatever it offers.
  EXPECT_TRUE(a->authenticateConnect(cliConnect("anything", "else"), Role::kOperator, kLoopback));
}

/// Scopes follow protocol::grantScopes with sharedSecretAuth (as client_session.cpp granted them).
struct GrantCase {
  const char* name;
  bool loopback;
  const char* clientId;
  ClientMode mode;
  bool keepsRequested;
};
void PrintTo(const GrantCase& c, std::ostream* os) { *os << c.name; }

class ConnectScopes : public ::testing::TestWithParam<GrantCase> {};

TEST_P(ConnectScopes, AsGrantScopesWithTheSharedSecret) {
  const GrantCase& c = GetParam();
  for (const char* mode : {"token", "password", "none"}) {
    auto a = make(authConfig(mode, std::string(kSharedToken), std::string(kSharedToken)));
    auto params = cliConnect(std::string(kSharedToken), std::string(kSharedToken));
    params.client.id = c.clientId;
    params.client.mode = c.mode;
    params.scopes = {"operator.admin", "operator.read", "operator.bogus"};
    auto p = a->authenticateConnect(params, Role::kOperator, PeerOrigin{c.loopback, {}, {}});
    ASSERT_TRUE(p) << mode;
    if (c.keepsRequested) {
      // The known names only (issue 6: OpenClaw would echo "operator.bogus").
      EXPECT_EQ(p->grantedScopes, (std::vector<std::string>{"operator.admin", "operator.read"})) << mode;
      EXPECT_EQ(p->scopes, protocol::ScopeSet::of({Scope::kAdmin, Scope::kRead})) << mode;
    } else {
      EXPECT_TRUE(p->grantedScopes.empty()) << mode;
      EXPECT_TRUE(p->scopes.empty()) << mode;
    }
    EXPECT_EQ(p->method, mode);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ConnectScopes,
    ::testing::Values(GrantCase{"cliLoopback", true, "cli", ClientMode::kCli, true},
                      GrantCase{"backendLoopback", true, "gateway-client", ClientMode::kBackend, true},
                      GrantCase{"cliProbe", true, "cli", ClientMode::kProbe, false},
                      GrantCase{"cliRemote", false, "cli", ClientMode::kCli, false},
                      GrantCase{"backendRemote", false, "gateway-client", ClientMode::kBackend, false},
                      GrantCase{"controlUi", true, "openclaw-control-ui", ClientMode::kUi, false},
                      GrantCase{"tui", true, "openclaw-tui", ClientMode::kCli, false}),
    [](const ::testing::TestParamInfo<GrantCase>& info) { return std::string(info.param.name); });

TEST(AuthenticateConnect, KeepsTheValidatedRole) {
  auto a = make(authConfig("token", std::string(kSharedToken)));
  auto params = cliConnect(std::string(kSharedToken));
  params.role = "node";
  auto p = a->authenticateConnect(params, Role::kNode, kLoopback);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->role, Role::kNode);
}

// --- HTTP -----------------------------------------------------------------------------------------

TEST(ParseBearerToken, SchemeIsCaseInsensitive) {
  for (std::string_view h : {"Bearer abc", "bearer abc", "BEARER abc", "bEaReR abc"}) {
    auto t = parseBearerToken(h);
    ASSERT_TRUE(t) << h;
    EXPECT_EQ(*t, "abc") << h;
  }
}

TEST(ParseBearerToken, ToleratesWhitespace) {
  for (std::string_view h : {"Bearer   abc", "  Bearer abc  ", "Bearer\tabc", "\tbearer \t abc\t"}) {
    auto t = parseBearerToken(h);
    ASSERT_TRUE(t) << h;
    EXPECT_EQ(*t, "abc") << h;
  }
  // Inner spaces belong to the credential (a password may have them), as OpenClaw's slice(7).trim().
  EXPECT_EQ(parseBearerToken("Bearer a b").value(), "a b");
  // token68 padding is part of the token.
  EXPECT_EQ(parseBearerToken("Bearer dG9rZW4=").value(), "dG9rZW4=");
}

TEST(ParseBearerToken, MalformedHeaders) {
  for (std::string_view h : {"", "   ", "Bearer", "Bearer ", "bearer \t ", "Basic dXNlcjpwYXNz", "Basic x", "Bearerabc",
                             "Token abc", "Bear abc", "Bearer-abc"}) {
    auto t = parseBearerToken(h);
    ASSERT_FALSE(t) << "'" << h << "'";
    EXPECT_EQ(t.error().code, ErrorCode::kUnauthenticated);
    EXPECT_EQ(t.error().publicMessage(), "Unauthorized");
  }
}

TEST(AuthenticateHttp, TokenMode) {
  auto a = make(authConfig("token", std::string(kSharedToken)));
  for (std::string scheme : {"Bearer ", "bearer ", "BEARER  "}) {
    auto p = a->authenticateHttp(scheme + std::string(kSharedToken), kRemote);
    ASSERT_TRUE(p) << scheme;
    EXPECT_EQ(p->method, "token");
    EXPECT_EQ(p->role, Role::kOperator);
  }
  for (std::string bad : {std::string(), std::string("Bearer"), std::string("Basic x"), std::string("Bearer wrong"),
                          "Bearer " + std::string(kSharedToken) + "x", std::string(kSharedToken)}) {
    auto p = a->authenticateHttp(bad, kLoopback);
    ASSERT_FALSE(p) << bad;
    EXPECT_EQ(p.error().code, ErrorCode::kUnauthenticated);
    EXPECT_EQ(p.error().publicMessage(), "Unauthorized");
    EXPECT_EQ(p.error().toString().find(kSharedToken), std::string::npos);
  }
}

TEST(AuthenticateHttp, PasswordModeTakesThePasswordAsBearer) {
  auto a = make(authConfig("password", {}, std::string(kPassword)));
  auto p = a->authenticateHttp("Bearer " + std::string(kPassword), kLoopback);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->method, "password");
  EXPECT_FALSE(a->authenticateHttp("Bearer wrong", kLoopback));
  EXPECT_FALSE(a->authenticateHttp("", kLoopback));
}

TEST(AuthenticateHttp, SharedSecretGrantsTheCliDefaultScopes) {
  auto a = make(authConfig("token", std::string(kSharedToken)));
  auto p = a->authenticateHttp("Bearer " + std::string(kSharedToken), kLoopback);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->grantedScopes,
            (std::vector<std::string>{"operator.admin", "operator.read", "operator.write", "operator.approvals",
                                      "operator.questions", "operator.pairing", "operator.talk.secrets"}));
  EXPECT_TRUE(p->scopes.has(Scope::kAdmin));
  EXPECT_TRUE(p->scopes.has(Scope::kTalkSecrets));
  EXPECT_FALSE(p->scopes.has(Scope::kTalk));
}

TEST(AuthenticateHttp, NoneModeAdmitsEveryRequest) {
  auto a = make(authConfig("none"));
  for (std::string_view h : {"", "Bearer wrong", "Basic x"}) {
    auto p = a->authenticateHttp(h, kLoopback);
    ASSERT_TRUE(p) << h;
    EXPECT_EQ(p->method, "none");
    EXPECT_EQ(p->grantedScopes, httpSharedSecretScopes());
  }
}

TEST(AuthenticatorInterface, UsableThroughThePointer) {
  auto created = SharedSecretAuthenticator::create(authConfig("token", std::string(kSharedToken)));
  ASSERT_TRUE(created);
  AuthenticatorPtr auth = std::move(*created);
  EXPECT_TRUE(auth->authenticateHttp("Bearer " + std::string(kSharedToken), kLoopback));
  EXPECT_FALSE(auth->authenticateConnect(cliConnect("nope"), Role::kOperator, kLoopback));
}

}  // namespace
}  // namespace talon::security
