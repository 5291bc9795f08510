#include "gateway/tools/workspace_fs.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "gateway/tools/tool.h"

namespace talon::gateway::tools {
namespace {

constexpr int kMaxSymlinkHops = 40;  // Linux's MAXSYMLINKS

std::string joinComponents(const std::vector<std::string>& parts) {
  if (parts.empty()) return ".";
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

// Applies the segments of a relative path to `base` lexically. False when `..` climbs above the root.
bool applyRelative(std::string_view path, std::vector<std::string>& base) {
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view seg = path.substr(pos, slash - pos);
    pos = slash + 1;
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (base.empty()) return false;
      base.pop_back();
      continue;
    }
    base.emplace_back(seg);
  }
  return true;
}

Error escapeError(std::string_view userPath) {
  return toolError(ErrorCode::kPermissionDenied,
                   fmt::format("Path escapes the workspace: {}. Use a path inside the workspace (relative paths "
                               "are resolved against the workspace root).",
                               userPath));
}

Error ioError(std::string_view what, std::string_view userPath, int err) {
  if (err == EACCES || err == EPERM) {
    return toolError(ErrorCode::kPermissionDenied, fmt::format("Permission denied: {} ({})", userPath, what));
  }
  return toolError(ErrorCode::kIo, fmt::format("Could not {} {}: {}", what, userPath, std::strerror(err)));
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

Result<Workspace> Workspace::open(const std::filesystem::path& root) {
  if (root.empty()) {
    return fail(ErrorCode::kFailedPrecondition, "no workspace directory is set", "no agent workspace is configured");
  }
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(root, ec).lexically_normal();
  if (ec) return fail(ErrorCode::kIo, fmt::format("workspace {}: {}", root.string(), ec.message()));
  int fd = ::open(absolute.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) {
      return fail(ErrorCode::kNotFound, fmt::format("workspace {} does not exist", absolute.string()),
                  "the agent workspace does not exist");
    }
    if (err == ENOTDIR) {
      return fail(ErrorCode::kFailedPrecondition, fmt::format("workspace {} is not a directory", absolute.string()),
                  "the agent workspace is not a directory");
    }
    return fail(ErrorCode::kIo, fmt::format("cannot open workspace {}: {}", absolute.string(), std::strerror(err)),
                "the agent workspace cannot be opened");
  }
  Workspace ws;
  ws.rootFd_ = UniqueFd(fd);
  ws.root_ = absolute;
  // Strip a trailing separator so component-wise comparisons see no empty last element.
  if (!ws.root_.has_filename() && ws.root_ != ws.root_.root_path()) ws.root_ = ws.root_.parent_path();
  ws.canonicalRoot_ = std::filesystem::canonical(ws.root_, ec);
  if (ec) ws.canonicalRoot_ = ws.root_;
  return ws;
}

bool Workspace::relativeToRoot(const std::filesystem::path& absolute, std::vector<std::string>& out) const {
  for (const auto* base : {&root_, &canonicalRoot_}) {
    auto it = absolute.begin();
    bool prefix = true;
    for (const auto& part : *base) {
      if (part.empty()) continue;
      while (it != absolute.end() && it->empty()) ++it;
      if (it == absolute.end() || *it != part) {
        prefix = false;
        break;
      }
      ++it;
    }
    if (!prefix) continue;
    out.clear();
    for (; it != absolute.end(); ++it) {
      if (!it->empty() && *it != ".") out.push_back(it->string());
    }
    return true;
  }
  return false;
}

Result<std::vector<std::string>> Workspace::lexicalComponents(std::string_view userPath) const {
  if (userPath.find('\0') != std::string_view::npos) {
    return fail(toolError(ErrorCode::kInvalidArgument, "Invalid path: it contains a NUL byte."));
  }
  std::string path(userPath);
  // OpenClaw `normalizeFileReferencePrefix`: one leading '@' marks a file reference; "@@x" is the
  // literal name "@x".
  if (!path.empty() && path.front() == '@') {
    path.erase(0, 1);
    if (!path.empty() && path.front() == '@') path = "./" + path;
  }
  if (path.empty()) return fail(toolError(ErrorCode::kInvalidArgument, "A path is required."));
  if (path == "~" || path.starts_with("~/")) {
    const char* home = std::getenv("HOME");
    if (home == nullptr || *home == '\0') return fail(escapeError(userPath));
    path = std::string(home) + path.substr(1);
  }
  std::vector<std::string> parts;
  if (path.front() == '/') {
    if (!relativeToRoot(std::filesystem::path(path).lexically_normal(), parts)) return fail(escapeError(userPath));
    // A normal absolute path has no "..", except leading ones above "/", which lexically_normal drops.
    return parts;
  }
  if (!applyRelative(path, parts)) return fail(escapeError(userPath));
  return parts;
}

Result<ResolvedPath> Workspace::resolve(std::string_view userPath, SymlinkPolicy policy, bool createParents) const {
  auto lexical = lexicalComponents(userPath);
  if (!lexical) return fail(std::move(lexical).error());
  std::vector<std::string> pending = std::move(*lexical);

  for (int hops = 0;; ++hops) {
    if (hops > kMaxSymlinkHops) {
      return fail(
          toolError(ErrorCode::kInvalidArgument, fmt::format("Too many levels of symbolic links: {}", userPath)));
    }
    UniqueFd dir(::openat(rootFd_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir.valid()) return fail(ioError("open the workspace for", userPath, errno));
    std::vector<std::string> done;  // components resolved so far: real directories, no links
    auto shown = [&](const std::string& c) { return done.empty() ? c : joinComponents(done) + "/" + c; };

    // Handles the link `pending[i]` inside `dir`: splices its target into `pending` (lexically,
    // relative to `done`), or refuses. True when resolution must restart from the root.
    auto followLink = [&](std::size_t i) -> Result<bool> {
      std::string linkPath = shown(pending[i]);
      if (policy == SymlinkPolicy::kRefuse) {
        return fail(toolError(ErrorCode::kPermissionDenied,
                              fmt::format("Refusing to write through a symbolic link: {} is a link ({}). Write to "
                                          "the file it points to by its own path instead.",
                                          linkPath, userPath)));
      }
      char buf[4096];
      ssize_t n = ::readlinkat(dir.get(), pending[i].c_str(), buf, sizeof buf);
      if (n < 0) return fail(ioError("read the link", linkPath, errno));
      std::string_view target(buf, static_cast<std::size_t>(n));
      std::vector<std::string> next;
      if (!target.empty() && target.front() == '/') {
        if (!relativeToRoot(std::filesystem::path(std::string(target)).lexically_normal(), next)) {
          return fail(toolError(
              ErrorCode::kPermissionDenied,
              fmt::format("Symbolic link {} points outside the workspace; it cannot be followed.", linkPath)));
        }
      } else {
        next = done;
        if (!applyRelative(target, next)) {
          return fail(toolError(
              ErrorCode::kPermissionDenied,
              fmt::format("Symbolic link {} points outside the workspace; it cannot be followed.", linkPath)));
        }
      }
      next.insert(next.end(), pending.begin() + static_cast<std::ptrdiff_t>(i) + 1, pending.end());
      pending = std::move(next);
      return true;
    };

    bool restart = false;
    for (std::size_t i = 0; i + 1 < pending.size() && !restart; ++i) {
      const std::string& c = pending[i];
      for (int attempt = 0;; ++attempt) {
        int fd = ::openat(dir.get(), c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
          dir = UniqueFd(fd);
          done.push_back(c);
          break;
        }
        int err = errno;
        std::string where = shown(c);
        if (err == ENOENT && createParents && attempt == 0) {
          if (::mkdirat(dir.get(), c.c_str(), 0755) == 0 || errno == EEXIST) continue;
          return fail(ioError("create the directory", where, errno));
        }
        if (err == ENOENT) {
          return fail(toolError(ErrorCode::kNotFound,
                                fmt::format("No such directory: {} (while resolving {})", where, userPath)));
        }
        if (err == ELOOP || err == ENOTDIR) {
          struct stat st {};
          if (::fstatat(dir.get(), c.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
            auto followed = followLink(i);
            if (!followed) return fail(std::move(followed).error());
            restart = true;
            break;
          }
          return fail(toolError(ErrorCode::kInvalidArgument,
                                fmt::format("Not a directory: {} (while resolving {})", where, userPath)));
        }
        return fail(ioError("open the directory", where, err));
      }
    }
    if (restart) continue;

    ResolvedPath out;
    if (pending.empty()) {
      out.dir = std::move(dir);
      out.name = ".";
      out.relative = ".";
      out.exists = ::fstatat(out.dir.get(), ".", &out.st, 0) == 0;
      return out;
    }
    const std::string& last = pending.back();
    struct stat st {};
    if (::fstatat(dir.get(), last.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISLNK(st.st_mode)) {
        auto followed = followLink(pending.size() - 1);
        if (!followed) return fail(std::move(followed).error());
        continue;
      }
      out.exists = true;
      out.st = st;
    } else if (errno != ENOENT) {
      return fail(ioError("inspect", userPath, errno));
    }
    out.dir = std::move(dir);
    out.name = last;
    done.push_back(last);
    out.relative = joinComponents(done);
    return out;
  }
}

}  // namespace talon::gateway::tools
