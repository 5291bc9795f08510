#pragma once
// Who the client of a request is when reverse proxies stand in front of the gateway
// (`gateway.trustedProxies`, `gateway.allowRealIpFallback`). OpenClaw's semantics (2026.9.6
// dist/net-*.mjs resolveClientIp, isLocalDirectRequest):
//  - a peer that is not a trusted proxy is the client; its forwarded headers are ignored;
//  - from a trusted proxy, X-Forwarded-For is walked from the right, skipping loopback and trusted
//    hops: the first other address is the client; failing that, X-Real-IP when allowRealIpFallback;
//    failing that, Talon keeps the proxy's own address (OpenClaw's "unknown": one bucket either way);
//  - a request is loopback (local, direct) only when the peer is loopback and it carries no
//    forwarded-identity header (Forwarded, X-Real-IP, X-Forwarded-*), trusted proxy or not.
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/ip_cidr.h"

namespace talon::net {

/// The parsed `gateway.trustedProxies`. Immutable after parse(); any thread.
class TrustedProxies {
 public:
  TrustedProxies() = default;
  /// Each entry an address or CIDR range (base/ip_cidr.h). Errors: kConfigInvalid naming the first
  /// entry that is neither.
  static Result<TrustedProxies> parse(const std::vector<std::string>& entries);
  bool contains(std::string_view address) const;
  bool empty() const { return ranges_.empty(); }

 private:
  std::vector<IpCidr> ranges_;
};

/// The client of one request.
struct ClientAddress {
  std::string address;
  bool isLoopback = false;
};

/// What the request carries that matters here.
struct ForwardedHeaders {
  std::string_view forwardedFor;  // X-Forwarded-For, "" when absent
  std::string_view realIp;        // X-Real-IP, "" when absent
  /// Any of Forwarded, X-Real-IP, X-Forwarded-* is present.
  bool any = false;
};

/// The client of a request from socket peer `peer` (see the file comment for the rules).
ClientAddress resolveClientAddress(std::string_view peer, bool peerIsLoopback, const ForwardedHeaders& headers,
                                   const TrustedProxies& proxies, bool allowRealIpFallback);

}  // namespace talon::net
