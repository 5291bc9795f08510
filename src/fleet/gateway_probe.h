#pragma once
// Live HTTP probes of a deployed gateway: GET /readyz on its port (the protocol `health` call is in
// gateway_health.h). The fleet reaches gateways only through their public interfaces (ARCHITECTURE.md).
// Blocks the calling thread for at most the timeout; thread-safe (each call runs its own io_context).
#include <chrono>
#include <string>

#include "base/error.h"

namespace talon::fleet {

struct ProbeResult {
  /// The HTTP status; 0 when no response arrived.
  int status = 0;
  /// Why no response arrived (connect refused, timeout), when status is 0.
  std::string error;
  bool ok() const { return status == 200; }
};

/// GET http://<host>:<port><path>, within `timeout`. Never fails: a failure is a ProbeResult with status 0.
ProbeResult probeHttp(const std::string& host, int port, const std::string& path, std::chrono::milliseconds timeout);

/// The host to probe a gateway on for its `bind` setting: 127.0.0.1 for loopback, lan, auto and tailnet
/// (a gateway bound to every interface answers there too), else `customBindHost`.
std::string probeHost(const std::string& bind, const std::string& customBindHost);

}  // namespace talon::fleet
