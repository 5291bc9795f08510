#pragma once
// The browser-origin policy of WebSocket connects: a connect whose upgrade request carries an `Origin`
// header (a web page opened the socket) is refused unless that origin is allowed, so a page on another
// site cannot drive the gateway from a user's browser (cross-site WebSocket hijacking). Source:
// OpenClaw 2026.9.6 dist/origin-check-*.mjs (checkBrowserOrigin, isTrustedSameOriginHost),
// dist/ws-origin-policy-*.mjs and dist/node-connect-reconcile-*.mjs (enforceOriginCheckForAnyClient: any
// client whose request has an Origin header is checked), dist/net-*.mjs (host and address helpers).
//
// Pure functions: no I/O, any thread.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace talon::security {

/// The inputs of one decision, as the transport saw the upgrade request.
struct BrowserOriginRequest {
  /// The `Origin` header value ("" when absent: not a browser, never checked).
  std::string_view origin;
  /// The `Host` header value ("127.0.0.1:18789").
  std::string_view host;
  /// The peer connected directly from loopback without forwarded-identity headers
  /// (net::HttpRequest::remoteIsLoopback).
  bool isLocalClient = false;
};

/// The policy: `gateway.controlUi.allowedOrigins` (normalised: lower case, no trailing '/'; "*" allows
/// every origin) and `gateway.controlUi.dangerouslyAllowHostHeaderOriginFallback`.
struct BrowserOriginPolicy {
  std::vector<std::string> allowedOrigins;
  bool allowHostHeaderOriginFallback = false;
};

/// What allowed an origin (OpenClaw's matchedBy names).
enum class OriginMatch {
  kAllowlist,           // "allowlist": listed in allowedOrigins (or "*")
  kHostHeaderFallback,  // "host-header-fallback": same host as the Host header, by the dangerous switch
  kPrivateSameOrigin,   // "private-same-origin": same host as the Host header, a loopback/private/.local/.ts.net host
  kLocalLoopback,       // "local-loopback": a loopback page origin from a direct loopback client
};

/// The decision: `allowed` with what matched, or refused with OpenClaw's reason ("origin missing or
/// invalid", "origin not allowed").
struct OriginDecision {
  bool allowed = false;
  OriginMatch matchedBy = OriginMatch::kAllowlist;
  std::string reason;
};

/// OpenClaw's name of `m` ("allowlist", "host-header-fallback", "private-same-origin", "local-loopback").
std::string_view originMatchName(OriginMatch m);

/// Checks a browser `Origin` against the policy in OpenClaw's order: allowlist, Host-header fallback,
/// same host as the Host header when that host is trusted (loopback from a local client; a private or
/// loopback IP; a `.local` or `.ts.net` name), then a loopback origin from a local client. An origin that
/// is not `scheme://host[:port]` (e.g. "null", one with a path or user info) is refused as invalid.
OriginDecision checkBrowserOrigin(const BrowserOriginRequest& request, const BrowserOriginPolicy& policy);

/// The host part of a Host header or URL authority without port or brackets, lower-cased
/// ("[::1]:80" → "::1", "Example.COM:8080" → "example.com"; OpenClaw resolveHostName).
std::string hostNameOf(std::string_view hostHeader);

/// A loopback host: "localhost" (trailing dots ignored) or a loopback IP literal (OpenClaw isLoopbackHost).
bool isLoopbackHost(std::string_view hostName);

/// A loopback, private (RFC 1918), link-local or carrier-grade-NAT IPv4 literal, or a loopback,
/// link-local, unique-local or site-local IPv6 literal (OpenClaw isPrivateOrLoopbackAddress).
bool isPrivateOrLoopbackAddress(std::string_view ip);

}  // namespace talon::security
