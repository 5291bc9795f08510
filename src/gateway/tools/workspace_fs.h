#pragma once
// Confinement of file access to an agent's workspace directory.
//
// Every path a model supplies is resolved here, first lexically (`.`/`..`, absolute paths, `~`,
// OpenClaw's `@` file-reference prefix) and then physically, one component at a time with openat(2)
// and O_NOFOLLOW starting from a descriptor of the workspace root. A symbolic link met on the way is
// read with readlinkat(2) and its target is resolved by the same rules, so a link (or `..`, or an
// absolute path) can never lead outside the workspace, and because every step is relative to a
// descriptor already checked, renaming directories concurrently cannot redirect a lookup either.
// (OpenClaw enforces the same boundary with realpath checks, dist `sandbox-paths-*.mjs`
// `assertRawParentWithinRoot`; this is the descriptor-based equivalent.)
//
// `..` is resolved lexically before any lookup: `dir/../x` means `x` even when `dir` is a link.
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace talon::gateway::tools {

/// An owned file descriptor, closed on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

/// How symbolic links on a path are treated.
enum class SymlinkPolicy {
  /// Follow links whose targets stay inside the workspace (read, ls); refuse links that point out.
  kFollowInside,
  /// Refuse any link on the path, including the final component (write, edit): nothing is ever
  /// written through a link.
  kRefuse,
};

/// A path resolved inside the workspace: an open directory and the name of the target within it. The
/// target itself may not exist yet.
struct ResolvedPath {
  UniqueFd dir;          // O_RDONLY|O_DIRECTORY descriptor of the directory that holds the target
  std::string name;      // final component; "." when the target is the workspace root itself
  std::string relative;  // workspace-relative path after resolution ("." for the root), for messages
  bool exists = false;   // whether `name` exists in `dir` (as seen by fstatat without following)
  struct stat st {};     // its lstat-style metadata when `exists`
};

/// An agent workspace, opened. Thread-safe: all members are const after open().
class Workspace {
 public:
  /// Opens `root`, which must be an existing directory (a link to one is fine: the operator chose
  /// it). Errors: kNotFound when it does not exist, kFailedPrecondition when it is empty or not a
  /// directory, kIo otherwise.
  static Result<Workspace> open(const std::filesystem::path& root);

  /// Resolves `userPath` (relative to the workspace root, or absolute inside it).
  /// `createParents` creates missing intermediate directories (mode 0755) — never the target.
  /// Errors (messages name the path as given): kInvalidArgument for an empty path or one with a NUL
  /// byte, or when an intermediate component is not a directory; kPermissionDenied when the path, or
  /// a link on it, leads outside the workspace, or when `policy` is kRefuse and a link is met;
  /// kNotFound when an intermediate directory is missing (and not created); kIo for other failures.
  Result<ResolvedPath> resolve(std::string_view userPath, SymlinkPolicy policy, bool createParents = false) const;

  /// The root as given to open(), made absolute and lexically normal.
  const std::filesystem::path& root() const { return root_; }

 private:
  Workspace() = default;
  Result<std::vector<std::string>> lexicalComponents(std::string_view userPath) const;
  bool relativeToRoot(const std::filesystem::path& absolute, std::vector<std::string>& out) const;

  UniqueFd rootFd_;
  std::filesystem::path root_;
  std::filesystem::path canonicalRoot_;
};

}  // namespace talon::gateway::tools
