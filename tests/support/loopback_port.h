#pragma once
// Loopback ports for the tests that start a real server as a child process (ngircd_server.h,
// mosquitto_server.h, smtp_server.h): one to give it, a check that it listens, and the child process
// itself (started with its output in a log file, waited for until it listens, killed).
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"

namespace talon::testing {

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read back, released). Errors:
/// kIo when no socket can be bound.
Result<uint16_t> freeLoopbackPort();

/// True when something accepts a TCP connection on 127.0.0.1:`port` now.
bool acceptsOnLoopback(uint16_t port);

/// Starts `argv` (argv[0]: the executable's path) as a child process with stdout and stderr appended to
/// `logPath`, then waits (polling, at most 10 s) until every port of `ports` accepts on 127.0.0.1.
/// Returns the child's pid. Errors (naming `name` and quoting the log): kUnavailable when the child
/// exits first or does not listen in time (it is killed); kIo when fork() fails.
Result<pid_t> startLoopbackServer(const std::string& name, const std::vector<std::string>& argv,
                                  const std::string& logPath, const std::vector<uint16_t>& ports);

/// Kills `pid` (SIGKILL) and reaps it; sets it to -1. Nothing when it is already ≤ 0.
void killLoopbackServer(pid_t& pid);

}  // namespace talon::testing
