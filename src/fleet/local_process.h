#pragma once
// Local processes for the fleet: running a short command to completion (git) and starting a long-lived
// one detached from the caller (a gateway), with its pid recorded so that another `talon fleet` run can
// find, check and stop it. POSIX (fork/exec, /proc). Thread-safe: no shared state.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace talon::fleet {

/// What a command printed and how it exited.
struct CommandOutput {
  /// The exit code; -1 when it was killed by a signal.
  int exitCode = -1;
  std::string out;
  std::string err;
};

/// Runs `argv` (argv[0] looked up in PATH) in `workingDir` with stdin /dev/null, waits for it and returns
/// its output (each stream bounded to 1 MiB). Errors: kNotFound when argv[0] cannot be executed; kIo when
/// fork or a pipe fails. A non-zero exit is not an error: look at exitCode.
Result<CommandOutput> runCommand(const std::vector<std::string>& argv, const std::filesystem::path& workingDir);

/// A process identity that survives pid reuse: the pid and its start time (clock ticks since boot,
/// field 22 of /proc/<pid>/stat).
struct ProcessId {
  int pid = 0;
  uint64_t startTicks = 0;
};

/// How to start a detached process.
struct DetachedSpec {
  /// argv[0] is an absolute path.
  std::vector<std::string> argv;
  /// Added to (and overriding) the caller's environment.
  std::map<std::string, std::string> env;
  /// Removed from the caller's environment (e.g. variables that would override the config).
  std::vector<std::string> unsetEnv;
  std::filesystem::path workingDir;
  /// stdout and stderr are appended here (created 0600).
  std::filesystem::path logPath;
};

/// Starts `spec` in a new session (double fork: the process is not the caller's child and outlives it),
/// stdin /dev/null. Returns once exec succeeded. Errors: kNotFound / kPermissionDenied when exec fails
/// (with the reason), kIo when the log cannot be opened or fork fails.
Result<ProcessId> startDetached(const DetachedSpec& spec);

/// True when the process `id` names still runs (exists, same start time, not a zombie).
bool processAlive(const ProcessId& id);

/// Sends SIGTERM and waits up to `grace` for the process to exit, then SIGKILL (and waits up to 5 s
/// more). Returns true when the process is gone. Blocks the calling thread (polls every 50 ms).
bool terminateProcess(const ProcessId& id, std::chrono::milliseconds grace);

/// Writes "<pid> <startTicks>\n" atomically (durable), mode 0600. Errors: kIo.
Status writePidFile(const std::filesystem::path& path, const ProcessId& id);
/// Reads a pid file; nullopt when it does not exist. Errors: kInvalidArgument for a malformed file (named),
/// kIo when unreadable.
Result<std::optional<ProcessId>> readPidFile(const std::filesystem::path& path);

/// The last `lines` lines of the file at `path` (all when it has fewer); "" when it does not exist.
/// Reads at most the last 4 MiB.
std::string tailFile(const std::filesystem::path& path, std::size_t lines);

}  // namespace talon::fleet
