#include "security/trusted_proxy_authenticator.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace talon::security {
namespace {

using protocol::ClientMode;
using protocol::Role;
using protocol::Scope;
using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// The proxy is 10.0.0.1 (and loopback when a test allows it); the host's own address is 10.0.0.9.
config::GatewayAuthConfig proxyAuthConfig() {
  config::GatewayAuthConfig c;
  c.mode = "trusted-proxy";
  config::TrustedProxyAuthConfig tp;
  tp.userHeader = "x-forwarded-user";
  c.trustedProxy = tp;
  c.identityScopes = {{"Admin@Example.com", {"operator.admin"}},
                      {"reader@example.com", {"operator.read"}},
                      {"svc-Bot", {"operator.read", "operator.write"}}};
  return c;
}

InterfaceAddressSource hostAddresses() {
  return [] { return Result<std::vector<IpAddress>>(std::vector<IpAddress>{*IpAddress::parse("10.0.0.9")}); };
}

std::unique_ptr<TrustedProxyAuthenticator> makeProxyAuth(const config::GatewayAuthConfig& c,
                                                         std::vector<std::string> proxies = {"10.0.0.1", "127.0.0.1",
                                                                                             "10.0.0.9"},
                                                         InterfaceAddressSource interfaces = hostAddresses()) {
  auto a = TrustedProxyAuthenticator::create(c, proxies, std::move(interfaces));
  EXPECT_TRUE(a) << a.error().toString();
  return a ? std::move(*a) : nullptr;
}

/// A request from socket peer `peer` whose forwarded headers the transport resolved to `client`.
struct ProxyRequest {
  std::string peer = "10.0.0.1";
  std::string client = "203.0.113.7";
  HeaderList headers = {{"X-Forwarded-For", "203.0.113.7"}, {"X-Forwarded-User", "reader@example.com"}};
  bool isLoopback = false;

  PeerOrigin origin() const { return PeerOrigin{isLoopback, client, {}, peer, headers}; }
};

protocol::ConnectParams uiConnect(std::vector<std::string> scopes = {"operator.admin", "operator.read"}) {
  protocol::ConnectParams p;
  p.minProtocol = 4;
  p.maxProtocol = 4;
  p.client.id = "openclaw-control-ui";
  p.client.mode = ClientMode::kWebchat;
  p.client.version = "2026.9.6";
  p.client.platform = "web";
  p.scopes = std::move(scopes);
  return p;
}

std::string reasonOf(const TrustedProxyAuthenticator& a, const ProxyRequest& r) {
  auto v = a.verify(r.origin());
  return v ? "ok:" + *v : v.error();
}

// --- create -----------------------------------------------------------------------------------------

TEST(TrustedProxyAuthenticatorCreate, NeedsUserHeaderAndProxies) {
  auto c = proxyAuthConfig();
  auto noProxies = TrustedProxyAuthenticator::create(c, {}, hostAddresses());
  ASSERT_FALSE(noProxies);
  EXPECT_NE(noProxies.error().message.find("gateway.trustedProxies"), std::string::npos);
  c.trustedProxy->userHeader = " ";
  auto noHeader = TrustedProxyAuthenticator::create(c, {"10.0.0.1"}, hostAddresses());
  ASSERT_FALSE(noHeader);
  EXPECT_NE(noHeader.error().message.find("gateway.auth.trustedProxy.userHeader"), std::string::npos);
  c.trustedProxy.reset();
  auto noBlock = TrustedProxyAuthenticator::create(c, {"10.0.0.1"}, hostAddresses());
  ASSERT_FALSE(noBlock);
  EXPECT_NE(noBlock.error().message.find("gateway.auth.trustedProxy"), std::string::npos);
  auto bad = TrustedProxyAuthenticator::create(proxyAuthConfig(), {"proxy.local"}, hostAddresses());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kConfigInvalid);
}

// --- the runtime rules, in order ------------------------------------------------------------------

TEST(TrustedProxyRules, AcceptsTheUserFromAListedProxy) {
  auto a = makeProxyAuth(proxyAuthConfig());
  EXPECT_EQ(reasonOf(*a, ProxyRequest{}), "ok:reader@example.com");
  ProxyRequest padded;
  padded.headers[1].second = "  reader@example.com \t";
  EXPECT_EQ(reasonOf(*a, padded), "ok:reader@example.com");
}

