#include "gateway/gateway_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/json.h"

namespace talon::gateway {
namespace {

std::string errnoText(int e) { return std::strerror(e); }

/// The lock file's content (at most 4 KiB read); nullopt when it is not the JSON this file writes.
std::optional<GatewayLockOwner> readOwner(int fd) {
  char buf[4096];
  ssize_t n = ::pread(fd, buf, sizeof buf, 0);
  if (n <= 0) return std::nullopt;
  auto parsed = parseJson(std::string_view(buf, static_cast<std::size_t>(n)));
  if (!parsed || !parsed->is_object()) return std::nullopt;
  const auto& o = parsed->as_object();
  GatewayLockOwner owner;
  owner.pid = getInt(o, "pid").value_or(0);
  owner.startedAtMs = getInt(o, "startedAtMs").value_or(0);
  owner.port = static_cast<int>(getInt(o, "port").value_or(0));
  if (owner.pid <= 0) return std::nullopt;
  return owner;
}

bool processAlive(int64_t pid) { return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

}  // namespace

Result<std::unique_ptr<GatewayLock>> GatewayLock::acquire(const std::filesystem::path& stateDir,
                                                          const GatewayLockOwner& owner) {
  auto path = stateDir / kFileName;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    int e = errno;
    return fail(ErrorCode::kIo, fmt::format("cannot open the gateway lock file {}: {}", path.string(), errnoText(e)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    if (e == EWOULDBLOCK) {
      auto holder = readOwner(fd);
      ::close(fd);
      std::string who = holder ? fmt::format("pid {}{}", holder->pid,
                                             holder->port > 0 ? fmt::format(", port {}", holder->port) : std::string())
                               : std::string("unknown pid");
      return fail(ErrorCode::kAlreadyExists,
                  fmt::format("another gateway ({}) is already running with state dir {} (it holds the lock {}); "
                              "stop it first, or give this one another state dir (TALON_STATE_DIR)",
                              who, stateDir.string(), path.string()),
                  "another gateway is already running with this state dir");
    }
    ::close(fd);
    return fail(ErrorCode::kIo, fmt::format("cannot lock {}: {}", path.string(), errnoText(e)));
  }
  std::unique_ptr<GatewayLock> lock(new GatewayLock(fd, std::move(path), owner));
  if (auto s = lock->write(); !s) return fail(s.error());
  return lock;
}

GatewayLock::~GatewayLock() {
  if (fd_ >= 0) ::close(fd_);  // drops the flock
}

Status GatewayLock::setPort(int port) {
  owner_.port = port;
  return write();
}

Status GatewayLock::write() {
  json::object o{{"pid", owner_.pid}, {"startedAtMs", owner_.startedAtMs}, {"port", owner_.port}};
  std::string text = toJson(o) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    int e = errno;
    return fail(ErrorCode::kIo, fmt::format("cannot write the gateway lock file {}: {}", path_.string(), errnoText(e)));
  }
  return {};
}

Result<GatewayLockProbe> probeGatewayLock(const std::filesystem::path& stateDir) {
  GatewayLockProbe probe;
  auto path = stateDir / GatewayLock::kFileName;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return probe;
    return fail(ErrorCode::kIo, fmt::format("cannot open {}: {}", path.string(), errnoText(e)));
  }
  probe.fileExists = true;
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0) {
    probe.held = errno == EWOULDBLOCK;
  } else {
    ::flock(fd, LOCK_UN);
  }
  probe.owner = readOwner(fd);
  ::close(fd);
  probe.ownerAlive = probe.owner && processAlive(probe.owner->pid);
  return probe;
}

}  // namespace talon::gateway
