#include "base/file_io.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

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
  auto staged = StagedFile::stage(path, data, mode, durability);
  if (!staged) return fail(staged.error());
  return staged->commit();
}

Result<StagedFile> StagedFile::stage(const std::filesystem::path& path, std::string_view data, unsigned mode,
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
  StagedFile out;
  out.path_ = path;
  out.tmp_ = std::move(tmp);
  out.durability_ = durability;
  return out;
}

StagedFile::StagedFile(StagedFile&& other) noexcept
    : path_(std::move(other.path_)), tmp_(std::exchange(other.tmp_, {})), durability_(other.durability_) {}

StagedFile& StagedFile::operator=(StagedFile&& other) noexcept {
  if (this != &other) {
    if (!tmp_.empty()) ::unlink(tmp_.c_str());
    path_ = std::move(other.path_);
    tmp_ = std::exchange(other.tmp_, {});
    durability_ = other.durability_;
  }
  return *this;
}

StagedFile::~StagedFile() {
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

Status StagedFile::commit() {
  if (tmp_.empty()) return fail(ErrorCode::kFailedPrecondition, path_.string() + ": nothing staged");
  auto tmp = std::exchange(tmp_, {});
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return fail(ErrorCode::kIo, fmt::format("cannot rename to {}: {}", path_.string(), std::strerror(e)));
  }
  if (durability_ != FileDurability::kDurable) return {};
  auto dir = path_.parent_path();
  if (dir.empty()) dir = ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace talon
