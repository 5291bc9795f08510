#pragma once
// What the compose and kubernetes deployers share: finding their CLI on PATH, running it with a readable
// error when it fails, the checks every container target passes, and writing the rendered manifest under
// the fleet state dir. Blocking; no shared state.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fleet/deployer.h"
#include "fleet/local_process.h"

namespace talon::fleet {

/// The first executable file named `name` in the directories of `pathVariable` (a PATH value); nullopt
/// when there is none.
std::optional<std::filesystem::path> findExecutableInPath(std::string_view name, std::string_view pathVariable);

/// `argv` joined by spaces, each word with spaces or quotes single-quoted (for messages and logs).
std::string commandLineText(const std::vector<std::string>& argv);

/// Runs `argv` in `workingDir`. Errors: kNotFound when argv[0] cannot be executed; kUnavailable when it
/// exits non-zero, with the command line and the last lines of its stderr (else stdout) in the message.
Result<CommandOutput> runDeployCommand(const std::vector<std::string>& argv, const std::filesystem::path& workingDir);

/// The checks every compose/kubernetes target passes before the CLI is asked anything: the target's
/// provider is `provider`, its manifest was rendered (else the render's error), it has a port, and its
/// config binds beyond the container's loopback (gateway.bind "lan", "auto" or "custom": a gateway on
/// the container's loopback is unreachable through the published port or the Service). Errors:
/// kConfigInvalid (the manifest could not be rendered, a loopback bind) or kInvalidArgument (no port, another
/// provider), naming the gateway and what to change.
Status checkContainerTarget(const DeployTarget& target, std::string_view provider);

/// Writes the target's config (`openclaw.json`) and manifest (`fileName`) into `dir` (created mode 0700;
/// files written atomically with `mode`). Returns whether either file's content changed. Errors: kIo
/// naming the file.
Result<bool> writeDeployFiles(const DeployTarget& target, const std::filesystem::path& dir, std::string_view fileName,
                              unsigned mode);

}  // namespace talon::fleet
