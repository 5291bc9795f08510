#pragma once
// The gateway lock: one running gateway per state dir. A second `talon gateway run` on the same state
// dir refuses to start (kAlreadyExists, CLI exit code 78) with a message naming the holder.
//
// How: an exclusive, non-blocking flock(2) on <stateDir>/gateway.lock, held for the life of the
// gateway, with the holder's pid, start time (ms since the epoch) and port written into the file as
// JSON. The kernel releases a flock when its last file descriptor closes, which includes the process
// being killed (SIGKILL, OOM, crash): a lock left by a dead process is therefore never held, and the
// next gateway takes it over at once and rewrites the content. The file itself is never deleted
// (deleting it would let two processes hold locks on two different inodes of the same name); a file
// whose pid is dead and whose lock is free is what `talon doctor` reports as a stale lock.
// OpenClaw keeps a comparable lock (dist/gateway-lock-*.mjs, payload {pid, createdAt, port, ...}) and
// exits with code 78 (EX_CONFIG) when a gateway already runs, so a supervisor's Restart=always does not
// loop.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "base/error.h"

namespace talon::gateway {

/// What the lock file says about its (last) holder.
struct GatewayLockOwner {
  int64_t pid = 0;
  int64_t startedAtMs = 0;  // ms since the Unix epoch
  int port = 0;             // 0 until the gateway is listening
};

/// The held lock. Releasing it (destruction) closes the descriptor, which drops the flock.
/// Thread rules: setPort() from one thread at a time; the object is otherwise immutable.
class GatewayLock {
 public:
  /// The lock file's name in the state dir.
  static constexpr const char* kFileName = "gateway.lock";

  /// Takes the lock of `stateDir` (which must exist) for this process and writes `owner` into it.
  /// Errors: kAlreadyExists "another gateway (pid N, port P) is running with state dir D (lock file F held)"
  /// when another open file description holds it (another process, or another gateway in this one);
  /// kIo with the path and the OS reason when the file cannot be opened or written (e.g. a read-only
  /// state dir).
  static Result<std::unique_ptr<GatewayLock>> acquire(const std::filesystem::path& stateDir,
                                                      const GatewayLockOwner& owner);
  ~GatewayLock();
  GatewayLock(const GatewayLock&) = delete;
  GatewayLock& operator=(const GatewayLock&) = delete;

  /// Records the bound port in the lock file (for the message a second gateway prints). Errors: kIo.
  Status setPort(int port);
  const std::filesystem::path& path() const { return path_; }

 private:
  GatewayLock(int fd, std::filesystem::path path, GatewayLockOwner owner)
      : fd_(fd), path_(std::move(path)), owner_(owner) {}
  Status write();

  int fd_;
  std::filesystem::path path_;
  GatewayLockOwner owner_;
};

/// The state of a state dir's lock as seen from outside (for `talon doctor`).
struct GatewayLockProbe {
  bool fileExists = false;
  bool held = false;                      // some process holds the flock now
  std::optional<GatewayLockOwner> owner;  // parsed content, when readable
  bool ownerAlive = false;                // owner->pid names a live process
};

/// Looks at <stateDir>/gateway.lock without keeping it: whether it exists, whether it is held (tried
/// with a non-blocking shared flock, released at once) and what it says. Errors: kIo when it exists
/// but cannot be opened.
Result<GatewayLockProbe> probeGatewayLock(const std::filesystem::path& stateDir);

}  // namespace talon::gateway
