#include "base/ip_cidr.h"

#include <gtest/gtest.h>

namespace talon {
namespace {

bool in(std::string_view range, std::string_view address) {
  auto c = IpCidr::parse(range);
  auto a = IpAddress::parse(address);
  return c && a && c->contains(*a);
}

TEST(IpCidr, PlainAddressesAndRanges) {
  EXPECT_TRUE(in("10.0.0.1", "10.0.0.1"));
  EXPECT_FALSE(in("10.0.0.1", "10.0.0.2"));
  EXPECT_TRUE(in("10.0.0.0/8", "10.200.3.4"));
  EXPECT_FALSE(in("10.0.0.0/8", "11.0.0.1"));
  EXPECT_TRUE(in("192.168.1.0/25", "192.168.1.127"));
  EXPECT_FALSE(in("192.168.1.0/25", "192.168.1.128"));
  EXPECT_TRUE(in("0.0.0.0/0", "8.8.8.8"));
  EXPECT_TRUE(in("fd00::/8", "fd12::1"));
  EXPECT_FALSE(in("fd00::/8", "fe80::1"));
  EXPECT_TRUE(in("::1", "[::1]"));
  // IPv4-mapped IPv6 is IPv4; the families never match each other otherwise.
  EXPECT_TRUE(in("10.0.0.0/8", "::ffff:10.1.2.3"));
  EXPECT_FALSE(in("::/0", "10.1.2.3"));
}

TEST(IpCidr, RejectsWhatIsNotAnAddressOrRange) {
  for (auto bad : {"", "proxy.example", "10.0.0.1:80", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "1.2.3"}) {
    EXPECT_FALSE(IpCidr::parse(bad)) << bad;
  }
}

TEST(IpAddress, Loopback) {
  EXPECT_TRUE(IpAddress::parse("127.0.0.1")->isLoopback());
  EXPECT_TRUE(IpAddress::parse("127.9.9.9")->isLoopback());
  EXPECT_TRUE(IpAddress::parse("::1")->isLoopback());
  EXPECT_TRUE(IpAddress::parse("::ffff:127.0.0.1")->isLoopback());
  EXPECT_FALSE(IpAddress::parse("10.0.0.1")->isLoopback());
  EXPECT_FALSE(IpAddress::parse("::2")->isLoopback());
}

}  // namespace
}  // namespace talon