TEST(TrustedProxyRules, ForwardedHeadersMustNameANonLoopbackClient) {
  auto a = makeProxyAuth(proxyAuthConfig());
  ProxyRequest unresolved;  // the transport found no client in X-Forwarded-For: the peer itself
  unresolved.client = unresolved.peer;
  EXPECT_EQ(reasonOf(*a, unresolved), "proxy_attribution_required");
  ProxyRequest loopbackClient;
  loopbackClient.client = "127.0.0.1";
  EXPECT_EQ(reasonOf(*a, loopbackClient), "proxy_attribution_required");
  ProxyRequest unlisted;  // forwarded headers from a peer that is no proxy
  unlisted.peer = "198.51.100.4";
  unlisted.client = "198.51.100.4";
  EXPECT_EQ(reasonOf(*a, unlisted), "proxy_attribution_required");
}

TEST(TrustedProxyRules, SourceMustBeAListedProxy) {
  auto a = makeProxyAuth(proxyAuthConfig());
  ProxyRequest direct;  // no forwarded headers at all, from an unlisted address
  direct.peer = "198.51.100.4";
  direct.client = "198.51.100.4";
  direct.headers = {{"X-Auth-User", "reader@example.com"}};
  EXPECT_EQ(reasonOf(*a, direct), "trusted_proxy_untrusted_source");
}

TEST(TrustedProxyRules, LoopbackNeedsAllowLoopbackAndIsCheckedBeforeHeaders) {
  auto c = proxyAuthConfig();
  c.trustedProxy->requiredHeaders = {"x-forwarded-proto"};
  auto a = makeProxyAuth(c);
  ProxyRequest local;
  local.peer = "127.0.0.1";  // required header missing too: the loopback rule answers first
  EXPECT_EQ(reasonOf(*a, local), "trusted_proxy_loopback_source");
  c.trustedProxy->allowLoopback = true;
  auto allowed = makeProxyAuth(c);
  EXPECT_EQ(reasonOf(*allowed, local), "trusted_proxy_missing_header_x-forwarded-proto");
  local.headers.emplace_back("X-Forwarded-Proto", "https");
  EXPECT_EQ(reasonOf(*allowed, local), "ok:reader@example.com");
  // allowLoopback without loopback in trustedProxies: the source is not a listed proxy.
  auto unlisted = makeProxyAuth(c, {"10.0.0.1"});
  EXPECT_EQ(reasonOf(*unlisted, local), "proxy_attribution_required");
  local.headers = {{"X-Forwarded-User", "reader@example.com"}};
  local.client = "127.0.0.1";
  EXPECT_EQ(reasonOf(*unlisted, local), "proxy_attribution_required");
}

TEST(TrustedProxyRules, TheHostsOwnAddressIsRefused) {
  auto a = makeProxyAuth(proxyAuthConfig());
  ProxyRequest self;
  self.peer = "10.0.0.9";
  EXPECT_EQ(reasonOf(*a, self), "trusted_proxy_local_interface_source");
  auto broken = makeProxyAuth(proxyAuthConfig(), {"10.0.0.1"},
                              [] { return Result<std::vector<IpAddress>>(fail(ErrorCode::kIo, "getifaddrs: boom")); });
  EXPECT_EQ(reasonOf(*broken, ProxyRequest{}), "trusted_proxy_local_interface_check_failed");
}

TEST(TrustedProxyRules, RealInterfaceAddressesIncludeLoopback) {
  auto addresses = hostInterfaceAddresses();
  ASSERT_TRUE(addresses) << addresses.error().toString();
  bool loopback = false;
  for (const auto& a : *addresses) loopback = loopback || a.isLoopback();
  EXPECT_TRUE(loopback);
}

TEST(TrustedProxyRules, RequiredHeadersThenUserThenAllowUsers) {
  auto c = proxyAuthConfig();
  c.trustedProxy->requiredHeaders = {"X-Forwarded-Proto"};
  c.trustedProxy->allowUsers = {"nick@example.com"};
  auto a = makeProxyAuth(c);
  ProxyRequest r;
  r.headers.emplace_back("x-forwarded-proto", " ");
  EXPECT_EQ(reasonOf(*a, r), "trusted_proxy_missing_header_x-forwarded-proto");
  r.headers.back().second = "https";
  r.headers[1].second = "";
  EXPECT_EQ(reasonOf(*a, r), "trusted_proxy_user_missing");
  r.headers[1].second = "reader@example.com";
  EXPECT_EQ(reasonOf(*a, r), "trusted_proxy_user_not_allowed");
  r.headers[1].second = "nick@example.com";
  EXPECT_EQ(reasonOf(*a, r), "ok:nick@example.com");
}

