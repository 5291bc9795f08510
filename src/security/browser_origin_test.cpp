#include "security/browser_origin.h"

#include <gtest/gtest.h>

namespace talon::security {
namespace {

OriginDecision check(std::string_view origin, std::string_view host, bool local, BrowserOriginPolicy policy = {}) {
  return checkBrowserOrigin(BrowserOriginRequest{origin, host, local}, policy);
}

TEST(BrowserOrigin, SameOriginOnLoopbackFromALocalClientIsAllowed) {
  auto d = check("http://127.0.0.1:18789", "127.0.0.1:18789", true);
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(originMatchName(d.matchedBy), "private-same-origin");
  EXPECT_TRUE(check("http://localhost:18789", "localhost:18789", true).allowed);
  EXPECT_TRUE(check("http://[::1]:18789", "[::1]:18789", true).allowed);
}

TEST(BrowserOrigin, AnotherSiteIsRefusedEvenFromALocalClient) {
  auto d = check("https://evil.example", "127.0.0.1:18789", true);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "origin not allowed");
}

TEST(BrowserOrigin, ALoopbackPageOnAnotherPortIsAllowedOnlyForALocalClient) {
  auto d = check("http://localhost:5173", "127.0.0.1:18789", true);
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(originMatchName(d.matchedBy), "local-loopback");
  EXPECT_FALSE(check("http://localhost:5173", "127.0.0.1:18789", false).allowed);
}

TEST(BrowserOrigin, SameLoopbackHostThroughAProxyIsRefused) {
  // Not a direct loopback client (forwarded headers): a loopback Host header proves nothing.
  EXPECT_FALSE(check("http://127.0.0.1:18789", "127.0.0.1:18789", false).allowed);
}

TEST(BrowserOrigin, SameHostOnAPrivateAddressOrLocalNameIsAllowed) {
  EXPECT_TRUE(check("http://192.168.1.20:18789", "192.168.1.20:18789", false).allowed);
  EXPECT_TRUE(check("http://box.local:18789", "box.local:18789", false).allowed);
  EXPECT_TRUE(check("https://gw.tail1234.ts.net", "gw.tail1234.ts.net", false).allowed);
}

TEST(BrowserOrigin, SameHostOnAPublicNameNeedsTheAllowlistOrTheFallback) {
  EXPECT_FALSE(check("https://chat.example.com", "chat.example.com", false).allowed);
  BrowserOriginPolicy listed{{"https://chat.example.com"}, false};
  auto d = check("https://chat.example.com", "chat.example.com", false, listed);
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(originMatchName(d.matchedBy), "allowlist");
  BrowserOriginPolicy fallback{{}, true};
  d = check("https://chat.example.com", "chat.example.com", false, fallback);
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(originMatchName(d.matchedBy), "host-header-fallback");
  // The fallback is by host: another host is still refused.
  EXPECT_FALSE(check("https://evil.example", "chat.example.com", false, fallback).allowed);
}

TEST(BrowserOrigin, AllowlistMatchesTheNormalisedOriginAndStar) {
  BrowserOriginPolicy listed{{"https://chat.example.com"}, false};
  EXPECT_TRUE(check("HTTPS://Chat.Example.com:443/", "gw.internal", false, listed).allowed);
  EXPECT_FALSE(check("https://chat.example.com:8443", "gw.internal", false, listed).allowed);
  BrowserOriginPolicy star{{"*"}, false};
  EXPECT_TRUE(check("https://anything.example", "gw.internal", false, star).allowed);
}

TEST(BrowserOrigin, MalformedOriginsAreRefusedAsInvalid) {
  BrowserOriginPolicy star{{"*"}, false};
  for (std::string_view bad : {"null", "", "   ", "http://", "http:///", "http:/", "://a", "http://a/b", "http://u:p@a",
                               "file:///x", "1http://a"}) {
    auto d = check(bad, "127.0.0.1:18789", true, star);
    EXPECT_FALSE(d.allowed) << bad;
    EXPECT_EQ(d.reason, "origin missing or invalid") << bad;
  }
}

TEST(BrowserOrigin, HostHelpers) {
  EXPECT_EQ(hostNameOf("[::1]:80"), "::1");
  EXPECT_EQ(hostNameOf("Example.COM:8080"), "example.com");
  EXPECT_EQ(hostNameOf("::1"), "::1");
  EXPECT_TRUE(isLoopbackHost("localhost."));
  EXPECT_TRUE(isLoopbackHost("127.3.4.5"));
  EXPECT_FALSE(isLoopbackHost("10.0.0.1"));
  EXPECT_TRUE(isPrivateOrLoopbackAddress("172.20.0.1"));
  EXPECT_TRUE(isPrivateOrLoopbackAddress("fd12::1"));
  EXPECT_TRUE(isPrivateOrLoopbackAddress("100.100.1.1"));
  EXPECT_FALSE(isPrivateOrLoopbackAddress("8.8.8.8"));
  EXPECT_FALSE(isPrivateOrLoopbackAddress("example.com"));
}

}  // namespace
}  // namespace talon::security
