#include "fleet/gateway_address.h"

#include "fleet/deployer.h"

namespace talon::fleet {

GatewayAddress::GatewayAddress(std::string host, int port, std::string via, std::function<void()> release)
    : host_(std::move(host)), port_(port), via_(std::move(via)), release_(std::move(release)) {}

GatewayAddress::~GatewayAddress() { release(); }

GatewayAddress::GatewayAddress(GatewayAddress&& other) noexcept
    : host_(std::move(other.host_)),
      port_(other.port_),
      via_(std::move(other.via_)),
      release_(std::exchange(other.release_, nullptr)) {}

GatewayAddress& GatewayAddress::operator=(GatewayAddress&& other) noexcept {
  if (this != &other) {
    release();
    host_ = std::move(other.host_);
    port_ = other.port_;
    via_ = std::move(other.via_);
    release_ = std::exchange(other.release_, nullptr);
  }
  return *this;
}

std::string GatewayAddress::text() const {
  std::string h = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
  return h + ":" + std::to_string(port_);
}

void GatewayAddress::release() {
  if (auto r = std::exchange(release_, nullptr)) r();
}

Result<GatewayAddress> reachGateway(Deployer* deployer, const DeployTarget& target, const DeployContext& context) {
  if (deployer == nullptr) return GatewayAddress(target.probeHost, target.port, "direct");
  return deployer->gatewayAddress(target, context);
}

}  // namespace talon::fleet