TEST(TrustedProxyRules, AUserOnADirectRequestIsNotAttributed) {
  auto c = proxyAuthConfig();
  c.trustedProxy->allowLoopback = true;
  c.trustedProxy->userHeader = "x-auth-user";  // not an X-Forwarded-* header
  auto a = makeProxyAuth(c);
  ProxyRequest direct;
  direct.peer = "127.0.0.1";
  direct.client = "127.0.0.1";
  direct.isLoopback = true;
  direct.headers = {{"X-Auth-User", "reader@example.com"}};
  EXPECT_EQ(reasonOf(*a, direct), "proxy_attribution_required");
}

// --- scopes ---------------------------------------------------------------------------------------

TEST(TrustedProxyScopes, IdentityKeysMatchEmailsIgnoringCase) {
  auto grants = proxyAuthConfig().identityScopes;
  EXPECT_EQ(identityScopesFor(grants, "admin@example.com"), (std::vector<std::string>{"operator.admin"}));
  EXPECT_EQ(identityScopesFor(grants, "ADMIN@EXAMPLE.COM"), (std::vector<std::string>{"operator.admin"}));
  EXPECT_EQ(identityScopesFor(grants, "svc-Bot"), (std::vector<std::string>{"operator.read", "operator.write"}));
  EXPECT_TRUE(identityScopesFor(grants, "svc-bot").empty());  // not an email: exact
  EXPECT_TRUE(identityScopesFor(grants, "nobody@example.com").empty());
}

TEST(TrustedProxyScopes, DeclaredScopesHeader) {
  EXPECT_FALSE(declaredScopes(HeaderList{}));
  EXPECT_EQ(declaredScopes(HeaderList{{"X-OpenClaw-Scopes", ""}}), std::vector<std::string>{});
  EXPECT_EQ(declaredScopes(HeaderList{{"x-openclaw-scopes", " operator.read , ,operator.write,operator.read"}}),
            (std::vector<std::string>{"operator.read", "operator.write"}));
}

TEST(TrustedProxyScopes, DeviceScopesUnionIdentityThenCap) {
  ProxyIdentity id;
  id.identityScopes = {"operator.admin", "operator.read"};
  EXPECT_EQ(withIdentityScopes({"operator.read", "operator.write"}, id),
            (std::vector<std::string>{"operator.read", "operator.write", "operator.admin"}));
  id.scopeCap = std::vector<std::string>{"operator.read", "operator.admin"};
  EXPECT_EQ(withIdentityScopes({"operator.read", "operator.write"}, id),
            (std::vector<std::string>{"operator.read", "operator.admin"}));
  id.scopeCap = std::vector<std::string>{};
  EXPECT_TRUE(withIdentityScopes({"operator.read"}, id).empty());
}

TEST(TrustedProxyConnect, ADevicelessConnectGetsOnlyTheIdentityGrant) {
  auto a = makeProxyAuth(proxyAuthConfig());
  ProxyRequest r;  // reader@example.com, asking for admin and read
  auto p = a->authenticateConnect(uiConnect(), Role::kOperator, r.origin());
  ASSERT_TRUE(p) << p.error().error.toString();
  EXPECT_EQ(p->method, "trusted-proxy");
  EXPECT_EQ(p->grantedScopes, (std::vector<std::string>{"operator.read"}));
  EXPECT_TRUE(p->scopes.satisfies(Scope::kRead));
  EXPECT_FALSE(p->scopes.satisfies(Scope::kAdmin));
  ASSERT_TRUE(p->proxyIdentity);
  EXPECT_EQ(p->proxyIdentity->user, "reader@example.com");

  r.headers.emplace_back("x-openclaw-scopes", "operator.write");
  auto capped = a->authenticateConnect(uiConnect(), Role::kOperator, r.origin());
  ASSERT_TRUE(capped);
  EXPECT_TRUE(capped->grantedScopes.empty());

  ProxyRequest unknown;
  unknown.headers[1].second = "stranger@example.com";
  auto none = a->authenticateConnect(uiConnect(), Role::kOperator, unknown.origin());
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->grantedScopes.empty());

  auto node = a->authenticateConnect(uiConnect({}), Role::kNode, ProxyRequest{}.origin());
  ASSERT_TRUE(node);
  EXPECT_TRUE(node->grantedScopes.empty());
}

