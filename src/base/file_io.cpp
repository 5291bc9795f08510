#include "base/file_io.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/ids.h"

namespace talon {

Result<std::string> readFile(const std::filesystem::path& path, std::size_t maxBytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return fail(e == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                fmt::format("cannot open {}: {}", path.string(), std::strerror(e)));
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return fail(ErrorCode::kIo, fmt::format("cannot read {}: {}", path.string(), std::strerror(e)));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > maxBytes) {
      ::close(fd);
      return fail(ErrorCode::kResourceExhausted, fmt::format("{} is larger than {} bytes", path.string(), maxBytes));
    }
  }
  ::close(fd);
  return out;
}

Status writeFileAtomic(const std::filesystem::path& path, std::string_view data, unsigned mode,
                       FileDurability durability) {
  const bool durable = durability == FileDurability::kDurable;
  auto dir = path.parent_path();
  if (dir.empty()) dir = ".";
  auto tmp = dir / fmt::format(".{}.tmp-{}", path.filename().string(), randomHex(6));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return fail(ErrorCode::kIo, fmt::format("cannot create {}: {}", tmp.string(), std::strerror(errno)));
  }
  auto cleanup = [&](const char* what) {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return fail(ErrorCode::kIo, fmt::format("cannot {} {}: {}", what, tmp.string(), std::strerror(e)));
  };
  ::fchmod(fd, mode);  // O_CREAT's mode is filtered by the umask; the caller's bits are wanted exactly
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return cleanup("write");
    }
    off += static_cast<std::size_t>(n);
  }
  if (durable && ::fsync(fd) != 0) return cleanup("fsync");
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return fail(ErrorCode::kIo, fmt::format("cannot rename to {}: {}", path.string(), std::strerror(e)));
  }
  if (!durable) return {};
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace talon
