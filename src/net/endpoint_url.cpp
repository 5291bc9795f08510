#include "net/endpoint_url.h"

#include <fmt/format.h>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace talon::net {

Result<EndpointUrl> parseEndpointUrl(std::string_view text, bool webSocket) {
  auto parsed = boost::urls::parse_absolute_uri(text);
  if (!parsed)
    return fail(ErrorCode::kInvalidArgument, fmt::format("bad URL '{}': {}", text, parsed.error().message()));
  const auto& url = *parsed;
  EndpointUrl out;
  auto scheme = url.scheme();
  if (scheme == (webSocket ? "ws" : "http")) {
    out.secure = false;
  } else if (scheme == (webSocket ? "wss" : "https")) {
    out.secure = true;
  } else {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("bad URL '{}': the scheme must be {}", text, webSocket ? "ws or wss" : "http or https"));
  }
  if (!url.has_authority() || url.encoded_host().empty()) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("bad URL '{}': no host", text));
  }
  if (url.has_userinfo()) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("bad URL '{}': user info is not supported", text));
  }
  auto type = url.host_type();
  out.hostIsAddress = type == boost::urls::host_type::ipv4 || type == boost::urls::host_type::ipv6;
  if (type == boost::urls::host_type::ipvfuture) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("bad URL '{}': unsupported host", text));
  }
  out.host = url.host_address();
  const char* defaultPort = out.secure ? "443" : "80";
  bool explicitPort = url.has_port() && !url.port().empty();
  if (explicitPort) {
    if (url.port_number() == 0) return fail(ErrorCode::kInvalidArgument, fmt::format("bad URL '{}': bad port", text));
    out.port = std::string(url.port());
  } else {
    out.port = defaultPort;
  }
  out.target = std::string(url.encoded_target());
  if (out.target.empty() || out.target[0] != '/') out.target.insert(0, "/");
  std::string hostPart = type == boost::urls::host_type::ipv6 ? "[" + out.host + "]" : out.host;
  out.hostHeader = explicitPort && out.port != defaultPort ? hostPart + ":" + out.port : hostPart;
  out.origin = fmt::format("{}://{}:{}", out.secure ? "https" : "http", hostPart, out.port);
  return out;
}

}  // namespace talon::net
