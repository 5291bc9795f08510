#pragma once
// Internal to src/net: the parts of an absolute http(s):// or ws(s):// URL that a client connects with.
#include <string>
#include <string_view>

#include "base/error.h"

namespace talon::net {

struct EndpointUrl {
  bool secure = false;         // https or wss
  std::string host;            // for DNS / address parsing: "example.com", "127.0.0.1", "::1" (no brackets)
  std::string port;            // "443", explicit or the scheme's default
  std::string target;          // request target: path and query, "/" when empty; never the fragment
  std::string hostHeader;      // Host header (RFC 9110 §7.2): "example.com", "[::1]:8080"
  bool hostIsAddress = false;  // an IP literal (no SNI, verification against the address)
  std::string origin;          // "https://example.com:443": the key of the connection pool
};

/// Parses `url` (RFC 3986, with Boost.URL). `webSocket` selects the ws/wss schemes instead of
/// http/https. Errors: kInvalidArgument for a malformed URL, another scheme, a missing host, or
/// user info (credentials in URLs are refused).
Result<EndpointUrl> parseEndpointUrl(std::string_view url, bool webSocket);

}  // namespace talon::net