TEST(TrustedProxyConnect, RefusalsCarryOpenClawsReasonAndAnswerAtOnce) {
  auto c = proxyAuthConfig();
  c.trustedProxy->requiredHeaders = {"x-proxy-secret"};
  auto a = makeProxyAuth(c);
  auto missing = a->authenticateConnect(uiConnect(), Role::kOperator, ProxyRequest{}.origin());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().delay.count(), 0);
  EXPECT_EQ(missing.error().error.publicMessage(), "unauthorized");
  EXPECT_EQ(missing.error().error.details.at("code").as_string(), "AUTH_IDENTITY_HEADER_REQUIRED");
  EXPECT_EQ(missing.error().error.details.at("authReason").as_string(), "trusted_proxy_missing_header_x-proxy-secret");

  ProxyRequest unresolved;
  unresolved.client = unresolved.peer;
  auto attribution = a->authenticateConnect(uiConnect(), Role::kOperator, unresolved.origin());
  ASSERT_FALSE(attribution);
  EXPECT_EQ(attribution.error().error.details.at("code").as_string(), "AUTH_UNAUTHORIZED");
  EXPECT_EQ(attribution.error().error.details.at("authReason").as_string(), "proxy_attribution_required");
  EXPECT_NE(attribution.error().error.publicMessage().find("proxy client attribution is required"), std::string::npos);
}

TEST(TrustedProxyConnect, DirectLocalCallersMayUseThePassword) {
  auto c = proxyAuthConfig();
  c.password = "a-long-local-password-for-internal-callers";
  auto a = makeProxyAuth(c);
  ProxyRequest local;
  local.peer = "127.0.0.1";
  local.client = "127.0.0.1";
  local.isLoopback = true;
  local.headers = {};
  auto p = uiConnect();
  p.client.id = "cli";
  p.client.mode = ClientMode::kCli;
  p.auth.password = "a-long-local-password-for-internal-callers";
  auto ok = a->authenticateConnect(p, Role::kOperator, local.origin());
  ASSERT_TRUE(ok) << ok.error().error.toString();
  EXPECT_EQ(ok->method, "password");
  p.auth.password = "wrong";
  auto wrong = a->authenticateConnect(p, Role::kOperator, local.origin());
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().error.details.at("authReason").as_string(), "password_mismatch");
  // Not from a direct local caller: the password is not looked at.
  p.auth.password = "a-long-local-password-for-internal-callers";
  ProxyRequest remote;
  remote.headers = {{"X-Forwarded-For", "203.0.113.7"}};
  auto refused = a->authenticateConnect(p, Role::kOperator, remote.origin());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().error.details.at("authReason").as_string(), "trusted_proxy_user_missing");
}

// --- HTTP -----------------------------------------------------------------------------------------

TEST(TrustedProxyHttp, DeclaredScopesOrTheDefaultSet) {
  auto a = makeProxyAuth(proxyAuthConfig());
  ProxyRequest r;
  auto defaults = a->authenticateHttp("", r.origin());
  ASSERT_TRUE(defaults) << defaults.error().toString();
  EXPECT_EQ(defaults->method, "trusted-proxy");
  EXPECT_EQ(defaults->grantedScopes, httpSharedSecretScopes());
  r.headers.emplace_back("x-openclaw-scopes", "operator.read,bogus.scope");
  auto declared = a->authenticateHttp("", r.origin());
  ASSERT_TRUE(declared);
  EXPECT_EQ(declared->grantedScopes, (std::vector<std::string>{"operator.read"}));
  r.headers.back().second = "";
  auto none = a->authenticateHttp("", r.origin());
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->grantedScopes.empty());
}

TEST(TrustedProxyHttp, RefusalsAre401Or403ForAttribution) {
  auto a = makeProxyAuth(proxyAuthConfig());
  ProxyRequest noUser;
  noUser.headers = {{"X-Forwarded-For", "203.0.113.7"}};
  auto refused = a->authenticateHttp("Bearer whatever", noUser.origin());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(refused.error().message.find("trusted_proxy_user_missing"), std::string::npos);
  ProxyRequest unresolved;
  unresolved.client = unresolved.peer;
  auto attribution = a->authenticateHttp("", unresolved.origin());
  ASSERT_FALSE(attribution);
  EXPECT_EQ(attribution.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(attribution.error().details.at("type").as_string(), "proxy_attribution_required");
}

}  // namespace
}  // namespace talon::security
