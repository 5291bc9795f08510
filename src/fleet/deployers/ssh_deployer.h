#pragma once
// The `ssh` provider (docs/fleet.md "The ssh provider"): a gateway on a remote Linux host reached with the
// operator's OpenSSH client (ssh_connection.h). On the host, under the gateway's `ssh.remoteDir` (default
// `~/.talon-fleet/<id>`):
//   bin/talon      the Talon runtime's binary (this talon, or the version catalog's), replaced when its
//                  SHA-256 differs; an OpenClaw-runtime gateway uses the host's own `openclaw` instead
//   gateway.env    the variables the rendered config references ("${VAR}"), from the operator's
//                  environment, mode 0600 (only when the config references any)
//   run.sh         the launcher of `service: "detached"`; gateway.pid and gateway.log beside it
// The rendered config goes to the gateway's configPath (temp file + mv, mode 0600), and with
// `service: "systemd"` the unit `talon-gateway-<id>.service` to ~/.config/systemd/user/ (managed with
// `systemctl --user`), or to /etc/systemd/system/ when the ssh user is root.
#include <string>

#include "base/json.h"
#include "fleet/deployer.h"

namespace talon::fleet {

/// A gateway's effective `ssh` settings with their defaults.
struct SshSettings {
  /// "" : ssh's default (the ssh config's User, else the local login name).
  std::string user;
  /// 0: ssh's default (the ssh config's Port, else 22).
  int port = 0;
  std::string identityFile;
  std::string knownHostsFile;
  /// "yes" | "accept-new".
  std::string strictHostKeyChecking = "yes";
  /// As written; "" means `~/.talon-fleet/<gatewayId>`. A leading "~/" is the remote user's home.
  std::string remoteDir;
  /// "systemd" | "detached".
  std::string service = "systemd";
  /// ssh's ConnectTimeout, seconds.
  int connectTimeoutSeconds = 10;
};

/// The `ssh` settings of a gateway's effective layered keys (DeployTarget::settings), defaults filled in.
/// The inventory schema has validated types and enums already.
SshSettings sshSettings(const json::object& gatewaySettings);

/// What a systemd unit or a launcher needs to know about the gateway on its host.
struct RemoteGatewayLayout {
  std::string gatewayId;
  /// "talon" | "openclaw".
  std::string runtime;
  /// The remote dir, absolute ("~/" resolved).
  std::string remoteDir;
  /// The executable on the host.
  std::string binary;
  std::string stateDir;
  std::string configPath;
  /// systemd: a system unit (root) rather than a user unit.
  bool systemUnit = false;
  /// TimeoutStopSec: how long stop waits after SIGTERM, seconds.
  long stopGraceSeconds = 15;
};

/// "talon-gateway-<id>.service".
std::string sshUnitName(const std::string& gatewayId);

/// The text of the gateway's systemd unit (docs/fleet.md "The ssh provider": the unit). Environment:
/// TALON_STATE_DIR (talon) or OPENCLAW_STATE_DIR + OPENCLAW_CONFIG_PATH (openclaw), EnvironmentFile
/// `<remoteDir>/gateway.env` (optional), the variables that would override the render unset; restarted on
/// failure; logs to the journal.
std::string sshSystemdUnit(const RemoteGatewayLayout& layout);

/// The text of `<remoteDir>/run.sh`, the launcher of `service: "detached"`: the same environment as the
/// unit; records "<pid> <start time in clock ticks>" in `<remoteDir>/gateway.pid` and execs the gateway.
std::string sshLauncherScript(const RemoteGatewayLayout& layout);

/// A new ssh deployer. One SSH connection per host is kept open (ControlMaster) for the deployer's
/// lifetime and closed when it is destroyed.
DeployerPtr createSshDeployer();

}  // namespace talon::fleet
