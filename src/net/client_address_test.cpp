#include "net/client_address.h"

#include <gtest/gtest.h>

namespace talon::net {
namespace {

TrustedProxies proxies(std::vector<std::string> entries) {
  auto p = TrustedProxies::parse(entries);
  EXPECT_TRUE(p) << p.error().toString();
  return p ? *p : TrustedProxies{};
}

TEST(ClientAddress, ForwardedHeadersFromAnUntrustedPeerAreIgnored) {
  auto c =
      resolveClientAddress("203.0.113.9", false, {"198.51.100.1", "198.51.100.2", true}, proxies({"10.0.0.1"}), true);
  EXPECT_EQ(c.address, "203.0.113.9");
  EXPECT_FALSE(c.isLoopback);
  // Nothing trusted at all: the same.
  c = resolveClientAddress("203.0.113.9", false, {"198.51.100.1", "", true}, {}, false);
  EXPECT_EQ(c.address, "203.0.113.9");
}

TEST(ClientAddress, TrustedProxyNamesTheRightmostUntrustedHop) {
  auto trusted = proxies({"10.0.0.0/8", "fd00::/8"});
  // client, then a spoofed entry the client wrote, then our own second proxy: the rightmost untrusted wins.
  auto c = resolveClientAddress("10.0.0.1", false, {"6.6.6.6, 198.51.100.7:5555, 10.0.0.2", "", true}, trusted, false);
  EXPECT_EQ(c.address, "198.51.100.7");
  EXPECT_FALSE(c.isLoopback);
  c = resolveClientAddress("fd00::5", false, {"[2001:db8::1]:443, 127.0.0.1", "", true}, trusted, false);
  EXPECT_EQ(c.address, "2001:db8::1");
}

TEST(ClientAddress, RealIpOnlyWithTheFallbackAndOtherwiseTheProxyItself) {
  auto trusted = proxies({"10.0.0.1"});
  auto c = resolveClientAddress("10.0.0.1", false, {"", "198.51.100.3", true}, trusted, false);
  EXPECT_EQ(c.address, "10.0.0.1");
  c = resolveClientAddress("10.0.0.1", false, {"garbage, 10.0.0.1", "198.51.100.3", true}, trusted, true);
  EXPECT_EQ(c.address, "198.51.100.3");
}

TEST(ClientAddress, LoopbackOnlyWhenDirectWithoutForwardedHeaders) {
  EXPECT_TRUE(resolveClientAddress("127.0.0.1", true, {}, {}, false).isLoopback);
  // A local reverse proxy (trusted or not) forwarding a remote client is not a local client.
  auto c = resolveClientAddress("127.0.0.1", true, {"198.51.100.4", "", true}, proxies({"127.0.0.1"}), false);
  EXPECT_EQ(c.address, "198.51.100.4");
  EXPECT_FALSE(c.isLoopback);
  EXPECT_FALSE(resolveClientAddress("127.0.0.1", true, {"", "", true}, {}, false).isLoopback);
}

TEST(ClientAddress, BadTrustedProxyEntryIsAConfigError) {
  auto p = TrustedProxies::parse({"10.0.0.1", "proxy.internal"});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, ErrorCode::kConfigInvalid);
  EXPECT_NE(p.error().message.find("\"proxy.internal\""), std::string::npos);
}

}  // namespace
}  // namespace talon::net
