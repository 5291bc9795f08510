#include "fleet/gateway_probe.h"

#include <boost/asio/io_context.hpp>

#include "net/http_client.h"

namespace talon::fleet {

ProbeResult probeHttp(const std::string& host, int port, const std::string& path, std::chrono::milliseconds timeout) {
  boost::asio::io_context io;
  auto client = net::HttpClient::create(io);
  net::ClientRequest request;
  request.url =
      "http://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port) + path;
  request.connectTimeout = timeout;
  request.idleTimeout = timeout;
  request.totalTimeout = timeout;
  ProbeResult result;
  net::ClientHandlers handlers;
  handlers.onHeaders = [&result](int status, const net::Headers&) { result.status = status; };
  handlers.onBody = [](std::string_view) {};
  handlers.onComplete = [&result](Status s) {
    if (!s && result.status == 0) result.error = s.error().message;
  };
  auto call = client->start(std::move(request), std::move(handlers));
  io.run();
  return result;
}

std::string probeHost(const std::string& bind, const std::string& customBindHost) {
  if (bind == "custom" && !customBindHost.empty() && customBindHost != "0.0.0.0" && customBindHost != "::")
    return customBindHost;
  return "127.0.0.1";
}

}  // namespace talon::fleet
