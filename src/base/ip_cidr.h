#pragma once
// IP addresses and CIDR ranges as text ("10.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"), for the
// gateway's trusted proxies. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are treated as IPv4.
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace talon {

/// A parsed address: 4 bytes (IPv4) or 16 (IPv6) in network order.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool v4 = false;

  /// Parses an IPv4 or IPv6 literal (inet_pton), also "[::1]"; nullopt for anything else (names,
  /// ports, zones).
  static std::optional<IpAddress> parse(std::string_view text);
  bool isLoopback() const;
};

/// An address range: an address with a prefix length (a plain address is /32 or /128).
struct IpCidr {
  IpAddress base;
  int prefix = 0;

  /// Parses "address" or "address/prefix" (0..32 for IPv4, 0..128 for IPv6); nullopt otherwise.
  static std::optional<IpCidr> parse(std::string_view text);
  /// True when `address` is in the range (an IPv4 address never matches an IPv6 range and back).
  bool contains(const IpAddress& address) const;
};

}  // namespace talon
