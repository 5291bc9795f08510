#pragma once
// Where this machine reaches a deployed gateway's protocol port (HTTP probes and the WebSocket protocol):
// directly at `<probeHost>:<port>` for the providers whose gateways this machine can reach, or through a
// port forward over the gateway's ssh connection for the `ssh` provider (docs/fleet.md "The ssh provider",
// "Protocol access"). Every protocol or HTTP access of the fleet to a gateway goes through reachGateway():
// `fleet status`'s calls, `fleet drift`, the rollout gates (/readyz, `health`, the probe turn).
//
// Thread rules: a GatewayAddress is used by one thread at a time; it must not outlive the Deployer that
// opened it (a tunnel lives on that deployer's ssh connection).
#include <functional>
#include <string>

#include "base/error.h"

namespace talon::fleet {

class Deployer;
struct DeployTarget;
struct DeployContext;

/// An open way to a gateway's protocol port: while this object lives, host():port() leads to the gateway.
/// Move-only; the destructor closes what was opened for it (e.g. cancels an ssh port forward).
class GatewayAddress {
 public:
  /// `via`: "direct" or "ssh-tunnel". `release` (may be empty) runs once, when the address is dropped.
  GatewayAddress(std::string host, int port, std::string via, std::function<void()> release = {});
  ~GatewayAddress();
  GatewayAddress(GatewayAddress&& other) noexcept;
  GatewayAddress& operator=(GatewayAddress&& other) noexcept;
  GatewayAddress(const GatewayAddress&) = delete;
  GatewayAddress& operator=(const GatewayAddress&) = delete;

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  /// "direct" (the gateway's own address) or "ssh-tunnel" (a local forward over its ssh connection).
  const std::string& via() const { return via_; }
  /// "host:port" ("[v6]:port" for an IPv6 literal).
  std::string text() const;
  /// Closes it now (idempotent).
  void release();

 private:
  std::string host_;
  int port_ = 0;
  std::string via_;
  std::function<void()> release_;
};

/// The address to reach `target` at: its deployer's Deployer::gatewayAddress() (a tunnel for ssh), or
/// `target.probeHost:target.port` directly when `deployer` is null. Errors (naming the gateway and its
/// host): kUnavailable when a tunnel cannot be opened, with ssh's stderr.
Result<GatewayAddress> reachGateway(Deployer* deployer, const DeployTarget& target, const DeployContext& context);

}  // namespace talon::fleet
