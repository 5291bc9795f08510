// The built-in deployers, one line each: a new provider is a new file under fleet/deployers/ and a line here.
#include "fleet/deployer.h"
#include "fleet/deployers/compose_deployer.h"
#include "fleet/deployers/kubernetes_deployer.h"
#include "fleet/deployers/process_deployer.h"
#include "fleet/deployers/ssh_deployer.h"

namespace talon::fleet {

std::span<const DeployerRegistration> builtinDeployers() {
  static const DeployerRegistration kDeployers[] = {
      {"process", &createProcessDeployer},
      {"ssh", &createSshDeployer},
      {"compose", &createComposeDeployer},
      {"kubernetes", &createKubernetesDeployer},
  };
  return kDeployers;
}

}  // namespace talon::fleet
