#pragma once
// Loopback ports for the tests that start a real server as a child process (ngircd_server.h,
// smtp_server.h): one to give it, and a check that it listens.
#include <cstdint>

#include "base/error.h"

namespace talon::testing {

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read back, released). Errors:
/// kIo when no socket can be bound.
Result<uint16_t> freeLoopbackPort();

/// True when something accepts a TCP connection on 127.0.0.1:`port` now.
bool acceptsOnLoopback(uint16_t port);

}  // namespace talon::testing
